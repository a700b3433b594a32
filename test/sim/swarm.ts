// Why: the CI swarm (docs/RELIABILITY.md): hundreds of seeds, each a whole cluster under a random subset of
// faults, must lose nothing and converge. The seeds are split between two test files so the two
// cores of a CI machine run them in parallel. SIM_SEEDS sets how many seeds in all (default 600),
// SIM_SEED_BASE the first one (default 1; "random" picks one and prints it), SIM_OPS the operations
// per seed. Every failure names the command that replays it. A quarter of the seeds of each share
// (seed mod 8 of 2 or 3) run the read-free check (docs/RELIABILITY.md): anti-entropy alone must make
// every primary of every key agree before the final reads. A read-free seed costs about a quarter
// more CPU, so the rest keep the ordinary final reads (CI time).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomInt } from 'node:crypto';
import { runSimulation, type SimReport } from '../../src/sim/index.ts';

function positive(name: string, fallback: number): number {
  const text = process.env[name];
  if (text === undefined || text === '') return fallback;
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < 0) throw new Error(`${name} must be a non-negative integer, got ${text}`);
  return value;
}

export interface SwarmShare {
  /** Which share of the seeds this file runs (0-based) … */
  readonly share: number;
  /** … out of this many files. */
  readonly shares: number;
}

/** A quarter of the seeds, in both shares (their seeds alternate by parity). */
function isReadFree(seed: number): boolean {
  return seed % 8 === 2 || seed % 8 === 3;
}

export function swarm({ share, shares }: SwarmShare): void {
  const seeds = positive('SIM_SEEDS', 600);
  const base = process.env.SIM_SEED_BASE === 'random' ? randomInt(0, 2 ** 31) : positive('SIM_SEED_BASE', 1);
  const ops = positive('SIM_OPS', 200);
  const mine: number[] = [];
  for (let seed = base + share; seed < base + seeds; seed += shares) mine.push(seed);
  test(`swarm share ${share + 1}/${shares}: ${mine.length} seeds from ${base + share} (step ${shares}), ${ops} ops each`, { timeout: 600_000 }, async (t) => {
    const started = performance.now();
    const totals = { lost: 0, unexpected: 0, siblingsMax: 0, convergenceMsMax: 0, hintDrainMsMax: 0, acknowledged: 0, attempted: 0, readFree: 0 };
    const failures: SimReport[] = [];
    for (const seed of mine) {
      const report = await runSimulation({ seed, ops, readFree: isReadFree(seed) });
      totals.lost += report.lost;
      if (report.readFree) totals.readFree += 1;
      totals.unexpected += report.unexpected;
      totals.attempted += report.attempted;
      totals.acknowledged += report.acknowledged;
      totals.siblingsMax = Math.max(totals.siblingsMax, report.siblingsMax);
      totals.convergenceMsMax = Math.max(totals.convergenceMsMax, report.convergenceMs);
      totals.hintDrainMsMax = Math.max(totals.hintDrainMsMax, report.hintDrainMs);
      if (!report.ok) {
        failures.push(report);
        t.diagnostic(`seed ${seed} FAILED: ${report.failures.join('; ')} — reproduce: ${report.command}`);
      }
    }
    t.diagnostic(`${mine.length} seeds in ${Math.round(performance.now() - started)} ms: ${JSON.stringify(totals)}`);
    assert.deepEqual(
      failures.map((report) => `${report.command}: ${report.failures.join('; ')}`),
      [],
      'every seed passes (replay a failure with the command shown)',
    );
  });
}
