// Why: `everwrite user add|remove|list` manage the cluster's users (decision 0025) through any
// node's /admin/users, with the conventions of the other commands (decision 0024: --node, --json,
// exit codes, one error line). A password is read from standard input (--password-stdin) or an
// interactive prompt that does not echo, never from the command line, where `ps` and shell history
// would keep it; the CLI's own credentials come from EVERWRITE_USER / EVERWRITE_PASSWORD /
// EVERWRITE_TOKEN (options.ts).
import { createInterface } from 'node:readline';
import { Writable } from 'node:stream';
import { InvalidArgumentError, type Command } from 'commander';
import { parseNodeUrl } from '../format.ts';
import { UsageError } from '../exit-codes.ts';
import { jsonOption, nodeOption } from '../options.ts';
import { processIo, runCommand, type CommandIo } from '../command-io.ts';
import { reportServerError, request } from '../node-fetch.ts';

const roleNames = ['read', 'write', 'admin'] as const;

export interface UserAddArguments {
  readonly name: string;
  readonly node: string;
  readonly roles: readonly string[];
  readonly bucket?: string;
  /** Read the password from standard input (up to the first newline). */
  readonly passwordStdin: boolean;
  /** Ask the node for a bearer token, printed once. */
  readonly token: boolean;
  readonly json: boolean;
}

/**
 * Asks for a password on the terminal without echoing it. The interface (which turns the terminal's
 * echo off) is made before the question shows, so a password typed or pasted the moment the
 * question appears is not echoed by the terminal either.
 */
function promptPassword(question: string): Promise<string> {
  const muted = new Writable({ write: (_chunk, _encoding, done) => done() });
  const lines = createInterface({ input: process.stdin, output: muted, terminal: true });
  process.stderr.write(question);
  return new Promise((resolve) => {
    lines.question('', (answer) => {
      lines.close();
      process.stderr.write('\n');
      resolve(answer);
    });
  });
}

async function readPassword(args: UserAddArguments, io: CommandIo): Promise<string | undefined> {
  if (args.passwordStdin) return new TextDecoder().decode(await io.readStdin()).split(/\r?\n/)[0] ?? '';
  if (args.token) return undefined;
  if (process.stdin.isTTY !== true)
    throw new UsageError(
      'no password: give --password-stdin (and the password on standard input), run in a terminal to be asked, or use --token',
    );
  return promptPassword(`password for ${args.name}: `);
}

function userUrl(node: string, name?: string): string {
  return new URL(name === undefined ? '/admin/users' : `/admin/users/${encodeURIComponent(name)}`, parseNodeUrl(node))
    .href;
}

export function runUserAdd(args: UserAddArguments, io: CommandIo = processIo): Promise<number> {
  return runCommand(io, async () => {
    const password = await readPassword(args, io);
    const body = {
      roles: args.roles,
      ...(args.bucket === undefined ? {} : { bucket: args.bucket }),
      ...(password === undefined ? {} : { password }),
      ...(args.token ? { token: true } : {}),
    };
    const response = await request(io, args.node, userUrl(args.node, args.name), {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    if (!response.ok) return reportServerError(io, response);
    const user = (await response.json()) as {
      name: string;
      roles: string[];
      bucket: string | null;
      tokenValue?: string;
    };
    if (args.json) io.stdout.write(`${JSON.stringify(user)}\n`);
    else {
      io.stdout.write(`user ${user.name}: ${user.roles.join(',')} on ${user.bucket ?? 'every bucket'}\n`);
      if (user.tokenValue !== undefined) io.stdout.write(`token (shown once): ${user.tokenValue}\n`);
    }
    return 0;
  });
}

export function runUserRemove(
  args: { readonly name: string; readonly node: string; readonly json: boolean },
  io: CommandIo = processIo,
): Promise<number> {
  return runCommand(io, async () => {
    const response = await request(io, args.node, userUrl(args.node, args.name), { method: 'DELETE' });
    if (!response.ok) return reportServerError(io, response);
    io.stdout.write(args.json ? `${JSON.stringify(await response.json())}\n` : `removed user ${args.name}\n`);
    return 0;
  });
}

export function runUserList(
  args: { readonly node: string; readonly json: boolean },
  io: CommandIo = processIo,
): Promise<number> {
  return runCommand(io, async () => {
    const response = await request(io, args.node, userUrl(args.node), { method: 'GET' });
    if (!response.ok) return reportServerError(io, response);
    const text = await response.text();
    if (args.json) {
      io.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
      return 0;
    }
    const { users } = JSON.parse(text) as {
      users: Array<{ name: string; roles: string[]; bucket: string | null; token: boolean }>;
    };
    for (const user of users)
      io.stdout.write(`${user.name}\t${user.roles.join(',')}\t${user.bucket ?? '*'}${user.token ? '\ttoken' : ''}\n`);
    return 0;
  });
}

function parseRoles(text: string): string[] {
  const roles = text.split(',').map((role) => role.trim());
  for (const role of roles)
    if (!(roleNames as readonly string[]).includes(role))
      throw new InvalidArgumentError(`unknown role ${JSON.stringify(role)}; roles: ${roleNames.join(', ')}`);
  return roles;
}

interface UserFlags {
  readonly node: string;
  readonly json?: boolean;
  readonly role?: string[];
  readonly bucket?: string;
  readonly passwordStdin?: boolean;
  readonly token?: boolean;
}

/** Adds `user add|remove|list` to the `everwrite` program. `io` is for tests. */
export function registerUserCommands(program: Command, io: CommandIo = processIo): void {
  const user = program
    .command('user')
    .description(
      "manage the cluster's users and roles (docs/SECURITY.md); credentials from EVERWRITE_USER/EVERWRITE_PASSWORD or EVERWRITE_TOKEN",
    );
  user
    .command('add')
    .description('add or replace a user; the password comes from --password-stdin or a prompt, never the command line')
    .argument('<name>')
    .requiredOption('--role <roles>', `comma-separated roles: ${roleNames.join(', ')}`, parseRoles)
    .option('--bucket <bucket>', 'the one bucket read and write apply to (default: every bucket)')
    .option('--password-stdin', 'read the password from standard input')
    .option('--token', 'also create a bearer token, printed once')
    .addOption(nodeOption())
    .addOption(jsonOption('the user (and its token)'))
    .action(async (name: string, flags: UserFlags) => {
      await runUserAdd(
        {
          name,
          node: flags.node,
          roles: flags.role ?? [],
          ...(flags.bucket === undefined ? {} : { bucket: flags.bucket }),
          passwordStdin: flags.passwordStdin === true,
          token: flags.token === true,
          json: flags.json === true,
        },
        io,
      );
    });
  user
    .command('remove')
    .description('remove a user cluster-wide')
    .argument('<name>')
    .addOption(nodeOption())
    .addOption(jsonOption('{"removed"}'))
    .action(async (name: string, flags: UserFlags) => {
      await runUserRemove({ name, node: flags.node, json: flags.json === true }, io);
    });
  user
    .command('list')
    .description('list users, their roles and buckets (never a password or token hash)')
    .addOption(nodeOption())
    .addOption(jsonOption('{"users": [...]}'))
    .action(async (flags: UserFlags) => {
      await runUserList({ node: flags.node, json: flags.json === true }, io);
    });
}
