// Why: the ports are the only contracts between the pure core and the world (docs/ARCHITECTURE.md section 2).
// Production plugs in the system clock, TCP and disk; the simulator plugs in virtual ones. Every
// port has an in-memory implementation and a conformance suite in test/conformance/.
import type { NodeId } from '../core/base/ids.ts';

/** Time as the runtime sees it. Only the runtime reads it; the core gets `nowMs` in events. */
export interface Clock {
  /** Milliseconds from an arbitrary origin; never goes backwards. */
  monotonicMs(): number;
  /** Wall-clock milliseconds since the Unix epoch (may jump; used only for lastModified/LWW). */
  realtimeMs(): number;
}

export interface TimerHandle {
  cancel(): void;
}

export interface Timers {
  /** Calls `callback` once after `delayMs` (>= 0). */
  after(delayMs: number, callback: () => void): TimerHandle;
}

/**
 * Best-effort, message-oriented link to the other nodes. Frames may be lost, delayed, duplicated or
 * reordered; the core tolerates all of it. `send` never throws for an unreachable peer: it drops.
 */
export interface Transport {
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Queues `frame` for `target`; frames queued in one event-loop turn go out in one write. */
  send(target: NodeId, frame: Uint8Array): void;
  /** Registers the single receiver of inbound frames (call before start). */
  receive(handler: (from: NodeId, frame: Uint8Array) => void): void;
}

/** What an engine can promise; the runtime adapts (e.g. adds a log when writes are not durable). */
export interface StorageCapabilities {
  /** A batch is applied entirely or not at all, even across a crash. */
  readonly atomicBatch: boolean;
  /** A resolved batch with `durable: true` survives kill -9 and power loss. */
  readonly durableWrites: boolean;
  /** `scan` yields keys in ascending byte order. */
  readonly orderedScan: boolean;
}

export type BatchOperation =
  | { readonly type: 'put'; readonly key: Uint8Array; readonly value: Uint8Array }
  | { readonly type: 'delete'; readonly key: Uint8Array };

export interface ScanOptions {
  /** Inclusive lower bound. */
  readonly start?: Uint8Array;
  /** Exclusive upper bound. */
  readonly end?: Uint8Array;
  /** Most entries to yield. */
  readonly limit?: number;
}

/** A read that answers at once: the key's value in the namespace, or undefined; throws what `get` rejects with. */
export type SyncRead = (namespace: number, key: Uint8Array) => Uint8Array | undefined;

/**
 * Bytes in, bytes out, per namespace. Namespaces 0..65279 are ring partitions; the reserved ones
 * below hold hints and node metadata. The engine never decodes a record.
 */
export interface StorageEngine {
  readonly capabilities: StorageCapabilities;
  open(): Promise<void>;
  close(): Promise<void>;
  get(namespace: number, key: Uint8Array): Promise<Uint8Array | undefined>;
  /**
   * Optional, together with `batchNow`: `get` and `batch` done synchronously, offered only by an
   * engine that holds everything in memory (it has nothing to wait for). The runtime then does a
   * replica's read-modify-write in one synchronous step, with no per-key queue and no promise: on
   * the write path that is measurable (docs/BENCHMARKS.md). Both throw what `get`/`batch` reject with.
   */
  readonly getNow?: SyncRead;
  readonly batchNow?: (namespace: number, operations: readonly BatchOperation[]) => void;
  /**
   * Optional: `get` done synchronously, by an engine whose reads never wait (lmdb reads its memory
   * map; the log over it reads its overlay first). Same answers as `get`, thrown instead of
   * rejected. Reads only: a read-modify-write still goes through `get` and `batch` unless the
   * engine offers `getNow` and `batchNow`. The runtime answers a replica's read in the same
   * dispatch with it, with no promise.
   */
  readonly readNow?: SyncRead | undefined;
  /**
   * Optional: the value the key will hold once every batch already handed to `batch` is applied,
   * read synchronously, whether those batches are acknowledged yet or not. Offered only by an
   * engine that applies batches in the order they were handed over and, when one fails, fails every
   * batch handed over after it (the write-ahead log), so a write built on a value read here is never
   * kept without the write it was built on. The runtime then does a replica's read-modify-write in
   * one synchronous step and waits only for the write's acknowledgement, with no per-key queue
   * (decision 0043). Thrown like `readNow`.
   */
  readonly readLatestNow?: SyncRead | undefined;
  /** Applies all operations of one namespace atomically; resolves once durable if `durable`. */
  batch(
    namespace: number,
    operations: readonly BatchOperation[],
    options: { readonly durable: boolean },
  ): Promise<void>;
  scan(namespace: number, options?: ScanOptions): AsyncIterable<readonly [Uint8Array, Uint8Array]>;
  /** Removes every key of the namespace. */
  drop(namespace: number): Promise<void>;
}

export const reservedNamespaces = Object.freeze({
  /** Hinted-handoff records held for unreachable primaries. */
  hints: 65535,
  /** Node metadata: identity, epoch, bucket properties. */
  metadata: 65534,
  /** First namespace number that is reserved; partitions are below it. */
  firstReserved: 65280,
});
