// Why: a test that waits must still judge. eventually() waits for something to happen and
// fails at once on an assertion made while it polls; throughout() proves that something did NOT
// happen by looking through a whole window, where a sleep would prove nothing. Shared by the
// multi-process fixtures and the in-process tests.
import { AssertionError } from 'node:assert';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Polls `attempt` until it returns something other than undefined, or fails after `timeoutMs`. An
 * error it throws (a refused connection, a node still starting) means "not yet", except an
 * AssertionError: that is a verdict, and it fails at once instead of being retried away.
 */
export async function eventually<T>(
  what: string,
  attempt: () => Promise<T | undefined>,
  options: { timeoutMs: number; intervalMs?: number },
): Promise<T> {
  const deadline = performance.now() + options.timeoutMs;
  let last = 'no attempt finished';
  for (;;) {
    try {
      const result = await attempt();
      if (result !== undefined) return result;
      last = 'condition not met';
    } catch (error) {
      if (error instanceof AssertionError) throw error;
      last = `threw ${String(error)}`;
    }
    if (performance.now() >= deadline)
      throw new Error(`timed out after ${options.timeoutMs} ms waiting for ${what} (last attempt: ${last})`);
    await sleep(options.intervalMs ?? 100);
  }
}

/**
 * Proves an absence: calls `sighting` every `intervalMs` through the whole `windowMs` (and once
 * more after it ends) and fails at the first call that reports one (returns what it saw). A
 * sleep cannot show that something did not happen; polling through the window can. Errors are
 * not retried: a check that cannot look is no proof. Returns how many checks ran.
 */
export async function throughout(
  what: string,
  sighting: () => Promise<string | undefined>,
  options: { windowMs: number; intervalMs?: number },
): Promise<number> {
  const deadline = performance.now() + options.windowMs;
  for (let checks = 1; ; checks++) {
    const seen = await sighting();
    if (seen !== undefined)
      throw new AssertionError({
        message: `${what} did not hold: ${seen} (check ${checks}, within ${options.windowMs} ms)`,
      });
    if (performance.now() >= deadline) return checks;
    await sleep(Math.min(options.intervalMs ?? 100, Math.max(0, deadline - performance.now())));
  }
}
