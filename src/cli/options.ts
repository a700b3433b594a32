// Why: the flags every command shares are declared once, so each behaves the same everywhere:
// `--node URL` (default EVERWRITE_NODE, then node 1 of a local cluster), checked before anything is
// sent, and `--json`.
import { InvalidArgumentError, Option } from 'commander';
import { parseNodeUrl } from './format.ts';

/** The default node of docs/ARCHITECTURE.md section 4 (node 1 of a local cluster). */
export const defaultNodeUrl = 'http://127.0.0.1:8001';

/** The environment variable that names the default node. */
export const nodeEnvironmentVariable = 'EVERWRITE_NODE';

function checkNodeUrl(text: string): string {
  try {
    parseNodeUrl(text);
  } catch (error) {
    throw new InvalidArgumentError((error as Error).message);
  }
  return text;
}

/** `--node <url>`: the flag, else $EVERWRITE_NODE, else http://127.0.0.1:8001; both checked the same way. */
export function nodeOption(description = 'HTTP address of the node to talk to'): Option {
  return new Option('--node <url>', description)
    .env(nodeEnvironmentVariable)
    .default(defaultNodeUrl)
    .argParser(checkNodeUrl);
}

/** `--json`: print the command's data as one JSON document on stdout. */
export function jsonOption(shape: string): Option {
  return new Option('--json', `print ${shape} as JSON`).default(false);
}

/** The variables the CLI takes credentials from (decision 0025): never a flag, which `ps` would show. */
export const credentialVariables = Object.freeze({
  user: 'EVERWRITE_USER',
  password: 'EVERWRITE_PASSWORD',
  token: 'EVERWRITE_TOKEN',
});

/** The CLI's credentials: a bearer token, or a user and password (Basic), or none. */
export type Credentials =
  { readonly token: string } | { readonly user: string; readonly password: string } | Record<string, never>;

/**
 * The credentials EVERWRITE_TOKEN (first) or EVERWRITE_USER and EVERWRITE_PASSWORD give; none when
 * neither is set (a node without users needs none). The TypeScript client takes them as they are.
 */
export function credentialsFromEnvironment(environment: NodeJS.ProcessEnv = process.env): Credentials {
  const token = environment[credentialVariables.token];
  if (token !== undefined && token !== '') return { token };
  const user = environment[credentialVariables.user];
  const password = environment[credentialVariables.password];
  if (user === undefined || user === '' || password === undefined) return {};
  return { user, password };
}

/** The Authorization header of those credentials, for the commands that call a node through fetch(). */
export function authorizationHeader(environment: NodeJS.ProcessEnv = process.env): string | undefined {
  const credentials = credentialsFromEnvironment(environment);
  if ('token' in credentials) return `Bearer ${credentials.token}`;
  if ('user' in credentials)
    return `Basic ${Buffer.from(`${credentials.user}:${credentials.password}`, 'utf8').toString('base64')}`;
  return undefined;
}

/** `init` with the credentials' Authorization header added (the caller's own headers kept). */
export function withCredentials(init: RequestInit = {}): RequestInit {
  const authorization = authorizationHeader();
  if (authorization === undefined) return init;
  const headers = new Headers(init.headers);
  headers.set('authorization', authorization);
  return { ...init, headers };
}
