// Why: the production Clock and Timers ports: the system's monotonic and wall clocks, Node's timers.
import { performance } from 'node:perf_hooks';
import type { Clock, TimerHandle, Timers } from '../runtime/ports.ts';

export const systemClock: Clock = {
  monotonicMs: () => performance.now(),
  realtimeMs: () => Date.now(),
};

export const systemTimers: Timers = {
  after(delayMs: number, callback: () => void): TimerHandle {
    const handle = setTimeout(callback, delayMs);
    handle.unref();
    return { cancel: () => clearTimeout(handle) };
  },
};
