// Why: more than one bench runs real nodes with --cpu-prof and reports where their CPU went in the
// measured run (bench/http-profile.ts over HTTP, bench/resp-profile.ts over RESP). Reading V8's
// .cpuprofile files, cutting them to the measured window and printing the top functions by self time
// is done here once, so both print the same kind of table.
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

interface ProfileNode {
  readonly id: number;
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number };
}
export interface CpuProfile {
  readonly nodes: readonly ProfileNode[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
  /** Microseconds, on the clock the deltas count from. */
  readonly startTime: number;
  readonly endTime: number;
}

function frameName(frame: ProfileNode['callFrame'] | undefined): string {
  return frame === undefined
    ? '?'
    : `${frame.functionName || '(anonymous)'} ${frame.url.replace(/^.*\/(src|node_modules)\//, '$1/')}:${frame.lineNumber + 1}`;
}

/** Self time per function (name and file), in ms, over the profile's last `windowSeconds`; idle samples are left out. */
export function selfTimes(
  profile: CpuProfile,
  windowSeconds: number,
  into = new Map<string, number>(),
): Map<string, number> {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const from = profile.endTime - windowSeconds * 1e6;
  let at = profile.startTime;
  profile.samples.forEach((id, index) => {
    const delta = profile.timeDeltas[index] ?? 0;
    at += delta;
    if (at < from) return;
    const name = frameName(byId.get(id)?.callFrame);
    if (name.startsWith('(idle)')) return;
    into.set(name, (into.get(name) ?? 0) + delta / 1000);
  });
  return into;
}

/** Prints the `top` functions by self time, in ms and as a share of the busy time. */
export function printTop(title: string, times: Map<string, number>, top: number): void {
  const sorted = [...times.entries()].sort((a, b) => b[1] - a[1]);
  const total = sorted.reduce((sum, [, ms]) => sum + ms, 0);
  console.log(`\n${title}: ${Math.round(total)} ms busy in the measured run`);
  for (const [name, ms] of sorted.slice(0, top))
    console.log(`${ms.toFixed(0).padStart(7)} ms ${((ms / total) * 100).toFixed(1).padStart(5)}%  ${name}`);
}

/**
 * The main threads' profiles in `directory`, oldest first. Node names a profile
 * CPU.<date>.<time>.<pid>.<thread>.<seq>.cpuprofile; thread 0 is the main one (the tsx loader's
 * worker threads are left out: idle by the measured run).
 */
export function mainThreadProfiles(directory: string): { readonly file: string; readonly profile: CpuProfile }[] {
  return readdirSync(directory)
    .sort()
    .filter((file) => /\.\d+\.0\.\d+\.cpuprofile$/.test(file))
    .map((file) => ({ file, profile: JSON.parse(readFileSync(join(directory, file), 'utf8')) as CpuProfile }));
}
