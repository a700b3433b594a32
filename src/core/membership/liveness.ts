// Why: the liveness vocabulary every part of failure detection shares (decision 0014): a member's
// state, the one merge rule that makes all nodes converge on the same belief whatever order updates
// arrive in, and the bounds on what a peer's message can make this node hold or repeat.
import type { LivenessUpdate } from '../protocol/messages.ts';

export type LivenessState = LivenessUpdate['state'];

export const livenessStates: readonly LivenessState[] = Object.freeze(['up', 'suspect', 'down']);

const stateRank: Readonly<Record<LivenessState, number>> = Object.freeze({ up: 0, suspect: 1, down: 2 });

export const livenessLimits = Object.freeze({
  /** Updates piggybacked on one outgoing message (the first is the sender's view of the recipient): keeps a probe small. */
  piggybackCountMax: 8,
  /** Longest update list accepted from a peer; a longer one drops the whole message (twice what a node sends). */
  updatesPerMessageCountMax: 16,
  /** Probes this node has in flight at once: the protocol period's own plus those asked for by timed-out requests. */
  probesInFlightCountMax: 4,
  /** Indirect probes (ping-req) this node runs for others at once; more are refused. */
  relaysInFlightCountMax: 32,
  /** Members pinged at once when a node starts, so those holding it suspect or down from an earlier life hear from it now. */
  announceCountMax: 8,
  /** Largest incarnation believed. A node raises its own only to refute suspicion, once per refutation; more is absurd. */
  incarnationMax: 2 ** 31,
  /** lambda: each update is piggybacked ceil(lambda * log2(S + 1)) times, S the member count (SWIM, section 4.1). */
  retransmitFactor: 3,
});

/** The deterministic merge: a higher incarnation wins; at equal incarnation down > suspect > up. */
export function supersedes(
  candidate: Omit<LivenessUpdate, 'member'>,
  current: Omit<LivenessUpdate, 'member'>,
): boolean {
  if (candidate.incarnation !== current.incarnation) return candidate.incarnation > current.incarnation;
  return stateRank[candidate.state] > stateRank[current.state];
}

/** How many times each update is piggybacked in a cluster of `memberCount` members. */
export function retransmitCount(memberCount: number): number {
  return Math.max(1, Math.ceil(livenessLimits.retransmitFactor * Math.log2(memberCount + 1)));
}

/** A well-formed update: a known member, an incarnation in range, a known state. Anything else from a peer is dropped. */
export function isValidUpdate(update: unknown, isMember: (member: string) => boolean): update is LivenessUpdate {
  if (typeof update !== 'object' || update === null) return false;
  const candidate = update as Partial<LivenessUpdate>;
  return (
    typeof candidate.member === 'string' &&
    isMember(candidate.member) &&
    isValidIncarnation(candidate.incarnation) &&
    typeof candidate.state === 'string' &&
    Object.hasOwn(stateRank, candidate.state)
  );
}

export function isValidIncarnation(incarnation: unknown): incarnation is number {
  return (
    typeof incarnation === 'number' &&
    Number.isSafeInteger(incarnation) &&
    incarnation >= 0 &&
    incarnation <= livenessLimits.incarnationMax
  );
}
