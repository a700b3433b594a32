// Why: more than one benchmark runs ONE real `everwrite start` process (a one-node cluster, n = r =
// w = 1, so it holds every partition and a tree for each), fills it with many keys through RESP,
// stops it and starts it again over the same data directory (bench/tree-build-p99.ts,
// bench/million-keys.ts). Starting, stopping, waiting for it and the pipelined RESP loader live
// here once, so the benchmarks measure the same node the same way. Benchmarks only: it prints
// nothing and asserts nothing.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/** The three listening ports of the one node (peer, HTTP, RESP), all on 127.0.0.1. */
export interface OneNodePorts {
  readonly peer: number;
  readonly http: number;
  readonly resp: number;
}

/** Ports base+1, base+2, base+3: a benchmark takes a `--port-base` so two of them can share a machine. */
export function portsFrom(base: number): OneNodePorts {
  return { peer: base + 1, http: base + 2, resp: base + 3 };
}

export interface OneNodeOptions {
  readonly ports: OneNodePorts;
  /** Where lmdb and its write-ahead log live; the same directory on a restart. */
  readonly dataDirectory: string;
  /** The cluster secret (64 hex digits), the same on a restart. */
  readonly secret: string;
  /** Storage engine; default lmdb. */
  readonly engine?: 'lmdb' | 'memory' | 'level';
  /** Durability of the default bucket props (the RESP bucket takes them); default the node's own (durable). */
  readonly durability?: 'durable' | 'buffered';
  /** The node's log level; default warn. */
  readonly logLevel?: string;
  /** The node's stdout: inherited (default) or piped, for a benchmark that reads its JSON log lines. */
  readonly stdout?: 'inherit' | 'pipe';
  /** Node.js flags for the node process, before the script (e.g. --cpu-prof, which NODE_OPTIONS refuses). */
  readonly nodeFlags?: readonly string[];
}

const binPath = join(import.meta.dirname, '..', 'bin', 'everwrite.mjs');

/** Spawns `everwrite start` for node n1 of a one-node cluster (n = r = w = 1). */
export function startOneNode(options: OneNodeOptions): ChildProcess {
  const { ports } = options;
  const defaultProps = {
    n: 1,
    r: 1,
    w: 1,
    ...(options.durability === undefined ? {} : { durability: options.durability }),
  };
  const environment = { ...process.env, EVERWRITE_SECRET: options.secret };
  return spawn(
    process.execPath,
    [
      ...(options.nodeFlags ?? []),
      binPath,
      'start',
      '--node-id',
      'n1',
      '--listen',
      `127.0.0.1:${ports.peer}`,
      '--http',
      `127.0.0.1:${ports.http}`,
      '--resp',
      `127.0.0.1:${ports.resp}`,
      '--data',
      options.dataDirectory,
      '--seeds',
      `n1@127.0.0.1:${ports.peer}`,
      '--engine',
      options.engine ?? 'lmdb',
      '--log-level',
      options.logLevel ?? 'warn',
      '--settings-json',
      JSON.stringify({ defaultProps }),
    ],
    { stdio: ['ignore', options.stdout ?? 'inherit', 'inherit'], env: environment },
  );
}

/** A clean stop (SIGTERM), then SIGKILL if the node has not exited within `timeoutMs`. */
export async function stopNode(child: ChildProcess, timeoutMs = 30_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await Promise.race([exited, sleep(timeoutMs)]);
  if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
}

/** An unclean stop: SIGKILL, and wait (bounded) until the process is gone. */
export async function killNode(child: ChildProcess, timeoutMs = 30_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGKILL');
  await Promise.race([exited, sleep(timeoutMs)]);
}

/** GET `path` on the node's HTTP port as JSON; undefined unless it answers 200. */
export async function getJson(ports: OneNodePorts, path: string): Promise<unknown> {
  const reply = await fetch(`http://127.0.0.1:${ports.http}${path}`, { signal: AbortSignal.timeout(5000) });
  return reply.status === 200 ? reply.json() : undefined;
}

/** GET `path` on the node's HTTP port as text; undefined unless it answers 200. */
export async function getText(ports: OneNodePorts, path: string): Promise<string | undefined> {
  const reply = await fetch(`http://127.0.0.1:${ports.http}${path}`, { signal: AbortSignal.timeout(5000) });
  return reply.status === 200 ? reply.text() : undefined;
}

/** Polls /health every 20 ms until it answers 200; throws if the node exits or `timeoutMs` passes. */
export async function waitHealthy(child: ChildProcess, ports: OneNodePorts, timeoutMs = 120_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`the node exited while starting (code ${child.exitCode})`);
    try {
      if ((await fetch(`http://127.0.0.1:${ports.http}/health`, { signal: AbortSignal.timeout(1000) })).status === 200)
        return;
    } catch {
      // not listening yet
    }
    await sleep(20);
  }
  throw new Error('the node did not answer /health in time');
}

/**
 * Polls /admin/aae every 250 ms until every tree held is ready; answers the trees held, or undefined
 * after `timeoutMs`. Not faster: each answer lists all 256 partitions, and polling every 50 ms took
 * 1.3 s of the node's CPU during a 39 s rebuild (a --cpu-prof of bench/million-keys.ts).
 */
export async function waitTreesReady(ports: OneNodePorts, timeoutMs: number): Promise<number | undefined> {
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    const report = (await getJson(ports, '/admin/aae')) as { treesHeld: number; treesReady: number } | undefined;
    if (report !== undefined && report.treesHeld > 0 && report.treesReady === report.treesHeld) return report.treesHeld;
    await sleep(250);
  }
  return undefined;
}

/** A RESP connection whose replies (+, -, $ only: SET and GET) resolve the commands in order. */
export class RespConnection {
  private buffer: Buffer = Buffer.alloc(0);
  private readonly waiting: Array<(reply: Buffer) => void> = [];

  private constructor(private readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
  }

  static open(port: number): Promise<RespConnection> {
    return new Promise((resolve, reject) => {
      const socket = connect(port, '127.0.0.1', () => {
        socket.off('error', reject);
        resolve(new RespConnection(socket));
      });
      socket.once('error', reject);
    });
  }

  /** Sends the commands pipelined; each answers whether its reply was not an error. */
  async send(commands: ReadonlyArray<readonly string[]>): Promise<boolean[]> {
    return (await this.replies(commands)).map((reply) => reply[0] !== 0x2d);
  }

  /** Sends the commands pipelined; answers each raw reply (its first line, and a bulk string's bytes). */
  replies(commands: ReadonlyArray<readonly string[]>): Promise<Buffer[]> {
    const replies = commands.map(() => new Promise<Buffer>((resolve) => this.waiting.push(resolve)));
    this.socket.write(
      commands
        .map(
          (words) =>
            `*${words.length}\r\n${words.map((word) => `$${Buffer.byteLength(word)}\r\n${word}\r\n`).join('')}`,
        )
        .join(''),
    );
    return Promise.all(replies);
  }

  close(): void {
    this.socket.destroy();
  }

  private onData(chunk: Buffer): void {
    this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
    for (;;) {
      const end = this.replyEnd();
      if (end === undefined) return;
      const reply = this.buffer.subarray(0, end);
      this.buffer = this.buffer.subarray(end);
      this.waiting.shift()?.(reply);
    }
  }

  private replyEnd(): number | undefined {
    const lineEnd = this.buffer.indexOf('\r\n');
    if (lineEnd === -1) return undefined;
    if (this.buffer[0] !== 0x24) return lineEnd + 2;
    const length = Number(this.buffer.subarray(1, lineEnd).toString('latin1'));
    if (length < 0) return lineEnd + 2;
    const end = lineEnd + 2 + length + 2;
    return this.buffer.length >= end ? end : undefined;
  }
}

/** The name of loaded key `index`: every benchmark over a loaded node asks for the same names. */
export function loadedKey(index: number): string {
  return `key-${index}`;
}

export interface LoadOptions {
  readonly respPort: number;
  readonly keyCount: number;
  readonly value: string;
  /** Commands in flight per connection; default 500. */
  readonly pipelineDepth?: number;
  /** Connections writing at once; default 4. */
  readonly connections?: number;
  /** The load fails (its connections closed) if it has not finished by then; default 600000 ms. */
  readonly timeoutMs?: number;
}

/** SETs keys 0..keyCount-1 (loadedKey) to `value`, pipelined; answers the milliseconds it took and the writes refused. */
export async function loadKeys(options: LoadOptions): Promise<{ milliseconds: number; failed: number }> {
  const pipelineDepth = options.pipelineDepth ?? 500;
  const started = performance.now();
  let next = 0;
  let failed = 0;
  const connections: RespConnection[] = [];
  const worker = async (): Promise<void> => {
    const connection = await RespConnection.open(options.respPort);
    connections.push(connection);
    while (next < options.keyCount) {
      const batch: string[][] = [];
      while (batch.length < pipelineDepth && next < options.keyCount)
        batch.push(['SET', loadedKey(next++), options.value]);
      failed += (await connection.send(batch)).filter((ok) => !ok).length;
    }
    connection.close();
  };
  const timeoutMs = options.timeoutMs ?? 600_000;
  const timeout = new AbortController();
  const timedOut = sleep(timeoutMs, undefined, { signal: timeout.signal }).then(() => {
    for (const connection of connections) connection.close();
    throw new Error(`loading ${options.keyCount} keys took over ${timeoutMs} ms`);
  });
  try {
    await Promise.race([Promise.all(Array.from({ length: options.connections ?? 4 }, worker)), timedOut]);
  } finally {
    timeout.abort();
    timedOut.catch(() => undefined);
  }
  return { milliseconds: performance.now() - started, failed };
}

/** A process's memory as Linux reports it in /proc/<pid>/status, in bytes. */
export interface ProcessMemory {
  /** VmRSS: resident now (anonymous + file-backed + shared memory). */
  readonly rssBytes: number;
  /** VmHWM: the most ever resident. */
  readonly rssPeakBytes: number;
  /** RssAnon: resident anonymous memory (the V8 heap, native allocations). */
  readonly rssAnonymousBytes: number;
  /** RssFile: resident file-backed pages (code, and lmdb's memory-mapped data file). */
  readonly rssFileBytes: number;
}

/** The memory figures of process `pid`, or undefined when /proc does not tell (not Linux, or gone). */
export function readProcessMemory(pid: number | undefined): ProcessMemory | undefined {
  let status: string;
  try {
    status = readFileSync(`/proc/${pid}/status`, 'latin1');
  } catch {
    return undefined;
  }
  const kibibytes = (field: string): number => {
    const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status);
    return match === null ? Number.NaN : Number(match[1]) * 1024;
  };
  return {
    rssBytes: kibibytes('VmRSS'),
    rssPeakBytes: kibibytes('VmHWM'),
    rssAnonymousBytes: kibibytes('RssAnon'),
    rssFileBytes: kibibytes('RssFile'),
  };
}
