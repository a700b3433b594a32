// Why: the routes that let a person see into a running node: the live dashboard's page and
// assets (served from src/api/http/dashboard/, plain HTML/JS/CSS with no build step and nothing
// fetched from outside), the last minute of operations it charts (GET /admin/stats) and where a key
// lives (GET /admin/placement). docs/API.md documents the JSON they answer.
import { readFileSync } from 'node:fs';
import { EverwriteError } from '../../core/base/errors.ts';
import type { Exchange, ServerContext } from './exchange.ts';
import { decodeKeyAddress } from './request-input.ts';
import { sendCodedError, sendJson } from './respond.ts';

interface Asset {
  readonly contentType: string;
  readonly body: Buffer;
}

function asset(file: string, contentType: string): Asset {
  return { contentType, body: readFileSync(new URL(`./dashboard/${file}`, import.meta.url)) };
}

/** Read once at start: a few tens of KiB, served from memory. Keys are the request paths. */
const assets: ReadonlyMap<string, Asset> = new Map([
  ['/', asset('index.html', 'text/html; charset=utf-8')],
  ['/dashboard/dashboard.js', asset('dashboard.js', 'text/javascript; charset=utf-8')],
  ['/dashboard/dashboard.css', asset('dashboard.css', 'text/css; charset=utf-8')],
]);

/** The request paths the dashboard serves, for the route table. */
export const dashboardPaths: readonly string[] = [...assets.keys()];

export function getDashboardAsset(_context: ServerContext, exchange: Exchange): Promise<void> {
  const url = exchange.request.url ?? '/';
  const found = assets.get(url.split('?', 1)[0] as string);
  if (found === undefined) {
    sendCodedError(exchange.response, 404, 'EVERWRITE_NOT_FOUND', 'no such dashboard file');
    return Promise.resolve();
  }
  const response = exchange.response;
  response.statusCode = 200;
  response.setHeader('Content-Type', found.contentType);
  response.setHeader('Content-Length', found.body.length);
  // The page runs only its own script and style: nothing from elsewhere, no inline code.
  response.setHeader('Content-Security-Policy', "default-src 'self'; img-src 'self' data:");
  response.setHeader('Cache-Control', 'no-cache');
  response.end(found.body);
  return Promise.resolve();
}

/** GET /admin/stats: per operation the last minute second by second, hints pending and event totals. */
export function getStats(context: ServerContext, exchange: Exchange): Promise<void> {
  if (context.liveStats === undefined)
    sendCodedError(exchange.response, 501, 'EVERWRITE_NOT_IMPLEMENTED', 'this node keeps no live statistics');
  else sendJson(exchange.response, 200, context.liveStats());
  return Promise.resolve();
}

/** GET /admin/placement?bucket=B&key=K: the key's partition, primaries and the nodes a request would use now. */
export function getPlacement(context: ServerContext, exchange: Exchange): Promise<void> {
  const parameters = new URLSearchParams(exchange.rawQuery);
  for (const name of parameters.keys()) {
    if (name !== 'bucket' && name !== 'key')
      throw new EverwriteError(
        'EVERWRITE_BAD_REQUEST',
        `unknown query parameter ${JSON.stringify(name.slice(0, 64))}; accepted: bucket, key`,
      );
  }
  const bucket = parameters.getAll('bucket');
  const key = parameters.getAll('key');
  if (bucket.length !== 1 || key.length !== 1)
    throw new EverwriteError('EVERWRITE_BAD_REQUEST', 'give bucket and key once each: /admin/placement?bucket=B&key=K');
  const address = decodeKeyAddress(
    encodeURIComponent(bucket[0] as string),
    encodeURIComponent(key[0] as string),
    context.options.limits,
  );
  const placement = context.service.placement?.(address.bucket, address.key);
  if (placement === undefined)
    sendCodedError(exchange.response, 501, 'EVERWRITE_NOT_IMPLEMENTED', 'this node has no ring to place keys on');
  else sendJson(exchange.response, 200, placement);
  return Promise.resolve();
}
