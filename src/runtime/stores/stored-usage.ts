// Why: an operator sizes disks and catches runaway growth by the keys a node holds and the bytes
// they take (decision 0036). Every write of a replica's record goes through LocalStore, which has
// already read the bytes it replaces for its read-modify-write, so keeping both figures costs two
// additions per write and no allocation; a scrape reads two numbers however many keys there are.
// The figures start from one scan of the partitions when the node opens (after the write-ahead
// log's replay, before the node serves), so they are right after a restart too.
//
// What is counted: every record stored under a storage key in a partition namespace, whether it
// holds live values, tombstones or only a causal context (all three take room until reaped,
// decision 0019); its bytes are the storage key's plus the record's, as handed to the engine
// (logical bytes, not the engine's pages or files). Not counted: partitions' counter floors (the
// one-byte key [0], decision 0019), hints and node metadata (reserved namespaces).
import type { StorageEngine } from '../ports.ts';

/** The keys a node holds and the bytes they take (storage keys plus records). */
export interface StoredUsageFigures {
  readonly keys: number;
  readonly bytes: number;
}

/** Storage keys are at least this long; shorter keys of a partition are its counter floor. */
const storageKeyBytesMin = 2;

export class StoredUsage {
  private keys = 0;
  private bytes = 0;
  private counted = false;

  /** A key's stored record went from `before` to `after` (undefined: absent), once the engine has it. */
  replaced(keyBytes: number, before: Uint8Array | undefined, after: Uint8Array | undefined): void {
    if (before !== undefined) {
      this.keys--;
      this.bytes -= keyBytes + before.length;
    }
    if (after !== undefined) {
      this.keys++;
      this.bytes += keyBytes + after.length;
    }
  }

  /**
   * Counts what partitions 0..partitionCount-1 hold, adding to what writes since reported. Call it
   * once, before anything writes to the partitions (the node's start, before it serves); until it
   * has finished, `figures` answers undefined.
   */
  async countStored(engine: StorageEngine, partitionCount: number): Promise<void> {
    let keys = 0;
    let bytes = 0;
    for (let partition = 0; partition < partitionCount; partition++) {
      for await (const [key, record] of engine.scan(partition)) {
        if (key.length < storageKeyBytesMin) continue;
        keys++;
        bytes += key.length + record.length;
      }
    }
    this.keys += keys;
    this.bytes += bytes;
    this.counted = true;
  }

  /** The current figures; undefined until the start-up count has finished (a half count would mislead). */
  figures(): StoredUsageFigures | undefined {
    return this.counted ? { keys: this.keys, bytes: this.bytes } : undefined;
  }
}
