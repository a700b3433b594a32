// Why: the parser is the RESP front end's only defence against what arrives on a socket. These
// tests pin that a stream cut anywhere parses to the same commands as the whole (a seeded property
// over random splits), that pipelines and inline lines come out one command at a time, and that
// every malformed or oversized frame is a protocol error, never a crash, a hang or a huge buffer.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { RespProtocolError, RespRequestParser, splitInlineArguments } from '../../../../src/api/resp/parser.ts';
import type { RespParserLimits } from '../../../../src/api/resp/parser.ts';
import { encodeCommand } from '../../../support/resp-client.ts';
import { propertyOptions } from '../../../support/property.ts';

const limits: RespParserLimits = {
  argumentBytesMax: 1024,
  commandBytesMax: 4096,
  argumentsCountMax: 64,
  inlineBytesMax: 256,
};

function text(args: readonly Buffer[] | undefined): string[] | undefined {
  return args?.map((arg) => arg.toString('latin1'));
}

/** Feeds `chunks` one by one and collects every command, pulling after each chunk. */
function parseAll(chunks: readonly Buffer[], parserLimits = limits): string[][] {
  const parser = new RespRequestParser(parserLimits);
  const commands: string[][] = [];
  for (const chunk of chunks) {
    parser.push(chunk);
    for (let command = parser.next(); command !== undefined; command = parser.next())
      commands.push(text(command) as string[]);
  }
  return commands;
}

function protocolError(chunks: readonly Buffer[], parserLimits = limits): string {
  try {
    parseAll(chunks, parserLimits);
  } catch (error) {
    assert.ok(error instanceof RespProtocolError, String(error));
    return error.message;
  }
  assert.fail('expected a protocol error');
}

test('a multibulk command parses to its arguments, binary-safe', () => {
  const value = Buffer.from([0, 13, 10, 255, 36, 42]);
  const parser = new RespRequestParser(limits);
  parser.push(encodeCommand(['SET', 'key', value]));
  const command = parser.next();
  assert.deepEqual(text(command), ['SET', 'key', value.toString('latin1')]);
  assert.equal(parser.next(), undefined);
  assert.equal(parser.bufferedBytes, 0);
});

test('a command with more arguments than the parser reserves ahead parses whole, whole or byte by byte', () => {
  const args = Array.from({ length: 40 }, (_, index) => `arg${index}`);
  const encoded = encodeCommand(['MSET', ...args]);
  assert.deepEqual(parseAll([encoded]), [['MSET', ...args]]);
  const bytes = Array.from(encoded, (byte) => Buffer.from([byte]));
  assert.deepEqual(parseAll([...bytes, encodeCommand(['GET', 'a'])]), [
    ['MSET', ...args],
    ['GET', 'a'],
  ]);
});

test('a pipeline in one chunk comes out one command per next()', () => {
  const parser = new RespRequestParser(limits);
  parser.push(
    Buffer.concat([
      encodeCommand(['GET', 'a']),
      encodeCommand(['GET', 'b']),
      Buffer.from('PING\r\n'),
      encodeCommand(['ECHO', '']),
    ]),
  );
  assert.deepEqual(text(parser.next()), ['GET', 'a']);
  assert.deepEqual(text(parser.next()), ['GET', 'b']);
  assert.deepEqual(text(parser.next()), ['PING']);
  assert.deepEqual(text(parser.next()), ['ECHO', '']);
  assert.equal(parser.next(), undefined);
});

test('a stream split at every possible point parses the same (seeded property)', () => {
  const argument = fc.uint8Array({ maxLength: 40 }).map((bytes) => Buffer.from(bytes));
  const command = fc.array(argument, { minLength: 1, maxLength: 5 });
  const inline = fc.array(fc.stringMatching(/^[a-z0-9]{1,8}$/), { minLength: 1, maxLength: 4 });
  const item = fc.oneof(
    command.map((args) => ({ bytes: encodeCommand(args), args: args.map((arg) => arg.toString('latin1')) })),
    inline.map((words) => ({ bytes: Buffer.from(`${words.join(' ')}\r\n`), args: words })),
  );
  fc.assert(
    fc.property(
      fc.array(item, { minLength: 1, maxLength: 8 }),
      fc.array(fc.nat(), { maxLength: 12 }),
      (items, cuts) => {
        const stream = Buffer.concat(items.map((each) => each.bytes));
        const points = [...new Set(cuts.map((cut) => cut % (stream.length + 1)))].sort((left, right) => left - right);
        const chunks: Buffer[] = [];
        let previous = 0;
        for (const point of [...points, stream.length]) {
          chunks.push(stream.subarray(previous, point));
          previous = point;
        }
        assert.deepEqual(
          parseAll(chunks),
          items.map((each) => each.args),
        );
      },
    ),
    propertyOptions(500),
  );
});

test('a command sent one byte at a time parses, including a bulk string longer than any chunk', () => {
  const long = 'x'.repeat(900);
  const stream = Buffer.concat([encodeCommand(['SET', 'k', long]), Buffer.from('GET k\r\n')]);
  const bytes = [...stream].map((byte) => Buffer.from([byte]));
  assert.deepEqual(parseAll(bytes), [
    ['SET', 'k', long],
    ['GET', 'k'],
  ]);
});

test('inline commands: LF alone ends a line, blank lines are skipped, quotes group words', () => {
  assert.deepEqual(
    parseAll([Buffer.from('PING\n\r\n  \r\nSET "a b" \'c d\'\r\nECHO "\\x41\\n\\"q\\"" \'it\\\'s\'\r\n')]),
    [['PING'], ['SET', 'a b', 'c d'], ['ECHO', 'A\n"q"', "it's"]],
  );
  assert.deepEqual(text(splitInlineArguments(Buffer.from('set k"ey" v'))), ['set', 'key', 'v']);
  assert.equal(splitInlineArguments(Buffer.from('set "unclosed')), undefined);
  assert.equal(splitInlineArguments(Buffer.from('set "a"b')), undefined);
});

test('empty multibulk headers carry no command and are skipped', () => {
  assert.deepEqual(parseAll([Buffer.from('*0\r\n*-1\r\nPING\r\n')]), [['PING']]);
});

test('garbage and bad framing are protocol errors in Redis wording', () => {
  assert.equal(protocolError([Buffer.from('*abc\r\n')]), 'Protocol error: invalid multibulk length');
  assert.equal(protocolError([Buffer.from('*1\r\n+PING\r\n')]), "Protocol error: expected '$', got '+'");
  assert.equal(protocolError([Buffer.from('*1\r\n$x\r\n')]), 'Protocol error: invalid bulk length');
  assert.equal(protocolError([Buffer.from('*1\r\n$-1\r\n')]), 'Protocol error: invalid bulk length');
  assert.equal(protocolError([Buffer.from('*1\r\n$4\r\nPINGxx')]), 'Protocol error: expected CRLF after bulk string');
  assert.equal(
    protocolError([Buffer.from('*1\r\n$4\r\nPI'), Buffer.from('NGxx')]),
    'Protocol error: expected CRLF after bulk string',
  );
  assert.equal(protocolError([Buffer.from('*1\rX')]), 'Protocol error: expected CRLF after mbulk count');
  assert.equal(protocolError([Buffer.from('SET "a\r\n')]), 'Protocol error: unbalanced quotes in request');
  assert.equal(protocolError([Buffer.from(`*${'9'.repeat(40)}`)]), 'Protocol error: too big mbulk count string');
  assert.equal(protocolError([Buffer.from(`*1\r\n$${'1'.repeat(40)}`)]), 'Protocol error: too big bulk count string');
});

test('oversized frames are refused before they are buffered', () => {
  assert.equal(protocolError([Buffer.from('*65\r\n')]), 'Protocol error: invalid multibulk length');
  // The refusal comes from the header alone: the 1025 bytes were never sent.
  assert.equal(protocolError([Buffer.from('*2\r\n$3\r\nSET\r\n$1025\r\n')]), 'Protocol error: invalid bulk length');
  const many = encodeCommand(['MSET', ...Array.from({ length: 10 }, () => 'v'.repeat(1000))]);
  assert.equal(protocolError([many]), 'Protocol error: command larger than 4096 bytes');
  assert.equal(protocolError([Buffer.from('x'.repeat(300))]), 'Protocol error: too big inline request');
  assert.equal(protocolError([Buffer.from(`${'x'.repeat(300)}\n`)]), 'Protocol error: too big inline request');
  assert.equal(protocolError([Buffer.from(`${'a '.repeat(70)}\n`)]), 'Protocol error: invalid multibulk length');
});

test('a protocol error is sticky and frees what was buffered', () => {
  const parser = new RespRequestParser(limits);
  parser.push(Buffer.from('*1\r\n$3\r\nfoo\r\n*x\r\n*1\r\n$4\r\nPING\r\n'));
  assert.deepEqual(text(parser.next()), ['foo']);
  assert.throws(() => parser.next(), RespProtocolError);
  parser.push(Buffer.from('PING\r\n'));
  assert.throws(() => parser.next(), RespProtocolError);
  assert.equal(parser.bufferedBytes, 0);
});

test('what the parser holds stays bounded by one command while a long bulk string arrives', () => {
  const parser = new RespRequestParser(limits);
  parser.push(Buffer.from('*2\r\n$3\r\nSET\r\n$1000\r\n'));
  assert.equal(parser.next(), undefined);
  for (let sent = 0; sent < 1000; sent += 100) {
    parser.push(Buffer.from('y'.repeat(100)));
    assert.equal(parser.next(), undefined);
    assert.ok(parser.bufferedBytes <= 1002);
  }
  parser.push(Buffer.from('\r\nPING\r\n'));
  assert.deepEqual(text(parser.next()), ['SET', 'y'.repeat(1000)]);
  assert.deepEqual(text(parser.next()), ['PING']);
});
