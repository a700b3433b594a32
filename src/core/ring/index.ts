// Why: one entry point for the ring, so the node coordinator, the runtime, clients and the CLI import
// partitioning and placement from a single place and its internals can move freely behind it.
export {
  keyHash,
  ringPosition,
  ringSize,
  ringPositionBits,
  partitionOfPosition,
  type RingPosition,
} from './position.ts';
export {
  createRing,
  claimPartitions,
  memberWeight,
  ringLimits,
  defaultPartitionCount,
  defaultTargetN,
  type Ring,
  type RingMember,
  type ClaimOptions,
  type CreateRingOptions,
} from './ring.ts';
export {
  partitionOf,
  placementOf,
  preferenceList,
  primaryNodes,
  type KeyPlacement,
  type PreferenceEntry,
  type PreferenceOptions,
} from './preference.ts';
export { ringToJSON, ringFromJSON, type RingJSON } from './json.ts';
export {
  randomPosition,
  randomTokens,
  placeByTokens,
  placeByTokensAndPartitions,
  placeByRing,
  rangeAt,
  sharesOf,
  movedShare,
  type Placement,
  type PlacementRange,
  type Shares,
  type StrategyNumber,
  type Token,
} from './strategies.ts';
export { planRing, plannerLimits, type Plan, type PlanOptions, type NodeShare, type Movement } from './planner.ts';
