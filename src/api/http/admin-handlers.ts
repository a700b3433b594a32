// Why: the routes around the data path: bucket properties, the node's view of the cluster, health,
// metrics (the dashboard's routes are in observe-handlers.ts). Membership routes are in membership-handlers.ts.
import { utf8Decode } from '../../core/base/bytes.ts';
import { EverwriteError } from '../../core/base/errors.ts';
import { readBody } from './body.ts';
import type { Exchange, ServerContext } from './exchange.ts';
import { decodeBucket } from './request-input.ts';
import { sendCodedError, sendJson } from './respond.ts';

export async function getProps(context: ServerContext, exchange: Exchange): Promise<void> {
  const bucket = decodeBucket(exchange.rawBucket, context.options.limits);
  sendJson(exchange.response, 200, await context.service.getBucketProps(bucket));
}

/** The props body as a JSON object; exported for the fuzzers (test/fuzz). */
export function parseJsonObject(body: Uint8Array): Readonly<Record<string, unknown>> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(utf8Decode(body));
  } catch {
    throw new EverwriteError('EVERWRITE_BAD_REQUEST', 'body is not valid UTF-8 JSON');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new EverwriteError('EVERWRITE_BAD_REQUEST', 'body must be a JSON object such as {"n":3,"r":2,"w":2}');
  }
  return parsed as Readonly<Record<string, unknown>>;
}

/** Partial update: the JSON object's fields are validated by the service, which answers the new props. */
export async function putProps(context: ServerContext, exchange: Exchange): Promise<void> {
  const bucket = decodeBucket(exchange.rawBucket, context.options.limits);
  const limit = {
    bytesMax: context.options.jsonBodyBytesMax,
    code: 'EVERWRITE_VALUE_TOO_LARGE',
    what: 'props body',
  } as const;
  const patch = parseJsonObject(await readBody(exchange.request, exchange.response, limit));
  sendJson(exchange.response, 200, await context.service.setBucketProps(bucket, patch));
}

/** Back to the defaults, cluster-wide; answers the bucket's props (the defaults) like a PUT does. */
export async function deleteProps(context: ServerContext, exchange: Exchange): Promise<void> {
  const bucket = decodeBucket(exchange.rawBucket, context.options.limits);
  sendJson(exchange.response, 200, await context.service.deleteBucketProps(bucket));
}

export function getStatus(context: ServerContext, exchange: Exchange): Promise<void> {
  sendJson(exchange.response, 200, context.service.status());
  return Promise.resolve();
}

export function getRing(context: ServerContext, exchange: Exchange): Promise<void> {
  sendJson(exchange.response, 200, context.service.ring());
  return Promise.resolve();
}

export function getHealth(_context: ServerContext, exchange: Exchange): Promise<void> {
  sendJson(exchange.response, 200, { status: 'ok' });
  return Promise.resolve();
}

export async function getMetrics(context: ServerContext, exchange: Exchange): Promise<void> {
  const registry = context.metrics.registry;
  const text = await registry.metrics();
  exchange.response.statusCode = 200;
  exchange.response.setHeader('Content-Type', registry.contentType);
  exchange.response.setHeader('Content-Length', Buffer.byteLength(text));
  exchange.response.end(text);
}

/** GET /admin/aae: anti-entropy per partition (decision 0016). */
export function getAntiEntropy(context: ServerContext, exchange: Exchange): Promise<void> {
  const report = context.service.antiEntropy?.();
  if (report === undefined)
    sendCodedError(exchange.response, 501, 'EVERWRITE_NOT_IMPLEMENTED', 'this node runs no anti-entropy');
  else sendJson(exchange.response, 200, report);
  return Promise.resolve();
}

/** POST /admin/aae[?partition=P]: exchange now; answers the report (progress is read with GET). */
export function postAntiEntropy(context: ServerContext, exchange: Exchange): Promise<void> {
  const raw = new URLSearchParams(exchange.rawQuery).get('partition');
  if (raw !== null && !/^[0-9]{1,6}$/.test(raw))
    throw new EverwriteError('EVERWRITE_BAD_REQUEST', 'partition must be a non-negative integer');
  const service = context.service;
  if (service.requestAntiEntropy === undefined) {
    sendCodedError(exchange.response, 501, 'EVERWRITE_NOT_IMPLEMENTED', 'this node runs no anti-entropy');
  } else {
    sendJson(exchange.response, 202, service.requestAntiEntropy(raw === null ? undefined : Number(raw)));
  }
  return Promise.resolve();
}
