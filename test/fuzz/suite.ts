// Why: each fuzz test file runs its targets the same way: every crafted case (refused in time,
// without allocating what it announces), then a bounded, seeded property run over the generator.
import { test } from 'node:test';
import fc from 'fast-check';
import { propertyOptions } from '../support/property.ts';
import {
  casePredicate,
  caseMsMax,
  craftedAllocationBytesMax,
  describeError,
  type FuzzTarget,
  runCrafted,
} from './harness.ts';

export function fuzzTargetTests<Input>(target: FuzzTarget<Input>): void {
  test(`${target.name}: crafted hostile inputs are handled in under ${caseMsMax} ms without allocating what they announce`, async () => {
    const problems: string[] = [];
    for (const crafted of target.crafted) {
      const outcome = await runCrafted(target, crafted.input);
      if (outcome.crash !== undefined) problems.push(`${crafted.name}: ${describeError(outcome.crash)}`);
      if (outcome.allocatedBytes > craftedAllocationBytesMax)
        problems.push(`${crafted.name}: memory grew by ${outcome.allocatedBytes} bytes`);
    }
    if (problems.length > 0) throw new Error(problems.join('\n'));
  });

  test(`${target.name}: ${target.ciRuns} generated inputs: only documented refusals, valid inputs round-trip, none over ${caseMsMax} ms`, async () => {
    await fc.assert(fc.asyncProperty(target.arbitrary, casePredicate(target)), { ...propertyOptions(target.ciRuns) });
  });
}
