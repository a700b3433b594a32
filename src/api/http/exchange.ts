// Why: the shapes every route handler shares: what the server knows for its whole life (the
// context) and what one request brings (the exchange). Handlers are plain module functions taking
// both, so no closure is created per request.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { KvService, MembershipService } from '../../runtime/service.ts';
import type { HttpMetrics } from './metrics.ts';
import type { ResolvedHttpServerOptions } from './options.ts';
import type { AccessRule } from '../auth/access.ts';
import type { Authenticator } from '../auth/authenticator.ts';

/** Everything a handler may use besides the request itself; one per server, frozen. */
export interface ServerContext {
  readonly service: KvService;
  /** Elastic membership's admin routes (decision 0017); absent: they answer 501. */
  readonly membership: MembershipService | undefined;
  readonly options: ResolvedHttpServerOptions;
  readonly logger: Logger;
  readonly metrics: HttpMetrics;
  /** The node's last minute of operations for GET /admin/stats; absent when the embedder keeps none. */
  readonly liveStats: (() => unknown) | undefined;
  /** Checks credentials once users exist (decision 0025); absent: every route is open (an embedder without users). */
  readonly auth: Authenticator | undefined;
}

/** One request in flight, with its matched route and the raw (still percent-encoded) path parameters. */
export interface Exchange {
  readonly request: IncomingMessage;
  readonly response: ServerResponse;
  readonly route: RouteDefinition;
  /** Percent-encoded bucket segment, '' when the route has none. */
  readonly rawBucket: string;
  /** Percent-encoded key segment, '' when the route has none. */
  readonly rawKey: string;
  /** The query string without '?', '' when absent. */
  readonly rawQuery: string;
}

export type Handler = (context: ServerContext, exchange: Exchange) => Promise<void>;

export interface RouteDefinition {
  /** The path template; the metrics label and the name in 405 answers. */
  readonly template: string;
  /** Handler per HTTP method. */
  readonly handlers: Readonly<Record<string, Handler | undefined>>;
  /** The Allow header for a 405 answer, e.g. "GET, HEAD". */
  readonly allow: string;
  /** Who may call each method (decision 0025; checked centrally by authorize.ts before the handler runs). */
  readonly access: Readonly<Record<string, AccessRule>>;
}
