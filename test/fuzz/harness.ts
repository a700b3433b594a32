// Why: every decoder that faces a peer's or a client's bytes is fuzzed the same way, by the CI
// slice (test/fuzz/*.test.ts, a few thousand cases each) and by the soak (`npm run fuzz`, a
// million each). A target names its input generator and a `check` that runs the decoder on one
// input: it returns normally when the decoder either accepted the input (and the accepted value
// passed the target's round-trip check) or refused it the documented way. Anything else that
// escapes `check` is a crash: a TypeError, a RangeError, an assertion, a refusal with the wrong
// code, or a wrong round trip. A case slower than caseMsMax is a hang.
import { performance } from 'node:perf_hooks';
import type fc from 'fast-check';
import { EverwriteError, type ErrorCode } from '../../src/core/base/errors.ts';

/** A case taking longer than this is a hang (the decoders are all linear in small inputs). */
export const caseMsMax = 100;

export interface CraftedCase<Input> {
  readonly name: string;
  readonly input: Input;
}

export interface FuzzTarget<Input> {
  /** Short name, as `npm run fuzz -- --only <name>` takes it. */
  readonly name: string;
  /** What the target decodes, for the report. */
  readonly subject: string;
  readonly arbitrary: fc.Arbitrary<Input>;
  /** Runs the decoder on `input`; throws (or rejects) only when a property is broken. */
  check(input: Input): void | Promise<void>;
  /** Hand-made hostile inputs (huge length prefixes and counts, hazards) every run includes. */
  readonly crafted: ReadonlyArray<CraftedCase<Input>>;
  /** The input in a form a crash report can print (hex or JSON, truncated). */
  describe(input: Input): string;
  /** Cases in the CI slice: sized so test/fuzz stays under its time budget. */
  readonly ciRuns: number;
}

/** A broken property: thrown by checks so the harness reports it with the failing input. */
export class FuzzViolation extends Error {
  override readonly name = 'FuzzViolation';
}

export function violation(message: string): never {
  throw new FuzzViolation(message);
}

/** Runs `decode`; a thrown EverwriteError with one of `codes` is the documented refusal (undefined), anything else escapes. */
export function refusedWith<Value>(codes: readonly ErrorCode[], decode: () => Value): Value | undefined {
  try {
    return decode();
  } catch (error) {
    if (error instanceof EverwriteError && codes.includes(error.code)) return undefined;
    throw error;
  }
}

export interface CaseOutcome {
  readonly crash: unknown;
  readonly elapsedMs: number;
}

/** One case, timed. A case over caseMsMax is run again: only a case slow twice is a hang (not a GC pause). */
export async function runCase<Input>(target: FuzzTarget<Input>, input: Input): Promise<CaseOutcome> {
  const first = await timedCheck(target, input);
  if (first.crash !== undefined || first.elapsedMs <= caseMsMax) return first;
  const again = await timedCheck(target, input);
  if (again.crash !== undefined || again.elapsedMs <= caseMsMax) return again;
  return {
    crash: new FuzzViolation(`hang: ${again.elapsedMs.toFixed(1)} ms (over ${caseMsMax} ms) twice`),
    elapsedMs: again.elapsedMs,
  };
}

async function timedCheck<Input>(target: FuzzTarget<Input>, input: Input): Promise<CaseOutcome> {
  const start = performance.now();
  try {
    // Most checks are synchronous: only those that return a promise cost a turn of the microtask queue.
    const pending = target.check(input);
    if (pending !== undefined) await pending;
    return { crash: undefined, elapsedMs: performance.now() - start };
  } catch (error) {
    return { crash: error ?? new FuzzViolation('threw undefined'), elapsedMs: performance.now() - start };
  }
}

/** fc property predicate for a target: fails (with the reason) on a crash or a hang. */
export function casePredicate<Input>(target: FuzzTarget<Input>): (input: Input) => Promise<void> {
  return async (input) => {
    const outcome = await runCase(target, input);
    if (outcome.crash !== undefined) throw outcome.crash;
  };
}

/** Bytes held now by ArrayBuffers (Buffers, typed arrays) plus the JavaScript heap: what an unbounded allocation would show. */
export function allocatedBytes(): number {
  const usage = process.memoryUsage();
  return usage.arrayBuffers + usage.heapUsed;
}

/** A crafted case may grow that memory by at most this much: far below any announced length. */
export const craftedAllocationBytesMax = 64 * 1024 * 1024;

/** Describes an unknown thrown value in one line. */
export function describeError(error: unknown): string {
  if (error instanceof EverwriteError) return `EverwriteError ${error.code}: ${error.message}`;
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return String(error);
}

/** What one crafted case did: its crash (if any), time and ArrayBuffer growth. */
export interface CraftedOutcome extends CaseOutcome {
  readonly allocatedBytes: number;
}

/** Runs one crafted case, also measuring how much memory (ArrayBuffers and heap) the process grew by meanwhile. */
export async function runCrafted<Input>(target: FuzzTarget<Input>, input: Input): Promise<CraftedOutcome> {
  const before = allocatedBytes();
  const outcome = await runCase(target, input);
  return { ...outcome, allocatedBytes: allocatedBytes() - before };
}
