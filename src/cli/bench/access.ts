// Why: a cluster with users (decision 0025) or TLS (decision 0026) must be measurable too, so the
// bench sends the CLI's credentials (EVERWRITE_TOKEN, or EVERWRITE_USER and EVERWRITE_PASSWORD; never
// a flag) and trusts --ca, like every other command. They are read once into one BenchAccess, not
// per request. A refused request (401, 403, RESP NOAUTH/NOPERM/WRONGPASS) will be refused every
// time: counting thousands of them would make a meaningless figure, so the first one ends the bench
// with one line naming the variables to set. Recognising one costs a set lookup or two, and only on
// an error, so the loop's successes pay nothing for it.
import { rootCertificates } from 'node:tls';
import { CliFailure, UsageError } from '../exit-codes.ts';
import { authorizationHeader, credentialVariables, credentialsFromEnvironment, type Credentials } from '../options.ts';
import type { Outcome } from './drivers.ts';

/** What the bench's requests carry to a --target cluster. */
export interface BenchAccess {
  /** For the TypeScript client's options, as they are. */
  readonly credentials: Credentials;
  /** HTTP Authorization header value (Basic or Bearer), computed once; undefined without credentials. */
  readonly authorization: string | undefined;
  /** RESP `AUTH user password`; undefined without a user (RESP has no token login). */
  readonly respLogin: { readonly user: string; readonly password: string } | undefined;
  /** The trusted roots for https and RESP over TLS (the system's plus --ca), or undefined for the defaults. */
  readonly ca: readonly string[] | undefined;
}

/** No credentials and the default roots: the bench's own local cluster. */
export const openAccess: BenchAccess = Object.freeze({
  credentials: {},
  authorization: undefined,
  respLogin: undefined,
  ca: undefined,
});

/** The access the environment and --ca give; `caPem` is the CA --ca trusted, if any. */
export function accessFromEnvironment(environment: NodeJS.ProcessEnv, caPem: string | undefined): BenchAccess {
  const credentials = credentialsFromEnvironment(environment);
  const user = environment[credentialVariables.user];
  const password = environment[credentialVariables.password];
  const respLogin = user !== undefined && user !== '' && password !== undefined ? { user, password } : undefined;
  return Object.freeze({
    credentials,
    authorization: authorizationHeader(environment),
    respLogin,
    ca: caPem === undefined ? undefined : Object.freeze([...rootCertificates, caPem]),
  });
}

/** RESP logs in with AUTH user password only: a token alone cannot be sent over RESP (docs/RESP.md). */
export function checkRespAccess(access: BenchAccess): void {
  if ('token' in access.credentials && access.respLogin === undefined)
    throw new UsageError(
      `--protocol resp logs in with AUTH user password, which a token cannot do: set ${credentialVariables.user} and ${credentialVariables.password}`,
    );
}

export type Refusal = 'unauthenticated' | 'forbidden' | 'protectedMode';

const unauthenticatedCodes: ReadonlySet<string> = new Set([
  'EVERWRITE_UNAUTHENTICATED',
  'EVERWRITE_AUTH_FAILED',
  'EVERWRITE_AUTH_RATE_LIMITED',
  'HTTP 429 EVERWRITE_AUTH_RATE_LIMITED',
  'RESP NOAUTH',
  'RESP WRONGPASS',
  'RESP EVERWRITE_AUTH_RATE_LIMITED',
]);
const forbiddenCodes: ReadonlySet<string> = new Set(['EVERWRITE_FORBIDDEN', 'RESP NOPERM']);
const protectedModeCodes: ReadonlySet<string> = new Set([
  'EVERWRITE_PROTECTED_MODE',
  'HTTP 403 EVERWRITE_PROTECTED_MODE',
  'RESP EVERWRITE_PROTECTED_MODE',
]);

/** Whether an outcome's error code (drivers.ts: `HTTP <status> <code>`, `RESP <code>`, the client's code) is a refusal. */
export function refusalOf(code: string | undefined): Refusal | undefined {
  if (code === undefined) return undefined;
  if (protectedModeCodes.has(code)) return 'protectedMode';
  if (unauthenticatedCodes.has(code) || code.startsWith('HTTP 401')) return 'unauthenticated';
  if (forbiddenCodes.has(code) || code.startsWith('HTTP 403')) return 'forbidden';
  return undefined;
}

const credentialHint = `${credentialVariables.user} and ${credentialVariables.password} (or ${credentialVariables.token})`;

/** The one error line for a refusal: what the node said, and what to set. */
export function refusalMessage(refusal: Refusal, code: string, access: BenchAccess, bucket: string): string {
  const said = `the cluster refused the bench's requests (${code})`;
  switch (refusal) {
    case 'unauthenticated':
      return access.authorization === undefined
        ? `${said}: it has users; set ${credentialHint} to a user with the read and write roles on bucket ${bucket}`
        : `${said}: the credentials in ${credentialHint} were not accepted; set them to a user with the read and write roles on bucket ${bucket}`;
    case 'forbidden':
      return `${said}: the user in ${credentialHint} lacks a role; the bench needs read and write on bucket ${bucket}`;
    case 'protectedMode':
      return `${said}: the node has no users yet and answers only clients on its own machine (protected mode, docs/SECURITY.md)`;
  }
}

/** Keeps the first refusal any request met, so the phase that met it can stop and the bench report it. */
export class RefusalWatch {
  code: string | undefined;
  refusal: Refusal | undefined;

  /** Called with an error outcome; true once any refusal was met (this one or an earlier one). */
  noteError(outcome: Outcome): boolean {
    if (this.refusal !== undefined) return true;
    const refusal = refusalOf(outcome.code);
    if (refusal === undefined) return false;
    this.refusal = refusal;
    this.code = outcome.code;
    return true;
  }

  /** Throws the bench's error line when a refusal was met. */
  throwIfRefused(access: BenchAccess, bucket: string): void {
    if (this.refusal === undefined || this.code === undefined) return;
    throw new CliFailure(refusalMessage(this.refusal, this.code, access, bucket));
  }
}
