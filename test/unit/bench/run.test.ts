// Why: the bench end to end against a stand-in node on loopback (no cluster): it must set the
// bucket props and wait for them, run its workers for the duration and stop by itself, and print
// exactly one JSON object with the figures. Bounded: a 1 s run.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { runBenchCommand } from '../../../src/cli/commands/bench.ts';
import type { BenchResult } from '../../../src/cli/bench/report.ts';

test('bench --target sets the props, runs for the duration and prints one JSON object', { timeout: 20_000 }, async () => {
  let props: Record<string, unknown> = { n: 3, r: 2, w: 2, resolver: 'siblings', durability: 'durable' };
  const written = new Set<string>();
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const url = request.url ?? '';
      if (url === '/buckets/bench/props') {
        if (request.method === 'PUT') props = { ...props, ...(JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>) };
        response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(props));
      } else if (request.method === 'PUT') {
        written.add(url);
        response.writeHead(204).end();
      } else if (written.has(url)) {
        response.writeHead(200).end(Buffer.alloc(64));
      } else {
        response.writeHead(404, { 'content-type': 'application/json' }).end('{"code":"EVERWRITE_NOT_FOUND","message":"key not found"}');
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const target = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  let stdout = '';
  let stderr = '';
  try {
    const startedMs = performance.now();
    const result: BenchResult = await runBenchCommand(
      { target, duration: '1', clients: '4', keys: '50', valueSize: '64', durability: 'buffered', json: true, progress: false },
      { stdout: { write: (chunk: string) => (stdout += chunk) }, stderr: Object.assign(Object.create(process.stderr) as NodeJS.WriteStream, { isTTY: false, write: (chunk: string) => ((stderr += chunk), true) }) },
    );
    const elapsedMs = performance.now() - startedMs;
    assert.ok(elapsedMs >= 1000 && elapsedMs < 10_000, String(elapsedMs));
    assert.deepEqual(props, { n: 3, r: 2, w: 2, resolver: 'lww', durability: 'buffered' });
    assert.equal(stdout.trim().split('\n').length, 1);
    const printed = JSON.parse(stdout) as BenchResult;
    assert.deepEqual(printed, JSON.parse(JSON.stringify(result)));
    assert.ok(printed.operations.total > 0);
    assert.equal(printed.errors.total, 0);
    assert.ok(printed.operations.readsNotFound > 0 && printed.operations.readsNotFound <= printed.operations.reads);
    assert.ok(written.size > 0 && written.size <= 50);
    assert.deepEqual(printed.settings['targets'], [target]);
    assert.ok(printed.latencyMs.all.count === printed.operations.total);
    assert.ok(typeof printed.cpu?.generatorSeconds === 'number');
    assert.equal(stderr, '');
  } finally {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});
