// Why: the rules of the membership nemesis, kept free of I/O so they can be tested on their own.
// It draws one operation at a time (join a spare, leave a member, remove a member killed with -9)
// under the rules of decision 0017: never fewer members than the replica count N, one transition
// at a time (the caller waits for each commit to finish before drawing the next). After the run it
// judges what the final members say: one view, the same on every member, naming exactly the
// members the run expects, with no transition pending; and every written key held by N distinct
// final members.
import type { Prng } from '../core/base/prng.ts';

export type MembershipOperationKind = 'join' | 'leave' | 'remove';
export const membershipOperationKinds: readonly MembershipOperationKind[] = ['join', 'leave', 'remove'];

export interface MembershipOperation {
  readonly kind: MembershipOperationKind;
  /** The spare that joins, or the member that leaves or is removed. */
  readonly node: string;
}

/** Who is in the view and who waits outside it, as the run knows them before a draw. */
export interface MembershipPool {
  readonly members: readonly string[];
  readonly spares: readonly string[];
  readonly replicaCount: number;
}

/** The kinds of operation the rules allow on this pool. */
export function allowedOperationKinds(pool: MembershipPool): MembershipOperationKind[] {
  const allowed: MembershipOperationKind[] = [];
  if (pool.spares.length > 0) allowed.push('join');
  if (pool.members.length > pool.replicaCount) allowed.push('leave', 'remove');
  return allowed;
}

function pick<T>(prng: Prng, items: readonly T[]): T {
  return items[prng.nextInt(items.length)] as T;
}

/** One operation the rules allow, drawn from the seeded PRNG; undefined when none is allowed. */
export function drawMembershipOperation(prng: Prng, pool: MembershipPool): MembershipOperation | undefined {
  const allowed = allowedOperationKinds(pool);
  if (allowed.length === 0) return undefined;
  const kind = pick(prng, allowed);
  return { kind, node: pick(prng, kind === 'join' ? pool.spares : pool.members) };
}

/** What one final member answered at GET /admin/ring (undefined: it did not answer). */
export interface MemberRing {
  readonly version: number;
  readonly owners: readonly number[];
  readonly members: ReadonlyArray<{ readonly id: string; readonly state: string }>;
  readonly digest: string;
}

function viewSignature(ring: MemberRing): string {
  return JSON.stringify({
    version: ring.version,
    digest: ring.digest,
    owners: ring.owners,
    members: ring.members.map((member) => `${member.id}:${member.state}`),
  });
}

/**
 * Problems with the final view: a member that did not answer, a view that is not the one the
 * others hold, members other than the expected ones, a member not valid (joining, leaving or
 * removed: a transition is still under way).
 */
export function finalViewProblems(
  expectedMembers: readonly string[],
  rings: ReadonlyMap<string, MemberRing | undefined>,
): string[] {
  const problems: string[] = [];
  const expected = [...expectedMembers].sort().join(',');
  const signatures = new Set<string>();
  for (const id of expectedMembers) {
    const ring = rings.get(id);
    if (ring === undefined) {
      problems.push(`final member ${id} did not answer /admin/ring`);
      continue;
    }
    signatures.add(viewSignature(ring));
    const named = ring.members
      .map((member) => member.id)
      .sort()
      .join(',');
    if (named !== expected) problems.push(`${id}'s view ${ring.version} names ${named}, expected ${expected}`);
    const notValid = ring.members.filter((member) => member.state !== 'valid');
    if (notValid.length > 0)
      problems.push(
        `${id}'s view ${ring.version} still has ${notValid.map((member) => `${member.id} ${member.state}`).join(', ')}`,
      );
  }
  if (signatures.size > 1)
    problems.push(
      `the final members hold ${signatures.size} different views: ${[...rings].map(([id, ring]) => `${id}=${ring?.version ?? '-'}`).join(' ')}`,
    );
  return problems;
}

/** What one primary replica of a key holds ('<none>' when nothing live; undefined: no answer). */
export type ReplicaHolding = readonly [node: string, versions: string | undefined];

/**
 * Why a key written during the run is not on N replicas of the final ring: fewer than N distinct
 * primaries, a primary that is not a final member, or a primary that holds no live version.
 */
export function replicaProblem(
  key: string,
  holdings: readonly ReplicaHolding[],
  finalMembers: readonly string[],
  replicaCount: number,
): string | undefined {
  const primaries = new Set(holdings.map(([node]) => node));
  if (primaries.size !== replicaCount)
    return `${key}: ${primaries.size} distinct primaries on the final ring, expected ${replicaCount}`;
  const strangers = [...primaries].filter((node) => !finalMembers.includes(node));
  if (strangers.length > 0) return `${key}: primary ${strangers.join(', ')} is not a final member`;
  const empty = holdings.filter(
    ([, versions]) =>
      versions === undefined ||
      versions === '<none>' ||
      versions.split('|').every((version) => version === '<deleted>'),
  );
  if (empty.length > 0)
    return `${key}: ${empty.map(([node, versions]) => `${node} holds ${versions ?? 'no answer'}`).join(', ')}`;
  return undefined;
}
