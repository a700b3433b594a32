// Why: scripts act on how `everwrite` ended, so every command ends with one of a few documented
// exit codes (README "Exit codes") and one error line on stderr. Kept pure (no process, no I/O) so
// each mapping is unit-tested; main.ts and the commands only apply it.

/** The documented exit codes. */
export const exitCodes = Object.freeze({
  ok: 0,
  /** Anything else: the node refused the request, an answer was malformed, a local file could not be read. */
  error: 1,
  /** The command line, a config file or an EVERWRITE_* variable is wrong; nothing was sent. */
  usage: 2,
  /** The key (or bucket) does not exist or is deleted. */
  notFound: 3,
  /** The node could not be reached or did not answer in time, or the cluster could not serve it now (quorum not met, overloaded). */
  unavailable: 4,
});

export type ExitCode = (typeof exitCodes)[keyof typeof exitCodes];

/** A failure worded for the user, with the exit code it ends the command with. */
export class CliFailure extends Error {
  constructor(
    message: string,
    readonly exitCode: ExitCode = exitCodes.error,
  ) {
    super(message);
    this.name = 'CliFailure';
  }
}

/** A wrong flag, argument, config file or variable: exit code 2. */
export class UsageError extends CliFailure {
  constructor(message: string) {
    super(message, exitCodes.usage);
    this.name = 'UsageError';
  }
}

/** The exit code for a node's HTTP error answer: 404 is not found; 503 and 429 mean try again later. */
export function exitCodeForHttpStatus(status: number): ExitCode {
  if (status === 404) return exitCodes.notFound;
  if (status === 503 || status === 429 || status === 504) return exitCodes.unavailable;
  return exitCodes.error;
}

/** fetch() rejects with a TypeError ("fetch failed") when it cannot connect, and with a TimeoutError or AbortError when its signal fires. */
function isUnreachable(error: Error): boolean {
  return (
    error.name === 'TimeoutError' ||
    error.name === 'AbortError' ||
    (error instanceof TypeError && error.message === 'fetch failed')
  );
}

/** The exit code any error thrown by a command ends it with. */
export function exitCodeOf(error: unknown): ExitCode {
  if (error instanceof CliFailure) return error.exitCode;
  if (error instanceof Error && isUnreachable(error)) return exitCodes.unavailable;
  return exitCodes.error;
}

/** The message of an error for the one stderr line; a failed connection names its cause (ECONNREFUSED...). */
export function messageOf(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  if (error instanceof TypeError && error.message === 'fetch failed' && error.cause instanceof Error)
    return `cannot reach the node: ${error.cause.message}`;
  // A node's own coded failure (a start that cannot open a file or port) names its code, as answers from a node do.
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && code.startsWith('EVERWRITE_')) return `${error.message} [${code}]`;
  return error.message;
}
