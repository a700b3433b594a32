// Why: the one place credentials are checked, for the HTTP and the RESP front ends alike
// (decision 0025): a user and password against the stored scrypt hash, or a bearer token against
// the stored SHA-256. Failed attempts are limited per address (login-limiter.ts) and logged without
// the secret. scrypt costs tens of ms by design, and HTTP Basic sends the password with every
// request, so a successful check is remembered in a bounded cache keyed by an HMAC (under a key
// that never leaves this process) of the name and password, valid only while the user's stored
// hash is unchanged: a password change or removal takes effect on the next request.
import { createHmac, randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import type { UserEntry } from '../../core/protocol/messages.ts';
import type { UserDirectory } from '../../runtime/service.ts';
import { LoginLimiter, loginLimiterDefaults, type LoginLimiterOptions } from './login-limiter.ts';
import { hashToken, passwordLimits, verifyPassword } from './passwords.ts';
import { isOwnMachine } from './loopback.ts';

export type LoginResult =
  | { readonly ok: true; readonly user: UserEntry }
  | { readonly ok: false; readonly code: 'EVERWRITE_UNAUTHENTICATED'; readonly message: string }
  | {
      readonly ok: false;
      readonly code: 'EVERWRITE_AUTH_RATE_LIMITED';
      readonly message: string;
      readonly retryAfterMs: number;
    };

export interface AuthenticatorOptions {
  readonly directory: UserDirectory;
  readonly logger: Logger;
  readonly limiter?: Partial<LoginLimiterOptions>;
  /** Successful password checks remembered. Default 1024. */
  readonly verifiedCacheEntriesMax?: number;
  /** The wall clock in ms (tests pass their own). */
  readonly nowMs?: () => number;
  /**
   * Serve every address even while no user exists (`--insecure`). Default false: protected mode,
   * only loopback clients are served until the first user exists (decision 0025).
   */
  readonly insecure?: boolean;
}

/** Longest user name echoed into a log line. */
const loggedNameCharactersMax = 64;
const wrongCredentials = 'invalid username-password pair or token';

export class Authenticator {
  readonly directory: UserDirectory;
  private readonly logger: Logger;
  private readonly limiter: LoginLimiter;
  private readonly cacheKey = randomBytes(32);
  /** HMAC of (name, password) -> the stored hash it was verified against; oldest first. */
  private readonly verified = new Map<string, string>();
  private readonly verifiedMax: number;
  private readonly nowMs: () => number;
  readonly insecure: boolean;

  constructor(options: AuthenticatorOptions) {
    this.insecure = options.insecure === true;
    this.directory = options.directory;
    this.logger = options.logger;
    this.limiter = new LoginLimiter({ ...loginLimiterDefaults, ...options.limiter });
    this.verifiedMax = options.verifiedCacheEntriesMax ?? 1024;
    this.nowMs = options.nowMs ?? Date.now;
  }

  /** Whether callers must authenticate: once any user exists. */
  get required(): boolean {
    return this.directory.hasUsers();
  }

  /**
   * Protected mode (decision 0025): while no user exists and the node was not started insecure, a
   * client that is not on the node's own machine is refused everything a stranger could not do once
   * users exist (HTTP still answers /health; RESP refuses the connection).
   */
  refusesInProtectedMode(address: string, localAddress: string): boolean {
    return !this.insecure && !this.directory.hasUsers() && !isOwnMachine(address, localAddress);
  }

  /** Checks a user name and password from `address` (an IP); `via` names the front end in the log. */
  async login(name: string, password: string, address: string, via: string): Promise<LoginResult> {
    const refused = this.rateLimited(address);
    if (refused !== undefined) return refused;
    const user = this.directory.user(name);
    if (
      user !== undefined &&
      Buffer.byteLength(password) <= passwordLimits.bytesMax &&
      (await this.passwordMatches(user, password))
    ) {
      // The user may have been removed or changed while scrypt ran.
      const current = this.directory.user(name);
      if (current !== undefined && current.passwordHash === user.passwordHash) return { ok: true, user: current };
    }
    return this.failed(address, via, name);
  }

  /** Checks a bearer token from `address`. */
  loginWithToken(token: string, address: string, via: string): LoginResult {
    const refused = this.rateLimited(address);
    if (refused !== undefined) return refused;
    const user = this.directory.userByTokenHash(hashToken(token));
    return user !== undefined ? { ok: true, user } : this.failed(address, via, '(token)');
  }

  private rateLimited(address: string): LoginResult | undefined {
    const retryAfterMs = this.limiter.retryAfterMs(address, this.nowMs());
    if (retryAfterMs === 0) return undefined;
    return {
      ok: false,
      code: 'EVERWRITE_AUTH_RATE_LIMITED',
      message: `too many failed logins from your address; retry in ${retryAfterMs} ms`,
      retryAfterMs,
    };
  }

  private failed(address: string, via: string, name: string): LoginResult {
    this.limiter.recordFailure(address, this.nowMs());
    this.logger.warn(
      { event: 'login_failed', user: name.slice(0, loggedNameCharactersMax), address, via },
      'failed login',
    );
    return { ok: false, code: 'EVERWRITE_UNAUTHENTICATED', message: wrongCredentials };
  }

  private async passwordMatches(user: UserEntry, password: string): Promise<boolean> {
    const cacheKey = createHmac('sha256', this.cacheKey)
      .update(user.name)
      .update('\u0000')
      .update(password)
      .digest('base64');
    if (this.verified.get(cacheKey) === user.passwordHash) return true;
    if (!(await verifyPassword(password, user.passwordHash))) return false;
    this.verified.delete(cacheKey);
    while (this.verified.size >= this.verifiedMax) this.verified.delete(this.verified.keys().next().value as string);
    this.verified.set(cacheKey, user.passwordHash);
    return true;
  }
}
