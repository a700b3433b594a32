// Why: the client side of a chaos run, through the public HTTP API only. Set-add on a few hot keys
// is Jepsen's Riak test: read, union the siblings' element sets, add one unique element, write back
// with the read's context; an acknowledged element must survive every fault. Unique-key blind
// writes add many keys with no causal context at all. Every request is bounded twice: the server's
// timeout_ms and a client-side abort a little later (a paused node never answers). Requests go to
// the members of the moment: a request to a node that has just left is simply not acknowledged.
import type { Prng } from '../core/base/prng.ts';
import { asSiblingsJson, contextHeaderKey, readContextHeader } from '../core/protocol/http-contract.ts';
import type { ElementWrite, History } from '../sim/history.ts';
import { formatElements, parseElements } from '../sim/elements.ts';
import type { ChaosNode } from './nodes.ts';

export const bucket = 'chaos';
export type Phase = 'before' | 'during' | 'after';

export interface OpSample {
  readonly phase: Phase;
  readonly latencyMs: number;
  readonly accepted: boolean;
  /** At least one node was running and not paused when the operation began. */
  readonly reachable: boolean;
  /** The node the operation was sent to was running and not paused when it began. */
  readonly targetReachable: boolean;
}

export interface KeyRead {
  readonly invokedMs: number;
  readonly completedMs: number;
  readonly status: number;
  readonly context: string | undefined;
  readonly elements: Set<number>;
  readonly siblings: number;
  readonly garbage: number;
}

export interface WorkloadOptions {
  readonly hotKeys: number;
  readonly setClients: number;
  readonly uniqueClients: number;
  readonly requestTimeoutMs: number;
}

function keyUrl(node: ChaosNode, key: string, query: string): string {
  return `${node.url}/buckets/${bucket}/keys/${encodeURIComponent(key)}?${query}`;
}

function decodeValues(values: readonly string[], read: { elements: Set<number>; garbage: number }): void {
  for (const value of values) {
    const elements = parseElements(value);
    if (elements === undefined) read.garbage += 1;
    else for (const element of elements) read.elements.add(element);
  }
}

/** GET one key through one node; status 0 when the request failed or timed out. */
export async function readKey(node: ChaosNode, key: string, timeoutMs: number, query = ''): Promise<KeyRead> {
  const read = {
    invokedMs: performance.now(),
    completedMs: 0,
    status: 0,
    context: undefined as string | undefined,
    elements: new Set<number>(),
    siblings: 0,
    garbage: 0,
  };
  try {
    const response = await fetch(keyUrl(node, key, `timeout_ms=${timeoutMs}${query}`), {
      signal: AbortSignal.timeout(timeoutMs + 1500),
    });
    const body = await response.text();
    read.status = response.status;
    read.context = readContextHeader(response.headers.get(contextHeaderKey) ?? undefined);
    if (response.status === 200) {
      read.siblings = 1;
      decodeValues([body], read);
    } else if (response.status === 300) {
      const siblings = asSiblingsJson(JSON.parse(body))?.siblings ?? [];
      read.siblings = siblings.length;
      decodeValues(
        siblings.flatMap((sibling) =>
          'deleted' in sibling ? [] : [Buffer.from(sibling.value, 'base64').toString('utf8')],
        ),
        read,
      );
    }
  } catch {
    read.status = 0;
  }
  read.completedMs = performance.now();
  return read;
}

/** PUT; true only on 204 (an acknowledgement). */
export async function writeKey(
  node: ChaosNode,
  key: string,
  value: string,
  context: string | undefined,
  timeoutMs: number,
): Promise<boolean> {
  try {
    const headers: Record<string, string> = { 'content-type': 'text/plain' };
    if (context !== undefined) headers[contextHeaderKey] = context;
    const response = await fetch(keyUrl(node, key, `timeout_ms=${timeoutMs}`), {
      method: 'PUT',
      body: value,
      headers,
      signal: AbortSignal.timeout(timeoutMs + 1500),
    });
    await response.arrayBuffer();
    return response.status === 204;
  } catch {
    return false;
  }
}

export function recordRead(history: History, key: string, read: KeyRead, final: boolean): void {
  if (read.status !== 200 && read.status !== 300 && read.status !== 404) return;
  history.reads.push({
    key,
    invokedMs: read.invokedMs,
    completedMs: read.completedMs,
    elements: read.elements,
    garbage: read.garbage,
    siblings: read.siblings,
    final,
  });
}

/** A write of `key` begins now, carrying `carried` (the new element among them): the simulator's history shape. */
function invokeWrite(history: History, key: string, carried?: (element: number) => ReadonlySet<number>): ElementWrite {
  const element = history.nextElement();
  return history.invokeWrite(element, key, performance.now(), carried?.(element));
}

/** The write ended: acknowledged, or it may or may not have landed. */
function complete(write: ElementWrite, acknowledged: boolean): void {
  write.completedMs = performance.now();
  write.status = acknowledged ? 'ok' : 'indeterminate';
}

export class Workload {
  phase: Phase = 'before';
  readonly samples: OpSample[] = [];
  private running = false;
  private loops: Promise<void>[] = [];

  constructor(
    /** The nodes to send requests to: the members at the time (the membership nemesis changes them). */
    private readonly members: () => readonly ChaosNode[],
    private readonly history: History,
    private readonly prng: Prng,
    private readonly options: WorkloadOptions,
  ) {}

  hotKey(index: number): string {
    return `set-${index}`;
  }

  start(): void {
    this.running = true;
    for (let client = 0; client < this.options.setClients; client++)
      this.loops.push(this.loop((node) => this.setAdd(node, this.hotKey(client % this.options.hotKeys))));
    for (let client = 0; client < this.options.uniqueClients; client++) {
      let sequence = 0;
      this.loops.push(this.loop((node) => this.uniqueWrite(node, `u-${client}-${sequence++}`)));
    }
  }

  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.loops);
    this.loops = [];
  }

  private pickNode(): ChaosNode {
    const members = this.members();
    return members[this.prng.nextInt(members.length)] as ChaosNode;
  }

  private anyReachable(): boolean {
    return this.members().some((node) => node.process !== undefined && !node.paused);
  }

  private async loop(operation: (node: ChaosNode) => Promise<boolean>): Promise<void> {
    while (this.running) {
      const phase = this.phase;
      const reachable = this.anyReachable();
      const node = this.pickNode();
      const targetReachable = node.process !== undefined && !node.paused;
      const started = performance.now();
      const accepted = await operation(node);
      this.samples.push({ phase, reachable, targetReachable, accepted, latencyMs: performance.now() - started });
      if (!accepted) await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  private async setAdd(node: ChaosNode, key: string): Promise<boolean> {
    const read = await readKey(node, key, this.options.requestTimeoutMs);
    recordRead(this.history, key, read, false);
    if (read.status !== 200 && read.status !== 300 && read.status !== 404) return false;
    const write = invokeWrite(this.history, key, (element) => new Set(read.elements).add(element));
    const acknowledged = await writeKey(
      node,
      key,
      formatElements(write.carried),
      read.context,
      this.options.requestTimeoutMs,
    );
    complete(write, acknowledged);
    return acknowledged;
  }

  private async uniqueWrite(node: ChaosNode, key: string): Promise<boolean> {
    const write = invokeWrite(this.history, key);
    const acknowledged = await writeKey(node, key, String(write.element), undefined, this.options.requestTimeoutMs);
    complete(write, acknowledged);
    return acknowledged;
  }
}
