// Why: the paper's partition-aware client (section 6.4) saves the forwarding hop by computing, for
// each key, the nodes that hold it and sending the request straight to the first of them. That
// needs three things the nodes know and the client does not: the ring (GET /admin/ring from a
// random node, again every ringRefreshMs), which configured URL is which member (each node's
// /admin/status names itself, since the ring only knows ids and peer addresses) and each bucket's N
// (GET /buckets/{b}/props, cached). Placement is computed exactly as a node computes it: the same
// MD5 function of the bucket and key, through the ring module's keyHash and preferenceList.
// Staleness is harmless: a node that is not a primary of the key forwards the request itself.

// The digest the nodes place keys with: the very function src/server/start-node.ts passes to the
// ring (RFC 1321 MD5, property-tested against node:crypto's), so placement cannot drift.
import { md5 } from '../core/base/md5.ts';
import { keyHash, preferenceList, ringFromJSON, type Ring } from '../core/ring/index.ts';
import type { NodeSet } from './node-set.ts';

/** Fetches a JSON document from one configured node; rejects on any failure. */
export type JsonFetcher = (nodeIndex: number, path: string) => Promise<unknown>;

/** N assumed for a bucket whose props have not been read yet: the default bucket props' N (docs/API.md). */
const replicasDefault = 3;
/** Buckets whose N is cached; past this, the oldest entry is dropped (bounded memory for apps with many buckets). */
export const cachedBucketsMax = 1024;

interface CachedReplicas {
  readonly n: number;
  readonly fetchedAtMs: number;
}

export interface KeyRoute {
  /** Node indexes of the key's primaries that have a known URL, in preference-list order. */
  readonly primaries: readonly number[];
}

export interface RingViewStats {
  readonly ringRefreshes: number;
  readonly ringRefreshFailures: number;
  readonly ringVersion: number | undefined;
  /** Members of the ring the client has an HTTP URL for. */
  readonly membersMapped: number;
}

export class RingView {
  private ring: Ring | undefined;
  /** Member id -> index of the configured node that said it is that member. */
  private readonly nodeIndexById = new Map<string, number>();
  private readonly replicas = new Map<string, CachedReplicas>();
  private readonly replicasLoading = new Set<string>();
  private refreshing: Promise<void> | undefined;
  private firstRefresh: Promise<void> | undefined;
  private timer: ReturnType<typeof setInterval> | undefined;
  private closed = false;
  private refreshes = 0;
  private refreshFailures = 0;

  constructor(
    private readonly nodes: NodeSet,
    private readonly fetchJson: JsonFetcher,
    private readonly refreshMs: number,
    private readonly nowMs: () => number = () => performance.now(),
  ) {}

  /** Starts the periodic refresh on first use; resolves once the first refresh has succeeded or failed. */
  ready(): Promise<void> {
    if (this.firstRefresh === undefined && !this.closed) {
      this.firstRefresh = this.refresh();
      this.timer = setInterval(() => void this.refresh(), this.refreshMs);
      this.timer.unref();
    }
    return this.firstRefresh ?? Promise.resolve();
  }

  /** A refresh now (the first one, and the periodic refresh with it, if not started yet). Never rejects. */
  refreshNow(): Promise<void> {
    return this.firstRefresh === undefined ? this.ready() : this.refresh();
  }

  /** One refresh at a time; a call during a refresh joins it. Never rejects. */
  private refresh(): Promise<void> {
    this.refreshing ??= this.refreshOnce().finally(() => (this.refreshing = undefined));
    return this.refreshing;
  }

  private async refreshOnce(): Promise<void> {
    const [ring] = await Promise.all([this.fetchRing(), this.mapMembers()]);
    if (ring === undefined) {
      this.refreshFailures++;
      return;
    }
    // A node may still hold an older ring while a newer one spreads; never step back to it.
    if (this.ring === undefined || ring.version >= this.ring.version) this.ring = ring;
    this.refreshes++;
  }

  /** The ring from a random node, trying the others in random order if it fails. */
  private async fetchRing(): Promise<Ring | undefined> {
    const order = shuffled(Array.from({ length: this.nodes.size }, (_, index) => index));
    for (const index of order) {
      if (this.closed) return undefined;
      try {
        return ringFromJSON(await this.fetchJson(index, '/admin/ring'));
      } catch {
        // try the next node; a malformed ring counts as a failure of that node's answer
      }
    }
    return undefined;
  }

  /** Asks every configured node which member it is; a node that does not answer keeps its last mapping. */
  private async mapMembers(): Promise<void> {
    await Promise.all(
      this.nodes.urls.map(async (_, index) => {
        try {
          const status = await this.fetchJson(index, '/admin/status');
          const id = (status as { id?: unknown }).id;
          if (typeof id !== 'string' || id === '') return;
          for (const [knownId, knownIndex] of this.nodeIndexById)
            if (knownIndex === index && knownId !== id) this.nodeIndexById.delete(knownId);
          this.nodeIndexById.set(id, index);
        } catch {
          // unreachable now: keep what we knew
        }
      }),
    );
  }

  /** Where a key lives, or undefined when no ring has been fetched yet (route like the server then). */
  route(bucket: string, key: string): KeyRoute | undefined {
    const ring = this.ring;
    if (ring === undefined) return undefined;
    const entries = preferenceList(ring, keyHash(md5, bucket, key), { n: this.replicasOf(bucket) });
    const primaries: number[] = [];
    for (const entry of entries) {
      const index = this.nodeIndexById.get(entry.node);
      if (index !== undefined && !primaries.includes(index)) primaries.push(index);
    }
    return { primaries };
  }

  /** The bucket's N: cached, refreshed in the background once older than the ring refresh period. */
  private replicasOf(bucket: string): number {
    const cached = this.replicas.get(bucket);
    if (cached === undefined || this.nowMs() - cached.fetchedAtMs >= this.refreshMs) this.loadReplicas(bucket);
    return cached?.n ?? replicasDefault;
  }

  private loadReplicas(bucket: string): void {
    if (this.replicasLoading.has(bucket) || this.closed) return;
    const index = this.nodes.next();
    if (index === undefined) return;
    this.replicasLoading.add(bucket);
    this.fetchJson(index, `/buckets/${encodeURIComponent(bucket)}/props`)
      .then((props) => {
        const n = (props as { n?: unknown }).n;
        if (typeof n === 'number' && Number.isInteger(n) && n >= 1) this.rememberReplicas(bucket, n);
      })
      .catch(() => {
        // keep the stale or default N; the next use tries again
      })
      .finally(() => this.replicasLoading.delete(bucket));
  }

  /** Records a bucket's N (also called when this client changed the bucket's props). */
  rememberReplicas(bucket: string, n: number): void {
    this.replicas.delete(bucket);
    if (this.replicas.size >= cachedBucketsMax) this.replicas.delete(this.replicas.keys().next().value!);
    this.replicas.set(bucket, { n, fetchedAtMs: this.nowMs() });
  }

  stats(): RingViewStats {
    return {
      ringRefreshes: this.refreshes,
      ringRefreshFailures: this.refreshFailures,
      ringVersion: this.ring?.version,
      membersMapped:
        this.ring === undefined ? 0 : this.ring.members.filter((member) => this.nodeIndexById.has(member.id)).length,
    };
  }

  close(): void {
    this.closed = true;
    if (this.timer !== undefined) clearInterval(this.timer);
  }
}

function shuffled<T>(items: T[]): T[] {
  for (let index = items.length - 1; index > 0; index--) {
    const other = Math.floor(Math.random() * (index + 1));
    [items[index], items[other]] = [items[other]!, items[index]!];
  }
  return items;
}
