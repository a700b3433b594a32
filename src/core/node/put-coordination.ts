// Why: the write path of a coordinator (the paper, section 4.5). It mints the new version on its own
// replica, sends it to the other healthy nodes of the preference list, answers after W
// acknowledgements (its own included) or with EVERWRITE_QUORUM_NOT_MET at the deadline, and then
// makes sure every primary eventually gets the write: a primary that neither acknowledged nor had a
// fallback acknowledge for it gets a hint kept here (sloppy quorum + hinted handoff, section 4.6).
// When its own write waits for the disk, the version goes to the others as soon as it is minted
// (storeMinted), so its fsync and theirs overlap; its own acknowledgement counts when it is durable
// (decision 0009).
import type { NodeId } from '../base/ids.ts';
import {
  contextAfterUpdate,
  contextForClient,
  decodeContext,
  encodeRecord,
  type VersionVector,
  type VersionedRecord,
} from '../versioning/index.ts';
import { primaryNodes, type PreferenceEntry } from '../ring/index.ts';
import { asPartitionIndex } from '../base/ids.ts';
import { PutTally } from '../quorum/tally.ts';
import type { RequestOptions } from '../protocol/contract.ts';
import { planWriteFinish } from '../quorum/write-finish.ts';
import type { ClientWrite, StoreResult } from './events.ts';
import { Coordination } from './coordination.ts';
import type { NodeKernel, Origin, ReplyListener, StoreListener, TimerListener } from './kernel.ts';
import type { Message } from '../protocol/messages.ts';
import { planRequest, quorumNotMet, toWireError, type RequestPlan } from './request-plan.ts';
import { scheduleReap } from './reaping.ts';

export interface PutRequest {
  readonly origin: Origin;
  readonly bucket: string;
  readonly key: string;
  readonly context: string | undefined;
  readonly write: ClientWrite;
  readonly realtimeMs: number;
  readonly options: RequestOptions;
}

/**
 * A write in flight; its states are named after what it waits for. It is its own deadline, store
 * and reply listener, so a write registers no closure (bench/alloc-per-set.ts).
 */
class PutCoordination extends Coordination implements TimerListener, StoreListener, ReplyListener {
  state: 'waitingForLocalVersion' | 'waitingForAcknowledgements' | 'waitingForStragglers' | 'finished' =
    'waitingForLocalVersion';
  /** Sent to the others at storeMinted; its own acknowledgement waits for storeDone. */
  localWritePending = false;
  record: VersionedRecord | undefined = undefined;
  /** `record`'s bytes as minted (the store's, never changed once written): what replicas and hints get. */
  encoded: Uint8Array | undefined = undefined;
  clientContext: VersionVector = noContext;
  /** The version was minted with the local replica's context, so the record's context is the client's. */
  supersedesLocal = false;
  readonly tally: PutTally;
  /** Primaries that hold the write (the first `coveredCount`): themselves, or through a fallback that acknowledged for them. */
  readonly coveredPrimaries: NodeId[];
  coveredCount = 0;

  constructor(kernel: NodeKernel, origin: Origin, plan: RequestPlan) {
    super(kernel, origin, plan);
    this.tally = new PutTally(plan.quorum, plan.targets.length);
    this.coveredPrimaries = new Array<NodeId>(plan.primaries.length);
  }

  get answered(): boolean {
    return this.state === 'waitingForStragglers' || this.state === 'finished';
  }

  /** The primary acknowledged the version itself (WriteAnswers, for planWriteFinish). */
  hasAcknowledged(node: NodeId): boolean {
    return this.tally.hasAcknowledged(node);
  }

  /** The version reached the primary, or a fallback acknowledged it in its place (WriteAnswers). */
  isCovered(primary: NodeId): boolean {
    for (let index = 0; index < this.coveredCount; index++) if (this.coveredPrimaries[index] === primary) return true;
    return false;
  }

  onTimer(): void {
    onDeadline(this);
  }

  onStoreResult(result: StoreResult): void {
    onLocalVersion(this, result);
  }

  onStoreMinted(record: VersionedRecord, encoded: Uint8Array): void {
    onLocalMinted(this, record, encoded);
  }

  onReply(from: NodeId, message: Message): void {
    onReplicaReply(this, from, message);
  }
}

/** The context of a write that carries none; shared, so it must never be mutated. */
const noContext: VersionVector = new Map();

/** Coordinates the request here, with the plan the router already made when it has one. */
export function coordinatePut(kernel: NodeKernel, request: PutRequest, planned?: RequestPlan): void {
  let plan: RequestPlan;
  let context;
  try {
    plan = planned ?? planRequest(kernel, request.bucket, request.key, 'w', request.options);
    context = request.context === undefined || request.context === '' ? noContext : decodeContext(request.context);
  } catch (error) {
    kernel.answer(request.origin, { ok: false, error: toWireError(error) });
    return;
  }
  const coordination = new PutCoordination(kernel, request.origin, plan);
  coordination.clientContext = context;
  coordination.supersedesLocal = request.write.supersedeLocal === true;
  coordination.begin(coordination);
  const timestamp = kernel.stampWrite(request.realtimeMs);
  const stored = {
    value: request.write.value,
    contentType: request.write.contentType,
    lastModifiedMs: request.realtimeMs,
    deleted: request.write.deleted,
    timestamp,
  };
  const token = kernel.storeTokenFor(coordination);
  kernel.emit({
    type: 'storeUpdate',
    token,
    partition: plan.partition,
    storageKey: plan.storageKey,
    context,
    useStoredContext: request.write.supersedeLocal === true,
    actor: kernel.actor,
    stored,
    durable: plan.props.durability === 'durable',
    lastWriterWins: plan.props.resolver === 'lww',
    siblingsCountMax: kernel.settings.siblingsCountMax,
  });
}

function onLocalVersion(coordination: PutCoordination, result: StoreResult): void {
  if (coordination.localWritePending) {
    onLocalWriteDone(coordination, result);
    return;
  }
  if (coordination.state !== 'waitingForLocalVersion') return;
  if (!result.ok) {
    coordination.kernel.answer(coordination.origin, { ok: false, error: result.error });
    finish(coordination);
    return;
  }
  sendToOthers(coordination, result.record, result.encoded ?? encodeRecord(result.record), true);
  decide(coordination);
}

/** The local version is minted but not durable yet: the others get it now, the local ack waits. */
function onLocalMinted(coordination: PutCoordination, record: VersionedRecord, encoded: Uint8Array): void {
  if (coordination.state !== 'waitingForLocalVersion') return;
  coordination.localWritePending = true;
  sendToOthers(coordination, record, encoded, false);
}

/** The local write of a version already sent ended: it counts now, or is refused if it failed. */
function onLocalWriteDone(coordination: PutCoordination, result: StoreResult): void {
  coordination.localWritePending = false;
  if (coordination.state === 'finished') return;
  const { kernel, plan } = coordination;
  for (let index = 0; index < plan.targets.length; index++) {
    const target = plan.targets[index] as PreferenceEntry;
    if (target.node !== kernel.self) continue;
    if (result.ok) acknowledgeLocal(coordination, target);
    else coordination.tally.refuse(kernel.self);
  }
  decide(coordination);
}

/** Sends the version to every other target; acknowledges the local one too when `acknowledgeSelf`. */
function sendToOthers(
  coordination: PutCoordination,
  record: VersionedRecord,
  encoded: Uint8Array,
  acknowledgeSelf: boolean,
): void {
  const { kernel, plan } = coordination;
  coordination.record = record;
  coordination.encoded = encoded;
  coordination.state = 'waitingForAcknowledgements';
  const targets = plan.targets;
  for (let index = 0; index < targets.length; index++) {
    const target = targets[index] as PreferenceEntry;
    if (target.node === kernel.self) {
      if (acknowledgeSelf) acknowledgeLocal(coordination, target);
    } else {
      sendReplica(coordination, index, encoded);
    }
  }
  if (kernel.pending !== undefined) sendToPendingPrimaries(coordination, encoded);
}

/**
 * During a membership transition (decision 0017) the write also goes to the primaries of the ring
 * it moves to that the current targets lack, so a partition streamed from a snapshot misses no later
 * write. Not counted towards W, and no reply is waited for (id 0 is never a request's): a failure
 * there changes no answer.
 */
function sendToPendingPrimaries(coordination: PutCoordination, encoded: Uint8Array): void {
  const { kernel, plan } = coordination;
  const pending = kernel.pending as NonNullable<NodeKernel['pending']>;
  const n = Math.min(plan.props.n, pending.ring.members.length);
  const durable = plan.props.durability === 'durable';
  for (const node of primaryNodes(pending.ring, asPartitionIndex(plan.partition), n)) {
    if (node === kernel.self || plan.primaries.includes(node) || plan.targets.some((target) => target.node === node))
      continue;
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

/**
 * The local version counts towards W at once on a primary. A coordinator standing in for a dead
 * primary holds it in its own store, under a partition it does not own, where nothing would ever
 * move it to that primary: it counts only once a hint for the primary is stored (as a fallback
 * replica's acknowledgement does), so a crash right after the reply cannot strand an acknowledged
 * write (found by the simulator).
 */
function acknowledgeLocal(coordination: PutCoordination, target: PreferenceEntry): void {
  const standsInFor = target.role === 'fallback' ? target.standsInFor : undefined;
  if (standsInFor === undefined) {
    acknowledge(coordination, target);
    return;
  }
  const { kernel, plan } = coordination;
  kernel.addHint(
    {
      target: standsInFor,
      partition: plan.partition,
      storageKey: plan.storageKey,
      encoded: coordination.encoded as Uint8Array,
      durable: plan.props.durability === 'durable',
    },
    (ok) => {
      if (ok) acknowledge(coordination, target);
      else coordination.tally.refuse(target.node);
      decide(coordination);
    },
  );
}

/** Sends the record to the target at `index`; the coordination itself hears every target's reply. */
function sendReplica(coordination: PutCoordination, index: number, encoded: Uint8Array): void {
  const { kernel, plan } = coordination;
  const target = plan.targets[index] as PreferenceEntry;
  const hintFor = target.role === 'fallback' ? target.standsInFor : undefined;
  const id = kernel.listen(coordination);
  coordination.requestIds[index] = id;
  const durable = plan.props.durability === 'durable';
  const message: Message =
    hintFor === undefined
      ? { type: 'replicaPut', id, partition: plan.partition, storageKey: plan.storageKey, record: encoded, durable }
      : {
          type: 'replicaPut',
          id,
          partition: plan.partition,
          storageKey: plan.storageKey,
          record: encoded,
          durable,
          hintFor,
        };
  kernel.send(target.node, message);
}

/** An acknowledgement counts only from the target the request with that id went to. */
function onReplicaReply(coordination: PutCoordination, from: NodeId, message: Message): void {
  if (message.type !== 'replicaPutAck') return;
  const target = coordination.answeringTarget(from, message.id);
  if (target === undefined) return;
  if (message.ok) acknowledge(coordination, target);
  else coordination.tally.refuse(target.node);
  decide(coordination);
}

function acknowledge(coordination: PutCoordination, target: PreferenceEntry): void {
  coordination.tally.acknowledge(target.node);
  const primary = target.role === 'fallback' && target.standsInFor !== undefined ? target.standsInFor : target.node;
  if (!coordination.isCovered(primary)) coordination.coveredPrimaries[coordination.coveredCount++] = primary;
}

/**
 * The context the writer gets back, cut down like every handed-out context (decision 0041): a
 * forwarding peer decodes it as a client token. The mint checked that the record's siblings'
 * writers fit, and this context names no more of them, so the fallback to the whole is unused.
 */
function answerContext(coordination: PutCoordination, record: VersionedRecord): VersionVector {
  const { kernel } = coordination;
  const context = coordination.supersedesLocal
    ? record.context
    : contextAfterUpdate(coordination.clientContext, record, kernel.actor);
  return contextForClient(context, record.siblings, kernel.clientContextBound) ?? context;
}

function decide(coordination: PutCoordination): void {
  const decision = coordination.tally.decision();
  if (!coordination.answered && decision !== 'pending') {
    const { kernel, plan, tally, record } = coordination;
    if (decision === 'succeeded' && record !== undefined) {
      kernel.answer(coordination.origin, { ok: true, record, context: answerContext(coordination, record) });
    } else {
      kernel.answer(coordination.origin, {
        ok: false,
        error: quorumNotMet('write', tally.counts(), plan, 'impossible'),
      });
    }
    coordination.state = 'waitingForStragglers';
  }
  if (coordination.tally.complete) finish(coordination);
}

function onDeadline(coordination: PutCoordination): void {
  const { kernel, plan, tally } = coordination;
  if (!coordination.answered) {
    kernel.answer(coordination.origin, { ok: false, error: quorumNotMet('write', tally.counts(), plan, 'deadline') });
  }
  for (const target of plan.targets) {
    // Its own write still on the disk is no sign of a dead peer.
    if (target.node !== kernel.self && !tally.hasAcknowledged(target.node))
      kernel.failureDetector.markDown(target.node, kernel.nowMs);
  }
  finish(coordination);
}

/** Ends the coordination: hints for uncovered primaries, reaping of a fully replicated tombstone. */
function finish(coordination: PutCoordination): void {
  if (coordination.state === 'finished') return;
  const { kernel, plan, record } = coordination;
  coordination.state = 'finished';
  coordination.release();
  if (record === undefined) return;
  const durable = plan.props.durability === 'durable';
  const finished = planWriteFinish(plan.primaries, kernel.self, coordination, record);
  for (let index = 0; index < finished.hintFor.length; index++) {
    const target = finished.hintFor[index] as NodeId;
    kernel.addHint(
      {
        target,
        partition: plan.partition,
        storageKey: plan.storageKey,
        encoded: coordination.encoded as Uint8Array,
        durable,
      },
      ignoreHintResult,
    );
  }
  if (finished.reap) scheduleReap(kernel, plan, record);
}

function ignoreHintResult(): void {}
