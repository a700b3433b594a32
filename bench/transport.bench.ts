// Why: the inter-node transport carries every replica write, so its ceiling bounds the cluster's.
// This measures one-direction throughput between two TcpTransports on 127.0.0.1 with pipelining:
// small frames (200 bytes, a replica record's order of size) sent in batches per event-loop turn,
// for each coalescing strategy, with the receiver in the same process and in a child process. It
// prints frames/s and writes bench/results/transport.json (docs/ARCHITECTURE.md habits 9 and 10).
//
// Usage: tsx bench/transport.bench.ts [--frames 1000000] [--batch 100] [--frame-bytes 200]
//                                     [--strategy auto|concatenate|writev|all] [--receiver same|child|both] [--copy]
//                                     [--rounds 3]
// Configurations run in turns, `rounds` times over, so JIT warm-up and a noisy neighbour do not
// favour one of them; each line reports the median round and the range.
import { fileURLToPath } from 'node:url';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { asNodeId } from '../src/core/base/ids.ts';
import { toHex } from '../src/core/base/bytes.ts';
import { generateSecret, loadSecret } from '../src/io/transport/handshake.ts';
import { TcpTransport, type CoalesceStrategy, type PeerAddress } from '../src/io/transport/tcp.ts';

/** Child processes run from the repository root, where tsx and the relative paths resolve. */
const repositoryRoot = fileURLToPath(new URL('../', import.meta.url));

const senderId = asNodeId('sender');
const receiverId = asNodeId('receiver');
/** The sender waits for a turn while this many bytes are pending: pipelining without drops. */
const pendingBytesHighWater = 8 * 1024 * 1024;

const { values: args } = parseArgs({
  options: {
    frames: { type: 'string', default: '1000000' },
    batch: { type: 'string', default: '100' },
    'frame-bytes': { type: 'string', default: '200' },
    strategy: { type: 'string', default: 'all' },
    receiver: { type: 'string', default: 'both' },
    copy: { type: 'boolean', default: false },
    rounds: { type: 'string', default: '3' },
    role: { type: 'string', default: 'bench' },
  },
});
const frameCount = Number(args.frames);
const batchSize = Number(args.batch);
const frameBytes = Number(args['frame-bytes']);

interface TransportBenchResult {
  readonly name: string;
  readonly frames: number;
  readonly elapsedMs: number;
  readonly framesPerSecond: number;
  readonly megabytesPerSecond: number;
  readonly socketWrites: number;
  readonly framesPerWrite: number;
  readonly framesDropped: number;
}

/** Child role: a receiver that reports its port, then the moment it has every frame. */
async function runChildReceiver(): Promise<void> {
  const transport = new TcpTransport({
    nodeId: receiverId,
    listen: { host: '127.0.0.1', port: 0 },
    secret: loadSecret({ environment: process.env.EVERWRITE_SECRET }),
  });
  let received = 0;
  const copy = args.copy === true;
  let sink = 0;
  transport.receive((_from, frame) => {
    if (frame.length === 0) return; // the warm-up frame
    if (copy) sink += new Uint8Array(frame).length;
    if (++received === frameCount) {
      process.stdout.write(`done ${received}\n`);
      void transport.stop();
    }
  });
  await transport.start();
  process.stdout.write(`port ${transport.address().port}\n`);
  if (sink < 0) console.log(sink);
}

interface Receiver {
  readonly address: PeerAddress;
  /** Resolves when every frame has arrived. */
  readonly allReceived: Promise<void>;
  stop(): Promise<void>;
}

async function startSameProcessReceiver(secret: Uint8Array): Promise<Receiver> {
  const transport = new TcpTransport({ nodeId: receiverId, listen: { host: '127.0.0.1', port: 0 }, secret });
  let received = 0;
  let sink = 0;
  const copy = args.copy === true;
  let resolveAll = (): void => undefined;
  const allReceived = new Promise<void>((resolve) => (resolveAll = resolve));
  transport.receive((_from, frame) => {
    if (frame.length === 0) return; // the warm-up frame
    if (copy) sink += new Uint8Array(frame).length;
    if (++received === frameCount) resolveAll();
  });
  await transport.start();
  return {
    address: transport.address(),
    allReceived,
    stop: () => transport.stop().then(() => void (sink < 0 && console.log(sink))),
  };
}

async function startChildReceiver(secret: Uint8Array): Promise<Receiver> {
  const argv = [
    '--import',
    'tsx',
    'bench/transport.bench.ts',
    '--role',
    'receiver',
    '--frames',
    String(frameCount),
    ...(args.copy === true ? ['--copy'] : []),
  ];
  const child: ChildProcess = spawn(process.execPath, argv, {
    cwd: repositoryRoot,
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, EVERWRITE_SECRET: toHex(secret) },
    timeout: 600_000,
  });
  let buffered = '';
  let resolvePort = (_port: number): void => undefined;
  let resolveAll = (): void => undefined;
  const port = new Promise<number>((resolve) => (resolvePort = resolve));
  const allReceived = new Promise<void>((resolve) => (resolveAll = resolve));
  child.stdout?.on('data', (chunk: Buffer) => {
    buffered += chunk.toString();
    for (let newline = buffered.indexOf('\n'); newline >= 0; newline = buffered.indexOf('\n')) {
      const [word, value] = buffered.slice(0, newline).split(' ');
      buffered = buffered.slice(newline + 1);
      if (word === 'port') resolvePort(Number(value));
      if (word === 'done') resolveAll();
    }
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return { address: { host: '127.0.0.1', port: await port }, allReceived, stop: () => exited };
}

/** Sends `frameCount` frames in batches of `batchSize` per turn, waiting while too much is pending. */
function sendAll(sender: TcpTransport): Promise<void> {
  const frame = Buffer.alloc(frameBytes, 0x5a);
  let sent = 0;
  return new Promise((resolve) => {
    const turn = (): void => {
      if (sender.pendingBytes(receiverId) < pendingBytesHighWater) {
        const end = Math.min(frameCount, sent + batchSize);
        for (; sent < end; sent++) sender.send(receiverId, frame);
      }
      if (sent < frameCount) setImmediate(turn);
      else resolve();
    };
    turn();
  });
}

async function runOne(strategy: CoalesceStrategy, receiverKind: string): Promise<TransportBenchResult> {
  const secret = generateSecret();
  const receiver = receiverKind === 'child' ? await startChildReceiver(secret) : await startSameProcessReceiver(secret);
  const sender = new TcpTransport({
    nodeId: senderId,
    listen: { host: '127.0.0.1', port: 0 },
    secret,
    coalesceStrategy: strategy,
    peers: new Map([[receiverId, receiver.address]]),
  });
  await sender.start();
  // Warm the link (connect and handshake) outside the measured window.
  sender.send(receiverId, Buffer.alloc(0));
  while (sender.metrics.framesWritten === 0) await new Promise((resolve) => setTimeout(resolve, 1));
  const writesBefore = sender.metrics.socketWrites;
  const started = performance.now();
  await sendAll(sender);
  await receiver.allReceived;
  const elapsedMs = performance.now() - started;
  const socketWrites = sender.metrics.socketWrites - writesBefore;
  const framesDropped = sender.metrics.framesDroppedQueueFull;
  await sender.stop();
  await receiver.stop();
  const framesPerSecond = Math.round((frameCount / elapsedMs) * 1000);
  return {
    name: `tcp ${strategy}, receiver ${receiverKind === 'child' ? 'in a child process' : 'in the same process'}${args.copy === true ? ', receiver copies' : ''}`,
    frames: frameCount,
    elapsedMs: Math.round(elapsedMs),
    framesPerSecond,
    megabytesPerSecond: Math.round((framesPerSecond * frameBytes) / 1e5) / 10,
    socketWrites,
    framesPerWrite: Math.round(frameCount / Math.max(1, socketWrites)),
    framesDropped,
  };
}

interface Configuration {
  readonly strategy: CoalesceStrategy;
  readonly receiverKind: string;
  readonly rounds: TransportBenchResult[];
}

function printConfiguration(configuration: Configuration): void {
  const sorted = [...configuration.rounds].sort((x, y) => x.framesPerSecond - y.framesPerSecond);
  const median = sorted[Math.floor(sorted.length / 2)] as TransportBenchResult;
  const range = `${(sorted[0] as TransportBenchResult).framesPerSecond.toLocaleString('en-US')}..${(sorted[sorted.length - 1] as TransportBenchResult).framesPerSecond.toLocaleString('en-US')}`;
  console.log(
    `${median.name.padEnd(60)} ${median.framesPerSecond.toLocaleString('en-US').padStart(11)} frames/s (${range}) ${String(median.megabytesPerSecond).padStart(6)} MB/s  ${median.framesPerWrite} frames/write  dropped ${median.framesDropped}`,
  );
}

async function main(): Promise<void> {
  const strategies: CoalesceStrategy[] =
    args.strategy === 'all' ? ['auto', 'concatenate', 'writev'] : [args.strategy as CoalesceStrategy];
  const receivers = args.receiver === 'both' ? ['same', 'child'] : [args.receiver ?? 'same'];
  const rounds = Number(args.rounds);
  console.log(
    `# ${frameCount} frames of ${frameBytes} bytes, batches of ${batchSize} per turn, median of ${rounds} rounds, node ${process.version}`,
  );
  const configurations: Configuration[] = receivers.flatMap((receiverKind) =>
    strategies.map((strategy) => ({ strategy, receiverKind, rounds: [] })),
  );
  for (let round = 0; round < rounds; round++) {
    for (const configuration of configurations)
      configuration.rounds.push(await runOne(configuration.strategy, configuration.receiverKind));
  }
  configurations.forEach(printConfiguration);
  mkdirSync('bench/results', { recursive: true });
  writeFileSync(
    'bench/results/transport.json',
    JSON.stringify(
      { node: process.version, date: new Date().toISOString(), frameBytes, batchSize, configurations },
      null,
      2,
    ),
  );
}

if (args.role === 'receiver') await runChildReceiver();
else await main();
