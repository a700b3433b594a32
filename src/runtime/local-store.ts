// Why: a replica's records live in a StorageEngine as bytes; versions are merged in the core's pure
// functions. A merge is a read-modify-write, and two of one key must not interleave (the second
// would overwrite the first's result and lose a version).
// - An engine that reads synchronously (getNow: lmdb, memory, the log over lmdb) needs no lock: the
//   read, the merge and the start of the write happen in one synchronous step. A write not yet
//   acknowledged by the engine is not visible to getNow yet, so the store remembers it per key
//   and the next read-modify-write of that key starts from it (`unacknowledged`).
// - An engine that also writes synchronously (batchNow: memory) answers with a value, no promise.
// - Any other engine (LevelDB) serialises read-modify-writes per key across their awaits.
// Reads see acknowledged writes only, as the engine does.
import { EverwriteError } from '../core/base/errors.ts';
import type { VersionedRecord } from '../core/versioning/index.ts';
import type { VersionRequest } from '../core/node/effects.ts';
import { decodeRecord, emptyRecord, encodeRecord, recordsEqual, resolveLastWriterWins, sync, update } from '../core/versioning/index.ts';
import type { StorageEngine } from './ports.ts';
import { KeyedSerializer } from './keyed-serializer.ts';

/** A store answer: a value when the engine answered synchronously, else a promise of it. */
export type StoreAnswer<T> = T | Promise<T>;

type ReadNow = (namespace: number, key: Uint8Array) => Uint8Array | undefined;

/** A write handed to the engine and not acknowledged yet. */
interface UnacknowledgedWrite {
  readonly record: VersionedRecord;
  readonly written: Promise<void>;
}

export class LocalStore {
  private readonly keys = new KeyedSerializer();
  private readonly readNow: ReadNow | undefined;
  private readonly unacknowledged = new Map<string, UnacknowledgedWrite>();

  constructor(readonly engine: StorageEngine) {
    this.readNow = engine.getNow;
  }

  async read(partition: number, storageKey: Uint8Array): Promise<VersionedRecord> {
    return this.readNowOr(partition, storageKey);
  }

  /** `read`, synchronously when the engine allows. */
  readNowOr(partition: number, storageKey: Uint8Array): StoreAnswer<VersionedRecord> {
    const readNow = this.readNow;
    if (readNow !== undefined) return decodeStored(readNow(partition, storageKey));
    return this.engine.get(partition, storageKey).then(decodeStored);
  }

  /** Mints a new version of the key on this replica (the coordinator's half of a put). */
  mint(partition: number, storageKey: Uint8Array, request: VersionRequest): StoreAnswer<VersionedRecord> {
    if (this.readNow !== undefined) {
      const id = this.pendingId(partition, storageKey);
      const next = minted(this.latest(id, partition, storageKey), request);
      return this.writeNow(id, partition, storageKey, next, request.durable);
    }
    return this.exclusive(partition, storageKey, async () => {
      const next = minted(await this.read(partition, storageKey), request);
      await this.write(partition, storageKey, next, request.durable);
      return next;
    });
  }

  /** Merges a record that another node sent (replication, hinted handoff, read repair). */
  merge(partition: number, storageKey: Uint8Array, incoming: VersionedRecord, durable: boolean): StoreAnswer<VersionedRecord> {
    if (this.readNow !== undefined) {
      const id = this.pendingId(partition, storageKey);
      const current = this.latest(id, partition, storageKey);
      const next = sync(current, incoming);
      if (!recordsEqual(next, current)) return this.writeNow(id, partition, storageKey, next, durable);
      // Nothing new, but what it holds may not be durable yet: answer once it is.
      const pending = id === undefined ? undefined : this.unacknowledged.get(id);
      return pending === undefined ? next : pending.written.then(() => next);
    }
    return this.exclusive(partition, storageKey, async () => {
      const current = await this.read(partition, storageKey);
      const next = sync(current, incoming);
      if (!recordsEqual(next, current)) await this.write(partition, storageKey, next, durable);
      return next;
    });
  }

  /** The key's id among unacknowledged writes; none is needed when the engine writes synchronously. */
  private pendingId(partition: number, storageKey: Uint8Array): string | undefined {
    return this.engine.batchNow === undefined ? storageId(partition, storageKey) : undefined;
  }

  /** The key's newest record: an unacknowledged write of it, else what the engine holds. */
  private latest(id: string | undefined, partition: number, storageKey: Uint8Array): VersionedRecord {
    const pending = id === undefined ? undefined : this.unacknowledged.get(id);
    return pending?.record ?? decodeStored((this.readNow as ReadNow)(partition, storageKey));
  }

  /** Starts writing `record` now; answers it once the engine acknowledged (at once for batchNow). */
  private writeNow(id: string | undefined, partition: number, storageKey: Uint8Array, record: VersionedRecord, durable: boolean): StoreAnswer<VersionedRecord> {
    const operations = [{ type: 'put' as const, key: storageKey, value: encodeRecord(record) }];
    const batchNow = this.engine.batchNow;
    if (batchNow !== undefined || id === undefined) {
      (batchNow as NonNullable<StorageEngine['batchNow']>)(partition, operations);
      return record;
    }
    const written = this.engine.batch(partition, operations, { durable });
    const entry = { record, written };
    this.unacknowledged.set(id, entry);
    const settle = (): void => {
      if (this.unacknowledged.get(id) === entry) this.unacknowledged.delete(id);
    };
    written.then(settle, settle);
    return written.then(() => record);
  }

  /**
   * Drops the tombstone when the key still holds exactly `tombstone`; returns whether it did. The
   * causal context stays (a record with no siblings): forgetting it would let this node mint a dot
   * counter it already used for the key, and a client still holding a context from before the reap
   * would then silently supersede the new write (found by the simulator; test/sim/regression.test.ts).
   */
  reap(partition: number, storageKey: Uint8Array, tombstone: VersionedRecord): Promise<boolean> {
    if (this.readNow !== undefined) {
      // Synchronous like mint and merge, so neither can slip between this read and this write.
      try {
        const id = this.pendingId(partition, storageKey);
        if (!recordsEqual(this.latest(id, partition, storageKey), tombstone)) return Promise.resolve(false);
        return Promise.resolve(this.writeNow(id, partition, storageKey, { context: tombstone.context, siblings: [] }, true)).then(() => true);
      } catch (error) {
        return Promise.reject(error);
      }
    }
    return this.exclusive(partition, storageKey, async () => {
      const current = await this.read(partition, storageKey);
      if (!recordsEqual(current, tombstone)) return false;
      await this.write(partition, storageKey, { context: current.context, siblings: [] }, true);
      return true;
    });
  }

  private write(partition: number, storageKey: Uint8Array, record: VersionedRecord, durable: boolean): Promise<void> {
    return this.engine.batch(partition, [{ type: 'put', key: storageKey, value: encodeRecord(record) }], { durable });
  }

  private exclusive<T>(partition: number, storageKey: Uint8Array, work: () => Promise<T>): Promise<T> {
    return this.keys.run(storageId(partition, storageKey), work);
  }
}

function decodeStored(bytes: Uint8Array | undefined): VersionedRecord {
  return bytes === undefined ? emptyRecord : decodeRecord(bytes);
}

/** The record after minting `request`'s version into `current`; refuses one sibling too many. */
function minted(current: VersionedRecord, request: VersionRequest): VersionedRecord {
  let next = update(current, request.useStoredContext ? current.context : request.context, request.actor, request.stored);
  if (request.lastWriterWins) next = resolveLastWriterWins(next);
  if (next.siblings.length > request.siblingsCountMax) {
    throw new EverwriteError('EVERWRITE_TOO_MANY_SIBLINGS', `the key would hold ${next.siblings.length} concurrent versions (limit ${request.siblingsCountMax}); read it and write back with its context to resolve them`, { siblings: next.siblings.length, limit: request.siblingsCountMax });
  }
  return next;
}

function storageId(partition: number, storageKey: Uint8Array): string {
  return `${partition}:${Buffer.from(storageKey.buffer, storageKey.byteOffset, storageKey.byteLength).toString('latin1')}`;
}
