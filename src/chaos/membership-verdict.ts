// Why: after a run with the membership nemesis the set checker alone is not enough: the cluster
// must also agree on who it is and keep every key where the final ring says it lives. This asks
// the final members (I/O) and hands their answers to the pure rules in src/chaos/membership.ts:
// one view on every member, naming exactly the members the run expects, and every key that had an
// acknowledged write held live by its N primaries, read straight from each one's /admin/local.
import type { History } from '../sim/history.ts';
import { fetchRing, forEachLimited, primaryVersions, replicaCount } from './convergence.ts';
import type { MembershipCounts, MembershipNemesis, MembershipOperationRecord } from './membership-nemesis.ts';
import { finalViewProblems, replicaProblem, type MemberRing } from './membership.ts';
import type { ChaosNode } from './nodes.ts';

export interface MembershipReport {
  readonly operations: readonly MembershipOperationRecord[];
  readonly drawn: MembershipCounts;
  readonly inflicted: MembershipCounts;
  readonly finalMembers: readonly string[];
  readonly finalViewVersion: number | undefined;
  /** Disagreements about the final view (finalViewProblems); empty when every member holds the same one. */
  readonly viewProblems: readonly string[];
  readonly replicas: {
    readonly replicaCount: number;
    readonly keysChecked: number;
    readonly keysShort: number;
    readonly sample: readonly string[];
  };
  /** (member, key) pairs whose final read through that member never succeeded. */
  readonly unreadThroughMembers: number;
}

const requestTimeoutMs = 3000;

async function ringOf(node: ChaosNode): Promise<MemberRing | undefined> {
  try {
    const response = await fetch(`${node.url}/admin/ring`, { signal: AbortSignal.timeout(requestTimeoutMs) });
    return response.ok ? ((await response.json()) as MemberRing) : undefined;
  } catch {
    return undefined;
  }
}

/** Keys with at least one acknowledged write: each must be on N replicas. */
function acknowledgedKeys(history: History): string[] {
  return [
    ...new Set([...history.elements.values()].filter((write) => write.status === 'ok').map((write) => write.key)),
  ];
}

async function replicaShortfalls(finalMembers: readonly ChaosNode[], keys: readonly string[]): Promise<string[]> {
  const ring = await fetchRing(finalMembers);
  const ids = finalMembers.map((node) => node.id);
  const short: string[] = [];
  await forEachLimited(keys, 8, async (key) => {
    const problem = replicaProblem(key, await primaryVersions(ring, finalMembers, key), ids, replicaCount);
    if (problem !== undefined) short.push(problem);
  });
  return short;
}

export async function judgeMembership(
  nemesis: MembershipNemesis,
  finalMembers: readonly ChaosNode[],
  history: History,
  unreadThroughMembers: number,
): Promise<MembershipReport> {
  const rings = new Map(await Promise.all(finalMembers.map(async (node) => [node.id, await ringOf(node)] as const)));
  const keys = acknowledgedKeys(history);
  const short = await replicaShortfalls(finalMembers, keys);
  return {
    operations: nemesis.operations,
    drawn: nemesis.counts('drawn'),
    inflicted: nemesis.counts('inflicted'),
    finalMembers: finalMembers.map((node) => node.id),
    finalViewVersion: [...rings.values()].find((ring) => ring !== undefined)?.version,
    viewProblems: finalViewProblems(
      finalMembers.map((node) => node.id),
      rings,
    ),
    replicas: { replicaCount, keysChecked: keys.length, keysShort: short.length, sample: short.slice(0, 10) },
    unreadThroughMembers,
  };
}

/** True when the membership checks found nothing wrong. */
export function membershipHeld(report: MembershipReport): boolean {
  return (
    report.viewProblems.length === 0 &&
    report.replicas.keysShort === 0 &&
    report.unreadThroughMembers === 0 &&
    report.operations.every((operation) => operation.inflicted)
  );
}
