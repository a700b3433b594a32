// Why: `everwrite start` runs one node in the foreground, its settings from flags, a --config file
// and EVERWRITE_* variables, all checked by one schema (start-settings.ts) before anything starts.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import type pino from 'pino';
import type { HostPort, NodeTlsOptions, RunningNode } from '../../server/start-node.ts';
import { applyPropsPatch } from '../../core/node/bucket-props.ts';
import { defaultNodeCoreSettings, type NodeCoreSettings } from '../../core/node/options.ts';
import { readJsonObjectFlag } from '../../server/json-flag.ts';
import { defaultLimits } from '../../core/base/limits.ts';
import { UsageError } from '../exit-codes.ts';
import {
  checkSetting,
  engineKinds,
  flagOf,
  logLevels,
  partitionsMax,
  resolveStartSettings,
  startSettingNames,
  tlsPortNames,
  type ResolvedStartSettings,
  type StartSettingName,
  type StartSettings,
} from '../start-settings.ts';

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
    if (!Object.hasOwn(defaultNodeCoreSettings, name))
      throw new Error(
        `--settings-json: unknown setting ${JSON.stringify(name)}; known: ${Object.keys(defaultNodeCoreSettings).join(', ')}`,
      );
    if (name === 'defaultProps') {
      settings[name] = applyPropsPatch(
        defaultNodeCoreSettings.defaultProps,
        value as Record<string, unknown>,
        clusterSize,
      );
    } else if (typeof value === 'number' && Number.isSafeInteger(value) && value > 0) {
      settings[name] = value;
    } else {
      throw new Error(`--settings-json: ${name} must be a positive integer, got ${JSON.stringify(value)}`);
    }
  }
  const probeTimeoutMs =
    (settings['livenessProbeTimeoutMs'] as number | undefined) ?? defaultNodeCoreSettings.livenessProbeTimeoutMs;
  const probeIntervalMs =
    (settings['livenessProbeIntervalMs'] as number | undefined) ?? defaultNodeCoreSettings.livenessProbeIntervalMs;
  if (probeTimeoutMs >= probeIntervalMs)
    throw new Error(
      `--settings-json: livenessProbeTimeoutMs (${probeTimeoutMs}) must be shorter than livenessProbeIntervalMs (${probeIntervalMs})`,
    );
  const clientContextEntriesMax = settings['clientContextEntriesMax'] as number | undefined;
  if (clientContextEntriesMax !== undefined && clientContextEntriesMax > defaultLimits.contextEntriesMax)
    throw new Error(
      `--settings-json: clientContextEntriesMax must be at most ${defaultLimits.contextEntriesMax}, got ${clientContextEntriesMax}`,
    );
  return settings as Partial<NodeCoreSettings>;
}

interface StartFlags extends Partial<Record<StartSettingName, string | boolean>> {
  config?: string;
}

function readConfigFile(path: string): { path: string; content: unknown } {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new UsageError(`--config: cannot read ${path}: ${error instanceof Error ? error.message : String(error)}`);
  }
  try {
    return { path, content: JSON.parse(text) as unknown };
  } catch (error) {
    throw new UsageError(`config file ${path}: not JSON: ${error instanceof Error ? error.message : String(error)}`);
  }
}

/**
 * The TLS settings together (decision 0026): a certificate turns TLS on for every port unless `tls`
 * names fewer; TLS on a port needs the certificate and key, and on the peer port the CA as well.
 */
export function resolveTls(settings: StartSettings): NodeTlsOptions | undefined {
  const ports =
    settings.tls ?? (settings.tlsCertFile === undefined ? undefined : { http: true, resp: true, peer: true });
  if (ports === undefined || !(ports.http || ports.resp || ports.peer)) return undefined;
  const need = (name: 'tlsCertFile' | 'tlsKeyFile' | 'tlsCaFile', why: string): string => {
    const value = settings[name];
    if (value === undefined) throw new UsageError(`${flagOf(name)} FILE is required ${why}`);
    return resolve(value);
  };
  const files = {
    certFile: need('tlsCertFile', 'for TLS'),
    keyFile: need('tlsKeyFile', 'for TLS'),
    ...(ports.peer || settings.tlsCaFile !== undefined
      ? { caFile: need('tlsCaFile', 'for TLS on the peer port (mutual TLS)') }
      : {}),
  };
  return { files, ports };
}

/** Every setting checked by the schema (start-settings.ts), then the ones that depend on others. */
function resolveStart(
  flags: StartFlags,
  command: Command,
): ResolvedStartSettings & { readonly core: Partial<NodeCoreSettings>; readonly tls: NodeTlsOptions | undefined } {
  const typed = new Set(startSettingNames.filter((name) => command.getOptionValueSource(name) === 'cli'));
  const file = flags.config === undefined ? undefined : readConfigFile(flags.config);
  const resolved = resolveStartSettings({
    flags,
    typed,
    ...(file === undefined ? {} : { file }),
    environment: process.env,
  });
  const { settings, origin } = resolved;
  if (settings.engine !== 'memory' && settings.data === undefined)
    throw new UsageError(`--data DIR is required for the ${settings.engine} engine (a durable one)`);
  const core = checkSetting(origin.settingsJson, () =>
    parseSettingsJson(settings.settingsJson, settings.seeds?.length ?? 0),
  );
  return { ...resolved, core, tls: resolveTls(settings) };
}

async function runStart(flags: StartFlags, command: Command): Promise<void> {
  const { settings, given, core, tls } = resolveStart(flags, command);
  // Loaded here, not at the top: the node's modules (storage engines, native code) would otherwise
  // slow every other command's start-up (docs/BENCHMARKS.md "CLI start-up").
  const [{ createNodeLogger }, { loadSecret }, { startNode }, { installProcessGuard, fatalExitCode }] =
    await Promise.all([
      import('../../server/logger.ts'),
      import('../../io/transport/handshake.ts'),
      import('../../server/start-node.ts'),
      import('../../server/process-guard.ts'),
    ]);
  const listen = settings.listen as HostPort;
  const nodeId = settings.nodeId ?? `${listen.host}:${listen.port}`;
  const logger = createNodeLogger({ level: settings.logLevel ?? 'info', nodeId });
  // Installed before the node starts, so nothing escapes unlogged; the node is known once started.
  const started: { node?: RunningNode } = {};
  installProcessGuard(process, { logger, onFatal: () => abortAndExit(started.node, logger, fatalExitCode) });
  const secret = loadSecret({
    ...(settings.secretFile === undefined ? {} : { secretFile: settings.secretFile }),
    environment: process.env.EVERWRITE_SECRET,
  });
  const node = await startNode({
    nodeId,
    listen,
    http: settings.http as HostPort,
    ...(settings.resp === undefined ? {} : { resp: settings.resp }),
    members: settings.seeds ?? [],
    engine: settings.engine ?? 'lmdb',
    ...(settings.data === undefined ? {} : { dataDirectory: resolve(settings.data) }),
    secret,
    ...(given.has('partitions') && settings.partitions !== undefined ? { partitionCount: settings.partitions } : {}),
    ...(settings.zone === undefined ? {} : { zone: settings.zone }),
    ...(settings.weight === undefined ? {} : { weight: settings.weight }),
    settings: core,
    limits: settings.limitsJson ?? {},
    ...(tls === undefined ? {} : { tls }),
    ...(settings.corsOrigins === undefined ? {} : { corsOrigins: settings.corsOrigins }),
    logger,
    insecure: settings.insecure === true,
    metricsPublic: settings.metricsPublic === true,
    onLeftCluster: (viewVersion) => {
      logger.info(
        { viewVersion },
        `this node left the cluster: view version ${viewVersion} no longer includes it and its partitions are handed off; exiting 0`,
      );
      void started.node?.stop().then(
        () => process.exit(0),
        () => process.exit(1),
      );
    },
  });
  started.node = node;
  console.log(readyLine(node));
  if (node.tlsPorts !== undefined) process.on('SIGHUP', () => reloadTlsOnSignal(node, logger));
  const stop = (): void => {
    node.stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

/** The line `everwrite start` prints once serving: each port's address, and which speak TLS. */
function readyLine(node: RunningNode): string {
  const tls = node.tlsPorts;
  const peers = `peers ${node.peerAddress.host}:${node.peerAddress.port}${tls?.peer === true ? ' (mutual TLS)' : ''}`;
  const http = `http ${tls?.http === true ? 'https' : 'http'}://${node.httpAddress.host}:${node.httpAddress.port}`;
  const resp =
    node.respAddress === undefined
      ? ''
      : `, resp ${tls?.resp === true ? 'rediss' : 'redis'}://${node.respAddress.host}:${node.respAddress.port}`;
  return `everwrite node ${node.id} ready: ${peers}, ${http}${resp}`;
}

/** SIGHUP: serve the certificate files' current contents; a bad file is logged and the old certificate stays in service. */
function reloadTlsOnSignal(node: RunningNode, logger: pino.Logger): void {
  try {
    node.reloadTls();
  } catch (error) {
    const code = (error as { code?: string }).code;
    logger.error(
      { event: 'tls_reload_failed', code, err: error },
      `TLS reload refused, the certificate in service stays: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
}

/** Bound on stopping a node whose state is suspect, in ms: past it the process exits anyway. */
const abortGraceMs = 10_000;

function abortAndExit(node: RunningNode | undefined, logger: pino.Logger, fatalExitCode: number): void {
  const exit = (): void => {
    logger.fatal({ exitCode: fatalExitCode }, 'node stopped after a broken invariant; exiting');
    process.exit(fatalExitCode);
  };
  setTimeout(exit, abortGraceMs).unref();
  (node?.abort() ?? Promise.resolve()).then(exit, exit);
}

export function registerNodeCommands(program: Command): void {
  program
    .command('start')
    .description('run one node in the foreground')
    .option('--node-id <id>', "this node's id (default: its --listen address)")
    .option('--listen <host:port>', 'address for peer connections', '127.0.0.1:7001')
    .option('--http <host:port>', 'address for the HTTP API', '127.0.0.1:8001')
    .option('--resp <host:port>', 'address for the Redis-protocol front end (off when absent)')
    .option('--data <dir>', 'data directory (durable engines)')
    .option(
      '--seeds <list>',
      'comma-separated id@host:port[;zone=Z][;weight=W][;http=host:port][;resp=host:port]: on a new cluster every member (the same list on every node, this node included); afterwards where to find the cluster, checked against the persisted view',
    )
    .option('--engine <kind>', `storage engine: ${engineKinds.join(', ')}`, 'lmdb')
    .option('--secret-file <file>', 'cluster secret file (or EVERWRITE_SECRET)')
    .option(
      '--partitions <q>',
      `ring partitions of a new cluster (a power of two up to ${partitionsMax}; same on every node; fixed once the cluster exists)`,
      '256',
    )
    .option(
      '--zone <name>',
      "this node's zone (failure domain): preference lists span distinct zones; must match its --seeds entry",
    )
    .option(
      '--weight <w>',
      "this node's relative capacity (default 1): weight 2 owns about twice the partitions; must match its --seeds entry",
    )
    .option('--log-level <level>', `log level: ${logLevels.join(', ')}`, 'info')
    .option(
      '--config <file>',
      'JSON object with any of these settings under their camelCase names, e.g. {"seeds": ["n1@127.0.0.1:7001"], "logLevel": "warn"}; flags win over it, it wins over EVERWRITE_* variables (docs/OPERATIONS.md)',
    )
    .option(
      '--settings-json <json>',
      'node core settings as a JSON object (or EVERWRITE_SETTINGS_JSON, or "settingsJson" in --config), e.g. \'{"downBackoffMs":500,"hintDeliveryIntervalMs":200,"reapDelayMs":1000}\'; any field of src/core/node/options.ts (times in ms, positive integers; defaultProps a bucket-props object)',
    )
    .option(
      '--limits-json <json>',
      'request sizes, connection caps, timeouts and request rate as a JSON object (or EVERWRITE_LIMITS_JSON, or "limitsJson" in --config), e.g. \'{"request":{"valueBytesMax":4194304},"http":{"connectionsMax":4096,"headersTimeoutMs":5000},"resp":{"idleTimeoutMs":300000},"peer":{"handshakesPendingMax":64},"rate":{"requestsPerSecond":1000,"burstRequests":2000}}\'; see docs/OPERATIONS.md',
    )
    .option(
      '--tls <ports>',
      `which ports speak TLS: all, none, or a comma-separated list of ${tlsPortNames.join(', ')} (default: all when --tls-cert-file is given, else none); the peer port's TLS is mutual (docs/SECURITY.md)`,
    )
    .option(
      '--tls-cert-file <file>',
      "this node's certificate (PEM, optionally followed by intermediates); reloaded on SIGHUP",
    )
    .option('--tls-key-file <file>', "the certificate's private key (PEM, unencrypted); reloaded on SIGHUP")
    .option(
      '--tls-ca-file <file>',
      "the CA certificate that signs every member's certificate (PEM), required for TLS on the peer port; reloaded on SIGHUP",
    )
    .option(
      '--cors-origins <list>',
      'comma-separated origins whose browser scripts may call the HTTP API, e.g. https://app.example.com,http://localhost:3000 (or a JSON array as "corsOrigins" in --config); default none: CORS off',
    )
    .option(
      '--insecure',
      'serve HTTP and RESP clients from every address while no user exists (default: protected mode, loopback only until the first user; docs/SECURITY.md)',
    )
    .option(
      '--metrics-public',
      'serve GET /metrics without credentials once users exist (for a scraper without a user)',
    )
    .action((flags: StartFlags, command: Command) => runStart(flags, command));
}
