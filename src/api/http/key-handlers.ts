// Why: the client data routes of docs/ARCHITECTURE.md section 4: read, write and delete one key, with the
// causal context carried in a header. This is where the service's sibling list becomes one of the
// three read answers (200 one value, 300 siblings, 404 absent or deleted) and where the size
// limits are applied before the service is asked anything.
import type { DeleteRequest, GetResult, PutRequest, SiblingView } from '../../runtime/service.ts';
import { answeredByPreconditions, setEntityTag, writeContextOf } from './conditional-requests.ts';
import { entityTagOf, readPreconditions } from './preconditions.ts';
import { readBody } from './body.ts';
import type { BodyLimit } from './body.ts';
import type { Exchange, ServerContext } from './exchange.ts';
import { decodeKeyAddress, parseRequestOptions } from './request-input.ts';
import { sendCodedError, sendJson, sendNoContent, sendValue, siblingsToJson } from './respond.ts';

const defaultContentType = 'application/octet-stream';

function firstLiveSibling(siblings: readonly SiblingView[]): SiblingView | undefined {
  for (const sibling of siblings) if (!sibling.deleted) return sibling;
  return undefined;
}

/**
 * 200 with the one value; 300 with every sibling (tombstones included) when versions are
 * concurrent; 404 when nothing live is held, with the context header when a tombstone is, so a
 * write after the delete supersedes it instead of becoming its sibling.
 */
function sendReadResult(exchange: Exchange, result: GetResult): void {
  const live = firstLiveSibling(result.siblings);
  if (live === undefined) {
    const context = result.siblings.length > 0 ? result.context : undefined;
    sendCodedError(
      exchange.response,
      404,
      'EVERWRITE_NOT_FOUND',
      result.siblings.length > 0 ? 'key is deleted' : 'key not found',
      context,
    );
    return;
  }
  if (result.siblings.length > 1) {
    setEntityTag(exchange.response, result.context);
    sendJson(exchange.response, 300, siblingsToJson(result), result.context);
    return;
  }
  sendValue(exchange.response, live, result.context, entityTagOf(result.context));
}

export async function getKey(context: ServerContext, exchange: Exchange): Promise<void> {
  const address = decodeKeyAddress(exchange.rawBucket, exchange.rawKey, context.options.limits);
  const options = parseRequestOptions(exchange.rawQuery);
  const preconditions = readPreconditions(exchange.request.headers, false);
  const result = await context.service.get(address.bucket, address.key, options);
  if (answeredByPreconditions(exchange, preconditions, result)) return;
  sendReadResult(exchange, result);
}

function valueLimit(context: ServerContext): BodyLimit {
  return { bytesMax: context.options.limits.valueBytesMax, code: 'EVERWRITE_VALUE_TOO_LARGE', what: 'value' };
}

export async function putKey(context: ServerContext, exchange: Exchange): Promise<void> {
  const { request } = exchange;
  const address = decodeKeyAddress(exchange.rawBucket, exchange.rawKey, context.options.limits);
  const options = parseRequestOptions(exchange.rawQuery);
  const causalContext = await writeContextOf(context, exchange, address, options);
  const value = await readBody(request, exchange.response, valueLimit(context));
  const contentType = request.headers['content-type'] ?? defaultContentType;
  const put: PutRequest = {
    bucket: address.bucket,
    key: address.key,
    value,
    contentType: contentType === '' ? defaultContentType : contentType,
    ...(causalContext === undefined ? {} : { context: causalContext }),
    ...(options === undefined ? {} : { options }),
  };
  const written = await context.service.put(put);
  sendNoContent(exchange.response, written.context, entityTagOf(written.context));
}

export async function deleteKey(context: ServerContext, exchange: Exchange): Promise<void> {
  const address = decodeKeyAddress(exchange.rawBucket, exchange.rawKey, context.options.limits);
  const options = parseRequestOptions(exchange.rawQuery);
  const causalContext = await writeContextOf(context, exchange, address, options);
  const removal: DeleteRequest = {
    bucket: address.bucket,
    key: address.key,
    ...(causalContext === undefined ? {} : { context: causalContext }),
    ...(options === undefined ? {} : { options }),
  };
  const deleted = await context.service.delete(removal);
  sendNoContent(exchange.response, deleted.context);
}

/** The node's own replica, no quorum: for operators and tests checking where data landed. */
export async function getLocalKey(context: ServerContext, exchange: Exchange): Promise<void> {
  const address = decodeKeyAddress(exchange.rawBucket, exchange.rawKey, context.options.limits);
  const result = await context.service.localGet(address.bucket, address.key);
  if (result === undefined) {
    sendCodedError(exchange.response, 404, 'EVERWRITE_NOT_FOUND', 'this node holds no version of the key');
    return;
  }
  if (result.siblings.length === 0) {
    // A reaped key's context-only record (decision 0019): what keeps older versions from coming back.
    sendCodedError(
      exchange.response,
      404,
      'EVERWRITE_NOT_FOUND',
      'this node holds only the causal context of a reaped key',
      result.context,
    );
    return;
  }
  if (firstLiveSibling(result.siblings) === undefined) {
    sendCodedError(
      exchange.response,
      404,
      'EVERWRITE_NOT_FOUND',
      'this node holds only a tombstone for the key',
      result.context,
    );
    return;
  }
  sendJson(exchange.response, 200, siblingsToJson(result), result.context);
}
