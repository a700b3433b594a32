// Why: the membership nemesis changes who is in the cluster while the workload runs, through the
// same admin HTTP API an operator's `everwrite cluster join|leave|remove|commit` uses (decision
// 0017). It draws one operation at a time (src/chaos/membership.ts), stages it, commits it (a
// commit refused with EVERWRITE_TRANSITION_IN_PROGRESS is retried later), and waits until every
// remaining member holds the completed view before it draws the next. A leaving node must exit 0
// by itself; a removed node is killed with -9 first. Either slot then comes back as a fresh spare
// (new id, empty data directory), so the pool keeps going for as long as the run lasts.
import type { Prng } from '../core/base/prng.ts';
import {
  drawMembershipOperation,
  type MembershipOperation,
  type MembershipOperationKind,
  type MembershipPool,
} from './membership.ts';
import type { ChaosNode, ChaosNodes } from './nodes.ts';

/** One membership operation the nemesis drew, and what became of it. */
export interface MembershipOperationRecord {
  readonly kind: MembershipOperationKind;
  readonly node: string;
  /** Seconds into the fault window when it was drawn. */
  readonly atS: number;
  /** From the draw until the completed view was on every remaining member (and a leaver had exited). */
  readonly durationMs: number;
  readonly inflicted: boolean;
}

export type MembershipCounts = Record<MembershipOperationKind, number>;

const requestTimeoutMs = 5000;
const retryDelayMs = 300;

interface AdminAnswer {
  readonly status: number;
  readonly body: { code?: string; message?: string; version?: number; members?: Array<{ id: string; state: string }> };
}

async function admin(url: string, path: string, body?: unknown): Promise<AdminAnswer> {
  const init: RequestInit =
    body === undefined
      ? {}
      : { method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json' } };
  const response = await fetch(`${url}${path}`, {
    ...init,
    redirect: 'follow',
    signal: AbortSignal.timeout(requestTimeoutMs),
  });
  const text = await response.text();
  return { status: response.status, body: text === '' ? {} : (JSON.parse(text) as AdminAnswer['body']) };
}

function describe(answer: AdminAnswer): string {
  return `${answer.status} ${answer.body.code ?? ''} ${answer.body.message ?? ''}`.trim();
}

/**
 * Calls `attempt` until it gives a result or the deadline passes; it returns a string (why not yet)
 * to be called again. A thrown error (a node not answering) counts as a "not yet" too.
 */
async function untilDone<T>(
  what: string,
  deadlineMs: number,
  attempt: (round: number) => Promise<T | string>,
): Promise<T> {
  let reason = 'never tried';
  for (let round = 0; performance.now() < deadlineMs; round++) {
    try {
      const outcome = await attempt(round);
      if (typeof outcome !== 'string') return outcome;
      reason = outcome;
    } catch (error) {
      reason = error instanceof Error ? error.message : String(error);
    }
    await new Promise((resolve) => setTimeout(resolve, retryDelayMs));
  }
  throw new Error(`${what} did not happen in time; last: ${reason}`);
}

function httpAddress(node: ChaosNode): string {
  return node.url.replace('http://', '');
}

export function zeroMembershipCounts(): MembershipCounts {
  return { join: 0, leave: 0, remove: 0 };
}

export class MembershipNemesis {
  readonly operations: MembershipOperationRecord[] = [];
  readonly problems: string[] = [];

  constructor(
    private readonly nodes: ChaosNodes,
    private readonly prng: Prng,
    private readonly note: (line: string) => void,
    private readonly replicaCount: number,
    private readonly operationTimeoutMs = 90_000,
  ) {}

  /** Members and spares (running, outside the view, not on their way out). */
  pool(): MembershipPool {
    const spares = this.nodes.nodes.filter((node) => !node.member && !node.exitExpected && node.process !== undefined);
    return {
      members: this.nodes.members().map((node) => node.id),
      spares: spares.map((node) => node.id),
      replicaCount: this.replicaCount,
    };
  }

  counts(which: 'drawn' | 'inflicted'): MembershipCounts {
    const counts = zeroMembershipCounts();
    for (const operation of this.operations) if (which === 'drawn' || operation.inflicted) counts[operation.kind] += 1;
    return counts;
  }

  /** Draws and inflicts operations until `windowMs` after `startedMs`; the last one runs to its end. */
  async run(startedMs: number, windowMs: number, intervalMs: number): Promise<void> {
    while (performance.now() - startedMs < windowMs) {
      const operation = drawMembershipOperation(this.prng, this.pool());
      if (operation !== undefined) await this.inflict(operation, startedMs);
      const remainingMs = windowMs - (performance.now() - startedMs);
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, Math.min(intervalMs, remainingMs))));
    }
  }

  private async inflict(operation: MembershipOperation, startedMs: number): Promise<void> {
    const drawnMs = performance.now();
    const atS = Math.round((drawnMs - startedMs) / 100) / 10;
    const node = this.nodes.nodes.find((candidate) => candidate.id === operation.node) as ChaosNode;
    this.note(`t+${atS.toFixed(1)}s membership: ${operation.kind} ${operation.node}`);
    const deadlineMs = drawnMs + this.operationTimeoutMs;
    let inflicted = false;
    try {
      if (operation.kind === 'join') await this.join(node, deadlineMs);
      else if (operation.kind === 'leave') await this.leave(node, deadlineMs);
      else await this.remove(node, deadlineMs);
      inflicted = true;
    } catch (error) {
      const logTail = node.outputTail.trim().slice(-1500);
      this.problems.push(
        `membership ${operation.kind} of ${operation.node} failed: ${error instanceof Error ? error.message : String(error)}${logTail === '' ? '' : `; its last log lines: ${logTail}`}`,
      );
    }
    const durationMs = Math.round(performance.now() - drawnMs);
    this.operations.push({ kind: operation.kind, node: operation.node, atS, durationMs, inflicted });
    this.note(`membership: ${operation.kind} ${operation.node} ${inflicted ? 'done' : 'FAILED'} in ${durationMs} ms`);
    if (inflicted && operation.kind !== 'join') await this.recycle(node);
  }

  /** The spare asks a member to stage it (POST /admin/join), then the plan is committed. */
  private async join(spare: ChaosNode, deadlineMs: number): Promise<void> {
    const members = this.nodes.members();
    const seed = members[this.prng.nextInt(members.length)] as ChaosNode;
    await untilDone(`${spare.id} staging its join`, deadlineMs, async () => {
      const answer = await admin(spare.url, '/admin/join', { seed: httpAddress(seed) });
      return answer.status === 202 ? true : describe(answer);
    });
    const version = await this.commit(members, deadlineMs);
    await this.awaitCompleted([...members, spare], version + 1, deadlineMs);
    spare.member = true;
  }

  /** The member is staged to leave and committed; it hands its partitions away and must exit 0. */
  private async leave(leaver: ChaosNode, deadlineMs: number): Promise<void> {
    leaver.member = false;
    leaver.exitExpected = true;
    const others = this.nodes.members();
    await this.stage(others, 'leave', leaver.id, deadlineMs);
    const version = await this.commit(others, deadlineMs);
    await this.awaitCompleted(others, version + 1, deadlineMs);
    const ended = await untilDone(`${leaver.id} exiting after its leave`, deadlineMs, () =>
      Promise.resolve(leaver.process === undefined ? { exit: leaver.lastExit } : 'still running'),
    );
    if (ended.exit !== 'exit code 0')
      throw new Error(`${leaver.id} left the view but ended with ${ended.exit ?? 'an unknown exit'}`);
  }

  /** The member is killed with -9, staged for removal and committed; the others rebuild its replicas. */
  private async remove(victim: ChaosNode, deadlineMs: number): Promise<void> {
    victim.member = false;
    if (!(await this.nodes.kill(victim))) throw new Error(`${victim.id} was not running to be killed`);
    const others = this.nodes.members();
    await this.stage(others, 'remove', victim.id, deadlineMs);
    const version = await this.commit(others, deadlineMs);
    await this.awaitCompleted(others, version + 1, deadlineMs);
  }

  /** POST /admin/leave or /admin/remove at a member (redirected to the claimant), until it is staged. */
  private async stage(
    members: readonly ChaosNode[],
    kind: 'leave' | 'remove',
    id: string,
    deadlineMs: number,
  ): Promise<void> {
    await untilDone(`${kind} of ${id} being staged`, deadlineMs, async (round) => {
      const answer = await admin((members[round % members.length] as ChaosNode).url, `/admin/${kind}`, { node: id });
      return answer.status === 200 ? true : describe(answer);
    });
  }

  /** POST /admin/commit until it is taken; EVERWRITE_TRANSITION_IN_PROGRESS means try again later. Resolves with the transition's version. */
  private commit(members: readonly ChaosNode[], deadlineMs: number): Promise<number> {
    return untilDone('commit', deadlineMs, async (round) => {
      const answer = await admin((members[round % members.length] as ChaosNode).url, '/admin/commit', {});
      return answer.status === 200 && typeof answer.body.version === 'number' ? answer.body.version : describe(answer);
    });
  }

  /** Until every node in `nodes` serves view `version` or later with every member valid (the transition completed). */
  private async awaitCompleted(nodes: readonly ChaosNode[], version: number, deadlineMs: number): Promise<void> {
    for (const node of nodes) {
      await untilDone(`${node.id} completing view ${version}`, deadlineMs, async () => {
        const answer = await admin(node.url, '/admin/ring');
        const states = answer.body.members ?? [];
        if ((answer.body.version ?? 0) >= version && states.every((member) => member.state === 'valid')) return true;
        return `at view ${answer.body.version ?? '?'}: ${states.map((member) => `${member.id} ${member.state}`).join(', ')}`;
      });
    }
  }

  /** The slot of a node that left or was removed comes back as a fresh spare. */
  private async recycle(node: ChaosNode): Promise<void> {
    const oldId = node.id;
    try {
      await this.nodes.recycle(node);
      this.note(`membership: ${oldId}'s slot is a fresh spare ${node.id}`);
    } catch (error) {
      this.problems.push(
        `${oldId}'s slot did not come back as a spare: ${error instanceof Error ? error.message : String(error)}`,
      );
    }
  }
}
