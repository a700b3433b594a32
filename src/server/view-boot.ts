// Why: the boot rules of the cluster view (decision 0015). A brand-new node builds version 1 from
// `--seeds`, and every node given the same seeds builds the same view, so the seeds carry what the
// first ring depends on (zone, weight) and may carry what operators want shown (HTTP and RESP
// addresses): `id@host:port;zone=a;weight=2;http=host:port;resp=host:port`. After that the
// persisted view rules and `--seeds` only says where the cluster is: a seed list, partition count,
// zone or weight that contradicts the persisted view is a conflict that stops the boot with a
// message naming the difference, because serving from either version would answer wrongly.
import { EverwriteError } from '../core/base/errors.ts';
import { asNodeId } from '../core/base/ids.ts';
import { firstView, memberOf, type ClusterView, type ViewMember } from '../core/cluster-view/index.ts';
import { defaultPartitionCount } from '../core/ring/ring.ts';

/** One `--seeds` entry: an id and peer address, and optionally what the first view needs. */
export interface SeedMember {
  readonly id: string;
  readonly host: string;
  readonly port: number;
  readonly http?: string;
  readonly resp?: string;
  readonly zone?: string;
  readonly weight?: number;
}

export interface ViewBootInput {
  readonly persisted: ClusterView | undefined;
  readonly nodeId: string;
  /** This node's own addresses, "host:port". */
  readonly peer: string;
  readonly http: string;
  readonly resp: string | undefined;
  /** `--zone` and `--weight`, when given. */
  readonly zone: string | undefined;
  readonly weight: number | undefined;
  readonly seeds: readonly SeedMember[];
  /** `--partitions`, when given (undefined: the default for a new cluster, anything for a persisted one). */
  readonly partitionCount: number | undefined;
}

export interface ViewBoot {
  readonly view: ClusterView;
  /** True when this boot built the first view (nothing was persisted). */
  readonly created: boolean;
  /** Harmless differences worth a log line (an address the view has differently). */
  readonly warnings: readonly string[];
}

function conflict(message: string): EverwriteError {
  return new EverwriteError('EVERWRITE_VIEW_CONFLICT', message);
}

const addressOf = (seed: SeedMember): string => `${seed.host}:${seed.port}`;

function seedAsMember(seed: SeedMember): ViewMember {
  const member: { -readonly [K in keyof ViewMember]: ViewMember[K] } = {
    id: asNodeId(seed.id),
    peer: addressOf(seed),
    weight: seed.weight ?? 1,
    state: 'valid',
  };
  if (seed.http !== undefined) member.http = seed.http;
  if (seed.resp !== undefined) member.resp = seed.resp;
  if (seed.zone !== undefined) member.zone = seed.zone;
  return member;
}

/** The first view of a new cluster, from the seeds; this node's flags must agree with its own seed entry. */
function createFirst(input: ViewBootInput): ViewBoot {
  const ownSeed = input.seeds.find((seed) => seed.id === input.nodeId);
  if (input.seeds.length > 0 && ownSeed === undefined) {
    throw conflict(
      `this node (${input.nodeId}) is not in --seeds: every node of a new cluster must be given the same --seeds, itself included, to build the same first view`,
    );
  }
  const own: SeedMember = ownSeed ?? {
    id: input.nodeId,
    host: input.peer.slice(0, input.peer.lastIndexOf(':')),
    port: Number(input.peer.slice(input.peer.lastIndexOf(':') + 1)),
    http: input.http,
    ...(input.resp === undefined ? {} : { resp: input.resp }),
    ...(input.zone === undefined ? {} : { zone: input.zone }),
    ...(input.weight === undefined ? {} : { weight: input.weight }),
  };
  if (input.zone !== undefined && own.zone !== input.zone) {
    throw conflict(
      `--zone ${input.zone} but this node's --seeds entry gives zone ${own.zone ?? '(none)'}: put ";zone=${input.zone}" in every node's --seeds so all build the same first view`,
    );
  }
  if (input.weight !== undefined && (own.weight ?? 1) !== input.weight) {
    throw conflict(
      `--weight ${input.weight} but this node's --seeds entry gives weight ${own.weight ?? 1}: put ";weight=${input.weight}" in every node's --seeds so all build the same first view`,
    );
  }
  const members = input.seeds.length === 0 ? [own] : input.seeds;
  return {
    view: firstView(input.partitionCount ?? defaultPartitionCount, members.map(seedAsMember)),
    created: true,
    warnings: [],
  };
}

/** Every way the command line contradicts the persisted view; each one stops the boot. */
function contradictions(input: ViewBootInput, view: ClusterView): string[] {
  const found: string[] = [];
  const where = `the persisted cluster view (version ${view.version}, digest ${view.digest})`;
  if (input.partitionCount !== undefined && input.partitionCount !== view.partitionCount) {
    found.push(
      `--partitions ${input.partitionCount} but ${where} has ${view.partitionCount} partitions; the partition count is fixed when a cluster is created`,
    );
  }
  const self = memberOf(view, input.nodeId);
  if (self === undefined) found.push(`this node (${input.nodeId}) is not a member of ${where}`);
  if (self !== undefined && input.zone !== undefined && self.zone !== input.zone)
    found.push(`--zone ${input.zone} but ${where} has this node in zone ${self.zone ?? '(none)'}`);
  if (self !== undefined && input.weight !== undefined && self.weight !== input.weight)
    found.push(`--weight ${input.weight} but ${where} has this node at weight ${self.weight}`);
  for (const seed of input.seeds) {
    const member = memberOf(view, seed.id);
    if (member === undefined) {
      found.push(
        `--seeds names ${seed.id} (${addressOf(seed)}), which is not a member of ${where} (members: ${view.members.map((each) => each.id).join(', ')}); membership changes by an operator's join, not by editing --seeds`,
      );
      continue;
    }
    // This node's own entry moving is its --listen moving: a warning (bootView), not a conflict.
    if (member.peer !== addressOf(seed) && seed.id !== input.nodeId)
      found.push(`--seeds gives ${seed.id} at ${addressOf(seed)} but ${where} has it at ${member.peer}`);
    if (seed.zone !== undefined && seed.zone !== member.zone)
      found.push(`--seeds gives ${seed.id} zone ${seed.zone} but ${where} has ${member.zone ?? '(none)'}`);
    if (seed.weight !== undefined && seed.weight !== member.weight)
      found.push(`--seeds gives ${seed.id} weight ${seed.weight} but ${where} has ${member.weight}`);
  }
  return found;
}

/** The view this boot runs with, or EVERWRITE_VIEW_CONFLICT naming every contradiction. */
export function bootView(input: ViewBootInput): ViewBoot {
  const view = input.persisted;
  if (view === undefined) return createFirst(input);
  const found = contradictions(input, view);
  if (found.length > 0) throw conflict(`refusing to start: ${found.join('; ')}`);
  const self = memberOf(view, input.nodeId)!;
  const warnings: string[] = [];
  if (self.peer !== input.peer)
    warnings.push(
      `this node listens for peers on ${input.peer} but the cluster view has it at ${self.peer}; peers will dial ${self.peer}`,
    );
  if (self.http !== undefined && self.http !== input.http)
    warnings.push(`this node serves HTTP on ${input.http} but the cluster view lists ${self.http}`);
  return { view, created: false, warnings };
}

/**
 * Parses one `--seeds` entry: `id@host:port` or `host:port` (the id is then the address), then any
 * of `;zone=Z`, `;weight=W`, `;http=host:port`, `;resp=host:port`.
 */
export function parseSeed(text: string): SeedMember {
  const [head = '', ...attributes] = text.trim().split(';');
  const at = head.indexOf('@');
  const addressText = at === -1 ? head : head.slice(at + 1);
  const match = /^(.*):(\d{1,5})$/.exec(addressText);
  const port = match ? Number(match[2]) : NaN;
  if (!match || match[1] === '' || port < 1 || port > 65535)
    throw new Error(`a seed must be id@HOST:PORT, got ${JSON.stringify(text)}`);
  const seed: { -readonly [K in keyof SeedMember]: SeedMember[K] } = {
    id: at === -1 ? addressText : head.slice(0, at),
    host: match[1] as string,
    port,
  };
  if (seed.id === '') throw new Error(`a seed's id must not be empty, got ${JSON.stringify(text)}`);
  for (const attribute of attributes) {
    const equals = attribute.indexOf('=');
    const name = attribute.slice(0, equals);
    const value = attribute.slice(equals + 1);
    if (equals <= 0 || value === '')
      throw new Error(`seed ${seed.id}: attributes are name=value, got ${JSON.stringify(attribute)}`);
    if (name === 'zone') seed.zone = value;
    else if (name === 'weight') seed.weight = parseWeight(value, `seed ${seed.id}`);
    else if (name === 'http' || name === 'resp') seed[name] = value;
    else
      throw new Error(`seed ${seed.id}: unknown attribute ${JSON.stringify(name)} (known: zone, weight, http, resp)`);
  }
  return seed;
}

/** A weight above 0 and at most 1000, as `--weight` and the seeds give it. */
export function parseWeight(text: string, what: string): number {
  const weight = Number(text);
  if (text.trim() === '' || !Number.isFinite(weight) || weight <= 0 || weight > 1000)
    throw new Error(`${what}: weight must be a number above 0 and at most 1000, got ${JSON.stringify(text)}`);
  return weight;
}
