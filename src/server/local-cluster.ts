// Why: `everwrite dev`, `everwrite bench` and the multi-process tests all need the same thing: N
// `everwrite start` processes on loopback sharing a generated secret, each with its own data
// directory, that can be killed (even with SIGKILL) and restarted individually, and stopped together.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { generateSecret } from '../io/transport/handshake.ts';
import { binEnvironment, binPath } from './bin.ts';

export interface LocalClusterOptions {
  /** How many nodes (1..9). */
  readonly nodes: number;
  /** Parent of each node's data directory and of the cluster secret. */
  readonly dataDirectory: string;
  readonly engine: 'lmdb' | 'level' | 'memory';
  /** Node i listens for peers on peerPortBase+i and HTTP on httpPortBase+i. Defaults 7000, 8000. */
  readonly peerPortBase?: number;
  readonly httpPortBase?: number;
  /** Node i serves RESP on respPortBase+i. Default: 6380 shifted as far as httpPortBase is from 8000, so clusters on distinct HTTP bases never collide. */
  readonly respPortBase?: number;
  /** The ports of node i at index i-1, e.g. ones the OS handed out; when given they replace the three bases. */
  readonly nodePorts?: readonly LocalNodePorts[];
  readonly partitions?: number;
  /** Zone of node i at index i-1 (none when absent); goes into the seeds and `--zone`. */
  readonly zones?: readonly string[];
  /** Weight of node i at index i-1 (1 when absent); goes into the seeds and `--weight`. */
  readonly weights?: readonly number[];
  readonly logLevel?: string;
  /** 'inherit' shows the nodes' output; 'ignore' hides it; 'pipe' lets the caller read it. */
  readonly output?: 'inherit' | 'ignore' | 'pipe';
  /** Extra flags for every `everwrite start`. */
  readonly extraArguments?: readonly string[];
  /** Flags for the node.js binary of every node, e.g. ['--cpu-prof'] to profile a benchmark. */
  readonly nodeArguments?: readonly string[];
  /** How long start() waits for each node to answer /health, in ms. Default 20000. */
  readonly readyTimeoutMs?: number;
  /** Called right after each `everwrite start` child is spawned (e.g. to read its piped output). */
  readonly onSpawn?: (node: LocalNode, child: ChildProcess) => void;
}

export interface LocalNodePorts {
  readonly peer: number;
  readonly http: number;
  readonly resp: number;
}

export interface LocalNode {
  readonly index: number;
  readonly id: string;
  readonly httpUrl: string;
  readonly peerAddress: string;
  readonly respAddress: string;
  process: ChildProcess | undefined;
}

export class LocalCluster {
  readonly nodes: LocalNode[];
  readonly secretFile: string;
  private readonly seeds: string;

  constructor(readonly options: LocalClusterOptions) {
    if (!Number.isInteger(options.nodes) || options.nodes < 1 || options.nodes > 9)
      throw new Error('nodes must be 1..9');
    const directory = resolve(options.dataDirectory);
    mkdirSync(directory, { recursive: true });
    this.secretFile = join(directory, 'cluster.secret');
    if (!existsSync(this.secretFile))
      writeFileSync(this.secretFile, Buffer.from(generateSecret()).toString('hex'), { mode: 0o600 });
    if (options.nodePorts !== undefined && options.nodePorts.length !== options.nodes)
      throw new Error('nodePorts must give the ports of every node');
    this.nodes = Array.from({ length: options.nodes }, (_, offset) => {
      const ports = options.nodePorts?.[offset] ?? LocalCluster.portsFromBases(options, offset + 1);
      return {
        index: offset + 1,
        id: `n${offset + 1}`,
        httpUrl: `http://127.0.0.1:${ports.http}`,
        peerAddress: `127.0.0.1:${ports.peer}`,
        respAddress: `127.0.0.1:${ports.resp}`,
        process: undefined,
      };
    });
    // Every node gets the same seeds with every attribute, so all build the same first view (decision 0015).
    this.seeds = this.nodes
      .map(
        (node) =>
          `${node.id}@${node.peerAddress};http=${node.httpUrl.replace('http://', '')};resp=${node.respAddress}${this.placementAttributes(node.index)}`,
      )
      .join(',');
  }

  private static portsFromBases(options: LocalClusterOptions, index: number): LocalNodePorts {
    const httpBase = options.httpPortBase ?? 8000;
    return {
      peer: (options.peerPortBase ?? 7000) + index,
      http: httpBase + index,
      resp: (options.respPortBase ?? httpBase - 8000 + 6380) + index,
    };
  }

  private placementAttributes(index: number): string {
    const zone = this.options.zones?.[index - 1];
    const weight = this.options.weights?.[index - 1];
    return `${zone === undefined ? '' : `;zone=${zone}`}${weight === undefined ? '' : `;weight=${weight}`}`;
  }

  private placementArguments(index: number): string[] {
    const zone = this.options.zones?.[index - 1];
    const weight = this.options.weights?.[index - 1];
    return [
      ...(zone === undefined ? [] : ['--zone', zone]),
      ...(weight === undefined ? [] : ['--weight', String(weight)]),
    ];
  }

  node(index: number): LocalNode {
    const node = this.nodes[index - 1];
    if (node === undefined) throw new Error(`no node ${index}`);
    return node;
  }

  /** Starts every node that is not running and waits until each answers /health. */
  async start(): Promise<void> {
    for (const node of this.nodes) if (node.process === undefined) this.spawnNode(node);
    await Promise.all(this.nodes.map((node) => this.waitReady(node)));
  }

  async startNode(index: number): Promise<void> {
    const node = this.node(index);
    if (node.process === undefined) this.spawnNode(node);
    await this.waitReady(node);
  }

  private spawnNode(node: LocalNode): void {
    const options = this.options;
    const args = [
      ...(options.nodeArguments ?? []),
      binPath,
      'start',
      '--node-id',
      node.id,
      '--listen',
      node.peerAddress,
      '--http',
      node.httpUrl.replace('http://', ''),
      '--resp',
      node.respAddress,
      '--data',
      join(resolve(options.dataDirectory), node.id),
      '--seeds',
      this.seeds,
      '--engine',
      options.engine,
      '--secret-file',
      this.secretFile,
      '--partitions',
      String(options.partitions ?? 256),
      '--log-level',
      options.logLevel ?? 'warn',
      ...this.placementArguments(node.index),
      ...(options.extraArguments ?? []),
    ];
    const output = options.output ?? 'inherit';
    const child = spawn(process.execPath, args, { stdio: ['ignore', output, output], env: binEnvironment() });
    node.process = child;
    options.onSpawn?.(node, child);
    child.once('exit', () => {
      if (node.process === child) node.process = undefined;
    });
  }

  private async waitReady(node: LocalNode): Promise<void> {
    const deadline = Date.now() + (this.options.readyTimeoutMs ?? 20_000);
    while (Date.now() < deadline) {
      if (node.process === undefined) throw new Error(`${node.id} exited while starting`);
      try {
        const response = await fetch(`${node.httpUrl}/health`, { signal: AbortSignal.timeout(1000) });
        if (response.ok) return;
      } catch {
        // not listening yet
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error(`${node.id} did not become ready in time`);
  }

  /** Sends `signal` to one node (by its PID) and waits for it to exit. */
  async stopNode(index: number, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const child = this.node(index).process;
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill(signal);
    await exited;
  }

  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    await Promise.all(this.nodes.map((node) => this.stopNode(node.index, signal)));
  }
}
