// Why: benchmarks start real nodes on fixed ports, one bench after another (redis-compare runs four
// kinds of target in a row; bench:paper runs several benches). A node's port must be free when it
// binds it, also when it binds it again after a restart. Linux gives the local ports of outgoing
// connections from its ephemeral range (32768-60999 by default), so a node listening in that range
// can find its port held by one of the bench's own client sockets: a node then "exits while
// starting" (seen in bench/http-floor.ts on 2026-12-08, whose ports were 38800-38900). Every bench's
// ports sit below that range, and each bench has its own, listed here once so no two overlap.
// (Tests do not use these: they draw ports at random and check them, test/support/free-port.ts.)

/** Bases of a LocalCluster: node i listens on base + i; RESP defaults to http - 8000 + 6380 + i. */
export interface ClusterPortBases {
  readonly peer: number;
  readonly http: number;
  readonly resp?: number;
}

export const benchPorts = Object.freeze({
  /** bench/redis-compare.ts's Everwrite clusters (RESP 26381-26383); its floors use 16480-16492. */
  redisCompare: { peer: 27_000, http: 28_000 },
  /** bench/resp-profile.ts and bench/alloc-per-set.ts (RESP 26481-26483); both run under the shared lock. */
  respProbe: { peer: 27_100, http: 28_100 },
  /** bench/client-routing.ts (RESP 26581-26585). */
  clientRouting: { peer: 27_200, http: 28_200 },
  /** bench/http-floor.ts's cluster, and its bare node:http processes from bareHttp + 1. */
  httpFloor: { peer: 23_800, http: 23_820, resp: 23_840 },
  httpFloorBare: 23_900,
  /** bench/http-profile.ts. */
  httpProfile: { peer: 23_600, http: 23_620, resp: 23_640 },
  /** bench/handoff.bench.ts: peer base + i, HTTP base + 1000 + i, RESP base + 300 + i. */
  handoff: 29_400,
  /** One-node benches (bench/one-node-process.ts uses base + 1..3): bench/million-keys.ts, bench/tree-build-p99.ts. */
  millionKeys: 21_600,
  treeBuildP99: 21_500,
});
