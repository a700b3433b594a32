// Why: anti-entropy (decision 0016) compares replicas by Merkle trees, so each node keeps one tree per
// partition it is a primary for, always equal to what its store holds. The tree is memory only: it is
// kept current by every write this replica completes (the kernel's onStored: client writes,
// replication, hints, read repair and anti-entropy itself all end in a storeUpdate or storeMerge), and
// rebuilt at start by scanning each partition in bounded slices, one slice per storage answer, so the
// node keeps serving requests while it rebuilds. A key written while its partition is being scanned
// is remembered, and the scan's (possibly older) bytes for it are ignored: the write's own report is
// newer. A tree whose partition is still being scanned is "not ready": it neither starts nor answers
// an exchange, since a half-built tree would report every unscanned key as missing.
import { assert } from '../base/assert.ts';
import type { DigestFunction } from '../base/hash.ts';
import { latin1Text } from '../base/latin1.ts';
import type { NodeId } from '../base/ids.ts';
import { asPartitionIndex } from '../base/ids.ts';
import { MerkleTree, type TreeShape } from '../anti-entropy/index.ts';
import { primaryNodes, type Ring } from '../ring/index.ts';
import { decodeRecord, encodeRecord, recordLayoutVersion, type VersionedRecord } from '../versioning/index.ts';
import type { ScannedRecord } from './events.ts';
import type { NodeKernel } from './kernel.ts';

interface PartitionTree {
  readonly tree: MerkleTree;
  /** Keys (latin1) written since the partition's scan began; undefined once the scan is over. */
  touched: Set<string> | undefined;
}

/** The record hash a leaf holds: the digest of the record's canonical bytes (record-codec.ts). */
export function recordHash(
  digest: DigestFunction,
  record: VersionedRecord,
  encoded: Uint8Array | undefined,
  /** Where the digest may be written (DigestFunction), for a caller that copies it at once. */
  out?: Uint8Array,
): Uint8Array {
  return digest(encoded !== undefined && encoded[0] === recordLayoutVersion ? encoded : encodeRecord(record), out);
}

/** Where a stored write's record hash is written before its tree copies it into the key's slot. */
const recordHashScratch = new Uint8Array(16);

function isEmpty(record: VersionedRecord): boolean {
  return record.siblings.length === 0 && record.context.size === 0;
}

/** The key as a string of one char per byte, for Map and Set keys. */
export function keyString(key: Uint8Array): string {
  return latin1Text(key);
}

/** The replication degree the trees cover: the largest n of any bucket, capped by the cluster size. */
export function replicaCountOf(kernel: NodeKernel): number {
  return Math.min(kernel.props.largestN(), kernel.ring.members.length);
}

export class ReplicaTrees {
  private readonly trees = new Map<number, PartitionTree>();
  private readonly shape: TreeShape;
  /** Partitions still to scan, in order; the head is being scanned while `scan` is set. */
  private readonly toScan: number[] = [];
  private scan: { readonly scanId: number; readonly partition: number } | undefined;

  constructor(private readonly kernel: NodeKernel) {
    this.shape = { fanOut: kernel.settings.antiEntropyTreeFanOut, depth: kernel.settings.antiEntropyTreeDepth };
    kernel.onStored = (partition, storageKey, result) =>
      this.noteStored(partition, storageKey, result.record, result.encoded);
  }

  /** Creates the trees of partitions this node newly holds (all of them at start) and queues their scans. */
  adopt(ring: Ring, replicaCount: number, self: NodeId): void {
    for (let partition = 0; partition < ring.partitionCount; partition++) {
      if (this.trees.has(partition) || !primaryNodes(ring, asPartitionIndex(partition), replicaCount).includes(self))
        continue;
      this.trees.set(partition, {
        tree: new MerkleTree({ digest: this.kernel.digest, ...this.shape }),
        touched: new Set(),
      });
      this.toScan.push(partition);
    }
    this.scanNext();
  }

  /** The partition's tree once its rebuild is over; undefined while not held or not ready. */
  ready(partition: number): MerkleTree | undefined {
    const held = this.trees.get(partition);
    return held === undefined || held.touched !== undefined ? undefined : held.tree;
  }

  /** Forgets the trees of partitions this node no longer replicates (handoff dropped them, decision 0017). */
  release(partitions: readonly number[]): void {
    for (const partition of partitions) if (this.scan?.partition !== partition) this.trees.delete(partition);
  }

  /** The partition's tree whether or not its rebuild is over (the catch-up answers from it, decision 0020). */
  current(partition: number): MerkleTree | undefined {
    return this.trees.get(partition)?.tree;
  }

  holds(partition: number): boolean {
    return this.trees.has(partition);
  }

  get scanning(): boolean {
    return this.scan !== undefined;
  }

  /** Partitions with a tree, and how many of them are rebuilt. */
  counts(): { readonly held: number; readonly ready: number } {
    let ready = 0;
    for (const held of this.trees.values()) if (held.touched === undefined) ready++;
    return { held: this.trees.size, ready };
  }

  private noteStored(
    partition: number,
    storageKey: Uint8Array,
    record: VersionedRecord,
    encoded: Uint8Array | undefined,
  ): void {
    const held = this.trees.get(partition);
    if (held === undefined) return;
    held.touched?.add(keyString(storageKey));
    if (isEmpty(record)) held.tree.delete(storageKey);
    // The tree copies the hash into the key's slot; the digest length is the tree's, so the scratch must match it.
    else held.tree.set(storageKey, this.hashOfStored(record, encoded));
  }

  /** A stored record's hash, written into a scratch the tree copies from at once (tree.set keeps no reference). */
  private hashOfStored(record: VersionedRecord, encoded: Uint8Array | undefined): Uint8Array {
    return recordHash(this.kernel.digest, record, encoded, recordHashScratch);
  }

  /** The partition the scan `scanId` reads, while it is the current one. */
  scannedPartition(scanId: number): number | undefined {
    return this.scan?.scanId === scanId ? this.scan.partition : undefined;
  }

  /** One slice of a scan answered: file its records, then ask for the next slice or partition. */
  onScanned(scanId: number, ok: boolean, entries: readonly ScannedRecord[]): void {
    const scan = this.scan;
    if (scan === undefined || scan.scanId !== scanId) return;
    const held = this.trees.get(scan.partition);
    assert(held !== undefined && held.touched !== undefined, 'a scanned partition has a tree being rebuilt');
    if (!ok) {
      // Dropped, so the next adopt (the next schedule round) scans it again from the start: a
      // half-built tree would report every unscanned key as missing.
      this.kernel.emit({
        type: 'log',
        level: 'error',
        message: 'anti-entropy could not scan a partition; it is scanned again later',
        fields: { partition: scan.partition },
      });
      this.trees.delete(scan.partition);
      this.scan = undefined;
      this.toScan.shift();
      this.scanNext();
      return;
    }
    for (const entry of entries) this.fileScanned(held, entry);
    const last = entries[entries.length - 1];
    if (entries.length < this.kernel.settings.antiEntropyScanKeysPerSlice || last === undefined) {
      held.touched = undefined;
      this.toScan.shift();
      this.scan = undefined;
      this.scanNext();
      return;
    }
    const start = new Uint8Array(last.storageKey.length + 1);
    start.set(last.storageKey);
    this.afterPause(scan, () => this.requestSlice(scan.partition, start));
  }

  /**
   * Runs `next` after `antiEntropyScanPauseMs`, unless the scan changed meanwhile. Slices back to
   * back took the whole event loop: with 1M keys, clients saw a p99 of 42 ms during the rebuild
   * against 5.6 ms after it (docs/BENCHMARKS.md).
   */
  private afterPause(scan: NonNullable<ReplicaTrees['scan']>, next: () => void): void {
    this.kernel.setTimer(this.kernel.settings.antiEntropyScanPauseMs, () => {
      if (this.scan === scan) next();
    });
  }

  private fileScanned(held: PartitionTree, entry: ScannedRecord): void {
    if (held.touched?.has(keyString(entry.storageKey)) === true) return;
    let record: VersionedRecord;
    try {
      record = decodeRecord(entry.encoded);
    } catch {
      this.kernel.emit({
        type: 'log',
        level: 'warn',
        message: 'anti-entropy skipped an undecodable stored record',
        fields: {},
      });
      return;
    }
    if (isEmpty(record)) return;
    held.tree.set(entry.storageKey, recordHash(this.kernel.digest, record, entry.encoded));
  }

  private scanNext(): void {
    if (this.scan !== undefined) return;
    const partition = this.toScan[0];
    if (partition !== undefined) this.requestSlice(partition, undefined);
  }

  private requestSlice(partition: number, start: Uint8Array | undefined): void {
    const scan = { scanId: this.kernel.nextId(), partition };
    this.scan = scan;
    this.kernel.emit({
      type: 'storeScan',
      scanId: scan.scanId,
      partition,
      start,
      limit: this.kernel.settings.antiEntropyScanKeysPerSlice,
    });
  }
}
