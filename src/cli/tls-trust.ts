// Why: commands that talk to a node over https (`--node https://...`, decision 0026) must trust the
// cluster's CA, which is rarely among the system's roots. `--ca FILE` (or EVERWRITE_CA_FILE) names
// it; every fetch() of the command then trusts it (src/io/fetch-trust.ts says how), and so does the
// TypeScript client the key-value commands use (node-client.ts), which is given the CA itself.
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { trustForEveryFetch } from '../io/fetch-trust.ts';
import { UsageError } from './exit-codes.ts';

/** The environment variable naming the CA file, as --ca does. */
export const caFileEnvironmentVariable = 'EVERWRITE_CA_FILE';

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

/** The PEM of the CA --ca named, once trusted; undefined without --ca. */
let trustedCaPem: string | undefined;

/** Makes every later fetch() of this command trust the CA in `path` as well as the system's roots. */
export async function trustCaFile(path: string): Promise<void> {
  const pem = readCaFile(path);
  await trustForEveryFetch(pem);
  trustedCaPem = pem;
}

/** The CA --ca (or EVERWRITE_CA_FILE) made this command trust besides the system's roots; undefined when none. */
export function trustedCa(): string | undefined {
  return trustedCaPem;
}
