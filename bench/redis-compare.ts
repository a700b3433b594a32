// Why: issue 5's comparison with a real peer: redis-benchmark against a plain redis-server and
// against a 3-node Everwrite cluster's RESP port (N=3 R=2 W=2), in-memory and lmdb engines, in one
// run on this machine. Prints one line per (target, test, pipeline) and writes
// bench/results/redis-compare.json. Needs redis-server and redis-benchmark (Debian redis-server,
// redis-tools). Usage: npx tsx bench/redis-compare.ts [requests=20000]
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalCluster } from '../src/cli/local-cluster.ts';

interface Row {
  target: string;
  test: string;
  pipeline: number;
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
}

const requests = Number(process.argv[2] ?? 20000);
const rows: Row[] = [];

function benchmark(target: string, port: number, pipeline: number): void {
  const args = ['-p', String(port), '-t', 'set,get', '-n', String(requests), '-c', '50', '-d', '100', '-r', '100000', '-P', String(pipeline), '--csv'];
  const result = spawnSync('redis-benchmark', args, { encoding: 'utf8', timeout: 600_000 });
  for (const line of result.stdout.split('\n').slice(1)) {
    const fields = line.split(',').map((field) => field.replaceAll('"', ''));
    if (fields.length < 7) continue;
    const row = { target, test: fields[0] as string, pipeline, requestsPerSecond: Number(fields[1]), p50Ms: Number(fields[4]), p99Ms: Number(fields[6]) };
    rows.push(row);
    console.log(`${target.padEnd(28)} ${row.test.padEnd(4)} -P ${String(pipeline).padEnd(3)} ${row.requestsPerSecond.toFixed(0).padStart(9)} req/s  p50 ${row.p50Ms.toFixed(3)} ms  p99 ${row.p99Ms.toFixed(3)} ms`);
  }
}

async function plainRedis(): Promise<void> {
  const port = 16399;
  const server = spawn('redis-server', ['--port', String(port), '--save', '', '--appendonly', 'no', '--bind', '127.0.0.1'], { stdio: 'ignore' });
  try {
    for (let attempt = 0; attempt < 50 && spawnSync('redis-cli', ['-p', String(port), 'ping']).stdout?.toString().trim() !== 'PONG'; attempt++) await new Promise((resolve) => setTimeout(resolve, 100));
    for (const pipeline of [1, 16]) benchmark('redis-server', port, pipeline);
  } finally {
    server.kill('SIGTERM');
  }
}

async function everwrite(engine: 'memory' | 'lmdb'): Promise<void> {
  const dataDirectory = mkdtempSync(join(tmpdir(), `everwrite-redis-compare-${engine}-`));
  const cluster = new LocalCluster({ nodes: 3, dataDirectory, engine, peerPortBase: 47000, httpPortBase: 48000, output: 'ignore', logLevel: 'error' });
  try {
    await cluster.start();
    const props = await fetch(`${cluster.node(1).httpUrl}/buckets/redis/props`, { method: 'PUT', body: JSON.stringify({ n: 3, r: 2, w: 2 }) });
    if (!props.ok) throw new Error(`setting props failed: ${props.status}`);
    const port = Number(cluster.node(1).respAddress.split(':')[1]);
    for (const pipeline of [1, 16]) benchmark(`everwrite 3 nodes ${engine}`, port, pipeline);
  } finally {
    await cluster.stop();
    rmSync(dataDirectory, { recursive: true, force: true });
  }
}

await plainRedis();
await everwrite('memory');
await everwrite('lmdb');
mkdirSync('bench/results', { recursive: true });
writeFileSync('bench/results/redis-compare.json', JSON.stringify({ date: new Date().toISOString(), requests, rows }, null, 2));
