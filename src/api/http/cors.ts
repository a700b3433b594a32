// Why: a browser application on another origin can call the HTTP API only if the node says so
// (CORS). Off by default: a node answers no cross-origin request until an operator lists the
// origins it trusts (`corsOrigins`, docs/OPERATIONS.md). Also where OPTIONS is answered for every
// route (with Allow), since a preflight is an OPTIONS request; before, OPTIONS answered 405.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { contextHeaderName } from '../../core/protocol/http-contract.ts';

/** Most origins a node may list: a configuration, not a registry of every site. */
export const corsOriginsMax = 64;
/** Longest origin accepted, in characters. */
const originCharactersMax = 256;
/** How long a browser may cache a preflight answer, in seconds: configuration changes need a restart anyway. */
const preflightMaxAgeSeconds = 600;
/** What a cross-origin request may send: the headers the API reads. */
const allowedRequestHeaders = [
  'Content-Type',
  contextHeaderName,
  'If-Match',
  'If-None-Match',
  'If-Modified-Since',
].join(', ');
/** What a cross-origin script may read of an answer beyond the CORS-safelisted headers. */
const exposedResponseHeaders = ['ETag', contextHeaderName, 'Retry-After', 'Allow'].join(', ');

const originPattern = /^https?:\/\/(?:[a-z0-9-]+(?:\.[a-z0-9-]+)*|\[[0-9a-f:.]+\])(?::\d{1,5})?$/;

/**
 * The origins of a configuration, each `scheme://host[:port]` in lower case as a browser sends it
 * (no path, no trailing slash, no `*`: a wildcard would let any site drive the API). Throws an
 * Error naming the first bad entry.
 */
export function parseCorsOrigins(values: readonly unknown[]): string[] {
  if (values.length > corsOriginsMax)
    throw new Error(`at most ${corsOriginsMax} origins may be listed, got ${values.length}`);
  return values.map((value, index) => {
    if (typeof value !== 'string' || value.length > originCharactersMax || !originPattern.test(value)) {
      throw new Error(
        `entry ${index} must be an origin such as "https://app.example.com" or "http://localhost:3000" (lower case, no path, no *), got ${JSON.stringify(value)}`,
      );
    }
    return value;
  });
}

/** The request's Origin when the node trusts it, else undefined. */
function trustedOrigin(origins: ReadonlySet<string>, request: IncomingMessage): string | undefined {
  const origin = request.headers.origin;
  return origin !== undefined && origins.has(origin) ? origin : undefined;
}

/** Marks an answer readable by a trusted origin; with CORS on, tells caches the answer depends on Origin. */
export function applyCors(origins: ReadonlySet<string>, request: IncomingMessage, response: ServerResponse): void {
  if (origins.size === 0) return;
  response.setHeader('Vary', 'Origin');
  const origin = trustedOrigin(origins, request);
  if (origin === undefined) return;
  response.setHeader('Access-Control-Allow-Origin', origin);
  response.setHeader('Access-Control-Expose-Headers', exposedResponseHeaders);
}

/**
 * 204 with Allow, for any route; for a preflight (Access-Control-Request-Method) from a trusted
 * origin also the methods and headers it may use. An untrusted origin's preflight gets no CORS
 * headers, so the browser refuses the request it was asking about.
 */
export function answerOptions(
  origins: ReadonlySet<string>,
  request: IncomingMessage,
  response: ServerResponse,
  allow: string,
): void {
  response.statusCode = 204;
  response.setHeader('Allow', allow);
  if (trustedOrigin(origins, request) !== undefined && request.headers['access-control-request-method'] !== undefined) {
    response.setHeader('Access-Control-Allow-Methods', allow);
    response.setHeader('Access-Control-Allow-Headers', allowedRequestHeaders);
    response.setHeader('Access-Control-Max-Age', String(preflightMaxAgeSeconds));
  }
  response.end();
}
