// Why: one table says which paths exist and which methods each accepts, so "unknown route" (404)
// and "wrong method" (405 with Allow) fall out of it instead of being re-decided per handler.
// Matching splits the raw path on "/" before any decoding, so a key may contain "%2F".
import type { IncomingMessage, ServerResponse } from 'node:http';
import { deleteProps, getAntiEntropy, getHealth, getMetrics, getProps, getRing, getStatus, postAntiEntropy, putProps } from './admin-handlers.ts';
import type { Exchange, Handler, RouteDefinition } from './exchange.ts';
import { deletePlan, getPlan, getView, postCommit, postJoin, postLeave, postPlanJoin, postRemove } from './membership-handlers.ts';
import { deleteKey, getKey, getLocalKey, putKey } from './key-handlers.ts';
import { listBucketKeys } from './key-list-handlers.ts';
import { dashboardPaths, getDashboardAsset, getPlacement, getStats } from './observe-handlers.ts';

function route(template: string, handlers: Readonly<Record<string, Handler>>): RouteDefinition {
  // HEAD answers like GET; Node leaves the body out.
  const all: Record<string, Handler> = { ...handlers };
  if (handlers.GET !== undefined) all.HEAD = handlers.GET;
  // OPTIONS is answered for every route by the server itself (cors.ts).
  return Object.freeze({ template, handlers: Object.freeze(all), allow: [...Object.keys(all), 'OPTIONS'].join(', ') });
}

export const routes = Object.freeze({
  key: route('/buckets/{bucket}/keys/{key}', { GET: getKey, PUT: putKey, DELETE: deleteKey }),
  props: route('/buckets/{bucket}/props', { GET: getProps, PUT: putProps, DELETE: deleteProps }),
  adminStatus: route('/admin/status', { GET: getStatus }),
  adminRing: route('/admin/ring', { GET: getRing }),
  adminAntiEntropy: route('/admin/aae', { GET: getAntiEntropy, POST: postAntiEntropy }),
  adminJoin: route('/admin/join', { POST: postJoin }),
  adminLeave: route('/admin/leave', { POST: postLeave }),
  adminRemove: route('/admin/remove', { POST: postRemove }),
  adminPlan: route('/admin/plan', { GET: getPlan, DELETE: deletePlan }),
  adminPlanJoin: route('/admin/plan/join', { POST: postPlanJoin }),
  adminCommit: route('/admin/commit', { POST: postCommit }),
  adminView: route('/admin/view', { GET: getView }),
  adminLocalKey: route('/admin/local/buckets/{bucket}/keys/{key}', { GET: getLocalKey }),
  health: route('/health', { GET: getHealth }),
  metrics: route('/metrics', { GET: getMetrics }),
  dashboard: route('/', { GET: getDashboardAsset }),
  dashboardAsset: route('/dashboard/{file}', { GET: getDashboardAsset }),
  adminStats: route('/admin/stats', { GET: getStats }),
  adminPlacement: route('/admin/placement', { GET: getPlacement }),
  bucketKeys: route('/buckets/{bucket}/keys', { GET: listBucketKeys }),
});

const fixedPaths: ReadonlyMap<string, RouteDefinition> = new Map([
  ['/', routes.dashboard],
  ['/health', routes.health],
  ['/metrics', routes.metrics],
  ['/admin/status', routes.adminStatus],
  ['/admin/ring', routes.adminRing],
  ['/admin/aae', routes.adminAntiEntropy],
  ['/admin/join', routes.adminJoin],
  ['/admin/leave', routes.adminLeave],
  ['/admin/remove', routes.adminRemove],
  ['/admin/plan', routes.adminPlan],
  ['/admin/plan/join', routes.adminPlanJoin],
  ['/admin/commit', routes.adminCommit],
  ['/admin/view', routes.adminView],
  ['/admin/stats', routes.adminStats],
  ['/admin/placement', routes.adminPlacement],
  ...dashboardPaths.filter((path) => path !== '/').map((path) => [path, routes.dashboardAsset] as const),
]);

/** Template label for requests that matched no route (never the raw path: unbounded cardinality). */
export const unmatchedRoute = 'unmatched';

function exchange(request: IncomingMessage, response: ServerResponse, matched: RouteDefinition, rawBucket: string, rawKey: string, rawQuery: string): Exchange {
  return { request, response, route: matched, rawBucket, rawKey, rawQuery };
}

/** The route and raw parameters of a request, or undefined when no route has its path. */
export function matchRoute(request: IncomingMessage, response: ServerResponse): Exchange | undefined {
  const url = request.url ?? '/';
  const queryStart = url.indexOf('?');
  const path = queryStart < 0 ? url : url.slice(0, queryStart);
  const rawQuery = queryStart < 0 ? '' : url.slice(queryStart + 1);
  const fixed = fixedPaths.get(path);
  if (fixed !== undefined) return exchange(request, response, fixed, '', '', rawQuery);
  const segments = path.split('/');
  // ['', 'buckets', b, 'keys', k] | ['', 'buckets', b, 'props'] | ['', 'buckets', b, 'keys'] | ['', 'admin', 'local', 'buckets', b, 'keys', k]
  if (segments[0] !== '') return undefined;
  if (segments[1] === 'buckets') {
    if (segments.length === 5 && segments[3] === 'keys') return exchange(request, response, routes.key, segments[2] as string, segments[4] as string, rawQuery);
    if (segments.length === 4 && segments[3] === 'props') return exchange(request, response, routes.props, segments[2] as string, '', rawQuery);
    if (segments.length === 4 && segments[3] === 'keys') return exchange(request, response, routes.bucketKeys, segments[2] as string, '', rawQuery);
    return undefined;
  }
  if (segments.length === 7 && segments[1] === 'admin' && segments[2] === 'local' && segments[3] === 'buckets' && segments[5] === 'keys') {
    return exchange(request, response, routes.adminLocalKey, segments[4] as string, segments[6] as string, rawQuery);
  }
  return undefined;
}
