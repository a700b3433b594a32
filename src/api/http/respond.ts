// Why: every answer the HTTP API gives goes through these few writers, so the wire shapes of
// docs/ARCHITECTURE.md section 4 (JSON errors, the sibling list, the context header) are written in one place
// and a route cannot drift from them. They set Content-Length so keep-alive never needs chunking.
import type { ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { isEverwriteError } from '../../core/base/errors.ts';
import type { GetResult, SiblingView } from '../../runtime/service.ts';
import { contextHeaderName, type SiblingJson, type SiblingsJson } from '../../core/protocol/http-contract.ts';
import { needsRetryAfter, retryAfterSecondsFor } from './retry-after.ts';

const jsonContentType = 'application/json; charset=utf-8';

export type { SiblingJson, SiblingsJson };

export function siblingToJson(sibling: SiblingView): SiblingJson {
  const lastModified = new Date(sibling.lastModifiedMs).toISOString();
  if (sibling.deleted) return { deleted: true, lastModified };
  const value = Buffer.from(sibling.value.buffer, sibling.value.byteOffset, sibling.value.byteLength).toString(
    'base64',
  );
  return { value, contentType: sibling.contentType, lastModified };
}

export function siblingsToJson(result: GetResult): SiblingsJson {
  return { context: result.context, siblings: result.siblings.map(siblingToJson) };
}

/**
 * An error answered before the request body was read (bad key, bad query, unknown route, ...) must
 * not leave Node to read and discard an upload of any size just to keep the connection: close it.
 */
function closeIfBodyUnread(response: ServerResponse): void {
  const request = response.req;
  if (request.complete) return;
  const { headers } = request;
  const hasBody =
    headers['transfer-encoding'] !== undefined ||
    (headers['content-length'] !== undefined && headers['content-length'] !== '0');
  if (hasBody) response.shouldKeepAlive = false;
}

/** Writes `body` as JSON with `status`; `context`, when given, goes in the context header. */
export function sendJson(response: ServerResponse, status: number, body: unknown, context?: string): void {
  const text = JSON.stringify(body);
  if (status >= 400) closeIfBodyUnread(response);
  response.statusCode = status;
  if (needsRetryAfter(status) && !response.hasHeader('Retry-After'))
    response.setHeader('Retry-After', String(retryAfterSecondsFor((body as { code?: unknown } | null)?.code)));
  response.setHeader('Content-Type', jsonContentType);
  response.setHeader('Content-Length', Buffer.byteLength(text));
  if (context !== undefined) response.setHeader(contextHeaderName, context);
  response.end(text);
}

/**
 * 429 EVERWRITE_RATE_LIMITED for a client over its request rate (decision 0013). Retry-After is in
 * whole seconds (RFC 9110), at least 1; the body carries the exact wait in retryAfterMs.
 */
export function sendRateLimited(response: ServerResponse, retryAfterMs: number): void {
  response.setHeader('Retry-After', String(Math.max(1, Math.ceil(retryAfterMs / 1000))));
  sendJson(response, 429, {
    code: 'EVERWRITE_RATE_LIMITED',
    message: `too many requests from your address; retry in ${retryAfterMs} ms`,
    retryAfterMs,
  });
}

/** A coded error body `{"code","message",...details}` with an explicit status. */
export function sendCodedError(
  response: ServerResponse,
  status: number,
  code: string,
  message: string,
  context?: string,
): void {
  sendJson(response, status, { code, message }, context);
}

/**
 * The answer's status and headers in one writeHead with a flat list. When nothing set a header
 * before (no CORS, the usual key request), node:http writes the list as it is, without the
 * validation, lower-casing and map entry each setHeader costs; otherwise it merges the list with
 * what was set, as a setHeader per entry would. `entityTag`, when given, comes first.
 */
function writeHeadWith(
  response: ServerResponse,
  status: number,
  entityTag: string | undefined,
  headers: Array<string | number>,
): void {
  response.writeHead(status, entityTag === undefined ? headers : ['ETag', entityTag, ...headers]);
}

/** 204 with the context of the write that just succeeded (and its ETag, when the write left a live version). */
export function sendNoContent(response: ServerResponse, context: string, entityTag?: string): void {
  writeHeadWith(response, 204, entityTag, [contextHeaderName, context]);
  response.end();
}

/** One live value: its raw bytes, its content type, its context and its modification time. */
export function sendValue(response: ServerResponse, sibling: SiblingView, context: string, entityTag?: string): void {
  writeHeadWith(response, 200, entityTag, [
    'Content-Type',
    sibling.contentType,
    'Content-Length',
    sibling.value.byteLength,
    'Last-Modified',
    new Date(sibling.lastModifiedMs).toUTCString(),
    contextHeaderName,
    context,
  ]);
  response.end(sibling.value);
}

/**
 * Turns anything a handler threw into an answer. A coded EverwriteError is the client's business:
 * its status and JSON. Anything else is a bug or an unexpected failure: logged with its stack,
 * answered 500 EVERWRITE_INTERNAL without internals. If the head is already out, the only honest
 * signal left is to cut the connection.
 */
export function sendThrown(response: ServerResponse, thrown: unknown, logger: Logger, route: string): void {
  if (!isEverwriteError(thrown)) logger.error({ err: thrown, route }, 'http request failed unexpectedly');
  if (response.headersSent) {
    response.destroy();
    return;
  }
  if (isEverwriteError(thrown)) {
    sendJson(response, thrown.httpStatus, thrown.toJSON());
    return;
  }
  sendCodedError(response, 500, 'EVERWRITE_INTERNAL', 'internal error; the node logged the details');
}
