// Why: the process guard must hold in the real `everwrite start` process, not just in a unit test
// with a fake `process`. This runs the CLI's own start command in this process, then injects the
// failures a node's background work can meet when told on stdin: "timer" (a timer callback throws),
// "rejection" (a promise rejects with nobody awaiting it), "invariant" (a broken invariant, thrown
// from a timer). Not a test file itself; test/integration/background-errors.test.ts spawns it.
import { createInterface } from 'node:readline';
import { Command } from 'commander';
import { AssertionFailure } from '../../src/core/base/assert.ts';
import { registerNodeCommands } from '../../src/cli/commands/node.ts';

const program = new Command('everwrite');
registerNodeCommands(program);
await program.parseAsync(process.argv);

createInterface({ input: process.stdin }).on('line', (line) => {
  if (line === 'timer') {
    setTimeout(() => {
      throw new Error('injected: a timer task failed');
    }, 0);
  } else if (line === 'rejection') {
    void Promise.reject(new Error('injected: a promise nobody awaited was rejected'));
  } else if (line === 'invariant') {
    setTimeout(() => {
      throw new AssertionFailure('injected: a broken invariant');
    }, 0);
  }
  console.log(`injected ${line}`);
});
