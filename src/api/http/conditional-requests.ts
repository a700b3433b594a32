// Why: the HTTP side of conditional requests (preconditions.ts holds the parsing and the rules):
// a conditional write reads the key at quorum, checks its preconditions against what it read, and
// writes with that read's context, so "If-None-Match: *" cannot make a sibling of a live version
// the read saw and "If-Match" supersedes exactly the versions whose tag the client named. A read
// answers 304 or 412 when its preconditions say so. Kept apart from the plain key handlers so a
// request without If-* headers pays one header lookup and nothing more.
import type { ServerResponse } from 'node:http';
import { EverwriteError } from '../../core/base/errors.ts';
import type { GetResult, RequestOptions } from '../../runtime/service.ts';
import { contextHeaderKey, contextHeaderName, readContextHeader } from '../../core/protocol/http-contract.ts';
import type { Exchange, ServerContext } from './exchange.ts';
import {
  conditionalStateOf,
  entityTagOf,
  evaluatePreconditions,
  preconditionFailed,
  readPreconditions,
  type Preconditions,
} from './preconditions.ts';
import type { KeyAddress } from './request-input.ts';

/** Sets the ETag of a state with live versions; none for a key absent or deleted. */
export function setEntityTag(response: ServerResponse, context: string): void {
  const tag = entityTagOf(context);
  if (tag !== undefined) response.setHeader('ETag', tag);
}

/** The check read of a conditional write uses the request's R and timeout; W belongs to the write. */
function readOptionsOf(options: RequestOptions | undefined): RequestOptions | undefined {
  if (options === undefined) return undefined;
  return {
    ...(options.r === undefined ? {} : { r: options.r }),
    ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
  };
}

/**
 * The context a PUT or DELETE writes with: the client's X-Everwrite-Context, or, when the request
 * has preconditions, the context of the quorum read they were checked against (412 when they fail).
 * Both at once is refused: the write could honour only one of them.
 */
export async function writeContextOf(
  context: ServerContext,
  exchange: Exchange,
  address: KeyAddress,
  options: RequestOptions | undefined,
): Promise<string | undefined> {
  const { headers } = exchange.request;
  const preconditions = readPreconditions(headers, true);
  const headerContext = readContextHeader(headers[contextHeaderKey]);
  if (preconditions === undefined) return headerContext;
  if (headerContext !== undefined) {
    throw new EverwriteError(
      'EVERWRITE_BAD_REQUEST',
      `send ${contextHeaderName} or a precondition (If-Match, If-None-Match), not both: a conditional write goes with the context its precondition was checked against`,
    );
  }
  const current = await context.service.get(address.bucket, address.key, readOptionsOf(options));
  const state = conditionalStateOf(current);
  if (evaluatePreconditions(preconditions, state, true) !== 'proceed') throw preconditionFailed(state);
  return current.context === '' ? undefined : current.context;
}

/**
 * Answers a GET or HEAD whose preconditions (read before the quorum read, so a malformed header
 * costs nothing) decide it (304 Not Modified, 412) and returns true;
 * false when the read is to be answered as usual.
 */
export function answeredByPreconditions(
  exchange: Exchange,
  preconditions: Preconditions | undefined,
  result: GetResult,
): boolean {
  if (preconditions === undefined) return false;
  const state = conditionalStateOf(result);
  const outcome = evaluatePreconditions(preconditions, state, false);
  if (outcome === 'failed') throw preconditionFailed(state);
  if (outcome === 'proceed') return false;
  const { response } = exchange;
  response.statusCode = 304;
  if (state.entityTag !== undefined) response.setHeader('ETag', state.entityTag);
  response.setHeader(contextHeaderName, result.context);
  response.end();
  return true;
}
