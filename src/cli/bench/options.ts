// Why: `everwrite bench` takes a dozen flags whose combinations can be wrong in ways that would
// silently produce a meaningless figure (R > N, a 0:0 ratio, more nodes than a local cluster can
// have). They are parsed and checked here, once, into one frozen options object, by pure functions
// the unit tests exercise without starting anything.

export type BenchEngine = 'lmdb' | 'level' | 'memory';
export type BenchDurability = 'durable' | 'buffered';
export type BenchResolver = 'siblings' | 'lww';
/** Which HTTP client the workers use: node:http with a keep-alive Agent, or the global fetch. */
export type BenchHttpClient = 'node-http' | 'fetch';

/** Share of reads and writes, as given (`50:50`, `95:5`); `readFraction` is what the workers draw against. */
export interface Ratio {
  readonly reads: number;
  readonly writes: number;
  readonly readFraction: number;
}

export interface BenchOptions {
  /** Nodes of the local cluster the bench starts itself (1..9); unused with `targets`. */
  readonly nodes: number;
  /** Concurrent closed-loop workers, each with at most one request in flight. */
  readonly clients: number;
  /** How long the measured run lasts, in seconds. */
  readonly durationSeconds: number;
  /** Size of every written value, in bytes (at most the node's 1 MiB limit). */
  readonly valueBytes: number;
  readonly ratio: Ratio;
  /** Keys are drawn uniformly from this many distinct names. */
  readonly keys: number;
  /** Keys written before the measured run, so early reads find something (0 = none). */
  readonly preloadKeys: number;
  /** Storage engine of the bench's own cluster; unused with `targets`. */
  readonly engine: BenchEngine;
  readonly durability: BenchDurability;
  /** lww by default: blind writes under `siblings` would pile up siblings until writes are refused. */
  readonly resolver: BenchResolver;
  readonly n: number;
  readonly r: number;
  readonly w: number;
  /** Base HTTP URLs of a running cluster; empty means "start a local cluster". */
  readonly targets: readonly string[];
  readonly bucket: string;
  /** A request still unanswered after this long is aborted and counted as an error, in ms. */
  readonly requestTimeoutMs: number;
  readonly httpClient: BenchHttpClient;
  /** Seeds the workers' key and operation choices and the value bytes, so runs are comparable. */
  readonly seed: number;
  /** Ports of the bench's own cluster: node i uses peerPortBase+i and httpPortBase+i. */
  readonly peerPortBase: number;
  readonly httpPortBase: number;
  readonly json: boolean;
  readonly progress: boolean;
}

/** The flags as commander hands them over: strings, except the boolean switches. */
export interface BenchFlags {
  readonly nodes?: string;
  readonly clients?: string;
  readonly duration?: string;
  readonly valueSize?: string;
  readonly ratio?: string;
  readonly keys?: string;
  readonly preload?: string;
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
  readonly json?: boolean;
  readonly progress?: boolean;
}

/** Defaults are the first load benchmark's: 3 nodes, N=3 R=2 W=2, 32 clients, 20 s, 1 KiB, 50:50. */
export const benchDefaults = Object.freeze({
  nodes: 3,
  clients: 32,
  durationSeconds: 20,
  valueBytes: 1024,
  ratio: '50:50',
  keys: 10_000,
  preloadKeys: 0,
  engine: 'lmdb' as BenchEngine,
  durability: 'durable' as BenchDurability,
  resolver: 'lww' as BenchResolver,
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
});

/** Upper bounds, so a typo cannot start a million sockets or a day-long run. */
export const benchLimits = Object.freeze({
  clientsMax: 4_096,
  durationSecondsMax: 3_600,
  valueBytesMax: 1_048_576,
  keysMax: 10_000_000,
  nodesMax: 9,
  requestTimeoutMsMax: 600_000,
  portBaseMax: 65_000,
});

/** A whole decimal number within [minimum, maximum], or an error naming the flag. */
export function parseIntegerFlag(text: string, flag: string, minimum: number, maximum: number): number {
  const trimmed = text.trim();
  if (!/^\d{1,10}$/.test(trimmed)) throw new Error(`${flag} must be a whole number, got ${JSON.stringify(text)}`);
  const value = Number(trimmed);
  if (value < minimum || value > maximum) throw new Error(`${flag} must be between ${minimum} and ${maximum}, got ${value}`);
  return value;
}

/** `READS:WRITES` in any proportion (`50:50`, `95:5`, `1:1`, `100:0`); not both zero. */
export function parseRatio(text: string): Ratio {
  const match = /^\s*(\d{1,6})\s*:\s*(\d{1,6})\s*$/.exec(text);
  if (match === null) throw new Error(`--ratio must be READS:WRITES such as 50:50 or 95:5, got ${JSON.stringify(text)}`);
  const reads = Number(match[1]);
  const writes = Number(match[2]);
  if (reads + writes === 0) throw new Error('--ratio must not be 0:0');
  return Object.freeze({ reads, writes, readFraction: reads / (reads + writes) });
}

function parseChoice<T extends string>(text: string, flag: string, allowed: readonly T[]): T {
  if (!(allowed as readonly string[]).includes(text)) throw new Error(`${flag} must be one of ${allowed.join(', ')}, got ${JSON.stringify(text)}`);
  return text as T;
}

/** Comma-separated http(s) base URLs, without a trailing slash. */
export function parseTargets(text: string): string[] {
  const parts = text.split(',').map((part) => part.trim()).filter((part) => part !== '');
  if (parts.length === 0) throw new Error('--target needs at least one URL');
  return parts.map((part) => {
    let url: URL;
    try {
      url = new URL(part);
    } catch {
      throw new Error(`--target must be http URLs separated by commas, got ${JSON.stringify(part)}`);
    }
    if (url.protocol !== 'http:') throw new Error(`--target must use http:, got ${JSON.stringify(part)}`);
    if (url.pathname !== '/' || url.search !== '' || url.hash !== '') throw new Error(`--target must be a base URL without a path, got ${JSON.stringify(part)}`);
    return url.origin;
  });
}

function integerOr(text: string | undefined, fallback: number, flag: string, minimum: number, maximum: number): number {
  return text === undefined ? fallback : parseIntegerFlag(text, flag, minimum, maximum);
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
  const keys = integerOr(flags.keys, benchDefaults.keys, '--keys', 1, benchLimits.keysMax);
  const bucket = flags.bucket ?? benchDefaults.bucket;
  if (!/^[A-Za-z0-9._-]{1,64}$/.test(bucket)) throw new Error(`--bucket must be 1-64 letters, digits, '.', '_' or '-', got ${JSON.stringify(bucket)}`);
  const peerPortBase = integerOr(flags.peerPortBase, benchDefaults.peerPortBase, '--peer-port-base', 1024, benchLimits.portBaseMax);
  const httpPortBase = integerOr(flags.httpPortBase, benchDefaults.httpPortBase, '--http-port-base', 1024, benchLimits.portBaseMax);
  if (Math.abs(peerPortBase - httpPortBase) <= nodes) throw new Error('--peer-port-base and --http-port-base must be more than --nodes apart');
  return Object.freeze({
    nodes,
    clients: integerOr(flags.clients, benchDefaults.clients, '--clients', 1, benchLimits.clientsMax),
    durationSeconds: integerOr(flags.duration, benchDefaults.durationSeconds, '--duration', 1, benchLimits.durationSecondsMax),
    valueBytes: integerOr(flags.valueSize, benchDefaults.valueBytes, '--value-size', 0, benchLimits.valueBytesMax),
    ratio: parseRatio(flags.ratio ?? benchDefaults.ratio),
    keys,
    preloadKeys: integerOr(flags.preload, benchDefaults.preloadKeys, '--preload', 0, keys),
    engine: parseChoice(flags.engine ?? benchDefaults.engine, '--engine', ['lmdb', 'level', 'memory'] as const),
    durability: parseChoice(flags.durability ?? benchDefaults.durability, '--durability', ['durable', 'buffered'] as const),
    resolver: parseChoice(flags.resolver ?? benchDefaults.resolver, '--resolver', ['siblings', 'lww'] as const),
    n,
    r,
    w,
    targets: Object.freeze(targets),
    bucket,
    requestTimeoutMs: integerOr(flags.requestTimeout, benchDefaults.requestTimeoutMs, '--request-timeout', 1, benchLimits.requestTimeoutMsMax),
    httpClient: parseChoice(flags.httpClient ?? benchDefaults.httpClient, '--http-client', ['node-http', 'fetch'] as const),
    seed: integerOr(flags.seed, benchDefaults.seed, '--seed', 0, 2 ** 32 - 1),
    peerPortBase,
    httpPortBase,
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
    clients: options.clients,
    durationSeconds: options.durationSeconds,
    valueBytes: options.valueBytes,
    ratio: `${options.ratio.reads}:${options.ratio.writes}`,
    keys: options.keys,
    preloadKeys: options.preloadKeys,
    bucket: options.bucket,
    props: { n: options.n, r: options.r, w: options.w, durability: options.durability, resolver: options.resolver },
    requestTimeoutMs: options.requestTimeoutMs,
    httpClient: options.httpClient,
    seed: options.seed,
  };
}
