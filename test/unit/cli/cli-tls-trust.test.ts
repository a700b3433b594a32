// Why: `--ca FILE` (and EVERWRITE_CA_FILE) is how the CLI trusts a cluster's CA for https nodes
// (decision 0026). A bad file is a usage error naming it, before anything is sent; a good one makes
// fetch() trust an https server whose certificate that CA signed, which it did not before. That
// second half also fails if a future Node stops exposing fetch's dispatcher (src/io/fetch-trust.ts).
import { after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:https';
import { join } from 'node:path';
import { UsageError } from '../../../src/cli/exit-codes.ts';
import { trustCaFile } from '../../../src/cli/tls-trust.ts';
import { createTestCa, missingOpenssl } from '../../support/test-ca.ts';
import { testNeeding } from '../../support/environment.ts';

const missing = missingOpenssl();
const ca = missing === undefined ? createTestCa('cli') : undefined;
after(() => ca?.remove());

testNeeding(missing, '--ca refuses a missing or non-PEM file by name; a good one makes fetch trust the CA', { timeout: 30_000 }, async () => {
  const authority = ca as NonNullable<typeof ca>;
  const notPem = join(authority.directory, 'not-pem.txt');
  writeFileSync(notPem, 'hello');
  await assert.rejects(trustCaFile(join(authority.directory, 'absent.crt')), (error: unknown) => error instanceof UsageError && /--ca: cannot read .*absent\.crt/.test(error.message));
  await assert.rejects(trustCaFile(notPem), (error: unknown) => error instanceof UsageError && /--ca: .*not-pem\.txt does not hold a PEM certificate/.test(error.message));
  const issued = authority.issue('server');
  const server = createServer({ cert: readFileSync(issued.certFile), key: readFileSync(issued.keyFile) }, (_request, response) => response.end('trusted'));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `https://127.0.0.1:${(server.address() as { port: number }).port}/`;
  try {
    await assert.rejects(fetch(url, { signal: AbortSignal.timeout(5000) }), TypeError, 'not trusted before --ca');
    await trustCaFile(authority.caFile);
    const response = await fetch(url, { signal: AbortSignal.timeout(5000) });
    assert.equal(await response.text(), 'trusted');
  } finally {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});
