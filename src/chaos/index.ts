// Why: the entry point of a chaos run, used by `everwrite chaos` and test/chaos. It runs in the
// caller's namespace and owns every resource: it checks prerequisites, removes leftovers of dead
// runs, builds the namespaces, spawns the runner inside the client namespace, and always tears
// everything down (processes by PID, namespaces, data) however the run ends, within a bounded time.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createTopology, destroyTopology, missingPrerequisite, removeLeftovers, topologyFor } from './netns.ts';
import { faultStateKinds, nemesisKinds, type NemesisKind } from './nemesis.ts';
import type { ChaosReport, RunnerOptions } from './runner.ts';
import { siblingModuleArguments } from '../server/bin.ts';

export type { ChaosReport } from './runner.ts';
export { missingPrerequisite, probeNamespaces } from './netns.ts';

export interface ChaosOptions {
  /** Seconds of faults (a quiet warm-up and tail of quietS each come on top). */
  readonly durationS: number;
  readonly nemesis: 'all' | 'none' | NemesisKind;
  readonly seed: number;
  /** Nodes in the cluster at the start. Default 5. */
  readonly nodes?: number;
  /** With the membership nemesis: node processes started outside the view, to join later. Default 2. */
  readonly spares?: number;
  /** A new fault state every intervalMs. Default 4000. */
  readonly intervalMs?: number;
  readonly quietS?: number;
  readonly convergenceTimeoutS?: number;
  /** Progress lines (the runner's stderr). Default: process.stderr. */
  readonly onProgress?: (text: string) => void;
  readonly signal?: AbortSignal;
}

const repositoryRoot = fileURLToPath(new URL('../../', import.meta.url));

export function kindsOf(nemesis: ChaosOptions['nemesis']): NemesisKind[] {
  if (nemesis === 'all') return [...faultStateKinds];
  if (nemesis === 'none') return [];
  if (!nemesisKinds.includes(nemesis))
    throw new Error(`--nemesis must be all, none, ${nemesisKinds.join(', ')}; got ${String(nemesis)}`);
  return [nemesis];
}

function runRunner(
  namespace: string,
  runnerOptions: RunnerOptions,
  options: ChaosOptions,
  budgetMs: number,
): Promise<ChaosReport> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      'ip',
      [
        'netns',
        'exec',
        namespace,
        process.execPath,
        ...siblingModuleArguments(import.meta.url, 'runner-main'),
        JSON.stringify(runnerOptions),
      ],
      { cwd: repositoryRoot, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stdout = '';
    let stderrTail = '';
    const progress = options.onProgress ?? ((text: string) => process.stderr.write(text));
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => {
      const text = chunk.toString('utf8');
      stderrTail = (stderrTail + text).slice(-8192);
      progress(text);
    });
    const kill = (): void => {
      child.kill('SIGKILL');
    };
    const timer = setTimeout(kill, budgetMs);
    options.signal?.addEventListener('abort', kill, { once: true });
    child.once('error', reject);
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', kill);
      const last = stdout.trim().split('\n').pop() ?? '';
      if (code === 0 && last.startsWith('{')) resolve(JSON.parse(last) as ChaosReport);
      else
        reject(
          new Error(
            `chaos runner ended with ${signal ?? `exit code ${code}`} (seed ${runnerOptions.seed}): ${stderrTail.slice(-3000)}`,
          ),
        );
    });
  });
}

export async function runChaos(options: ChaosOptions): Promise<ChaosReport> {
  const missing = missingPrerequisite();
  if (missing !== undefined) throw new Error(missing);
  if (!(options.durationS > 0 && options.durationS <= 24 * 3600)) throw new Error('duration must be 1 s .. 24 h');
  const kinds = kindsOf(options.nemesis);
  await removeLeftovers();
  const memberCount = options.nodes ?? 5;
  const membership = kinds.includes('membership');
  const spareCount = membership ? (options.spares ?? 2) : 0;
  const topology = topologyFor(process.pid, memberCount + spareCount);
  const dataDirectory = mkdtempSync(join(tmpdir(), 'ewchaos-'));
  const quietS = options.quietS ?? 5;
  const convergenceTimeoutS = options.convergenceTimeoutS ?? 60;
  const runnerOptions: RunnerOptions = {
    seed: options.seed,
    durationS: options.durationS,
    kinds,
    nemesis: options.nemesis,
    nodeNamespaces: topology.nodeNamespaces,
    memberCount,
    dataDirectory,
    intervalMs: options.intervalMs ?? 4000,
    quietS,
    convergenceTimeoutS,
  };
  try {
    await createTopology(topology);
    // The membership nemesis lets its last transition finish after the window (bounded by its
    // operation timeout) and reads every key through every final member.
    const membershipS = membership ? 180 : 0;
    const budgetMs = (options.durationS + 2 * quietS + convergenceTimeoutS + 240 + membershipS) * 1000;
    return await runRunner(topology.clientNamespace, runnerOptions, options, budgetMs);
  } finally {
    await destroyTopology(topology);
    rmSync(dataDirectory, { recursive: true, force: true });
  }
}
