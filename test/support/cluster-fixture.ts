// Why: the multi-process integration tests (test/integration) all need the same scaffolding: a
// LocalCluster of real `everwrite start` processes on ports the OS handed out (free-port.ts) and a fresh temp data
// directory, HTTP helpers that return status, headers and body in one value, polling with a
// deadline instead of fixed sleeps (and through a whole window to prove an absence; polling.ts),
// the nodes' output kept for failure messages, a record of any node that died without being told
// to, and a stop that always bounds itself and cleans up.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { binEnvironment } from '../../src/server/bin.ts';
import { LocalCluster, type LocalNode, type LocalNodePorts } from '../../src/server/local-cluster.ts';
import type { NodeCoreSettings } from '../../src/core/node/options.ts';
import { freePorts } from './free-port.ts';
import { eventually } from './polling.ts';

export { eventually, throughout } from './polling.ts';

export type EngineName = 'lmdb' | 'level' | 'memory';

export interface ClusterFixtureOptions {
  /** Prefix of the temp data directory (names the test in `ls /tmp`). */
  readonly name: string;
  readonly engine?: EngineName;
  readonly nodes?: number;
  /** Node core settings for every node, passed as `--settings-json`. */
  readonly settings?: Partial<NodeCoreSettings>;
  /** Ring partitions (default 256). */
  readonly partitions?: number;
  /** Zone and weight of node i at index i-1 (LocalClusterOptions). */
  readonly zones?: readonly string[];
  readonly weights?: readonly number[];
  /** Further `everwrite start` flags for every node (e.g. `--limits-json`). */
  readonly extraArguments?: readonly string[];
  /** Runs after the data directory exists and before any node starts (e.g. to mount a node's directory). */
  readonly beforeStart?: (fixture: ClusterFixture) => Promise<void>;
}

export interface KeyRequestOptions {
  readonly r?: number;
  readonly w?: number;
  readonly timeoutMs?: number;
  readonly context?: string;
  readonly contentType?: string;
  /** Bound on the whole HTTP exchange, in ms. Default 15000. */
  readonly fetchTimeoutMs?: number;
}

export interface Reply {
  readonly status: number;
  readonly headers: Headers;
  readonly body: Buffer;
  readonly elapsedMs: number;
  /** X-Everwrite-Context, when present and non-empty. */
  readonly context: string | undefined;
  readonly text: string;
  json<T = Record<string, unknown>>(): T;
}

export interface SiblingJson {
  readonly value?: string;
  readonly contentType?: string;
  readonly lastModified: string;
  readonly deleted?: boolean;
}

export interface SiblingsJson {
  readonly context: string;
  readonly siblings: readonly SiblingJson[];
}

const binPath = fileURLToPath(new URL('../../bin/everwrite.mjs', import.meta.url));
const outputTailBytesMax = 16 * 1024;
const fetchTimeoutMsDefault = 15_000;
const stopGraceMs = 5000;

/** Every child any fixture spawned, so a runner dying mid-test does not leave nodes behind. */
const liveChildren = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of liveChildren) child.kill('SIGKILL');
});

/** Tracks a spawned node process: keeps its output's tail and forgets it when it exits. */
export function watchChild(
  child: ChildProcess,
  onOutput: (text: string) => void,
  onExit: (description: string) => void,
): void {
  liveChildren.add(child);
  child.stdout?.on('data', (chunk: Buffer) => onOutput(chunk.toString('utf8')));
  child.stderr?.on('data', (chunk: Buffer) => onOutput(chunk.toString('utf8')));
  child.once('exit', (code, signal) => {
    liveChildren.delete(child);
    onExit(signal === null ? `exit code ${code}` : `signal ${signal}`);
  });
}

/** Sends `signal` (SIGKILL unless told) to one child by its PID and waits, bounded, for it to exit. */
export async function killChild(
  child: ChildProcess,
  signal: NodeJS.Signals = 'SIGKILL',
  waitMs = stopGraceMs,
): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return true;
  const exited = new Promise<boolean>((resolve) => child.once('exit', () => resolve(true)));
  child.kill(signal);
  return Promise.race([exited, sleep(waitMs, false, { ref: false })]);
}

const portOf = (address: string): number => Number(address.slice(address.lastIndexOf(':') + 1));

function keyPath(bucket: string, key: string): string {
  return `/buckets/${encodeURIComponent(bucket)}/keys/${encodeURIComponent(key)}`;
}

/**
 * timeout_ms of a key request that names none. The node's default (2 s) is tight for a two-core
 * machine running several clusters at once; a test that is about timeouts passes its own.
 */
const requestTimeoutMsDefault = 10_000;

function queryOf(options: KeyRequestOptions): string {
  const parameters = new URLSearchParams();
  if (options.r !== undefined) parameters.set('r', String(options.r));
  if (options.w !== undefined) parameters.set('w', String(options.w));
  parameters.set('timeout_ms', String(options.timeoutMs ?? requestTimeoutMsDefault));
  return `?${parameters.toString()}`;
}

/** One HTTP exchange, bounded in time, read to the end. */
export async function request(url: string, init: RequestInit & { fetchTimeoutMs?: number } = {}): Promise<Reply> {
  const started = performance.now();
  const { fetchTimeoutMs, ...rest } = init;
  const response = await fetch(url, { ...rest, signal: AbortSignal.timeout(fetchTimeoutMs ?? fetchTimeoutMsDefault) });
  const body = Buffer.from(await response.arrayBuffer());
  const elapsedMs = performance.now() - started;
  const context = response.headers.get('x-everwrite-context') ?? '';
  const text = body.toString('utf8');
  return {
    status: response.status,
    headers: response.headers,
    body,
    elapsedMs,
    context: context === '' ? undefined : context,
    text,
    json<T>() {
      return JSON.parse(text) as T;
    },
  };
}

/** Peer, HTTP and RESP ports for each of `nodes` nodes, all handed out by the OS in one call (so all distinct). */
export async function nodePortsFromTheOs(nodes: number): Promise<LocalNodePorts[]> {
  const ports = await freePorts(3 * nodes);
  return Array.from({ length: nodes }, (_, offset) => ({
    peer: ports[3 * offset] as number,
    http: ports[3 * offset + 1] as number,
    resp: ports[3 * offset + 2] as number,
  }));
}

export class ClusterFixture {
  readonly cluster: LocalCluster;
  readonly dataDirectory: string;
  private readonly outputs = new Map<string, string>();
  private readonly expectedExits = new Set<ChildProcess>();
  private readonly crashes: string[] = [];
  private probeCount = 0;

  private constructor(
    readonly options: ClusterFixtureOptions,
    nodePorts: readonly LocalNodePorts[],
  ) {
    this.dataDirectory = mkdtempSync(join(tmpdir(), `everwrite-${options.name}-`));
    const settings = options.settings === undefined ? [] : ['--settings-json', JSON.stringify(options.settings)];
    this.cluster = new LocalCluster({
      nodes: options.nodes ?? 3,
      dataDirectory: this.dataDirectory,
      engine: options.engine ?? 'lmdb',
      nodePorts,
      output: 'pipe',
      logLevel: 'warn',
      readyTimeoutMs: 30_000,
      extraArguments: [...settings, ...(options.extraArguments ?? [])],
      ...(options.partitions === undefined ? {} : { partitions: options.partitions }),
      ...(options.zones === undefined ? {} : { zones: options.zones }),
      ...(options.weights === undefined ? {} : { weights: options.weights }),
      onSpawn: (node, child) => this.watch(node, child),
    });
  }

  /** Creates the fixture and starts every node; on a failed start it cleans up before throwing. */
  static async start(options: ClusterFixtureOptions): Promise<ClusterFixture> {
    const fixture = new ClusterFixture(options, await nodePortsFromTheOs(options.nodes ?? 3));
    try {
      await options.beforeStart?.(fixture);
      await fixture.cluster.start();
      await fixture.allSeeAllUp();
    } catch (error) {
      const logs = fixture.logs();
      await fixture.stop();
      throw new Error(`cluster ${options.name} did not start: ${String(error)}\n${logs}`);
    }
    return fixture;
  }

  private watch(node: LocalNode, child: ChildProcess): void {
    this.outputs.set(node.id, `${this.outputs.get(node.id) ?? ''}--- ${node.id} pid ${child.pid} spawned\n`);
    watchChild(
      child,
      (text) => {
        const kept = `${this.outputs.get(node.id) ?? ''}${text}`;
        this.outputs.set(node.id, kept.length > outputTailBytesMax ? kept.slice(-outputTailBytesMax) : kept);
      },
      (description) => {
        this.outputs.set(
          node.id,
          `${this.outputs.get(node.id) ?? ''}--- ${node.id} pid ${child.pid} ended: ${description}\n`,
        );
        if (!this.expectedExits.has(child))
          this.crashes.push(`${node.id} (pid ${child.pid}) died unexpectedly: ${description}`);
      },
    );
  }

  url(index: number): string {
    return this.cluster.node(index).httpUrl;
  }

  peerPort(index: number): number {
    return portOf(this.cluster.node(index).peerAddress);
  }

  httpPort(index: number): number {
    return portOf(this.cluster.node(index).httpUrl);
  }

  respPort(index: number): number {
    return portOf(this.cluster.node(index).respAddress);
  }

  pid(index: number): number | undefined {
    return this.cluster.node(index).process?.pid;
  }

  put(
    index: number,
    bucket: string,
    key: string,
    value: string | Uint8Array,
    options: KeyRequestOptions = {},
  ): Promise<Reply> {
    const headers: Record<string, string> = { 'content-type': options.contentType ?? 'text/plain' };
    if (options.context !== undefined) headers['x-everwrite-context'] = options.context;
    const body = typeof value === 'string' ? value : Buffer.from(value);
    return request(`${this.url(index)}${keyPath(bucket, key)}${queryOf(options)}`, {
      method: 'PUT',
      headers,
      body,
      ...this.bound(options),
    });
  }

  get(index: number, bucket: string, key: string, options: KeyRequestOptions = {}): Promise<Reply> {
    return request(`${this.url(index)}${keyPath(bucket, key)}${queryOf(options)}`, this.bound(options));
  }

  delete(index: number, bucket: string, key: string, options: KeyRequestOptions = {}): Promise<Reply> {
    const headers: Record<string, string> =
      options.context === undefined ? {} : { 'x-everwrite-context': options.context };
    return request(`${this.url(index)}${keyPath(bucket, key)}${queryOf(options)}`, {
      method: 'DELETE',
      headers,
      ...this.bound(options),
    });
  }

  /** This node's own replica of the key (`/admin/local`): 200 with siblings JSON, or 404. */
  local(index: number, bucket: string, key: string): Promise<Reply> {
    return request(`${this.url(index)}/admin/local${keyPath(bucket, key)}`);
  }

  /** The value node `index` holds locally as its only live sibling, or undefined. */
  async localValue(index: number, bucket: string, key: string): Promise<string | undefined> {
    const reply = await this.local(index, bucket, key);
    if (reply.status !== 200) return undefined;
    const siblings = reply.json<SiblingsJson>().siblings.filter((sibling) => sibling.deleted !== true);
    return siblings.length === 1 ? Buffer.from(siblings[0]?.value ?? '', 'base64').toString('utf8') : undefined;
  }

  /** What node `index` believes about `member` (up/suspect/down), from /admin/status. */
  async memberState(index: number, member: string): Promise<string | undefined> {
    const reply = await request(`${this.url(index)}/admin/status`);
    const status = reply.json<{ members: { id: string; state: string }[] }>();
    return status.members.find((entry) => entry.id === member)?.state;
  }

  /**
   * Makes node `coordinator` count the (killed) node `down` as down: a W=2 probe write it
   * coordinates cannot reach `down`, so at the probe's deadline it marks `down` for its
   * downBackoffMs. Meant for the 3-node, N=3 layout, where every node coordinates every key. Checks
   * that no live node was marked down along with it (a stalled machine could make one miss the
   * probe's deadline).
   */
  async makeCoordinatorSeeDown(coordinator: number, down: number): Promise<void> {
    this.probeCount += 1;
    const probe = await this.put(coordinator, 'probe', `probe-${coordinator}-${this.probeCount}`, 'probe', {
      w: 2,
      timeoutMs: 1000,
    });
    if (probe.status !== 204) throw new Error(`probe write through n${coordinator}: ${probe.status} ${probe.text}`);
    const downId = this.cluster.node(down).id;
    await eventually(
      `n${coordinator} to count ${downId} as down`,
      async () => ((await this.memberState(coordinator, downId)) === 'down' ? true : undefined),
      { timeoutMs: 10_000 },
    );
    for (const node of this.cluster.nodes) {
      if (node.index === coordinator || node.index === down || node.process === undefined) continue;
      const state = await this.memberState(coordinator, node.id);
      if (state !== 'up')
        throw new Error(`n${coordinator} counts the live ${node.id} as ${String(state)} after the probe`);
    }
  }

  private bound(options: KeyRequestOptions): { fetchTimeoutMs?: number } {
    return options.fetchTimeoutMs === undefined ? {} : { fetchTimeoutMs: options.fetchTimeoutMs };
  }

  /** `kill -9` of node `index`, by its PID, waiting until it is gone. */
  async kill(index: number): Promise<void> {
    const child = this.cluster.node(index).process;
    if (child !== undefined) this.expectedExits.add(child);
    await this.cluster.stopNode(index, 'SIGKILL');
  }

  /** A clean stop of node `index` (SIGTERM: it marks the clean stop, so its next boot keeps its epoch). */
  async stopCleanly(index: number): Promise<void> {
    const child = this.cluster.node(index).process;
    if (child !== undefined) this.expectedExits.add(child);
    await this.cluster.stopNode(index, 'SIGTERM');
  }

  /** `kill -9` of every node at once. */
  async killAll(): Promise<void> {
    await Promise.all(this.cluster.nodes.map((node) => this.kill(node.index)));
  }

  /**
   * Runs `fault` (e.g. cutting every node's disk) and then `kill -9`s every node. Each node's exit is
   * expected from before the fault on: one that dies of the fault first is not a crash.
   */
  async killAllAfter(fault: () => Promise<void>): Promise<void> {
    for (const node of this.cluster.nodes) if (node.process !== undefined) this.expectedExits.add(node.process);
    await fault();
    await this.killAll();
  }

  /**
   * Starts node `index` again on its data directory and waits until it answers /health and every
   * other running node shows it up: the others may hold it down from before (SWIM, decision 0014)
   * until it refutes, which takes a round trip or a protocol period.
   */
  async restart(index: number): Promise<void> {
    await this.cluster.startNode(index);
    await this.seenUpByAll(index);
  }

  /**
   * Waits until every node shows every other member up and heard from: then every node has had a
   * liveness message from every other (SWIM, decision 0014), so the links between them are connected. Nodes that start one after
   * another probe peers that are not listening yet, and a link that failed waits out a reconnect
   * back-off; a test's first write must not be the one that waits.
   */
  async allSeeAllUp(timeoutMs = 30_000): Promise<void> {
    await eventually(
      'every node to show every member up',
      async () => {
        for (const node of this.cluster.nodes) {
          const status = (await request(`${this.url(node.index)}/admin/status`, { fetchTimeoutMs: 5000 })).json<{
            id: string;
            members: { id: string; state: string; lastHeardAgoMs?: number }[];
          }>();
          // Heard from: every member starts `up` before any contact, so the state alone proves nothing.
          if (
            status.members.some(
              (member) => member.id !== status.id && (member.state !== 'up' || member.lastHeardAgoMs === undefined),
            )
          )
            return undefined;
        }
        return true;
      },
      { timeoutMs },
    );
  }

  /** Waits until every running node's /admin/status shows node `index` up. */
  async seenUpByAll(index: number, timeoutMs = 30_000): Promise<void> {
    const id = this.cluster.node(index).id;
    await eventually(
      `every running node to show ${id} up`,
      async () => {
        for (const node of this.cluster.nodes) {
          if (node.index === index || node.process === undefined) continue;
          if ((await this.memberState(node.index, id)) !== 'up') return undefined;
        }
        return true;
      },
      { timeoutMs },
    );
  }

  async restartAll(): Promise<void> {
    await this.cluster.start();
  }

  /** Fails (with the nodes' output) when any node died without the test killing it. */
  assertNoCrashes(): void {
    if (this.crashes.length > 0) throw new Error(`${this.crashes.join('; ')}\n${this.logs()}`);
  }

  /** The tail of every node's output, for failure messages. */
  logs(): string {
    return [...this.outputs].map(([id, text]) => `===== ${id} =====\n${text}`).join('\n');
  }

  /** Stops every node (SIGTERM, then SIGKILL past a grace period) and removes the data. Never throws. */
  async stop(): Promise<void> {
    const children = this.cluster.nodes
      .map((node) => node.process)
      .filter((child): child is ChildProcess => child !== undefined);
    for (const child of children) this.expectedExits.add(child);
    const stopped = await Promise.all(children.map((child) => killChild(child, 'SIGTERM')));
    await Promise.all(
      children.filter((_, position) => stopped[position] !== true).map((child) => killChild(child, 'SIGKILL')),
    );
    rmSync(this.dataDirectory, { recursive: true, force: true });
  }
}

export interface LoneNodeOptions {
  readonly id: string;
  readonly peerPort: number;
  readonly httpPort: number;
  readonly dataDirectory: string;
  /** Every member as id@host:port, this node included. */
  readonly seeds: string;
  readonly secretFile?: string;
  /** Environment for the child, on top of this process's minus any EVERWRITE_* variable. */
  readonly environment?: Readonly<Record<string, string>>;
  readonly engine?: EngineName;
  /** More `everwrite start` flags (e.g. --partitions, --settings-json). */
  readonly extraArguments?: readonly string[];
}

/**
 * One `everwrite start` outside any LocalCluster: for processes the cluster did not invite (an
 * intruder with another secret, a node configured through the environment). Its output is kept.
 */
export class LoneNode {
  readonly child: ChildProcess;
  readonly url: string;
  private output = '';
  exitDescription: string | undefined;

  constructor(readonly options: LoneNodeOptions) {
    this.url = `http://127.0.0.1:${options.httpPort}`;
    const args = [
      binPath,
      'start',
      '--node-id',
      options.id,
      '--listen',
      `127.0.0.1:${options.peerPort}`,
      '--http',
      `127.0.0.1:${options.httpPort}`,
      '--data',
      options.dataDirectory,
      '--seeds',
      options.seeds,
      '--engine',
      options.engine ?? 'lmdb',
      '--log-level',
      'warn',
    ];
    if (options.secretFile !== undefined) args.push('--secret-file', options.secretFile);
    args.push(...(options.extraArguments ?? []));
    const environment: Record<string, string | undefined> = { ...process.env };
    for (const name of Object.keys(environment)) if (name.startsWith('EVERWRITE_')) delete environment[name];
    // binEnvironment puts back EVERWRITE_FROM_SOURCE, so the node runs these sources, never dist/.
    this.child = spawn(process.execPath, args, {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: binEnvironment({ ...environment, ...options.environment }),
    });
    watchChild(
      this.child,
      (text) => {
        this.output = `${this.output}${text}`.slice(-outputTailBytesMax);
      },
      (description) => {
        this.exitDescription = description;
      },
    );
  }

  logs(): string {
    return `===== ${this.options.id} (pid ${this.child.pid}${this.exitDescription === undefined ? '' : `, ${this.exitDescription}`}) =====\n${this.output}`;
  }

  /** Waits until the node answers /health; throws (with its output) if it exits or takes too long. */
  async waitReady(timeoutMs = 30_000): Promise<void> {
    const outcome = await eventually(
      `${this.options.id} to answer /health`,
      async () => {
        if (this.exitDescription !== undefined) return 'exited';
        const reply = await request(`${this.url}/health`, { fetchTimeoutMs: 1000 });
        return reply.status === 200 ? 'ready' : undefined;
      },
      { timeoutMs },
    );
    if (outcome === 'exited') throw new Error(`${this.options.id} exited while starting\n${this.logs()}`);
  }

  /** Waits (bounded) until the process exits by itself; returns how it ended. */
  async waitExit(timeoutMs: number): Promise<string> {
    return eventually(`${this.options.id} to exit`, async () => this.exitDescription, { timeoutMs });
  }

  /** SIGKILL by PID. */
  async kill(): Promise<void> {
    await killChild(this.child, 'SIGKILL');
  }
}
