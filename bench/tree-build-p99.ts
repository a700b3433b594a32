// Why: figures for decision 0020 and docs/BENCHMARKS.md. A node restarted over a store of many keys
// rebuilds its Merkle trees by scanning every partition in slices (decision 0016) while it already
// serves clients; this measures what that costs them. One real node process (lmdb, a one-node
// cluster with n = r = w = 1, so it holds a tree for every partition) is loaded with `keys` keys
// through RESP, stopped cleanly and started again; from its first /health answer a closed loop of
// clients (half GET of a loaded key, half SET) runs while /admin/aae is polled, and the latencies of
// requests that started during the rebuild and after it (for as long again, 10-60 s) are reported
// apart, from the same run. Prints, never asserts. Run it under the shared lock:
//   flock /tmp/everwrite-procs.lock npx tsx bench/tree-build-p99.ts [--keys 1000000] [--clients 8] [--port-base 21500]
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ChildProcess } from 'node:child_process';
import {
  getJson,
  loadKeys,
  loadedKey,
  portsFrom,
  readProcessMemory,
  RespConnection,
  startOneNode,
  stopNode,
  waitHealthy,
} from './one-node-process.ts';
import { benchPorts } from './ports.ts';

const { values: args } = parseArgs({
  options: {
    keys: { type: 'string', default: '1000000' },
    clients: { type: 'string', default: '8' },
    'port-base': { type: 'string', default: String(benchPorts.treeBuildP99) },
    'value-bytes': { type: 'string', default: '100' },
  },
});
const keyCount = Number(args.keys);
const clientCount = Number(args.clients);
const ports = portsFrom(Number(args['port-base']));
const value = 'v'.repeat(Number(args['value-bytes']));
const clusterSecret = randomBytes(32).toString('hex');

function startNode(dataDirectory: string): ChildProcess {
  return startOneNode({ ports, dataDirectory, secret: clusterSecret });
}

async function load(): Promise<number> {
  const { milliseconds, failed } = await loadKeys({ respPort: ports.resp, keyCount, value });
  if (failed > 0) console.error(`warning: ${failed} load writes failed`);
  return milliseconds;
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
    const connection = await RespConnection.open(ports.resp);
    let state = seed;
    while (!stop) {
      state = (Math.imul(state, 1103515245) + 12345) >>> 0;
      const key = loadedKey(state % keyCount);
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
    const report = (await getJson(ports, '/admin/aae')) as { treesHeld: number; treesReady: number } | undefined;
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
  await waitHealthy(node, ports);
  const loadMs = await load();
  console.log(
    `loaded ${keyCount} keys through RESP in ${Math.round(loadMs)} ms; ${clientCount} clients, half GET half SET, ${value.length}-byte values`,
  );
  await stopNode(node);
  node = startNode(dataDirectory);
  await waitHealthy(node, ports);
  await measure();
  const memory = readProcessMemory(node.pid);
  if (memory !== undefined) console.log(`node RSS ${(memory.rssBytes / 2 ** 20).toFixed(0)} MiB`);
} finally {
  if (node !== undefined) await stopNode(node);
  rmSync(dataDirectory, { recursive: true, force: true });
}
