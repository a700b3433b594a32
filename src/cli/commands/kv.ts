// Why: `everwrite get|put|delete` talk to one node's HTTP API (docs/ARCHITECTURE.md section 4), so an operator
// can read, write and resolve siblings without curl and base64. They speak it through the
// TypeScript client (node-client.ts), the one holder of the HTTP contract. Each command is an exported
// function taking its arguments and an injected CommandIo and returning the exit code, so tests
// run it in-process against a real server; commander only parses argv into those arguments.
import { readFile } from 'node:fs/promises';
import { InvalidArgumentError } from 'commander';
import type { Command } from 'commander';
import type { ClientGetResult } from '../../client/index.ts';
import { processIo, runCommand, type CommandIo } from '../command-io.ts';
import { CliFailure, UsageError, exitCodes } from '../exit-codes.ts';
import { formatContext, formatFailure, formatSiblings, parsePositiveInteger, siblingsBodyOf } from '../format.ts';
import { jsonOption, nodeOption } from '../options.ts';
import { withNodeClient } from '../node-client.ts';

export interface GetArguments {
  readonly bucket: string;
  readonly key: string;
  readonly node: string;
  /** Print the one {context, siblings} JSON document (value base64) instead of the value. */
  readonly json: boolean;
  readonly r?: number;
}

export interface PutArguments {
  readonly bucket: string;
  readonly key: string;
  readonly node: string;
  /** The value as text; exactly one of `value` and `file` is given. */
  readonly value?: string;
  /** A file holding the value, "-" for standard input. */
  readonly file?: string;
  /** Default: text/plain; charset=utf-8 for a literal value, application/octet-stream for a file. */
  readonly contentType?: string;
  readonly context?: string;
  readonly w?: number;
  /** Print {"context"} as JSON instead of the bare context. */
  readonly json?: boolean;
}

export interface DeleteArguments {
  readonly bucket: string;
  readonly key: string;
  readonly node: string;
  readonly context?: string;
  readonly w?: number;
  /** Print {"context"} as JSON instead of the bare context. */
  readonly json?: boolean;
}

/** The one sibling of a 200: printed byte for byte, or as the 300 shape with --json. */
function printValue(io: CommandIo, json: boolean, result: ClientGetResult): number {
  if (json) {
    io.stdout.write(`${JSON.stringify(siblingsBodyOf(result))}\n`);
    return exitCodes.ok;
  }
  // The value goes out byte for byte (so `get > file` round-trips with `put --file`); the context
  // goes to stderr so it never mixes into the value.
  const value = result.siblings[0]!.value;
  io.stdout.write(value);
  if (io.stdout.isTTY === true && value[value.length - 1] !== 0x0a) io.stdout.write('\n');
  io.stderr.write(formatContext(result.context));
  return exitCodes.ok;
}

function printSiblings(io: CommandIo, json: boolean, result: ClientGetResult): number {
  const body = siblingsBodyOf(result);
  if (json) {
    io.stdout.write(`${JSON.stringify(body)}\n`);
    return exitCodes.ok;
  }
  io.stdout.write(formatSiblings(body));
  io.stderr.write(formatContext(body.context, 'put with this context to resolve the siblings'));
  return exitCodes.ok;
}

/** A key absent or deleted: the node's 404 line, and the tombstone's context when one is held. */
function reportAbsent(io: CommandIo, json: boolean, result: ClientGetResult): number {
  io.stderr.write(formatFailure(`${result.reason ?? 'key not found'} [EVERWRITE_NOT_FOUND, HTTP 404]`));
  if (json) io.stdout.write(`${JSON.stringify(siblingsBodyOf(result))}\n`);
  else if (result.context !== '')
    io.stderr.write(formatContext(result.context, 'the key is deleted; put with this context to supersede the delete'));
  return exitCodes.notFound;
}

/** With --json, a 404 of any kind still prints the one shape, empty, before its error line. */
function printEmptyIfNotFound(io: CommandIo, json: boolean, failure: unknown): void {
  if (json && failure instanceof CliFailure && failure.exitCode === exitCodes.notFound)
    io.stdout.write(`${JSON.stringify({ context: '', siblings: [] })}\n`);
}

/**
 * `everwrite get`: 0 for a value or siblings, 3 for a key absent or deleted (with --json it still
 * prints the one shape, with no siblings and the tombstone's context if any), else exit-codes.ts.
 */
export function runGet(args: GetArguments, io: CommandIo = processIo): Promise<number> {
  return runCommand(io, async () => {
    let result: ClientGetResult;
    try {
      result = await withNodeClient(args.node, io.requestTimeoutMs, (client) =>
        client.get(args.bucket, args.key, args.r === undefined ? {} : { r: args.r }),
      );
    } catch (failure) {
      printEmptyIfNotFound(io, args.json, failure);
      throw failure;
    }
    if (!result.found) return reportAbsent(io, args.json, result);
    return result.siblings.length > 1 ? printSiblings(io, args.json, result) : printValue(io, args.json, result);
  });
}

async function readValue(
  args: PutArguments,
  io: CommandIo,
): Promise<{ readonly bytes: Uint8Array; readonly contentType: string }> {
  if ((args.value === undefined) === (args.file === undefined)) {
    throw new UsageError(
      'give the value either as an argument or with --file F (--file - reads standard input), not both',
    );
  }
  if (args.value !== undefined)
    return { bytes: Buffer.from(args.value), contentType: args.contentType ?? 'text/plain; charset=utf-8' };
  const contentType = args.contentType ?? 'application/octet-stream';
  if (args.file === '-') return { bytes: await io.readStdin(), contentType };
  try {
    return { bytes: await readFile(args.file as string), contentType };
  } catch (error) {
    throw new CliFailure(
      `cannot read ${args.file as string}: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
}

function printWritten(io: CommandIo, written: { readonly context: string }, json: boolean): number {
  io.stdout.write(json ? `${JSON.stringify({ context: written.context })}\n` : `${written.context}\n`);
  return exitCodes.ok;
}

/** The write options given on the command line, absent ones left out. */
function writeOptions(args: { readonly context?: string; readonly w?: number }): {
  readonly context?: string;
  readonly w?: number;
} {
  return {
    ...(args.context === undefined ? {} : { context: args.context }),
    ...(args.w === undefined ? {} : { w: args.w }),
  };
}

/** `everwrite put`: prints the new context; on failure the exit code of exit-codes.ts. */
export function runPut(args: PutArguments, io: CommandIo = processIo): Promise<number> {
  return runCommand(io, () =>
    withNodeClient(args.node, io.requestTimeoutMs, async (client) => {
      const value = await readValue(args, io);
      return printWritten(
        io,
        await client.put(args.bucket, args.key, value.bytes, { contentType: value.contentType, ...writeOptions(args) }),
        args.json === true,
      );
    }),
  );
}

/** `everwrite delete`: prints the tombstone's context; on failure the exit code of exit-codes.ts. */
export function runDelete(args: DeleteArguments, io: CommandIo = processIo): Promise<number> {
  return runCommand(io, () =>
    withNodeClient(args.node, io.requestTimeoutMs, async (client) =>
      printWritten(io, await client.delete(args.bucket, args.key, writeOptions(args)), args.json === true),
    ),
  );
}

function positiveIntegerOption(option: string): (text: string) => number {
  return (text) => {
    try {
      return parsePositiveInteger(text, option);
    } catch (error) {
      throw new InvalidArgumentError((error as Error).message);
    }
  };
}

interface ParsedOptions {
  readonly node: string;
  readonly json?: boolean;
  readonly r?: number;
  readonly w?: number;
  readonly file?: string;
  readonly contentType?: string;
  readonly context?: string;
}

/** Keeps only the options that were given, so absent ones stay absent (exactOptionalPropertyTypes). */
function given<T extends object>(fields: T): { [K in keyof T]: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(fields).filter(([, value]) => value !== undefined)) as {
    [K in keyof T]: Exclude<T[K], undefined>;
  };
}

function withNode(command: Command): Command {
  return command.addOption(nodeOption());
}

/** Adds `get`, `put` and `delete` to the `everwrite` program. `io` is for tests. */
export function registerKvCommands(program: Command, io: CommandIo = processIo): void {
  withNode(
    program
      .command('get')
      .description('read a key: its value, or each sibling when writes were concurrent, and its context'),
  )
    .argument('<bucket>')
    .argument('<key>')
    .addOption(jsonOption('{"context", "siblings"} (values in base64; no siblings when the key is absent or deleted)'))
    .option('--r <n>', 'replicas that must answer (overrides the bucket r)', positiveIntegerOption('--r'))
    .action(async (bucket: string, key: string, options: ParsedOptions) => {
      await runGet({ bucket, key, node: options.node, json: options.json === true, ...given({ r: options.r }) }, io);
    });
  withNode(program.command('put').description('write a value; prints the new context'))
    .argument('<bucket>')
    .argument('<key>')
    .argument('[value]', 'the value as text (or use --file)')
    .option('--file <path>', 'read the value from a file, - for standard input')
    .option(
      '--content-type <type>',
      'default text/plain; charset=utf-8 for a text value, application/octet-stream for --file',
    )
    .option('--context <token>', 'context from an earlier get: this write supersedes what that get returned')
    .option('--w <n>', 'replicas that must acknowledge (overrides the bucket w)', positiveIntegerOption('--w'))
    .addOption(jsonOption('{"context"}'))
    .action(async (bucket: string, key: string, value: string | undefined, options: ParsedOptions) => {
      const { file, contentType, context, w, json } = options;
      await runPut({ bucket, key, node: options.node, ...given({ value, file, contentType, context, w, json }) }, io);
    });
  withNode(
    program
      .command('delete')
      .description('delete a key (a tombstone that supersedes what the context covers); prints its context'),
  )
    .argument('<bucket>')
    .argument('<key>')
    .option('--context <token>', 'context from an earlier get: the delete supersedes what that get returned')
    .option('--w <n>', 'replicas that must acknowledge (overrides the bucket w)', positiveIntegerOption('--w'))
    .addOption(jsonOption('{"context"}'))
    .action(async (bucket: string, key: string, options: ParsedOptions) => {
      await runDelete(
        { bucket, key, node: options.node, ...given({ context: options.context, w: options.w, json: options.json }) },
        io,
      );
    });
}
