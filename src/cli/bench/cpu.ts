// Why: on a small shared machine the throughput figure depends on who else is using the CPU, and
// the bench, the nodes and any other work all compete for the same two cores. So a run also
// measures, over exactly the measured window, the CPU its own nodes and the load generator used and
// what the whole machine used: the CPU cost per operation is then comparable between runs even when
// others disturbed them, and the report says how much they did. Linux /proc only; elsewhere the
// figures are absent, never guessed.
import { readFileSync } from 'node:fs';

/**
 * Clock ticks per second of /proc times (USER_HZ). It is 100 on every mainstream Linux build, and
 * Node offers no sysconf to ask.
 */
const ticksPerSecond = 100;

/** utime + stime of one process, in ticks, from the text of /proc/<pid>/stat. */
export function parseProcessStatTicks(text: string): number {
  // The command name (field 2) is in parentheses and may itself contain spaces or ')'.
  const fields = text
    .slice(text.lastIndexOf(')') + 2)
    .trim()
    .split(/\s+/);
  // fields[0] is field 3 (state); utime and stime are fields 14 and 15.
  const user = Number(fields[11]);
  const system = Number(fields[12]);
  if (!Number.isFinite(user) || !Number.isFinite(system)) throw new Error('unexpected /proc/<pid>/stat format');
  return user + system;
}

/** Busy and total ticks over all CPUs, from the `cpu ` line of /proc/stat. */
export function parseMachineStatTicks(text: string): { readonly busy: number; readonly total: number } {
  const line = text.split('\n').find((candidate) => candidate.startsWith('cpu '));
  if (line === undefined) throw new Error('no cpu line in /proc/stat');
  // user nice system idle iowait irq softirq steal (guest times are already inside user and nice)
  const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = line
    .trim()
    .split(/\s+/)
    .slice(1)
    .map(Number);
  const busy = user + nice + system + irq + softirq + steal;
  return { busy, total: busy + idle + iowait };
}

/** CPU used over the measured window, in CPU-seconds; `nodes` only when their PIDs are known. */
export interface CpuUsage {
  readonly generatorSeconds: number;
  readonly nodesSeconds?: number;
  readonly machineBusySeconds?: number;
  /** Machine busy time not used by the generator or (when known) the nodes: other work on the host. */
  readonly othersSeconds?: number;
}

function tryRead(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

function nodesTicks(pids: readonly number[]): number | undefined {
  let sum = 0;
  for (const pid of pids) {
    const text = tryRead(`/proc/${pid}/stat`);
    if (text === undefined) return undefined;
    sum += parseProcessStatTicks(text);
  }
  return sum;
}

function machineTicks(): { busy: number; total: number } | undefined {
  const text = tryRead('/proc/stat');
  return text === undefined ? undefined : parseMachineStatTicks(text);
}

const round = (seconds: number): number => Math.round(seconds * 100) / 100;

/** Samples now; the returned function samples again and gives the usage in between. */
export function startCpuSampling(nodePids: readonly number[]): () => CpuUsage {
  const generatorStart = process.cpuUsage();
  const nodesStart = nodePids.length === 0 ? undefined : nodesTicks(nodePids);
  const machineStart = machineTicks();
  return () => {
    const generator = process.cpuUsage(generatorStart);
    const generatorSeconds = round((generator.user + generator.system) / 1e6);
    const nodesEnd = nodesStart === undefined ? undefined : nodesTicks(nodePids);
    const machineEnd = machineTicks();
    const nodesSeconds =
      nodesStart === undefined || nodesEnd === undefined ? undefined : round((nodesEnd - nodesStart) / ticksPerSecond);
    const machineBusySeconds =
      machineStart === undefined || machineEnd === undefined
        ? undefined
        : round((machineEnd.busy - machineStart.busy) / ticksPerSecond);
    const othersSeconds =
      machineBusySeconds === undefined
        ? undefined
        : round(Math.max(0, machineBusySeconds - generatorSeconds - (nodesSeconds ?? 0)));
    return {
      generatorSeconds,
      ...(nodesSeconds === undefined ? {} : { nodesSeconds }),
      ...(machineBusySeconds === undefined ? {} : { machineBusySeconds }),
      ...(othersSeconds === undefined ? {} : { othersSeconds }),
    };
  };
}
