// Why: decision 0017's operator half lives in the node's shell, not its core: the staged plan is
// operator state held in memory at the claimant (a restart loses it; nothing was committed), the
// claimant is a choice made from the view and liveness, and a join crosses plain HTTP to another
// cluster's member. This is the one room for it. It stages with the pure rules of
// core/cluster-view/transition.ts, and a commit, or the first view that includes a joining node,
// enters the core as a `viewMade` event, so the runtime persists it and the transport follows it
// exactly as for a view learnt from gossip.
import { EverwriteError } from '../core/base/errors.ts';
import { asNodeId, type NodeId } from '../core/base/ids.ts';
import {
  commitPlan,
  decodeView,
  isAddress,
  memberOf,
  previewOf,
  previewPlan,
  stageChange,
  type ClusterView,
  type Plan,
  type PlanChange,
  type PlanPreview,
  type ViewMember,
} from '../core/cluster-view/index.ts';
import type { NodeRuntime, RuntimeLogger } from '../runtime/node-runtime.ts';
import type { Clock, Timers } from '../runtime/ports.ts';
import type {
  CommitReport,
  MembershipService,
  PlanChangeJson,
  PlanPreviewJson,
  PlanReport,
} from '../runtime/service.ts';
import { JoinProof } from '../io/join-proof.ts';
import { authorizationCharactersMax } from '../api/http/authorize.ts';

export interface MembershipAdminOptions {
  readonly runtime: NodeRuntime;
  readonly clock: Clock;
  readonly timers: Timers;
  /** The cluster secret: join proofs and view tags are made with a key derived from it. */
  readonly secret: Uint8Array;
  readonly logger?: RuntimeLogger;
  /** How often a joining node asks for the committed view, in ms. Default 500. */
  readonly joinPollIntervalMs?: number;
  /** How long a joining node keeps asking before it gives up (the operator runs join again), in ms. Default 1 hour. */
  readonly joinPollDurationMs?: number;
  /** Bound on each HTTP exchange with the seed, in ms. Default 5000. */
  readonly requestTimeoutMs?: number;
  /**
   * When this node serves HTTPS (decision 0026) its seeds do too: they are asked over https, through
   * `dispatcher` (a fetch dispatcher trusting the cluster CA) when given, else with the system's
   * roots. Absent: plain http.
   */
  readonly seedTls?: { readonly dispatcher?: object };
  /**
   * With mutual TLS on the peer port (decision 0026): dials a joining node's peer address and
   * resolves why its certificate is refused, or undefined when the cluster CA signed it. A join is
   * staged only after it passes, so a node with a foreign certificate never enters a view.
   */
  readonly peerCertificateCheck?: (peer: string) => Promise<string | undefined>;
}

/** Largest answer read from a seed: a view of 1024 members fits (viewLimits.viewBytesMax, base64). */
const seedAnswerBytesMax = 3 * 1024 * 1024;

function changeJson(change: PlanChange): PlanChangeJson {
  if (change.kind !== 'join') return { kind: change.kind, id: change.id };
  const member = change.member;
  return {
    kind: 'join',
    id: member.id,
    peer: member.peer,
    http: member.http ?? null,
    zone: member.zone ?? null,
    weight: member.weight,
  };
}

function previewJson(preview: PlanPreview): PlanPreviewJson {
  return { members: preview.members, partitionsMoved: preview.partitionsMoved, transfers: preview.transfers };
}

function badRequest(message: string): EverwriteError {
  return new EverwriteError('EVERWRITE_BAD_REQUEST', message);
}

/** A node id from a request: a non-empty string of at most 256 characters. */
export function parseNodeField(value: unknown, field: string): NodeId {
  if (typeof value !== 'string' || value.length === 0 || value.length > 256)
    throw badRequest(`${field} must be a node id (a string of 1 to 256 characters)`);
  return asNodeId(value);
}

/** The canonical bytes a join proof covers: the member as described and the partition count. */
export function joinPayload(member: ViewMember, partitionCount: number): string {
  return JSON.stringify([
    member.id,
    member.peer,
    member.http ?? null,
    member.resp ?? null,
    member.zone ?? null,
    member.weight,
    partitionCount,
  ]);
}

/** The joining member a request describes, checked field by field; throws EVERWRITE_BAD_REQUEST. */
function parseJoiningMember(value: unknown): ViewMember {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw badRequest('member must be an object {id, peer, http, resp?, zone?, weight}');
  const fields = value as Record<string, unknown>;
  const id = parseNodeField(fields.id, 'member.id');
  for (const name of ['peer', 'http'] as const)
    if (!isAddress(fields[name])) throw badRequest(`member.${name} must be host:port`);
  if (fields.resp !== undefined && fields.resp !== null && !isAddress(fields.resp))
    throw badRequest('member.resp must be host:port or absent');
  if (
    fields.zone !== undefined &&
    fields.zone !== null &&
    (typeof fields.zone !== 'string' || fields.zone.length === 0 || fields.zone.length > 256)
  )
    throw badRequest('member.zone must be a string of 1 to 256 characters or absent');
  if (
    typeof fields.weight !== 'number' ||
    !Number.isFinite(fields.weight) ||
    fields.weight <= 0 ||
    fields.weight > 1000
  )
    throw badRequest('member.weight must be a number above 0 and at most 1000');
  const member: { -readonly [K in keyof ViewMember]: ViewMember[K] } = {
    id,
    peer: fields.peer as string,
    http: fields.http as string,
    weight: fields.weight,
    state: 'valid',
  };
  if (typeof fields.resp === 'string') member.resp = fields.resp;
  if (typeof fields.zone === 'string') member.zone = fields.zone;
  return member;
}

/** The answer's text, read chunk by chunk and abandoned past seedAnswerBytesMax (a body without Content-Length may be endless). */
async function readBounded(response: Response, seed: string): Promise<string> {
  const chunks: Uint8Array[] = [];
  let bytes = 0;
  const reader = response.body?.getReader();
  if (reader === undefined) return '';
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    bytes += value.byteLength;
    if (bytes > seedAnswerBytesMax) {
      await reader.cancel();
      throw new EverwriteError('EVERWRITE_UNAVAILABLE', `${seed} answered more than ${seedAnswerBytesMax} bytes`, {
        seed,
      });
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}

export class MembershipAdmin implements MembershipService {
  private plan: Plan | undefined;
  private readonly proof: JoinProof;
  /** The seed a join is waiting on, while this node polls it for the committed view. */
  private joinWait:
    { readonly seed: string; readonly authorization: string | undefined; readonly untilMs: number } | undefined;

  constructor(private readonly options: MembershipAdminOptions) {
    this.proof = new JoinProof(options.secret);
  }

  private get view(): ClusterView {
    const view = this.options.runtime.core.viewGossip?.view;
    if (view === undefined)
      throw new EverwriteError('EVERWRITE_NOT_IMPLEMENTED', 'this node runs without a cluster view');
    return view;
  }

  private get replicaCount(): number {
    return this.options.runtime.core.largestBucketN();
  }

  /** The lowest-id valid member this node does not hold down (decision 0017); this node when it is valid and lowest. */
  claimant(): ViewMember {
    const core = this.options.runtime.core;
    const view = this.view;
    const candidates = view.members.filter(
      (member) => member.state === 'valid' && (member.id === core.self || core.liveness(member.id)?.state !== 'down'),
    );
    const chosen = candidates[0] ?? memberOf(view, core.self);
    if (chosen === undefined)
      throw new EverwriteError('EVERWRITE_UNAVAILABLE', 'this node is not a member of its own view');
    return chosen;
  }

  claimantRedirect(): string | undefined {
    const claimant = this.claimant();
    if (claimant.id === this.options.runtime.core.self) return undefined;
    if (claimant.http === undefined)
      throw new EverwriteError(
        'EVERWRITE_UNAVAILABLE',
        `the claimant ${claimant.id} has no HTTP address in the cluster view; ask it directly`,
        { claimant: claimant.id },
      );
    return claimant.http;
  }

  planReport(): PlanReport {
    const view = this.view;
    const plan = this.plan !== undefined && this.plan.baseVersion <= view.version ? this.plan : undefined;
    let preview: PlanPreviewJson | null = null;
    let previewError: PlanReport['previewError'] = null;
    if (plan !== undefined) {
      try {
        preview = previewJson(previewPlan(view, plan, this.replicaCount));
      } catch (error) {
        if (!(error instanceof EverwriteError)) throw error;
        previewError = { code: error.code, message: error.message };
      }
    }
    return {
      claimant: this.claimant().id,
      version: view.version,
      replicaCount: this.replicaCount,
      staged: plan === undefined ? null : { baseVersion: plan.baseVersion, changes: plan.changes.map(changeJson) },
      preview,
      previewError,
      transition: view.pending === undefined ? null : previewJson(previewOf(view)),
    };
  }

  private stage(change: PlanChange): PlanReport {
    this.plan = stageChange(this.view, this.plan, change, this.replicaCount);
    this.options.logger?.info({ change: changeJson(change), version: this.view.version }, 'staged a membership change');
    return this.planReport();
  }

  leave(node: string | undefined): PlanReport {
    return this.stage({
      kind: 'leave',
      id: node === undefined ? this.options.runtime.core.self : parseNodeField(node, 'node'),
    });
  }

  remove(node: string): PlanReport {
    return this.stage({ kind: 'remove', id: parseNodeField(node, 'node') });
  }

  async stageJoin(request: Readonly<Record<string, unknown>>): Promise<PlanReport> {
    const member = parseJoiningMember(request.member);
    const partitionCount = request.partitionCount;
    if (!Number.isSafeInteger(partitionCount)) throw badRequest('partitionCount must be an integer');
    if (!this.proof.verify('join', joinPayload(member, partitionCount as number), request.proof)) {
      this.options.logger?.warn(
        { id: member.id, peer: member.peer },
        'refused a join request: its proof was not made with this cluster secret',
      );
      throw new EverwriteError(
        'EVERWRITE_JOIN_FORBIDDEN',
        `node ${member.id}'s join proof was not made with this cluster's secret`,
        { id: member.id },
      );
    }
    const view = this.view;
    if (partitionCount !== view.partitionCount) {
      throw new EverwriteError(
        'EVERWRITE_PARTITION_COUNT_MISMATCH',
        `node ${member.id} has ${String(partitionCount)} partitions; this cluster has ${view.partitionCount} (fixed when a cluster is created: start it with --partitions ${view.partitionCount} and an empty data directory)`,
        { id: member.id, partitionCount, clusterPartitionCount: view.partitionCount },
      );
    }
    const refusal = await this.options.peerCertificateCheck?.(member.peer);
    if (refusal !== undefined) {
      this.options.logger?.warn(
        { id: member.id, peer: member.peer, reason: refusal },
        'refused a join request: its peer certificate did not pass',
      );
      throw new EverwriteError(
        'EVERWRITE_JOIN_FORBIDDEN',
        `node ${member.id} at ${member.peer} cannot join: ${refusal}`,
        { id: member.id },
      );
    }
    return this.stage({ kind: 'join', member });
  }

  clearPlan(): PlanReport {
    this.plan = undefined;
    return this.planReport();
  }

  commit(): CommitReport {
    const view = this.view;
    const plan = this.plan ?? { baseVersion: view.version, changes: [] };
    const transition = commitPlan(view, plan, this.replicaCount);
    const runtime = this.options.runtime;
    runtime.dispatch({ type: 'viewMade', nowMs: this.options.clock.monotonicMs(), view: transition, kind: 'commit' });
    if (runtime.core.viewGossip?.view.digest !== transition.digest) {
      throw new EverwriteError(
        'EVERWRITE_PLAN_STALE',
        `the view moved on while committing (now version ${this.view.version}); look at the plan and commit again`,
      );
    }
    this.plan = undefined;
    this.options.logger?.info(
      { version: transition.version, digest: transition.digest, changes: plan.changes.map(changeJson) },
      'committed a membership plan',
    );
    return { version: transition.version, digest: transition.digest, transition: previewJson(previewOf(transition)) };
  }

  /** Stops a join's polling (the node is stopping). */
  stop(): void {
    this.joinWait = undefined;
  }

  signedView(): { readonly version: number; readonly view: string; readonly tag: string } {
    const view = this.view;
    return {
      version: view.version,
      view: Buffer.from(view.encoded).toString('base64'),
      tag: this.proof.tag('view', view.encoded),
    };
  }

  // ---- the joining node's side ---------------------------------------------------------------

  async join(
    seed: string,
    authorization?: string,
  ): Promise<{ readonly seed: string; readonly staged: unknown; readonly waiting: boolean }> {
    if (!isAddress(seed))
      throw badRequest('seed must be the HTTP address (host:port) of a member of the cluster to join');
    if (authorization !== undefined && authorization.length > authorizationCharactersMax)
      throw badRequest(`the Authorization header is longer than ${authorizationCharactersMax} characters`);
    const view = this.view;
    const self = memberOf(view, this.options.runtime.core.self);
    if (self === undefined || self.http === undefined)
      throw new EverwriteError('EVERWRITE_UNAVAILABLE', 'this node is not in its own view with an HTTP address');
    if (view.members.length > 1)
      throw new EverwriteError(
        'EVERWRITE_ALREADY_MEMBER',
        `this node is already a member of a ${view.members.length}-node cluster (view version ${view.version})`,
        { id: self.id },
      );
    const body = {
      member: {
        id: self.id,
        peer: self.peer,
        http: self.http,
        resp: self.resp ?? null,
        zone: self.zone ?? null,
        weight: self.weight,
      },
      partitionCount: view.partitionCount,
      proof: this.proof.tag('join', joinPayload(self, view.partitionCount)),
    };
    const answer = await this.seedRequest(seed, '/admin/plan/join', authorization, {
      method: 'POST',
      body: JSON.stringify(body),
      headers: { 'content-type': 'application/json' },
    });
    const code = (answer.json as { code?: unknown } | undefined)?.code;
    // Already a member there: the join was committed (the operator runs join again after a restart); fetch the view.
    if (answer.status !== 200 && code !== 'EVERWRITE_ALREADY_MEMBER') throw this.seedRefusal(seed, answer);
    this.startJoinWait(seed, authorization);
    return { seed, staged: answer.json, waiting: true };
  }

  private seedRefusal(seed: string, answer: { status: number; json: unknown; text: string }): EverwriteError {
    const coded = answer.json as { code?: unknown; message?: unknown } | undefined;
    if (typeof coded?.code === 'string' && coded.code.startsWith('EVERWRITE_') && typeof coded.message === 'string') {
      return new EverwriteError(
        coded.code as EverwriteError['code'],
        `the cluster at ${seed} refused the join: ${coded.message}`,
        { seed, status: answer.status },
      );
    }
    return new EverwriteError(
      'EVERWRITE_UNAVAILABLE',
      `the cluster at ${seed} answered ${answer.status}: ${answer.text.slice(0, 200)}`,
      { seed },
    );
  }

  /**
   * One bounded exchange with a seed's HTTP API, with the operator's `authorization` when given; a
   * failure to reach it is EVERWRITE_UNAVAILABLE. A 307 to the claimant is followed once by hand:
   * fetch drops the Authorization header on a redirect to another node's port, and the claimant
   * needs it too.
   */
  private async seedRequest(
    seed: string,
    path: string,
    authorization: string | undefined,
    init: RequestInit = {},
  ): Promise<{ status: number; json: unknown; text: string }> {
    const headers = new Headers(init.headers);
    if (authorization !== undefined) headers.set('authorization', authorization);
    const url = `${this.options.seedTls === undefined ? 'http' : 'https'}://${seed}${path}`;
    let response = await this.seedFetch(seed, url, { ...init, headers });
    const location = response.headers.get('location');
    if (response.status === 307 && location !== null) {
      await response.body?.cancel();
      const claimant = new URL(location, url);
      // The operator's credentials follow the redirect only over the scheme they were sent with.
      if (claimant.protocol !== new URL(url).protocol)
        throw new EverwriteError(
          'EVERWRITE_UNAVAILABLE',
          `${seed} redirected the join to ${claimant.origin}, another scheme`,
          { seed },
        );
      response = await this.seedFetch(seed, claimant.href, { ...init, headers });
    }
    const declared = Number(response.headers.get('content-length') ?? '0');
    if (declared > seedAnswerBytesMax) {
      await response.body?.cancel();
      throw new EverwriteError(
        'EVERWRITE_UNAVAILABLE',
        `${seed} answered ${declared} bytes; at most ${seedAnswerBytesMax} are read`,
        { seed },
      );
    }
    const text = await readBounded(response, seed);
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    return { status: response.status, json, text };
  }

  /** One fetch to a seed (or the claimant it redirected to), bounded in time, redirects left to the caller. */
  private async seedFetch(seed: string, url: string, init: RequestInit): Promise<Response> {
    try {
      const seedTls = this.options.seedTls;
      // `dispatcher` is undici's extension of fetch's options, unknown to the DOM's RequestInit.
      const dispatcher = seedTls?.dispatcher === undefined ? {} : ({ dispatcher: seedTls.dispatcher } as RequestInit);
      return await fetch(url, {
        ...init,
        ...dispatcher,
        redirect: 'manual',
        signal: AbortSignal.timeout(this.options.requestTimeoutMs ?? 5000),
      });
    } catch (error) {
      throw new EverwriteError(
        'EVERWRITE_UNAVAILABLE',
        `cannot reach ${seed}: ${error instanceof Error ? error.message : String(error)}`,
        { seed },
      );
    }
  }

  private startJoinWait(seed: string, authorization: string | undefined): void {
    const running = this.joinWait !== undefined;
    this.joinWait = {
      seed,
      authorization,
      untilMs: this.options.clock.monotonicMs() + (this.options.joinPollDurationMs ?? 3_600_000),
    };
    this.options.logger?.info({ seed }, 'join staged; waiting for the commit that includes this node');
    if (!running) this.scheduleJoinPoll(0);
  }

  private scheduleJoinPoll(delayMs: number): void {
    this.options.timers.after(delayMs, () => void this.pollJoin());
  }

  /** Fetches the seed's view; adopts it when it is tagged with the secret and includes this node. */
  private async pollJoin(): Promise<void> {
    const wait = this.joinWait;
    if (wait === undefined) return;
    if (this.options.clock.monotonicMs() > wait.untilMs) {
      this.joinWait = undefined;
      this.options.logger?.warn(
        { seed: wait.seed },
        'gave up waiting for a commit that includes this node; run join again',
      );
      return;
    }
    try {
      if (this.adoptFrom(wait.seed, await this.seedRequest(wait.seed, '/admin/view', wait.authorization))) {
        this.joinWait = undefined;
        return;
      }
    } catch (error) {
      this.options.logger?.debug(
        { seed: wait.seed, error: String(error) },
        'asking the seed for the cluster view failed; asking again',
      );
    }
    this.scheduleJoinPoll(this.options.joinPollIntervalMs ?? 500);
  }

  private adoptFrom(seed: string, answer: { status: number; json: unknown }): boolean {
    const document = answer.json as { view?: unknown; tag?: unknown } | undefined;
    if (answer.status !== 200 || typeof document?.view !== 'string') return false;
    const bytes = new Uint8Array(Buffer.from(document.view, 'base64'));
    if (!this.proof.verify('view', bytes, document.tag)) {
      this.options.logger?.warn(
        { seed },
        'the seed answered a cluster view not tagged with this cluster secret; ignored',
      );
      return false;
    }
    const view = decodeView(bytes);
    const runtime = this.options.runtime;
    if (memberOf(view, runtime.core.self) === undefined) return false;
    runtime.dispatch({ type: 'viewMade', nowMs: this.options.clock.monotonicMs(), view, kind: 'joining' });
    const adopted = runtime.core.viewGossip?.view.digest === view.digest;
    this.options.logger?.[adopted ? 'info' : 'warn'](
      { seed, version: view.version, digest: view.digest },
      adopted
        ? 'joined the cluster: adopted its view that includes this node'
        : 'the cluster view that includes this node was not adopted',
    );
    return adopted;
  }
}
