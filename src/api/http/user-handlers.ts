// Why: users are managed over HTTP like bucket props (decision 0025): GET /admin/users lists them
// (never a hash), PUT /admin/users/{name} adds or replaces one, DELETE removes one. The password
// is hashed here, at the node that receives it, so only the hash enters the cluster. While no user
// exists the routes are open, but only to loopback: the first user is made on the node's machine,
// and must be an admin, or nobody could manage users afterwards.
import { EverwriteError } from '../../core/base/errors.ts';
import type { UserEntry, UserRole } from '../../core/protocol/messages.ts';
import { userNameProblem, userRoles, type NewUser } from '../../core/node/users.ts';
import type { UserDirectory } from '../../runtime/service.ts';
import { hashPassword, hashToken, newToken, passwordProblem } from '../auth/passwords.ts';
import { parseJsonObject } from './admin-handlers.ts';
import { isOwnMachine } from '../auth/loopback.ts';
import { readBody } from './body.ts';
import type { Exchange, ServerContext } from './exchange.ts';
import { sendJson } from './respond.ts';

/** A user as the API shows it: no hashes, only whether a token is set. */
export function describeUser(user: UserEntry): {
  name: string;
  roles: readonly UserRole[];
  bucket: string | null;
  token: boolean;
} {
  return {
    name: user.name,
    roles: user.roles,
    bucket: user.bucket === '' ? null : user.bucket,
    token: user.tokenHash !== '',
  };
}

function directoryOf(context: ServerContext): UserDirectory {
  const directory = context.auth?.directory;
  if (directory === undefined) throw new EverwriteError('EVERWRITE_NOT_IMPLEMENTED', 'this node keeps no users');
  return directory;
}

function userName(exchange: Exchange): string {
  let name: string;
  try {
    name = decodeURIComponent(exchange.rawKey);
  } catch {
    throw new EverwriteError('EVERWRITE_BAD_USER', 'the user name is not valid percent-encoded UTF-8');
  }
  const problem = userNameProblem(name);
  if (problem !== undefined) throw new EverwriteError('EVERWRITE_BAD_USER', problem);
  return name;
}

export async function getUsers(context: ServerContext, exchange: Exchange): Promise<void> {
  const users = directoryOf(context)
    .users()
    .sort((a, b) => (a.name < b.name ? -1 : 1));
  sendJson(exchange.response, 200, { users: users.map(describeUser) });
}

function field<T>(
  body: Readonly<Record<string, unknown>>,
  name: string,
  check: (value: unknown) => value is T,
  what: string,
): T | undefined {
  const value = body[name];
  if (value === undefined) return undefined;
  if (!check(value)) throw new EverwriteError('EVERWRITE_BAD_USER', `${name} must be ${what}`);
  return value;
}

const isString = (value: unknown): value is string => typeof value === 'string';
const isBoolean = (value: unknown): value is boolean => typeof value === 'boolean';
const isRoles = (value: unknown): value is UserRole[] =>
  Array.isArray(value) && value.every((role) => userRoles.includes(role as UserRole));

/** The body of PUT /admin/users/{name}: {"roles": [...], "password"?: "...", "bucket"?: "...", "token"?: true}. */
async function parseUserBody(
  context: ServerContext,
  exchange: Exchange,
): Promise<{ roles: UserRole[]; password: string | undefined; bucket: string; token: boolean }> {
  const limit = {
    bytesMax: context.options.jsonBodyBytesMax,
    code: 'EVERWRITE_VALUE_TOO_LARGE',
    what: 'user body',
  } as const;
  const body = parseJsonObject(await readBody(exchange.request, exchange.response, limit));
  for (const name of Object.keys(body)) {
    if (!['roles', 'password', 'bucket', 'token'].includes(name))
      throw new EverwriteError('EVERWRITE_BAD_USER', `unknown user field ${JSON.stringify(name.slice(0, 64))}`);
  }
  const roles = field(body, 'roles', isRoles, `a list of ${userRoles.join(', ')}`);
  if (roles === undefined) throw new EverwriteError('EVERWRITE_BAD_USER', 'roles are required');
  const password = field(body, 'password', isString, 'a string');
  if (password !== undefined) {
    const problem = passwordProblem(password);
    if (problem !== undefined) throw new EverwriteError('EVERWRITE_BAD_USER', problem);
  }
  const token = field(body, 'token', isBoolean, 'true or false') ?? false;
  if (password === undefined && !token)
    throw new EverwriteError('EVERWRITE_BAD_USER', 'a user needs a password, a token ("token": true) or both');
  return { roles, password, bucket: field(body, 'bucket', isString, 'a bucket name') ?? '', token };
}

/** Adds or replaces a user; answers it, with its new token (shown this once) when one was asked for. */
export async function putUser(context: ServerContext, exchange: Exchange): Promise<void> {
  const directory = directoryOf(context);
  const name = userName(exchange);
  const first = !directory.hasUsers();
  if (first && !isOwnMachine(exchange.request.socket.remoteAddress ?? '', exchange.request.socket.localAddress ?? '')) {
    throw new EverwriteError(
      'EVERWRITE_FORBIDDEN',
      "no user exists yet: the first user can be added only from the node's own machine",
    );
  }
  const { roles, password, bucket, token } = await parseUserBody(context, exchange);
  if (first && !roles.includes('admin'))
    throw new EverwriteError(
      'EVERWRITE_BAD_USER',
      'the first user must have the admin role, or nobody could manage users',
    );
  const tokenText = token ? newToken() : undefined;
  const user: NewUser = {
    name,
    roles,
    bucket,
    passwordHash: password === undefined ? '' : await hashPassword(password),
    tokenHash: tokenText === undefined ? '' : hashToken(tokenText),
  };
  await directory.setUser(user);
  const stored = directory.user(name);
  const described = stored === undefined ? describeUser({ ...user, version: 0, origin: '' }) : describeUser(stored);
  sendJson(exchange.response, 200, tokenText === undefined ? described : { ...described, tokenValue: tokenText });
}

export async function deleteUser(context: ServerContext, exchange: Exchange): Promise<void> {
  const directory = directoryOf(context);
  const name = userName(exchange);
  const admins = directory.users().filter((user) => user.roles.includes('admin'));
  const others = directory.users().filter((user) => user.name !== name);
  if (others.length > 0 && admins.length === 1 && admins[0]?.name === name) {
    throw new EverwriteError(
      'EVERWRITE_BAD_USER',
      `${name} is the last admin; add another admin before removing it, or remove the other users first`,
    );
  }
  await directory.deleteUser(name);
  sendJson(exchange.response, 200, { removed: name });
}
