// Why: decision 0017 promises that a cluster keeps serving while partitions move, with the handoff
// paced so the foreground p99 holds. This measures it on real processes: a 3-node cluster is loaded
// with data, a fixed-concurrency read/write load runs for a while (the baseline), then a fourth
// node joins and the same load runs while the handoff streams; it prints the foreground p50/p99 of
// both phases, the handoff's duration, bytes and throughput, and how often the sources' admission
// controller had halved the background budget during it. Compare within one run only.
//   npx tsx bench/handoff.bench.ts [--keys 4000] [--value-bytes 1024] [--seconds 10] [--concurrency 8]
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { LocalCluster } from '../src/server/local-cluster.ts';
import { benchPorts } from './ports.ts';

const { values: flags } = parseArgs({
  options: {
    keys: { type: 'string', default: '4000' },
    'value-bytes': { type: 'string', default: '1024' },
    seconds: { type: 'string', default: '10' },
    concurrency: { type: 'string', default: '8' },
  },
});
const keyCount = Number(flags.keys);
const valueBytes = Number(flags['value-bytes']);
const phaseMs = Number(flags.seconds) * 1000;
const concurrency = Number(flags.concurrency);
const portBase = benchPorts.handoff;
const partitions = 64;
const binPath = fileURLToPath(new URL('../bin/everwrite.mjs', import.meta.url));
const value = Buffer.alloc(valueBytes, 'v');

async function call(url: string, init: RequestInit = {}): Promise<{ status: number; text: string }> {
  const response = await fetch(url, { ...init, redirect: 'follow', signal: AbortSignal.timeout(10_000) });
  return { status: response.status, text: await response.text() };
}

/** Fixed-concurrency load (half reads, half writes of preloaded keys) until `untilDone` says stop; answers the latencies in ms. */
async function foreground(
  urls: readonly string[],
  untilDone: () => boolean,
): Promise<{ latenciesMs: number[]; failures: number }> {
  const latenciesMs: number[] = [];
  let failures = 0;
  let sequence = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (!untilDone()) {
        const index = sequence++;
        const url = `${urls[index % urls.length] as string}/buckets/bench/keys/k${(index * 7919) % keyCount}`;
        const started = performance.now();
        const answer = await call(
          index % 2 === 0 ? url : `${url}?w=2`,
          index % 2 === 0 ? {} : { method: 'PUT', body: value },
        ).catch(() => ({ status: 0, text: '' }));
        latenciesMs.push(performance.now() - started);
        if (answer.status !== 200 && answer.status !== 204) failures += 1;
      }
    }),
  );
  return { latenciesMs, failures };
}

function percentile(sorted: readonly number[], fraction: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * fraction))] ?? Number.NaN;
}

function describe(label: string, run: { latenciesMs: number[]; failures: number }, elapsedMs: number): void {
  const sorted = [...run.latenciesMs].sort((a, b) => a - b);
  console.log(
    `${label.padEnd(26)} ${String(sorted.length).padStart(7)} requests  ${((sorted.length * 1000) / elapsedMs).toFixed(0).padStart(6)} req/s  p50 ${percentile(sorted, 0.5).toFixed(2)} ms  p99 ${percentile(sorted, 0.99).toFixed(2)} ms  failures ${run.failures}`,
  );
}

interface Pacing {
  looks: number;
  throttledLooks: number;
  p99MsMax: number;
  baselineMsMax: number;
}

/** One look at each source's admission controller (/admin/status `background`): counts the looks at which it had halved the budget. */
async function lookAtPacing(urls: readonly string[], pacing: Pacing): Promise<void> {
  for (const url of urls) {
    const status = JSON.parse((await call(`${url}/admin/status`)).text) as {
      background?: { throttled: boolean; foregroundP99Ms: number; baselineMs: number | null };
    };
    if (status.background === undefined) continue;
    pacing.looks += 1;
    if (status.background.throttled) pacing.throttledLooks += 1;
    pacing.p99MsMax = Math.max(pacing.p99MsMax, status.background.foregroundP99Ms);
    pacing.baselineMsMax = Math.max(pacing.baselineMsMax, status.background.baselineMs ?? 0);
  }
}

async function main(): Promise<void> {
  const directory = mkdtempSync(join(tmpdir(), 'everwrite-handoff-bench-'));
  const cluster = new LocalCluster({
    nodes: 3,
    dataDirectory: directory,
    engine: 'lmdb',
    peerPortBase: portBase,
    httpPortBase: portBase + 1000,
    respPortBase: portBase + 300,
    partitions,
    output: 'ignore',
  });
  let joiner: ChildProcess | undefined;
  try {
    await cluster.start();
    const urls = cluster.nodes.map((node) => node.httpUrl);
    let loaded = 0;
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        while (loaded < keyCount)
          await call(`${urls[loaded % 3] as string}/buckets/bench/keys/k${loaded++}`, { method: 'PUT', body: value });
      }),
    );
    console.log(
      `# ${keyCount} keys of ${valueBytes} bytes on 3 nodes, ${partitions} partitions, N=3, concurrency ${concurrency}`,
    );
    let started = performance.now();
    describe(
      'baseline (no handoff)',
      await foreground(urls, () => performance.now() - started >= phaseMs),
      performance.now() - started,
    );
    joiner = spawn(
      process.execPath,
      [
        binPath,
        'start',
        '--node-id',
        'n4',
        '--listen',
        `127.0.0.1:${portBase + 4}`,
        '--http',
        `127.0.0.1:${portBase + 1004}`,
        '--data',
        join(directory, 'n4'),
        '--engine',
        'lmdb',
        '--secret-file',
        cluster.secretFile,
        '--partitions',
        String(partitions),
        '--log-level',
        'warn',
      ],
      { stdio: 'ignore' },
    );
    const joinerUrl = `http://127.0.0.1:${portBase + 1004}`;
    for (
      let attempt = 0;
      attempt < 200 && (await call(`${joinerUrl}/health`).catch(() => ({ status: 0 }))).status !== 200;
      attempt++
    )
      await sleep(100);
    await call(`${joinerUrl}/admin/join`, {
      method: 'POST',
      body: JSON.stringify({ seed: urls[0]?.replace('http://', '') }),
    });
    const committed = JSON.parse((await call(`${urls[0] as string}/admin/commit`, { method: 'POST' })).text) as {
      version: number;
      transition: { partitionsMoved: number; transfers: unknown[] };
    };
    started = performance.now();
    let completedMs: number | undefined;
    let totals: { keys: number; bytes: number } | undefined;
    const pacing = { looks: 0, throttledLooks: 0, p99MsMax: 0, baselineMsMax: 0 };
    const watcher = (async () => {
      while (completedMs === undefined && performance.now() - started < 10 * phaseMs) {
        await lookAtPacing(urls, pacing);
        const status = JSON.parse((await call(`${joinerUrl}/admin/status`)).text) as {
          handoff?: { totals: { keys: number; bytes: number } };
        };
        if (status.handoff !== undefined && status.handoff.totals.bytes >= (totals?.bytes ?? 0))
          totals = status.handoff.totals;
        const versions = await Promise.all(
          [...urls, joinerUrl].map(
            async (url) => (JSON.parse((await call(`${url}/admin/ring`)).text) as { version: number }).version,
          ),
        );
        if (versions.every((version) => version === committed.version + 1)) completedMs = performance.now() - started;
        else await sleep(50);
      }
    })();
    const during = await foreground(
      urls,
      () => completedMs !== undefined || performance.now() - started >= 10 * phaseMs,
    );
    describe('during the handoff', during, performance.now() - started);
    await watcher;
    console.log(
      `# handoff: ${committed.transition.partitionsMoved} partitions, ${committed.transition.transfers.length} transfers, ${completedMs === undefined ? 'not complete' : `${(completedMs / 1000).toFixed(2)} s to completion`}`,
    );
    console.log(
      `# admission controller at the sources: budget halved in ${pacing.throttledLooks} of ${pacing.looks} looks; foreground p99 estimate up to ${pacing.p99MsMax.toFixed(1)} ms, baseline up to ${pacing.baselineMsMax.toFixed(1)} ms`,
    );
    if (totals !== undefined && completedMs !== undefined)
      console.log(
        `# received by n4: ${totals.keys} keys, ${totals.bytes} bytes: ${(totals.bytes / 1024 / 1024 / (completedMs / 1000)).toFixed(2)} MiB/s, ${(totals.keys / (completedMs / 1000)).toFixed(0)} keys/s`,
      );
  } finally {
    joiner?.kill('SIGKILL');
    await cluster.stop('SIGKILL');
    rmSync(directory, { recursive: true, force: true });
  }
}

await main();
