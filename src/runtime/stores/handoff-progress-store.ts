// Why: a handoff source must resume a transfer after the last key its target acknowledged, and never
// stream a finished one again, across its own restarts (decision 0017). The core says what to keep
// (`handoffProgressSave` / `handoffProgressClear` effects); this keeps it in the storage engine's
// metadata namespace beside the node's epoch and view, durably, and reads it back at boot. What is
// read back is checked field by field: a damaged entry is skipped (the transfer then restarts from
// the partition's first key, which only re-sends records: merging is idempotent).
import type { HandoffProgress } from '../../core/node/effects.ts';
import type { NodeId } from '../../core/base/ids.ts';
import { parseStoredObject, sameBytes, startsWith } from './metadata-json.ts';
import { reservedNamespaces, type StorageEngine } from '../ports.ts';

const prefix = 'handoff/';
const prefixBytes = new TextEncoder().encode(prefix);

function progressKey(progress: Pick<HandoffProgress, 'viewVersion' | 'partition' | 'target'>): Uint8Array {
  return new TextEncoder().encode(`${prefix}${progress.viewVersion}/${progress.partition}/${progress.target}`);
}

function isCount(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

/** The stored value: JSON with the last key in hex. */
export function encodeHandoffProgress(progress: HandoffProgress): Uint8Array {
  const lastKey = progress.lastKey === undefined ? undefined : Buffer.from(progress.lastKey).toString('hex');
  return new TextEncoder().encode(
    JSON.stringify({
      viewVersion: progress.viewVersion,
      partition: progress.partition,
      target: progress.target,
      done: progress.done,
      lastKey,
    }),
  );
}

/** The progress stored under `key`, or undefined when the bytes are not what encodeHandoffProgress wrote for that key. */
export function decodeHandoffProgress(key: Uint8Array, value: Uint8Array): HandoffProgress | undefined {
  const parsed = parseStoredObject(value);
  if (parsed === undefined) return undefined;
  const { viewVersion, partition, target, done, lastKey } = parsed;
  if (
    !isCount(viewVersion) ||
    !isCount(partition) ||
    typeof target !== 'string' ||
    target.length === 0 ||
    typeof done !== 'boolean'
  )
    return undefined;
  if (lastKey !== undefined && (typeof lastKey !== 'string' || !/^(?:[0-9a-f]{2})+$/.test(lastKey))) return undefined;
  if (!sameBytes(progressKey({ viewVersion, partition, target: target as NodeId }), key)) return undefined;
  const progress = { viewVersion, partition, target: target as NodeId, done };
  return lastKey === undefined ? progress : { ...progress, lastKey: new Uint8Array(Buffer.from(lastKey, 'hex')) };
}

export async function saveHandoffProgress(engine: StorageEngine, progress: HandoffProgress): Promise<void> {
  await engine.batch(
    reservedNamespaces.metadata,
    [{ type: 'put', key: progressKey(progress), value: encodeHandoffProgress(progress) }],
    { durable: true },
  );
}

/** Every saved progress entry; damaged ones skipped. */
export async function loadHandoffProgress(engine: StorageEngine): Promise<HandoffProgress[]> {
  const entries: HandoffProgress[] = [];
  for await (const [key, value] of engine.scan(reservedNamespaces.metadata, { start: prefixBytes })) {
    if (!startsWith(key, prefixBytes)) break;
    const progress = decodeHandoffProgress(key, value);
    if (progress !== undefined) entries.push(progress);
  }
  return entries;
}

/** Deletes the progress of every transition up to `viewVersionMax` (damaged entries too). */
export async function clearHandoffProgress(engine: StorageEngine, viewVersionMax: number): Promise<void> {
  const keys: Uint8Array[] = [];
  for await (const [key, value] of engine.scan(reservedNamespaces.metadata, { start: prefixBytes })) {
    if (!startsWith(key, prefixBytes)) break;
    const progress = decodeHandoffProgress(key, value);
    if (progress === undefined || progress.viewVersion <= viewVersionMax) keys.push(new Uint8Array(key));
  }
  if (keys.length > 0)
    await engine.batch(
      reservedNamespaces.metadata,
      keys.map((key) => ({ type: 'delete' as const, key })),
      { durable: true },
    );
}
