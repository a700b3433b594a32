// Why: the nemeses act on real OS processes: each node is `everwrite start` exec'd by
// `ip netns exec` into its own namespace (so its PID is the node's own and signals reach it), with
// libfaketime preloaded when available so its wall clock can be bumped at run time through a
// per-node file (FAKETIME_TIMESTAMP_FILE, re-read every second; the monotonic clock is left real
// so timers keep working). Data is on lmdb so kill -9 tests durability, not a memory engine.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { binEnvironment, binPath } from '../server/bin.ts';
import { nodeAddress } from './netns.ts';

// Fixed ports are safe here: each node listens inside its own network namespace, named after the
// run's PID (netns.ts), so no other run or test on the machine shares them.
const peerPort = 7000;
export const httpPort = 8000;
const readyTimeoutMs = 30_000;
const outputTailCharsMax = 8192;

const faketimeCandidates = [
  '/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1',
  '/usr/lib/aarch64-linux-gnu/faketime/libfaketimeMT.so.1',
  '/usr/lib/faketime/libfaketimeMT.so.1',
  '/usr/local/lib/faketime/libfaketimeMT.so.1',
];

export function findFaketime(): string | undefined {
  return faketimeCandidates.find((path) => existsSync(path));
}

export interface ChaosNode {
  readonly index: number;
  /** n<index>; a slot that comes back as a fresh spare after leaving gets n<index>g<generation>. */
  id: string;
  generation: number;
  readonly namespace: string;
  readonly url: string;
  readonly clockFile: string;
  /** --seeds: the initial members' list, or '' for a spare that starts as a cluster of its own. */
  seeds: string;
  /** In the view as far as the run knows: the workload and the final checks use members only. */
  member: boolean;
  /** A leaving node exits 0 by itself once it has handed its partitions away. */
  exitExpected: boolean;
  /** How the last process of this slot ended (exit code or signal name), once it has. */
  lastExit: string | undefined;
  process: ChildProcess | undefined;
  paused: boolean;
  clockOffsetS: number;
  outputTail: string;
  unexpectedExits: string[];
}

export interface NodeSetOptions {
  readonly namespaces: readonly string[];
  readonly dataDirectory: string;
  readonly secretFile: string;
  readonly faketimeLibrary: string | undefined;
  readonly settingsJson: string;
  readonly partitions: number;
  /** How many of the namespaces start as members; the rest start as spares outside the view. Default: all. */
  readonly memberCount?: number;
}

export class ChaosNodes {
  readonly nodes: ChaosNode[];
  private stopping = false;

  constructor(private readonly options: NodeSetOptions) {
    const memberCount = options.memberCount ?? options.namespaces.length;
    // Each member's HTTP address is in the view, so plan calls to any member can be redirected to the claimant.
    const seeds = Array.from(
      { length: memberCount },
      (_, offset) =>
        `n${offset + 1}@${nodeAddress(offset + 1)}:${peerPort};http=${nodeAddress(offset + 1)}:${httpPort}`,
    ).join(',');
    this.nodes = options.namespaces.map((namespace, offset) => ({
      index: offset + 1,
      id: `n${offset + 1}`,
      generation: 1,
      namespace,
      url: `http://${nodeAddress(offset + 1)}:${httpPort}`,
      clockFile: join(options.dataDirectory, `n${offset + 1}.faketime`),
      seeds: offset < memberCount ? seeds : '',
      member: offset < memberCount,
      exitExpected: false,
      lastExit: undefined,
      process: undefined,
      paused: false,
      clockOffsetS: 0,
      outputTail: '',
      unexpectedExits: [],
    }));
    for (const node of this.nodes) writeFileSync(node.clockFile, '+0s\n');
  }

  /** The nodes in the view as far as the run knows. */
  members(): ChaosNode[] {
    return this.nodes.filter((node) => node.member);
  }

  /**
   * Turns a slot whose node left or was removed into a fresh spare: a new id (a node's id names its
   * writes' dots, so a new store must not reuse it), an empty data directory, no seeds. Waits for /health.
   */
  async recycle(node: ChaosNode): Promise<void> {
    if (node.process !== undefined) await this.kill(node);
    node.generation += 1;
    node.id = `n${node.index}g${node.generation}`;
    node.seeds = '';
    node.member = false;
    node.exitExpected = false;
    node.outputTail = '';
    this.spawn(node);
    await this.waitReady(node);
  }

  spawn(node: ChaosNode): void {
    const address = nodeAddress(node.index);
    const data = join(this.options.dataDirectory, node.id);
    mkdirSync(data, { recursive: true });
    // --insecure: the workload reaches each node's HTTP port from the host, through the namespace's
    // veth, so from a non-loopback address; a chaos cluster has no users (protected mode, decision 0025).
    const args = [
      'netns',
      'exec',
      node.namespace,
      process.execPath,
      binPath,
      'start',
      '--insecure',
      '--node-id',
      node.id,
      '--listen',
      `${address}:${peerPort}`,
      '--http',
      `${address}:${httpPort}`,
      '--data',
      data,
      '--seeds',
      node.seeds,
      '--engine',
      'lmdb',
      '--secret-file',
      this.options.secretFile,
      '--partitions',
      String(this.options.partitions),
      '--log-level',
      'warn',
      '--settings-json',
      this.options.settingsJson,
    ];
    const environment: NodeJS.ProcessEnv = { ...binEnvironment() };
    if (this.options.faketimeLibrary !== undefined) {
      Object.assign(environment, {
        LD_PRELOAD: this.options.faketimeLibrary,
        FAKETIME_TIMESTAMP_FILE: node.clockFile,
        FAKETIME_CACHE_DURATION: '1',
        FAKETIME_DONT_FAKE_MONOTONIC: '1',
      });
    }
    const child = spawn('ip', args, { stdio: ['ignore', 'pipe', 'pipe'], env: environment });
    node.process = child;
    node.paused = false;
    node.lastExit = undefined;
    const keep = (chunk: Buffer): void => {
      node.outputTail = (node.outputTail + chunk.toString('utf8')).slice(-outputTailCharsMax);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    child.once('exit', (code, signal) => {
      if (node.process === child) {
        node.process = undefined;
        node.lastExit = signal ?? `exit code ${code}`;
        const expected = this.stopping || signal === 'SIGKILL' || (node.exitExpected && code === 0);
        if (!expected)
          node.unexpectedExits.push(`${node.id} exited (${signal ?? code}): ${node.outputTail.slice(-2000)}`);
      }
    });
  }

  async waitReady(node: ChaosNode, timeoutMs = readyTimeoutMs): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (node.process === undefined)
        throw new Error(`${node.id} exited while starting: ${node.outputTail.slice(-2000)}`);
      try {
        const response = await fetch(`${node.url}/health`, { signal: AbortSignal.timeout(1000) });
        if (response.ok) return;
      } catch {
        // not listening yet
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error(`${node.id} did not answer /health within ${timeoutMs} ms: ${node.outputTail.slice(-2000)}`);
  }

  async startAll(): Promise<void> {
    for (const node of this.nodes) this.spawn(node);
    await Promise.all(this.nodes.map((node) => this.waitReady(node)));
  }

  /**
   * kill -9, waiting for the exit so a restart never races the old process's lmdb lock. True when
   * a running node was killed (false: it was not running).
   */
  async kill(node: ChaosNode): Promise<boolean> {
    const child = node.process;
    if (child === undefined) return false;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    const signalled = child.kill('SIGKILL');
    await exited;
    node.paused = false;
    return signalled;
  }

  /** SIGSTOP. True when a running node was stopped by it. */
  pause(node: ChaosNode): boolean {
    if (node.process === undefined || node.paused) return false;
    node.paused = node.process.kill('SIGSTOP');
    return node.paused;
  }

  resume(node: ChaosNode): void {
    if (node.process === undefined || !node.paused) return;
    node.process.kill('SIGCONT');
    node.paused = false;
  }

  /** Sets the node's wall-clock offset. True when it takes effect (libfaketime is preloaded). */
  setClockOffset(node: ChaosNode, offsetS: number): boolean {
    node.clockOffsetS = offsetS;
    writeFileSync(node.clockFile, `${offsetS >= 0 ? '+' : ''}${offsetS}s\n`);
    return this.options.faketimeLibrary !== undefined;
  }

  /** SIGCONT then SIGKILL every node, by PID, waiting (bounded) for each exit. */
  async stopAll(): Promise<void> {
    this.stopping = true;
    await Promise.all(
      this.nodes.map(async (node) => {
        const child = node.process;
        if (child === undefined) return;
        const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
        child.kill('SIGCONT');
        child.kill('SIGKILL');
        await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 5000))]);
      }),
    );
  }
}
