// Why: `everwrite get|put|delete` are the operator's way in. They are run in-process against a real
// HTTP server over the fake service, so what they print and their exit codes are pinned for every
// answer the API can give: a value, siblings, not found (with and without a tombstone), node errors,
// an unreachable node and bad arguments.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer } from 'node:http';
import { Command } from 'commander';
import { EverwriteError } from '../../../../src/core/base/errors.ts';
import { registerKvCommands, runDelete, runGet, runPut } from '../../../../src/cli/commands/kv.ts';
import type { CommandIo } from '../../../../src/cli/command-io.ts';
import { startHarness } from '../../api/http/http-harness.ts';
import type { Harness } from '../../api/http/http-harness.ts';

const bounded = { timeout: 10_000 };

interface CapturedIo extends CommandIo {
  readonly stdoutChunks: Uint8Array[];
  readonly stderrText: string[];
  exitCode: number | undefined;
  out(): string;
  err(): string;
}

function captureIo(options: { stdin?: Uint8Array; isTTY?: boolean; requestTimeoutMs?: number } = {}): CapturedIo {
  const io: CapturedIo = {
    stdoutChunks: [],
    stderrText: [],
    exitCode: undefined,
    stdout: {
      isTTY: options.isTTY ?? false,
      write: (chunk: string | Uint8Array) =>
        io.stdoutChunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk),
    },
    stderr: { write: (chunk: string) => io.stderrText.push(chunk) },
    readStdin: () => Promise.resolve(options.stdin ?? new Uint8Array(0)),
    setExitCode: (code: number) => (io.exitCode = code),
    requestTimeoutMs: options.requestTimeoutMs ?? 5000,
    out: () => Buffer.concat(io.stdoutChunks).toString(),
    err: () => io.stderrText.join(''),
  };
  return io;
}

async function withHarness(body: (harness: Harness) => Promise<void>): Promise<void> {
  const harness = await startHarness();
  try {
    await body(harness);
  } finally {
    await harness.close();
  }
}

test('put prints the new context and get prints the value on stdout and the context on stderr', bounded, () =>
  withHarness(async (harness) => {
    const putIo = captureIo();
    assert.equal(await runPut({ bucket: 'users', key: 'alice', node: harness.base, value: 'hello' }, putIo), 0);
    assert.equal(putIo.exitCode, 0);
    assert.equal(putIo.out(), 'fake.1\n');
    assert.equal(harness.fake.calls.at(-1)?.contentType, 'text/plain; charset=utf-8');
    const getIo = captureIo();
    assert.equal(await runGet({ bucket: 'users', key: 'alice', node: harness.base, json: false }, getIo), 0);
    assert.equal(getIo.out(), 'hello');
    assert.equal(getIo.err(), 'context: fake.1\n');
    const terminalIo = captureIo({ isTTY: true });
    await runGet({ bucket: 'users', key: 'alice', node: harness.base, json: false }, terminalIo);
    assert.equal(
      terminalIo.out(),
      'hello\n',
      'a terminal gets a final newline so the prompt does not stick to the value',
    );
  }),
);

test('put passes --context, --content-type and --w, and reads --file and standard input', bounded, () =>
  withHarness(async (harness) => {
    const directory = await mkdtemp(join(tmpdir(), 'everwrite-cli-'));
    try {
      const path = join(directory, 'value.bin');
      await writeFile(path, new Uint8Array([0, 1, 2, 255]));
      assert.equal(
        await runPut({ bucket: 'b', key: 'k', node: harness.base, file: path, w: 2, context: 'fake.9' }, captureIo()),
        0,
      );
      const fromFile = harness.fake.calls.at(-1);
      assert.deepEqual(fromFile?.value, new Uint8Array([0, 1, 2, 255]));
      assert.equal(fromFile?.contentType, 'application/octet-stream');
      assert.deepEqual(fromFile?.options, { w: 2 });
      assert.equal(fromFile?.context, 'fake.9');
      const stdinIo = captureIo({ stdin: Buffer.from('{"a":1}') });
      assert.equal(
        await runPut(
          { bucket: 'b', key: 'k', node: harness.base, file: '-', contentType: 'application/json' },
          stdinIo,
        ),
        0,
      );
      assert.deepEqual(Buffer.from(harness.fake.calls.at(-1)?.value ?? []).toString(), '{"a":1}');
      assert.equal(harness.fake.calls.at(-1)?.contentType, 'application/json');
    } finally {
      await rm(directory, { recursive: true, force: true });
    }
  }),
);

test('get prints each sibling numbered with its content type and lastModified, then the context', bounded, () =>
  withHarness(async (harness) => {
    await runPut({ bucket: 'b', key: 'k', node: harness.base, value: 'left' }, captureIo());
    await runPut(
      { bucket: 'b', key: 'k', node: harness.base, value: 'right', contentType: 'text/x-right' },
      captureIo(),
    );
    await runDelete({ bucket: 'b', key: 'k', node: harness.base }, captureIo());
    const io = captureIo();
    assert.equal(await runGet({ bucket: 'b', key: 'k', node: harness.base, json: false }, io), 0);
    assert.equal(
      io.out(),
      '3 siblings (concurrent versions):\n' +
        '[1] text/plain; charset=utf-8, last modified 2025-01-02T03:04:05.678Z\nleft\n' +
        '[2] text/x-right, last modified 2025-01-02T03:04:05.678Z\nright\n' +
        '[3] deleted, last modified 2025-01-02T03:04:05.678Z\n',
    );
    assert.equal(io.err(), 'context: fake.1.2.3 (put with this context to resolve the siblings)\n');
  }),
);

test('get --json prints one {context, siblings} document for a value and for siblings', bounded, () =>
  withHarness(async (harness) => {
    await runPut({ bucket: 'b', key: 'k', node: harness.base, value: 'v', contentType: 'text/plain' }, captureIo());
    const single = captureIo();
    await runGet({ bucket: 'b', key: 'k', node: harness.base, json: true }, single);
    // Last-Modified has one-second resolution, so the milliseconds are lost on a 200.
    assert.deepEqual(JSON.parse(single.out()), {
      context: 'fake.1',
      siblings: [{ value: 'dg==', contentType: 'text/plain', lastModified: '2025-01-02T03:04:05.000Z' }],
    });
    await runPut({ bucket: 'b', key: 'k', node: harness.base, value: 'w', contentType: 'text/plain' }, captureIo());
    const siblings = captureIo();
    await runGet({ bucket: 'b', key: 'k', node: harness.base, json: true }, siblings);
    const body = JSON.parse(siblings.out()) as { context: string; siblings: unknown[] };
    assert.equal(body.context, 'fake.1.2');
    assert.equal(body.siblings.length, 2);
  }),
);

test(
  'get of a missing key exits 3 with the server code; a deleted key also prints the tombstone context',
  bounded,
  () =>
    withHarness(async (harness) => {
      const missing = captureIo();
      assert.equal(await runGet({ bucket: 'b', key: 'nothing', node: harness.base, json: false }, missing), 3);
      assert.equal(missing.exitCode, 3);
      assert.equal(missing.out(), '');
      assert.equal(missing.err(), 'everwrite: key not found [EVERWRITE_NOT_FOUND, HTTP 404]\n');
      const written = captureIo();
      await runPut({ bucket: 'b', key: 'k', node: harness.base, value: 'v' }, written);
      const deleted = captureIo();
      assert.equal(
        await runDelete({ bucket: 'b', key: 'k', node: harness.base, context: written.out().trim() }, deleted),
        0,
      );
      assert.equal(deleted.out(), 'fake.1.2\n');
      const gone = captureIo();
      assert.equal(await runGet({ bucket: 'b', key: 'k', node: harness.base, json: false }, gone), 3);
      assert.match(
        gone.err(),
        /^everwrite: key is deleted \[EVERWRITE_NOT_FOUND, HTTP 404\]\n/,
        "the node's own words for a deleted key",
      );
      assert.match(
        gone.err(),
        /context: fake\.2 \(the key is deleted; put with this context to supersede the delete\)/,
      );
    }),
);

test(
  '--json prints JSON on stdout for every outcome that has data: a missing or deleted key, a put, a delete',
  bounded,
  () =>
    withHarness(async (harness) => {
      const missing = captureIo();
      assert.equal(await runGet({ bucket: 'b', key: 'nothing', node: harness.base, json: true }, missing), 3);
      assert.deepEqual(JSON.parse(missing.out()), { context: '', siblings: [] });
      assert.equal(missing.err(), 'everwrite: key not found [EVERWRITE_NOT_FOUND, HTTP 404]\n');
      const written = captureIo();
      assert.equal(await runPut({ bucket: 'b', key: 'k', node: harness.base, value: 'v', json: true }, written), 0);
      assert.deepEqual(JSON.parse(written.out()), { context: 'fake.1' });
      const deleted = captureIo();
      assert.equal(
        await runDelete({ bucket: 'b', key: 'k', node: harness.base, context: 'fake.1', json: true }, deleted),
        0,
      );
      assert.deepEqual(JSON.parse(deleted.out()), { context: 'fake.1.2' });
      const gone = captureIo();
      assert.equal(await runGet({ bucket: 'b', key: 'k', node: harness.base, json: true }, gone), 3);
      assert.deepEqual(
        JSON.parse(gone.out()),
        { context: 'fake.2', siblings: [] },
        'a deleted key gives its tombstone context, to supersede the delete',
      );
    }),
);

test('a node error is printed with its code and status: quorum not met exits 4, a refused request 1', bounded, () =>
  withHarness(async (harness) => {
    harness.fake.failNext(
      'put',
      new EverwriteError('EVERWRITE_QUORUM_NOT_MET', 'only 1 of 2 replicas acknowledged', { replied: 1 }),
    );
    const io = captureIo();
    assert.equal(await runPut({ bucket: 'b', key: 'k', node: harness.base, value: 'v' }, io), 4);
    assert.equal(io.err(), 'everwrite: only 1 of 2 replicas acknowledged [EVERWRITE_QUORUM_NOT_MET, HTTP 503]\n');
    const badContext = captureIo();
    assert.equal(await runDelete({ bucket: 'b', key: 'k', node: harness.base, context: 'nonsense' }, badContext), 1);
    assert.match(badContext.err(), /\[EVERWRITE_BAD_CONTEXT, HTTP 400\]/);
  }),
);

test('bucket and key with "/", spaces and non-ASCII reach the node intact', bounded, () =>
  withHarness(async (harness) => {
    await runPut({ bucket: 'my bucket', key: 'a/b?c#é', node: `${harness.base}/`, value: 'v' }, captureIo());
    assert.equal(harness.fake.calls.at(-1)?.bucket, 'my bucket');
    assert.equal(harness.fake.calls.at(-1)?.key, 'a/b?c#é');
  }),
);

test(
  'an unreachable node exits 4, a bad --node and a missing or doubled value exit 2, an unreadable file 1',
  bounded,
  async () => {
    const stopped = await startHarness();
    await stopped.close();
    const unreachable = captureIo();
    assert.equal(await runGet({ bucket: 'b', key: 'k', node: stopped.base, json: false }, unreachable), 4);
    assert.equal(unreachable.out(), '');
    assert.match(unreachable.err(), /^everwrite: cannot reach http:\/\/127\.0\.0\.1:\d+: .*ECONNREFUSED/);
    const badNode = captureIo();
    assert.equal(await runGet({ bucket: 'b', key: 'k', node: 'ftp://x', json: false }, badNode), 2);
    assert.match(badNode.err(), /--node must be an http/);
    const neither = captureIo();
    assert.equal(await runPut({ bucket: 'b', key: 'k', node: 'http://127.0.0.1:1' }, neither), 2);
    assert.match(neither.err(), /either as an argument or with --file/);
    const both = captureIo();
    assert.equal(
      await runPut({ bucket: 'b', key: 'k', node: 'http://127.0.0.1:1', value: 'v', file: '/nonexistent' }, both),
      2,
    );
    const missingFile = captureIo();
    assert.equal(
      await runPut({ bucket: 'b', key: 'k', node: 'http://127.0.0.1:1', file: '/nonexistent/everwrite' }, missingFile),
      1,
    );
    assert.match(missingFile.err(), /cannot read \/nonexistent\/everwrite/);
  },
);

test('a node that does not answer in time is reported, not waited on forever', bounded, () =>
  withHarness(async (harness) => {
    const release = harness.fake.holdNext('get');
    const io = captureIo({ requestTimeoutMs: 100 });
    assert.equal(await runGet({ bucket: 'b', key: 'k', node: harness.base, json: false }, io), 4);
    assert.match(io.err(), /no answer from .* within 100 ms/);
    release();
  }),
);

test('registerKvCommands parses argv into the commands (options, defaults, validation)', bounded, () =>
  withHarness(async (harness) => {
    const io = captureIo();
    const program = new Command('everwrite').exitOverride().configureOutput({ writeErr: () => {}, writeOut: () => {} });
    registerKvCommands(program, io);
    await program.parseAsync(
      ['put', 'b', 'k', 'hello', '--node', harness.base, '--w', '1', '--content-type', 'text/x'],
      { from: 'user' },
    );
    assert.deepEqual(harness.fake.calls.at(-1)?.options, { w: 1 });
    assert.equal(harness.fake.calls.at(-1)?.contentType, 'text/x');
    const context = io.out().trim();
    await program.parseAsync(['get', 'b', 'k', '--node', harness.base, '--r', '2'], { from: 'user' });
    assert.deepEqual(harness.fake.calls.at(-1)?.options, { r: 2 });
    assert.equal(io.out(), `${context}\nhello`);
    await program.parseAsync(['delete', 'b', 'k', '--node', harness.base, '--context', context], { from: 'user' });
    assert.equal(harness.fake.calls.at(-1)?.context, context);
    assert.throws(
      () => program.parse(['put', 'b', 'k', 'v', '--w', '0'], { from: 'user' }),
      /--w must be a positive integer/,
    );
    assert.throws(
      () => program.parse(['get', 'b', 'k', '--node', 'nonsense'], { from: 'user' }),
      /--node must be a URL/,
    );
    const defaults = program.commands.find((command) => command.name() === 'get')?.opts();
    assert.equal(defaults?.node, 'http://127.0.0.1:8001');
  }),
);

test('EVERWRITE_NODE is the default --node, checked like the flag; the flag wins over it', bounded, () =>
  withHarness(async (harness) => {
    const saved = process.env.EVERWRITE_NODE;
    const parse = async (argv: string[]): Promise<CapturedIo> => {
      const io = captureIo();
      const program = new Command('everwrite')
        .exitOverride()
        .configureOutput({ writeErr: () => {}, writeOut: () => {} });
      registerKvCommands(program, io);
      await program.parseAsync(argv, { from: 'user' });
      return io;
    };
    try {
      process.env.EVERWRITE_NODE = harness.base;
      assert.equal(
        (await parse(['put', 'b', 'k', 'from-env'])).exitCode,
        0,
        'the node named by EVERWRITE_NODE is the one written to',
      );
      assert.equal(harness.fake.calls.at(-1)?.key, 'k');
      process.env.EVERWRITE_NODE = 'http://127.0.0.1:1';
      assert.equal(
        (await parse(['get', 'b', 'k', '--node', harness.base])).out(),
        'from-env',
        '--node wins over EVERWRITE_NODE',
      );
      process.env.EVERWRITE_NODE = 'nonsense';
      await assert.rejects(
        parse(['get', 'b', 'k']),
        /EVERWRITE_NODE.*--node must be a URL|--node must be a URL.*EVERWRITE_NODE/,
      );
    } finally {
      if (saved === undefined) delete process.env.EVERWRITE_NODE;
      else process.env.EVERWRITE_NODE = saved;
    }
  }),
);

test(
  'credentials from EVERWRITE_TOKEN, else EVERWRITE_USER and EVERWRITE_PASSWORD, reach the node; bad ones are a usage error before anything is sent',
  bounded,
  async () => {
    const seen: Array<string | undefined> = [];
    const server = createServer((request, response) => {
      seen.push(request.headers.authorization);
      response.writeHead(204, { 'x-everwrite-context': 'ctx.1' }).end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const node = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    const names = ['EVERWRITE_TOKEN', 'EVERWRITE_USER', 'EVERWRITE_PASSWORD'] as const;
    const saved = names.map((name) => process.env[name]);
    const withEnvironment = async (values: Partial<Record<(typeof names)[number], string>>): Promise<CapturedIo> => {
      for (const name of names) delete process.env[name];
      Object.assign(process.env, values);
      const io = captureIo();
      await runPut({ bucket: 'b', key: 'k', node, value: 'v' }, io);
      return io;
    };
    try {
      assert.equal((await withEnvironment({ EVERWRITE_USER: 'ops', EVERWRITE_PASSWORD: 'pw-1' })).exitCode, 0);
      assert.equal(seen.at(-1), `Basic ${Buffer.from('ops:pw-1').toString('base64')}`);
      assert.equal(
        (await withEnvironment({ EVERWRITE_TOKEN: 'ew_token', EVERWRITE_USER: 'ops', EVERWRITE_PASSWORD: 'pw-1' }))
          .exitCode,
        0,
      );
      assert.equal(seen.at(-1), 'Bearer ew_token', 'the token wins over user and password');
      assert.equal((await withEnvironment({})).exitCode, 0);
      assert.equal(seen.at(-1), undefined, 'no variables, no Authorization header');
      const requests = seen.length;
      const colon = await withEnvironment({ EVERWRITE_USER: 'o:ps', EVERWRITE_PASSWORD: 'pw-1' });
      assert.equal(colon.exitCode, 2);
      assert.match(colon.err(), /^everwrite: a user name has no ":"\n$/);
      assert.equal(seen.length, requests, 'nothing was sent');
    } finally {
      names.forEach((name, index) =>
        saved[index] === undefined ? delete process.env[name] : (process.env[name] = saved[index]),
      );
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  },
);
