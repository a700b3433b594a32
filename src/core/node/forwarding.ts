// Why: any node accepts any request, but versions are minted by a primary of the key. A node that is
// not one forwards the request to the first reachable primary and relays its answer. If that primary
// does not answer in time it is marked down: a read is then coordinated here, because the sloppy
// quorum must keep the store available (the paper, section 4.5); a write is answered with a timeout
// instead, since the primary may have applied it and coordinating it again would give the one write
// two dots. A request that finds no primary alive is coordinated here from the start.
import type { NodeId } from '../base/ids.ts';
import type { ForwardedOperation, Message } from '../protocol/messages.ts';
import { contentTypeBytesMax, decodeContext, decodeRecord } from '../versioning/index.ts';
import { utf8ByteLength } from '../versioning/wire.ts';
import { planRequest, toWireError, type RequestPlan } from './request-plan.ts';
import { coordinateGet, type GetRequest } from './get-coordination.ts';
import type { NodeKernel } from './kernel.ts';
import { coordinatePut, type PutRequest } from './put-coordination.ts';

export type ClientRequest = ({ readonly kind: 'get' } & GetRequest) | ({ readonly kind: 'put' } & PutRequest);

/** Coordinates here; without a plan (after a forward timed out) it plans again with fresh liveness. */
function coordinate(kernel: NodeKernel, request: ClientRequest, plan?: RequestPlan): void {
  if (request.kind === 'get') coordinateGet(kernel, request, plan);
  else coordinatePut(kernel, request, plan);
}

/**
 * The first live primary of the key, or undefined when this node is one (or none is alive). During
 * a membership transition a primary that is leaving comes last: once it streams its partitions
 * away it refuses to coordinate (Handoff.handsOff), so it is asked only when no other primary is up.
 */
function forwardTarget(kernel: NodeKernel, plan: RequestPlan): NodeId | undefined {
  if (plan.primaries.includes(kernel.self)) return undefined;
  const pending = kernel.pending;
  const staying =
    pending === undefined
      ? undefined
      : plan.primaries.find(
          (node) => kernel.isAlive(node) && pending.ring.members.some((member) => member.id === node),
        );
  return staying ?? plan.primaries.find((node) => kernel.isAlive(node));
}

function toOperation(request: ClientRequest): ForwardedOperation {
  const { bucket, key, options } = request;
  const overrides = {
    ...(options.r === undefined ? {} : { r: options.r }),
    ...(options.w === undefined ? {} : { w: options.w }),
    ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
  };
  if (request.kind === 'get') return { kind: 'get', bucket, key, ...overrides };
  const { write } = request;
  const supersede = write.supersedeLocal === true ? { supersedeLocal: true } : {};
  return {
    kind: 'put',
    bucket,
    key,
    value: write.value,
    contentType: write.contentType,
    deleted: write.deleted,
    lastModifiedMs: request.realtimeMs,
    ...(request.context === undefined ? {} : { context: request.context }),
    ...supersede,
    ...overrides,
  };
}

/** Entry point for a client request that arrived at this node. */
export function routeClientRequest(kernel: NodeKernel, request: ClientRequest): void {
  let plan: RequestPlan;
  try {
    plan = planRequest(kernel, request.bucket, request.key, request.kind === 'get' ? 'r' : 'w', request.options);
  } catch (error) {
    kernel.answer(request.origin, { ok: false, error: toWireError(error) });
    return;
  }
  const target = forwardTarget(kernel, plan);
  if (target === undefined) {
    coordinate(kernel, request, plan);
    return;
  }
  let settled = false;
  const id = kernel.request(
    target,
    (id) => ({ type: 'forward', id, operation: toOperation(request) }),
    (from, message) => {
      if (settled || message.type !== 'forwardReply' || from !== target) return;
      settled = true;
      kernel.failureDetector.markUp(from);
      kernel.cancelTimer(timer);
      kernel.forget(id);
      relayForwardReply(kernel, request, message);
    },
  );
  const timer = kernel.setTimer(kernel.settings.forwardTimeoutMs, () => {
    if (settled) return;
    settled = true;
    kernel.forget(id);
    kernel.failureDetector.markDown(target, kernel.nowMs);
    if (request.kind === 'get') {
      coordinate(kernel, request);
      return;
    }
    // A write is not coordinated a second time: the silent primary may have minted and stored it
    // already, and a second dot for the same write is a version no later context of the key has
    // seen, so a delete that saw the first one would not remove the second (the simulator's seed
    // 518 brought a deleted value back that way). The target is marked down, so the client's retry
    // is coordinated by the next primary, or here under the sloppy quorum.
    kernel.answer(request.origin, {
      ok: false,
      error: {
        code: 'EVERWRITE_TIMEOUT',
        message: `primary ${target} did not answer the forwarded write within ${kernel.settings.forwardTimeoutMs} ms; it may or may not have been applied`,
      },
    });
  });
}

function relayForwardReply(
  kernel: NodeKernel,
  request: ClientRequest,
  message: Extract<Message, { type: 'forwardReply' }>,
): void {
  if (message.error !== undefined || message.record === undefined) {
    kernel.answer(request.origin, {
      ok: false,
      error: message.error ?? { code: 'EVERWRITE_INTERNAL', message: 'empty forward reply' },
    });
    return;
  }
  try {
    const context = message.context === undefined ? {} : { context: decodeContext(message.context) };
    kernel.answer(request.origin, { ok: true, record: decodeRecord(message.record), ...context });
  } catch {
    kernel.answer(request.origin, {
      ok: false,
      error: { code: 'EVERWRITE_INTERNAL', message: 'undecodable forward reply' },
    });
  }
}

const optionalTypes: ReadonlyArray<readonly [keyof ForwardedOperation, string]> = [
  ['contentType', 'string'],
  ['deleted', 'boolean'],
  ['context', 'string'],
  ['supersedeLocal', 'boolean'],
  ['r', 'number'],
  ['w', 'number'],
  ['timeoutMs', 'number'],
];

/**
 * What is wrong with a forwarded operation's shape, if anything. A peer is authenticated but may
 * run another version or have a bug; a value of the wrong type must become an error answer, never
 * an assertion failure inside the core (the HLC asserts an integer lastModifiedMs, for one).
 */
function operationFlaw(operation: ForwardedOperation): string | undefined {
  if (operation.kind !== 'get' && operation.kind !== 'put') return 'kind';
  if (typeof operation.bucket !== 'string' || typeof operation.key !== 'string') return 'bucket or key';
  if (operation.value !== undefined && !(operation.value instanceof Uint8Array)) return 'value';
  const lastModifiedMs = operation.lastModifiedMs;
  if (lastModifiedMs !== undefined && !(Number.isSafeInteger(lastModifiedMs) && lastModifiedMs >= 0))
    return 'lastModifiedMs';
  for (const [field, type] of optionalTypes) {
    if (operation[field] !== undefined && typeof operation[field] !== type) return field;
  }
  // A record asserts its content type's bound; a client's is held under it by Node's header limit, a peer's frame is not.
  if (operation.contentType !== undefined && utf8ByteLength(operation.contentType) > contentTypeBytesMax)
    return 'contentType';
  return undefined;
}

/** A peer forwarded a client request to this node: coordinate it here, never forward again. */
export function onForward(kernel: NodeKernel, from: NodeId, message: Extract<Message, { type: 'forward' }>): void {
  if (!kernel.recentForwards.firstArrival(from, message.id, kernel.nowMs)) {
    kernel.emit({
      type: 'log',
      level: 'debug',
      message: 'ignored a second copy of a forwarded request: it is coordinated once',
      fields: { from, id: message.id },
    });
    return;
  }
  const origin = { kind: 'forward', from, id: message.id } as const;
  const operation = message.operation;
  const flaw = operationFlaw(operation);
  if (flaw !== undefined) {
    kernel.answer(origin, {
      ok: false,
      error: { code: 'EVERWRITE_BAD_REQUEST', message: `malformed forwarded request: ${flaw}` },
    });
    return;
  }
  const options = {
    ...(operation.r === undefined ? {} : { r: operation.r }),
    ...(operation.w === undefined ? {} : { w: operation.w }),
    ...(operation.timeoutMs === undefined ? {} : { timeoutMs: operation.timeoutMs }),
  };
  if (operation.kind === 'get') {
    coordinateGet(kernel, { origin, bucket: operation.bucket, key: operation.key, options });
    return;
  }
  coordinatePut(kernel, {
    origin,
    bucket: operation.bucket,
    key: operation.key,
    context: operation.context,
    write: {
      value: operation.value ?? new Uint8Array(0),
      contentType: operation.contentType ?? 'application/octet-stream',
      deleted: operation.deleted ?? false,
      supersedeLocal: operation.supersedeLocal === true,
    },
    realtimeMs: operation.lastModifiedMs ?? 0,
    options,
  });
}
