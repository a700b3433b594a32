// Why: one table says which paths exist and which methods each accepts, so "unknown route" (404)
// and "wrong method" (405 with Allow) fall out of it instead of being re-decided per handler.
// Matching splits the raw path on "/" before any decoding, so a key may contain "%2F".
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  deleteProps,
  getAntiEntropy,
  getHealth,
  getMetrics,
  getProps,
  getRing,
  getStatus,
  postAntiEntropy,
  putProps,
} from './admin-handlers.ts';
import type { Exchange, Handler, RouteDefinition } from './exchange.ts';
import {
  deletePlan,
  getPlan,
  getView,
  postCommit,
  postJoin,
  postLeave,
  postPlanJoin,
  postRemove,
} from './membership-handlers.ts';
import { deleteKey, getKey, getLocalKey, putKey } from './key-handlers.ts';
import { listBucketKeys } from './key-list-handlers.ts';
import { dashboardPaths, getDashboardAsset, getPlacement, getStats } from './observe-handlers.ts';
import { deleteUser, getUsers, putUser } from './user-handlers.ts';
import type { AccessRule } from '../auth/access.ts';

/**
 * A route: its handlers per method and who may call them (decision 0025): one rule for every
 * method, or one per method. A route without a rule does not type-check, and a method without one
 * is refused at start (and by test/unit/core/node/users.test.ts and test/integration/auth.test.ts).
 */
function route(
  template: string,
  handlers: Readonly<Record<string, Handler>>,
  access: AccessRule | Readonly<Record<string, AccessRule>>,
): RouteDefinition {
  // HEAD answers like GET; Node leaves the body out.
  const all: Record<string, Handler> = { ...handlers };
  if (handlers.GET !== undefined) all.HEAD = handlers.GET;
  // OPTIONS is answered for every route by the server itself (cors.ts), before any access check.
  const rules: Record<string, AccessRule> = {};
  for (const method of Object.keys(all)) {
    const rule = typeof access === 'string' ? access : access[method === 'HEAD' ? 'GET' : method];
    if (rule === undefined) throw new Error(`route ${template}: ${method} has no access rule`);
    rules[method] = rule;
  }
  return Object.freeze({
    template,
    handlers: Object.freeze(all),
    allow: [...Object.keys(all), 'OPTIONS'].join(', '),
    access: Object.freeze(rules),
  });
}

export const routes = Object.freeze({
  key: route(
    '/buckets/{bucket}/keys/{key}',
    { GET: getKey, PUT: putKey, DELETE: deleteKey },
    { GET: 'read', PUT: 'write', DELETE: 'write' },
  ),
  props: route(
    '/buckets/{bucket}/props',
    { GET: getProps, PUT: putProps, DELETE: deleteProps },
    { GET: 'read', PUT: 'admin', DELETE: 'admin' },
  ),
  // A partition-aware client routes by the ring and the members' addresses: any user may read them.
  adminStatus: route('/admin/status', { GET: getStatus }, 'user'),
  adminRing: route('/admin/ring', { GET: getRing }, 'user'),
  adminAntiEntropy: route('/admin/aae', { GET: getAntiEntropy, POST: postAntiEntropy }, 'admin'),
  adminJoin: route('/admin/join', { POST: postJoin }, 'admin'),
  adminLeave: route('/admin/leave', { POST: postLeave }, 'admin'),
  adminRemove: route('/admin/remove', { POST: postRemove }, 'admin'),
  adminPlan: route('/admin/plan', { GET: getPlan, DELETE: deletePlan }, 'admin'),
  adminPlanJoin: route('/admin/plan/join', { POST: postPlanJoin }, 'admin'),
  adminCommit: route('/admin/commit', { POST: postCommit }, 'admin'),
  adminView: route('/admin/view', { GET: getView }, 'admin'),
  adminLocalKey: route('/admin/local/buckets/{bucket}/keys/{key}', { GET: getLocalKey }, 'admin'),
  adminUsers: route('/admin/users', { GET: getUsers }, 'admin'),
  // PUT is also how the first user is made: authorize.ts lets it through from loopback while no user exists.
  adminUser: route('/admin/users/{name}', { PUT: putUser, DELETE: deleteUser }, 'admin'),
  health: route('/health', { GET: getHealth }, 'public'),
  // Public instead when the node runs with metricsPublic (authorize.ts).
  metrics: route('/metrics', { GET: getMetrics }, 'admin'),
  dashboard: route('/', { GET: getDashboardAsset }, 'admin'),
  dashboardAsset: route('/dashboard/{file}', { GET: getDashboardAsset }, 'admin'),
  adminStats: route('/admin/stats', { GET: getStats }, 'admin'),
  adminPlacement: route('/admin/placement', { GET: getPlacement }, 'admin'),
  bucketKeys: route('/buckets/{bucket}/keys', { GET: listBucketKeys }, 'read'),
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
  ['/admin/users', routes.adminUsers],
  ...dashboardPaths.filter((path) => path !== '/').map((path) => [path, routes.dashboardAsset] as const),
]);

/** Template label for requests that matched no route (never the raw path: unbounded cardinality). */
export const unmatchedRoute = 'unmatched';

function exchange(
  request: IncomingMessage,
  response: ServerResponse,
  matched: RouteDefinition,
  rawBucket: string,
  rawKey: string,
  rawQuery: string,
): Exchange {
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
  // ['', 'buckets', b, 'keys', k] | ['', 'buckets', b, 'props'] | ['', 'buckets', b, 'keys'] | ['', 'admin', 'users', name] | ['', 'admin', 'local', 'buckets', b, 'keys', k]
  if (segments[0] !== '') return undefined;
  if (segments[1] === 'buckets') {
    if (segments.length === 5 && segments[3] === 'keys')
      return exchange(request, response, routes.key, segments[2] as string, segments[4] as string, rawQuery);
    if (segments.length === 4 && segments[3] === 'props')
      return exchange(request, response, routes.props, segments[2] as string, '', rawQuery);
    if (segments.length === 4 && segments[3] === 'keys')
      return exchange(request, response, routes.bucketKeys, segments[2] as string, '', rawQuery);
    return undefined;
  }
  if (segments.length === 4 && segments[1] === 'admin' && segments[2] === 'users')
    return exchange(request, response, routes.adminUser, '', segments[3] as string, rawQuery);
  if (
    segments.length === 7 &&
    segments[1] === 'admin' &&
    segments[2] === 'local' &&
    segments[3] === 'buckets' &&
    segments[5] === 'keys'
  ) {
    return exchange(request, response, routes.adminLocalKey, segments[4] as string, segments[6] as string, rawQuery);
  }
  return undefined;
}
