// Why: the `everwrite` command. It wires subcommands together and applies the conventions every
// command shares (README "Exit codes"): `--version`, one `everwrite: ...` error line on stderr,
// exit code 2 for a wrong command line and the documented codes for everything else.
import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { registerBenchCommand } from './commands/bench.ts';
import { registerChaosCommand } from './commands/chaos.ts';
import { registerClusterCommands } from './commands/cluster.ts';
import { registerClusterRepairCommand } from './commands/cluster-repair.ts';
import { registerDevCommand } from './commands/dev.ts';
import { registerKvCommands } from './commands/kv.ts';
import { registerNodeCommands } from './commands/node.ts';
import { registerRingCommand } from './commands/ring.ts';
import { registerSimCommand } from './commands/sim.ts';
import { exitCodeOf, exitCodes, messageOf } from './exit-codes.ts';
import { formatFailure } from './format.ts';

/** package.json sits two folders up from both src/cli/main.ts and dist/cli/main.js. */
function packageVersion(): string {
  return (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
}

const program = new Command('everwrite')
  .description('An always-writeable, leaderless, replicated key-value store (the Dynamo design)')
  .version(packageVersion(), '-V, --version', 'print the version')
  // Set before the subcommands are made: commander copies both settings into each of them.
  .exitOverride()
  .configureOutput({ outputError: (text, write) => write(formatFailure(text.replace(/^error: /, '').trimEnd())) })
  .showHelpAfterError('(add --help for usage)');
registerNodeCommands(program);
registerDevCommand(program);
registerKvCommands(program);
registerRingCommand(program);
registerClusterRepairCommand(registerClusterCommands(program));
registerChaosCommand(program);
registerSimCommand(program);
registerBenchCommand(program);

try {
  await program.parseAsync(process.argv);
} catch (error) {
  // Commander has already printed its own message (help, version or a usage error).
  if (error instanceof CommanderError) process.exit(error.exitCode === 0 ? exitCodes.ok : exitCodes.usage);
  process.stderr.write(formatFailure(messageOf(error)));
  process.exit(exitCodeOf(error));
}
