// Why: the read path of a coordinator (the paper, section 4.5). It asks the first N healthy nodes,
// answers after R replies with every causally concurrent version and one merged context, keeps
// listening until every target answered or the deadline passed, and then sends the reconciled
// record to each primary that was stale (read repair).
import type { NodeId } from '../base/ids.ts';
import { decodeRecord, descends, emptyRecord, isLive, recordsEqual, resolveLastWriterWins, sync, encodeRecord, type VersionedRecord } from '../versioning/index.ts';
import { GetTally } from '../quorum/tally.ts';
import type { ClientRequestOptions } from './events.ts';
import { Coordination } from './coordination.ts';
import type { NodeKernel, Origin } from './kernel.ts';
import { planRequest, quorumNotMet, toWireError, type RequestPlan } from './request-plan.ts';
import { scheduleReap } from './reaping.ts';

export interface GetRequest {
  readonly origin: Origin;
  readonly bucket: string;
  readonly key: string;
  readonly options: ClientRequestOptions;
}

class GetCoordination extends Coordination {
  state: 'waitingForReplies' | 'waitingForStragglers' | 'finished' = 'waitingForReplies';
  readonly tally: GetTally<VersionedRecord>;

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
  for (const target of plan.targets) {
    if (target.node === kernel.self) readLocally(coordination);
    else askReplica(coordination, target.node);
  }
  if (plan.targets.length === 0) decide(coordination);
}

function readLocally(coordination: GetCoordination): void {
  const { kernel, plan } = coordination;
  kernel.store({ type: 'storeRead', partition: plan.partition, storageKey: plan.storageKey }, (result) => {
    if (result.ok) coordination.tally.reply(kernel.self, result.record);
    else coordination.tally.fail(kernel.self);
    decide(coordination);
  });
}

function askReplica(coordination: GetCoordination, node: NodeId): void {
  const { kernel, plan } = coordination;
  const id = kernel.request(
    node,
    (id) => ({ type: 'replicaGet', id, partition: plan.partition, storageKey: plan.storageKey }),
    (from, message) => {
      if (message.type !== 'replicaGetReply' || from !== node) return;
      kernel.failureDetector.markUp(from);
      const record = message.ok ? decodeReply(message.record) : undefined;
      if (record === undefined) {
        coordination.tally.fail(node);
      } else {
        kernel.observe(record);
        coordination.tally.reply(node, record);
      }
      decide(coordination);
    },
  );
  coordination.requestIds.push(id);
}

function decodeReply(bytes: Uint8Array | undefined): VersionedRecord | undefined {
  if (bytes === undefined) return emptyRecord;
  try {
    return decodeRecord(bytes);
  } catch {
    return undefined;
  }
}

function merged(coordination: GetCoordination): VersionedRecord {
  let result = emptyRecord;
  for (const record of coordination.tally.replies.values()) result = sync(result, record);
  return result;
}

function decide(coordination: GetCoordination): void {
  const { kernel, plan, tally } = coordination;
  const decision = tally.decision();
  if (coordination.state === 'waitingForReplies' && decision !== 'pending') {
    if (decision === 'succeeded') {
      const record = merged(coordination);
      kernel.answer(coordination.origin, { ok: true, record: plan.props.resolver === 'lww' ? resolveLastWriterWins(record) : record });
    } else {
      kernel.answer(coordination.origin, { ok: false, error: quorumNotMet('read', tally.replies.size, plan.quorum, plan.targets.length) });
    }
    coordination.state = 'waitingForStragglers';
  }
  if (tally.complete) finish(coordination);
}

function onDeadline(coordination: GetCoordination): void {
  const { kernel, plan, tally } = coordination;
  if (coordination.state === 'waitingForReplies') {
    kernel.answer(coordination.origin, { ok: false, error: quorumNotMet('read', tally.replies.size, plan.quorum, plan.targets.length) });
  }
  for (const target of plan.targets) {
    if (!tally.replies.has(target.node)) kernel.failureDetector.markDown(target.node, kernel.nowMs);
  }
  finish(coordination);
}

function finish(coordination: GetCoordination): void {
  if (coordination.state === 'finished') return;
  coordination.state = 'finished';
  coordination.release();
  repairStaleReplicas(coordination, merged(coordination));
}

/** Read repair: every primary that answered with less than the merged record gets the merged record. */
function repairStaleReplicas(coordination: GetCoordination, reconciled: VersionedRecord): void {
  const { kernel, plan, tally } = coordination;
  if (reconciled.siblings.length === 0 && reconciled.context.size === 0) return;
  const durable = plan.props.durability === 'durable';
  let encoded: Uint8Array | undefined;
  for (const [node, record] of tally.replies) {
    if (!plan.primaries.includes(node) || descends(record, reconciled)) continue;
    if (node === kernel.self) {
      kernel.store({ type: 'storeMerge', partition: plan.partition, storageKey: plan.storageKey, record: reconciled, durable }, () => undefined);
    } else {
      encoded ??= encodeRecord(reconciled);
      kernel.send(node, { type: 'replicaPut', id: 0, partition: plan.partition, storageKey: plan.storageKey, record: encoded, durable });
    }
  }
  const allPrimariesAgree = plan.primaries.every((primary) => {
    const record = tally.replies.get(primary);
    return record !== undefined && recordsEqual(record, reconciled);
  });
  if (allPrimariesAgree && !isLive(reconciled) && reconciled.siblings.length > 0) scheduleReap(kernel, plan, reconciled);
}
