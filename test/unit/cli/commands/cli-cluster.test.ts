// Why: `everwrite cluster status` and `everwrite cluster ring` are how an operator reads the view
// (decision 0015); the table must show each member's addresses, zone, weight, state, partitions
// and share, the view line, and a conflict when there is one; errors exit with the documented code (exit-codes.ts) and the reason.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  formatClusterRing,
  formatClusterStatus,
  runClusterRing,
  runClusterStatus,
} from '../../../../src/cli/commands/cluster.ts';

const status = {
  id: 'n1',
  members: [
    {
      id: 'n1',
      address: '127.0.0.1:7001',
      peer: '127.0.0.1:7001',
      http: '127.0.0.1:8001',
      zone: 'a',
      weight: 2,
      state: 'up',
      membership: 'valid',
      partitions: 32,
      share: 0.5,
    },
    {
      id: 'n2',
      address: '127.0.0.1:7002',
      peer: '127.0.0.1:7002',
      http: null,
      zone: null,
      weight: 1,
      state: 'down',
      membership: 'valid',
      partitions: 32,
      share: 0.5,
      lastHeardAgoMs: 1200,
    },
  ],
  view: { version: 3, partitionCount: 64, digest: 'ab'.repeat(16), conflict: null },
};

test('the status table has a row per member with every column, then the view line', () => {
  const lines = formatClusterStatus(status).split('\n');
  assert.match(lines[0]!, /^id\s+peer\s+http\s+zone\s+weight\s+state\s+partitions\s+ring\s+last heard$/);
  assert.match(lines[1]!, /^n1\*\s+127\.0\.0\.1:7001\s+127\.0\.0\.1:8001\s+a\s+2\s+up\s+32\s+50\.0%\s+-$/);
  assert.match(lines[2]!, /^n2\s+127\.0\.0\.1:7002\s+-\s+-\s+1\s+down\s+32\s+50\.0%\s+1200 ms$/);
  assert.match(lines[3]!, /view version 3, 64 partitions, digest (ab){16}/);
  const conflicted = formatClusterStatus({
    ...status,
    view: { ...status.view, conflict: { reason: 'partition count 64 here, 128 at n2' } },
  });
  assert.match(conflicted, /CONFLICT: n1 refuses to serve: partition count 64 here, 128 at n2/);
});

test('the ring lists each partition with its owner and zone', () => {
  const text = formatClusterRing({
    version: 2,
    partitionCount: 2,
    digest: 'cd'.repeat(16),
    members: [{ id: 'n1', zone: 'a' }, { id: 'n2' }],
    owners: [1, 0],
  });
  assert.deepEqual(
    text.split('\n').map((line) => line.replace(/\s+/g, ' ')),
    [`ring version 2, 2 partitions, digest ${'cd'.repeat(16)}`, 'partition owner zone', '0 n2 -', '1 n1 a'],
  );
});

test(
  'cluster status reads /admin/status from --node, and a failing node exits with its documented code and the reason',
  { timeout: 10_000 },
  async () => {
    const server = createServer((request, response) => {
      if (request.url === '/admin/status') {
        response.setHeader('content-type', 'application/json');
        response.end(JSON.stringify(status));
      } else {
        response.statusCode = 503;
        response.end('{"code":"EVERWRITE_UNAVAILABLE"}');
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const output: string[] = [];
    let exitCode = 0;
    const io = {
      stdout: { write: (chunk: string | Uint8Array) => output.push(String(chunk)) },
      stderr: { write: (chunk: string) => output.push(chunk) },
      readStdin: async () => new Uint8Array(),
      setExitCode: (code: number) => (exitCode = code),
      requestTimeoutMs: 5000,
    };
    try {
      await runClusterStatus({ node: base, json: true }, io);
      assert.deepEqual(JSON.parse(output.join('')), status);
      assert.equal(exitCode, 0);
      output.length = 0;
      await runClusterStatus({ node: `${base}/elsewhere/`, json: false }, io);
      assert.equal(exitCode, 0, 'the path of --node is replaced by /admin/status');
      await runClusterRing({ node: base, json: false }, io);
      assert.equal(exitCode, 4, 'a node answering 503 is unavailable');
      assert.match(output.join(''), /cluster ring: .*\/admin\/ring answered 503/);
      exitCode = 0;
      await runClusterStatus({ node: 'not a url', json: false }, io);
      assert.equal(exitCode, 2, 'a bad --node is a usage error');
      assert.match(output.join(''), /--node must be a URL/);
    } finally {
      server.close();
    }
  },
);
