// Why: an application branches on one stable thing, the error code, whether the failure was
// answered by a node (its JSON `code`, docs/ARCHITECTURE.md habit 4) or happened on the way (refused
// connection, no answer in time, a reply the client cannot read). Both arrive as one class, so a
// caller never has to tell a node's 503 from a dead socket to decide whether to retry.

/** Codes the client raises itself, when no node answered with one. */
export const clientErrorCodes = Object.freeze({
  /** No node could be reached (connection refused, reset, or every node failed). */
  unavailable: 'EVERWRITE_UNAVAILABLE',
  /** No answer within the request's timeout (queueing included). */
  timeout: 'EVERWRITE_TIMEOUT',
  /** A node answered something this client cannot read (not the HTTP API of docs/ARCHITECTURE.md section 4). */
  badResponse: 'EVERWRITE_BAD_RESPONSE',
  /** The client's own queue is full (more than maxConcurrency + maxQueued requests at once). */
  overloaded: 'EVERWRITE_OVERLOADED',
  /** Invalid arguments: empty bucket or key, a bad option. Nothing was sent. */
  badRequest: 'EVERWRITE_BAD_REQUEST',
  /** close() was called: queued requests are refused, new ones too. */
  closed: 'EVERWRITE_CLIENT_CLOSED',
});

/** Codes worth retrying after a pause: the node or the cluster could not serve the request now. */
const retryableCodes: ReadonlySet<string> = new Set([
  'EVERWRITE_QUORUM_NOT_MET',
  'EVERWRITE_TIMEOUT',
  'EVERWRITE_UNAVAILABLE',
  'EVERWRITE_OVERLOADED',
]);

export interface EverwriteClientErrorFields {
  readonly code: string;
  readonly message: string;
  /** The HTTP status a node answered; undefined when no node answered (network, timeout, client-side). */
  readonly status?: number;
  /** The base URL of the node that answered or failed, when there was one. */
  readonly node?: string;
  /** Extra fields of the node's JSON error body (`replied`, `required`, `bytesMax`, ...). */
  readonly details?: Readonly<Record<string, unknown>>;
  readonly cause?: unknown;
}

export class EverwriteClientError extends Error {
  override readonly name = 'EverwriteClientError';
  readonly code: string;
  readonly status: number | undefined;
  readonly node: string | undefined;
  readonly details: Readonly<Record<string, unknown>>;

  constructor(fields: EverwriteClientErrorFields) {
    super(fields.message, fields.cause === undefined ? undefined : { cause: fields.cause });
    this.code = fields.code;
    this.status = fields.status;
    this.node = fields.node;
    this.details = fields.details ?? {};
  }

  /** True when the same request may succeed if tried again later (429, and the 503 codes). */
  get retryable(): boolean {
    return retryableCodes.has(this.code) || this.status === 503 || this.status === 429;
  }

  /** True when the failure was answered by a node (an HTTP status), false for network or client failures. */
  get fromServer(): boolean {
    return this.status !== undefined;
  }
}

export function isEverwriteClientError(value: unknown): value is EverwriteClientError {
  return value instanceof EverwriteClientError;
}

export function badArgument(message: string): EverwriteClientError {
  return new EverwriteClientError({ code: clientErrorCodes.badRequest, message });
}
