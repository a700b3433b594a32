// Why: `everwrite keys <bucket>` lists a bucket's keys (decision 0030) for operators and scripts:
// one key per line, or with --json the node's newline-delimited pages and its last line. It reads
// GET /buckets/{b}/keys?keys=stream as it arrives and writes as stdout takes it, so a listing of any
// size never sits in memory. A listing is long, so the deadline is on silence (no byte from the node
// for requestTimeoutMs), not on the whole. Exit codes follow decision 0024: 0 complete, 4 when
// partitions were missing or the node stopped answering, 2 for a wrong command line.
import type { Command } from 'commander';
import { CliFailure, exitCodes } from '../exit-codes.ts';
import { parseNodeUrl } from '../format.ts';
import { jsonOption, nodeOption, withCredentials } from '../options.ts';
import { processIo, runCommand, type CommandIo } from '../command-io.ts';
import { describeFetchFailure, reportServerError } from '../node-fetch.ts';

export interface KeysArguments {
  readonly bucket: string;
  readonly node: string;
  /** Print the node's pages and last line as newline-delimited JSON instead of one key per line. */
  readonly json: boolean;
}

/** The stream URL of a bucket's keys on a node. */
export function keysUrl(node: string, bucket: string): string {
  const base = parseNodeUrl(node);
  const prefix = base.pathname.endsWith('/') ? base.pathname.slice(0, -1) : base.pathname;
  base.pathname = `${prefix}/buckets/${encodeURIComponent(bucket)}/keys`;
  base.search = '?keys=stream';
  return base.toString();
}

/** The last line of a stream: done, and a partial marker or an error when the listing is not whole. */
interface LastLine {
  readonly done: true;
  readonly partial?: { readonly code: string; readonly message: string } | null;
  readonly error?: { readonly code: string; readonly message: string };
}

/** Writes to stdout, waiting when it is full (a pipe to a slow reader), so nothing piles up here. */
async function writeOut(io: CommandIo, text: string): Promise<void> {
  const stdout = io.stdout as CommandIo['stdout'] & { once?: (event: 'drain', listener: () => void) => unknown };
  if (stdout.write(text) === false && stdout.once !== undefined)
    await new Promise<void>((resolve) => stdout.once?.('drain', resolve));
}

/** Reads the body line by line, re-arming the silence deadline on every chunk. */
async function* bodyLines(body: ReadableStream<Uint8Array>, rearm: () => void): AsyncGenerator<string> {
  const decoder = new TextDecoder();
  let pending = '';
  for await (const chunk of body) {
    rearm();
    pending += decoder.decode(chunk, { stream: true });
    const lines = pending.split('\n');
    pending = lines.pop() as string;
    yield* lines;
  }
  if (pending !== '') yield pending;
}

function parseLine(line: string): { keys?: string[]; done?: boolean } {
  try {
    return JSON.parse(line) as { keys?: string[]; done?: boolean };
  } catch {
    throw new CliFailure(`the node sent a listing line that is not JSON: ${line.slice(0, 80)}`);
  }
}

/** Prints each page's keys (or the line itself with --json); answers the last line, or undefined when the stream was cut. */
async function printLines(
  io: CommandIo,
  args: KeysArguments,
  lines: AsyncIterable<string>,
): Promise<LastLine | undefined> {
  for await (const line of lines) {
    if (line === '') continue;
    const parsed = parseLine(line);
    if (args.json) await writeOut(io, `${line}\n`);
    if (parsed.done === true) return parsed as LastLine;
    if (!args.json) for (const key of parsed.keys ?? []) await writeOut(io, `${key}\n`);
  }
  return undefined;
}

/** The exit code the last line means, its failure reported on stderr. */
function outcomeOf(io: CommandIo, node: string, last: LastLine | undefined): number {
  if (last === undefined)
    throw new CliFailure(
      `the listing from ${node} was cut before its end; the keys printed are not all of them`,
      exitCodes.unavailable,
    );
  const failure = last.error ?? last.partial ?? undefined;
  if (failure === undefined || failure === null) return exitCodes.ok;
  io.stderr.write(`everwrite: ${failure.message} [${failure.code}]\n`);
  return exitCodes.unavailable;
}

/** `everwrite keys`: prints the bucket's keys; exit 0 when the listing is complete. */
export function runKeys(args: KeysArguments, io: CommandIo = processIo): Promise<number> {
  return runCommand(io, async () => {
    const url = keysUrl(args.node, args.bucket);
    const abort = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    const rearm = (): void => {
      clearTimeout(timer);
      timer = setTimeout(() => abort.abort(new DOMException('silent', 'TimeoutError')), io.requestTimeoutMs);
    };
    rearm();
    try {
      const response = await fetch(url, withCredentials({ signal: abort.signal }));
      if (response.status !== 200 || response.body === null) return await reportServerError(io, response);
      return outcomeOf(io, args.node, await printLines(io, args, bodyLines(response.body, rearm)));
    } catch (error) {
      if (error instanceof CliFailure) throw error;
      throw new CliFailure(
        describeFetchFailure(args.node, abort.signal.aborted ? abort.signal.reason : error, io.requestTimeoutMs),
        exitCodes.unavailable,
      );
    } finally {
      clearTimeout(timer);
    }
  });
}

/** Adds `keys` to the `everwrite` program. `io` is for tests. */
export function registerKeysCommand(program: Command, io: CommandIo = processIo): void {
  program
    .command('keys')
    .description(
      "list a bucket's keys over every partition (expensive: for operators and batch jobs, not a request path)",
    )
    .argument('<bucket>')
    .addOption(nodeOption())
    .addOption(jsonOption('the node\'s stream: {"keys": [...]} per page, then {"done": true, "partial": null | {...}}'))
    .action(async (bucket: string, options: { readonly node: string; readonly json?: boolean }) => {
      await runKeys({ bucket, node: options.node, json: options.json === true }, io);
    });
}
