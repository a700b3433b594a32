// Why: the CI swarm (docs/RELIABILITY.md): hundreds of seeds, each a whole cluster under a random subset of
// faults, must lose nothing, resurrect nothing and converge. The seeds are split between two test
// files so the two cores of a CI machine run them in parallel. Three blocks:
//   pinned  SIM_SEEDS seeds (default 600) from SIM_SEED_BASE (default 1; "random" picks one and
//           prints it): the same every build, so a regression shows on the seed that found it.
//   fresh   SIM_FRESH_SEEDS seeds (default 60) from a base derived from the commit being tested
//           (printed): every commit explores new seeds, and any failure replays from its seed.
//   quiet   SIM_QUIET_SEEDS seeds (default 20) with no fault at all: each must acknowledge at least
//           availabilityFloor of its element writes, so a store that refuses most writes fails.
// SIM_OPS sets the operations per seed. Under CI=true, SIM_SEEDS=0 is an error (a green swarm
// that ran nothing). Every failure names the command that replays it.
// A quarter of the seeds of the pinned and fresh blocks (seed mod 8 of 2 or 3) run the read-free
// check (docs/RELIABILITY.md): anti-entropy alone must make every primary of every key agree
// before the final reads. A read-free seed costs about a quarter more CPU, so the rest keep the
// ordinary final reads (CI time).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomInt } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { runSimulation, type SimReport } from '../../src/sim/index.ts';
import { ciForbidsSkips } from '../support/environment.ts';

/** Share of element writes a fault-free run must acknowledge (2026-12-07: 33,731 of 33,734 over 200 seeds). */
export const availabilityFloor = 0.98;

function count(name: string, fallback: number): number {
  const text = process.env[name];
  if (text === undefined || text === '') return fallback;
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < 0) throw new Error(`${name} must be a non-negative integer, got ${text}`);
  return value;
}

/** The commit under test (SIM_COMMIT, else git's HEAD), which names the fresh block. */
function commitName(): string {
  if (process.env.SIM_COMMIT) return process.env.SIM_COMMIT;
  const head = spawnSync('git', ['rev-parse', 'HEAD'], { encoding: 'utf8' });
  if (head.status === 0) return head.stdout.trim();
  if (ciForbidsSkips()) throw new Error('the swarm cannot name its fresh seeds: no git HEAD (set SIM_COMMIT)');
  return 'no-commit';
}

/** First seed of the fresh block: beyond the pinned range, derived from the commit. */
export function freshBase(commit: string): number {
  return 1_000_000 + (createHash('sha256').update(commit).digest().readUInt32BE(0) % 2 ** 30);
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

interface Block {
  readonly name: 'pinned' | 'fresh' | 'quiet';
  readonly base: number;
  readonly seeds: number;
}

function blocks(): Block[] {
  const pinned = count('SIM_SEEDS', 600);
  if (pinned === 0 && ciForbidsSkips())
    throw new Error('SIM_SEEDS=0 under CI=true: the swarm would pass without running a seed');
  const base = process.env.SIM_SEED_BASE === 'random' ? randomInt(0, 2 ** 31) : count('SIM_SEED_BASE', 1);
  const fresh = count('SIM_FRESH_SEEDS', 60);
  const commit = fresh === 0 ? 'none' : commitName();
  const list: Block[] = [
    { name: 'pinned', base, seeds: pinned },
    { name: 'fresh', base: fresh === 0 ? 0 : freshBase(commit), seeds: fresh },
    { name: 'quiet', base: 5_000_000, seeds: count('SIM_QUIET_SEEDS', 20) },
  ];
  console.log(
    `swarm blocks (commit ${commit}): ${list.map((block) => `${block.name} ${block.seeds} from ${block.base}`).join(', ')}`,
  );
  return list;
}

function mine(block: Block, { share, shares }: SwarmShare): number[] {
  const seeds: number[] = [];
  for (let seed = block.base + share; seed < block.base + block.seeds; seed += shares) seeds.push(seed);
  return seeds;
}

/** Why a seed's report fails the swarm, or undefined. */
function judge(block: Block, report: SimReport): string | undefined {
  if (block.name === 'quiet') {
    const share = report.attempted === 0 ? 0 : report.acknowledged / report.attempted;
    if (share < availabilityFloor)
      return `${report.command}: fault-free yet acknowledged only ${report.acknowledged} of ${report.attempted} element writes (floor ${availabilityFloor})`;
  }
  if (report.ok) return undefined;
  return `${report.command}: ${report.failures.join('; ')}`;
}

export function swarm(share: SwarmShare): void {
  const all = blocks();
  const ops = count('SIM_OPS', 200);
  const sizes = all.map((block) => `${mine(block, share).length} ${block.name}`).join(', ');
  test(
    `swarm share ${share.share + 1}/${share.shares}: ${sizes} seeds, ${ops} ops each`,
    { timeout: 900_000 },
    async (t) => {
      const started = performance.now();
      const totals = {
        seeds: 0,
        lost: 0,
        unexpected: 0,
        resurrected: 0,
        siblingsMax: 0,
        convergenceMsMax: 0,
        hintDrainMsMax: 0,
        acknowledged: 0,
        attempted: 0,
        readFree: 0,
      };
      const failures: string[] = [];
      for (const block of all) {
        for (const seed of mine(block, share)) {
          const report = await runSimulation(
            block.name === 'quiet' ? { seed, ops, faults: 'none' } : { seed, ops, readFree: isReadFree(seed) },
          );
          if (report.readFree) totals.readFree += 1;
          totals.seeds += 1;
          totals.lost += report.lost;
          totals.unexpected += report.unexpected;
          totals.resurrected += report.resurrected;
          totals.attempted += report.attempted;
          totals.acknowledged += report.acknowledged;
          totals.siblingsMax = Math.max(totals.siblingsMax, report.siblingsMax);
          totals.convergenceMsMax = Math.max(totals.convergenceMsMax, report.convergenceMs);
          totals.hintDrainMsMax = Math.max(totals.hintDrainMsMax, report.hintDrainMs);
          const failure = judge(block, report);
          if (failure !== undefined) {
            failures.push(failure);
            t.diagnostic(`${block.name} seed ${seed} FAILED: ${failure}`);
          }
        }
      }
      t.diagnostic(`${totals.seeds} seeds in ${Math.round(performance.now() - started)} ms: ${JSON.stringify(totals)}`);
      assert.ok(totals.seeds > 0, 'the swarm ran no seed');
      assert.deepEqual(failures, [], 'every seed passes (replay a failure with the command shown)');
    },
  );
}
