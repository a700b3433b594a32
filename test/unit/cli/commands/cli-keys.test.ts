// Why: `everwrite keys` is how an operator lists a bucket (decision 0030). Run in-process against a
// real HTTP server over the fake service, its output (one key per line, or the node's JSON lines)
// and its exit codes (decision 0024: 0 complete, 4 partial, cut or unreachable, 1 refused, 2 usage)
// are pinned here.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { EverwriteError } from '../../../../src/core/base/errors.ts';
import { runKeys } from '../../../../src/cli/commands/keys.ts';
import type { CommandIo } from '../../../../src/cli/command-io.ts';
import { withHarness } from '../../api/http/http-harness.ts';

const bounded = { timeout: 20_000 };

function captureIo(requestTimeoutMs = 5000): CommandIo & { exitCode?: number; out: string; err: string } {
  const io: CommandIo & { exitCode?: number; out: string; err: string } = {
    out: '',
    err: '',
    stdout: { write: (chunk: string | Uint8Array) => (io.out += chunk.toString()) },
    stderr: { write: (chunk: string) => (io.err += chunk) },
    readStdin: () => Promise.resolve(new Uint8Array(0)),
    setExitCode: (code: number) => (io.exitCode = code),
    requestTimeoutMs,
  };
  return io;
}

test("keys prints one key per line and exits 0; --json prints the node's lines", bounded, () =>
  withHarness(async (harness) => {
    for (const key of ['b', 'a', 'c/d'])
      await harness.fake.put({ bucket: 'my bucket', key, value: new Uint8Array([1]), contentType: 'text/plain' });
    const io = captureIo();
    assert.equal(await runKeys({ bucket: 'my bucket', node: harness.base, json: false }, io), 0);
    assert.equal(io.out, 'a\nb\nc/d\n');
    assert.equal(io.exitCode, 0);
    const json = captureIo();
    assert.equal(await runKeys({ bucket: 'my bucket', node: harness.base, json: true }, json), 0);
    assert.deepEqual(
      json.out
        .trimEnd()
        .split('\n')
        .map((line) => JSON.parse(line) as unknown),
      [{ keys: ['a', 'b', 'c/d'] }, { done: true, partial: null }],
    );
  }),
);

test(
  'a partial listing or a failure after the start exits 4 with the reason on stderr, after printing what was listed',
  bounded,
  () =>
    withHarness(async (harness) => {
      await harness.fake.put({ bucket: 'carts', key: 'a', value: new Uint8Array([1]), contentType: 'text/plain' });
      harness.fake.listingMissingPartitions = [2];
      const partial = captureIo();
      assert.equal(await runKeys({ bucket: 'carts', node: harness.base, json: false }, partial), 4);
      assert.equal(partial.out, 'a\n');
      assert.match(partial.err, /EVERWRITE_PARTIAL_LISTING/);
      harness.fake.listingMissingPartitions = [];
      for (let index = 0; index < 1500; index++)
        await harness.fake.put({
          bucket: 'big',
          key: `k${index}`,
          value: new Uint8Array([1]),
          contentType: 'text/plain',
        });
      harness.fake.failNext('listKeys', new EverwriteError('EVERWRITE_TIMEOUT', 'a replica did not answer'));
      const failed = captureIo();
      assert.equal(await runKeys({ bucket: 'big', node: harness.base, json: false }, failed), 4);
      assert.equal(failed.out.split('\n').length - 1, 1000);
      assert.match(failed.err, /a replica did not answer \[EVERWRITE_TIMEOUT\]/);
    }),
);

test(
  'a refused request exits 1, a bad --node 2, an unreachable node 4, a node that goes silent 4, a cut stream 4',
  bounded,
  () =>
    withHarness(async (harness) => {
      const refused = captureIo();
      assert.equal(await runKeys({ bucket: 'b'.repeat(300), node: harness.base, json: false }, refused), 1);
      assert.match(refused.err, /EVERWRITE_BAD_REQUEST, HTTP 400/);
      assert.equal(await runKeys({ bucket: 'b', node: 'ftp://x', json: false }, captureIo()), 2);
      const down = captureIo();
      assert.equal(await runKeys({ bucket: 'b', node: 'http://127.0.0.1:1', json: false }, down), 4);
      // A node that sends the head and one page, then nothing (silent), or closes without the last line (cut).
      const server = createServer((request, response) => {
        response.writeHead(200, { 'content-type': 'application/x-ndjson' });
        response.write('{"keys":["x"]}\n');
        if (request.url?.startsWith('/cut/') === true) response.end();
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      const port = (server.address() as { port: number }).port;
      try {
        const silent = captureIo(300);
        assert.equal(await runKeys({ bucket: 'b', node: `http://127.0.0.1:${port}`, json: false }, silent), 4);
        assert.match(silent.err, /no answer from .* within 300 ms/);
        const cut = captureIo();
        assert.equal(await runKeys({ bucket: 'b', node: `http://127.0.0.1:${port}/cut`, json: false }, cut), 4);
        assert.equal(cut.out, 'x\n');
        assert.match(cut.err, /cut before its end/);
      } finally {
        server.closeAllConnections();
        await new Promise((resolve) => server.close(resolve));
      }
    }),
);

test(
  'keys sends the credentials of EVERWRITE_USER and EVERWRITE_PASSWORD, as every command that talks to a node does',
  bounded,
  async () => {
    const seen: Array<string | undefined> = [];
    const server = createServer((request, response) => {
      seen.push(request.headers.authorization);
      response
        .writeHead(200, { 'content-type': 'application/x-ndjson' })
        .end('{"keys":["x"]}\n{"done":true,"partial":null}\n');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const saved = [process.env.EVERWRITE_USER, process.env.EVERWRITE_PASSWORD, process.env.EVERWRITE_TOKEN];
    try {
      delete process.env.EVERWRITE_TOKEN;
      process.env.EVERWRITE_USER = 'ops';
      process.env.EVERWRITE_PASSWORD = 'pw-1';
      const io = captureIo();
      assert.equal(
        await runKeys(
          { bucket: 'b', node: `http://127.0.0.1:${(server.address() as { port: number }).port}`, json: false },
          io,
        ),
        0,
        io.err,
      );
      assert.equal(io.out, 'x\n');
      assert.deepEqual(seen, [`Basic ${Buffer.from('ops:pw-1').toString('base64')}`]);
    } finally {
      const names = ['EVERWRITE_USER', 'EVERWRITE_PASSWORD', 'EVERWRITE_TOKEN'];
      names.forEach((name, index) =>
        saved[index] === undefined ? delete process.env[name] : (process.env[name] = saved[index]),
      );
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  },
);
