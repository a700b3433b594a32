// Why: an operator runs `everwrite` many times a minute, so its start-up time is a user-facing figure
// (the target is under 0.5 s for `--help` and `get`). This times whole processes, as a shell would
// start them: the built bin (dist/, what an installed package runs) against the sources through tsx
// (what the bin ran before the package shipped JavaScript), for `--help` and for a `get` of a key on
// a running one-node cluster. Needs `npm run build` first.
// Usage: npx tsx bench/cli-startup.ts [--runs 20]        (ports 46701 and 46801)
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const binPath = fileURLToPath(new URL('../bin/everwrite.mjs', import.meta.url));
const runsFlag = process.argv.indexOf('--runs');
const runs = runsFlag === -1 ? 20 : Number(process.argv[runsFlag + 1]);
if (!Number.isInteger(runs) || runs < 1 || runs > 1000) throw new Error('--runs must be 1..1000');
if (!existsSync(fileURLToPath(new URL('../dist/cli/main.js', import.meta.url))))
  throw new Error('run `npm run build` first');
const nodeUrl = 'http://127.0.0.1:46801';
const built = { ...process.env, EVERWRITE_FROM_SOURCE: undefined };
const sources = { ...process.env, EVERWRITE_FROM_SOURCE: '1' };

/** CPU time (user + system) of this process's finished children, in ms: fields 16 and 17 of /proc/self/stat, in clock ticks of 10 ms. */
function childrenCpuMs(): number {
  const fields = readFileSync('/proc/self/stat', 'utf8')
    .replace(/^.*\) /, '')
    .split(' ');
  return (Number(fields[13]) + Number(fields[14])) * 10;
}

interface Sample {
  readonly wallMs: number;
  readonly cpuMs: number;
}

/** Wall and CPU time of one whole `everwrite` process, in ms; throws if it fails. */
function timeOnce(args: readonly string[], env: NodeJS.ProcessEnv): Sample {
  const cpuBefore = childrenCpuMs();
  const started = performance.now();
  const result = spawnSync(process.execPath, [binPath, ...args], { env, encoding: 'utf8', timeout: 30_000 });
  const wallMs = performance.now() - started;
  if (result.status !== 0) throw new Error(`everwrite ${args.join(' ')} exited ${result.status}: ${result.stderr}`);
  return { wallMs, cpuMs: childrenCpuMs() - cpuBefore };
}

/** Wall time is what a user waits, but swings with the machine's load; CPU time (a mean, ticks are 10 ms) much less. */
function summary(samples: Sample[]): string {
  const sorted = samples.map((sample) => sample.wallMs).sort((a, b) => a - b);
  const at = (quantile: number): number =>
    sorted[Math.min(sorted.length - 1, Math.floor(quantile * sorted.length))] as number;
  const cpuMeanMs = samples.reduce((sum, sample) => sum + sample.cpuMs, 0) / samples.length;
  return `wall median ${at(0.5).toFixed(0)} ms, p90 ${at(0.9).toFixed(0)} ms, min ${(sorted[0] as number).toFixed(0)} ms; CPU mean ${cpuMeanMs.toFixed(0)} ms (${sorted.length} runs)`;
}

async function waitForHealth(deadlineMs: number): Promise<void> {
  while (performance.now() < deadlineMs) {
    try {
      if ((await fetch(`${nodeUrl}/health`, { signal: AbortSignal.timeout(1000) })).ok) return;
    } catch {
      // not yet listening
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error('the node did not start');
}

const node = spawn(
  process.execPath,
  [
    binPath,
    'start',
    '--node-id',
    'n1',
    '--listen',
    '127.0.0.1:46701',
    '--http',
    '127.0.0.1:46801',
    '--seeds',
    'n1@127.0.0.1:46701',
    '--engine',
    'memory',
    '--log-level',
    'warn',
  ],
  { env: { ...built, EVERWRITE_SECRET: 'cli-startup-bench-secret-0123456789' }, stdio: 'ignore' },
);
try {
  await waitForHealth(performance.now() + 30_000);
  timeOnce(['put', 'bench', 'k', 'value', '--node', nodeUrl], built);
  const cases: Array<[string, readonly string[], NodeJS.ProcessEnv]> = [
    ['everwrite --help (dist)', ['--help'], built],
    ['everwrite get (dist)', ['get', 'bench', 'k', '--node', nodeUrl], built],
    ['everwrite --help (sources through tsx)', ['--help'], sources],
    ['everwrite get (sources through tsx)', ['get', 'bench', 'k', '--node', nodeUrl], sources],
  ];
  for (const [name, args, env] of cases) {
    timeOnce(args, env); // warm the file cache (and tsx's cache for the sources)
    console.log(`${name}: ${summary(Array.from({ length: runs }, () => timeOnce(args, env)))}`);
  }
  console.log(
    `baseline node -e '': ${summary(
      Array.from({ length: runs }, () => {
        const cpuBefore = childrenCpuMs();
        const started = performance.now();
        spawnSync(process.execPath, ['-e', '']);
        return { wallMs: performance.now() - started, cpuMs: childrenCpuMs() - cpuBefore };
      }),
    )}`,
  );
} finally {
  node.kill('SIGTERM');
}
