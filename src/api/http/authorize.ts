// Why: every HTTP request passes this one check before its handler (decision 0025), driven by the
// rule on its route's table entry (routes.ts), so no handler can forget it. Until the first user
// exists every route is open (protected mode keeps such a node on loopback, src/server/start-node.ts);
// from then on a caller gives `Authorization: Basic` (user and password) or `Bearer` (a token):
// missing or wrong is 401 with WWW-Authenticate, allowed credentials without the role are 403,
// both coded JSON like every other error.
import { EverwriteError } from '../../core/base/errors.ts';
import type { UserEntry } from '../../core/protocol/messages.ts';
import { allows, type AccessRule } from '../auth/access.ts';
import type { Authenticator } from '../auth/authenticator.ts';
import type { Exchange, ServerContext } from './exchange.ts';
import { routes } from './routes.ts';

/** The challenges a 401 carries: a browser shows its login prompt for Basic. */
export const authenticateChallenges = ['Basic realm="everwrite", charset="UTF-8"', 'Bearer realm="everwrite"'];
/** Longest Authorization header read, in characters: Basic of a 64-character name and a 256-byte password fits. */
export const authorizationCharactersMax = 1024;

function unauthenticated(exchange: Exchange, message: string): EverwriteError {
  exchange.response.setHeader('WWW-Authenticate', authenticateChallenges);
  return new EverwriteError('EVERWRITE_UNAUTHENTICATED', message);
}

function badAuthorization(message: string): EverwriteError {
  return new EverwriteError('EVERWRITE_BAD_REQUEST', `malformed Authorization header: ${message}`);
}

/** The user and password of a Basic credential (base64 of "user:password"). */
function basicCredentials(encoded: string): { name: string; password: string } {
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(encoded)) throw badAuthorization('Basic credentials are not base64');
  const text = Buffer.from(encoded, 'base64').toString('utf8');
  const colon = text.indexOf(':');
  if (colon < 0) throw badAuthorization('Basic credentials are not "user:password"');
  return { name: text.slice(0, colon), password: text.slice(colon + 1) };
}

/** The user the request's credentials name; throws 400 (malformed), 401 (missing or wrong) or 429 (too many failures). */
async function authenticate(auth: Authenticator, exchange: Exchange, address: string): Promise<UserEntry> {
  const header = exchange.request.headers.authorization;
  if (header === undefined || header === '')
    throw unauthenticated(exchange, 'authentication required: send Authorization: Basic or Bearer');
  if (header.length > authorizationCharactersMax)
    throw badAuthorization(`longer than ${authorizationCharactersMax} characters`);
  const space = header.indexOf(' ');
  const scheme = (space < 0 ? header : header.slice(0, space)).toLowerCase();
  const credentials = space < 0 ? '' : header.slice(space + 1).trim();
  let result;
  if (scheme === 'basic') {
    const { name, password } = basicCredentials(credentials);
    result = await auth.login(name, password, address, 'http');
  } else if (scheme === 'bearer') {
    if (credentials === '') throw badAuthorization('Bearer without a token');
    result = auth.loginWithToken(credentials, address, 'http');
  } else {
    throw unauthenticated(exchange, 'unsupported authorization scheme; use Basic or Bearer');
  }
  if (result.ok) return result.user;
  if (result.code === 'EVERWRITE_AUTH_RATE_LIMITED') {
    exchange.response.setHeader('Retry-After', String(Math.max(1, Math.ceil(result.retryAfterMs / 1000))));
    throw new EverwriteError(result.code, result.message, { retryAfterMs: result.retryAfterMs });
  }
  throw unauthenticated(exchange, result.message);
}

/** The bucket a request names ('' for none); a name that does not decode matches no bucket grant. */
function bucketOf(exchange: Exchange): string {
  try {
    return decodeURIComponent(exchange.rawBucket);
  } catch {
    return '\u0000';
  }
}

/**
 * Throws unless the request may run its handler under `rule`. Resolves with the caller's user, or
 * undefined when no credentials were needed.
 */
export async function authorize(
  context: ServerContext,
  exchange: Exchange,
  rule: AccessRule | undefined,
  address: string,
): Promise<UserEntry | undefined> {
  const auth = context.auth;
  if (rule === undefined)
    throw new EverwriteError('EVERWRITE_FORBIDDEN', `${exchange.route.template} has no access rule`);
  if (auth === undefined || !auth.required || rule === 'public') return undefined;
  if (exchange.route === routes.metrics && context.options.metricsPublic) return undefined;
  const user = await authenticate(auth, exchange, address);
  if (!allows(user, rule, bucketOf(exchange))) {
    throw new EverwriteError(
      'EVERWRITE_FORBIDDEN',
      `user ${user.name} may not ${exchange.request.method ?? 'GET'} ${exchange.route.template}${rule === 'read' || rule === 'write' ? ` (needs ${rule} on this bucket)` : ` (needs ${rule})`}`,
    );
  }
  return user;
}
