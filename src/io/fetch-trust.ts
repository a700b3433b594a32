// Why: a process that calls a node's https API with fetch() must trust the cluster's CA (decision
// 0026): the CLI (`--ca`) and a joining node asking its seed (MembershipAdmin). Node 20's fetch is
// undici bundled inside Node; its Agent class is not exported and NODE_EXTRA_CA_CERTS is read only
// at process start. fetch() does take undici's `dispatcher` option, and the dispatcher fetch made
// for itself is an instance of that Agent class, so a new Agent trusting the CA is made from it.
// If a future Node hides it, the caller gets an error saying so rather than trusting nothing.
import { rootCertificates } from 'node:tls';
import { EverwriteError } from '../core/base/errors.ts';

/** Where Node's bundled undici keeps fetch's default dispatcher (undici's lib/global.js). */
const globalDispatcherKey = Symbol.for('undici.globalDispatcher.1');

type AgentClass = new (options: { connect: { ca: Array<string | Buffer> } }) => object;

/** A dispatcher (fetch's `dispatcher` option) trusting `ca` besides the system's roots. */
export async function fetchDispatcherTrusting(ca: string | Buffer): Promise<object> {
  // The first fetch loads Node's undici, which installs its default dispatcher; a data: URL needs no network.
  await fetch('data:,');
  const current = (globalThis as Record<symbol, unknown>)[globalDispatcherKey] as { constructor?: unknown } | undefined;
  if (typeof current?.constructor !== 'function') {
    throw new EverwriteError(
      'EVERWRITE_BAD_TLS_CONFIG',
      `this Node.js (${process.version}) does not expose fetch's dispatcher, so fetch cannot be given a CA; set NODE_EXTRA_CA_CERTS to the CA file instead`,
    );
  }
  return new (current.constructor as AgentClass)({ connect: { ca: [...rootCertificates, ca] } });
}

/** Makes every later fetch() of this process trust `ca` too (for a command-line process, not a library). */
export async function trustForEveryFetch(ca: string | Buffer): Promise<void> {
  (globalThis as Record<symbol, unknown>)[globalDispatcherKey] = await fetchDispatcherTrusting(ca);
}
