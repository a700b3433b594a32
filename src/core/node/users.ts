// Why: users and their roles live in the cluster, not in one node (decision 0025): any node may add
// or remove one and every node must come to know it, so a user added through one node can log in
// at another. They replicate exactly as bucket props do (versioned-table.ts, table-sync.ts). This
// file is the users table's one room: what a client and what a peer may put in it, and its bounds.
// The core never sees a password or a token, only their hashes, as opaque bounded texts.
import { EverwriteError } from '../base/errors.ts';
import type { NodeId } from '../base/ids.ts';
import { defaultLimits } from '../base/limits.ts';
import type { UserEntry, UserRole } from '../protocol/messages.ts';
import type { NodeKernel } from './kernel.ts';
import { answerClientChange } from './props-gossip.ts';
import { TableSync, utf8Bytes } from './table-sync.ts';
import { VersionedTable, type VersionedTableLimits } from './versioned-table.ts';

/** A user as a client asks to store it: an entry without its ordering. */
export type NewUser = Omit<UserEntry, 'version' | 'origin' | 'deleted'>;

export const userRoles: readonly UserRole[] = Object.freeze(['read', 'write', 'admin']);

/** Bounds of a user's fields (decision 0025). */
export const userLimits = Object.freeze({
  /** A name: letters, digits, '.', '_', '-', up to this many characters. */
  nameCharactersMax: 64,
  /** The stored password hash text (parameters, salt, hash), in characters. */
  passwordHashCharactersMax: 256,
});

const namePattern = /^[A-Za-z0-9._-]+$/;
const tokenHashPattern = /^[0-9a-f]{64}$/;

/** Why `name` is not a valid user name, or undefined when it is. */
export function userNameProblem(name: unknown): string | undefined {
  if (typeof name !== 'string' || name.length === 0) return 'a user name must be a non-empty string';
  if (name.length > userLimits.nameCharactersMax)
    return `a user name has at most ${userLimits.nameCharactersMax} characters`;
  if (!namePattern.test(name)) return 'a user name may hold only letters, digits, ".", "_" and "-"';
  return undefined;
}

/** Why `user` may not be stored, or undefined when it may. */
export function userProblem(user: NewUser): string | undefined {
  const nameProblem = userNameProblem(user.name);
  if (nameProblem !== undefined) return nameProblem;
  if (!Array.isArray(user.roles) || user.roles.length === 0 || user.roles.length > userRoles.length)
    return 'a user needs one to three roles';
  if (!user.roles.every((role) => userRoles.includes(role)) || new Set(user.roles).size !== user.roles.length)
    return `roles are distinct ones of ${userRoles.join(', ')}`;
  if (typeof user.bucket !== 'string' || utf8Bytes(user.bucket) > defaultLimits.bucketBytesMax)
    return `a user's bucket is a name of at most ${defaultLimits.bucketBytesMax} bytes ('' for every bucket)`;
  if (typeof user.passwordHash !== 'string' || user.passwordHash.length > userLimits.passwordHashCharactersMax)
    return 'a password hash is a text of bounded length';
  if (typeof user.tokenHash !== 'string' || (user.tokenHash !== '' && !tokenHashPattern.test(user.tokenHash)))
    return 'a token hash is 64 lower-case hex digits or empty';
  if (user.passwordHash === '' && user.tokenHash === '') return 'a user needs a password, a token or both';
  return undefined;
}

export class UsersTable extends VersionedTable<UserEntry> {
  constructor(limits: VersionedTableLimits, initial: readonly UserEntry[] = []) {
    super((entry) => entry.name, limits);
    this.merge(initial, 0);
  }

  /** The live user named `name`. */
  user(name: string): UserEntry | undefined {
    const entry = this.entry(name);
    return entry === undefined || entry.deleted === true ? undefined : entry;
  }
}

export class UsersGossip {
  private readonly sync: TableSync<UserEntry>;

  constructor(
    private readonly kernel: NodeKernel,
    readonly table: UsersTable,
  ) {
    this.sync = new TableSync(kernel, {
      label: 'users',
      table,
      deltaEntriesMax: kernel.settings.propsDeltaEntriesMax,
      entriesMessage: (entries) => ({ type: 'users', entries }),
      digestMessage: (slots, reply) => ({ type: 'usersDigest', slots, reply }),
      saveEffect: (entries) => ({ type: 'usersSave', entries }),
      forgetEffect: (names) => ({ type: 'usersForget', names }),
      isValidRemote: (entry) => this.isValidRemote(entry),
    });
  }

  /** A client adds or replaces a user: checked, versioned above what this node knows, saved and broadcast. */
  onClientSet(requestId: number, user: NewUser, realtimeMs: number): void {
    answerClientChange(this.kernel, requestId, () => {
      const problem = userProblem(user);
      if (problem !== undefined) throw new EverwriteError('EVERWRITE_BAD_USER', problem);
      const countMax = this.kernel.settings.usersCountMax;
      if (!this.table.isLive(user.name) && this.table.liveCount >= countMax) {
        throw new EverwriteError(
          'EVERWRITE_TOO_MANY_USERS',
          `${this.table.liveCount} users exist; the limit is ${countMax} (usersCountMax). Remove some first`,
          { usersCountMax: countMax },
        );
      }
      const { name, roles, bucket, passwordHash, tokenHash } = user;
      this.sync.publish({
        name,
        roles: [...roles],
        bucket,
        passwordHash,
        tokenHash,
        version: this.nextVersion(name, realtimeMs),
        origin: this.kernel.self,
      });
    });
  }

  /** A client removes a user: a versioned deletion marker, spread like an update. */
  onClientDelete(requestId: number, name: string, realtimeMs: number): void {
    answerClientChange(this.kernel, requestId, () => {
      if (!this.table.isLive(name))
        throw new EverwriteError(
          'EVERWRITE_UNKNOWN_USER',
          `no user named ${JSON.stringify(name.slice(0, userLimits.nameCharactersMax))}`,
        );
      this.sync.publish({
        name,
        roles: ['read'],
        bucket: '',
        passwordHash: '',
        tokenHash: '',
        version: this.nextVersion(name, realtimeMs),
        origin: this.kernel.self,
        deleted: true,
      });
    });
  }

  /** Wall-clock versions, as bucket props use: a user added again after its marker was forgotten still orders above it. */
  private nextVersion(name: string, realtimeMs: number): number {
    return Math.max(this.table.version(name) + 1, Number.isSafeInteger(realtimeMs) ? realtimeMs : 0);
  }

  onEntries(from: NodeId, entries: readonly UserEntry[]): void {
    this.sync.onEntries(from, entries);
  }

  onDigest(from: NodeId, slots: readonly number[], reply: boolean): void {
    this.sync.onDigest(from, slots, reply);
  }

  onTick(): void {
    this.sync.onTick(this.kernel.settings.propsSyncIntervalMs);
  }

  /** What a peer may put in the table: checked like a client's change, never trusted. */
  private isValidRemote(entry: UserEntry): boolean {
    if (!Number.isSafeInteger(entry.version) || entry.version < 1) return false;
    if (!this.kernel.ring.members.some((member) => member.id === entry.origin)) return false;
    if (entry.deleted === true) return userNameProblem(entry.name) === undefined;
    return userProblem(entry) === undefined;
  }
}
