// Why: the three shapes of a read (200 one raw value, 300 JSON siblings, 404 absent or deleted, with
// or without a tombstone's context) and the JSON error body are the HTTP contract of docs/API.md.
// They are turned into one result type and one error type here, and only here, so the client's
// callers see `{found, siblings, context}` whatever the node answered, and anything off-contract
// becomes a coded EVERWRITE_BAD_RESPONSE instead of a TypeError deep in application code.
import type { IncomingHttpHeaders } from 'node:http';
import { clientErrorCodes, EverwriteClientError } from './errors.ts';
import type { HttpAnswer } from './http-exchange.ts';

import { contextHeaderKey, contextHeaderName } from '../core/protocol/http-contract.ts';

export { contextHeaderKey, contextHeaderName };

/** One version of a value. A delete concurrent with a write appears as `deleted: true` with no value. */
export interface Sibling {
  readonly value: Uint8Array;
  /** As written; empty for a deleted sibling. */
  readonly contentType: string;
  /**
   * When the version was written (the coordinator's clock). Millisecond precision from a 300; a
   * 200 carries it in `Last-Modified`, which has one-second precision. The epoch when unknown.
   */
  readonly lastModified: Date;
  readonly deleted: boolean;
}

export interface GetResult {
  /** True when at least one live (not deleted) version exists. */
  readonly found: boolean;
  /** Every concurrent version: one for a plain value, several when there are siblings, none when absent or deleted. */
  readonly siblings: readonly Sibling[];
  /**
   * The opaque causal context covering every version read: pass it to the next put or delete so
   * the write supersedes them. For a deleted key it is the tombstone's context (a write with it
   * supersedes the delete); for a key never written it is the empty string (a blind write).
   */
  readonly context: string;
  /**
   * Only when `found` is false: the node's own words for it, `key not found` or `key is deleted`
   * (its 404's message), for a program that reports the absence to a person (the CLI prints it).
   */
  readonly reason?: string;
}

function badResponse(node: string, status: number, message: string): EverwriteClientError {
  return new EverwriteClientError({
    code: clientErrorCodes.badResponse,
    message: `${node} answered ${status}: ${message}`,
    status,
    node,
  });
}

export function readContext(headers: IncomingHttpHeaders): string | undefined {
  const value = headers[contextHeaderKey];
  const text = Array.isArray(value) ? value.join(', ') : value;
  const trimmed = text?.trim();
  return trimmed === undefined || trimmed === '' ? undefined : trimmed;
}

/** A view of the same bytes as a plain Uint8Array (a Buffer compares unequal to one in deepEqual). */
function plainBytes(buffer: Buffer): Uint8Array {
  return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
}

function parseJson(answer: HttpAnswer, node: string): unknown {
  try {
    return JSON.parse(answer.body.toString('utf8'));
  } catch {
    throw badResponse(
      node,
      answer.status,
      `body is not JSON: ${JSON.stringify(answer.body.subarray(0, 200).toString('utf8'))}`,
    );
  }
}

/** A non-2xx answer as an error: the node's code, message and details, or EVERWRITE_BAD_RESPONSE if it sent no JSON error. */
export function errorFromAnswer(answer: HttpAnswer, node: string): EverwriteClientError {
  let body: unknown;
  try {
    body = JSON.parse(answer.body.toString('utf8'));
  } catch {
    body = undefined;
  }
  if (typeof body === 'object' && body !== null && typeof (body as { code?: unknown }).code === 'string') {
    const { code, message, ...details } = body as { code: string; message?: unknown };
    return new EverwriteClientError({
      code,
      message: typeof message === 'string' ? message : code,
      status: answer.status,
      node,
      details,
    });
  }
  const text = answer.body.subarray(0, 200).toString('utf8');
  const code = answer.status === 503 ? clientErrorCodes.unavailable : clientErrorCodes.badResponse;
  return new EverwriteClientError({
    code,
    message: `${node} answered ${answer.status} without a JSON error${text === '' ? '' : `: ${JSON.stringify(text)}`}`,
    status: answer.status,
    node,
  });
}

/** The JSON body of a 200, or the node's error. */
export function jsonAnswer(answer: HttpAnswer, node: string): unknown {
  if (answer.status !== 200) throw errorFromAnswer(answer, node);
  return parseJson(answer, node);
}

function parseDate(text: unknown): Date | undefined {
  if (typeof text !== 'string') return undefined;
  const date = new Date(text);
  return Number.isNaN(date.getTime()) ? undefined : date;
}

function parseSibling(raw: unknown, answer: HttpAnswer, node: string): Sibling {
  if (typeof raw !== 'object' || raw === null) throw badResponse(node, answer.status, 'a sibling is not an object');
  const { value, contentType, lastModified, deleted } = raw as Record<string, unknown>;
  const date = parseDate(lastModified);
  if (date === undefined) throw badResponse(node, answer.status, 'a sibling has no valid lastModified');
  if (deleted === true) return { value: new Uint8Array(0), contentType: '', lastModified: date, deleted: true };
  if (typeof value !== 'string' || typeof contentType !== 'string')
    throw badResponse(node, answer.status, 'a sibling lacks its base64 value or its contentType');
  return { value: plainBytes(Buffer.from(value, 'base64')), contentType, lastModified: date, deleted: false };
}

/** The 300 body (and the admin local read body): `{context, siblings}`. */
export function parseSiblingsBody(answer: HttpAnswer, node: string): GetResult {
  const body = parseJson(answer, node);
  if (typeof body !== 'object' || body === null || !Array.isArray((body as { siblings?: unknown }).siblings)) {
    throw badResponse(node, answer.status, 'expected {"context", "siblings": [...]}');
  }
  const { context, siblings } = body as { context?: unknown; siblings: unknown[] };
  const parsed = siblings.map((sibling) => parseSibling(sibling, answer, node));
  const token = typeof context === 'string' && context !== '' ? context : (readContext(answer.headers) ?? '');
  return { found: parsed.some((sibling) => !sibling.deleted), siblings: parsed, context: token };
}

function parseSingleValue(answer: HttpAnswer, node: string): GetResult {
  const context = readContext(answer.headers);
  if (context === undefined) throw badResponse(node, answer.status, `a value came without ${contextHeaderName}`);
  const sibling: Sibling = {
    value: plainBytes(answer.body),
    contentType: answer.headers['content-type'] ?? 'application/octet-stream',
    lastModified: parseDate(answer.headers['last-modified']) ?? new Date(0),
    deleted: false,
  };
  return { found: true, siblings: [sibling], context };
}

/** Any answer to GET /buckets/{b}/keys/{k}: a result for 200, 300 and a key-absent 404; the node's error otherwise. */
export function parseGetAnswer(answer: HttpAnswer, node: string): GetResult {
  switch (answer.status) {
    case 200:
      return parseSingleValue(answer, node);
    case 300:
      return parseSiblingsBody(answer, node);
    case 404: {
      const error = errorFromAnswer(answer, node);
      if (error.code !== 'EVERWRITE_NOT_FOUND') throw error;
      return { found: false, siblings: [], context: readContext(answer.headers) ?? '', reason: error.message };
    }
    default:
      throw errorFromAnswer(answer, node);
  }
}

/**
 * The answer to a PUT or DELETE of a key: the context the node returned, or the node's error. The
 * context may be empty: a node returns what the client's context plus the new version can be
 * summed up as, and a blind write that became a sibling of versions the client never read adds
 * nothing it could claim to have seen (core/versioning contextAfterUpdate). An empty context is a
 * blind write if reused, which is safe: it can only make siblings, never hide a version.
 */
export function parseWriteAnswer(answer: HttpAnswer, node: string): { readonly context: string } {
  if (answer.status !== 204 && answer.status !== 200) throw errorFromAnswer(answer, node);
  return { context: readContext(answer.headers) ?? '' };
}
