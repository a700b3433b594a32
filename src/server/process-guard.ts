// Why: a node runs many tasks nobody awaits: timers (ticks, deadlines, reconnects), I/O callbacks
// and fire-and-forget promises (metadata saves, hint removals). Node's default for an error thrown
// there, or a promise rejected with no handler, is to print a stack and exit: one bad input reaching
// such a task (a props table too large for a frame did) took every node of a cluster down, and a
// supervisor restarting them would crash-loop. Each task handles its own errors; this is the net
// under them. It logs what escaped and keeps serving, except for a broken invariant
// (AssertionFailure, a bug): the node's protocol state may then be inconsistent, and continuing could
// acknowledge writes it does not hold or mint a version twice, so it stops without a clean-stop mark
// (the next boot draws a new epoch, decision 0008) and exits with `fatalExitCode` (decision 0012).
import { AssertionFailure } from '../core/base/assert.ts';

export interface GuardLogger {
  error(fields: object, message: string): void;
  fatal?(fields: object, message: string): void;
}

/** The part of `process` the guard uses (a test passes an EventEmitter). */
export interface GuardedProcess {
  on(event: 'uncaughtException', listener: (error: unknown, origin?: string) => void): unknown;
  on(event: 'unhandledRejection', listener: (reason: unknown) => void): unknown;
  off(event: 'uncaughtException', listener: (error: unknown, origin?: string) => void): unknown;
  off(event: 'unhandledRejection', listener: (reason: unknown) => void): unknown;
}

export interface ProcessGuardOptions {
  readonly logger: GuardLogger;
  /**
   * Called once for a fatal error: stop the node without marking a clean stop, then exit with
   * `fatalExitCode`. The guard does not exit itself, so it stays testable and embeddable.
   */
  readonly onFatal: (error: unknown) => void;
  /** Background errors logged per second; past it they are counted and summarised once a second. Default 20. */
  readonly logsPerSecondMax?: number;
  /** Monotonic ms, for the log rate limit. Default performance.now. */
  readonly nowMs?: () => number;
}

/** Exit status of a node stopped by a broken invariant (EX_SOFTWARE). */
export const fatalExitCode = 70;

export interface ProcessGuard {
  /** Background errors seen (logged or suppressed). */
  readonly errorsSeen: number;
  uninstall(): void;
}

function describe(error: unknown): Record<string, unknown> {
  if (error instanceof Error)
    return {
      error: error.message,
      name: error.name,
      stack: error.stack,
      ...('code' in error ? { code: (error as { code: unknown }).code } : {}),
    };
  return { error: String(error) };
}

export function installProcessGuard(target: GuardedProcess, options: ProcessGuardOptions): ProcessGuard {
  const logsPerSecondMax = options.logsPerSecondMax ?? 20;
  const nowMs = options.nowMs ?? (() => performance.now());
  let windowStartMs = nowMs();
  let loggedInWindow = 0;
  let suppressed = 0;
  let errorsSeen = 0;
  let fatalSeen = false;

  const onError = (kind: 'uncaught exception' | 'unhandled rejection', error: unknown): void => {
    errorsSeen += 1;
    if (error instanceof AssertionFailure) {
      const fields = { kind, ...describe(error) };
      (options.logger.fatal ?? options.logger.error).call(
        options.logger,
        fields,
        'a broken invariant (a bug) in a background task: stopping the node without a clean-stop mark, to lose no data',
      );
      if (!fatalSeen) {
        fatalSeen = true;
        options.onFatal(error);
      }
      return;
    }
    const now = nowMs();
    if (now - windowStartMs >= 1000) {
      if (suppressed > 0)
        options.logger.error({ suppressed }, 'background task errors not logged in the last interval (rate limit)');
      windowStartMs = now;
      loggedInWindow = 0;
      suppressed = 0;
    }
    if (loggedInWindow >= logsPerSecondMax) {
      suppressed += 1;
      return;
    }
    loggedInWindow += 1;
    options.logger.error({ kind, ...describe(error) }, 'a background task failed; the node keeps serving');
  };
  const onException = (error: unknown): void => onError('uncaught exception', error);
  const onRejection = (reason: unknown): void => onError('unhandled rejection', reason);
  target.on('uncaughtException', onException);
  target.on('unhandledRejection', onRejection);
  return {
    get errorsSeen() {
      return errorsSeen;
    },
    uninstall() {
      target.off('uncaughtException', onException);
      target.off('unhandledRejection', onRejection);
    },
  };
}
