// Why: one import for the membership liveness module (SWIM failure detection, decision 0014).
export {
  isValidIncarnation,
  isValidUpdate,
  livenessLimits,
  livenessStates,
  retransmitCount,
  supersedes,
  type LivenessState,
} from './liveness.ts';
export { Swim, type MemberLiveness, type SwimCounters, type SwimOutput, type SwimSettings } from './swim.ts';
