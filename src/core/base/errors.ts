// Why: error codes are API. One table maps each operating failure to its HTTP status and the RESP
// error prefix, so every front end reports the same failure the same way (docs/ARCHITECTURE.md habit 4).

export const errorTable = {
  EVERWRITE_BAD_REQUEST: { httpStatus: 400, resp: 'ERR' },
  EVERWRITE_BAD_CONTEXT: { httpStatus: 400, resp: 'ERR' },
  EVERWRITE_BAD_PROPS: { httpStatus: 400, resp: 'ERR' },
  EVERWRITE_BAD_RECORD: { httpStatus: 500, resp: 'ERR' },
  EVERWRITE_BAD_FRAME: { httpStatus: 400, resp: 'ERR' },
  EVERWRITE_NOT_FOUND: { httpStatus: 404, resp: 'ERR' },
  EVERWRITE_METHOD_NOT_ALLOWED: { httpStatus: 405, resp: 'ERR' },
  EVERWRITE_NOT_IMPLEMENTED: { httpStatus: 501, resp: 'ERR' },
  EVERWRITE_UNKNOWN_BUCKET: { httpStatus: 404, resp: 'ERR' },
  EVERWRITE_KEY_TOO_LARGE: { httpStatus: 413, resp: 'ERR' },
  EVERWRITE_VALUE_TOO_LARGE: { httpStatus: 413, resp: 'ERR' },
  EVERWRITE_FRAME_TOO_LARGE: { httpStatus: 413, resp: 'ERR' },
  /** An HTTP precondition (If-Match, If-None-Match: *) that the state read at quorum does not satisfy (decision 0028). */
  EVERWRITE_PRECONDITION_FAILED: { httpStatus: 412, resp: 'ERR' },
  EVERWRITE_TOO_MANY_SIBLINGS: { httpStatus: 409, resp: 'ERR' },
  EVERWRITE_CONTEXT_TOO_LARGE: { httpStatus: 409, resp: 'ERR' },
  EVERWRITE_TOO_MANY_BUCKETS: { httpStatus: 409, resp: 'ERR' },
  EVERWRITE_OVERLOADED: { httpStatus: 429, resp: 'BUSY' },
  EVERWRITE_RATE_LIMITED: { httpStatus: 429, resp: 'BUSY' },
  EVERWRITE_QUORUM_NOT_MET: { httpStatus: 503, resp: 'TRYAGAIN' },
  EVERWRITE_TIMEOUT: { httpStatus: 503, resp: 'TRYAGAIN' },
  EVERWRITE_UNAVAILABLE: { httpStatus: 503, resp: 'TRYAGAIN' },
  /** A key listing could not read every partition: no live replica answered for some (decision 0030). */
  EVERWRITE_PARTIAL_LISTING: { httpStatus: 503, resp: 'TRYAGAIN' },
  EVERWRITE_AUTH_FAILED: { httpStatus: 401, resp: 'NOAUTH' },
  /** Users exist and the caller gave no valid credentials (decision 0025). */
  EVERWRITE_UNAUTHENTICATED: { httpStatus: 401, resp: 'NOAUTH' },
  /** The caller is authenticated but its roles do not allow this request (decision 0025). */
  EVERWRITE_FORBIDDEN: { httpStatus: 403, resp: 'NOPERM' },
  /** Too many failed logins from one address (decision 0025). */
  EVERWRITE_AUTH_RATE_LIMITED: { httpStatus: 429, resp: 'BUSY' },
  /** A user's name, password, roles or bucket that is malformed or out of bounds. */
  /** Protected mode: no user exists yet and the client is not on the node's machine (decision 0025). */
  EVERWRITE_PROTECTED_MODE: { httpStatus: 403, resp: 'DENIED' },
  EVERWRITE_BAD_USER: { httpStatus: 400, resp: 'ERR' },
  EVERWRITE_UNKNOWN_USER: { httpStatus: 404, resp: 'ERR' },
  EVERWRITE_TOO_MANY_USERS: { httpStatus: 409, resp: 'ERR' },
  EVERWRITE_STORAGE_FAILED: { httpStatus: 500, resp: 'ERR' },
  EVERWRITE_INTERNAL: { httpStatus: 500, resp: 'ERR' },
  /** A cluster view (decision 0015) that is malformed, oversized or not canonical. */
  EVERWRITE_BAD_VIEW: { httpStatus: 400, resp: 'ERR' },
  /** This node's cluster view conflicts with its peers' (decision 0015): it refuses to serve rather than answer wrongly. */
  EVERWRITE_VIEW_CONFLICT: { httpStatus: 503, resp: 'CLUSTERDOWN' },
  /** Membership plans (decision 0017): a change that contradicts one already staged or committed. */
  EVERWRITE_PLAN_CONFLICT: { httpStatus: 409, resp: 'ERR' },
  /** A commit with nothing staged. */
  EVERWRITE_PLAN_EMPTY: { httpStatus: 409, resp: 'ERR' },
  /** A plan staged against an older view that no longer applies. */
  EVERWRITE_PLAN_STALE: { httpStatus: 409, resp: 'ERR' },
  /** A plan that would leave fewer members than the largest bucket N (or none). */
  EVERWRITE_TOO_FEW_MEMBERS: { httpStatus: 409, resp: 'ERR' },
  /** A commit while the previous one's partitions are still being handed off. */
  EVERWRITE_TRANSITION_IN_PROGRESS: { httpStatus: 409, resp: 'ERR' },
  /** Joining a node that is already a member. */
  EVERWRITE_ALREADY_MEMBER: { httpStatus: 409, resp: 'ERR' },
  /** Leaving or removing a node that is not a member. */
  EVERWRITE_NOT_A_MEMBER: { httpStatus: 404, resp: 'ERR' },
  /** A join request whose proof was not made with this cluster's secret (decision 0017). */
  EVERWRITE_JOIN_FORBIDDEN: { httpStatus: 403, resp: 'ERR' },
  /** A join request from a node with another partition count: the ring cannot take it (decision 0017). */
  EVERWRITE_PARTITION_COUNT_MISMATCH: { httpStatus: 409, resp: 'ERR' },
  /** A TLS certificate, key or CA file that is missing, unreadable, malformed, or a key that does not match its certificate (decision 0026). */
  EVERWRITE_BAD_TLS_CONFIG: { httpStatus: 500, resp: 'ERR' },
} as const satisfies Record<string, { httpStatus: number; resp: string }>;

export type ErrorCode = keyof typeof errorTable;

/** An operating failure with a stable code. Safe to show to clients. */
export class EverwriteError extends Error {
  override readonly name = 'EverwriteError';
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details: Readonly<Record<string, unknown>> = {},
  ) {
    super(message);
  }

  get httpStatus(): number {
    return errorTable[this.code].httpStatus;
  }

  toJSON(): { code: ErrorCode; message: string } & Record<string, unknown> {
    return { code: this.code, message: this.message, ...this.details };
  }
}

export function isEverwriteError(value: unknown): value is EverwriteError {
  return value instanceof EverwriteError;
}
