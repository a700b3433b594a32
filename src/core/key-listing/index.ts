// Why: one entry point for key listing's pure parts (coverage plan, what is listed, page bounds), as ring/ has one.
export { planCoverage, type CoveragePlan, type CoveragePlanInput } from './coverage-plan.ts';
export { isListable, keyListLimits } from './listing.ts';
