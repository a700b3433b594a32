// Why: the replica's half of a key listing (decision 0030): one page of a bucket's listable keys
// read from the partitions a coordinator named, in storage-key order. A request comes from a peer
// (or this node's own coordinator), so the page is bounded whatever it asks: keys and key bytes per
// page, and records read per page, so a partition full of tombstones costs a bounded scan and a
// continuation rather than one unbounded read.
import { utf8Encode } from '../core/base/bytes.ts';
import type { DigestFunction } from '../core/base/hash.ts';
import { asPartitionIndex, type NodeId } from '../core/base/ids.ts';
import { isListable, keyListLimits } from '../core/key-listing/index.ts';
import type { KeyListMessage } from '../core/protocol/messages.ts';
import { placementInput } from '../core/protocol/storage-key.ts';
import { partitionOf, primaryNodes, type Ring } from '../core/ring/index.ts';
import { decodeRecord } from '../core/versioning/index.ts';
import type { StorageEngine } from './ports.ts';

type KeyListRequest = Extract<KeyListMessage, { type: 'keyListRequest' }>;
type KeyListReply = Extract<KeyListMessage, { type: 'keyListReply' }>;

/** What a replica needs to answer a page: its storage, the ring it places keys by, and who it is. */
export interface KeyListReplicaContext {
  readonly engine: StorageEngine;
  readonly md5: DigestFunction;
  readonly ring: Ring;
  readonly self: NodeId;
  /** The bucket's replica count N. */
  readonly n: number;
}

/** The storage-key prefix every key of `bucket` starts with: its two length bytes and its UTF-8. */
export function bucketPrefix(bucket: string): Uint8Array {
  const name = utf8Encode(bucket);
  const prefix = new Uint8Array(2 + name.length);
  prefix[0] = name.length >> 8;
  prefix[1] = name.length & 0xff;
  prefix.set(name, 2);
  return prefix;
}

/** The smallest byte string after every string starting with `prefix`; undefined when there is none (all 0xff). */
function prefixEnd(prefix: Uint8Array): Uint8Array | undefined {
  const end = prefix.slice();
  for (let index = end.length - 1; index >= 0; index--) {
    if ((end[index] as number) < 0xff) {
      end[index] = (end[index] as number) + 1;
      return end.subarray(0, index + 1);
    }
  }
  return undefined;
}

/** The first storage key strictly after `prefix + after` (a key followed by a zero byte), or the prefix itself. */
function scanStart(prefix: Uint8Array, after: Uint8Array): Uint8Array {
  if (after.length === 0) return prefix;
  const start = new Uint8Array(prefix.length + after.length + 1);
  start.set(prefix);
  start.set(after, prefix.length);
  return start;
}

/** Why a request is refused rather than answered: it names a partition this node is not a primary of. */
function holdsEvery(context: KeyListReplicaContext, partitions: readonly number[]): boolean {
  const n = Math.max(1, Math.min(context.n, context.ring.members.length));
  return partitions.every(
    (partition) =>
      partition < context.ring.partitionCount &&
      primaryNodes(context.ring, asPartitionIndex(partition), n).includes(context.self),
  );
}

/** Keys and bounds of one page being filled. */
class PageBuilder {
  readonly keys: Uint8Array[] = [];
  private keyBytes = 0;
  scanned = 0;

  constructor(private readonly keysMax: number) {}

  get full(): boolean {
    return (
      this.keys.length >= this.keysMax ||
      this.keyBytes >= keyListLimits.pageBytesMax ||
      this.scanned >= keyListLimits.pageScannedMax
    );
  }

  add(key: Uint8Array): void {
    this.keys.push(key);
    this.keyBytes += key.length;
  }
}

/** True when the record stored under `storageKey` is a live key placed in `partition` by the current ring. */
function listedHere(
  context: KeyListReplicaContext,
  partition: number,
  storageKey: Uint8Array,
  encoded: Uint8Array,
): boolean {
  const placement = placementInput(storageKey);
  if (placement === undefined || partitionOf(context.ring, context.md5(placement)) !== partition) return false;
  try {
    return isListable(decodeRecord(encoded));
  } catch {
    // A record that does not decode is anti-entropy's business; it is not a key anyone can read.
    return false;
  }
}

/**
 * Fills `page` from one partition, starting after `after`; answers the key to resume after when the
 * page filled before the partition ended, or undefined when the partition is done.
 */
async function scanPartition(
  context: KeyListReplicaContext,
  page: PageBuilder,
  partition: number,
  prefix: Uint8Array,
  after: Uint8Array,
): Promise<Uint8Array | undefined> {
  const end = prefixEnd(prefix);
  const options = {
    start: scanStart(prefix, after),
    ...(end === undefined ? {} : { end }),
    limit: keyListLimits.pageScannedMax - page.scanned + 1,
  };
  // The serve loop never enters a partition with a full page, so `last` is set whenever the page fills here.
  let last: Uint8Array | undefined;
  for await (const [storageKey, encoded] of context.engine.scan(partition, options)) {
    if (page.full) return last;
    page.scanned += 1;
    last = storageKey.slice(prefix.length);
    if (listedHere(context, partition, storageKey, encoded)) page.add(last);
  }
  return undefined;
}

/** Answers one page of `request`; refuses (ok: false) partitions this node is not a primary of. */
export async function serveKeyListPage(context: KeyListReplicaContext, request: KeyListRequest): Promise<KeyListReply> {
  if (!holdsEvery(context, request.partitions)) return { type: 'keyListReply', id: request.id, ok: false, keys: [] };
  const page = new PageBuilder(Math.min(request.keysMax, keyListLimits.pageKeysMax));
  const prefix = bucketPrefix(request.bucket);
  let after = request.after;
  for (const partition of request.partitions) {
    const resumeAfter = await scanPartition(context, page, partition, prefix, after);
    if (resumeAfter !== undefined)
      return {
        type: 'keyListReply',
        id: request.id,
        ok: true,
        keys: page.keys,
        next: { partition, after: resumeAfter },
      };
    after = new Uint8Array(0);
    if (page.full) return endOfPartition(request, page, partition);
  }
  return { type: 'keyListReply', id: request.id, ok: true, keys: page.keys };
}

/** A page that filled exactly as a partition ended: resume at the next partition's start, if there is one. */
function endOfPartition(request: KeyListRequest, page: PageBuilder, partition: number): KeyListReply {
  const following = request.partitions[request.partitions.indexOf(partition) + 1];
  if (following === undefined) return { type: 'keyListReply', id: request.id, ok: true, keys: page.keys };
  return {
    type: 'keyListReply',
    id: request.id,
    ok: true,
    keys: page.keys,
    next: { partition: following, after: new Uint8Array(0) },
  };
}
