// Why: both bench HTTP clients must report the same outcomes (status, the node's error code, a
// socket error) and must abort a request that hangs when swept, counting it as `timeout`, so one
// stuck node cannot stall a worker past the run, and both must send the credentials they are given
// (a secured --target, decision 0025). Loopback server on an OS-chosen port, bounded.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createBenchHttp } from '../../../../src/cli/bench/http-clients.ts';

/** A loopback port nothing listens on (fetch refuses well-known "bad ports" such as 1 outright). */
async function closedPort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const port = (probe.address() as AddressInfo).port;
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

async function withServer(body: (baseUrl: string) => Promise<void>): Promise<void> {
  const server = createServer((request, response) => {
    request.resume();
    request.once('end', () => {
      if (request.url === '/hang') return; // never answers
      if (request.url === '/secured' && request.headers.authorization !== 'Basic b3BzOnB3') {
        response
          .writeHead(401, { 'content-type': 'application/json' })
          .end('{"code":"EVERWRITE_UNAUTHENTICATED","message":"credentials needed"}');
        return;
      }
      if (request.url === '/missing') {
        response
          .writeHead(404, { 'content-type': 'application/json' })
          .end('{"code":"EVERWRITE_NOT_FOUND","message":"key not found"}');
      } else if (request.url === '/busy') {
        response
          .writeHead(503, { 'content-type': 'application/json' })
          .end('{"code":"EVERWRITE_QUORUM_NOT_MET","message":"1 of 2"}');
      } else if (request.method === 'PUT') {
        response.writeHead(204).end();
      } else {
        response.writeHead(200, { 'content-type': 'application/octet-stream' }).end(Buffer.alloc(2048, 7));
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    await body(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
  } finally {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
}

for (const kind of ['node-http', 'fetch'] as const) {
  test(`${kind}: statuses, error codes and refused connections`, async () => {
    await withServer(async (baseUrl) => {
      const http = createBenchHttp(kind, [baseUrl, `http://127.0.0.1:${await closedPort()}`], 4);
      try {
        assert.deepEqual(await http.send({ method: 'GET', target: 0, path: '/value' }), { status: 200 });
        assert.deepEqual(await http.send({ method: 'PUT', target: 0, path: '/value', body: new Uint8Array(1024) }), {
          status: 204,
        });
        assert.deepEqual(await http.send({ method: 'GET', target: 0, path: '/missing' }), { status: 404 });
        assert.deepEqual(await http.send({ method: 'PUT', target: 0, path: '/busy', body: new Uint8Array(1) }), {
          status: 503,
          code: 'EVERWRITE_QUORUM_NOT_MET',
        });
        assert.deepEqual(await http.send({ method: 'GET', target: 1, path: '/value' }), { code: 'ECONNREFUSED' });
      } finally {
        http.close();
      }
    });
  });

  test(`${kind}: a hanging request is aborted by the sweep and counted as a timeout`, { timeout: 10_000 }, async () => {
    await withServer(async (baseUrl) => {
      const http = createBenchHttp(kind, [baseUrl], 4);
      try {
        const pending = http.send({ method: 'GET', target: 0, path: '/hang' });
        await new Promise((resolve) => setTimeout(resolve, 50));
        assert.equal(http.abortOverdue(performance.now(), 10_000), 0, 'not overdue yet');
        assert.equal(http.abortOverdue(performance.now(), 20), 1);
        assert.deepEqual(await pending, { code: 'timeout' });
        // The client still works afterwards.
        assert.deepEqual(await http.send({ method: 'GET', target: 0, path: '/value' }), { status: 200 });
      } finally {
        http.close();
      }
    });
  });

  test(`${kind}: sends the Authorization header it is given on every request, and none without`, async () => {
    await withServer(async (baseUrl) => {
      const secured = createBenchHttp(kind, [baseUrl], 4, { authorization: 'Basic b3BzOnB3', ca: undefined });
      const open = createBenchHttp(kind, [baseUrl], 4);
      try {
        for (const method of ['GET', 'PUT'] as const) {
          const body = method === 'PUT' ? { body: new Uint8Array(8) } : {};
          assert.deepEqual(await secured.send({ method, target: 0, path: '/secured', ...body }), {
            status: method === 'PUT' ? 204 : 200,
          });
          assert.deepEqual(await open.send({ method, target: 0, path: '/secured', ...body }), {
            status: 401,
            code: 'EVERWRITE_UNAUTHENTICATED',
          });
        }
      } finally {
        secured.close();
        open.close();
      }
    });
  });
}
