// Why: a simulation is only replayable if the code under test takes time and chance from the ports
// and nowhere else. While a run is in progress the global sources of nondeterminism are replaced by
// functions that throw (and record the leak, in case the code under test swallows the error), so a
// stray Date.now() or setTimeout() fails the run loudly instead of making it flaky. The driver
// captures the real setImmediate before installing the guard: it needs one to let the microtask
// queue drain between simulated events.

export interface DeterminismGuard {
  /** Leaks caught so far: which global was touched, with the first stack line that touched it. */
  readonly violations: readonly string[];
  restore(): void;
}

interface Patch {
  readonly target: object;
  readonly property: string;
  readonly original: PropertyDescriptor | undefined;
}

/** The real setImmediate, captured when this module loads (before any guard is installed). */
export const realSetImmediate: typeof setImmediate = globalThis.setImmediate;

/** Resolves after the microtask queue has drained completely. */
export function drainMicrotasks(): Promise<void> {
  return new Promise((resolve) => realSetImmediate(resolve));
}

let installed = false;

export function installDeterminismGuard(): DeterminismGuard {
  if (installed) throw new Error('a determinism guard is already installed (simulations cannot nest)');
  installed = true;
  const violations: string[] = [];
  const patches: Patch[] = [];
  const forbid = (target: object, property: string, name: string): void => {
    patches.push({ target, property, original: Object.getOwnPropertyDescriptor(target, property) });
    const thrower = function forbidden(): never {
      const where = new Error().stack?.split('\n')[2]?.trim() ?? 'unknown';
      violations.push(`${name} ${where}`);
      throw new Error(`determinism guard: ${name} was called during a simulation (${where}); use the simulated ports`);
    };
    Object.defineProperty(target, property, { value: thrower, configurable: true, writable: true, enumerable: false });
  };
  forbid(globalThis, 'setTimeout', 'setTimeout');
  forbid(globalThis, 'setInterval', 'setInterval');
  forbid(globalThis, 'setImmediate', 'setImmediate');
  forbid(Date, 'now', 'Date.now');
  forbid(Math, 'random', 'Math.random');
  if (typeof performance === 'object' && performance !== null) forbid(performance, 'now', 'performance.now');
  const webCrypto = (globalThis as { crypto?: object }).crypto;
  if (webCrypto !== undefined) {
    forbid(webCrypto, 'getRandomValues', 'crypto.getRandomValues');
    forbid(webCrypto, 'randomUUID', 'crypto.randomUUID');
  }
  const RealDate = Date;
  const GuardedDate = new Proxy(RealDate, {
    construct(target, argumentList: unknown[], newTarget) {
      if (argumentList.length === 0) {
        violations.push('new Date()');
        throw new Error('determinism guard: new Date() reads the wall clock during a simulation; use the Clock port');
      }
      return Reflect.construct(target, argumentList, newTarget) as object;
    },
    apply() {
      violations.push('Date()');
      throw new Error('determinism guard: Date() reads the wall clock during a simulation; use the Clock port');
    },
  });
  patches.push({ target: globalThis, property: 'Date', original: Object.getOwnPropertyDescriptor(globalThis, 'Date') });
  Object.defineProperty(globalThis, 'Date', {
    value: GuardedDate,
    configurable: true,
    writable: true,
    enumerable: false,
  });
  return {
    violations,
    restore() {
      for (const patch of patches.reverse()) {
        if (patch.original === undefined) delete (patch.target as Record<string, unknown>)[patch.property];
        else Object.defineProperty(patch.target, patch.property, patch.original);
      }
      installed = false;
    },
  };
}
