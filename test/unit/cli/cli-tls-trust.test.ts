// Why: `--ca FILE` (and EVERWRITE_CA_FILE) is how the CLI trusts a cluster's CA for https nodes
// (decision 0026). A bad file is a usage error naming it, before anything is sent; a good one makes
// fetch() and `everwrite get` (through the TypeScript client) trust an https server whose
// certificate that CA signed, which they did not before. That second half also fails if a future
// Node stops exposing fetch's dispatcher (src/io/fetch-trust.ts).
import { after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:https';
import { join } from 'node:path';
import { UsageError } from '../../../src/cli/exit-codes.ts';
import { trustCaFile } from '../../../src/cli/tls-trust.ts';
import { runGet } from '../../../src/cli/commands/kv.ts';
import type { CommandIo } from '../../../src/cli/command-io.ts';
import { createTestCa, missingOpenssl } from '../../support/test-ca.ts';
import { testNeeding } from '../../support/environment.ts';

const missing = missingOpenssl();
const ca = missing === undefined ? createTestCa('cli') : undefined;
after(() => ca?.remove());

/** A CommandIo that keeps what a command printed. */
function captureIo(): CommandIo & { out: string; err: string } {
  const io: CommandIo & { out: string; err: string } = {
    out: '',
    err: '',
    stdout: { write: (chunk: string | Uint8Array) => (io.out += Buffer.from(chunk).toString()) },
    stderr: { write: (chunk: string) => (io.err += chunk) },
    readStdin: () => Promise.resolve(new Uint8Array(0)),
    setExitCode: () => undefined,
    requestTimeoutMs: 5000,
  };
  return io;
}

testNeeding(
  missing,
  '--ca refuses a missing or non-PEM file by name; a good one makes fetch and get trust the CA',
  { timeout: 30_000 },
  async () => {
    const authority = ca as NonNullable<typeof ca>;
    const notPem = join(authority.directory, 'not-pem.txt');
    writeFileSync(notPem, 'hello');
    await assert.rejects(
      trustCaFile(join(authority.directory, 'absent.crt')),
      (error: unknown) => error instanceof UsageError && /--ca: cannot read .*absent\.crt/.test(error.message),
    );
    await assert.rejects(
      trustCaFile(notPem),
      (error: unknown) =>
        error instanceof UsageError && /--ca: .*not-pem\.txt does not hold a PEM certificate/.test(error.message),
    );
    const issued = authority.issue('server');
    const server = createServer(
      { cert: readFileSync(issued.certFile), key: readFileSync(issued.keyFile) },
      (_request, response) => response.writeHead(200, { 'x-everwrite-context': 'ctx.1' }).end('trusted'),
    );
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `https://127.0.0.1:${(server.address() as { port: number }).port}/`;
    try {
      await assert.rejects(fetch(url, { signal: AbortSignal.timeout(5000) }), TypeError, 'not trusted before --ca');
      const untrusted = captureIo();
      assert.equal(
        await runGet({ bucket: 'b', key: 'k', node: url, json: false }, untrusted),
        4,
        'get does not trust the node before --ca',
      );
      assert.match(untrusted.err, /^everwrite: cannot reach https:\/\/127\.0\.0\.1:\d+\/: .*certificate/);
      await trustCaFile(authority.caFile);
      const response = await fetch(url, { signal: AbortSignal.timeout(5000) });
      assert.equal(await response.text(), 'trusted');
      const trusted = captureIo();
      assert.equal(await runGet({ bucket: 'b', key: 'k', node: url, json: false }, trusted), 0, trusted.err);
      assert.equal(trusted.out, 'trusted', 'get (through the TypeScript client) trusts the CA of --ca too');
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  },
);
