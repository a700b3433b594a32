// Why: who may do what is one small pure function over a rule written on each route and command
// table entry (decision 0025), so the HTTP and RESP front ends cannot disagree, and a route or
// command added without a rule is refused by the type checker and by test/integration/auth.test.ts.
import type { UserEntry } from '../../core/protocol/messages.ts';

/**
 * The rule on a route or command:
 * - `public`: anyone, also without credentials (what is needed to authenticate, /health);
 * - `user`: any authenticated user (the ring and members' addresses a client routes by);
 * - `read` / `write`: a user with that role on the bucket the request names (or on every bucket);
 * - `admin`: a user with the admin role (bucket props, membership, users, /admin/*, /metrics).
 * `admin` includes every other role.
 */
export type AccessRule = 'public' | 'user' | 'read' | 'write' | 'admin';

export const accessRules: readonly AccessRule[] = Object.freeze(['public', 'user', 'read', 'write', 'admin']);

/** Whether `user` may do what `rule` guards on `bucket` ('' when the request names none). */
export function allows(user: UserEntry, rule: AccessRule, bucket: string): boolean {
  if (rule === 'public' || rule === 'user' || user.roles.includes('admin')) return true;
  if (rule === 'admin') return false;
  return user.roles.includes(rule) && (user.bucket === '' || user.bucket === bucket);
}
