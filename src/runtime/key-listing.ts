// Why: the coordinator's half of a key listing (decision 0030). It walks the partitions in order,
// asking for each run of consecutive partitions the one live primary the coverage plan
// (core/key-listing) chose, one page at a time and only when the consumer asks for the next page:
// a slow reader holds one page, never the listing. A replica that refuses or does not answer within
// the page timeout is left out and its partitions asked of another live primary from the same
// cursor; a partition nobody can answer is reported in the page's `missingPartitions`, never
// skipped silently. The cursor is (partition, last key): resuming from it lists no key twice.
import { EverwriteError } from '../core/base/errors.ts';
import { utf8Decode } from '../core/base/bytes.ts';
import { asPartitionIndex, type NodeId, type PartitionIndex } from '../core/base/ids.ts';
import { keyListLimits, planCoverage } from '../core/key-listing/index.ts';
import type { KeyListMessage } from '../core/protocol/messages.ts';
import { decodeName } from '../core/protocol/storage-key.ts';
import { base64UrlDecode, base64UrlEncode } from '../core/versioning/index.ts';
import { serveKeyListPage, type KeyListReplicaContext } from './key-list-replica.ts';
import type { TimerHandle, Timers } from './ports.ts';
import type { KeyListing, KeyListOptions, KeyListPage } from './service.ts';

type KeyListRequest = Extract<KeyListMessage, { type: 'keyListRequest' }>;
type KeyListReply = Extract<KeyListMessage, { type: 'keyListReply' }>;

export const keyListingDefaults = Object.freeze({
  /** How long a replica may take to answer one page before its partitions are asked elsewhere. */
  pageTimeoutMs: 5000,
  /** Round trips one page may take (pages of tombstones answer few keys); the page then ends with a cursor. */
  roundTripsPerPageMax: 16,
  /** Pages this node serves to peers at once; more are refused (the coordinator tries another replica). */
  servingMax: 16,
});

/** Where a listing stands: the partition it is in and the last key listed there (empty: none yet). */
interface Position {
  readonly partition: number;
  readonly after: Uint8Array;
}

/** The node-side facts a listing needs, read afresh for every page (the ring and liveness change). */
export interface KeyListingHost {
  replicaContext(bucket: string): KeyListReplicaContext;
  isAlive(node: NodeId): boolean;
  /** Sends one message to a peer; its reply comes back through KeyLister.onReply. */
  send(to: NodeId, message: KeyListMessage): void;
  readonly timers: Timers;
}

/** Longest cursor text accepted: a partition number, a dot and the base64url of the longest key. */
const cursorLengthMax = 8 + Math.ceil((keyListLimits.wireKeyBytesMax * 4) / 3);

/** A listing's position as the opaque, URL-safe cursor clients hand back: "<partition>.<base64url of the last key>". */
export function encodeKeyListCursor(position: Position): string {
  return `${position.partition}.${base64UrlEncode(position.after)}`;
}

/** The position a client's cursor names; EVERWRITE_BAD_REQUEST for anything this node did not make. */
export function decodeKeyListCursor(cursor: string, partitionCount: number): Position {
  const bad = (): never => {
    throw new EverwriteError(
      'EVERWRITE_BAD_REQUEST',
      'the listing cursor is malformed or from another cluster; start again without one',
    );
  };
  const match = cursor.length <= cursorLengthMax ? /^(0|[1-9][0-9]{0,4})\.([A-Za-z0-9_-]*)$/.exec(cursor) : null;
  if (match === null) return bad();
  const partition = Number(match[1]);
  if (partition >= partitionCount) return bad();
  let after: Uint8Array;
  try {
    after = base64UrlDecode(match[2] as string);
    utf8Decode(after);
  } catch {
    return bad();
  }
  if (base64UrlEncode(after) !== match[2]) return bad();
  return { partition, after };
}

/** Negative, zero or equal when `a` sorts before, equal to or after `b` (bytewise, as storage scans). */
function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const length = Math.min(a.length, b.length);
  for (let index = 0; index < length; index++)
    if (a[index] !== b[index]) return (a[index] as number) - (b[index] as number);
  return a.length - b.length;
}

interface PendingPage {
  readonly node: NodeId;
  readonly settle: (reply: KeyListReply | undefined) => void;
  readonly timer: TimerHandle;
}

/** Every listing this node coordinates, and the pages it serves to peers. */
export class KeyLister {
  private readonly pending = new Map<number, PendingPage>();
  private nextId = 1;
  private serving = 0;

  constructor(
    private readonly host: KeyListingHost,
    private readonly self: NodeId,
    private readonly pageTimeoutMs: number = keyListingDefaults.pageTimeoutMs,
  ) {}

  /** A peer's request: answered with a bounded page, or refused when this node already serves its share. */
  onRequest(from: NodeId, request: KeyListRequest): void {
    if (this.serving >= keyListingDefaults.servingMax) {
      this.host.send(from, { type: 'keyListReply', id: request.id, ok: false, keys: [] });
      return;
    }
    this.serving += 1;
    serveKeyListPage(this.host.replicaContext(request.bucket), request)
      .catch((): KeyListReply => ({ type: 'keyListReply', id: request.id, ok: false, keys: [] }))
      .then((reply) => this.host.send(from, reply))
      .finally(() => {
        this.serving -= 1;
      });
  }

  /** A peer's answer to one of this node's page requests; unknown ids (late, duplicated, forged) are ignored. */
  onReply(from: NodeId, reply: KeyListReply): void {
    const pending = this.pending.get(reply.id);
    if (pending === undefined || pending.node !== from) return;
    this.pending.delete(reply.id);
    pending.timer.cancel();
    pending.settle(reply);
  }

  /** Fails every page still waiting (the node is stopping). */
  stop(): void {
    for (const [id, pending] of this.pending) {
      this.pending.delete(id);
      pending.timer.cancel();
      pending.settle(undefined);
    }
  }

  list(bucket: string, partitionCount: number, options: KeyListOptions = {}): KeyListing {
    const start =
      options.cursor === undefined
        ? { partition: 0, after: new Uint8Array(0) }
        : decodeKeyListCursor(options.cursor, partitionCount);
    return new Listing(
      this,
      bucket,
      start,
      partitionCount,
      Math.min(options.pageKeysMax ?? keyListLimits.pageKeysMax, keyListLimits.pageKeysMax),
    );
  }

  /** One page request to `node` (served here without the network when it is this node); undefined on refusal or timeout. */
  askPage(node: NodeId, request: Omit<KeyListRequest, 'id' | 'type'>): Promise<KeyListReply | undefined> {
    const id = this.nextId++;
    const message: KeyListRequest = { type: 'keyListRequest', id, ...request };
    if (node === this.self)
      return serveKeyListPage(this.host.replicaContext(request.bucket), message).catch(() => undefined);
    return new Promise((settle) => {
      const timer = this.host.timers.after(this.pageTimeoutMs, () => {
        if (this.pending.delete(id)) settle(undefined);
      });
      this.pending.set(id, { node, settle, timer });
      this.host.send(node, message);
    });
  }

  /** The coverage of the partitions from `partition` on, without the excluded nodes. */
  planFrom(bucket: string, partition: number, excluded: ReadonlySet<NodeId>) {
    const context = this.host.replicaContext(bucket);
    const partitions: PartitionIndex[] = [];
    for (let index = partition; index < context.ring.partitionCount; index++) partitions.push(asPartitionIndex(index));
    return planCoverage({
      ring: context.ring,
      n: context.n,
      isAlive: (node) => this.host.isAlive(node),
      preferred: this.self,
      excluded,
      partitions,
    });
  }
}

/** One listing: its position, the nodes that failed it, and the pulling of pages. */
class Listing implements KeyListing {
  private position: Position | undefined;
  private readonly excluded = new Set<NodeId>();
  private busy = false;

  constructor(
    private readonly lister: KeyLister,
    private readonly bucket: string,
    start: Position,
    private readonly partitionCount: number,
    private readonly pageKeysMax: number,
  ) {
    this.position = start;
  }

  /** The next page, or undefined when the listing is done. One page at a time: a second call while one is pending is a bug. */
  async nextPage(): Promise<KeyListPage | undefined> {
    if (this.position === undefined) return undefined;
    if (this.busy)
      throw new EverwriteError('EVERWRITE_INTERNAL', 'a listing page was asked for while another was pending');
    this.busy = true;
    try {
      return await this.fillPage();
    } finally {
      this.busy = false;
    }
  }

  private async fillPage(): Promise<KeyListPage> {
    const keys: string[] = [];
    const missingPartitions: number[] = [];
    for (
      let trip = 0;
      trip < keyListingDefaults.roundTripsPerPageMax && this.position !== undefined && keys.length < this.pageKeysMax;
      trip++
    ) {
      await this.step(this.position, keys, missingPartitions);
      if (missingPartitions.length > 0) break;
    }
    return {
      keys,
      missingPartitions,
      cursor: this.position === undefined ? undefined : encodeKeyListCursor(this.position),
    };
  }

  /** One round trip from `position`: keys appended, the position advanced (or a node excluded for the next try). */
  private async step(position: Position, keys: string[], missingPartitions: number[]): Promise<void> {
    const plan = this.lister.planFrom(this.bucket, position.partition, this.excluded);
    const first = plan.assignments[0];
    if (first === undefined) {
      this.position = undefined;
      return;
    }
    const node = first.node;
    if (node === undefined) {
      missingPartitions.push(first.partition);
      this.advanceTo(first.partition + 1);
      return;
    }
    const run = runOf(plan.assignments, node);
    const reply = await this.lister.askPage(node, {
      bucket: this.bucket,
      partitions: run,
      after: position.after,
      keysMax: this.pageKeysMax - keys.length,
    });
    if (reply === undefined || !reply.ok || !progresses(position, run, reply)) {
      this.excluded.add(node);
      return;
    }
    for (const key of reply.keys) keys.push(decodeKey(key));
    if (reply.next === undefined) this.advanceTo((run[run.length - 1] as number) + 1);
    else this.position = { partition: reply.next.partition, after: reply.next.after.slice() };
  }

  /** Moves to the start of `partition`; past the last partition the listing is done. */
  private advanceTo(partition: number): void {
    this.position = partition < this.partitionCount ? { partition, after: new Uint8Array(0) } : undefined;
  }
}

/** The partitions from the first assignment on that go to the same node, up to the first that does not. */
function runOf(
  assignments: ReadonlyArray<{ readonly partition: number; readonly node: NodeId | undefined }>,
  node: NodeId,
): number[] {
  const run: number[] = [];
  for (const entry of assignments) {
    if (entry.node !== node) break;
    run.push(entry.partition);
  }
  return run;
}

/**
 * A reply must move the listing forward and stay inside what was asked: a `next` within the run, and
 * past the cursor when in the same partition. Anything else is a replica's bug or a hostile peer,
 * and trusting it could list keys twice or never end.
 */
function progresses(position: Position, run: readonly number[], reply: KeyListReply): boolean {
  const next = reply.next;
  if (next === undefined) return true;
  if (!run.includes(next.partition)) return false;
  return next.partition !== position.partition || compareBytes(next.after, position.after) > 0;
}

function decodeKey(key: Uint8Array): string {
  try {
    return decodeName(key);
  } catch {
    // Keys are written as UTF-8 (both front ends refuse others); a damaged one is shown, not dropped.
    return Buffer.from(key).toString('utf8');
  }
}
