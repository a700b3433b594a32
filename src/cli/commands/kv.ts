// Why: `everwrite get|put|delete` talk to one node's HTTP API (docs/ARCHITECTURE.md section 4), so an operator
// can read, write and resolve siblings without curl and base64. Each command is an exported
// function taking its arguments and an injected CommandIo and returning the exit code, so tests
// run it in-process against a real server; commander only parses argv into those arguments.
import { readFile } from 'node:fs/promises';
import { InvalidArgumentError } from 'commander';
import type { Command } from 'commander';
import { contextHeaderKey, contextHeaderName } from '../../core/protocol/http-contract.ts';
import { CliFailure, UsageError, exitCodeForHttpStatus, exitCodeOf, exitCodes, messageOf } from '../exit-codes.ts';
import { formatContext, formatFailure, formatServerError, formatSiblings, keyUrl, parsePositiveInteger, parseSiblingsBody, singleValueBody } from '../format.ts';
import { defaultNodeUrl, jsonOption, nodeOption, withCredentials } from '../options.ts';

/** Where commands read and write, and how long they wait; injected so tests capture output. */
export interface CommandIo {
  readonly stdout: { write(chunk: string | Uint8Array): unknown; readonly isTTY?: boolean };
  /** `isTTY` and `columns` as on process.stderr: a terminal gets progress bars (cluster commit --wait, leave --wait). */
  readonly stderr: { write(chunk: string): unknown; readonly isTTY?: boolean; readonly columns?: number };
  /** The whole of standard input (for --file -). */
  readStdin(): Promise<Uint8Array>;
  setExitCode(code: number): void;
  /** Deadline for one HTTP request to the node, in milliseconds. */
  readonly requestTimeoutMs: number;
}

export { defaultNodeUrl };

/** 30 s: longer than any quorum timeout a node applies, short enough that a dead node is reported. */
const requestTimeoutMsDefault = 30_000;

async function readStream(stream: NodeJS.ReadableStream): Promise<Uint8Array> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
  return Buffer.concat(chunks);
}

export const processIo: CommandIo = Object.freeze({
  stdout: process.stdout,
  stderr: process.stderr,
  readStdin: () => readStream(process.stdin),
  setExitCode: (code: number) => {
    process.exitCode = code;
  },
  requestTimeoutMs: requestTimeoutMsDefault,
});

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

export function describeFetchFailure(node: string, error: unknown, timeoutMs: number): string {
  if (error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError')) {
    return `no answer from ${node} within ${timeoutMs} ms`;
  }
  const cause = error instanceof Error && error.cause instanceof Error ? error.cause.message : String(error);
  return `cannot reach ${node}: ${cause}`;
}

export async function request(io: CommandIo, node: string, url: string, init: RequestInit): Promise<Response> {
  try {
    return await fetch(url, { ...withCredentials(init), signal: AbortSignal.timeout(io.requestTimeoutMs) });
  } catch (error) {
    throw new CliFailure(describeFetchFailure(node, error, io.requestTimeoutMs), exitCodes.unavailable);
  }
}

/** Runs a command body: a failure becomes one stderr line and its documented exit code (exit-codes.ts). */
export async function runCommand(io: CommandIo, body: () => Promise<number>): Promise<number> {
  let code: number;
  try {
    code = await body();
  } catch (error) {
    io.stderr.write(formatFailure(messageOf(error)));
    code = exitCodeOf(error);
  }
  io.setExitCode(code);
  return code;
}

/** One stderr line for a node's error answer; returns the exit code its status means. */
export async function reportServerError(io: CommandIo, response: Response): Promise<number> {
  io.stderr.write(formatServerError(response.status, await response.text()));
  return exitCodeForHttpStatus(response.status);
}

function printValue(io: CommandIo, args: GetArguments, response: Response, value: Uint8Array): number {
  const context = response.headers.get(contextHeaderName);
  const contentType = response.headers.get('content-type') ?? 'application/octet-stream';
  if (args.json) {
    io.stdout.write(`${JSON.stringify(singleValueBody(context ?? '', value, contentType, response.headers.get('last-modified')))}\n`);
    return 0;
  }
  // The value goes out byte for byte (so `get > file` round-trips with `put --file`); the context
  // goes to stderr so it never mixes into the value.
  io.stdout.write(value);
  if (io.stdout.isTTY === true && value[value.length - 1] !== 0x0a) io.stdout.write('\n');
  if (context !== null) io.stderr.write(formatContext(context));
  return 0;
}

function printSiblings(io: CommandIo, args: GetArguments, bodyText: string): number {
  const body = parseSiblingsBody(bodyText);
  if (args.json) {
    io.stdout.write(`${JSON.stringify(body)}\n`);
    return 0;
  }
  io.stdout.write(formatSiblings(body));
  io.stderr.write(formatContext(body.context, 'put with this context to resolve the siblings'));
  return 0;
}

/**
 * `everwrite get`: 0 for a value or siblings, 3 for a key absent or deleted (with --json it still
 * prints the one shape, with no siblings and the tombstone's context if any), else exit-codes.ts.
 */
export function runGet(args: GetArguments, io: CommandIo = processIo): Promise<number> {
  return runCommand(io, async () => {
    const url = keyUrl(args.node, args.bucket, args.key, args.r === undefined ? {} : { r: args.r });
    const response = await request(io, args.node, url, { method: 'GET' });
    if (response.status === 200) return printValue(io, args, response, new Uint8Array(await response.arrayBuffer()));
    if (response.status === 300) return printSiblings(io, args, await response.text());
    const tombstoneContext = response.status === 404 ? response.headers.get(contextHeaderName) : null;
    const code = await reportServerError(io, response);
    if (args.json && code === exitCodes.notFound) io.stdout.write(`${JSON.stringify({ context: tombstoneContext ?? '', siblings: [] })}\n`);
    else if (tombstoneContext !== null) io.stderr.write(formatContext(tombstoneContext, 'the key is deleted; put with this context to supersede the delete'));
    return code;
  });
}

async function readValue(args: PutArguments, io: CommandIo): Promise<{ readonly bytes: Uint8Array; readonly contentType: string }> {
  if ((args.value === undefined) === (args.file === undefined)) {
    throw new UsageError('give the value either as an argument or with --file F (--file - reads standard input), not both');
  }
  if (args.value !== undefined) return { bytes: Buffer.from(args.value), contentType: args.contentType ?? 'text/plain; charset=utf-8' };
  const contentType = args.contentType ?? 'application/octet-stream';
  if (args.file === '-') return { bytes: await io.readStdin(), contentType };
  try {
    return { bytes: await readFile(args.file as string), contentType };
  } catch (error) {
    throw new CliFailure(`cannot read ${args.file as string}: ${error instanceof Error ? error.message : String(error)}`);
  }
}

async function reportWritten(io: CommandIo, response: Response, json: boolean): Promise<number> {
  if (response.status !== 204) return reportServerError(io, response);
  const context = response.headers.get(contextHeaderName);
  if (context === null) throw new CliFailure('the node acknowledged the write but sent no context header');
  io.stdout.write(json ? `${JSON.stringify({ context })}\n` : `${context}\n`);
  return 0;
}

/** `everwrite put`: prints the new context; on failure the exit code of exit-codes.ts. */
export function runPut(args: PutArguments, io: CommandIo = processIo): Promise<number> {
  return runCommand(io, async () => {
    const url = keyUrl(args.node, args.bucket, args.key, args.w === undefined ? {} : { w: args.w });
    const value = await readValue(args, io);
    const headers: Record<string, string> = { 'content-type': value.contentType };
    if (args.context !== undefined) headers[contextHeaderKey] = args.context;
    return reportWritten(io, await request(io, args.node, url, { method: 'PUT', headers, body: value.bytes }), args.json === true);
  });
}

/** `everwrite delete`: prints the tombstone's context; on failure the exit code of exit-codes.ts. */
export function runDelete(args: DeleteArguments, io: CommandIo = processIo): Promise<number> {
  return runCommand(io, async () => {
    const url = keyUrl(args.node, args.bucket, args.key, args.w === undefined ? {} : { w: args.w });
    const headers: Record<string, string> = {};
    if (args.context !== undefined) headers[contextHeaderKey] = args.context;
    return reportWritten(io, await request(io, args.node, url, { method: 'DELETE', headers }), args.json === true);
  });
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
  return Object.fromEntries(Object.entries(fields).filter(([, value]) => value !== undefined)) as { [K in keyof T]: Exclude<T[K], undefined> };
}

function withNode(command: Command): Command {
  return command.addOption(nodeOption());
}

/** Adds `get`, `put` and `delete` to the `everwrite` program. `io` is for tests. */
export function registerKvCommands(program: Command, io: CommandIo = processIo): void {
  withNode(program.command('get').description('read a key: its value, or each sibling when writes were concurrent, and its context'))
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
    .option('--content-type <type>', 'default text/plain; charset=utf-8 for a text value, application/octet-stream for --file')
    .option('--context <token>', 'context from an earlier get: this write supersedes what that get returned')
    .option('--w <n>', 'replicas that must acknowledge (overrides the bucket w)', positiveIntegerOption('--w'))
    .addOption(jsonOption('{"context"}'))
    .action(async (bucket: string, key: string, value: string | undefined, options: ParsedOptions) => {
      const { file, contentType, context, w, json } = options;
      await runPut({ bucket, key, node: options.node, ...given({ value, file, contentType, context, w, json }) }, io);
    });
  withNode(program.command('delete').description('delete a key (a tombstone that supersedes what the context covers); prints its context'))
    .argument('<bucket>')
    .argument('<key>')
    .option('--context <token>', 'context from an earlier get: the delete supersedes what that get returned')
    .option('--w <n>', 'replicas that must acknowledge (overrides the bucket w)', positiveIntegerOption('--w'))
    .addOption(jsonOption('{"context"}'))
    .action(async (bucket: string, key: string, options: ParsedOptions) => {
      await runDelete({ bucket, key, node: options.node, ...given({ context: options.context, w: options.w, json: options.json }) }, io);
    });
}
