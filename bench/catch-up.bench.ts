// Why: figures for decision 0020 and docs/BENCHMARKS.md. One replica (n3 of three, N = 3) is cut off
// from its peers while clients write `changed` of C keys, then the cut heals and anti-entropy repairs
// it, once by the fast catch-up (the change log lists what changed since n3 was last seen up) and
// once by full tree exchanges (the same outage with the margin pushed past the log's start, so every
// node that saw the outage falls back to a full exchange of each shared partition at once, as
// `cluster repair` would). Both run in the simulator: the production NodeCore, NodeRuntime,
// LocalStore and peer-frame codec over a simulated network and disk, hints never delivered and the
// periodic exchange pushed past the run, so only the mechanism measured repairs. It counts the
// messages and codec bytes to or from n3 after the heal, by kind, and the virtual time until every
// key n3 missed is equal on all three replicas; it also prints what sending every key would cost.
// Prints, never asserts.
// Run: npx tsx bench/catch-up.bench.ts [--keys 100000] [--changed 10,1000,20000] [--partitions 256] [--seed 1]
import { parseArgs } from 'node:util';
import { Prng } from '../src/core/base/prng.ts';
import type { NodeId } from '../src/core/base/ids.ts';
import type { Message } from '../src/core/protocol/messages.ts';
import { recordsEqual, encodeRecord } from '../src/core/versioning/index.ts';
import { encodeStorageKey } from '../src/core/protocol/storage-key.ts';
import { decodeMessages, encodeMessages } from '../src/core/protocol/codec/message-codec.ts';
import {
  Cluster,
  ClockSkew,
  defaultDiskTiming,
  drainMicrotasks,
  SimNetwork,
  SimScheduler,
  type ClientReply,
} from '../src/sim/index.ts';

const { values: args } = parseArgs({
  options: {
    keys: { type: 'string', default: '100000' },
    changed: { type: 'string', default: '10,1000,20000' },
    partitions: { type: 'string', default: '256' },
    seed: { type: 'string', default: '1' },
  },
});
const keyCount = Number(args.keys);
const changedCounts = args.changed.split(',').map(Number);
const partitionCount = Number(args.partitions);
const seed = Number(args.seed);

const bucket = 'bench';
const marginMs = 5000;
const writesInFlightMax = 128;
const repairLimitMs = 900_000;

type Mode = 'catch-up' | 'full';

interface Traffic {
  messages: number;
  bytes: number;
}

interface OutageResult {
  readonly mode: Mode;
  readonly changed: number;
  readonly byKind: ReadonlyMap<string, Traffic>;
  readonly repairMs: number;
  readonly converged: boolean;
  readonly wallMs: number;
}

/** The traffic class of one peer message, as the tables print it. */
function kindOf(message: Message): string | undefined {
  switch (message.type) {
    case 'treeExchange':
      return 'tree exchange';
    case 'catchUp':
      return 'catch-up';
    case 'replicaGet':
    case 'replicaGetReply':
    case 'replicaPut':
    case 'replicaPutAck':
      return 'key repair';
    default:
      return undefined; // liveness, view and props gossip: the same in both modes
  }
}

class Simulation {
  readonly scheduler = new SimScheduler();
  readonly network: SimNetwork;
  readonly cluster: Cluster;
  /** Counting starts at the heal. */
  counting = false;
  readonly byKind = new Map<string, Traffic>();

  constructor(mode: Mode) {
    const prng = new Prng(seed);
    this.network = new SimNetwork(this.scheduler, prng.fork());
    const settings = {
      antiEntropyIntervalMs: 1_000_000_000,
      hintDeliveryIntervalMs: 1_000_000_000,
      antiEntropyCatchUpMarginMs: mode === 'catch-up' ? marginMs : 1_000_000_000_000,
    };
    this.cluster = new Cluster(this.scheduler, this.network, new ClockSkew(), prng.fork(), {
      nodeCount: 3,
      partitionCount,
      replicaCount: 3,
      settings,
      hintsCountMax: 1_000_000,
      diskTiming: defaultDiskTiming,
    });
    this.tapNetwork();
  }

  /** Counts every frame to or from n3 once counting, by message kind, at its codec size. */
  private tapNetwork(): void {
    const send = this.network.send.bind(this.network);
    this.network.send = (from: NodeId, to: NodeId, frame: Uint8Array): void => {
      if (this.counting && (from === 'n3' || to === 'n3')) {
        for (const message of decodeMessages(frame)) {
          const kind = kindOf(message);
          if (kind === undefined) continue;
          const traffic = this.byKind.get(kind) ?? { messages: 0, bytes: 0 };
          traffic.messages += 1;
          traffic.bytes += encodeMessages([message]).length - 2;
          this.byKind.set(kind, traffic);
        }
      }
      send(from, to, frame);
    };
  }

  async runUntil(done: () => boolean, untilMs: number): Promise<boolean> {
    for (;;) {
      if (done()) return true;
      if (!this.scheduler.runNext(untilMs)) return done();
      await drainMicrotasks();
    }
  }

  async runFor(durationMs: number): Promise<void> {
    await this.runUntil(() => false, this.scheduler.nowMs + durationMs);
  }

  /** Writes `keys` through n1..n3 in turn, at most writesInFlightMax at once; resolves when every write answered. */
  async write(keys: readonly string[], value: string): Promise<number> {
    let next = 0;
    let answered = 0;
    let failed = 0;
    const issue = (): void => {
      const index = next++;
      if (index >= keys.length) return;
      const key = keys[index] as string;
      const coordinator = (['n1', 'n2'] as NodeId[])[index % 2] as NodeId;
      this.cluster.call(
        coordinator,
        `put ${key}`,
        (runtime) =>
          runtime.put({ bucket, key, value: new TextEncoder().encode(`${value}-${key}`), contentType: 'text/plain' }),
        (reply: ClientReply) => {
          answered++;
          if (reply.status !== 'ok') failed++;
          issue();
        },
      );
    };
    for (let index = 0; index < writesInFlightMax; index++) issue();
    await this.runUntil(() => answered === keys.length, this.scheduler.nowMs + 3_600_000);
    return failed;
  }

  isolate(node: string): void {
    this.network.partition(['n1', 'n2', 'n3'], (from, to) => from !== node && to !== node);
  }

  /** Whether every key in `keys` is equal on all three replicas. */
  agree(keys: readonly string[]): boolean {
    return keys.every((key) => {
      const { partition, nodes } = this.cluster.primaries(bucket, key, 3);
      const [first, ...rest] = nodes.map((node) => this.cluster.replicaRecord(node, bucket, key, partition));
      return rest.every((record) => recordsEqual(record!, first!));
    });
  }

  /** Bytes of sending every key's record to a replica: one replicaPut per key, at its codec size. */
  everyKeyCost(keys: readonly string[]): Traffic {
    let bytes = 0;
    for (const key of keys) {
      const { partition } = this.cluster.primaries(bucket, key, 3);
      const record = encodeRecord(this.cluster.replicaRecord('n1' as NodeId, bucket, key, partition));
      bytes +=
        encodeMessages([
          { type: 'replicaPut', id: 1, partition, storageKey: encodeStorageKey(bucket, key), record, durable: true },
        ]).length - 2;
    }
    return { messages: keys.length, bytes };
  }
}

async function runOutage(mode: Mode, changed: number): Promise<OutageResult & { readonly everyKey: Traffic }> {
  const started = performance.now();
  const simulation = new Simulation(mode);
  const cluster = simulation.cluster;
  for (const node of cluster.nodes) cluster.start(node);
  await simulation.runUntil(() => cluster.upNodes.length === 3, 10_000);
  const keys = Array.from({ length: keyCount }, (_, index) => `key-${index}`);
  const loadFailed = await simulation.write(keys, 'first');
  // Older than the margin before the outage, so the catch-up does not list the load itself.
  await simulation.runFor(marginMs + 5000);
  simulation.isolate('n3');
  await simulation.runFor(8000);
  const stride = Math.max(1, Math.floor(keyCount / changed));
  const changedKeys = Array.from({ length: changed }, (_, index) => keys[(index * stride) % keyCount] as string);
  const outageFailed = await simulation.write(changedKeys, 'second');
  await simulation.runFor(1000);
  if (loadFailed + outageFailed > 0)
    console.error(`warning: ${loadFailed} load and ${outageFailed} outage writes failed`);
  const healedMs = simulation.scheduler.nowMs;
  simulation.counting = true;
  simulation.network.healPartition();
  let converged = false;
  let repairMs = 0;
  for (let checkMs = healedMs + 250; checkMs <= healedMs + repairLimitMs; checkMs += 250) {
    await simulation.runUntil(() => false, checkMs);
    if (simulation.agree(changedKeys)) {
      converged = true;
      repairMs = checkMs - healedMs;
      break;
    }
  }
  // Let what is still in flight (acks, the last answers) land in the counts.
  await simulation.runFor(2000);
  const everyKey = simulation.everyKeyCost(keys);
  return {
    mode,
    changed,
    byKind: simulation.byKind,
    repairMs,
    converged,
    wallMs: Math.round(performance.now() - started),
    everyKey,
  };
}

function total(byKind: ReadonlyMap<string, Traffic>, kinds?: readonly string[]): Traffic {
  const sum = { messages: 0, bytes: 0 };
  for (const [kind, traffic] of byKind) {
    if (kinds !== undefined && !kinds.includes(kind)) continue;
    sum.messages += traffic.messages;
    sum.bytes += traffic.bytes;
  }
  return sum;
}

const kib = (bytes: number): string => (bytes / 1024).toFixed(1);

console.log(
  `C = ${keyCount} keys, N = 3 on 3 nodes, ${partitionCount} partitions, seed ${seed}; n3 cut off while \`changed\` keys are written, then healed`,
);
console.log(
  'changed  mode       summary msgs  summary KiB  repair msgs  repair KiB  total msgs  total KiB  repaired in (virtual ms)  wall ms',
);
for (const changed of changedCounts) {
  const results = [];
  for (const mode of ['full', 'catch-up'] as const) {
    const result = await runOutage(mode, changed);
    results.push(result);
    const summary = total(result.byKind, [
      mode === 'full' ? 'tree exchange' : 'catch-up',
      ...(mode === 'catch-up' ? ['tree exchange'] : []),
    ]);
    const repair = total(result.byKind, ['key repair']);
    const all = total(result.byKind);
    console.log(
      [
        String(changed).padStart(7),
        mode.padEnd(9),
        String(summary.messages).padStart(12),
        kib(summary.bytes).padStart(11),
        String(repair.messages).padStart(11),
        kib(repair.bytes).padStart(10),
        String(all.messages).padStart(10),
        kib(all.bytes).padStart(9),
        (result.converged ? String(result.repairMs) : `not in ${repairLimitMs}`).padStart(24),
        String(result.wallMs).padStart(7),
      ].join('  '),
    );
  }
  const [full, catchUp] = results as [Awaited<ReturnType<typeof runOutage>>, Awaited<ReturnType<typeof runOutage>>];
  const fullAll = total(full.byKind);
  const catchUpAll = total(catchUp.byKind);
  const everyKey = full.everyKey;
  console.log(
    `         sending every key: ${everyKey.messages} msgs, ${kib(everyKey.bytes)} KiB; full/every-key bytes ${(fullAll.bytes / everyKey.bytes).toFixed(4)}, catch-up/every-key bytes ${(catchUpAll.bytes / everyKey.bytes).toFixed(4)}`,
  );
  console.log(
    `         catch-up / full: messages ${(catchUpAll.messages / fullAll.messages).toFixed(3)}, bytes ${(catchUpAll.bytes / fullAll.bytes).toFixed(3)}, time ${(catchUp.repairMs / Math.max(1, full.repairMs)).toFixed(3)}`,
  );
}
