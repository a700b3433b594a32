// Why: the bench end to end against stand-in nodes on loopback (no cluster): over HTTP it must set
// the bucket props and wait for them, write every record in the load phase, send a read-modify-
// write's context back on its write, run for the duration and stop by itself, print exactly one
// JSON object and write the SVG plot; over RESP it must speak GET and SET and name an error reply
// by its code. Bounded: 1 s runs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type ServerResponse } from 'node:http';
import { createServer as createTcpServer, type AddressInfo, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runBenchCommand } from '../../../../src/cli/commands/bench.ts';
import type { BenchResult } from '../../../../src/cli/bench/report.ts';

function quietIo() {
  const out = { stdout: '', stderr: '' };
  const io = {
    stdout: { write: (chunk: string) => (out.stdout += chunk) },
    stderr: Object.assign(Object.create(process.stderr) as NodeJS.WriteStream, {
      isTTY: false,
      write: (chunk: string) => ((out.stderr += chunk), true),
    }),
  };
  return { out, io };
}

test(
  'bench --target over HTTP: props, load phase, workload F with contexts, one JSON object and an SVG',
  { timeout: 20_000 },
  async () => {
    let props: Record<string, unknown> = { n: 3, r: 2, w: 2, resolver: 'siblings', durability: 'durable' };
    const written = new Map<string, number>();
    let writesWithContext = 0;
    let writesWithWrongContext = 0;
    const issuedContexts = new Set<string>();
    const server = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        const url = request.url ?? '';
        if (url === '/buckets/bench/props') {
          if (request.method === 'PUT')
            props = { ...props, ...(JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>) };
          response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(props));
        } else if (request.method === 'PUT') {
          const context = request.headers['x-everwrite-context'];
          if (context !== undefined) {
            writesWithContext++;
            // Concurrent read-modify-writes of one key may carry an older context, never another key's.
            if (!issuedContexts.has(String(context)) || !String(context).startsWith(`ctx-${url}-`))
              writesWithWrongContext++;
          }
          written.set(url, (written.get(url) ?? 0) + 1);
          response.writeHead(204).end();
        } else if (written.has(url)) {
          const context = `ctx-${url}-${written.get(url)}`;
          issuedContexts.add(context);
          response.writeHead(200, { 'x-everwrite-context': context }).end(Buffer.alloc(64));
        } else {
          response
            .writeHead(404, { 'content-type': 'application/json' })
            .end('{"code":"EVERWRITE_NOT_FOUND","message":"key not found"}');
        }
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const target = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const directory = mkdtempSync(join(tmpdir(), 'everwrite-bench-test-'));
    const { out, io } = quietIo();
    try {
      const startedMs = performance.now();
      const svg = join(directory, 'plot.svg');
      const result: BenchResult = await runBenchCommand(
        {
          target,
          workload: 'F',
          duration: '1',
          clients: '4',
          records: '50',
          valueSize: '64',
          durability: 'buffered',
          json: true,
          progress: false,
          svg,
        },
        io,
      );
      const elapsedMs = performance.now() - startedMs;
      assert.ok(elapsedMs >= 1000 && elapsedMs < 10_000, String(elapsedMs));
      assert.deepEqual(props, { n: 3, r: 2, w: 2, resolver: 'lww', durability: 'buffered' });
      assert.equal(out.stdout.trim().split('\n').length, 1);
      const printed = JSON.parse(out.stdout) as BenchResult;
      assert.deepEqual(printed, JSON.parse(JSON.stringify(result)));
      assert.deepEqual(printed.load, { records: 50, seconds: printed.load?.seconds, errors: 0 });
      assert.equal(written.size, 50, 'the load phase writes every record, and the run only those');
      assert.deepEqual(Object.keys(printed.operations).sort(), ['read', 'readModifyWrite']);
      assert.equal(printed.operations['read']?.notFound, 0);
      assert.equal(printed.errors.total, 0);
      assert.ok(
        writesWithContext > 0 && writesWithContext === printed.operations['readModifyWrite']?.ok,
        `${writesWithContext}`,
      );
      assert.equal(writesWithWrongContext, 0);
      assert.ok(printed.timeline.length >= 1 && printed.timeline.length <= 2);
      assert.ok(typeof printed.cpu?.generatorSeconds === 'number');
      assert.match(readFileSync(svg, 'utf8'), /^<svg /);
      assert.match(out.stderr, /plotted in/);
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      rmSync(directory, { recursive: true, force: true });
    }
  },
);

/**
 * A TCP server that reads RESP commands off each connection and hands each one, in order, to the
 * handler `connected` made for that connection (which keeps the connection's own state).
 */
function respServer(connected: (socket: Socket) => (args: string[]) => void) {
  return createTcpServer((socket: Socket) => {
    const handle = connected(socket);
    let buffer = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk]);
      for (;;) {
        const parsed = parseCommand(buffer);
        if (parsed === undefined) return;
        buffer = buffer.subarray(parsed.bytes);
        handle(parsed.args);
      }
    });
    socket.on('error', () => undefined);
  });
}

/** A RESP stand-in: SET stores, GET answers the value or nil, every 10th SET answers -BUSY. */
function respStub() {
  const values = new Map<string, Buffer>();
  let sets = 0;
  const server = respServer((socket) => ([name, key, value]) => {
    if (name === 'GET') {
      const held = values.get(key as string);
      socket.write(
        held === undefined ? '$-1\r\n' : Buffer.concat([Buffer.from(`$${held.length}\r\n`), held, Buffer.from('\r\n')]),
      );
    } else if (name === 'SET' && ++sets % 10 === 0) socket.write('-BUSY EVERWRITE_RATE_LIMITED: too many requests\r\n');
    else {
      values.set(key as string, Buffer.from(value ?? '', 'latin1'));
      socket.write('+OK\r\n');
    }
  });
  return { server, values };
}

function parseCommand(buffer: Buffer): { args: string[]; bytes: number } | undefined {
  const text = buffer.toString('latin1');
  const header = /^\*(\d+)\r\n/.exec(text);
  if (header === null) return undefined;
  let position = header[0].length;
  const args: string[] = [];
  for (let index = 0; index < Number(header[1]); index++) {
    const length = /^\$(\d+)\r\n/.exec(text.slice(position));
    if (length === null) return undefined;
    position += length[0].length;
    if (text.length < position + Number(length[1]) + 2) return undefined;
    args.push(text.slice(position, position + Number(length[1])));
    position += Number(length[1]) + 2;
  }
  return { args, bytes: position };
}

test(
  'bench over RESP: GET and SET on the redis bucket, an error reply counted by its code',
  { timeout: 20_000 },
  async () => {
    let props: Record<string, unknown> = {};
    const http = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        assert.equal(request.url, '/buckets/redis/props');
        if (request.method === 'PUT')
          props = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
        response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(props));
      });
    });
    const resp = respStub();
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    await new Promise<void>((resolve) => resp.server.listen(0, '127.0.0.1', resolve));
    const { out, io } = quietIo();
    try {
      const result = await runBenchCommand(
        {
          target: `http://127.0.0.1:${(http.address() as AddressInfo).port}`,
          protocol: 'resp',
          respTarget: `127.0.0.1:${(resp.server.address() as AddressInfo).port}`,
          workload: 'A',
          distribution: 'uniform',
          duration: '1',
          clients: '2',
          records: '20',
          valueSize: '16',
          progress: false,
        },
        io,
      );
      assert.equal(props['resolver'], 'lww');
      assert.ok(resp.values.size > 0 && resp.values.size <= 20);
      assert.ok([...resp.values.values()].every((value) => value.length === 16));
      assert.ok((result.operations['read']?.ok ?? 0) > 0 && (result.operations['update']?.ok ?? 0) > 0);
      assert.deepEqual(Object.keys(result.errors.byKind), ['RESP EVERWRITE_RATE_LIMITED']);
      assert.ok(result.errors.total > 0 && result.errors.total === result.operations['update']?.errors);
      assert.match(out.stdout, /over resp/);
      assert.match(out.stdout, /RESP EVERWRITE_RATE_LIMITED: \d+/);
    } finally {
      http.closeAllConnections();
      await new Promise((resolve) => http.close(resolve));
      await new Promise((resolve) => resp.server.close(resolve));
    }
  },
);

/** A RESP stand-in with users: every command but AUTH is -NOAUTH until `AUTH ops pw` on that connection. */
function securedRespStub() {
  const logins: string[] = [];
  let commands = 0;
  const server = respServer((socket) => {
    let loggedIn = false;
    return ([name, ...rest]) => {
      commands++;
      if (name === 'AUTH') {
        logins.push(rest.join(' '));
        loggedIn = rest[0] === 'ops' && rest[1] === 'pw';
        socket.write(loggedIn ? '+OK\r\n' : '-WRONGPASS invalid username-password pair or user is disabled.\r\n');
      } else if (!loggedIn) socket.write('-NOAUTH Authentication required.\r\n');
      else socket.write(name === 'GET' ? '$-1\r\n' : '+OK\r\n');
    };
  });
  return { server, logins, commands: () => commands };
}

/** Whether an Authorization header is Basic for the user ops (any password: RESP checks those). */
function basicForOps(header: string | undefined): boolean {
  return header?.startsWith('Basic ') === true && Buffer.from(header.slice(6), 'base64').toString().startsWith('ops:');
}

/** Props over HTTP that need Basic credentials of ops (401 otherwise), already as the bench wants them. */
function securedPropsServer(onKeyRequest: (response: ServerResponse) => void) {
  let propsPuts = 0;
  let keyRequests = 0;
  const server = createServer((request, response) => {
    request.resume();
    request.on('end', () => {
      if (!basicForOps(request.headers.authorization)) {
        response.writeHead(401, { 'content-type': 'application/json' });
        response.end('{"code":"EVERWRITE_UNAUTHENTICATED","message":"credentials needed"}');
      } else if ((request.url ?? '').endsWith('/props')) {
        if (request.method === 'PUT') propsPuts++;
        const props = { n: 3, r: 2, w: 2, durability: 'durable', resolver: 'lww' };
        response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(props));
      } else {
        keyRequests++;
        onKeyRequest(response);
      }
    });
  });
  return { server, propsPuts: () => propsPuts, keyRequests: () => keyRequests };
}

const benchEnvironment = { EVERWRITE_USER: 'ops', EVERWRITE_PASSWORD: 'pw' };
const shortRun = { duration: '1', clients: '4', records: '20', valueSize: '16', progress: false } as const;

test(
  'bench --target over RESP logs each connection in with AUTH from EVERWRITE_USER and EVERWRITE_PASSWORD',
  {
    timeout: 20_000,
  },
  async () => {
    const http = securedPropsServer((response) => response.writeHead(204).end());
    const resp = securedRespStub();
    await new Promise<void>((resolve) => http.server.listen(0, '127.0.0.1', resolve));
    await new Promise<void>((resolve) => resp.server.listen(0, '127.0.0.1', resolve));
    try {
      const flags = {
        target: `http://127.0.0.1:${(http.server.address() as AddressInfo).port}`,
        protocol: 'resp',
        respTarget: `127.0.0.1:${(resp.server.address() as AddressInfo).port}`,
        ...shortRun,
      };
      const result = await runBenchCommand(flags, quietIo().io, benchEnvironment);
      assert.equal(result.errors.total, 0, JSON.stringify(result.errors));
      assert.ok((result.operations['read']?.notFound ?? 0) + (result.operations['update']?.ok ?? 0) > 0);
      // One login per connection (one connection per client), never one per command.
      assert.deepEqual(resp.logins, ['ops pw', 'ops pw', 'ops pw', 'ops pw']);
      assert.equal(http.propsPuts(), 0, 'props already as wanted: only read');
      // A token cannot log in over RESP: refused before anything is sent.
      await assert.rejects(
        runBenchCommand(flags, quietIo().io, { EVERWRITE_TOKEN: 'ew_x' }),
        /set EVERWRITE_USER and EVERWRITE_PASSWORD/,
      );
      const before = resp.commands();
      await assert.rejects(
        runBenchCommand({ ...flags, records: '5000' }, quietIo().io, { ...benchEnvironment, EVERWRITE_PASSWORD: 'no' }),
        (error: Error) => /were not accepted/.test(error.message) && /RESP WRONGPASS/.test(error.message),
      );
      // Refused at the first logins: a handful of commands, not the load phase's 5000 writes.
      assert.ok(resp.commands() - before <= 16, `${resp.commands() - before} commands`);
    } finally {
      http.server.closeAllConnections();
      await new Promise((resolve) => http.server.close(resolve));
      await new Promise((resolve) => resp.server.close(resolve));
    }
  },
);

test(
  'bench --target without credentials, or with a user lacking a role, ends at once with one line naming the variables',
  {
    timeout: 20_000,
  },
  async () => {
    const http = securedPropsServer((response) =>
      response
        .writeHead(403, { 'content-type': 'application/json' })
        .end('{"code":"EVERWRITE_FORBIDDEN","message":"no write role"}'),
    );
    await new Promise<void>((resolve) => http.server.listen(0, '127.0.0.1', resolve));
    const target = `http://127.0.0.1:${(http.server.address() as AddressInfo).port}`;
    try {
      for (const httpClient of ['node-http', 'fetch']) {
        await assert.rejects(
          runBenchCommand({ target, httpClient, ...shortRun }, quietIo().io, {}),
          (error: Error & { exitCode?: number }) =>
            error.exitCode === 1 &&
            /HTTP 401 EVERWRITE_UNAUTHENTICATED/.test(error.message) &&
            /set EVERWRITE_USER and EVERWRITE_PASSWORD \(or EVERWRITE_TOKEN\)/.test(error.message),
        );
        assert.equal(http.keyRequests(), 0, 'stopped at the props, before any key request');
      }
      for (const [protocol, code, load] of [
        ['http', 'HTTP 403 EVERWRITE_FORBIDDEN', true],
        ['client', 'EVERWRITE_FORBIDDEN', true],
        // Without the load phase the run phase meets the refusal, and stops as soon.
        ['http', 'HTTP 403 EVERWRITE_FORBIDDEN', false],
      ] as const) {
        const before = http.keyRequests();
        await assert.rejects(
          runBenchCommand({ target, protocol, ...shortRun, records: '5000', load }, quietIo().io, benchEnvironment),
          (error: Error) => error.message.includes(`(${code})`) && /lacks a role/.test(error.message),
        );
        // The load phase stops at the first refusal: about one request per client, not 5000.
        assert.ok(http.keyRequests() - before <= 16, `${http.keyRequests() - before} key requests`);
      }
    } finally {
      http.server.closeAllConnections();
      await new Promise((resolve) => http.server.close(resolve));
    }
  },
);
