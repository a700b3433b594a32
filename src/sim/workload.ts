// Why: the workloads that expose lost writes. (a) set-add on a few hot keys: read, add a unique
// element, write back with the read's context, merging siblings by union — Jepsen's Riak test, where
// last-writer-wins lost most acknowledged writes and siblings lost none. (b) blind writes of fresh
// keys. (c) deletes with the context of a read, mixed in. Clients are simulated: each runs one
// operation at a time against a random node, with think time between, and gives up on a request
// after a client-side timeout (the write may still land: indeterminate).
import type { Prng } from '../core/base/prng.ts';
import { utf8Decode, utf8Encode } from '../core/base/bytes.ts';
import type { GetResult } from '../runtime/service.ts';
import type { ClientReply, Cluster } from './cluster.ts';
import type { SimConfig } from './config.ts';
import { History, type WriteStatus } from './history.ts';
import { formatElements, parseElements } from './elements.ts';
import { worldOwner, type SimScheduler } from './scheduler.ts';

export const simBucket = 'sim';
const contentType = 'text/plain';

type OperationKind = 'setAdd' | 'uniqueWrite' | 'remove' | 'read';

/** What a read returned, decoded. */
interface Decoded {
  readonly elements: Set<number>;
  readonly siblings: number;
  readonly garbage: number;
}

function decodeGet(result: GetResult): Decoded {
  const elements = new Set<number>();
  let garbage = 0;
  for (const sibling of result.siblings) {
    if (sibling.deleted) continue;
    let parsed: number[] | undefined;
    try {
      parsed = parseElements(utf8Decode(sibling.value));
    } catch {
      parsed = undefined;
    }
    if (parsed === undefined) garbage += 1;
    else for (const element of parsed) elements.add(element);
  }
  return { elements, siblings: result.siblings.length, garbage };
}

function writeStatus(reply: ClientReply): WriteStatus {
  if (reply.status === 'ok') return 'ok';
  if (reply.status === 'unavailable') return 'failed';
  return 'indeterminate';
}

export class Workload {
  readonly history = new History();
  private issued = 0;
  private outstanding = 0;
  private stopped = false;
  /** Client operations that ended in each way, for the report. */
  readonly outcomes = { ok: 0, error: 0, unavailable: 0, timeout: 0 };

  constructor(
    private readonly cluster: Cluster,
    private readonly scheduler: SimScheduler,
    private readonly prng: Prng,
    private readonly config: SimConfig,
    /** How long a client waits for any reply before giving up, in ms. */
    private readonly clientTimeoutMs: number,
  ) {}

  /** Every operation was issued and has ended (replied or timed out). */
  get finished(): boolean {
    return (this.stopped || this.issued >= this.config.ops) && this.outstanding === 0;
  }

  get settled(): boolean {
    return this.outstanding === 0;
  }

  start(): void {
    for (let client = 0; client < this.config.clients; client++) {
      this.scheduler.schedule(this.prng.nextFloat() * 10, worldOwner, `client ${client} start`, () =>
        this.next(client),
      );
    }
  }

  /** No new operations from now on; those in flight still end. */
  stop(): void {
    this.stopped = true;
  }

  private next(client: number): void {
    if (this.stopped || this.issued >= this.config.ops) return;
    this.issued += 1;
    const done = (): void => {
      const thinkMs = this.prng.nextFloat() * this.config.thinkMsMax;
      this.scheduler.schedule(thinkMs, worldOwner, `client ${client} think`, () => this.next(client));
    };
    const kind = this.pickKind();
    if (kind === 'uniqueWrite') this.uniqueWrite(client, done);
    else if (kind === 'setAdd') this.setAdd(client, done);
    else if (kind === 'remove') this.remove(client, done);
    else this.readOnly(client, done);
  }

  private pickKind(): OperationKind {
    const { mix } = this.config;
    const total = mix.setAdd + mix.uniqueWrite + mix.remove + mix.read;
    let ticket = this.prng.nextFloat() * total;
    for (const kind of ['setAdd', 'uniqueWrite', 'remove', 'read'] as const) {
      ticket -= mix[kind];
      if (ticket < 0) return kind;
    }
    return 'setAdd';
  }

  private hotKey(): string {
    return `hot-${this.prng.nextInt(this.config.hotKeys)}`;
  }

  private pickNode(): (typeof this.cluster.nodes)[number]['id'] {
    return this.prng.pick(this.cluster.nodes).id;
  }

  /** One request with a client-side timeout; `done` gets exactly one reply. */
  private request(
    label: string,
    call: Parameters<Cluster['call']>[2],
    done: (reply: ClientReply | 'timeout') => void,
  ): void {
    this.outstanding += 1;
    let settled = false;
    const settle = (reply: ClientReply | 'timeout'): void => {
      if (settled) return;
      settled = true;
      this.outstanding -= 1;
      timeout.cancel();
      if (reply === 'timeout') this.outcomes.timeout += 1;
      else this.outcomes[reply.status] += 1;
      this.scheduler.note(
        `${label} -> ${reply === 'timeout' ? 'timeout' : reply.status === 'error' ? reply.code : reply.status}`,
      );
      done(reply);
    };
    const timeout = this.scheduler.schedule(this.clientTimeoutMs, worldOwner, `client timeout ${label}`, () =>
      settle('timeout'),
    );
    this.cluster.call(this.pickNode(), label, call, settle);
  }

  private observe(key: string, invokedMs: number, result: GetResult, final: boolean): Decoded {
    const decoded = decodeGet(result);
    this.history.reads.push({
      key,
      invokedMs,
      completedMs: this.scheduler.nowMs,
      elements: decoded.elements,
      siblings: decoded.siblings,
      garbage: decoded.garbage,
      final,
    });
    return decoded;
  }

  /** Reads `key`; calls `then` with the decoded answer and its context, or undefined if it failed. */
  private read(
    key: string,
    options: { r?: number },
    final: boolean,
    then: (read: (Decoded & { context: string }) | undefined) => void,
  ): void {
    const invokedMs = this.scheduler.nowMs;
    this.history.touchKey(key);
    this.request(
      `get ${key}`,
      (runtime) => runtime.get(simBucket, key, options),
      (reply) => {
        if (reply === 'timeout' || reply.status !== 'ok' || reply.get === undefined) {
          then(undefined);
          return;
        }
        then({ ...this.observe(key, invokedMs, reply.get, final), context: reply.get.context });
      },
    );
  }

  private write(
    key: string,
    elements: Iterable<number>,
    element: number,
    context: string | undefined,
    done: () => void,
  ): void {
    const carried = new Set(elements);
    const value = utf8Encode(formatElements(carried));
    const write = this.history.invokeWrite(element, key, this.scheduler.nowMs, carried);
    this.request(
      `put ${key} +${element}`,
      (runtime) =>
        runtime.put({ bucket: simBucket, key, value, contentType, ...(context === undefined ? {} : { context }) }),
      (reply) => {
        write.completedMs = this.scheduler.nowMs;
        write.status = reply === 'timeout' ? 'indeterminate' : writeStatus(reply);
        done();
      },
    );
  }

  private setAdd(_client: number, done: () => void): void {
    const key = this.hotKey();
    this.read(key, {}, false, (read) => {
      if (read === undefined) {
        done();
        return;
      }
      const element = this.history.nextElement();
      this.write(key, [...read.elements, element], element, read.context, done);
    });
  }

  private uniqueWrite(_client: number, done: () => void): void {
    const element = this.history.nextElement();
    this.write(`u-${element}`, [element], element, undefined, done);
  }

  private remove(_client: number, done: () => void): void {
    const key = this.hotKey();
    this.read(key, {}, false, (read) => {
      if (read === undefined || read.elements.size === 0) {
        done();
        return;
      }
      const record = this.history.invokeDelete(key, read.elements, this.scheduler.nowMs);
      this.request(
        `delete ${key}`,
        (runtime) => runtime.delete({ bucket: simBucket, key, context: read.context }),
        (reply) => {
          record.completedMs = this.scheduler.nowMs;
          record.status = reply === 'timeout' ? 'indeterminate' : writeStatus(reply);
          done();
        },
      );
    });
  }

  private readOnly(_client: number, done: () => void): void {
    this.read(this.hotKey(), {}, false, () => done());
  }

  /**
   * The liveness phase's read of every key, with R = N so every primary answers and read repair
   * sees them all. A failed read is retried (the cluster is healed; it should not fail).
   */
  finalRead(key: string, n: number, attemptsLeft: number, done: (ok: boolean) => void): void {
    this.read(key, { r: n }, true, (read) => {
      if (read !== undefined) {
        done(true);
      } else if (attemptsLeft <= 1) {
        done(false);
      } else {
        this.scheduler.schedule(500, worldOwner, `final read retry ${key}`, () =>
          this.finalRead(key, n, attemptsLeft - 1, done),
        );
      }
    });
  }
}
