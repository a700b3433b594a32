// Why: the read path of a coordinator (the paper, section 4.5). It asks the first N healthy nodes,
// answers after R replies with every causally concurrent version and one merged context, keeps
// listening until every target answered or the deadline passed, and then sends the reconciled
// record to each primary that was stale (read repair).
import type { NodeId } from '../base/ids.ts';
import {
  decodeRecord,
  descends,
  emptyRecord,
  resolveLastWriterWins,
  sync,
  encodeRecord,
  type VersionedRecord,
} from '../versioning/index.ts';
import { GetTally } from '../quorum/tally.ts';
import type { RequestOptions } from '../protocol/contract.ts';
import { planReadRepair } from '../quorum/read-repair.ts';
import { Coordination } from './coordination.ts';
import type { NodeKernel, Origin, ReplyHandler } from './kernel.ts';
import type { Message } from '../protocol/messages.ts';
import type { PreferenceEntry } from '../ring/index.ts';
import { planRequest, quorumNotMet, toWireError, type RequestPlan } from './request-plan.ts';
import { scheduleReap } from './reaping.ts';

export interface GetRequest {
  readonly origin: Origin;
  readonly bucket: string;
  readonly key: string;
  readonly options: RequestOptions;
}

class GetCoordination extends Coordination {
  state: 'waitingForReplies' | 'waitingForStragglers' | 'finished' = 'waitingForReplies';
  readonly tally: GetTally<VersionedRecord>;
  /** The merge of the replies as of tally revision `mergedRevision` (see merged()). */
  merged: VersionedRecord | undefined;
  mergedRevision = 0;

  constructor(kernel: NodeKernel, origin: Origin, plan: RequestPlan) {
    super(kernel, origin, plan);
    this.tally = new GetTally(plan.quorum, plan.targets.length);
  }
}

/** Coordinates the request here, with the plan the router already made when it has one. */
export function coordinateGet(kernel: NodeKernel, request: GetRequest, planned?: RequestPlan): void {
  let plan: RequestPlan;
  try {
    plan = planned ?? planRequest(kernel, request.bucket, request.key, 'r', request.options);
  } catch (error) {
    kernel.answer(request.origin, { ok: false, error: toWireError(error) });
    return;
  }
  const coordination = new GetCoordination(kernel, request.origin, plan);
  coordination.begin(() => onDeadline(coordination));
  const targets = plan.targets;
  let onReply: ReplyHandler | undefined;
  for (let index = 0; index < targets.length; index++) {
    const target = targets[index] as PreferenceEntry;
    if (target.node === kernel.self) readLocally(coordination);
    else askReplica(coordination, index, (onReply ??= (from, message) => onReplicaReply(coordination, from, message)));
  }
  if (targets.length === 0) decide(coordination);
}

function readLocally(coordination: GetCoordination): void {
  const { kernel, plan } = coordination;
  const token = kernel.storeToken((result) => {
    if (result.ok) coordination.tally.reply(kernel.self, result.record);
    else coordination.tally.fail(kernel.self);
    decide(coordination);
  });
  kernel.emit({ type: 'storeRead', token, partition: plan.partition, storageKey: plan.storageKey });
}

/** Asks the target at `index`; one reply handler serves every target of the read. */
function askReplica(coordination: GetCoordination, index: number, onReply: ReplyHandler): void {
  const { kernel, plan } = coordination;
  const id = kernel.listen(onReply);
  coordination.requestIds[index] = id;
  kernel.send((plan.targets[index] as PreferenceEntry).node, {
    type: 'replicaGet',
    id,
    partition: plan.partition,
    storageKey: plan.storageKey,
  });
}

/** A reply counts only from the target the request with that id went to. */
function onReplicaReply(coordination: GetCoordination, from: NodeId, message: Message): void {
  if (message.type !== 'replicaGetReply') return;
  const target = coordination.answeringTarget(from, message.id);
  if (target === undefined) return;
  const record = message.ok ? decodeReply(message.record) : undefined;
  if (record === undefined) {
    coordination.tally.fail(from);
  } else {
    coordination.kernel.observe(record);
    coordination.tally.reply(from, record);
  }
  decide(coordination);
}

function decodeReply(bytes: Uint8Array | undefined): VersionedRecord | undefined {
  if (bytes === undefined) return emptyRecord;
  try {
    return decodeRecord(bytes);
  } catch {
    return undefined;
  }
}

/** Every reply merged; computed again only when a reply came in since the last time. */
function merged(coordination: GetCoordination): VersionedRecord {
  const tally = coordination.tally;
  if (coordination.merged !== undefined && coordination.mergedRevision === tally.revision) return coordination.merged;
  let result = tally.replyCount === 0 ? emptyRecord : tally.valueAt(0);
  for (let index = 1; index < tally.replyCount; index++) {
    const next = tally.valueAt(index);
    // Replicas that agree (the usual case) need no merged copy: the one that descends is the merge.
    if (!descends(result, next)) result = descends(next, result) ? next : sync(result, next);
  }
  coordination.merged = result;
  coordination.mergedRevision = tally.revision;
  return result;
}

function decide(coordination: GetCoordination): void {
  const { kernel, plan, tally } = coordination;
  const decision = tally.decision();
  if (coordination.state === 'waitingForReplies' && decision !== 'pending') {
    if (decision === 'succeeded') {
      const record = merged(coordination);
      kernel.answer(coordination.origin, {
        ok: true,
        record: plan.props.resolver === 'lww' ? resolveLastWriterWins(record) : record,
      });
    } else {
      kernel.answer(coordination.origin, {
        ok: false,
        error: quorumNotMet('read', tally.counts(), plan, 'impossible'),
      });
    }
    coordination.state = 'waitingForStragglers';
  }
  if (tally.complete) finish(coordination);
}

function onDeadline(coordination: GetCoordination): void {
  const { kernel, plan, tally } = coordination;
  if (coordination.state === 'waitingForReplies') {
    kernel.answer(coordination.origin, { ok: false, error: quorumNotMet('read', tally.counts(), plan, 'deadline') });
  }
  for (const target of plan.targets) {
    if (!tally.hasReplied(target.node)) kernel.failureDetector.markDown(target.node, kernel.nowMs);
  }
  finish(coordination);
}

function finish(coordination: GetCoordination): void {
  if (coordination.state === 'finished') return;
  coordination.state = 'finished';
  coordination.release();
  repairStaleReplicas(coordination, merged(coordination));
}

/** Read repair: carries out planReadRepair (core/quorum/read-repair.ts) for the merged record. */
function repairStaleReplicas(coordination: GetCoordination, reconciled: VersionedRecord): void {
  const { kernel, plan, tally } = coordination;
  const repair = planReadRepair(tally, plan.primaries, reconciled);
  const durable = plan.props.durability === 'durable';
  let encoded: Uint8Array | undefined;
  for (const node of repair.stale) {
    if (node === kernel.self) {
      kernel.store(
        { type: 'storeMerge', partition: plan.partition, storageKey: plan.storageKey, record: reconciled, durable },
        () => undefined,
      );
    } else {
      encoded ??= encodeRecord(reconciled);
      kernel.send(node, {
        type: 'replicaPut',
        id: 0,
        partition: plan.partition,
        storageKey: plan.storageKey,
        record: encoded,
        durable,
      });
    }
  }
  if (repair.reap) scheduleReap(kernel, plan, reconciled);
}
