// Why: the client's unit tests need several "nodes" on loopback whose behaviour they control: the
// real HTTP front end over the fake KvService (so every answer has the real wire shape), a fake
// that can name itself and hold a real ring (for client routing), and raw TCP servers that refuse
// or break connections. Kept here so each test reads as its behaviour. Not a test file itself.
import { connect, createServer, type Server, type Socket } from 'node:net';
import { pino } from 'pino';
import { startHttpServer, type HttpServerHandle } from '../../../src/api/http/server.ts';
import { asNodeId } from '../../../src/core/base/ids.ts';
import { createRing, ringToJSON, type Ring } from '../../../src/core/ring/index.ts';
import type { NodeStatus } from '../../../src/runtime/service.ts';
import { FakeKvService } from '../../support/fake-kv-service.ts';
import { freePort } from '../../support/free-port.ts';

/** Every fake's clock, so lastModified is exact in assertions. */
export const pinnedNowMs = (): number => Date.UTC(2025, 0, 2, 3, 4, 5, 678);

/** A fake node that says who it is and serves a real ring, as /admin/status and /admin/ring do. */
export class NamedFakeService extends FakeKvService {
  constructor(
    readonly id: string,
    private readonly ringValue: Ring,
  ) {
    super({ nowMs: pinnedNowMs });
  }

  override status(): NodeStatus {
    this.calls.push({ operation: 'status' });
    return {
      id: asNodeId(this.id),
      members: this.ringValue.members.map((member) => ({ id: member.id, address: '', state: 'up', partitions: 0 })),
    };
  }

  override ring(): unknown {
    this.calls.push({ operation: 'ring' });
    return ringToJSON(this.ringValue);
  }
}

export interface FakeNode {
  readonly fake: FakeKvService;
  readonly url: string;
  readonly port: number;
  server: HttpServerHandle;
  /** Stops the server (its port then refuses connections). */
  stop(): Promise<void>;
  /** Serves again on the same port. */
  restart(): Promise<void>;
}

const silent = pino({ level: 'silent' });

export async function startFakeNode(
  fake: FakeKvService = new FakeKvService({ nowMs: pinnedNowMs }),
  port = 0,
): Promise<FakeNode> {
  const server = await startHttpServer({
    service: fake,
    host: '127.0.0.1',
    port,
    logger: silent,
    closeTimeoutMs: 1000,
  });
  const bound = server.address.port;
  const node: FakeNode = {
    fake,
    url: `http://127.0.0.1:${bound}`,
    port: bound,
    server,
    stop: () => node.server.close(),
    restart: async () => {
      node.server = await startHttpServer({
        service: fake,
        host: '127.0.0.1',
        port: bound,
        logger: silent,
        closeTimeoutMs: 1000,
      });
    },
  };
  return node;
}

export async function startFakeNodes(count: number): Promise<FakeNode[]> {
  return Promise.all(Array.from({ length: count }, () => startFakeNode()));
}

/** Three named fakes sharing one real ring of `partitionCount` partitions over n1..n3. */
export async function startRingNodes(
  partitionCount = 16,
): Promise<{ nodes: FakeNode[]; ring: Ring; fakes: NamedFakeService[] }> {
  const ring = createRing({ partitionCount, members: ['n1', 'n2', 'n3'].map((id) => ({ id: asNodeId(id) })) });
  const fakes = ['n1', 'n2', 'n3'].map((id) => new NamedFakeService(id, ring));
  const nodes = await Promise.all(fakes.map((fake) => startFakeNode(fake)));
  return { nodes, ring, fakes };
}

export async function stopAll(nodes: readonly FakeNode[]): Promise<void> {
  await Promise.all(nodes.map((node) => node.stop()));
}

/** A port that refuses connections: a free one, nobody listening on it. */
export const refusedPort = freePort;

/** A TCP relay to `port` that counts the connections made through it (to see keep-alive at work). */
export async function startCountingRelay(
  port: number,
): Promise<{ url: string; connections: () => number; close: () => Promise<void> }> {
  let connections = 0;
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    connections++;
    const upstream = connect(port, '127.0.0.1');
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('error', () => {});
      socket.on('close', () => sockets.delete(socket));
    }
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const relayPort = (server.address() as { port: number }).port;
  const close = (): Promise<void> => {
    for (const socket of sockets) socket.destroy();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  };
  return { url: `http://127.0.0.1:${relayPort}`, connections: () => connections, close };
}

/** A TCP server that accepts, reads the first bytes of a request, then resets the connection. */
export async function startBreakingServer(): Promise<{
  url: string;
  accepted: () => number;
  close: () => Promise<void>;
}> {
  let accepted = 0;
  const server: Server = createServer((socket) => {
    accepted++;
    socket.on('error', () => {});
    socket.once('data', () => socket.resetAndDestroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}`,
    accepted: () => accepted,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** Calls of one operation the fake received. */
export function callsOf(fake: FakeKvService, operation: string): number {
  return fake.calls.filter((call) => call.operation === operation).length;
}
