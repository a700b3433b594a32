// Why: `everwrite dev` (what `npm start` runs) is the demo of the store: a local cluster of separate
// OS processes whose data and secret stay under ./data, so a restart finds everything again. It must
// show resilience, so one node dying leaves the others serving: dev says which node stopped and
// restarts it when asked (`restart n2` on its standard input). It checks every port before starting,
// so it never mistakes another program (or another cluster) for its own nodes.
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';
import type { Command } from 'commander';
import { CliFailure, UsageError } from '../exit-codes.ts';
import { LocalCluster, type LocalNode } from '../../server/local-cluster.ts';
import { portsInUse } from '../ports.ts';
import { checkStartSetting, engineKinds, logLevels } from '../start-settings.ts';

interface DevFlags {
  nodes: string;
  data: string;
  engine: string;
  partitions: string;
  logLevel: string;
  peerPortBase: string;
  httpPortBase: string;
  respPortBase?: string;
}

const nodesMax = 9;

function wholeNumberFlag(text: string, flag: string, low: number, high: number): number {
  if (!/^\d{1,6}$/.test(text.trim()) || Number(text) < low || Number(text) > high)
    throw new UsageError(`${flag} must be a whole number from ${low} to ${high}, got ${JSON.stringify(text)}`);
  return Number(text);
}

/** The flags, checked by the schema `everwrite start` uses (start-settings.ts); port bases leave room for every node. */
function devCluster(flags: DevFlags): LocalCluster {
  const nodes = wholeNumberFlag(flags.nodes, '--nodes', 1, nodesMax);
  const portBase = (flag: string, text: string): number => wholeNumberFlag(text, flag, 1, 65_535 - nodes);
  return new LocalCluster({
    nodes,
    dataDirectory: checkStartSetting('data', flags.data, '--data'),
    engine: checkStartSetting('engine', flags.engine, '--engine'),
    partitions: checkStartSetting('partitions', flags.partitions, '--partitions'),
    logLevel: checkStartSetting('logLevel', flags.logLevel, '--log-level'),
    peerPortBase: portBase('--peer-port-base', flags.peerPortBase),
    httpPortBase: portBase('--http-port-base', flags.httpPortBase),
    ...(flags.respPortBase === undefined ? {} : { respPortBase: portBase('--resp-port-base', flags.respPortBase) }),
  });
}

const portOf = (address: string): number => Number(address.slice(address.lastIndexOf(':') + 1));

/** Refuses to start when any port a node would take is already in use, naming each. */
async function checkPortsFree(cluster: LocalCluster): Promise<void> {
  const wanted = cluster.nodes.flatMap((node) => [
    portOf(node.peerAddress),
    portOf(node.httpUrl),
    portOf(node.respAddress),
  ]);
  const taken = await portsInUse('127.0.0.1', wanted);
  if (taken.length === 0) return;
  throw new CliFailure(
    `port${taken.length === 1 ? '' : 's'} ${taken.join(', ')} on 127.0.0.1 already in use (another everwrite dev, or another program); stop it, or pick free ports with --peer-port-base, --http-port-base and --resp-port-base`,
  );
}

function describeNode(node: LocalNode): string {
  return `${node.id}: pid ${node.process?.pid}, peers ${node.peerAddress}, http ${node.httpUrl}, resp ${node.respAddress}, dashboard ${node.httpUrl}/`;
}

/** Reports a node that stopped on its own; the others keep running. */
function watchNode(cluster: LocalCluster, node: LocalNode, isStopping: () => boolean): void {
  node.process?.once('exit', (code, signal) => {
    if (isStopping()) return;
    const running = cluster.nodes.filter((other) => other.process !== undefined).map((other) => other.id);
    console.log(
      `${node.id} stopped (${signal ?? `exit code ${code}`}); ${running.length === 0 ? 'no node is running' : `${running.join(', ')} keep serving`}. Type "restart ${node.id}" and Enter to start it again.`,
    );
  });
}

async function restartNode(cluster: LocalCluster, id: string, isStopping: () => boolean): Promise<void> {
  const node = cluster.nodes.find((candidate) => candidate.id === id);
  if (node === undefined)
    return void console.log(`no node ${JSON.stringify(id)}; nodes: ${cluster.nodes.map((each) => each.id).join(', ')}`);
  if (node.process !== undefined) return void console.log(`${id} is running (pid ${node.process.pid})`);
  try {
    await cluster.startNode(node.index);
    watchNode(cluster, node, isStopping);
    console.log(`${id} restarted: ${describeNode(node)}`);
  } catch (error) {
    console.log(`${id} did not restart: ${error instanceof Error ? error.message : String(error)}`);
  }
}

export type DevCommand =
  | { readonly verb: 'restart'; readonly id: string }
  | { readonly verb: 'status' }
  | { readonly verb: 'help' }
  | { readonly verb: 'none' };

/** One line typed on dev's standard input: `restart <id>`, `status`, blank, or anything else (help). */
export function parseDevCommand(line: string): DevCommand {
  const words = line
    .trim()
    .split(/\s+/)
    .filter((word) => word !== '');
  if (words.length === 0) return { verb: 'none' };
  if (words[0] === 'restart' && words.length === 2) return { verb: 'restart', id: words[1] as string };
  if (words[0] === 'status' && words.length === 1) return { verb: 'status' };
  return { verb: 'help' };
}

/** Lines on standard input: `restart <id>` and `status`. */
function readCommands(cluster: LocalCluster, isStopping: () => boolean): void {
  const lines = createInterface({ input: process.stdin, terminal: false });
  lines.on('line', (line) => {
    const command = parseDevCommand(line);
    if (command.verb === 'restart') void restartNode(cluster, command.id, isStopping);
    else if (command.verb === 'status')
      for (const node of cluster.nodes)
        console.log(node.process === undefined ? `${node.id}: stopped` : describeNode(node));
    else if (command.verb === 'help') console.log('commands: "restart <id>", "status"; Ctrl-C stops the cluster');
  });
}

async function runDev(flags: DevFlags): Promise<void> {
  const cluster = devCluster(flags);
  await checkPortsFree(cluster);
  let stopping = false;
  const isStopping = (): boolean => stopping;
  const stopAll = (): void => {
    if (stopping) return;
    stopping = true;
    console.log('stopping the local cluster...');
    cluster.stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGINT', stopAll);
  process.on('SIGTERM', stopAll);
  try {
    await cluster.start();
  } catch (error) {
    stopping = true;
    await cluster.stop();
    throw new CliFailure(`the local cluster did not start: ${error instanceof Error ? error.message : String(error)}`);
  }
  for (const node of cluster.nodes) console.log(describeNode(node));
  console.log(
    `data under ${resolve(flags.data)}; try: curl -X PUT -d hello ${cluster.node(1).httpUrl}/buckets/demo/keys/greeting`,
  );
  console.log(
    'kill any node: the others keep serving; type "restart <id>" to start it again, "status" to list the nodes; Ctrl-C stops the cluster',
  );
  for (const node of cluster.nodes) watchNode(cluster, node, isStopping);
  readCommands(cluster, isStopping);
}

export function registerDevCommand(program: Command): void {
  program
    .command('dev')
    .description(
      'run a local cluster of separate processes; a node that dies leaves the others serving, "restart <id>" on standard input starts it again',
    )
    .option('--nodes <count>', `how many nodes, 1 to ${nodesMax}`, '3')
    .option('--data <dir>', 'data directory', './data')
    .option('--engine <kind>', `storage engine: ${engineKinds.join(', ')}`, 'lmdb')
    .option('--partitions <q>', 'ring partitions (a power of two)', '256')
    .option('--log-level <level>', `log level of the nodes: ${logLevels.join(', ')}`, 'warn')
    .option('--peer-port-base <port>', 'node i listens for peers on this + i', '7000')
    .option('--http-port-base <port>', 'node i serves HTTP on this + i', '8000')
    .option(
      '--resp-port-base <port>',
      'node i serves RESP on this + i (default: 6380 shifted as far as --http-port-base is from 8000)',
    )
    .action((flags: DevFlags) => runDev(flags));
}
