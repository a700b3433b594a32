// Why: a replica's records live in a StorageEngine as bytes; versions are merged in the core's pure
// functions. Merging is a read-modify-write across an await, so two merges of one key must not
// interleave (the second would overwrite the first's result and lose a version). This store
// serialises them per key and leaves reads unserialised (they see the last completed write).
import { EverwriteError } from '../core/base/errors.ts';
import type { VersionedRecord } from '../core/versioning/index.ts';
import type { VersionRequest } from '../core/node/effects.ts';
import { decodeRecord, emptyRecord, encodeRecord, recordsEqual, resolveLastWriterWins, sync, update } from '../core/versioning/index.ts';
import type { StorageEngine } from './ports.ts';
import { KeyedSerializer } from './keyed-serializer.ts';

export class LocalStore {
  private readonly keys = new KeyedSerializer();

  constructor(readonly engine: StorageEngine) {}

  async read(partition: number, storageKey: Uint8Array): Promise<VersionedRecord> {
    const bytes = await this.engine.get(partition, storageKey);
    return bytes === undefined ? emptyRecord : decodeRecord(bytes);
  }

  /** Mints a new version of the key on this replica (the coordinator's half of a put). */
  mint(partition: number, storageKey: Uint8Array, request: VersionRequest): Promise<VersionedRecord> {
    return this.exclusive(partition, storageKey, async () => {
      const current = await this.read(partition, storageKey);
      let next = update(current, request.useStoredContext ? current.context : request.context, request.actor, request.stored);
      if (request.lastWriterWins) next = resolveLastWriterWins(next);
      if (next.siblings.length > request.siblingsCountMax) {
        throw new EverwriteError('EVERWRITE_TOO_MANY_SIBLINGS', `the key would hold ${next.siblings.length} concurrent versions (limit ${request.siblingsCountMax}); read it and write back with its context to resolve them`, { siblings: next.siblings.length, limit: request.siblingsCountMax });
      }
      await this.write(partition, storageKey, next, request.durable);
      return next;
    });
  }

  /** Merges a record that another node sent (replication, hinted handoff, read repair). */
  merge(partition: number, storageKey: Uint8Array, incoming: VersionedRecord, durable: boolean): Promise<VersionedRecord> {
    return this.exclusive(partition, storageKey, async () => {
      const current = await this.read(partition, storageKey);
      const next = sync(current, incoming);
      if (!recordsEqual(next, current)) await this.write(partition, storageKey, next, durable);
      return next;
    });
  }

  /**
   * Drops the tombstone when the key still holds exactly `tombstone`; returns whether it did. The
   * causal context stays (a record with no siblings): forgetting it would let this node mint a dot
   * counter it already used for the key, and a client still holding a context from before the reap
   * would then silently supersede the new write (found by the simulator; test/sim/regression.test.ts).
   */
  reap(partition: number, storageKey: Uint8Array, tombstone: VersionedRecord): Promise<boolean> {
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
    return this.keys.run(`${partition}:${Buffer.from(storageKey.buffer, storageKey.byteOffset, storageKey.byteLength).toString('latin1')}`, work);
  }
}
