// Why: every RESP command passes this one check before it runs (decision 0025), driven by the rule
// on its command table entry, so no handler can forget it. Until the first user exists every
// command is open, as Redis is without a password. From then on a connection that has not logged
// in (AUTH, HELLO ... AUTH) may run only the `public` commands and gets Redis's NOAUTH for the
// rest; a user without the role gets Redis's NOPERM, for the command or for a key of a bucket its
// grant does not cover.
import { allows } from '../auth/access.ts';
import { keyArguments } from './commands/index.ts';
import type { CommandSpec, RespServerContext, Session } from './context.ts';
import { mapKey } from './keys.ts';
import { ErrorReply } from './reply.ts';

export const noAuthReply = new ErrorReply('NOAUTH Authentication required.');
const noKeyPermission = new ErrorReply('NOPERM No permissions to access a key');

/** The bucket of each key argument; a key the mapping refuses is left for the command to refuse. */
function bucketsOf(server: RespServerContext, spec: CommandSpec, args: readonly Buffer[]): string[] {
  const buckets: string[] = [];
  for (const raw of keyArguments(spec, args)) {
    try {
      buckets.push(mapKey(raw, server.options).bucket);
    } catch {
      // The command answers the key's own error.
    }
  }
  return buckets;
}

/** undefined when the command may run, else the refusal to answer. */
export function refuseCommand(
  server: RespServerContext,
  session: Session,
  spec: CommandSpec | undefined,
  args: readonly Buffer[],
): ErrorReply | undefined {
  const auth = server.auth;
  if (auth === undefined || !auth.required) return undefined;
  if (spec?.access === 'public') return undefined;
  // Looked up again each time: a user removed meanwhile is logged out.
  const user = session.user === undefined ? undefined : auth.directory.user(session.user.name);
  if (user === undefined) {
    session.user = undefined;
    return noAuthReply;
  }
  session.user = user;
  if (spec === undefined) return undefined;
  if (spec.access === 'read' || spec.access === 'write') {
    if (!user.roles.includes(spec.access) && !user.roles.includes('admin'))
      return noCommandPermission(user.name, spec.name);
    // A command without key arguments (SCAN, KEYS, DBSIZE) reads the configured bucket as a whole.
    const buckets = spec.firstKey === 0 ? [server.options.bucket] : bucketsOf(server, spec, args);
    for (const bucket of buckets) if (!allows(user, spec.access, bucket)) return noKeyPermission;
    return undefined;
  }
  return allows(user, spec.access, '') ? undefined : noCommandPermission(user.name, spec.name);
}

function noCommandPermission(user: string, command: string): ErrorReply {
  return new ErrorReply(`NOPERM User ${user} has no permissions to run the '${command}' command`);
}
