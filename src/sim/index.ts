// Why: one import path for the simulator (the CLI's `sim` command and test/sim use it).
export { runSimulation, simLimits, type SimReport } from './runner.ts';
export {
  buildConfig,
  reproduceCommand,
  faultKinds,
  defaultOps,
  type FaultKind,
  type Resolver,
  type SimDurability,
  type SimConfig,
  type SimOptions,
  type WorkloadMix,
} from './config.ts';
export { checkHistory, type Verdict } from './checker.ts';
export { History, type ElementWrite, type ReadObservation, type DeleteRecord, type WriteStatus } from './history.ts';
export { parseElements, formatElements } from './elements.ts';
export { SimScheduler, worldOwner, type TaskHandle } from './scheduler.ts';
export { SimClock, SimTimers, ClockSkew, realtimeOriginMs } from './clock.ts';
export { SimNetwork, SimTransport, calmWeather, type NetworkWeather, type NetworkMetrics } from './network.ts';
export {
  SimDisk,
  SimStorage,
  healthyDisk,
  defaultDiskTiming,
  type DiskFaults,
  type DiskMetrics,
  type DiskTiming,
  type TornAppend,
} from './storage.ts';
export { Cluster, md5, type SimNode, type ClusterOptions, type ClientReply } from './cluster.ts';
export { Nemesis, partitionRule, type PartitionShape, type NemesisCounters } from './nemesis.ts';
export { installDeterminismGuard, drainMicrotasks, realSetImmediate, type DeterminismGuard } from './guard.ts';
export { Workload, simBucket } from './workload.ts';
export { measureDissemination, type DisseminationOptions, type DisseminationResult } from './liveness-dissemination.ts';
