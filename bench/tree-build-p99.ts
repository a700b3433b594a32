// Why: figures for decision 0020 and docs/BENCHMARKS.md. A node restarted over a store of many keys
// rebuilds its Merkle trees by scanning every partition in slices (decision 0016) while it already
// serves clients; this measures what that costs them. One real node process (lmdb, a one-node
// cluster with n = r = w = 1, so it holds a tree for every partition) is loaded with `keys` keys
// through RESP, stopped cleanly and started again; from its first /health answer a closed loop of
// clients (half GET of a loaded key, half SET) runs while /admin/aae is polled, and the latencies of
// requests that started during the rebuild and after it (for as long again, 10-60 s) are reported
// apart, from the same run. Prints, never asserts. Run it under the shared lock:
//   flock /tmp/everwrite-procs.lock npx tsx bench/tree-build-p99.ts [--keys 1000000] [--clients 8] [--port-base 41500]
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';

const { values: args } = parseArgs({
  options: {
    keys: { type: 'string', default: '1000000' },
    clients: { type: 'string', default: '8' },
    'port-base': { type: 'string', default: '41500' },
    'value-bytes': { type: 'string', default: '100' },
  },
});
const keyCount = Number(args.keys);
const clientCount = Number(args.clients);
const portBase = Number(args['port-base']);
const value = 'v'.repeat(Number(args['value-bytes']));
const ports = { peer: portBase + 1, http: portBase + 2, resp: portBase + 3 };
const binPath = join(import.meta.dirname, '..', 'bin', 'everwrite.mjs');
const loadPipelineDepth = 500;
const loadConnections = 4;
const startTimeoutMs = 120_000;
const clusterSecret = randomBytes(32).toString('hex');

function startNode(dataDirectory: string): ChildProcess {
  const settings = JSON.stringify({ defaultProps: { n: 1, r: 1, w: 1 } });
  const environment = { ...process.env, EVERWRITE_SECRET: clusterSecret };
  const child = spawn(
    process.execPath,
    [
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
      dataDirectory,
      '--seeds',
      `n1@127.0.0.1:${ports.peer}`,
      '--engine',
      'lmdb',
      '--log-level',
      'warn',
      '--settings-json',
      settings,
    ],
    { stdio: ['ignore', 'inherit', 'inherit'], env: environment },
  );
  return child;
}

async function stopNode(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await Promise.race([exited, sleep(30_000)]);
  if (child.exitCode === null) child.kill('SIGKILL');
}

async function getJson(path: string): Promise<unknown> {
  const reply = await fetch(`http://127.0.0.1:${ports.http}${path}`, { signal: AbortSignal.timeout(5000) });
  return reply.status === 200 ? reply.json() : undefined;
}

async function waitHealthy(child: ChildProcess): Promise<void> {
  const deadline = performance.now() + startTimeoutMs;
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

/** A RESP connection whose replies (+, -, $ only: SET and GET) resolve the commands in order. */
class RespConnection {
  private buffer: Buffer = Buffer.alloc(0);
  private readonly waiting: Array<(ok: boolean) => void> = [];

  private constructor(private readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
  }

  static open(): Promise<RespConnection> {
    return new Promise((resolve, reject) => {
      const socket = connect(ports.resp, '127.0.0.1', () => resolve(new RespConnection(socket)));
      socket.once('error', reject);
    });
  }

  send(commands: ReadonlyArray<readonly string[]>): Promise<boolean[]> {
    const replies = commands.map(() => new Promise<boolean>((resolve) => this.waiting.push(resolve)));
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
      const ok = this.buffer[0] !== 0x2d;
      this.buffer = this.buffer.subarray(end);
      this.waiting.shift()?.(ok);
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

async function load(): Promise<number> {
  const started = performance.now();
  let next = 0;
  let failed = 0;
  const worker = async (): Promise<void> => {
    const connection = await RespConnection.open();
    while (next < keyCount) {
      const batch: string[][] = [];
      while (batch.length < loadPipelineDepth && next < keyCount) batch.push(['SET', `key-${next++}`, value]);
      failed += (await connection.send(batch)).filter((ok) => !ok).length;
    }
    connection.close();
  };
  await Promise.all(Array.from({ length: loadConnections }, worker));
  if (failed > 0) console.error(`warning: ${failed} load writes failed`);
  return performance.now() - started;
}

interface Sample {
  readonly startedMs: number;
  readonly latencyMs: number;
  readonly ok: boolean;
}

function percentile(sorted: readonly number[], fraction: number): number {
  return sorted.length === 0
    ? Number.NaN
    : (sorted[Math.min(sorted.length - 1, Math.floor(fraction * sorted.length))] as number);
}

function summarize(name: string, samples: readonly Sample[], fromMs: number, toMs: number): void {
  const window = samples.filter((sample) => sample.startedMs >= fromMs && sample.startedMs < toMs);
  const latencies = window.map((sample) => sample.latencyMs).sort((a, b) => a - b);
  const seconds = (toMs - fromMs) / 1000;
  const failed = window.filter((sample) => !sample.ok).length;
  console.log(
    `${name.padEnd(22)} ${seconds.toFixed(1).padStart(6)} s ${String(window.length).padStart(8)} requests ${Math.round(
      window.length / seconds,
    )
      .toString()
      .padStart(
        7,
      )}/s  p50 ${percentile(latencies, 0.5).toFixed(2)} ms  p99 ${percentile(latencies, 0.99).toFixed(2)} ms  p99.9 ${percentile(latencies, 0.999).toFixed(2)} ms  max ${(latencies.at(-1) ?? Number.NaN).toFixed(2)} ms  errors ${failed}`,
  );
}

async function measure(): Promise<void> {
  const samples: Sample[] = [];
  let stop = false;
  const client = async (seed: number): Promise<void> => {
    const connection = await RespConnection.open();
    let state = seed;
    while (!stop) {
      state = (Math.imul(state, 1103515245) + 12345) >>> 0;
      const key = `key-${state % keyCount}`;
      const command = state % 2 === 0 ? ['GET', key] : ['SET', key, value];
      const startedMs = performance.now();
      const [ok] = await connection.send([command]);
      samples.push({ startedMs, latencyMs: performance.now() - startedMs, ok: ok === true });
    }
    connection.close();
  };
  const restartedMs = performance.now();
  const clients = Array.from({ length: clientCount }, (_, index) => client(index + 1));
  let builtMs: number | undefined;
  let treesHeld = 0;
  while (builtMs === undefined && performance.now() - restartedMs < 600_000) {
    const report = (await getJson('/admin/aae')) as { treesHeld: number; treesReady: number } | undefined;
    if (report !== undefined && report.treesHeld > 0 && report.treesReady === report.treesHeld) {
      builtMs = performance.now();
      treesHeld = report.treesHeld;
    } else {
      await sleep(50);
    }
  }
  if (builtMs === undefined) throw new Error('the trees were not rebuilt within 10 minutes');
  const afterMs = Math.min(60_000, Math.max(10_000, builtMs - restartedMs));
  await sleep(afterMs);
  stop = true;
  await Promise.all(clients);
  const endMs = performance.now();
  console.log(
    `trees rebuilt: ${treesHeld} partitions in ${Math.round(builtMs - restartedMs)} ms after the first /health answer`,
  );
  summarize('during the rebuild', samples, restartedMs, builtMs);
  summarize('after it', samples, builtMs, endMs);
}

const dataDirectory = mkdtempSync(join(tmpdir(), 'everwrite-tree-build-'));
let node: ChildProcess | undefined;
try {
  node = startNode(dataDirectory);
  await waitHealthy(node);
  const loadMs = await load();
  console.log(
    `loaded ${keyCount} keys through RESP in ${Math.round(loadMs)} ms; ${clientCount} clients, half GET half SET, ${value.length}-byte values`,
  );
  await stopNode(node);
  node = startNode(dataDirectory);
  await waitHealthy(node);
  await measure();
  const rss = (await getJson('/admin/status')) as { memory?: { rssBytes?: number } } | undefined;
  if (rss?.memory?.rssBytes !== undefined) console.log(`node RSS ${(rss.memory.rssBytes / 2 ** 20).toFixed(0)} MiB`);
} finally {
  if (node !== undefined) await stopNode(node);
  rmSync(dataDirectory, { recursive: true, force: true });
}
