// Why: the Redis front end's request parser (src/api/resp/parser.ts) reads whatever a client sends,
// in whatever pieces TCP delivers. It may only refuse with RespProtocolError (the connection answers
// it and closes), must hand out exactly the commands that were sent whatever the chunking, and must
// never hold more than its limits allow while it waits for the rest of a command.
import fc from 'fast-check';
import { RespProtocolError, RespRequestParser, type RespParserLimits } from '../../../src/api/resp/parser.ts';
import { type FuzzTarget, violation } from '../harness.ts';
import { chunked, hexPreview, mutatedBytes } from '../mutate.ts';

/** Small limits, so generated input reaches every one of them. */
const limits: RespParserLimits = {
  argumentBytesMax: 48,
  commandBytesMax: 96,
  argumentsCountMax: 6,
  inlineBytesMax: 64,
};
/** Most the parser may hold once every complete command is out: a partial bulk string and a header, or an inline line. */
const heldBytesMax = limits.argumentBytesMax + 2 + 32 + 2 + limits.inlineBytesMax;

interface RespInput {
  readonly stream: Uint8Array;
  readonly cuts: number[];
  /** The commands the stream holds, when it is valid. */
  readonly commands: Uint8Array[][] | undefined;
}

const argument = fc.uint8Array({ maxLength: 16 });
const word = fc.stringMatching(/^[A-Za-z0-9]{1,10}$/).map((text) => Uint8Array.from(Buffer.from(text)));

function multibulk(command: readonly Uint8Array[]): Buffer {
  return Buffer.concat([
    Buffer.from(`*${command.length}\r\n`),
    ...command.flatMap((item) => [Buffer.from(`$${item.length}\r\n`), Buffer.from(item), Buffer.from('\r\n')]),
  ]);
}

function inline(command: readonly Uint8Array[]): Buffer {
  return Buffer.concat([
    Buffer.from(command.map((item) => Buffer.from(item).toString('latin1')).join(' '), 'latin1'),
    Buffer.from('\r\n'),
  ]);
}

const command = fc.oneof(
  fc.array(argument, { minLength: 1, maxLength: 5 }).map((items) => ({ items, bytes: multibulk(items) })),
  fc.array(word, { minLength: 1, maxLength: 5 }).map((items) => ({ items, bytes: inline(items) })),
);

const validStream = fc.array(command, { maxLength: 4 });

function parseAll(stream: Uint8Array, cuts: readonly number[]): { commands: Uint8Array[][]; failed: boolean } {
  const parser = new RespRequestParser(limits);
  const commands: Uint8Array[][] = [];
  try {
    for (const chunk of chunked(stream, cuts)) {
      parser.push(chunk);
      for (let next = parser.next(); next !== undefined; next = parser.next())
        commands.push(next.map((item) => Uint8Array.from(item)));
      if (parser.bufferedBytes > heldBytesMax) violation(`parser holds ${parser.bufferedBytes} bytes between commands`);
    }
  } catch (error) {
    if (error instanceof RespProtocolError) return { commands, failed: true };
    throw error;
  }
  return { commands, failed: false };
}

const sameCommands = (a: readonly Uint8Array[][], b: readonly Uint8Array[][]) =>
  a.length === b.length &&
  a.every(
    (items, index) =>
      items.length === (b[index] as Uint8Array[]).length &&
      items.every((item, at) => Buffer.from(item).equals((b[index] as Uint8Array[])[at] as Uint8Array)),
  );

const text = (value: string) => ({ stream: Buffer.from(value, 'latin1'), cuts: [], commands: undefined });

export const respTarget: FuzzTarget<RespInput> = {
  name: 'resp',
  subject: 'RESP2 requests, multibulk and inline (RespRequestParser)',
  arbitrary: fc.oneof(
    fc.tuple(validStream, fc.array(fc.nat(), { maxLength: 8 })).map(([commands, cuts]) => ({
      stream: Buffer.concat(commands.map((item) => item.bytes)),
      cuts,
      commands: commands.map((item) => item.items),
    })),
    fc
      .tuple(
        mutatedBytes(validStream.map((commands) => Buffer.concat(commands.map((item) => item.bytes)))),
        fc.array(fc.nat(), { maxLength: 8 }),
      )
      .map(([stream, cuts]) => ({ stream, cuts, commands: undefined })),
  ),
  check({ stream, cuts, commands }) {
    const parsed = parseAll(stream, cuts);
    if (commands !== undefined && (parsed.failed || !sameCommands(parsed.commands, commands)))
      violation('a valid stream did not parse to its commands');
    // Chunking never changes the outcome: the same stream in one piece gives the same commands.
    const whole = parseAll(stream, []);
    if (whole.failed !== parsed.failed || !sameCommands(whole.commands, parsed.commands))
      violation('the outcome depends on how the stream was cut');
  },
  crafted: [
    { name: 'multibulk count 2^31', input: text('*2147483648\r\n') },
    { name: 'multibulk count 2^53 + 1', input: text('*9007199254740993\r\n') },
    { name: 'multibulk count of 100 digits', input: text(`*${'9'.repeat(100)}\r\n`) },
    { name: 'bulk length 2^31', input: text('*1\r\n$2147483648\r\n') },
    { name: 'bulk length 10^18 - 1', input: text('*1\r\n$999999999999999999\r\n') },
    { name: 'bulk length -1', input: text('*1\r\n$-1\r\n') },
    { name: 'bulk length -0', input: text('*1\r\n$-0\r\n\r\n') },
    { name: 'multibulk count -5', input: text('*-5\r\nPING\r\n') },
    {
      name: 'inline of 1 MiB without newline',
      input: { stream: Buffer.alloc(1024 * 1024, 0x61), cuts: [1000, 5000], commands: undefined },
    },
    { name: 'unbalanced quotes', input: text('SET "a b\r\n') },
    { name: '\\x escapes at the end', input: text('SET "\\x4\r\n') },
    {
      name: 'bulk announced then 1 MiB',
      input: {
        stream: Buffer.concat([Buffer.from('*1\r\n$40\r\n'), Buffer.alloc(1024 * 1024, 0x62)]),
        cuts: [12, 100],
        commands: undefined,
      },
    },
  ],
  describe: ({ stream, cuts }) => `${hexPreview(stream)} cut at ${JSON.stringify(cuts)}`,
  ciRuns: 3000,
};
