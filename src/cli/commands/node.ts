// Why: `everwrite start` runs one node in the foreground; `everwrite dev` runs a local cluster of
// separate OS processes (ports 7000+i, 8000+i), keeping data and the cluster secret under ./data so
// a restart finds everything again, and stops every child cleanly on Ctrl-C.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import type { Logger } from 'pino';
import { loadSecret } from '../../io/transport/handshake.ts';
import { LocalCluster, type LocalClusterOptions } from '../local-cluster.ts';
import { startNode, type ClusterMember, type HostPort, type RunningNode } from '../../server/start-node.ts';
import { fatalExitCode, installProcessGuard } from '../../server/process-guard.ts';
import { parseSeed, parseWeight } from '../../server/view-boot.ts';
import type { EngineKind } from '../../io/storage/index.ts';
import { applyPropsPatch } from '../../core/node/bucket-props.ts';
import { defaultNodeCoreSettings, type NodeCoreSettings } from '../../core/node/options.ts';
import { parseLimitsJson } from '../../server/node-limits.ts';
import { readJsonObjectFlag } from '../../server/json-flag.ts';
import { createNodeLogger } from '../../server/logger.ts';

export function parseHostPort(text: string, what: string): HostPort {
  const match = /^(.*):(\d{1,5})$/.exec(text.trim());
  const port = match ? Number(match[2]) : NaN;
  if (!match || match[1] === '' || port > 65535) throw new Error(`${what} must be HOST:PORT, got ${JSON.stringify(text)}`);
  return { host: match[1] as string, port };
}

/** `id@host:port` or `host:port` (the id is then the address itself), then `;zone=`, `;weight=`, `;http=`, `;resp=` (view-boot.ts). */
export function parseMember(text: string): ClusterMember {
  return parseSeed(text);
}

/**
 * Parses `--settings-json`: a JSON object with any of the node core's settings (src/core/node/
 * options.ts). Validated here, because the core asserts on bad settings (a bug) while a bad flag is
 * an operator's mistake that deserves a clear message.
 */
export function parseSettingsJson(source: unknown, clusterSize: number): Partial<NodeCoreSettings> {
  const parsed = readJsonObjectFlag(source, '--settings-json');
  if (parsed === undefined) return {};
  const settings: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(parsed)) {
    if (!Object.hasOwn(defaultNodeCoreSettings, name)) throw new Error(`--settings-json: unknown setting ${JSON.stringify(name)}; known: ${Object.keys(defaultNodeCoreSettings).join(', ')}`);
    if (name === 'defaultProps') {
      settings[name] = applyPropsPatch(defaultNodeCoreSettings.defaultProps, value as Record<string, unknown>, clusterSize);
    } else if (typeof value === 'number' && Number.isSafeInteger(value) && value > 0) {
      settings[name] = value;
    } else {
      throw new Error(`--settings-json: ${name} must be a positive integer, got ${JSON.stringify(value)}`);
    }
  }
  const probeTimeoutMs = (settings['livenessProbeTimeoutMs'] as number | undefined) ?? defaultNodeCoreSettings.livenessProbeTimeoutMs;
  const probeIntervalMs = (settings['livenessProbeIntervalMs'] as number | undefined) ?? defaultNodeCoreSettings.livenessProbeIntervalMs;
  if (probeTimeoutMs >= probeIntervalMs) throw new Error(`--settings-json: livenessProbeTimeoutMs (${probeTimeoutMs}) must be shorter than livenessProbeIntervalMs (${probeIntervalMs})`);
  return settings as Partial<NodeCoreSettings>;
}

interface StartFlags {
  nodeId?: string;
  listen: string;
  http: string;
  resp?: string;
  data?: string;
  seeds?: string;
  engine: string;
  secretFile?: string;
  partitions: string;
  zone?: string;
  weight?: string;
  logLevel: string;
  config?: string;
  settingsJson?: string;
  limitsJson?: string;
}

/** The settings `start` takes from flags, a --config file or EVERWRITE_* variables. */
export const startSettingNames = ['nodeId', 'listen', 'http', 'resp', 'data', 'seeds', 'engine', 'secretFile', 'partitions', 'zone', 'weight', 'logLevel', 'settingsJson', 'limitsJson'] as const;

/**
 * Flags win over the config file, which wins over EVERWRITE_* environment variables. `given` names
 * the settings that came from any of them rather than from a default (a given --partitions is
 * checked against the persisted cluster view; a default one is not).
 */
function mergeSettings(flags: StartFlags, command: Command): StartFlags & { given: ReadonlySet<string> } {
  const fromFile = flags.config === undefined ? {} : (JSON.parse(readFileSync(flags.config, 'utf8')) as Partial<StartFlags>);
  const merged: Record<string, unknown> = {};
  const given = new Set<string>();
  for (const name of startSettingNames) {
    const environmentName = `EVERWRITE_${name.replace(/[A-Z]/g, (letter) => `_${letter}`).toUpperCase()}`;
    const explicit = command.getOptionValueSource(name) === 'cli';
    merged[name] = explicit ? flags[name] : (fromFile[name] ?? process.env[environmentName] ?? flags[name]);
    if (explicit || fromFile[name] !== undefined || process.env[environmentName] !== undefined) given.add(name);
  }
  return { ...(merged as unknown as StartFlags), given };
}

async function runStart(rawFlags: StartFlags, command: Command): Promise<void> {
  const flags = mergeSettings(rawFlags, command);
  const listen = parseHostPort(flags.listen, '--listen');
  const nodeId = flags.nodeId ?? `${listen.host}:${listen.port}`;
  const members = (flags.seeds ?? '').split(',').filter((seed) => seed.trim() !== '').map(parseMember);
  const engine = flags.engine as EngineKind;
  if (!['lmdb', 'level', 'memory'].includes(engine)) throw new Error(`--engine must be lmdb, level or memory, got ${engine}`);
  if (engine !== 'memory' && flags.data === undefined) throw new Error('--data DIR is required for durable engines');
  const settings = parseSettingsJson(flags.settingsJson, members.length);
  const limits = parseLimitsJson(flags.limitsJson);
  const logger = createNodeLogger({ level: flags.logLevel, nodeId });
  // Installed before the node starts, so nothing escapes unlogged; the node is known once started.
  const started: { node?: RunningNode } = {};
  installProcessGuard(process, { logger, onFatal: () => abortAndExit(started.node, logger) });
  const secret = loadSecret({ ...(flags.secretFile === undefined ? {} : { secretFile: flags.secretFile }), environment: process.env.EVERWRITE_SECRET });
  const node = await startNode({
    nodeId,
    listen,
    http: parseHostPort(flags.http, '--http'),
    ...(flags.resp === undefined || flags.resp === '' ? {} : { resp: parseHostPort(flags.resp, '--resp') }),
    members,
    engine,
    ...(flags.data === undefined ? {} : { dataDirectory: resolve(flags.data) }),
    secret,
    ...(flags.given.has('partitions') ? { partitionCount: Number(flags.partitions) } : {}),
    ...(flags.zone === undefined || flags.zone === '' ? {} : { zone: flags.zone }),
    ...(flags.weight === undefined ? {} : { weight: parseWeight(String(flags.weight), '--weight') }),
    settings,
    limits,
    logger,
    onLeftCluster: (viewVersion) => {
      logger.info({ viewVersion }, `this node left the cluster: view version ${viewVersion} no longer includes it and its partitions are handed off; exiting 0`);
      void started.node?.stop().then(() => process.exit(0), () => process.exit(1));
    },
  });
  started.node = node;
  console.log(`everwrite node ${node.id} ready: peers ${node.peerAddress.host}:${node.peerAddress.port}, http http://${node.httpAddress.host}:${node.httpAddress.port}${node.respAddress === undefined ? '' : `, resp ${node.respAddress.host}:${node.respAddress.port}`}`);
  const stop = (): void => {
    node.stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

/** Bound on stopping a node whose state is suspect, in ms: past it the process exits anyway. */
const abortGraceMs = 10_000;

function abortAndExit(node: RunningNode | undefined, logger: Logger): void {
  const exit = (): void => {
    logger.fatal({ exitCode: fatalExitCode }, 'node stopped after a broken invariant; exiting');
    process.exit(fatalExitCode);
  };
  setTimeout(exit, abortGraceMs).unref();
  (node?.abort() ?? Promise.resolve()).then(exit, exit);
}

interface DevFlags {
  nodes: string;
  data: string;
  engine: string;
  partitions: string;
  logLevel: string;
}

async function runDev(flags: DevFlags): Promise<void> {
  const engine = flags.engine as LocalClusterOptions['engine'];
  const cluster = new LocalCluster({ nodes: Number(flags.nodes), dataDirectory: flags.data, engine, partitions: Number(flags.partitions), logLevel: flags.logLevel });
  let stopping = false;
  const stopAll = (): void => {
    if (stopping) return;
    stopping = true;
    console.log('stopping the local cluster...');
    cluster.stop().then(() => process.exit(0), () => process.exit(1));
  };
  process.on('SIGINT', stopAll);
  process.on('SIGTERM', stopAll);
  await cluster.start();
  for (const node of cluster.nodes) {
    console.log(`${node.id}: pid ${node.process?.pid}, peers ${node.peerAddress}, http ${node.httpUrl}, resp ${node.respAddress}, dashboard ${node.httpUrl}/`);
  }
  console.log(`data under ${resolve(flags.data)}; try: curl -X PUT -d hello ${cluster.node(1).httpUrl}/buckets/demo/keys/greeting; press Ctrl-C to stop`);
  for (const node of cluster.nodes) {
    node.process?.once('exit', (code, signal) => {
      if (!stopping) console.log(`${node.id} exited (${signal ?? code}); stopping the others`);
      stopAll();
    });
  }
}

export function registerNodeCommands(program: Command): void {
  program
    .command('start')
    .description('run one node in the foreground')
    .option('--node-id <id>', 'this node\'s id (default: its --listen address)')
    .option('--listen <host:port>', 'address for peer connections', '127.0.0.1:7001')
    .option('--http <host:port>', 'address for the HTTP API', '127.0.0.1:8001')
    .option('--resp <host:port>', 'address for the Redis-protocol front end (off when absent)')
    .option('--data <dir>', 'data directory (durable engines)')
    .option('--seeds <list>', 'comma-separated id@host:port[;zone=Z][;weight=W][;http=host:port][;resp=host:port]: on a new cluster every member (the same list on every node, this node included); afterwards where to find the cluster, checked against the persisted view')
    .option('--engine <kind>', 'storage engine: lmdb, level or memory', 'lmdb')
    .option('--secret-file <file>', 'cluster secret file (or EVERWRITE_SECRET)')
    .option('--partitions <q>', 'ring partitions of a new cluster (power of two; same on every node; fixed once the cluster exists)', '256')
    .option('--zone <name>', "this node's zone (failure domain): preference lists span distinct zones; must match its --seeds entry")
    .option('--weight <w>', "this node's relative capacity (default 1): weight 2 owns about twice the partitions; must match its --seeds entry")
    .option('--log-level <level>', 'pino log level', 'info')
    .option('--config <file>', 'JSON file with any of these settings')
    .option('--settings-json <json>', 'node core settings as a JSON object (or EVERWRITE_SETTINGS_JSON, or "settingsJson" in --config), e.g. \'{"downBackoffMs":500,"hintDeliveryIntervalMs":200,"reapDelayMs":1000}\'; any field of src/core/node/options.ts (times in ms, positive integers; defaultProps a bucket-props object)')
    .option('--limits-json <json>', 'connection caps, timeouts and request rate as a JSON object (or EVERWRITE_LIMITS_JSON, or "limitsJson" in --config), e.g. \'{"http":{"connectionsMax":4096,"headersTimeoutMs":5000},"resp":{"idleTimeoutMs":300000},"peer":{"handshakesPendingMax":64},"rate":{"requestsPerSecond":1000,"burstRequests":2000}}\'; see docs/OPERATIONS.md')
    .action((flags: StartFlags, command: Command) => runStart(flags, command));
  program
    .command('dev')
    .description('run a local cluster of separate processes (ports 7000+i, 8000+i)')
    .option('--nodes <count>', 'how many nodes', '3')
    .option('--data <dir>', 'data directory', './data')
    .option('--engine <kind>', 'storage engine: lmdb, level or memory', 'lmdb')
    .option('--partitions <q>', 'ring partitions', '256')
    .option('--log-level <level>', 'pino log level for the nodes', 'warn')
    .action((flags: DevFlags) => runDev(flags));
}
