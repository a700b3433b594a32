// Why: connection floods must come from another process, as they would in an attack: a test
// process holding 20,000 sockets would need its own descriptor limit raised and would share an
// event loop with the node clients it measures. This script, spawned by the integration tests
// (under a raised limit), opens connections that send nothing, spread over several loopback
// source addresses so a per-address cap does not stop them early, prints one JSON line of what
// happened, and always ends by itself: every socket dies with the process.
//
// Usage: node --import tsx test/support/connection-flood.ts <mode> <json options>
//   hold   opens `count` silent connections round-robin over `ports` and the source addresses
//          127.0.<subnet>.<1..addresses>, `concurrency` connects in flight at most; prints
//          {"phase":"held",...} once every connect has finished, then holds them until stdin closes
//          (or `holdMs` passes) and prints {"phase":"done",...}.
//   churn  keeps opening silent connections to `ports[0]` at `perSecond` for `durationMs`, each held
//          until the server closes it; prints {"phase":"done",...}.
import { connect, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

interface FloodOptions {
  readonly ports: readonly number[];
  readonly subnet: number;
  readonly addresses: number;
  readonly count?: number;
  readonly concurrency?: number;
  readonly holdMs?: number;
  readonly perSecond?: number;
  readonly durationMs?: number;
}

const [mode, json = '{}'] = process.argv.slice(2);
const options = JSON.parse(json) as FloodOptions;
const open = new Set<Socket>();
const stats = { attempted: 0, connected: 0, failed: 0, closedByServer: 0 };

function sourceAddress(index: number): string {
  return `127.0.${options.subnet}.${(index % options.addresses) + 1}`;
}

/** Opens one silent connection; resolves once it is connected or has failed. */
function openOne(port: number, localAddress: string): Promise<void> {
  stats.attempted += 1;
  return new Promise((resolve) => {
    const socket = connect({ port, host: '127.0.0.1', localAddress });
    let connected = false;
    socket.on('error', () => undefined);
    socket.resume();
    socket.once('connect', () => {
      connected = true;
      stats.connected += 1;
      open.add(socket);
      resolve();
    });
    socket.once('close', () => {
      if (connected) stats.closedByServer += 1;
      else stats.failed += 1;
      open.delete(socket);
      resolve();
    });
  });
}

async function hold(): Promise<void> {
  const count = options.count ?? 0;
  const concurrency = options.concurrency ?? 256;
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < count) {
      const index = next;
      next += 1;
      await openOne(options.ports[index % options.ports.length] as number, sourceAddress(index));
    }
  };
  // Progress on stderr, kept by the test for its failure message.
  const progress = setInterval(
    () => console.error(JSON.stringify({ phase: 'opening', ...stats, open: open.size })),
    1000,
  );
  await Promise.all(Array.from({ length: concurrency }, () => worker()));
  clearInterval(progress);
  // Let the node's closes of the connections it refused or evicted arrive.
  await sleep(500);
  console.log(JSON.stringify({ phase: 'held', ...stats, open: open.size }));
  const stdinClosed = new Promise<void>((resolve) => {
    process.stdin.once('end', () => resolve());
    process.stdin.once('close', () => resolve());
    process.stdin.resume();
  });
  await Promise.race([stdinClosed, sleep(options.holdMs ?? 60_000)]);
  console.log(JSON.stringify({ phase: 'done', ...stats, open: open.size }));
}

async function churn(): Promise<void> {
  const port = options.ports[0] as number;
  const intervalMs = 10;
  const perTick = Math.max(1, Math.round(((options.perSecond ?? 1000) * intervalMs) / 1000));
  const deadline = performance.now() + (options.durationMs ?? 10_000);
  let index = 0;
  while (performance.now() < deadline) {
    for (let i = 0; i < perTick; i += 1) void openOne(port, sourceAddress(index++));
    await sleep(intervalMs);
  }
  console.log(JSON.stringify({ phase: 'done', ...stats, open: open.size }));
}

const modes: Record<string, () => Promise<void>> = { hold, churn };
const run = mode === undefined ? undefined : modes[mode];
if (run === undefined) {
  console.error(`connection-flood: unknown mode ${String(mode)}; expected hold or churn`);
  process.exitCode = 2;
} else {
  await run();
  for (const socket of open) socket.destroy();
  process.exit(0);
}
