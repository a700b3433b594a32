// Why: a performance target of docs/BENCHMARKS.md was never measured: a node holding 1M keys of
// 100 bytes stays under 1 GiB RSS, and restarts (write-ahead log replay, key count, Merkle tree
// rebuild) in a time measured and recorded. This measures both on ONE real `everwrite start`
// process (a one-node cluster, n = r = w = 1, buffered writes, so it holds every partition and a
// tree for each; bench/one-node-process.ts): it loads `--keys` keys of `--value-bytes` bytes through
// RESP (pipelined), samples the process's RSS from /proc/<pid>/status (VmRSS, VmHWM, RssAnon,
// RssFile) and its V8 heap from /metrics after the load and every 10 s of `--idle-seconds` of
// idleness (V8 collects the load's garbage only some while after the load ends),
// then, on lmdb, restarts it twice over the same data: first after `kill -9` (unclean: the log's
// tail since its last checkpoint is replayed, under a new epoch), then after a clean SIGTERM. Each
// restart is timed from the spawn: to the node's `wal_replayed` and `storage_counted` log lines
// (their own durations too), to the first RESP GET answering a loaded value, to the key-count gauge
// in /metrics, and to /admin/aae showing every tree ready; then its RSS again, at once and after
// idling. On the memory engine (`--engine memory`) nothing survives a restart: RSS only.
// Prints a table and one JSON object (also written to bench/results/million-keys-<engine>.json);
// never asserts. Every wait is bounded. Run it under the shared lock, bounded:
//   flock /tmp/everwrite-procs.lock timeout 1800 npx tsx bench/million-keys.ts [--keys 1000000]
//     [--value-bytes 100] [--engine lmdb|memory] [--idle-seconds 60] [--port-base 21600]
//     [--node-flags='--cpu-prof --cpu-prof-dir=/tmp/prof'] (Node.js flags of the node process)
//     [--stop-after-load] (no restarts: a clean stop after the load's samples, so a profile of the
//     loaded node is written)
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import {
  getText,
  killNode,
  loadKeys,
  loadedKey,
  portsFrom,
  readProcessMemory,
  RespConnection,
  startOneNode,
  stopNode,
  waitHealthy,
  waitTreesReady,
  type ProcessMemory,
} from './one-node-process.ts';
import { benchPorts } from './ports.ts';

const { values: args } = parseArgs({
  options: {
    keys: { type: 'string', default: '1000000' },
    'value-bytes': { type: 'string', default: '100' },
    engine: { type: 'string', default: 'lmdb' },
    'idle-seconds': { type: 'string', default: '60' },
    'port-base': { type: 'string', default: String(benchPorts.millionKeys) },
    'node-flags': { type: 'string', default: '' },
    'stop-after-load': { type: 'boolean', default: false },
  },
});
const keyCount = Number(args.keys);
const value = 'v'.repeat(Number(args['value-bytes']));
const engine = args.engine === 'memory' ? 'memory' : 'lmdb';
const idleMs = Number(args['idle-seconds']) * 1000;
const ports = portsFrom(Number(args['port-base']));
const nodeFlags = (args['node-flags'] ?? '').split(' ').filter((flag) => flag !== '');
/** End after the load's samples with a clean stop (a --heap-prof or --cpu-prof of the loaded node is written at exit). */
const stopAfterLoad = args['stop-after-load'] === true;
const secret = randomBytes(32).toString('hex');
/** Bounds every wait of one phase (a start, a tree rebuild). */
const phaseTimeoutMs = 600_000;
const mebibyte = 2 ** 20;
/** How often memory is sampled while the node idles. */
const idleSampleMs = 10_000;
/** What bin/everwrite.mjs runs: the built dist/ when there is one, else the sources through tsx (in the node's RSS). */
const runs =
  existsSync(new URL('../dist/cli/main.js', import.meta.url)) && process.env.EVERWRITE_FROM_SOURCE !== '1'
    ? 'dist'
    : 'sources through tsx';

/** One node process and the times (ms after its spawn) at which its log said what the restart needs. */
interface RunningNode {
  readonly child: ChildProcess;
  readonly spawnedMs: number;
  readonly logged: Map<string, { readonly atMs: number; readonly fields: Record<string, unknown> }>;
}

function spawnNode(dataDirectory: string): RunningNode {
  const child = startOneNode({
    ports,
    dataDirectory,
    secret,
    engine,
    durability: 'buffered',
    logLevel: 'info',
    stdout: 'pipe',
    nodeFlags,
  });
  const node: RunningNode = { child, spawnedMs: performance.now(), logged: new Map() };
  createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) => noteLogLine(node, line));
  return node;
}

/** Keeps the first line of each event with its arrival time; passes warnings and errors on to stderr. */
function noteLogLine(node: RunningNode, line: string): void {
  let record: Record<string, unknown>;
  try {
    record = JSON.parse(line) as Record<string, unknown>;
  } catch {
    console.error(line);
    return;
  }
  if (typeof record.event === 'string' && !node.logged.has(record.event))
    node.logged.set(record.event, { atMs: performance.now() - node.spawnedMs, fields: record });
  if (typeof record.level === 'number' && record.level >= 40) console.error(line);
}

/** Polls a RESP GET of loaded key 0 until it answers the loaded value; answers ms after the spawn. */
async function waitFirstGet(node: RunningNode): Promise<number> {
  const deadline = performance.now() + phaseTimeoutMs;
  const expected = `$${Buffer.byteLength(value)}\r\n${value}\r\n`;
  while (performance.now() < deadline) {
    if (node.child.exitCode !== null) throw new Error(`the node exited while starting (code ${node.child.exitCode})`);
    try {
      const connection = await RespConnection.open(ports.resp);
      const [reply] = await connection.replies([['GET', loadedKey(0)]]);
      connection.close();
      if (reply?.toString('latin1') === expected) return performance.now() - node.spawnedMs;
    } catch {
      // not listening yet
    }
    await sleep(20);
  }
  throw new Error('the node did not serve a GET in time');
}

/** A gauge's value from /metrics text (the first sample of that name), or undefined. */
function gauge(metrics: string | undefined, name: string): number | undefined {
  const match = metrics === undefined ? null : new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(metrics);
  return match === null ? undefined : Number(match[1]);
}

/** Polls /metrics until the key-count gauge is there; answers ms after the spawn and the count. */
async function waitKeyGauge(node: RunningNode): Promise<{ atMs: number; keys: number }> {
  const deadline = performance.now() + phaseTimeoutMs;
  while (performance.now() < deadline) {
    const keys = gauge(await getText(ports, '/metrics').catch(() => undefined), 'everwrite_storage_keys');
    if (keys !== undefined) return { atMs: performance.now() - node.spawnedMs, keys };
    await sleep(20);
  }
  throw new Error('the key-count gauge did not appear in time');
}

/** RSS from /proc and the V8 heap from /metrics, in MiB. */
interface MemorySample {
  readonly rssMiB: number;
  readonly rssPeakMiB: number;
  readonly rssAnonymousMiB: number;
  readonly rssFileMiB: number;
  readonly heapUsedMiB: number | undefined;
  readonly heapTotalMiB: number | undefined;
  readonly externalMiB: number | undefined;
}

async function sampleMemory(node: RunningNode): Promise<MemorySample> {
  const metrics = await getText(ports, '/metrics').catch(() => undefined);
  const memory = readProcessMemory(node.child.pid) as ProcessMemory;
  const inMiB = (bytes: number | undefined): number | undefined =>
    bytes === undefined ? undefined : Math.round((bytes / mebibyte) * 10) / 10;
  return {
    rssMiB: inMiB(memory.rssBytes) as number,
    rssPeakMiB: inMiB(memory.rssPeakBytes) as number,
    rssAnonymousMiB: inMiB(memory.rssAnonymousBytes) as number,
    rssFileMiB: inMiB(memory.rssFileBytes) as number,
    heapUsedMiB: inMiB(gauge(metrics, 'nodejs_heap_size_used_bytes')),
    heapTotalMiB: inMiB(gauge(metrics, 'nodejs_heap_size_total_bytes')),
    externalMiB: inMiB(gauge(metrics, 'nodejs_external_memory_bytes')),
  };
}

/** A memory sample taken `idleSeconds` into an idle period. */
type IdleSample = MemorySample & { readonly idleSeconds: number };

/** Samples memory every idleSampleMs for idleMs (at least once, at the end), printing each, while nothing is asked of the node. */
async function sampleIdle(node: RunningNode, indent: string): Promise<IdleSample[]> {
  const samples: IdleSample[] = [];
  let idleSeconds = 0;
  do {
    const stepMs = Math.min(idleSampleMs, idleMs - idleSeconds * 1000);
    await sleep(stepMs);
    idleSeconds += stepMs / 1000;
    const sample = { idleSeconds, ...(await sampleMemory(node)) };
    console.log(`${indent}${memoryLine(`memory after ${idleSeconds} s idle`, sample)}`);
    samples.push(sample);
  } while (idleSeconds * 1000 < idleMs);
  return samples;
}

/** What one restart took, in ms after the spawn, and what the node held afterwards. */
interface RestartTiming extends RestartPhases {
  readonly memoryIdle: readonly IdleSample[];
}

/** The phases of one restart, in ms after the spawn. */
interface RestartPhases {
  readonly kind: 'after kill -9' | 'after SIGTERM';
  readonly walReplayedAtMs: number | undefined;
  readonly walReplayMs: number | undefined;
  readonly walRecordsReplayed: number | undefined;
  readonly keysCountedAtMs: number | undefined;
  readonly keyCountMs: number | undefined;
  readonly firstGetAtMs: number;
  readonly keyGaugeAtMs: number;
  readonly keysCounted: number;
  readonly treesReadyAtMs: number | undefined;
  readonly treesHeld: number | undefined;
  readonly memoryAtTreesReady: MemorySample;
}

/** Times a restarted node's phases, prints them, then samples its memory while it idles. */
async function timeRestart(kind: RestartPhases['kind'], node: RunningNode): Promise<RestartTiming> {
  const phases = await timePhases(kind, node);
  printRestart(phases);
  return { ...phases, memoryIdle: await sampleIdle(node, '  ') };
}

async function timePhases(kind: RestartPhases['kind'], node: RunningNode): Promise<RestartPhases> {
  const firstGetAtMs = await waitFirstGet(node);
  const gaugeSeen = await waitKeyGauge(node);
  const treesHeld = await waitTreesReady(ports, phaseTimeoutMs);
  const treesReadyAtMs = treesHeld === undefined ? undefined : performance.now() - node.spawnedMs;
  const memoryAtTreesReady = await sampleMemory(node);
  const wal = node.logged.get('wal_replayed');
  const counted = node.logged.get('storage_counted');
  return {
    kind,
    walReplayedAtMs: wal === undefined ? undefined : Math.round(wal.atMs),
    walReplayMs: wal?.fields.durationMs as number | undefined,
    walRecordsReplayed: wal?.fields.records as number | undefined,
    keysCountedAtMs: counted === undefined ? undefined : Math.round(counted.atMs),
    keyCountMs: counted?.fields.durationMs as number | undefined,
    firstGetAtMs: Math.round(firstGetAtMs),
    keyGaugeAtMs: Math.round(gaugeSeen.atMs),
    keysCounted: gaugeSeen.keys,
    treesReadyAtMs: treesReadyAtMs === undefined ? undefined : Math.round(treesReadyAtMs),
    treesHeld,
    memoryAtTreesReady,
  };
}

function memoryLine(name: string, sample: MemorySample): string {
  const heap = `heap used ${sample.heapUsedMiB ?? '?'} of ${sample.heapTotalMiB ?? '?'} MiB, external ${sample.externalMiB ?? '?'} MiB`;
  return `${name.padEnd(30)} RSS ${String(sample.rssMiB).padStart(7)} MiB (peak ${sample.rssPeakMiB}, anonymous ${sample.rssAnonymousMiB}, file ${sample.rssFileMiB}); ${heap}`;
}

function printRestart(restart: RestartPhases): void {
  const at = (ms: number | undefined): string => (ms === undefined ? '?' : `${ms} ms`);
  console.log(`restart ${restart.kind}:`);
  console.log(
    `  wal_replayed logged    ${at(restart.walReplayedAtMs).padStart(10)}  (replay ${at(restart.walReplayMs)}, ${restart.walRecordsReplayed ?? '?'} records)`,
  );
  console.log(
    `  storage_counted logged ${at(restart.keysCountedAtMs).padStart(10)}  (count ${at(restart.keyCountMs)})`,
  );
  console.log(`  first GET served       ${at(restart.firstGetAtMs).padStart(10)}`);
  console.log(`  key gauge in /metrics  ${at(restart.keyGaugeAtMs).padStart(10)}  (${restart.keysCounted} keys)`);
  console.log(
    `  every tree ready       ${at(restart.treesReadyAtMs).padStart(10)}  (${restart.treesHeld ?? '?'} trees)`,
  );
  console.log(`  ${memoryLine('memory at trees ready', restart.memoryAtTreesReady)}`);
}

/** Bytes the files under `directory` take on disk (allocated blocks, so a sparse lmdb map counts what it uses). */
function directoryBytes(directory: string): number {
  let bytes = 0;
  for (const entry of readdirSync(directory, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) bytes += statSync(join(entry.parentPath, entry.name)).blocks * 512;
  }
  return bytes;
}

/** Loads the keys into a fresh node and samples its memory after the load and after idling. */
async function loadAndSample(node: RunningNode, dataDirectory: string): Promise<Record<string, unknown>> {
  await waitHealthy(node.child, ports, phaseTimeoutMs);
  const loaded = await loadKeys({ respPort: ports.resp, keyCount, value });
  const afterLoad = await sampleMemory(node);
  console.log(
    `${engine} (${runs}, node pid ${node.child.pid}): loaded ${keyCount} keys of ${value.length} bytes through RESP in ${Math.round(loaded.milliseconds)} ms (${loaded.failed} refused)`,
  );
  console.log(memoryLine('memory after the load', afterLoad));
  const idle = await sampleIdle(node, '');
  const dataBytes = directoryBytes(dataDirectory);
  console.log(`data directory after the load and the idle time: ${(dataBytes / mebibyte).toFixed(1)} MiB on disk`);
  return {
    loadMs: Math.round(loaded.milliseconds),
    loadRefused: loaded.failed,
    afterLoad,
    idle,
    dataMiB: Math.round((dataBytes / mebibyte) * 10) / 10,
  };
}

async function run(dataDirectory: string): Promise<Record<string, unknown>> {
  let node = spawnNode(dataDirectory);
  try {
    const loaded = await loadAndSample(node, dataDirectory);
    if (engine === 'memory' || stopAfterLoad) return loaded;
    await killNode(node.child);
    node = spawnNode(dataDirectory);
    const unclean = await timeRestart('after kill -9', node);
    await stopNode(node.child);
    node = spawnNode(dataDirectory);
    const clean = await timeRestart('after SIGTERM', node);
    return { ...loaded, restarts: [unclean, clean] };
  } finally {
    await stopNode(node.child);
  }
}

const dataDirectory = mkdtempSync(join(tmpdir(), 'everwrite-million-keys-'));
try {
  const figures = await run(dataDirectory);
  const result = {
    engine,
    durability: 'buffered',
    keys: keyCount,
    valueBytes: value.length,
    idleMs,
    nodeFlags,
    ...figures,
  };
  console.log(JSON.stringify(result));
  mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
  writeFileSync(
    new URL(`./results/million-keys-${engine}.json`, import.meta.url),
    `${JSON.stringify(result, null, 2)}\n`,
  );
} finally {
  rmSync(dataDirectory, { recursive: true, force: true });
}
