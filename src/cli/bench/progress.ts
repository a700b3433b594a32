// Why: a 20-second run with no sign of life looks hung, and a throughput that collapses halfway is
// worth seeing while it happens. A cli-progress bar on stderr (so --json on stdout stays clean)
// shows elapsed time, operations so far and the current rate; it is off when stderr is not a
// terminal or --no-progress is given. The rate over the last second is a small pure class.
import { createRequire } from 'node:module';

/** Operations per second over roughly the last `windowMs`, from (time, cumulative count) samples. */
export class RateWindow {
  private readonly samples: Array<{ readonly atMs: number; readonly count: number }> = [];

  constructor(private readonly windowMs = 1_000) {}

  /** Adds a sample and returns the rate since the oldest sample still inside the window. */
  sample(atMs: number, count: number): number {
    this.samples.push({ atMs, count });
    // Keep one sample at or before the window start, so the rate always spans about windowMs.
    while (this.samples.length > 2 && (this.samples[1] as { atMs: number }).atMs <= atMs - this.windowMs)
      this.samples.shift();
    const oldest = this.samples[0] as { atMs: number; count: number };
    const spanMs = atMs - oldest.atMs;
    return spanMs > 0 ? ((count - oldest.count) * 1000) / spanMs : 0;
  }
}

/** The part of cli-progress used here (the package ships no types and @types is not installed). */
interface SingleBar {
  start(total: number, startValue: number, payload?: Record<string, unknown>): void;
  update(value: number, payload?: Record<string, unknown>): void;
  stop(): void;
}
interface CliProgressModule {
  SingleBar: new (options: Record<string, unknown>, preset?: unknown) => SingleBar;
  Presets: { shades_classic: unknown };
}

export interface ProgressDisplay {
  update(elapsedMs: number, completed: number, errors: number): void;
  stop(): void;
}

const silent: ProgressDisplay = Object.freeze({ update: () => undefined, stop: () => undefined });

export function createProgress(
  enabled: boolean,
  durationSeconds: number,
  stream: NodeJS.WriteStream = process.stderr,
): ProgressDisplay {
  if (!enabled || stream.isTTY !== true) return silent;
  const cliProgress = createRequire(import.meta.url)('cli-progress') as CliProgressModule;
  const bar = new cliProgress.SingleBar(
    {
      stream,
      format: 'bench |{bar}| {value}/{total} s | {ops} ops | {rate} ops/s now | {errors} errors',
      hideCursor: true,
      clearOnComplete: false,
      fps: 5,
    },
    cliProgress.Presets.shades_classic,
  );
  const window = new RateWindow();
  bar.start(durationSeconds, 0, { ops: 0, rate: 0, errors: 0 });
  return {
    update(elapsedMs, completed, errors) {
      const rate = Math.round(window.sample(elapsedMs, completed));
      bar.update(Math.min(durationSeconds, Math.floor(elapsedMs / 1000)), { ops: completed, rate, errors });
    },
    stop() {
      bar.stop();
    },
  };
}
