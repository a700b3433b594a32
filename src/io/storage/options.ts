// Why: every storage component validates its options object once, at construction, and freezes it
// (docs/ARCHITECTURE.md habit 5). A bad option is an operator's mistake, so it is a coded error that names the
// option, not an assertion.
import { EverwriteError } from '../../core/base/errors.ts';

export function badOption(component: string, name: string, expected: string, value: unknown): EverwriteError {
  return new EverwriteError(
    'EVERWRITE_BAD_REQUEST',
    `${component}: option ${name} must be ${expected}, got ${String(value)}`,
    { option: name },
  );
}

/** Returns `value` (or `fallback` when absent) after checking it is an integer in [minimum, maximum]. */
export function integerOption(
  component: string,
  name: string,
  value: number | undefined,
  fallback: number,
  minimum: number,
  maximum = Number.MAX_SAFE_INTEGER,
): number {
  const chosen = value ?? fallback;
  if (!Number.isSafeInteger(chosen) || chosen < minimum || chosen > maximum) {
    throw badOption(component, name, `an integer in ${minimum}..${maximum}`, chosen);
  }
  return chosen;
}

export function directoryOption(component: string, value: string | undefined): string {
  if (typeof value !== 'string' || value.length === 0)
    throw badOption(component, 'directory', 'a non-empty path', value);
  return value;
}

/** Wraps a library failure as the coded storage error, keeping its message for operators. */
export function storageFailure(what: string, cause: unknown): EverwriteError {
  if (cause instanceof EverwriteError) return cause;
  const message = cause instanceof Error ? cause.message : String(cause);
  return new EverwriteError('EVERWRITE_STORAGE_FAILED', `${what}: ${message}`);
}
