// Why: assertions catch bugs (broken invariants), never operating failures. A failed assertion is
// a programming error: it is thrown as AssertionFailure and must never be caught to carry on.

export class AssertionFailure extends Error {
  override readonly name = 'AssertionFailure';
}

export function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new AssertionFailure(message);
}

export function assertNever(value: never, message = 'unexpected variant'): never {
  throw new AssertionFailure(`${message}: ${JSON.stringify(value)}`);
}
