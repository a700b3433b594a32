// Why: a replica's records live in a StorageEngine as bytes; versions are merged in the core's pure
// functions. Merging is a read-modify-write, so two merges of one key must not interleave (the
// second would overwrite the first's result and lose a version). Most engines let the store take
// both halves in one synchronous step, so nothing can come between them, with no per-key queue:
// an engine that holds everything in memory (getNow/batchNow: the write is done when it returns),
// and the write-ahead log, whose latest view includes every write handed to it and which keeps
// them in order (readLatestNow: the step waits only for the write's acknowledgement, decision
// 0043). For any other engine the read-modify-write spans an await, and the store serialises
// those per key. Reads are never serialised (they see the last acknowledged write). Since every
// write of a record passes here with the bytes it replaces already read, the store also keeps the
// node's key and byte figures (StoredUsage, decision 0036).
import type { VersionedRecord } from '../../core/versioning/index.ts';
import type { VersionRequest } from '../../core/node/effects.ts';
import {
  decodeOwnedRecord,
  decodeRecord,
  emptyRecord,
  encodeRecord,
  recordsEqual,
  sync,
} from '../../core/versioning/index.ts';
import { mergeIntoReplica, mintVersion } from '../../core/node/replica-versions.ts';
import type { BatchOperation, StorageEngine, SyncRead } from '../ports.ts';
import { KeyedSerializer } from '../keyed-serializer.ts';
import { latin1 } from '../latin1.ts';
import { CounterFloors } from './counter-floors.ts';
import { StoredUsage } from './stored-usage.ts';

/** A store answer: a value when the engine answered synchronously, else a promise of it. */
export type StoreAnswer<T> = T | Promise<T>;

/** A record with the bytes the store holds for it (they decode to it), so peers get them as they are. */
export interface StoredVersion {
  readonly ok: true;
  readonly record: VersionedRecord;
  readonly encoded: Uint8Array | undefined;
}

/** Told of a minted version once its write is handed to the engine, before the write completes. */
export type MintedListener = (record: VersionedRecord, encoded: Uint8Array) => void;

/** How the store reads a key and hands over its write in one synchronous step, when the engine allows it. */
interface SteppedEngine {
  /** The key's value with every write handed over so far (thrown failures, like readNow). */
  readonly read: SyncRead;
  /** Hands the write over; undefined when it is done already, else its acknowledgement. Throws or rejects on failure. */
  readonly write: (
    namespace: number,
    operations: readonly BatchOperation[],
    durable: boolean,
  ) => Promise<void> | undefined;
  /** The engine keeps the written arrays themselves until applied: bytes that are a view of a network chunk are copied first. */
  readonly keepsArrays: boolean;
}

function steppedEngine(engine: StorageEngine): SteppedEngine | undefined {
  const { getNow, batchNow, readLatestNow } = engine;
  if (getNow !== undefined && batchNow !== undefined) {
    const write = (namespace: number, operations: readonly BatchOperation[]): undefined => {
      batchNow(namespace, operations);
      return undefined;
    };
    return { read: getNow, write, keepsArrays: false };
  }
  if (readLatestNow === undefined) return undefined;
  const write = (namespace: number, operations: readonly BatchOperation[], durable: boolean): Promise<void> =>
    engine.batch(namespace, operations, { durable });
  return { read: readLatestNow, write, keepsArrays: true };
}

export class LocalStore {
  private readonly keys = new KeyedSerializer();
  private readonly floors = new CounterFloors();
  /** The keys held and their bytes, moved by every write below once the engine has it. */
  readonly usage = new StoredUsage();
  /**
   * Versions minted here whose write failed after they were reported as minted (and so may be on
   * other replicas), by per-key queue key. The key's next mint folds them in, so this node never
   * mints their dots again for other writes, and they get a second chance to be stored here.
   */
  private readonly unwritten = new Map<string, VersionedRecord>();
  private readonly stepped: SteppedEngine | undefined;
  /** A synchronous read, when the engine has one: reads need no per-key queue, only writes do. */
  private readonly readNow: SyncRead | undefined;

  constructor(readonly engine: StorageEngine) {
    this.stepped = steppedEngine(engine);
    this.readNow = engine.readNow ?? engine.getNow;
  }

  async read(partition: number, storageKey: Uint8Array): Promise<VersionedRecord> {
    return (await this.readVersion(partition, storageKey)).record;
  }

  /** The key's record and the bytes it was read from, synchronously when the engine allows. */
  readVersion(partition: number, storageKey: Uint8Array): StoreAnswer<StoredVersion> {
    const readNow = this.readNow;
    if (readNow !== undefined) return storedVersion(readNow(partition, storageKey));
    return this.engine.get(partition, storageKey).then(storedVersion);
  }

  /**
   * Mints a new version of the key on this replica (the coordinator's half of a put). When the
   * engine answers later, `onMinted` hears of the version as soon as its write is handed over.
   */
  mint(
    partition: number,
    storageKey: Uint8Array,
    request: VersionRequest,
    onMinted?: MintedListener,
  ): StoreAnswer<StoredVersion> {
    const stepped = this.stepped;
    if (stepped === undefined) return this.mintQueued(partition, storageKey, request, onMinted);
    const storedBytes = stepped.read(partition, storageKey);
    const queueKey = this.unwritten.size === 0 ? undefined : this.queueKey(partition, storageKey);
    const failedEarlier = queueKey === undefined ? undefined : this.unwritten.get(queueKey);
    const stored = this.floors.above(
      decodeOwned(storedBytes),
      request.actor,
      this.floors.loadNow(stepped.read, partition),
    );
    const next = mintVersion(failedEarlier === undefined ? stored : sync(stored, failedEarlier), request);
    const encoded = encodeRecord(next);
    const written = stepped.write(partition, [{ type: 'put', key: storageKey, value: encoded }], request.durable);
    const version: StoredVersion = { ok: true, record: next, encoded };
    if (written === undefined) {
      this.usage.replaced(storageKey.length, storedBytes, encoded);
      return version;
    }
    onMinted?.(next, encoded);
    return written.then(
      () => {
        if (failedEarlier !== undefined) this.unwritten.delete(queueKey as string);
        this.usage.replaced(storageKey.length, storedBytes, encoded);
        return version;
      },
      (error: unknown) => {
        // Its dot may be on other replicas now: keep it for the key's next mint, then fail as before.
        if (onMinted !== undefined) this.unwritten.set(this.queueKey(partition, storageKey), decodeRecord(encoded));
        throw error;
      },
    );
  }

  /** mint, for an engine whose read-modify-write spans an await: one at a time per key. */
  private mintQueued(
    partition: number,
    storageKey: Uint8Array,
    request: VersionRequest,
    onMinted: MintedListener | undefined,
  ): Promise<StoredVersion> {
    const queueKey = this.queueKey(partition, storageKey);
    return this.keys.run(queueKey, async () => {
      const failedEarlier = this.unwritten.get(queueKey);
      const read = this.stored(partition, storageKey);
      const storedBytes = isPending(read) ? await read : read;
      const loaded = this.floors.load(this.engine, partition);
      const stored = this.floors.above(
        decodeOwned(storedBytes),
        request.actor,
        isPending(loaded) ? await loaded : loaded,
      );
      const next = mintVersion(failedEarlier === undefined ? stored : sync(stored, failedEarlier), request);
      const { encoded, written } = this.startWrite(partition, storageKey, next, request.durable);
      if (onMinted === undefined) {
        await written;
      } else {
        onMinted(next, encoded);
        await written.catch((error: unknown) => {
          // Its dot may be on other replicas now: keep it for the key's next mint (a copy, since
          // its values may be views of bytes the engine owns), then fail as before.
          this.unwritten.set(queueKey, decodeRecord(encoded));
          throw error;
        });
      }
      if (failedEarlier !== undefined) this.unwritten.delete(queueKey);
      this.usage.replaced(storageKey.length, storedBytes, encoded);
      return { ok: true, record: next, encoded };
    });
  }

  /**
   * Merges a record that another node sent (replication, hinted handoff, read repair). When the
   * incoming record already reflects everything stored (the usual replicated write) and its bytes
   * came with it, those bytes are stored as they are: no merge to build, no record to encode.
   */
  merge(
    partition: number,
    storageKey: Uint8Array,
    incoming: VersionedRecord,
    durable: boolean,
    incomingBytes?: Uint8Array,
  ): StoreAnswer<StoredVersion> {
    const stepped = this.stepped;
    if (stepped === undefined) return this.mergeQueued(partition, storageKey, incoming, durable, incomingBytes);
    const storedBytes = stepped.read(partition, storageKey);
    // A copy when the engine holds on to the array: the incoming bytes are a view of a network chunk.
    const ownBytes = stepped.keepsArrays && incomingBytes !== undefined ? Buffer.from(incomingBytes) : incomingBytes;
    const merge = planMerge(storedBytes, incoming, ownBytes);
    const version: StoredVersion = { ok: true, record: merge.record, encoded: merge.encoded };
    if (!merge.write) return version;
    const operations = [{ type: 'put', key: storageKey, value: merge.encoded } as const];
    return this.afterWrite(stepped.write(partition, operations, durable), storageKey, storedBytes, version);
  }

  /** merge, for an engine whose read-modify-write spans an await: one at a time per key. */
  private mergeQueued(
    partition: number,
    storageKey: Uint8Array,
    incoming: VersionedRecord,
    durable: boolean,
    incomingBytes: Uint8Array | undefined,
  ): Promise<StoredVersion> {
    return this.exclusive(partition, storageKey, async () => {
      // A copy: the engine may hold the bytes a while, and the incoming ones are a view of a network chunk.
      const read = this.stored(partition, storageKey);
      const storedBytes = isPending(read) ? await read : read;
      const merge = planMerge(
        storedBytes,
        incoming,
        incomingBytes === undefined ? undefined : Buffer.from(incomingBytes),
      );
      if (merge.write) {
        await this.engine.batch(partition, [{ type: 'put', key: storageKey, value: merge.encoded }], { durable });
        this.usage.replaced(storageKey.length, storedBytes, merge.encoded);
      }
      return { ok: true, record: merge.record, encoded: merge.encoded };
    });
  }

  /**
   * Steps the key one level down when it still holds exactly `expected` (decision 0019), and
   * answers with what it holds afterwards. A tombstone-only record loses its tombstones and keeps
   * its causal context: forgetting the context at that point would let this node mint a dot counter
   * it already used for the key, and a client still holding a context from before the reap would
   * then silently supersede the new write (found by the simulator; test/sim/regression.test.ts). A
   * context-only record is removed, and its context is merged into the partition's counter floor
   * in the same batch, so every later version this node mints in the partition gets a dot past
   * every one the removed context names, whether the key is absent here or came back from another
   * replica without this node's entry (found by the simulator, seed 18 with a short grace).
   */
  reap(partition: number, storageKey: Uint8Array, expected: VersionedRecord): StoreAnswer<StoredVersion> {
    const stepped = this.stepped;
    if (stepped === undefined) return this.reapQueued(partition, storageKey, expected);
    // One synchronous step like mint and merge, so neither can slip between this read and this write.
    const stored = stepped.read(partition, storageKey);
    const current = decodeOwned(stored);
    if (!recordsEqual(current, expected)) return storedVersion(stored);
    if (current.siblings.length > 0) {
      const contextOnly = { context: current.context, siblings: [] };
      const encoded = encodeRecord(contextOnly);
      const written = stepped.write(partition, [{ type: 'put', key: storageKey, value: encoded }], true);
      return this.afterWrite(written, storageKey, stored, { ok: true, record: contextOnly, encoded });
    }
    const floor = this.floors.raised(partition, current.context, this.floors.loadNow(stepped.read, partition));
    const written = stepped.write(partition, [floor, { type: 'delete', key: storageKey }], true);
    return this.afterWrite(written, storageKey, stored, { ok: true, record: emptyRecord, encoded: undefined });
  }

  /** reap, for an engine whose read-modify-write spans an await: one at a time per key. */
  private reapQueued(partition: number, storageKey: Uint8Array, expected: VersionedRecord): Promise<StoredVersion> {
    return this.exclusive(partition, storageKey, async () => {
      const stored = await this.stored(partition, storageKey);
      const current = decodeOwned(stored);
      if (!recordsEqual(current, expected)) return storedVersion(stored);
      if (current.siblings.length > 0) {
        const contextOnly = { context: current.context, siblings: [] };
        const encoded = await this.write(partition, storageKey, contextOnly, true);
        this.usage.replaced(storageKey.length, stored, encoded);
        return { ok: true, record: contextOnly, encoded };
      }
      const floor = this.floors.raised(partition, current.context, await this.floors.load(this.engine, partition));
      await this.engine.batch(partition, [floor, { type: 'delete', key: storageKey }], { durable: true });
      this.usage.replaced(storageKey.length, stored, undefined);
      return { ok: true, record: emptyRecord, encoded: undefined };
    });
  }

  /**
   * Drops a key of a partition this node no longer replicates (decision 0018), unless its record
   * names `actor` (this node's own versions): then it is kept whole. The node may still coordinate
   * the key as a fallback, and minting from an empty record would reuse a dot its dropped version
   * carried; keeping the context alone (as reaping does) is worse here, since the values are live
   * and a new version carrying that context would discard them everywhere (both found by the
   * simulator).
   */
  dropKey(partition: number, storageKey: Uint8Array, actor: string): Promise<void> {
    const stepped = this.stepped;
    if (stepped === undefined) return this.dropKeyQueued(partition, storageKey, actor);
    try {
      // One synchronous step like mint and merge, so neither can slip between this read and this delete.
      const stored = stepped.read(partition, storageKey);
      if (stored === undefined || decodeOwned(stored).context.has(actor)) return Promise.resolve();
      const written = stepped.write(partition, [{ type: 'delete', key: storageKey }], true);
      return Promise.resolve(this.afterWrite(written, storageKey, stored, undefined));
    } catch (error) {
      return Promise.reject(error as Error);
    }
  }

  /** dropKey, for an engine whose read-modify-write spans an await: one at a time per key. */
  private dropKeyQueued(partition: number, storageKey: Uint8Array, actor: string): Promise<void> {
    return this.exclusive(partition, storageKey, async () => {
      const stored = await this.stored(partition, storageKey);
      if (stored === undefined || decodeOwned(stored).context.has(actor)) return;
      await this.engine.batch(partition, [{ type: 'delete', key: storageKey }], { durable: true });
      this.usage.replaced(storageKey.length, stored, undefined);
    });
  }

  /**
   * The answer of a stepped write that replaced `storedBytes` with `version`'s bytes: at once when
   * the engine wrote it synchronously, else once the engine acknowledges it. The usage figures move
   * only once the engine has the write.
   */
  private afterWrite<T extends StoredVersion | undefined>(
    written: Promise<void> | undefined,
    storageKey: Uint8Array,
    storedBytes: Uint8Array | undefined,
    version: T,
  ): StoreAnswer<T> {
    if (written === undefined) {
      this.usage.replaced(storageKey.length, storedBytes, version?.encoded);
      return version;
    }
    return written.then(() => {
      this.usage.replaced(storageKey.length, storedBytes, version?.encoded);
      return version;
    });
  }

  /** The stored bytes, read at once when the engine can (inside a key's turn, that reads the same). */
  private stored(partition: number, storageKey: Uint8Array): Uint8Array | undefined | Promise<Uint8Array | undefined> {
    return this.readNow === undefined ? this.engine.get(partition, storageKey) : this.readNow(partition, storageKey);
  }

  /** Writes the record; resolves with the bytes written. */
  private async write(
    partition: number,
    storageKey: Uint8Array,
    record: VersionedRecord,
    durable: boolean,
  ): Promise<Uint8Array> {
    const { encoded, written } = this.startWrite(partition, storageKey, record, durable);
    await written;
    return encoded;
  }

  /** Hands the record's bytes to the engine; `written` settles when the engine has them. */
  private startWrite(
    partition: number,
    storageKey: Uint8Array,
    record: VersionedRecord,
    durable: boolean,
  ): { readonly encoded: Uint8Array; readonly written: Promise<void> } {
    const encoded = encodeRecord(record);
    return {
      encoded,
      written: this.engine.batch(partition, [{ type: 'put', key: storageKey, value: encoded }], { durable }),
    };
  }

  private exclusive<T>(partition: number, storageKey: Uint8Array, work: () => Promise<T>): Promise<T> {
    return this.keys.run(this.queueKey(partition, storageKey), work);
  }

  private queueKey(partition: number, storageKey: Uint8Array): string {
    return `${partition}:${latin1(storageKey)}`;
  }
}

/**
 * Whether a value an engine or the floors answered is still to come. A read answered at once is used
 * at once: an `await` of a plain value would still suspend the key's work for a microtask turn and
 * allocate for it, on every write (an lmdb node reads each key it writes through its log's overlay).
 */
function isPending<T>(value: T | PromiseLike<T>): value is PromiseLike<T> {
  return typeof (value as { then?: unknown } | undefined)?.then === 'function';
}

/** What merging `incoming` into the stored bytes gives, and whether those bytes must be written. */
type MergePlan =
  | { readonly record: VersionedRecord; readonly encoded: Uint8Array; readonly write: true }
  | { readonly record: VersionedRecord; readonly encoded: Uint8Array | undefined; readonly write: false };

function planMerge(
  stored: Uint8Array | undefined,
  incoming: VersionedRecord,
  incomingBytes: Uint8Array | undefined,
): MergePlan {
  const merged = mergeIntoReplica(decodeOwned(stored), incoming);
  if (merged.kind === 'unchanged') return { record: merged.record, encoded: stored, write: false };
  return {
    record: merged.record,
    encoded: merged.kind === 'replaced' && incomingBytes !== undefined ? incomingBytes : encodeRecord(merged.record),
    write: true,
  };
}

/**
 * For a read-modify-write: the engine's bytes are never changed once written, and the record
 * decoded from them does not outlive the write (a value that survives is encoded into the new
 * record), so its values may be views of them rather than copies. A read that answers a client
 * copies (storedVersion): the client may keep or change what it gets.
 */
function decodeOwned(bytes: Uint8Array | undefined): VersionedRecord {
  return bytes === undefined ? emptyRecord : decodeOwnedRecord(bytes);
}

function storedVersion(bytes: Uint8Array | undefined): StoredVersion {
  return bytes === undefined
    ? { ok: true, record: emptyRecord, encoded: undefined }
    : { ok: true, record: decodeRecord(bytes), encoded: bytes };
}
