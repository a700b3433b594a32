// Why: the CI slice (test/fuzz) runs a few thousand cases per decoder; this soak runs a million or
// more, to find what is rare. For each target it runs the crafted hostile cases, then generated
// cases in seeded chunks, and prints cases, cases/s, crashes and the slowest case. It stops a
// target at --cases or at --time-limit-s, whichever comes first, and exits 1 on any crash or hang.
// Usage: npm run fuzz -- [--cases 1000000] [--only resp,record] [--seed N] [--time-limit-s 1800] [--list]
// Replay: the same --seed and --only give the same cases; a crash report names its chunk and case.
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import fc from 'fast-check';
import { describeError, type FuzzTarget, runCase } from '../test/fuzz/harness.ts';
import { fuzzTargets } from '../test/fuzz/targets/index.ts';

const chunkCases = 5000;
const crashesShownMax = 3;

interface Summary {
  readonly name: string;
  cases: number;
  crashes: number;
  elapsedMs: number;
  slowestMs: number;
  slowest: string;
  stoppedByTime: boolean;
}

const { values } = parseArgs({
  options: {
    cases: { type: 'string', default: '1000000' },
    only: { type: 'string' },
    seed: { type: 'string' },
    'time-limit-s': { type: 'string', default: '1800' },
    list: { type: 'boolean', default: false },
  },
});

function positive(text: string, option: string): number {
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < 1) throw new Error(`--${option} must be a positive integer, got ${text}`);
  return value;
}

async function soak(target: FuzzTarget<unknown>, cases: number, seed: number, timeLimitMs: number): Promise<Summary> {
  const summary: Summary = {
    name: target.name,
    cases: 0,
    crashes: 0,
    elapsedMs: 0,
    slowestMs: 0,
    slowest: '',
    stoppedByTime: false,
  };
  const start = performance.now();
  const record = async (input: unknown, where: string) => {
    const outcome = await runCase(target, input);
    summary.cases++;
    if (outcome.elapsedMs > summary.slowestMs) {
      summary.slowestMs = outcome.elapsedMs;
      summary.slowest = `${where}: ${target.describe(input as never).slice(0, 160)}`;
    }
    if (outcome.crash === undefined) return;
    summary.crashes++;
    if (summary.crashes <= crashesShownMax)
      console.log(
        `  CRASH ${target.name} ${where}: ${describeError(outcome.crash)}\n    input ${target.describe(input as never)}`,
      );
  };
  for (const crafted of target.crafted) await record(crafted.input, `crafted "${crafted.name}"`);
  for (let chunk = 0; summary.cases < cases; chunk++) {
    if (performance.now() - start > timeLimitMs) {
      summary.stoppedByTime = true;
      break;
    }
    const inputs = fc.sample(target.arbitrary, {
      numRuns: Math.min(chunkCases, cases - summary.cases),
      seed: seed + chunk,
    });
    for (let index = 0; index < inputs.length; index++)
      await record(inputs[index], `seed ${seed} chunk ${chunk} case ${index}`);
  }
  summary.elapsedMs = performance.now() - start;
  return summary;
}

async function main(): Promise<number> {
  if (values.list) {
    for (const target of fuzzTargets) console.log(`${target.name.padEnd(16)} ${target.subject}`);
    return 0;
  }
  const cases = positive(values.cases, 'cases');
  const timeLimitMs = positive(values['time-limit-s'], 'time-limit-s') * 1000;
  const seed = values.seed === undefined ? (Math.random() * 2 ** 31) | 0 : positive(values.seed, 'seed');
  const names = values.only?.split(',').map((name) => name.trim());
  const unknown = names?.filter((name) => !fuzzTargets.some((target) => target.name === name)) ?? [];
  if (unknown.length > 0) throw new Error(`unknown target(s) ${unknown.join(', ')}; --list shows them`);
  const chosen = fuzzTargets.filter((target) => names === undefined || names.includes(target.name));
  console.log(
    `fuzz: ${chosen.length} target(s), up to ${cases} cases each, at most ${timeLimitMs / 1000} s each, seed ${seed} (replay with --seed ${seed})`,
  );
  console.log(
    `${'target'.padEnd(16)} ${'cases'.padStart(10)} ${'cases/s'.padStart(9)} ${'crashes'.padStart(7)} ${'slowest ms'.padStart(10)}  slowest case`,
  );
  let crashes = 0;
  for (const target of chosen) {
    const summary = await soak(target as FuzzTarget<unknown>, cases, seed, timeLimitMs);
    crashes += summary.crashes;
    const rate = Math.round(summary.cases / (summary.elapsedMs / 1000));
    const stopped = summary.stoppedByTime ? ' (stopped by the time limit)' : '';
    console.log(
      `${summary.name.padEnd(16)} ${String(summary.cases).padStart(10)} ${String(rate).padStart(9)} ${String(summary.crashes).padStart(7)} ${summary.slowestMs.toFixed(1).padStart(10)}  ${summary.slowest}${stopped}`,
    );
  }
  console.log(crashes === 0 ? 'fuzz: no crashes' : `fuzz: ${crashes} crash(es)`);
  return crashes === 0 ? 0 : 1;
}

process.exitCode = await main();
