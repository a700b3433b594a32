// Why: the `everwrite` command. It wires subcommands together and applies the conventions every
// command shares (README "The command line"): `--version`, one `everwrite: ...` error line on
// stderr, exit code 2 for a wrong command line and the documented codes for everything else. It
// loads only the module of the command asked for (all of them for help or an unknown command), so
// `everwrite get` does not pay for the simulator's or the benchmark's start-up.
import { readFileSync } from 'node:fs';
import { Command, CommanderError, Option } from 'commander';
import { exitCodeOf, exitCodes, messageOf } from './exit-codes.ts';
import { formatFailure } from './format.ts';
import { caFileEnvironmentVariable, trustCaFile } from './tls-trust.ts';

type Registrar = (program: Command) => Promise<void>;

const registerKv: Registrar = async (program) => (await import('./commands/kv.ts')).registerKvCommands(program);

/** Each command's registrar, in the order `everwrite --help` lists them. */
const registrars: ReadonlyMap<string, Registrar> = new Map<string, Registrar>([
  ['start', async (program) => (await import('./commands/node.ts')).registerNodeCommands(program)],
  ['dev', async (program) => (await import('./commands/dev.ts')).registerDevCommand(program)],
  ['get', registerKv],
  ['put', registerKv],
  ['delete', registerKv],
  ['keys', async (program) => (await import('./commands/keys.ts')).registerKeysCommand(program)],
  ['ring', async (program) => (await import('./commands/ring.ts')).registerRingCommand(program)],
  [
    'cluster',
    async (program) => {
      const [{ registerClusterCommands }, { registerClusterRepairCommand }, { registerClusterMembershipCommands }] =
        await Promise.all([
          import('./commands/cluster.ts'),
          import('./commands/cluster-repair.ts'),
          import('./commands/cluster-membership.ts'),
        ]);
      const cluster = registerClusterCommands(program);
      registerClusterRepairCommand(cluster);
      registerClusterMembershipCommands(cluster);
    },
  ],
  ['user', async (program) => (await import('./commands/user.ts')).registerUserCommands(program)],
  ['chaos', async (program) => (await import('./commands/chaos.ts')).registerChaosCommand(program)],
  ['sim', async (program) => (await import('./commands/sim.ts')).registerSimCommand(program)],
  ['bench', async (program) => (await import('./commands/bench.ts')).registerBenchCommand(program)],
]);

/** The registrars a command line needs: none for the version, its command's, or every one (once each) when it names none we know. */
function registrarsFor(argv: readonly string[]): Registrar[] {
  const command = argv.slice(2).find((argument) => !argument.startsWith('-'));
  if (command === undefined && argv.slice(2).some((argument) => argument === '-V' || argument === '--version'))
    return [];
  const only = command === undefined ? undefined : registrars.get(command);
  return only === undefined ? [...new Set(registrars.values())] : [only];
}

/** package.json sits two folders up from both src/cli/main.ts and dist/cli/main.js. */
function packageVersion(): string {
  return (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string })
    .version;
}

const program = new Command('everwrite')
  .description('An always-writeable, leaderless, replicated key-value store (the Dynamo design)')
  .version(packageVersion(), '-V, --version', 'print the version')
  // Set before the subcommands are made: commander copies both settings into each of them.
  .exitOverride()
  .configureOutput({ outputError: (text, write) => write(formatFailure(text.replace(/^error: /, '').trimEnd())) })
  .showHelpAfterError('(add --help for usage)')
  .addOption(
    new Option(
      '--ca <file>',
      "CA certificate (PEM) to trust for https:// nodes, besides the system's roots (docs/SECURITY.md)",
    ).env(caFileEnvironmentVariable),
  )
  .hook('preAction', async () => {
    const caFile = program.opts<{ ca?: string }>().ca;
    if (caFile !== undefined) await trustCaFile(caFile);
  });

try {
  for (const register of registrarsFor(process.argv)) await register(program);
  await program.parseAsync(process.argv);
} catch (error) {
  // Commander has already printed its own message (help, version or a usage error).
  if (error instanceof CommanderError) process.exit(error.exitCode === 0 ? exitCodes.ok : exitCodes.usage);
  process.stderr.write(formatFailure(messageOf(error)));
  process.exit(exitCodeOf(error));
}
