// Why: the admin commands (`user`, `cluster`, `keys`' stream) call routes the TypeScript client does
// not offer, through fetch(); this is their one way of sending a request (with the credentials of
// options.ts and the command's deadline) and of reporting a failure in the CLI's one error style.
// The key-value commands go through the client instead (node-client.ts).
import { CliFailure, exitCodeForHttpStatus, exitCodes } from './exit-codes.ts';
import { formatServerError } from './format.ts';
import { withCredentials } from './options.ts';
import type { CommandIo } from './command-io.ts';

export function describeFetchFailure(node: string, error: unknown, timeoutMs: number): string {
  if (error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError')) {
    return `no answer from ${node} within ${timeoutMs} ms`;
  }
  const cause = error instanceof Error && error.cause instanceof Error ? error.cause.message : String(error);
  return `cannot reach ${node}: ${cause}`;
}

export async function request(io: CommandIo, node: string, url: string, init: RequestInit): Promise<Response> {
  try {
    return await fetch(url, { ...withCredentials(init), signal: AbortSignal.timeout(io.requestTimeoutMs) });
  } catch (error) {
    throw new CliFailure(describeFetchFailure(node, error, io.requestTimeoutMs), exitCodes.unavailable);
  }
}

/** One stderr line for a node's error answer; returns the exit code its status means. */
export async function reportServerError(io: CommandIo, response: Response): Promise<number> {
  io.stderr.write(formatServerError(response.status, await response.text()));
  return exitCodeForHttpStatus(response.status);
}
