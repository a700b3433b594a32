// Why: what a node keeps about itself in its storage's metadata namespace, read at every boot by
// the production node and the simulator alike: its versioning epoch (drawn once, when the storage is
// new, so a wiped node never reuses dots), a boot counter (each incarnation allocates protocol ids
// from its own range, so a late reply to a previous incarnation never matches a new request) and
// the bucket properties it has learnt.
import type { PropsEntry } from '../core/protocol/messages.ts';
import { reservedNamespaces, type StorageEngine } from './ports.ts';

const epochKey = new TextEncoder().encode('epoch');
const bootKey = new TextEncoder().encode('boots');
const propsPrefix = 'props/';
/** Ids one incarnation may allocate; boots x this stays a safe integer for 2^21 boots. */
export const idRangePerBoot = 2 ** 32;
const bootsMax = 2 ** 21;

export interface NodeIdentity {
  readonly epoch: number;
  /** This boot's number (1 for the first), modulo 2^21. */
  readonly boot: number;
  /** Where this incarnation's protocol ids start: boot x idRangePerBoot. */
  readonly idBase: number;
  readonly props: PropsEntry[];
}

function readUint32(bytes: Uint8Array | undefined): number | undefined {
  return bytes !== undefined && bytes.length === 4 ? new DataView(bytes.buffer, bytes.byteOffset, 4).getUint32(0) : undefined;
}

function uint32Bytes(value: number): Uint8Array {
  const bytes = new Uint8Array(4);
  new DataView(bytes.buffer).setUint32(0, value);
  return bytes;
}

export function propsStorageKey(bucket: string): Uint8Array {
  return new TextEncoder().encode(`${propsPrefix}${bucket}`);
}

async function loadProps(engine: StorageEngine): Promise<PropsEntry[]> {
  const entries: PropsEntry[] = [];
  const decoder = new TextDecoder();
  for await (const [key, value] of engine.scan(reservedNamespaces.metadata)) {
    if (decoder.decode(key).startsWith(propsPrefix)) entries.push(JSON.parse(decoder.decode(value)) as PropsEntry);
  }
  return entries;
}

/**
 * Reads the node's identity from an open engine, creating the epoch with `drawEpoch` (1..2^31-1)
 * when the storage is new, and counting this boot durably before the node talks to anyone.
 */
export async function bootIdentity(engine: StorageEngine, drawEpoch: () => number): Promise<NodeIdentity> {
  const metadata = reservedNamespaces.metadata;
  let epoch = readUint32(await engine.get(metadata, epochKey));
  if (epoch === undefined) {
    epoch = drawEpoch();
    await engine.batch(metadata, [{ type: 'put', key: epochKey, value: uint32Bytes(epoch) }], { durable: true });
  }
  const boot = (((readUint32(await engine.get(metadata, bootKey)) ?? 0) + 1) % bootsMax) || 1;
  await engine.batch(metadata, [{ type: 'put', key: bootKey, value: uint32Bytes(boot) }], { durable: true });
  return { epoch, boot, idBase: boot * idRangePerBoot, props: await loadProps(engine) };
}
