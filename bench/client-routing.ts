// Why: the paper's Table 2 on this machine: average and 99.9th-percentile read and write latency
// with server-driven coordination (any node, which forwards to a primary when it is not one) and
// client-driven coordination (the partition-aware client sends straight to a primary), under the
// same load against the same cluster. Prints a table and writes bench/results/client-routing.json.
// Usage: npx tsx bench/client-routing.ts [seconds-per-mode=15] [workers=16] [nodes=5]
// With N=3 on 5 nodes, a server-driven request lands on a non-primary 2 times in 5 and is forwarded.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import hdr from 'hdr-histogram-js';
import { LocalCluster } from '../src/server/local-cluster.ts';
import { EverwriteClient, type Routing } from '../src/client/index.ts';
import { Prng } from '../src/core/base/prng.ts';
import { benchPorts } from './ports.ts';

const secondsPerMode = Number(process.argv[2] ?? 15);
const workers = Number(process.argv[3] ?? 16);
const nodeCount = Number(process.argv[4] ?? 5);
const keyCount = 1000;
const value = new Uint8Array(1024).fill(7);

interface ModeResult {
  routing: Routing;
  operations: number;
  errors: number;
  readMeanMs: number;
  readP999Ms: number;
  writeMeanMs: number;
  writeP999Ms: number;
}

async function measureMode(routing: Routing, urls: string[]): Promise<ModeResult> {
  const client = new EverwriteClient({ nodes: urls, routing, timeoutMs: 5000 });
  const reads = hdr.build({
    lowestDiscernibleValue: 1,
    highestTrackableValue: 60_000_000,
    numberOfSignificantValueDigits: 3,
  });
  const writes = hdr.build({
    lowestDiscernibleValue: 1,
    highestTrackableValue: 60_000_000,
    numberOfSignificantValueDigits: 3,
  });
  let errors = 0;
  await client.refreshRing?.();
  const deadline = performance.now() + secondsPerMode * 1000;
  const loop = async (seed: number): Promise<void> => {
    const prng = new Prng(seed);
    while (performance.now() < deadline) {
      const key = `k${prng.nextInt(keyCount)}`;
      const isRead = prng.chance(0.5);
      const started = performance.now();
      try {
        if (isRead) await client.get('table2', key);
        else await client.put('table2', key, value);
        (isRead ? reads : writes).recordValue(Math.max(1, Math.round((performance.now() - started) * 1000)));
      } catch {
        errors += 1;
      }
    }
  };
  await Promise.all(Array.from({ length: workers }, (_, index) => loop(index + 1)));
  await client.close();
  return {
    routing,
    operations: reads.totalCount + writes.totalCount,
    errors,
    readMeanMs: reads.mean / 1000,
    readP999Ms: reads.getValueAtPercentile(99.9) / 1000,
    writeMeanMs: writes.mean / 1000,
    writeP999Ms: writes.getValueAtPercentile(99.9) / 1000,
  };
}

const dataDirectory = mkdtempSync(join(tmpdir(), 'everwrite-table2-'));
const cluster = new LocalCluster({
  nodes: nodeCount,
  dataDirectory,
  engine: 'lmdb',
  peerPortBase: benchPorts.clientRouting.peer,
  httpPortBase: benchPorts.clientRouting.http,
  output: 'ignore',
  logLevel: 'error',
});
try {
  await cluster.start();
  const urls = cluster.nodes.map((node) => node.httpUrl);
  const props = await fetch(`${urls[0]}/buckets/table2/props`, {
    method: 'PUT',
    body: JSON.stringify({ n: 3, r: 2, w: 2, resolver: 'lww' }),
  });
  if (!props.ok) throw new Error(`props: ${props.status}`);
  await new Promise((resolve) => setTimeout(resolve, 3000));
  const results: ModeResult[] = [];
  for (const routing of ['server', 'client', 'server', 'client'] as const)
    results.push(await measureMode(routing, urls));
  console.log(
    `${nodeCount} nodes lmdb durable, N=3 R=2 W=2, ${workers} closed-loop workers, ${secondsPerMode} s per mode, 1 KiB values, 50:50 over ${keyCount} keys`,
  );
  console.log('routing  ops      errors  read mean  read p99.9  write mean  write p99.9   (ms)');
  for (const result of results) {
    console.log(
      `${result.routing.padEnd(8)} ${String(result.operations).padEnd(8)} ${String(result.errors).padEnd(7)} ${result.readMeanMs.toFixed(2).padStart(9)} ${result.readP999Ms.toFixed(2).padStart(11)} ${result.writeMeanMs.toFixed(2).padStart(11)} ${result.writeP999Ms.toFixed(2).padStart(12)}`,
    );
  }
  mkdirSync('bench/results', { recursive: true });
  writeFileSync(
    'bench/results/client-routing.json',
    JSON.stringify({ date: new Date().toISOString(), nodes: nodeCount, secondsPerMode, workers, results }, null, 2),
  );
} finally {
  await cluster.stop();
  rmSync(dataDirectory, { recursive: true, force: true });
}
