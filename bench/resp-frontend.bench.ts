// Why: the RESP front end is part of every Redis command's cost, and a node's event loop is the
// bottleneck under redis-benchmark. This measures that layer alone: the RESP server runs in this
// process over an in-memory KvService whose promises resolve at once, while the load comes from a
// separate process (redis-benchmark when installed, else a small client of this file), so
// process.cpuUsage() of this process is the front end's CPU plus the trivial store's. It prints CPU
// microseconds per command (steadier than ops/s on a shared machine) and ops/s, per round. Most of
// that CPU is the kernel's socket work, which no change here can remove and which varies with the
// machine's load; so it also drives the same connection code through in-memory sockets (no
// kernel, no load process), which shows the front end's own CPU per command.
// Usage: node --import tsx bench/resp-frontend.bench.ts [requests=100000] [rounds=3] [clients=50]
import { spawn, spawnSync } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { connect } from 'node:net';
import type { Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { buildCommandTable } from '../src/api/resp/commands/index.ts';
import { RespConnection } from '../src/api/resp/connection.ts';
import type { RespServerContext } from '../src/api/resp/context.ts';
import { startRespServer } from '../src/api/resp/index.ts';
import { resolveRespServerOptions } from '../src/api/resp/options.ts';
import { AddressRateLimiter } from '../src/core/base/rate-limiter.ts';
import type {
  BucketProps,
  DeleteRequest,
  GetResult,
  KvService,
  NodeStatus,
  PutRequest,
} from '../src/runtime/service.ts';

const noContext = { context: 'bench' } as const;
const absent: GetResult = Object.freeze({ siblings: [], context: 'bench' });
const props: BucketProps = Object.freeze({ n: 1, r: 1, w: 1, resolver: 'lww', durability: 'buffered' });

/** A map behind the KvService interface: nothing to coordinate, every promise already resolved. */
class InstantKvService implements KvService {
  private readonly values = new Map<string, GetResult>();
  private timestamp = 0;

  get(bucket: string, key: string): Promise<GetResult> {
    return Promise.resolve(this.values.get(`${bucket}\u0000${key}`) ?? absent);
  }

  put(request: PutRequest): Promise<{ readonly context: string }> {
    this.timestamp += 1;
    const sibling = {
      value: request.value,
      contentType: request.contentType,
      lastModifiedMs: 0,
      deleted: false,
      timestamp: this.timestamp,
    };
    this.values.set(`${request.bucket}\u0000${request.key}`, { siblings: [sibling], context: 'bench' });
    return Promise.resolve(noContext);
  }

  delete(request: DeleteRequest): Promise<{ readonly context: string }> {
    this.values.delete(`${request.bucket}\u0000${request.key}`);
    return Promise.resolve(noContext);
  }

  getBucketProps(): Promise<BucketProps> {
    return Promise.resolve(props);
  }

  setBucketProps(): Promise<BucketProps> {
    return Promise.resolve(props);
  }

  deleteBucketProps(): Promise<BucketProps> {
    return Promise.resolve(props);
  }

  status(): NodeStatus {
    return { id: 'bench' as NodeStatus['id'], members: [] };
  }

  ring(): unknown {
    return { partitionCount: 1, version: 1, owners: ['bench'] };
  }

  async localGet(bucket: string, key: string): Promise<GetResult | undefined> {
    return this.values.get(`${bucket}\u0000${key}`);
  }
}

interface LoadPlan {
  readonly port: number;
  readonly test: 'set' | 'get';
  readonly requests: number;
  readonly clients: number;
}

/** Runs one load in another process and resolves when it is done; the event loop stays free to serve it. */
function runLoad(plan: LoadPlan, useRedisBenchmark: boolean): Promise<void> {
  const { port, test, requests, clients } = plan;
  const [command, args] = useRedisBenchmark
    ? [
        'redis-benchmark',
        [
          '-p',
          String(port),
          '-t',
          test,
          '-n',
          String(requests),
          '-c',
          String(clients),
          '-d',
          '100',
          '-r',
          '100000',
          '-P',
          '1',
          '--csv',
        ],
      ]
    : [
        process.execPath,
        [
          '--import',
          'tsx',
          fileURLToPath(import.meta.url),
          '--load',
          String(port),
          test,
          String(requests),
          String(clients),
        ],
      ];
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'ignore', 'inherit'] });
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${command} exited with ${code}`))));
  });
}

interface Measure {
  readonly microsecondsPerCommand: number;
  /** The part spent in this process's own code (user), the rest is the kernel's (sockets). */
  readonly userMicrosecondsPerCommand: number;
  readonly opsPerSecond: number;
}

async function measureLoad(plan: LoadPlan, useRedisBenchmark: boolean): Promise<Measure> {
  const cpuBefore = process.cpuUsage();
  const started = process.hrtime.bigint();
  await runLoad(plan, useRedisBenchmark);
  const elapsedSeconds = Number(process.hrtime.bigint() - started) / 1e9;
  const cpu = process.cpuUsage(cpuBefore);
  return {
    microsecondsPerCommand: (cpu.user + cpu.system) / plan.requests,
    userMicrosecondsPerCommand: cpu.user / plan.requests,
    opsPerSecond: plan.requests / elapsedSeconds,
  };
}

/** The part of a net.Socket a RespConnection uses; writes are counted, not sent. */
class MemorySocket extends EventEmitter {
  readonly remoteAddress = '127.0.0.1';
  readonly remotePort = 1;
  readonly localAddress = '127.0.0.1';
  readonly localPort = 2;
  readonly writableNeedDrain = false;
  readonly writableLength = 0;
  readonly destroyed = false;
  writes = 0;
  setNoDelay(): void {}
  pause(): void {}
  resume(): void {}
  cork(): void {}
  uncork(): void {}
  end(): void {}
  destroy(): void {}
  write(): boolean {
    this.writes += 1;
    return true;
  }
}

function encodeCommand(test: 'set' | 'get', index: number): Buffer {
  const key = `key:${String((index * 7919) % 100_000).padStart(12, '0')}`;
  const value = 'x'.repeat(100);
  const text =
    test === 'set'
      ? `*3\r\n$3\r\nSET\r\n$${key.length}\r\n${key}\r\n$${value.length}\r\n${value}\r\n`
      : `*2\r\n$3\r\nGET\r\n$${key.length}\r\n${key}\r\n`;
  return Buffer.from(text, 'latin1');
}

/** `clients` in-memory connections, each sent one command per event-loop turn (as -P 1), its reply awaited. */
async function measureInMemory(
  sockets: readonly MemorySocket[],
  test: 'set' | 'get',
  requests: number,
): Promise<number> {
  const commands = Array.from({ length: 1000 }, (_, index) => encodeCommand(test, index));
  const turns = Math.ceil(requests / sockets.length);
  for (const socket of sockets) socket.writes = 0;
  const cpuBefore = process.cpuUsage();
  for (let turn = 0; turn < turns; turn += 1) {
    for (let index = 0; index < sockets.length; index += 1)
      (sockets[index] as MemorySocket).emit('data', commands[(turn * sockets.length + index) % commands.length]);
    // Replies are written in the turn after their command: wait two.
    await new Promise((resolve) => setImmediate(() => setImmediate(resolve)));
  }
  const cpu = process.cpuUsage(cpuBefore);
  const sent = turns * sockets.length;
  const written = sockets.reduce((total, socket) => total + socket.writes, 0);
  if (written !== sent) throw new Error(`${written} replies for ${sent} commands`);
  return (cpu.user + cpu.system) / sent;
}

function unlimited(): AddressRateLimiter {
  return new AddressRateLimiter({ requestsPerSecond: Number.MAX_SAFE_INTEGER, burstRequests: Number.MAX_SAFE_INTEGER });
}

function memorySockets(service: KvService, clients: number): MemorySocket[] {
  const options = resolveRespServerOptions({ service, host: '127.0.0.1', port: 0 });
  const stats = { connectionsReceived: 0, connectionsRejected: 0, commandsProcessed: 0, protocolErrors: 0 };
  const nowMs = Date.now();
  const context: RespServerContext = {
    service,
    options,
    logger: pino({ level: 'warn' }),
    commands: buildCommandTable(),
    stats,
    sessions: new Set(),
    startedMs: nowMs,
    clock: { nowMs },
    rateLimiter: unlimited(),
    auth: undefined,
  };
  return Array.from({ length: clients }, (_, index) => {
    const socket = new MemorySocket();
    new RespConnection(context, socket as unknown as Socket, index + 1);
    return socket;
  });
}

function describe(values: readonly number[], digits: number): string {
  const sorted = [...values].sort((left, right) => left - right);
  const median = sorted[Math.floor(sorted.length / 2)] as number;
  return `median ${median.toFixed(digits)} (min ${(sorted[0] as number).toFixed(digits)}, max ${(sorted[sorted.length - 1] as number).toFixed(digits)})`;
}

async function main(): Promise<void> {
  const requests = Number(process.argv[2] ?? 100_000);
  const rounds = Number(process.argv[3] ?? 3);
  const clients = Number(process.argv[4] ?? 50);
  const useRedisBenchmark = spawnSync('which', ['redis-benchmark']).status === 0;
  // The load comes from one address faster than any per-address rate a node would allow: this
  // measures the front end's cost, so the request rate is not limited here (decision 0013).
  const server = await startRespServer({
    service: new InstantKvService(),
    host: '127.0.0.1',
    port: 0,
    logger: pino({ level: 'warn' }),
    rateLimiter: unlimited(),
  });
  const port = server.address.port;
  console.log(
    `RESP front end, ${clients} clients at -P 1, ${requests} requests per test, load from ${useRedisBenchmark ? 'redis-benchmark' : 'the built-in client'}`,
  );
  try {
    for (const test of ['set', 'get'] as const)
      await runLoad({ port, test, requests: Math.min(requests, 20_000), clients }, useRedisBenchmark);
    const results: Record<'set' | 'get', Measure[]> = { set: [], get: [] };
    for (let round = 1; round <= rounds; round += 1) {
      for (const test of ['set', 'get'] as const) {
        const measure = await measureLoad({ port, test, requests, clients }, useRedisBenchmark);
        results[test].push(measure);
        console.log(
          `round ${round} ${test.toUpperCase().padEnd(3)} ${measure.microsecondsPerCommand.toFixed(2).padStart(7)} µs CPU/command (user ${measure.userMicrosecondsPerCommand.toFixed(2).padStart(6)}) ${Math.round(measure.opsPerSecond).toLocaleString('en-US').padStart(9)} ops/s`,
        );
      }
    }
    for (const test of ['set', 'get'] as const) {
      const cpu = describe(
        results[test].map((measure) => measure.microsecondsPerCommand),
        2,
      );
      const user = describe(
        results[test].map((measure) => measure.userMicrosecondsPerCommand),
        2,
      );
      const rate = describe(
        results[test].map((measure) => measure.opsPerSecond),
        0,
      );
      console.log(`${test.toUpperCase().padEnd(3)} µs CPU/command ${cpu}; of it user ${user}; ops/s ${rate}`);
    }
  } finally {
    await server.close();
  }
  await inMemory(requests, rounds, clients);
}

async function inMemory(requests: number, rounds: number, clients: number): Promise<void> {
  console.log(`Without sockets: ${clients} in-memory connections, ${requests} commands per test`);
  const sockets = memorySockets(new InstantKvService(), clients);
  for (const test of ['set', 'get'] as const) await measureInMemory(sockets, test, Math.min(requests, 20_000));
  const results: Record<'set' | 'get', number[]> = { set: [], get: [] };
  for (let round = 1; round <= rounds; round += 1) {
    for (const test of ['set', 'get'] as const) {
      const microseconds = await measureInMemory(sockets, test, requests);
      results[test].push(microseconds);
      console.log(
        `round ${round} ${test.toUpperCase().padEnd(3)} ${microseconds.toFixed(2).padStart(7)} µs CPU/command (no sockets)`,
      );
    }
  }
  for (const test of ['set', 'get'] as const)
    console.log(`${test.toUpperCase().padEnd(3)} no sockets: µs CPU/command ${describe(results[test], 2)}`);
}

/** The built-in load: `clients` connections, each one command at a time, until `requests` are answered. */
async function load(port: number, test: 'set' | 'get', requests: number, clients: number): Promise<void> {
  const value = 'x'.repeat(100);
  let sent = 0;
  const command = (): string => {
    const key = `key:${String(Math.floor(Math.random() * 100_000)).padStart(12, '0')}`;
    return test === 'set'
      ? `*3\r\n$3\r\nSET\r\n$${key.length}\r\n${key}\r\n$${value.length}\r\n${value}\r\n`
      : `*2\r\n$3\r\nGET\r\n$${key.length}\r\n${key}\r\n`;
  };
  const client = (): Promise<void> =>
    new Promise((resolve, reject) => {
      const socket = connect(port, '127.0.0.1');
      let pending: Buffer = Buffer.alloc(0);
      const next = (): void => {
        if (sent >= requests) return void socket.end(resolve);
        sent += 1;
        socket.write(command());
      };
      socket.on('connect', next);
      socket.on('error', reject);
      socket.on('data', (chunk: Buffer) => {
        pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
        const headerEnd = pending.indexOf('\r\n');
        if (headerEnd < 0) return;
        const bulk = pending[0] === 36 ? Number(pending.toString('latin1', 1, headerEnd)) : -1;
        const end = headerEnd + 2 + (bulk >= 0 ? bulk + 2 : 0);
        if (pending.length < end) return;
        pending = pending.subarray(end);
        next();
      });
    });
  await Promise.all(Array.from({ length: clients }, client));
}

if (process.argv[2] === '--load') {
  await load(
    Number(process.argv[3]),
    process.argv[4] === 'get' ? 'get' : 'set',
    Number(process.argv[5]),
    Number(process.argv[6]),
  );
} else {
  await main();
}
