// Why: what a node keeps about itself in its storage's metadata namespace, read at every boot by
// the production node and the simulator alike: its versioning epoch, a boot counter (each
// incarnation allocates protocol ids from its own range, so a late reply to a previous incarnation
// never matches a new request), a clean-stop marker and the bucket properties it has learnt.
//
// The epoch names this node as a versioning actor (actorOf(node, epoch)); a dot is (actor,
// counter). It is drawn when the storage is new, so a wiped node never reuses dots, and drawn again
// after an unclean stop (no clean-stop marker): a buffered write is acknowledged and sent to the
// other replicas before its fsync, so after an OS crash or power loss this node may have lost a
// version whose dot the replicas hold. Minting that dot again for another value would make every
// replica that holds the first take the second for a version it already has, and drop it, though
// it was acknowledged (found by the simulator with buffered buckets; decision 0008). A clean stop
// writes the marker durably after the node's last write, so a restart after it keeps the epoch.
import type { PropsEntry, UserEntry } from '../../core/protocol/messages.ts';
import { userProblem } from '../../core/node/users.ts';
import type { HandoffProgress } from '../../core/node/effects.ts';
import { loadHandoffProgress } from './handoff-progress-store.ts';
import { parseStoredObject, sameBytes, startsWith } from './metadata-json.ts';
import { reservedNamespaces, type StorageEngine } from '../ports.ts';

const epochKey = new TextEncoder().encode('epoch');
const bootKey = new TextEncoder().encode('boots');
/** Present exactly while no incarnation runs: written last by a clean stop, deleted at boot. */
const cleanStopKey = new TextEncoder().encode('clean-stop');
const propsPrefix = 'props/';
const usersPrefix = 'users/';
/** Ids one incarnation may allocate; boots x this stays a safe integer for 2^21 boots. */
export const idRangePerBoot = 2 ** 32;
const bootsMax = 2 ** 21;

export interface NodeIdentity {
  readonly epoch: number;
  /** Why this boot drew its epoch: 'new' storage, an 'unclean' stop before it, or 'kept' after a clean one. */
  readonly epochSource: 'new' | 'unclean' | 'kept';
  /** This boot's number (1 for the first), modulo 2^21. */
  readonly boot: number;
  /** Where this incarnation's protocol ids start: boot x idRangePerBoot. */
  readonly idBase: number;
  readonly props: PropsEntry[];
  /** Users this node had learnt (decision 0025): give them to NodeCore as `users`. */
  readonly users: UserEntry[];
  /** Handoff progress of a transition under way (handoff-progress-store.ts): give it to NodeCore as `handoffProgress`. */
  readonly handoffProgress: HandoffProgress[];
}

function readUint32(bytes: Uint8Array | undefined): number | undefined {
  return bytes !== undefined && bytes.length === 4
    ? new DataView(bytes.buffer, bytes.byteOffset, 4).getUint32(0)
    : undefined;
}

function uint32Bytes(value: number): Uint8Array {
  const bytes = new Uint8Array(4);
  new DataView(bytes.buffer).setUint32(0, value);
  return bytes;
}

export function propsStorageKey(bucket: string): Uint8Array {
  return new TextEncoder().encode(`${propsPrefix}${bucket}`);
}

const propsPrefixBytes = new TextEncoder().encode(propsPrefix);

export function userStorageKey(name: string): Uint8Array {
  return new TextEncoder().encode(`${usersPrefix}${name}`);
}

const usersPrefixBytes = new TextEncoder().encode(usersPrefix);

/**
 * The user stored under `key`, or undefined when the bytes are not one this code wrote; rebuilt
 * field by field and checked as a peer's entry is, so a hand-edited file cannot grant more.
 */
export function decodeUserEntry(key: Uint8Array, value: Uint8Array): UserEntry | undefined {
  const parsed = parseStoredObject(value);
  if (parsed === undefined) return undefined;
  const { name, roles, bucket, passwordHash, tokenHash, version, origin, deleted } = parsed;
  if (typeof name !== 'string' || typeof origin !== 'string' || !isCount(version, 0) || !Array.isArray(roles))
    return undefined;
  if (deleted !== undefined && deleted !== true) return undefined;
  if (!sameBytes(userStorageKey(name), key)) return undefined;
  const user = {
    name,
    roles: roles as UserEntry['roles'],
    bucket: bucket as string,
    passwordHash: passwordHash as string,
    tokenHash: tokenHash as string,
  };
  if (deleted === true)
    return { name, roles: ['read'], bucket: '', passwordHash: '', tokenHash: '', version, origin, deleted };
  return userProblem(user) === undefined ? { ...user, roles: [...user.roles], version, origin } : undefined;
}

function isCount(value: unknown, min: number): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= min;
}

/**
 * The bucket props entry stored under `key`, or undefined when the stored bytes are not one this
 * code wrote (torn, corrupted, or a bucket that does not match its key). The entry is rebuilt field
 * by field, so nothing of the stored JSON but the known fields reaches the node.
 */
export function decodePropsEntry(key: Uint8Array, value: Uint8Array): PropsEntry | undefined {
  const parsed = parseStoredObject(value);
  if (parsed === undefined) return undefined;
  const { bucket, version, origin, props, deleted } = parsed;
  if (
    typeof bucket !== 'string' ||
    typeof origin !== 'string' ||
    !isCount(version, 0) ||
    typeof props !== 'object' ||
    props === null
  )
    return undefined;
  if (deleted !== undefined && deleted !== true) return undefined;
  const { n, r, w, resolver, durability } = props as Record<string, unknown>;
  if (!isCount(n, 1) || !isCount(r, 1) || !isCount(w, 1)) return undefined;
  if ((resolver !== 'siblings' && resolver !== 'lww') || (durability !== 'durable' && durability !== 'buffered'))
    return undefined;
  if (!sameBytes(propsStorageKey(bucket), key)) return undefined;
  const entry: PropsEntry = { bucket, version, origin, props: { n, r, w, resolver, durability } };
  // A deletion marker keeps its flag: without it the bucket's defaults would come back as set props.
  return deleted === true ? { ...entry, deleted } : entry;
}

/**
 * The entries of a replicated table (bucket props, users) this node had learnt, stored under
 * `prefix`. An entry that does not decode is skipped rather than failing the boot: the digest
 * exchange with peers repairs the table, so the node learns it again.
 */
async function loadEntries<Entry>(
  engine: StorageEngine,
  prefix: Uint8Array,
  decode: (key: Uint8Array, value: Uint8Array) => Entry | undefined,
): Promise<Entry[]> {
  const entries: Entry[] = [];
  for await (const [key, value] of engine.scan(reservedNamespaces.metadata)) {
    if (!startsWith(key, prefix)) continue;
    const entry = decode(key, value);
    if (entry !== undefined) entries.push(entry);
  }
  return entries;
}

/**
 * Reads the node's identity from an open engine, and records this boot durably before the node
 * talks to anyone: the boot counter, the epoch (drawn with `drawEpoch`, 1..2^31-1, when the storage
 * is new or the last stop was unclean; never the previous one) and the removal of the clean-stop
 * marker, in one batch.
 */
export async function bootIdentity(engine: StorageEngine, drawEpoch: () => number): Promise<NodeIdentity> {
  const metadata = reservedNamespaces.metadata;
  const previous = readUint32(await engine.get(metadata, epochKey));
  const cleanStop = (await engine.get(metadata, cleanStopKey)) !== undefined;
  const epochSource = previous === undefined ? 'new' : cleanStop ? 'kept' : 'unclean';
  const epoch = previous !== undefined && cleanStop ? previous : drawOtherThan(previous, drawEpoch);
  const boot = ((readUint32(await engine.get(metadata, bootKey)) ?? 0) + 1) % bootsMax || 1;
  await engine.batch(
    metadata,
    [
      { type: 'put', key: epochKey, value: uint32Bytes(epoch) },
      { type: 'put', key: bootKey, value: uint32Bytes(boot) },
      { type: 'delete', key: cleanStopKey },
    ],
    { durable: true },
  );
  return {
    epoch,
    epochSource,
    boot,
    idBase: boot * idRangePerBoot,
    props: await loadEntries(engine, propsPrefixBytes, decodePropsEntry),
    users: await loadEntries(engine, usersPrefixBytes, decodeUserEntry),
    handoffProgress: await loadHandoffProgress(engine),
  };
}

/** A drawn epoch that is not `previous` (an epoch that ended uncleanly is never reused). */
function drawOtherThan(previous: number | undefined, drawEpoch: () => number): number {
  let epoch = drawEpoch();
  while (epoch === previous) epoch = drawEpoch();
  return epoch;
}

/**
 * Marks a clean stop, so the next boot keeps the epoch. Call it after the node's last write has
 * been handed to the engine (the runtime stopped) and before closing the engine: the marker is a
 * durable batch, so once it is acknowledged every write before it in the log is on disk too.
 */
export async function markCleanStop(engine: StorageEngine): Promise<void> {
  await engine.batch(reservedNamespaces.metadata, [{ type: 'put', key: cleanStopKey, value: new Uint8Array([1]) }], {
    durable: true,
  });
}
