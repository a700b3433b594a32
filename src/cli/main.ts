// Why: the `everwrite` command. It wires the shells together; nothing imports it.
import { Command } from 'commander';

const program = new Command('everwrite').description('An always-writeable, leaderless, replicated key-value store (Dynamo design)');
program.command('dev').description('run a local cluster').action(() => {
  console.log('everwrite dev: the local cluster arrives with the cluster milestone (issue 3).');
});
await program.parseAsync(process.argv);
