// Why: the admin routes of elastic membership (decision 0017, docs/API.md). Plan calls (stage,
// show, clear, commit) go to one claimant: any other node answers 307 with Location at the
// claimant's HTTP address, so curl -L and the CLI follow and two operators never commit two
// different views of one version. The node-side rules live in the MembershipService
// (src/server/membership-admin.ts); these handlers only read bounded JSON and pick the answer.
import { EverwriteError } from '../../core/base/errors.ts';
import type { MembershipService } from '../../runtime/service.ts';
import { parseJsonObject } from './admin-handlers.ts';
import { readBody } from './body.ts';
import type { Exchange, ServerContext } from './exchange.ts';
import { sendCodedError, sendJson } from './respond.ts';

/** Largest membership request body, in bytes: a join request (a member description and a proof) is far below it. */
export const membershipBodyBytesMax = 8 * 1024;

/** The service, or a 501 answered: a server started without one (a test double) has no membership. */
function membershipOf(context: ServerContext, exchange: Exchange): MembershipService | undefined {
  const membership = context.membership;
  if (membership === undefined)
    sendCodedError(
      exchange.response,
      501,
      'EVERWRITE_NOT_IMPLEMENTED',
      `${exchange.route.template} is not available: this node runs without a cluster view`,
    );
  return membership;
}

/** The JSON object body; an empty body is an empty object. */
async function readJsonBody(exchange: Exchange): Promise<Readonly<Record<string, unknown>>> {
  const body = await readBody(exchange.request, exchange.response, {
    bytesMax: membershipBodyBytesMax,
    code: 'EVERWRITE_VALUE_TOO_LARGE',
    what: 'membership request body',
  });
  return body.length === 0 ? {} : parseJsonObject(body);
}

/** Answers 307 to the claimant when it is another node; true when it did. `query` is added to the Location. */
function redirectedToClaimant(membership: MembershipService, exchange: Exchange, query = ''): boolean {
  const claimant = membership.claimantRedirect();
  if (claimant === undefined) return false;
  const path = (exchange.request.url ?? exchange.route.template).split('?')[0] as string;
  const separator =
    exchange.rawQuery === '' ? (query === '' ? '' : '?') : `?${exchange.rawQuery}${query === '' ? '' : '&'}`;
  // Over HTTPS the claimant serves HTTPS too (TLS is set for the whole cluster, decision 0026).
  const scheme = (exchange.request.socket as { encrypted?: boolean }).encrypted === true ? 'https' : 'http';
  exchange.response.setHeader('Location', `${scheme}://${claimant}${path}${separator}${query}`);
  sendJson(exchange.response, 307, {
    message: `membership plans are staged and committed at the claimant, ${claimant}`,
    claimant,
  });
  return true;
}

function optionalNode(value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw new EverwriteError('EVERWRITE_BAD_REQUEST', 'node must be a node id (a string)');
  return value;
}

/** POST /admin/join on a new node: {"seed": "host:port"}, the HTTP address of a member of the cluster to join. */
export async function postJoin(context: ServerContext, exchange: Exchange): Promise<void> {
  const membership = membershipOf(context, exchange);
  if (membership === undefined) return;
  const body = await readJsonBody(exchange);
  if (typeof body.seed !== 'string')
    throw new EverwriteError(
      'EVERWRITE_BAD_REQUEST',
      'body must be {"seed": "host:port"}: the HTTP address of a member of the cluster to join',
    );
  // The operator's credentials go on to the seed: a cluster with users stages a join only for an admin.
  sendJson(exchange.response, 202, await membership.join(body.seed, exchange.request.headers.authorization));
}

/** POST /admin/plan/join at a member (redirected to the claimant): a new node's signed join request. */
export async function postPlanJoin(context: ServerContext, exchange: Exchange): Promise<void> {
  const membership = membershipOf(context, exchange);
  if (membership === undefined) return;
  const body = await readJsonBody(exchange);
  if (redirectedToClaimant(membership, exchange)) return;
  sendJson(exchange.response, 200, await membership.stageJoin(body));
}

/** POST /admin/leave: {"node": id} or no body (this node). Redirected with ?node= so the claimant does not take itself. */
export async function postLeave(context: ServerContext, exchange: Exchange): Promise<void> {
  const membership = membershipOf(context, exchange);
  if (membership === undefined) return;
  const body = await readJsonBody(exchange);
  const queried = new URLSearchParams(exchange.rawQuery).get('node') ?? undefined;
  const node = optionalNode(body.node) ?? queried;
  const self = context.service.status().id;
  if (redirectedToClaimant(membership, exchange, node === undefined ? `node=${encodeURIComponent(self)}` : '')) return;
  sendJson(exchange.response, 200, membership.leave(node));
}

/** POST /admin/remove: {"node": id}, a member that is dead for good. */
export async function postRemove(context: ServerContext, exchange: Exchange): Promise<void> {
  const membership = membershipOf(context, exchange);
  if (membership === undefined) return;
  const node = optionalNode((await readJsonBody(exchange)).node);
  if (node === undefined)
    throw new EverwriteError('EVERWRITE_BAD_REQUEST', 'body must be {"node": id}: the member to remove');
  if (redirectedToClaimant(membership, exchange)) return;
  sendJson(exchange.response, 200, membership.remove(node));
}

export function getPlan(context: ServerContext, exchange: Exchange): Promise<void> {
  const membership = membershipOf(context, exchange);
  if (membership !== undefined && !redirectedToClaimant(membership, exchange))
    sendJson(exchange.response, 200, membership.planReport());
  return Promise.resolve();
}

export function deletePlan(context: ServerContext, exchange: Exchange): Promise<void> {
  const membership = membershipOf(context, exchange);
  if (membership !== undefined && !redirectedToClaimant(membership, exchange))
    sendJson(exchange.response, 200, membership.clearPlan());
  return Promise.resolve();
}

export async function postCommit(context: ServerContext, exchange: Exchange): Promise<void> {
  const membership = membershipOf(context, exchange);
  if (membership === undefined) return;
  await readJsonBody(exchange);
  if (redirectedToClaimant(membership, exchange)) return;
  sendJson(exchange.response, 200, membership.commit());
}

/** GET /admin/view: this node's cluster view, encoded and tagged with the cluster secret (what a joining node polls). */
export function getView(context: ServerContext, exchange: Exchange): Promise<void> {
  const membership = membershipOf(context, exchange);
  if (membership !== undefined) sendJson(exchange.response, 200, membership.signedView());
  return Promise.resolve();
}
