// Why: the CI swarm's cost is the simulator's CPU time per seed, and the development machine's wall
// time swings with other work on it; this runs a range of `--faults all` seeds in one process and
// prints the CPU seconds they took (process.cpuUsage), how many drew a membership change, and any
// failure, so a new fault kind's cost can be compared within one run of the machine.
// Usage: npx tsx bench/sim-cpu.bench.ts FIRST_SEED LAST_SEED
import { runSimulation } from '../src/sim/index.ts';

const [from, to] = process.argv.slice(2).map(Number);
if (
  from === undefined ||
  to === undefined ||
  !Number.isSafeInteger(from) ||
  !Number.isSafeInteger(to) ||
  from < 0 ||
  to < from
) {
  throw new Error('usage: npx tsx bench/sim-cpu.bench.ts FIRST_SEED LAST_SEED');
}
const started = process.cpuUsage();
const wallStarted = performance.now();
let memberships = 0;
let failed = 0;
for (let seed = from; seed <= to; seed++) {
  const report = await runSimulation({ seed, ops: 200 });
  if (report.faults.includes('membership')) memberships += 1;
  if (!report.ok) {
    failed += 1;
    console.log('FAILED', report.command, report.failures.join('; '));
  }
}
const cpu = process.cpuUsage(started);
console.log(
  JSON.stringify({
    seeds: `${from}-${to}`,
    memberships,
    failed,
    cpuSeconds: Math.round((cpu.user + cpu.system) / 1e4) / 100,
    wallSeconds: Math.round(performance.now() - wallStarted) / 1000,
  }),
);
