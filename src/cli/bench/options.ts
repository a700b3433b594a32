// Why: `everwrite bench` takes a couple of dozen flags whose combinations can be wrong in ways that
// would silently produce a meaningless figure (R > N, client routing over RESP, more nodes than a
// local cluster can have). They are parsed and checked here, once, into one frozen options object, by pure functions
// the unit tests exercise without starting anything.
import type { Routing } from '../../client/index.ts';
import { EverwriteError } from '../../core/base/errors.ts';
import { durabilities, resolvers, type Durability, type Resolver } from '../../core/protocol/contract.ts';
import { benchProtocols, type BenchProtocol } from './drivers.ts';
import { keyDistributions, type KeyDistribution } from './key-choosers.ts';
import { parseRespAddress, respBucket } from './resp-driver.ts';
import { workloadNames, workloads, type WorkloadName } from './ycsb.ts';

export type BenchEngine = 'lmdb' | 'level' | 'memory';
/** Which HTTP client the workers use: node:http with a keep-alive Agent, or the global fetch. */
export type BenchHttpClient = 'node-http' | 'fetch';

export interface BenchOptions {
  /** Nodes of the local cluster the bench starts itself (1..9); unused with `targets`. */
  readonly nodes: number;
  /** Closed loop: concurrent workers, each with one request in flight. Open loop: most requests in flight. */
  readonly clients: number;
  /** Open loop at this many operations per second (undefined: closed loop). */
  readonly targetRate: number | undefined;
  readonly workload: WorkloadName;
  readonly distribution: KeyDistribution;
  readonly protocol: BenchProtocol;
  /** For --protocol client: who picks the coordinator. */
  readonly routing: Routing;
  /** How long the measured run lasts, in seconds. */
  readonly durationSeconds: number;
  /** Size of every written value, in bytes (at most the node's 1 MiB limit). */
  readonly valueBytes: number;
  /** Records (keys 0..records-1) the load phase writes and the run phase chooses from. */
  readonly records: number;
  /** Whether to run the load phase (off to run again against an already loaded --target). */
  readonly load: boolean;
  /** Storage engine of the bench's own cluster; unused with `targets`. */
  readonly engine: BenchEngine;
  readonly durability: Durability;
  /** lww by default: blind writes under `siblings` would pile up siblings until writes are refused. */
  readonly resolver: Resolver;
  readonly n: number;
  readonly r: number;
  readonly w: number;
  /** Base http(s) URLs of a running cluster, all of one scheme (https: RESP speaks TLS too); empty means "start a local cluster". */
  readonly targets: readonly string[];
  /** RESP addresses (host:port) of that running cluster, for --protocol resp with --target. */
  readonly respTargets: readonly string[];
  /** Where to write the SVG plot of latency over time (undefined: none). */
  readonly svgPath: string | undefined;
  readonly bucket: string;
  /** A request still unanswered after this long is aborted and counted as an error, in ms. */
  readonly requestTimeoutMs: number;
  readonly httpClient: BenchHttpClient;
  /** Seeds the workers' key and operation choices and the value bytes, so runs are comparable. */
  readonly seed: number;
  /** Ports of the bench's own cluster: node i uses peerPortBase+i and httpPortBase+i. */
  readonly peerPortBase: number;
  readonly httpPortBase: number;
  /** Node i serves RESP on respPortBase+i. */
  readonly respPortBase: number;
  readonly json: boolean;
  readonly progress: boolean;
}

/** The flags as commander hands them over: strings, except the boolean switches. */
export interface BenchFlags {
  readonly nodes?: string;
  readonly clients?: string;
  readonly rate?: string;
  readonly workload?: string;
  readonly distribution?: string;
  readonly protocol?: string;
  readonly routing?: string;
  readonly duration?: string;
  readonly valueSize?: string;
  readonly records?: string;
  readonly load?: boolean;
  readonly respTarget?: string;
  readonly svg?: string;
  readonly engine?: string;
  readonly durability?: string;
  readonly resolver?: string;
  readonly n?: string;
  readonly r?: string;
  readonly w?: string;
  readonly target?: string;
  readonly bucket?: string;
  readonly requestTimeout?: string;
  readonly httpClient?: string;
  readonly seed?: string;
  readonly peerPortBase?: string;
  readonly httpPortBase?: string;
  readonly respPortBase?: string;
  readonly json?: boolean;
  readonly progress?: boolean;
}

/** A flag the bench cannot run with: EVERWRITE_BAD_REQUEST, the message naming the flag. */
function badFlag(message: string): EverwriteError {
  return new EverwriteError('EVERWRITE_BAD_REQUEST', message);
}

/** Defaults: YCSB workload A over HTTP on 3 nodes, N=3 R=2 W=2, 32 clients, 20 s, 1 KiB values, 10,000 records. */
export const benchDefaults = Object.freeze({
  nodes: 3,
  clients: 32,
  workload: 'A' as WorkloadName,
  protocol: 'http' as BenchProtocol,
  routing: 'server' as Routing,
  durationSeconds: 20,
  valueBytes: 1024,
  records: 10_000,
  engine: 'lmdb' as BenchEngine,
  durability: 'durable' as Durability,
  resolver: 'lww' as Resolver,
  n: 3,
  r: 2,
  w: 2,
  bucket: 'bench',
  /** 5 s: well past any quorum timeout of a healthy node, short enough to keep a stuck worker busy. */
  requestTimeoutMs: 5_000,
  /** node:http measured faster than fetch on this machine (docs/BENCHMARKS.md). */
  httpClient: 'node-http' as BenchHttpClient,
  seed: 1,
  /** Far from the `dev` cluster's 7000/8000, so a bench can run beside it. */
  peerPortBase: 27_000,
  httpPortBase: 28_000,
  respPortBase: 26_000,
});

/** Upper bounds, so a typo cannot start a million sockets or a day-long run. */
export const benchLimits = Object.freeze({
  clientsMax: 4_096,
  rateMax: 1_000_000,
  durationSecondsMax: 3_600,
  valueBytesMax: 1_048_576,
  recordsMax: 10_000_000,
  nodesMax: 9,
  requestTimeoutMsMax: 600_000,
  portBaseMax: 65_000,
});

/** A whole decimal number within [minimum, maximum], or an error naming the flag. */
export function parseIntegerFlag(text: string, flag: string, minimum: number, maximum: number): number {
  const trimmed = text.trim();
  if (!/^\d{1,10}$/.test(trimmed)) throw badFlag(`${flag} must be a whole number, got ${JSON.stringify(text)}`);
  const value = Number(trimmed);
  if (value < minimum || value > maximum)
    throw badFlag(`${flag} must be between ${minimum} and ${maximum}, got ${value}`);
  return value;
}

function parseChoice<T extends string>(text: string, flag: string, allowed: readonly T[]): T {
  if (!(allowed as readonly string[]).includes(text))
    throw badFlag(`${flag} must be one of ${allowed.join(', ')}, got ${JSON.stringify(text)}`);
  return text as T;
}

/**
 * Comma-separated http(s) base URLs, without a trailing slash. All of one scheme: the nodes of one
 * cluster serve TLS on every port or on none (decision 0026), and RESP follows the URLs' scheme.
 */
export function parseTargets(text: string): string[] {
  const parts = text
    .split(',')
    .map((part) => part.trim())
    .filter((part) => part !== '');
  if (parts.length === 0) throw badFlag('--target needs at least one URL');
  const urls = parts.map((part) => {
    let url: URL;
    try {
      url = new URL(part);
    } catch {
      throw badFlag(`--target must be http(s) URLs separated by commas, got ${JSON.stringify(part)}`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:')
      throw badFlag(`--target must use http: or https:, got ${JSON.stringify(part)}`);
    if (url.pathname !== '/' || url.search !== '' || url.hash !== '' || url.username !== '' || url.password !== '')
      throw badFlag(
        `--target must be a base URL without a path or credentials (those come from EVERWRITE_USER and EVERWRITE_PASSWORD or EVERWRITE_TOKEN), got ${JSON.stringify(part)}`,
      );
    return url;
  });
  if (new Set(urls.map((url) => url.protocol)).size > 1)
    throw badFlag('--target URLs must all be http: or all https: (TLS is on every node or on none)');
  return urls.map((url) => url.origin);
}

/** Whether the targets speak TLS (https), which RESP then speaks too. */
export function targetsUseTls(targets: readonly string[]): boolean {
  return targets[0]?.startsWith('https:') === true;
}

function integerOr(text: string | undefined, fallback: number, flag: string, minimum: number, maximum: number): number {
  return text === undefined ? fallback : parseIntegerFlag(text, flag, minimum, maximum);
}

/** Comma-separated RESP addresses, HOST:PORT each. */
export function parseRespTargets(text: string): string[] {
  const parts = text
    .split(',')
    .map((part) => part.trim())
    .filter((part) => part !== '');
  if (parts.length === 0) throw badFlag('--resp-target needs at least one HOST:PORT');
  for (const part of parts) parseRespAddress(part);
  return parts;
}

/** Turns the flags into validated, frozen options; every mistake is an Error naming the flag. */
export function resolveBenchOptions(flags: BenchFlags): BenchOptions {
  const targets = flags.target === undefined ? [] : parseTargets(flags.target);
  const nodes = integerOr(flags.nodes, benchDefaults.nodes, '--nodes', 1, benchLimits.nodesMax);
  // With its own cluster the bench knows the cluster size; with --target the node checks N itself.
  const nMaximum = targets.length === 0 ? nodes : benchLimits.nodesMax * 100;
  const n = integerOr(flags.n, Math.min(benchDefaults.n, nMaximum), '--n', 1, nMaximum);
  const r = integerOr(flags.r, Math.min(benchDefaults.r, n), '--r', 1, n);
  const w = integerOr(flags.w, Math.min(benchDefaults.w, n), '--w', 1, n);
  const records = integerOr(flags.records, benchDefaults.records, '--records', 1, benchLimits.recordsMax);
  const workload = parseChoice((flags.workload ?? benchDefaults.workload).toUpperCase(), '--workload', workloadNames);
  const protocol = parseChoice(flags.protocol ?? benchDefaults.protocol, '--protocol', benchProtocols);
  const routing = parseChoice(flags.routing ?? benchDefaults.routing, '--routing', ['server', 'client'] as const);
  if (flags.routing !== undefined && protocol !== 'client')
    throw badFlag('--routing applies to --protocol client only (HTTP and RESP go to the node each client is given)');
  const respTargets = flags.respTarget === undefined ? [] : parseRespTargets(flags.respTarget);
  if (protocol === 'resp' && targets.length > 0 && respTargets.length === 0)
    throw badFlag(
      "--protocol resp with --target needs --resp-target HOST:PORT[,HOST:PORT...] (the nodes' --resp addresses)",
    );
  if (respTargets.length > 0 && protocol !== 'resp') throw badFlag('--resp-target applies to --protocol resp only');
  if (flags.bucket !== undefined && protocol === 'resp')
    throw badFlag(`--protocol resp always uses the RESP front end's bucket ${respBucket}`);
  const bucket = protocol === 'resp' ? respBucket : (flags.bucket ?? benchDefaults.bucket);
  if (!/^[A-Za-z0-9._-]{1,64}$/.test(bucket))
    throw badFlag(`--bucket must be 1-64 letters, digits, '.', '_' or '-', got ${JSON.stringify(bucket)}`);
  const peerPortBase = integerOr(
    flags.peerPortBase,
    benchDefaults.peerPortBase,
    '--peer-port-base',
    1024,
    benchLimits.portBaseMax,
  );
  const httpPortBase = integerOr(
    flags.httpPortBase,
    benchDefaults.httpPortBase,
    '--http-port-base',
    1024,
    benchLimits.portBaseMax,
  );
  const respPortBase = integerOr(
    flags.respPortBase,
    benchDefaults.respPortBase,
    '--resp-port-base',
    1024,
    benchLimits.portBaseMax,
  );
  const bases = [peerPortBase, httpPortBase, respPortBase];
  if (
    bases.some((base, index) =>
      bases.some((other, otherIndex) => otherIndex !== index && Math.abs(base - other) <= nodes),
    )
  )
    throw badFlag('--peer-port-base, --http-port-base and --resp-port-base must be more than --nodes apart');
  return Object.freeze({
    nodes,
    clients: integerOr(flags.clients, benchDefaults.clients, '--clients', 1, benchLimits.clientsMax),
    targetRate: flags.rate === undefined ? undefined : parseIntegerFlag(flags.rate, '--rate', 1, benchLimits.rateMax),
    workload,
    distribution: parseChoice(
      flags.distribution ?? workloads[workload].distribution,
      '--distribution',
      keyDistributions,
    ),
    protocol,
    routing,
    durationSeconds: integerOr(
      flags.duration,
      benchDefaults.durationSeconds,
      '--duration',
      1,
      benchLimits.durationSecondsMax,
    ),
    valueBytes: integerOr(flags.valueSize, benchDefaults.valueBytes, '--value-size', 0, benchLimits.valueBytesMax),
    records,
    load: flags.load !== false,
    engine: parseChoice(flags.engine ?? benchDefaults.engine, '--engine', ['lmdb', 'level', 'memory'] as const),
    durability: parseChoice(flags.durability ?? benchDefaults.durability, '--durability', durabilities),
    resolver: parseChoice(flags.resolver ?? benchDefaults.resolver, '--resolver', resolvers),
    n,
    r,
    w,
    targets: Object.freeze(targets),
    respTargets: Object.freeze(respTargets),
    svgPath: flags.svg === undefined || flags.svg === '' ? undefined : flags.svg,
    bucket,
    requestTimeoutMs: integerOr(
      flags.requestTimeout,
      benchDefaults.requestTimeoutMs,
      '--request-timeout',
      1,
      benchLimits.requestTimeoutMsMax,
    ),
    httpClient: parseChoice(flags.httpClient ?? benchDefaults.httpClient, '--http-client', [
      'node-http',
      'fetch',
    ] as const),
    seed: integerOr(flags.seed, benchDefaults.seed, '--seed', 0, 2 ** 32 - 1),
    peerPortBase,
    httpPortBase,
    respPortBase,
    json: flags.json === true,
    progress: flags.progress !== false,
  });
}

/** The settings as printed in the report and the JSON: what was asked, not how. */
export function describeSettings(options: BenchOptions): Record<string, unknown> {
  const ownCluster = options.targets.length === 0;
  return {
    cluster: ownCluster ? 'local' : 'target',
    ...(ownCluster ? { nodes: options.nodes, engine: options.engine } : { targets: [...options.targets] }),
    ...(options.respTargets.length === 0 ? {} : { respTargets: [...options.respTargets] }),
    workload: options.workload,
    distribution: options.distribution,
    protocol: options.protocol,
    ...(options.protocol === 'client' ? { routing: options.routing } : {}),
    clients: options.clients,
    ...(options.targetRate === undefined ? {} : { targetRate: options.targetRate }),
    durationSeconds: options.durationSeconds,
    valueBytes: options.valueBytes,
    records: options.records,
    load: options.load,
    bucket: options.bucket,
    props: { n: options.n, r: options.r, w: options.w, durability: options.durability, resolver: options.resolver },
    requestTimeoutMs: options.requestTimeoutMs,
    httpClient: options.httpClient,
    seed: options.seed,
  };
}
