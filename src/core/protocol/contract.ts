// Why: the parts of the external contract every layer names (a bucket's properties with its
// conflict resolver and durability, a request's overrides of them) are declared once, here in the
// pure core, so the runtime, the front ends, the simulator, the benchmarks and the client use the
// same types and the same lists of allowed values, and a new choice has one place to be added.

/** How concurrent versions of a key are kept: all as siblings, or the last writer's alone. */
export type Resolver = 'siblings' | 'lww';
export const resolvers: readonly Resolver[] = Object.freeze(['siblings', 'lww'] as const);

/** When a replica acknowledges a write: after its fsync, or once it is in the write-ahead log's buffer. */
export type Durability = 'durable' | 'buffered';
export const durabilities: readonly Durability[] = Object.freeze(['durable', 'buffered'] as const);

/** Per-bucket properties, stored in the cluster. R, W <= N. */
export interface BucketProps {
  readonly n: number;
  readonly r: number;
  readonly w: number;
  readonly resolver: Resolver;
  readonly durability: Durability;
}

/** Per-request overrides of the bucket's properties. */
export interface RequestOptions {
  readonly r?: number;
  readonly w?: number;
  readonly timeoutMs?: number;
}
