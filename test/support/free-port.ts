// Why: every test that listens takes its ports from here, never from a fixed band, so two test runs
// (two checkouts, two CI jobs) can share one machine. Every port comes from 20000-32000, drawn at
// random and checked by binding it: that range lies below Linux's default ephemeral range
// (32768-60999), from which bind(0) and the local ports of outgoing connections are drawn. A node
// a test restarts leaves its ports free for a moment; were they ephemeral, a concurrent test's
// outgoing connections (the connection-flood test opens 20,000) could take one as a local port,
// and the node could not listen again (seen once in CI: "n2 exited while starting"). freePorts
// holds each port open until all are known, so one call never returns the same port twice.
// test/unit/support/no-fixed-ports.test.ts fails on a port written into a test.
//
// `everwrite dev` and `everwrite bench` take only port *bases* (node i on base+i), not a port per
// node, so a test of those commands needs a contiguous run of free ports: freePortBlock picks a
// random start in the same range, checks every port of the run by binding it, and retries a
// bounded number of times. Two runs picking ports at random meet only if both draw the same port
// at once, and the binding check then sends the later one elsewhere.
import { createServer, type Server } from 'node:net';

const loopback = '127.0.0.1';
const blockStartMin = 20_000;
const blockEndMax = 32_000;
const blockAttemptsMax = 50;

function listenOn(port: number): Promise<Server | undefined> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(undefined));
    server.listen({ port, host: loopback, exclusive: true }, () => resolve(server));
  });
}

function closeAll(servers: readonly Server[]): Promise<void> {
  return Promise.all(servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve())))).then(
    () => undefined,
  );
}

const portOf = (server: Server): number => (server.address() as { port: number }).port;

/** A port of the band free now, bound and held (tried at random, a bounded number of times). */
async function holdRandomPort(): Promise<Server> {
  for (let attempt = 0; attempt < blockAttemptsMax; attempt++) {
    const server = await listenOn(blockStartMin + Math.floor(Math.random() * (blockEndMax - blockStartMin)));
    if (server !== undefined) return server;
  }
  throw new Error(`freePorts: no free port in ${blockStartMin}-${blockEndMax} after ${blockAttemptsMax} tries`);
}

/** `count` distinct free loopback ports of the band, all held until every one is known, then released. */
export async function freePorts(count: number): Promise<number[]> {
  if (!Number.isInteger(count) || count < 1 || count > 1000)
    throw new RangeError(`freePorts: count must be 1..1000, got ${count}`);
  const servers: Server[] = [];
  try {
    for (let index = 0; index < count; index++) servers.push(await holdRandomPort());
    return servers.map(portOf);
  } finally {
    await closeAll(servers);
  }
}

/** One free loopback port of the band, released before it returns. */
export async function freePort(): Promise<number> {
  const [port] = await freePorts(1);
  return port as number;
}

/**
 * The first port of `length` consecutive loopback ports free now (each checked by binding it), for
 * commands that take port bases rather than ports; see the comment at the top for why 20000-32000.
 */
export async function freePortBlock(length: number): Promise<number> {
  if (!Number.isInteger(length) || length < 1 || length > 1000)
    throw new RangeError(`freePortBlock: length must be 1..1000, got ${length}`);
  for (let attempt = 0; attempt < blockAttemptsMax; attempt++) {
    const start = blockStartMin + Math.floor(Math.random() * (blockEndMax - blockStartMin - length));
    const held: Server[] = [];
    try {
      for (let port = start; port < start + length; port++) {
        const server = await listenOn(port);
        if (server === undefined) break;
        held.push(server);
      }
      if (held.length === length) return start;
    } finally {
      await closeAll(held);
    }
  }
  throw new Error(
    `freePortBlock: no ${length} consecutive free ports in ${blockStartMin}-${blockEndMax} after ${blockAttemptsMax} tries`,
  );
}

/**
 * Peer, HTTP and RESP port bases for a `--nodes N` run of `everwrite dev` or `everwrite bench`
 * (node i on base+i), inside one checked block (freePortBlock). A gap of one port between the runs
 * keeps the bases more than N apart, as `everwrite bench` requires.
 */
export async function freePortBases(nodes: number): Promise<{ peer: number; http: number; resp: number }> {
  const start = await freePortBlock(3 * nodes + 2);
  return { peer: start - 1, http: start + nodes, resp: start + 2 * nodes + 1 };
}
