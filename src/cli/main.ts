// Why: the `everwrite` command. It only wires subcommands together; nothing imports it.
import { Command } from 'commander';
import { registerBenchCommand } from './commands/bench.ts';
import { registerChaosCommand } from './commands/chaos.ts';
import { registerClusterCommands } from './commands/cluster.ts';
import { registerClusterRepairCommand } from './commands/cluster-repair.ts';
import { registerClusterMembershipCommands } from './commands/cluster-membership.ts';
import { registerKvCommands } from './commands/kv.ts';
import { registerNodeCommands } from './commands/node.ts';
import { registerRingCommand } from './commands/ring.ts';
import { registerSimCommand } from './commands/sim.ts';

const program = new Command('everwrite').description('An always-writeable, leaderless, replicated key-value store (the Dynamo design)');
registerNodeCommands(program);
registerKvCommands(program);
registerRingCommand(program);
const cluster = registerClusterCommands(program);
registerClusterRepairCommand(cluster);
registerClusterMembershipCommands(cluster);
registerChaosCommand(program);
registerSimCommand(program);
registerBenchCommand(program);

try {
  await program.parseAsync(process.argv);
} catch (error) {
  console.error(`everwrite: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
}
