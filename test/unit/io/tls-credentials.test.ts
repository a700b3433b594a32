// Why: a bad TLS file must stop a start, or refuse a reload, with EVERWRITE_BAD_TLS_CONFIG naming the
// file (decision 0026), never a stack trace from node:tls: missing, unreadable, not PEM, oversized,
// a key that does not match its certificate, a CA file that holds no certificate.
import { after } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadTlsMaterial, tlsFileBytesMax, type TlsFiles } from '../../../src/io/tls-credentials.ts';
import { createTestCa, missingOpenssl } from '../../support/test-ca.ts';
import { testNeeding } from '../../support/environment.ts';

const missing = missingOpenssl();
const ca = missing === undefined ? createTestCa('credentials') : undefined;
after(() => ca?.remove());

function assertBadConfig(files: TlsFiles, file: string, pattern: RegExp): void {
  assert.throws(
    () => loadTlsMaterial(files),
    (error: Error & { code?: string; details?: { file?: string } }) => {
      assert.equal(error.code, 'EVERWRITE_BAD_TLS_CONFIG');
      assert.equal(error.details?.file, file);
      assert.ok(error.message.includes(file), `the message names ${file}: ${error.message}`);
      assert.match(error.message, pattern);
      return true;
    },
  );
}

testNeeding(
  missing,
  "good files load with the certificate's serial; every kind of bad file is refused naming it",
  { timeout: 30_000 },
  () => {
    const authority = ca as NonNullable<typeof ca>;
    const node = authority.issue('node');
    const other = authority.issue('other');
    const material = loadTlsMaterial({ ...node, caFile: authority.caFile });
    assert.match(material.serialNumber, /^[0-9A-F]+$/);
    assert.match(material.fingerprint256, /^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
    const directory = authority.directory;
    const absent = join(directory, 'absent.crt');
    const garbage = join(directory, 'garbage.pem');
    writeFileSync(garbage, '-----BEGIN CERTIFICATE-----\nnot base64 at all\n-----END CERTIFICATE-----\n');
    const notPem = join(directory, 'not-pem.txt');
    writeFileSync(notPem, 'hello');
    const huge = join(directory, 'huge.pem');
    writeFileSync(huge, Buffer.alloc(tlsFileBytesMax + 1, 0x2d));
    const keyAsCert = join(directory, 'key-as-cert.pem');
    copyFileSync(node.keyFile, keyAsCert);
    assertBadConfig({ ...node, certFile: absent }, absent, /cannot read the TLS certificate file .*ENOENT/);
    assertBadConfig({ ...node, keyFile: absent }, absent, /cannot read the TLS key file/);
    assertBadConfig({ ...node, caFile: absent }, absent, /cannot read the TLS CA file/);
    assertBadConfig({ ...node, certFile: notPem }, notPem, /holds no PEM block/);
    assertBadConfig({ ...node, certFile: huge }, huge, /at most/);
    assertBadConfig({ ...node, certFile: garbage }, garbage, /does not hold a PEM certificate/);
    assertBadConfig({ ...node, certFile: keyAsCert }, keyAsCert, /does not hold a PEM certificate/);
    assertBadConfig(
      { certFile: node.certFile, keyFile: node.certFile },
      node.certFile,
      /does not hold an unencrypted PEM private key/,
    );
    assertBadConfig(
      { certFile: node.certFile, keyFile: other.keyFile },
      other.keyFile,
      /does not match the certificate/,
    );
    assertBadConfig({ ...node, caFile: node.keyFile }, node.keyFile, /CA file .* does not hold a PEM certificate/);
    assertBadConfig({ ...node, certFile: directory }, directory, /cannot read the TLS certificate file .*EISDIR/);
  },
);
