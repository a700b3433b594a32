// Why: TLS tests need a certificate authority and node certificates, and the repository holds no key
// material. This makes a throwaway CA in a temporary directory with the openssl command line, the same
// commands docs/SECURITY.md gives operators, and issues certificates for loopback addresses from it.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { missingTool } from './environment.ts';

/** Why TLS tests cannot run here (no openssl), or undefined. */
export const missingOpenssl = (): string | undefined => missingTool('openssl', 'openssl', ['version']);

export interface IssuedCertificate {
  readonly certFile: string;
  readonly keyFile: string;
}

export interface TestCa {
  readonly directory: string;
  /** The CA certificate (what nodes and clients trust). */
  readonly caFile: string;
  /** A certificate for `name` signed by this CA, valid for 127.0.0.1 and localhost; `name` must be a file-name-safe word. */
  issue(name: string): IssuedCertificate;
  /** Deletes the directory and every key in it. */
  remove(): void;
}

function openssl(directory: string, ...args: string[]): void {
  execFileSync('openssl', args, { cwd: directory, stdio: ['ignore', 'ignore', 'pipe'], timeout: 20_000 });
}

const keyArguments = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];

/** A new CA named `name` in its own temporary directory. */
export function createTestCa(name: string): TestCa {
  const directory = mkdtempSync(join(tmpdir(), `everwrite-ca-${name}-`));
  openssl(
    directory,
    'req',
    '-x509',
    ...keyArguments,
    '-keyout',
    'ca.key',
    '-out',
    'ca.crt',
    '-days',
    '2',
    '-subj',
    `/CN=${name} test CA`,
  );
  let serial = 0;
  return {
    directory,
    caFile: join(directory, 'ca.crt'),
    issue(node: string): IssuedCertificate {
      serial += 1;
      const prefix = `${node}-${serial}`;
      openssl(
        directory,
        'req',
        ...keyArguments,
        '-keyout',
        `${prefix}.key`,
        '-out',
        `${prefix}.csr`,
        '-subj',
        `/CN=${node}`,
      );
      writeFileSync(join(directory, `${prefix}.ext`), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
      openssl(
        directory,
        'x509',
        '-req',
        '-in',
        `${prefix}.csr`,
        '-CA',
        'ca.crt',
        '-CAkey',
        'ca.key',
        '-set_serial',
        String(1000 + serial),
        '-out',
        `${prefix}.crt`,
        '-days',
        '2',
        '-extfile',
        `${prefix}.ext`,
      );
      return { certFile: join(directory, `${prefix}.crt`), keyFile: join(directory, `${prefix}.key`) };
    },
    remove: () => rmSync(directory, { recursive: true, force: true }),
  };
}
