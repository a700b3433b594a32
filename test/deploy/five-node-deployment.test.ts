// Why: the deployment files (deploy/) are only ever parsed elsewhere; nothing showed that a cluster
// started from them works across machines. Here five hosts are five network namespaces on one
// bridge (the chaos runs' helpers, src/chaos/netns.ts), and every node is started the way the
// systemd unit starts it: its ExecStart command, the shared deploy/systemd/everwrite.json and the
// per-machine deploy/systemd/node.env, with only what names this machine changed (id, zone, address)
// and what names this test's disk (data directory, secret file). The Kubernetes ConfigMap must hold
// the same shared settings and the Compose file the same settings, addresses and ports, so the run
// stands for them too. The first user is added the documented
// way, on a node's own machine over loopback (protected mode); then writes go through every node,
// reads through others, a node is killed -9 and the other four still serve W=2/R=2. The nodes keep
// node.env's fixed ports: each listens inside its own namespace, named after this run's PID, so no
// other run on the machine shares them.
import { after, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTopology, destroyTopology, nodeAddress, probeNamespaces, run, topologyFor, type Topology } from '../../src/chaos/netns.ts';
import { binEnvironment, binPath } from '../../src/server/bin.ts';
import { environmentVariableOf } from '../../src/cli/start-settings.ts';
import { eventually, killChild, watchChild } from '../support/cluster-fixture.ts';
import { testNeeding } from '../support/environment.ts';

const nodeCount = 5;
const zones = ['a', 'b', 'c', 'a', 'b'];
const user = 'ops';
const password = randomBytes(16).toString('hex');
const repositoryFile = (path: string): string => readFileSync(new URL(`../../${path}`, import.meta.url), 'utf8');
const missing = await probeNamespaces();

interface DeployedNode {
  readonly id: string;
  readonly index: number;
  readonly namespace: string;
  readonly address: string;
  child: ChildProcess | undefined;
  output: string;
}

let topology: Topology | undefined;
let directory: string | undefined;
const nodes: DeployedNode[] = [];

/** The systemd unit's ExecStart, split: the `everwrite` arguments after node and the bin (`start --config <file>`). */
function unitStartArguments(): string[] {
  const execStart = /^ExecStart=(.*)$/m.exec(repositoryFile('deploy/systemd/everwrite.service'))?.[1];
  assert.ok(execStart !== undefined, 'the unit has an ExecStart');
  const [node, bin, ...rest] = execStart.split(/\s+/);
  assert.match(node ?? '', /\/node$/);
  assert.match(bin ?? '', /\/bin\/everwrite\.mjs$/);
  assert.deepEqual(rest.slice(0, 2), ['start', '--config']);
  return rest;
}

/** The shared config file, checked against the Kubernetes ConfigMap: every cluster-wide setting agrees. */
function sharedConfig(): Record<string, string> {
  const config = JSON.parse(repositoryFile('deploy/systemd/everwrite.json')) as Record<string, string>;
  const configMap = /everwrite\.json: \|\n((?: {4}.*\n)+)/.exec(repositoryFile('deploy/kubernetes/everwrite.yaml'))?.[1];
  assert.ok(configMap !== undefined, 'the ConfigMap holds everwrite.json');
  const kubernetes = JSON.parse(configMap) as Record<string, string>;
  // Paths, addresses and seeds name each platform's own disks and hosts; the rest must be equal.
  const platformSpecific = new Set(['data', 'secretFile', 'seeds', 'listen', 'http', 'resp']);
  for (const [name, value] of Object.entries(config)) if (!platformSpecific.has(name)) assert.equal(kubernetes[name], value, `the ConfigMap's ${name} is the systemd config's`);
  return config;
}

/** `everwrite start`'s defaults for the shared settings a Compose node leaves unset. */
const startDefaults: Readonly<Record<string, string>> = { engine: 'lmdb', partitions: '256' };

/**
 * The Compose file sets the same things through variables: each shared setting it names equals the
 * config's (one it leaves unset has the config's value as start's default), and its HTTP and RESP
 * bind addresses and peer port are node.env's.
 */
function checkComposeAgrees(config: Record<string, string>): void {
  const compose = new Map([...repositoryFile('deploy/compose/compose.yaml').matchAll(/^ {4}(EVERWRITE_[A-Z_]+): "?([^"\n]*)"?$/gm)].map((match) => [match[1] as string, match[2] as string] as const));
  const nodeEnvironment = environmentFor(1);
  for (const [name, value] of Object.entries(config)) {
    if (['data', 'secretFile', 'seeds'].includes(name)) continue;
    const variable = environmentVariableOf(name);
    assert.equal(compose.get(variable) ?? startDefaults[name], value, `Compose's ${variable} is the config's ${name}`);
  }
  for (const variable of ['EVERWRITE_HTTP', 'EVERWRITE_RESP']) assert.equal(compose.get(variable), nodeEnvironment[variable], `Compose's ${variable} is node.env's`);
  assert.equal(compose.get('EVERWRITE_LISTEN')?.split(':')[1], nodeEnvironment.EVERWRITE_LISTEN?.split(':')[1], 'the same peer port');
}

/** Rewrites what names machine n1 (its id, zone and 10.0.0.1) in `text` to name node `index`. */
function forNode(text: string, index: number): string {
  return text.replaceAll('n1', `n${index}`).replaceAll('10.0.0.1', nodeAddress(index)).replace(/zone=a\b/, `zone=${zones[index - 1]}`);
}

/** The seeds for five machines, in the config's own format: its first entry rewritten for each. */
function seedsFor(config: Record<string, string>): string {
  const template = (config.seeds ?? '').split(',')[0] ?? '';
  assert.match(template, /^n1@10\.0\.0\.1:\d+;zone=a;http=10\.0\.0\.1:\d+;resp=10\.0\.0\.1:\d+$/, 'the first seed is machine n1');
  return Array.from({ length: nodeCount }, (_, offset) => forNode(template, offset + 1)).join(',');
}

/** node.env for node `index`: the same variables, each naming this machine. */
function environmentFor(index: number): Record<string, string> {
  const variables: Record<string, string> = {};
  for (const line of repositoryFile('deploy/systemd/node.env').split('\n')) {
    const match = /^(EVERWRITE_[A-Z_]+)=(.*)$/.exec(line);
    if (match === null) continue;
    const [, name, value] = match as unknown as [string, string, string];
    variables[name] = name === 'EVERWRITE_ZONE' ? (zones[index - 1] as string) : forNode(value, index);
  }
  assert.equal(variables.EVERWRITE_NODE_ID, `n${index}`);
  return variables;
}

function startNode(node: DeployedNode, startArguments: readonly string[], configFile: string): void {
  const inherited: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) if (!name.startsWith('EVERWRITE_')) inherited[name] = value;
  const args = startArguments.map((argument) => (argument.endsWith('.json') ? configFile : argument));
  // `ip netns exec` execs node, so the child's PID is the node's own and kill -9 reaches it.
  const child = spawn('ip', ['netns', 'exec', node.namespace, process.execPath, binPath, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: binEnvironment({ ...inherited, ...environmentFor(node.index) }) });
  node.child = child;
  watchChild(child, (text) => (node.output = `${node.output}${text}`.slice(-20_000)), (description) => (node.output += `\n--- exited: ${description}\n`));
}

before(async () => {
  if (missing !== undefined) return;
  const startArguments = unitStartArguments();
  const config = sharedConfig();
  checkComposeAgrees(config);
  directory = mkdtempSync(join(tmpdir(), 'everwrite-deploy-'));
  const secretFile = join(directory, 'secret');
  writeFileSync(secretFile, randomBytes(32).toString('hex'), { mode: 0o400 });
  topology = topologyFor(process.pid, nodeCount, 'ewdeploy-');
  await createTopology(topology);
  const seeds = seedsFor(config);
  for (let index = 1; index <= nodeCount; index++) {
    const node: DeployedNode = { id: `n${index}`, index, namespace: topology.nodeNamespaces[index - 1] as string, address: nodeAddress(index), child: undefined, output: '' };
    const data = join(directory, node.id);
    mkdirSync(data);
    const configFile = join(directory, `${node.id}.json`);
    writeFileSync(configFile, JSON.stringify({ ...config, data, secretFile, seeds }));
    nodes.push(node);
    startNode(node, startArguments, configFile);
  }
}, { timeout: 60_000 });

after(async () => {
  await Promise.all(nodes.map((node) => (node.child === undefined ? undefined : killChild(node.child))));
  if (topology !== undefined) await destroyTopology(topology);
  if (directory !== undefined) rmSync(directory, { recursive: true, force: true });
}, { timeout: 30_000 });

interface Answer {
  readonly status: number;
  readonly body: string;
}

/** One HTTP request from the client namespace (curl, bounded), as user `ops` once it exists. */
async function http(node: DeployedNode, method: string, path: string, body?: string): Promise<Answer> {
  const url = `http://${node.address}:${environmentFor(node.index).EVERWRITE_HTTP?.split(':')[1] ?? ''}${path}`;
  const args = ['netns', 'exec', (topology as Topology).clientNamespace, 'curl', '-sS', '-m', '10', '-u', `${user}:${password}`, '-X', method, '-o', '-', '-w', '\n%{http_code}', ...(body === undefined ? [] : ['-H', 'content-type: text/plain', '--data-binary', body]), url];
  const output = await run('ip', args, undefined, 15_000);
  const cut = output.lastIndexOf('\n');
  return { status: Number(output.slice(cut + 1)), body: output.slice(0, cut) };
}

const keyPath = (key: string, query: string): string => `/buckets/deploy/keys/${key}?${query}&timeout_ms=5000`;

function logs(): string {
  return nodes.map((node) => `===== ${node.id} =====\n${node.output}`).join('\n');
}

/** What `node` believes of each member (GET /admin/status), or undefined when it does not answer 200. */
async function memberStates(node: DeployedNode): Promise<Map<string, string> | undefined> {
  const answer = await http(node, 'GET', '/admin/status');
  if (answer.status !== 200) return undefined;
  return new Map((JSON.parse(answer.body) as { members: { id: string; state: string }[] }).members.map((member) => [member.id, member.state] as const));
}

/** The first user, added as docs/OPERATIONS.md says: on a node's own machine, over loopback. */
async function addFirstUser(node: DeployedNode): Promise<void> {
  await run('ip', ['netns', 'exec', node.namespace, process.execPath, binPath, 'user', 'add', user, '--role', 'admin', '--password-stdin', '--node', 'http://127.0.0.1:8001'], password, 30_000);
}

testNeeding(missing, 'five hosts started from the systemd unit, config and node.env: all see 5 members, writes and reads cross the cluster, and it serves W=2/R=2 with a node killed -9', { timeout: 120_000 }, async () => {
  const startedMs = performance.now();
  for (const node of nodes) await eventually(`${node.id} to answer /health from another host`, async () => ((await http(node, 'GET', '/health').catch(() => undefined))?.status === 200 ? true : undefined), { timeoutMs: 40_000, intervalMs: 250 });
  // Protected mode: another host gets nothing but /health until a user exists.
  assert.equal((await http(nodes[1] as DeployedNode, 'GET', '/admin/status')).status, 403);
  await addFirstUser(nodes[0] as DeployedNode);
  for (const node of nodes) {
    await eventually(`${node.id} to know the user and see 5 members up`, async () => {
      const states = await memberStates(node);
      return states !== undefined && states.size === nodeCount && [...states.values()].every((state) => state === 'up') ? true : undefined;
    }, { timeoutMs: 30_000, intervalMs: 250 }).catch((error: unknown) => assert.fail(`${String(error)}\n${logs()}`));
  }

  const written = new Map<string, string>();
  for (const node of nodes) {
    for (let index = 0; index < 4; index++) {
      const key = `${node.id}-${index}`;
      const answer = await http(node, 'PUT', keyPath(key, 'w=2'), `${key}-value`);
      assert.equal(answer.status, 204, `PUT ${key} through ${node.id}: ${answer.body}`);
      written.set(key, `${key}-value`);
    }
  }
  for (const [key, value] of written) {
    const reader = nodes[(Number(key.slice(1, 2)) % nodeCount)] as DeployedNode;
    const answer = await http(reader, 'GET', keyPath(key, 'r=2'));
    assert.deepEqual(answer, { status: 200, body: value }, `GET ${key} through ${reader.id}`);
  }

  const victim = nodes[nodeCount - 1] as DeployedNode;
  await killChild(victim.child as ChildProcess);
  victim.child = undefined;
  const killedMs = performance.now();
  const survivors = nodes.slice(0, nodeCount - 1);
  // Until failure detection holds it down, a write forwarded to it times out (at most once, decision
  // 0031) rather than being retried elsewhere; from then on every survivor routes around it.
  for (const node of survivors) await eventually(`${node.id} to see ${victim.id} down`, async () => ((await memberStates(node))?.get(victim.id) === 'down' ? true : undefined), { timeoutMs: 30_000, intervalMs: 250 });
  console.log(`five-node deployment: every survivor saw ${victim.id} down ${Math.round(performance.now() - killedMs)} ms after kill -9`);
  for (const [offset, node] of survivors.entries()) {
    const key = `after-${node.id}`;
    const answer = await http(node, 'PUT', keyPath(key, 'w=2'), key);
    assert.equal(answer.status, 204, `PUT ${key} through ${node.id} with ${victim.id} dead: ${answer.body}`);
    const reader = survivors[(offset + 1) % survivors.length] as DeployedNode;
    assert.deepEqual(await http(reader, 'GET', keyPath(key, 'r=2')), { status: 200, body: key }, `GET ${key} through ${reader.id}`);
  }
  for (const [offset, [key, value]] of [...written].entries()) {
    const reader = survivors[offset % survivors.length] as DeployedNode;
    assert.deepEqual(await http(reader, 'GET', keyPath(key, 'r=2')), { status: 200, body: value }, `GET ${key} through ${reader.id} with ${victim.id} dead`);
  }
  console.log(`five-node deployment: ${Math.round(performance.now() - startedMs)} ms from start to the last read`);
});
