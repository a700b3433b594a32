// Why: commands that talk to a node over https (`--node https://...`, decision 0026) must trust the
// cluster's CA, which is rarely among the system's roots. `--ca FILE` (or EVERWRITE_CA_FILE) names
// it. The commands use the global fetch(); Node 20's fetch is undici bundled inside Node, whose
// Agent class is not exported, and NODE_EXTRA_CA_CERTS is read only when a process starts. So the
// CA is installed on fetch's global dispatcher: a new Agent of the class fetch itself created,
// trusting the system's roots and the CA. Without undici as a dependency this is the one way in;
// if a future Node changes it, the command fails with a message saying so rather than
// silently trusting nothing.
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { rootCertificates } from 'node:tls';
import { CliFailure, UsageError } from './exit-codes.ts';

/** The environment variable naming the CA file, as --ca does. */
export const caFileEnvironmentVariable = 'EVERWRITE_CA_FILE';

/** Where Node's bundled undici keeps fetch's dispatcher (undici's global.js). */
const globalDispatcherKey = Symbol.for('undici.globalDispatcher.1');

type AgentClass = new (options: { connect: { ca: string[] } }) => unknown;

function readCaFile(path: string): string {
  let pem: string;
  try {
    pem = readFileSync(path, 'utf8');
  } catch (error) {
    throw new UsageError(`--ca: cannot read ${path}: ${error instanceof Error ? error.message : String(error)}`);
  }
  try {
    new X509Certificate(pem);
  } catch {
    throw new UsageError(`--ca: ${path} does not hold a PEM certificate`);
  }
  return pem;
}

/** Makes every later fetch() trust the CA in `path` as well as the system's roots. */
export async function trustCaFile(path: string): Promise<void> {
  const pem = readCaFile(path);
  // The first fetch loads Node's undici, which installs its default dispatcher; a data: URL needs no network.
  await fetch('data:,');
  const holder = globalThis as Record<symbol, unknown>;
  const current = holder[globalDispatcherKey] as { constructor?: unknown } | undefined;
  if (typeof current?.constructor !== 'function') throw new CliFailure(`--ca: this Node.js (${process.version}) does not expose fetch's dispatcher; use NODE_EXTRA_CA_CERTS=${path} instead`);
  holder[globalDispatcherKey] = new (current.constructor as AgentClass)({ connect: { ca: [...rootCertificates, pem] } });
}
