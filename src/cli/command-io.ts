// Why: every command that talks to a node runs the same way: it writes through an injected
// CommandIo (so tests capture its output and exit code in-process) and ends with one `everwrite:
// ...` line and a documented exit code on failure (decision 0024). Declared once here for the
// key-value commands (through the client) and the admin commands (through fetch) alike.
import { exitCodeOf, messageOf } from './exit-codes.ts';
import { formatFailure } from './format.ts';

/** Where commands read and write, and how long they wait; injected so tests capture output. */
export interface CommandIo {
  readonly stdout: { write(chunk: string | Uint8Array): unknown; readonly isTTY?: boolean };
  readonly stderr: { write(chunk: string): unknown };
  /** The whole of standard input (for --file -). */
  readStdin(): Promise<Uint8Array>;
  setExitCode(code: number): void;
  /** Deadline for one HTTP request to the node, in milliseconds. */
  readonly requestTimeoutMs: number;
}

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
