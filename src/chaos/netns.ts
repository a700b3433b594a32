// Why: a real partition needs real separate network stacks. Every run gets its own Linux network
// namespaces, named after the PID of the process that owns the run (`ewchaos-<pid>-…`), so two runs
// never collide and a later run can tell leftovers of a dead owner from a live neighbour's. A bridge
// lives in a namespace of its own, every node and the client get a veth into it, and the addresses
// (10.231.0.0/24) exist only inside these namespaces: nothing is added to the root namespace.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';

export const namespacePrefix = 'ewchaos-';
const commandTimeoutMs = 10_000;
export const clientAddress = '10.231.0.2';

export function nodeAddress(index: number): string {
  return `10.231.0.${10 + index}`;
}

export interface Topology {
  readonly owner: number;
  readonly bridgeNamespace: string;
  readonly clientNamespace: string;
  /** Node i (1-based) lives in nodeNamespaces[i - 1]. */
  readonly nodeNamespaces: readonly string[];
}

/** Runs a command with a bounded time; rejects with its stderr on failure. */
export function run(
  file: string,
  args: readonly string[],
  input?: string,
  timeoutMs = commandTimeoutMs,
): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(file, args, { timeout: timeoutMs, maxBuffer: 4 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${file} ${args.join(' ')}: ${stderr.trim() || error.message}`));
      else resolve(stdout);
    });
    if (input !== undefined) child.stdin?.end(input);
  });
}

function findInPath(name: string): boolean {
  return (process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin')
    .split(':')
    .concat(['/usr/sbin', '/sbin'])
    .some((directory) => existsSync(`${directory}/${name}`));
}

/** Why a chaos run cannot happen here, or undefined when it can. */
export function missingPrerequisite(): string | undefined {
  if (process.platform !== 'linux') return 'chaos runs need Linux network namespaces';
  if (typeof process.getuid !== 'function' || process.getuid() !== 0)
    return 'chaos runs need root (network namespaces, iptables)';
  for (const tool of ['ip', 'iptables', 'iptables-restore']) {
    if (!findInPath(tool)) return `chaos runs need \`${tool}\` (apt-get install -y iproute2 iptables)`;
  }
  return undefined;
}

/** `prefix`: another test that builds hosts in namespaces names them its own way, so neither removes the other's. */
export function topologyFor(owner: number, nodeCount: number, prefix = namespacePrefix): Topology {
  const base = `${prefix}${owner}-`;
  return {
    owner,
    bridgeNamespace: `${base}br`,
    clientNamespace: `${base}cl`,
    nodeNamespaces: Array.from({ length: nodeCount }, (_, offset) => `${base}n${offset + 1}`),
  };
}

function namespacesOf(topology: Topology): string[] {
  return [topology.clientNamespace, ...topology.nodeNamespaces, topology.bridgeNamespace];
}

async function attach(topology: Topology, namespace: string, label: string, address: string): Promise<void> {
  const port = `p-${label}`;
  await run('ip', [
    'link',
    'add',
    'eth0',
    'netns',
    namespace,
    'type',
    'veth',
    'peer',
    'name',
    port,
    'netns',
    topology.bridgeNamespace,
  ]);
  await run('ip', ['-n', topology.bridgeNamespace, 'link', 'set', port, 'master', 'br0', 'up']);
  await run('ip', ['-n', namespace, 'addr', 'add', `${address}/24`, 'dev', 'eth0']);
  await run('ip', ['-n', namespace, 'link', 'set', 'eth0', 'up']);
  await run('ip', ['-n', namespace, 'link', 'set', 'lo', 'up']);
}

/** Creates the bridge, the client and node namespaces; tears down what it made when a step fails. */
export async function createTopology(topology: Topology): Promise<void> {
  try {
    for (const namespace of namespacesOf(topology)) await run('ip', ['netns', 'add', namespace]);
    await run('ip', ['-n', topology.bridgeNamespace, 'link', 'add', 'br0', 'type', 'bridge']);
    await run('ip', ['-n', topology.bridgeNamespace, 'link', 'set', 'br0', 'up']);
    await attach(topology, topology.clientNamespace, 'cl', clientAddress);
    for (const [offset, namespace] of topology.nodeNamespaces.entries())
      await attach(topology, namespace, `n${offset + 1}`, nodeAddress(offset + 1));
  } catch (error) {
    await destroyNamespaces(namespacesOf(topology));
    throw error;
  }
}

/** Kills (by PID) every process still inside the namespaces, then deletes them (their veths go with them). */
export async function destroyNamespaces(namespaces: readonly string[]): Promise<void> {
  const existing = new Set(await listNamespaces());
  for (const namespace of namespaces) {
    if (!existing.has(namespace)) continue;
    const pids = (await run('ip', ['netns', 'pids', namespace]).catch(() => ''))
      .split(/\s+/)
      .filter((pid) => /^\d+$/.test(pid));
    for (const pid of pids) {
      try {
        process.kill(Number(pid), 'SIGKILL');
      } catch {
        // already gone
      }
    }
    await run('ip', ['netns', 'delete', namespace]).catch(() => undefined);
  }
}

export function destroyTopology(topology: Topology): Promise<void> {
  return destroyNamespaces(namespacesOf(topology));
}

async function listNamespaces(): Promise<string[]> {
  const text = await run('ip', ['netns', 'list']).catch(() => '');
  return text
    .split('\n')
    .map((line) => line.trim().split(/\s+/)[0] ?? '')
    .filter((name) => name !== '');
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Removes namespaces left by chaos runs whose owner process is gone (a crashed or killed run). */
export async function removeLeftovers(): Promise<string[]> {
  const stale = (await listNamespaces()).filter((name) => {
    const match = /^ewchaos-(\d+)-/.exec(name);
    return match !== null && !processAlive(Number(match[1]));
  });
  await destroyNamespaces(stale);
  return stale;
}

/** Replaces a node namespace's filter table: drop all traffic to and from the given addresses. */
export async function setBlocked(namespace: string, addresses: readonly string[]): Promise<void> {
  const rules = addresses.flatMap((address) => [`-A INPUT -s ${address} -j DROP`, `-A OUTPUT -d ${address} -j DROP`]);
  const table = [
    '*filter',
    ':INPUT ACCEPT [0:0]',
    ':FORWARD ACCEPT [0:0]',
    ':OUTPUT ACCEPT [0:0]',
    ...rules,
    'COMMIT',
    '',
  ].join('\n');
  await run('ip', ['netns', 'exec', namespace, 'iptables-restore'], table);
}

/**
 * Why a chaos run cannot happen here, found by trying: root in a container without CAP_NET_ADMIN,
 * or a kernel without netfilter, passes the static checks yet cannot build the topology. Creates
 * two throwaway namespaces with a veth between them and a filter rule, then removes them.
 */
export async function probeNamespaces(): Promise<string | undefined> {
  const missing = missingPrerequisite();
  if (missing !== undefined) return missing;
  const first = `${namespacePrefix}${process.pid}-probe1`;
  const second = `${namespacePrefix}${process.pid}-probe2`;
  try {
    await run('ip', ['netns', 'add', first]);
    await run('ip', ['netns', 'add', second]);
    await run('ip', ['link', 'add', 'eth0', 'netns', first, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', second]);
    await setBlocked(first, [clientAddress]);
    await run('ip', ['netns', 'exec', first, 'true']);
    return undefined;
  } catch (error) {
    return `cannot build network namespaces here: ${error instanceof Error ? error.message : String(error)}`;
  } finally {
    await destroyNamespaces([first, second]);
  }
}
