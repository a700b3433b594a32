// Why: a streaming parser for what Redis clients send: RESP2 multibulk arrays of bulk strings, and
// inline commands (a text line, as redis-cli and telnet users type and redis-benchmark's
// PING_INLINE sends). TCP cuts the stream anywhere, so the parser keeps its place between chunks;
// a pipelined chunk holds many commands, so it hands them out one at a time (`next()`), letting
// the connection stop pulling when too many are in flight. Every buffer it holds is bounded: a
// header line by a few bytes, an inline line by `inlineBytesMax`, a command by
// `commandBytesMax`. Bad framing is a RespProtocolError: the stream cannot be resynchronised, so
// the connection answers it and closes (as Redis does).

export interface RespParserLimits {
  /** Largest bulk string, in bytes. */
  readonly argumentBytesMax: number;
  /** Largest total of bulk string bytes in one command. */
  readonly commandBytesMax: number;
  /** Most arguments in one command. */
  readonly argumentsCountMax: number;
  /** Longest inline line, in bytes. */
  readonly inlineBytesMax: number;
}

/** Bad framing. The message is the reply text, "Protocol error: ..." as Redis words it. */
export class RespProtocolError extends Error {
  override readonly name = 'RespProtocolError';
}

const carriageReturn = 13;
const lineFeed = 10;
const asterisk = 42;
const dollar = 36;
const minus = 45;
/** Longest `*<count>` or `$<length>` line, without CRLF: 19 digits and a sign, with room to spare. */
const headerBytesMax = 32;
const emptyBuffer = Buffer.alloc(0);

function describeByte(byte: number | undefined): string {
  if (byte === undefined) return '';
  return byte >= 32 && byte < 127 ? String.fromCharCode(byte) : `\\x${byte.toString(16).padStart(2, '0')}`;
}

/** Decimal digits with an optional leading minus; undefined for anything else (empty, spaces, '+'). */
function parseInteger(buffer: Buffer, start: number, end: number): number | undefined {
  let position = start;
  const negative = buffer[position] === minus;
  if (negative) position += 1;
  if (position === end || end - position > 18) return undefined;
  let value = 0;
  for (; position < end; position += 1) {
    const digit = (buffer[position] as number) - 48;
    if (digit < 0 || digit > 9) return undefined;
    value = value * 10 + digit;
  }
  return negative ? -value : value;
}

/** Slots reserved for a multibulk's arguments before they arrive; more grow as they come. */
const argumentsPresizeMax = 16;
/** Between commands: no array is made until a multibulk header says one is coming. */
const noArguments: Buffer[] = [];

export class RespRequestParser {
  private buffer: Buffer = emptyBuffer;
  private offset = 0;
  /** Arguments still to read in the current multibulk; 0 between commands. */
  private argumentsExpected = 0;
  private arguments: Buffer[] = noArguments;
  /** Arguments of the current multibulk read so far. */
  private argumentsRead = 0;
  private commandBytes = 0;
  /** A bulk string longer than what has arrived: its pieces so far and its length with CRLF. */
  private bulkParts: Buffer[] = [];
  private bulkReceived = 0;
  private bulkNeeded = 0;
  private failure: RespProtocolError | undefined;

  constructor(private readonly limits: RespParserLimits) {}

  /** Bytes received and not yet handed out as commands (bounded, see the file comment). */
  get bufferedBytes(): number {
    return this.buffer.length - this.offset + this.bulkReceived;
  }

  /** Appends a chunk as received from the socket. The parser keeps references to it, never copies of small pieces. */
  push(chunk: Buffer): void {
    if (this.failure !== undefined || chunk.length === 0) return;
    let rest = chunk;
    if (this.bulkNeeded > 0) {
      const taken = Math.min(this.bulkNeeded - this.bulkReceived, rest.length);
      this.bulkParts.push(rest.subarray(0, taken));
      this.bulkReceived += taken;
      rest = rest.subarray(taken);
      if (rest.length === 0) return;
    }
    if (this.offset >= this.buffer.length) this.buffer = rest;
    else this.buffer = Buffer.concat([this.buffer.subarray(this.offset), rest]);
    this.offset = 0;
  }

  /**
   * The next complete command as its arguments (raw bytes), or undefined when more bytes are
   * needed. Throws RespProtocolError on bad framing, and again on every later call.
   */
  next(): Buffer[] | undefined {
    if (this.failure !== undefined) throw this.failure;
    try {
      return this.parseNext();
    } catch (error) {
      if (error instanceof RespProtocolError) {
        this.failure = error;
        this.buffer = emptyBuffer;
        this.offset = 0;
        this.arguments = noArguments;
        this.bulkParts = [];
      }
      throw error;
    }
  }

  private parseNext(): Buffer[] | undefined {
    for (;;) {
      if (this.bulkNeeded > 0) {
        if (this.bulkReceived < this.bulkNeeded) return undefined;
        const command = this.finishLongBulk();
        if (command !== undefined) return command;
      } else if (this.argumentsExpected > 0) {
        const outcome = this.parseBulk();
        if (outcome === 'more') return undefined;
        if (outcome !== 'partial') return outcome;
      } else {
        if (this.offset >= this.buffer.length) return undefined;
        if (this.buffer[this.offset] === asterisk) {
          const outcome = this.parseMultibulkHeader();
          if (outcome === 'more') return undefined;
        } else {
          const outcome = this.parseInline();
          if (outcome === 'more') return undefined;
          if (outcome !== 'empty') return outcome;
        }
      }
    }
  }

  /** The end of a `*`/`$` header line (index of its CR), or undefined when it has not all arrived. */
  private findHeaderEnd(what: string): number | undefined {
    const buffer = this.buffer;
    const limit = Math.min(buffer.length, this.offset + headerBytesMax + 1);
    // A header is a few bytes: a loop here is cheaper than Buffer.indexOf's call into C++.
    let end = this.offset;
    while (end < limit && buffer[end] !== carriageReturn) end += 1;
    if (end >= limit) {
      if (this.buffer.length - this.offset > headerBytesMax)
        throw new RespProtocolError(`Protocol error: too big ${what} count string`);
      return undefined;
    }
    if (end + 1 >= this.buffer.length) return undefined;
    if (this.buffer[end + 1] !== lineFeed)
      throw new RespProtocolError(`Protocol error: expected CRLF after ${what} count`);
    return end;
  }

  private parseMultibulkHeader(): 'more' | 'started' {
    const end = this.findHeaderEnd('mbulk');
    if (end === undefined) return 'more';
    const count = parseInteger(this.buffer, this.offset + 1, end);
    if (count === undefined || count > this.limits.argumentsCountMax)
      throw new RespProtocolError('Protocol error: invalid multibulk length');
    this.offset = end + 2;
    // "*0" and "*-1" carry no command; Redis skips them too.
    if (count > 0) {
      this.argumentsExpected = count;
      // Sized once (an empty array's first push reserves 17 slots), but never more than a few
      // slots ahead of arguments that have arrived: a header alone must not reserve its whole count.
      this.arguments = new Array<Buffer>(Math.min(count, argumentsPresizeMax));
      this.argumentsRead = 0;
      this.commandBytes = 0;
    }
    return 'started';
  }

  private parseBulk(): Buffer[] | 'more' | 'partial' {
    if (this.offset >= this.buffer.length) return 'more';
    const first = this.buffer[this.offset];
    if (first !== dollar) throw new RespProtocolError(`Protocol error: expected '$', got '${describeByte(first)}'`);
    const end = this.findHeaderEnd('bulk');
    if (end === undefined) return 'more';
    const length = parseInteger(this.buffer, this.offset + 1, end);
    if (length === undefined || length < 0 || length > this.limits.argumentBytesMax)
      throw new RespProtocolError('Protocol error: invalid bulk length');
    this.commandBytes += length;
    if (this.commandBytes > this.limits.commandBytesMax) {
      throw new RespProtocolError(`Protocol error: command larger than ${this.limits.commandBytesMax} bytes`);
    }
    const start = end + 2;
    const available = this.buffer.length - start;
    if (available >= length + 2) {
      this.requireCrlf(this.buffer, start + length);
      this.offset = start + length + 2;
      return this.addArgument(this.buffer.subarray(start, start + length)) ?? 'partial';
    }
    // The rest of this bulk string arrives in later chunks: collect them without re-scanning.
    this.bulkNeeded = length + 2;
    this.bulkParts = available > 0 ? [this.buffer.subarray(start)] : [];
    this.bulkReceived = available;
    this.buffer = emptyBuffer;
    this.offset = 0;
    return 'more';
  }

  private finishLongBulk(): Buffer[] | undefined {
    const parts = this.bulkParts;
    const whole = parts.length === 1 ? (parts[0] as Buffer) : Buffer.concat(parts, this.bulkNeeded);
    const length = this.bulkNeeded - 2;
    this.bulkParts = [];
    this.bulkReceived = 0;
    this.bulkNeeded = 0;
    this.requireCrlf(whole, length);
    return this.addArgument(whole.subarray(0, length));
  }

  private requireCrlf(buffer: Buffer, at: number): void {
    if (buffer[at] !== carriageReturn || buffer[at + 1] !== lineFeed)
      throw new RespProtocolError('Protocol error: expected CRLF after bulk string');
  }

  /** Adds one argument; the whole command once it is complete. */
  private addArgument(argument: Buffer): Buffer[] | undefined {
    this.arguments[this.argumentsRead++] = argument;
    this.argumentsExpected -= 1;
    if (this.argumentsExpected > 0) return undefined;
    const command = this.arguments;
    this.arguments = noArguments;
    return command;
  }

  private parseInline(): Buffer[] | 'more' | 'empty' {
    const newline = this.buffer.indexOf(lineFeed, this.offset);
    if (newline === -1) {
      if (this.buffer.length - this.offset > this.limits.inlineBytesMax)
        throw new RespProtocolError('Protocol error: too big inline request');
      return 'more';
    }
    if (newline - this.offset > this.limits.inlineBytesMax)
      throw new RespProtocolError('Protocol error: too big inline request');
    let end = newline;
    if (end > this.offset && this.buffer[end - 1] === carriageReturn) end -= 1;
    const line = this.buffer.subarray(this.offset, end);
    this.offset = newline + 1;
    const words = splitInlineArguments(line);
    if (words === undefined) throw new RespProtocolError('Protocol error: unbalanced quotes in request');
    if (words.length > this.limits.argumentsCountMax)
      throw new RespProtocolError('Protocol error: invalid multibulk length');
    return words.length === 0 ? 'empty' : words;
  }
}

function isSpace(byte: number | undefined): boolean {
  return byte === 32 || byte === 9 || byte === 10 || byte === 11 || byte === 12 || byte === 13 || byte === 0;
}

function hexValue(byte: number | undefined): number {
  if (byte === undefined) return -1;
  if (byte >= 48 && byte <= 57) return byte - 48;
  if (byte >= 97 && byte <= 102) return byte - 87;
  if (byte >= 65 && byte <= 70) return byte - 55;
  return -1;
}

const escapes: Readonly<Record<number, number>> = { 110: 10, 114: 13, 116: 9, 98: 8, 97: 7 };

/**
 * Reads one double-quoted word starting after its opening quote: escapes \n \r \t \b \a \xHH and
 * \<any>. Returns the word's bytes and the index after the closing quote, or undefined when the
 * quote is not closed or is followed by something other than a space.
 */
function readDoubleQuoted(line: Buffer, start: number, out: number[]): number | undefined {
  let position = start;
  while (position < line.length) {
    const byte = line[position] as number;
    if (byte === 92 && position + 1 < line.length) {
      const next = line[position + 1] as number;
      const high = hexValue(line[position + 2]);
      const low = hexValue(line[position + 3]);
      if (next === 120 && high >= 0 && low >= 0) {
        out.push(high * 16 + low);
        position += 4;
      } else {
        out.push(escapes[next] ?? next);
        position += 2;
      }
    } else if (byte === 34) {
      return position + 1 < line.length && !isSpace(line[position + 1]) ? undefined : position + 1;
    } else {
      out.push(byte);
      position += 1;
    }
  }
  return undefined;
}

/** Single quotes: only \' is an escape. Same contract as readDoubleQuoted. */
function readSingleQuoted(line: Buffer, start: number, out: number[]): number | undefined {
  let position = start;
  while (position < line.length) {
    const byte = line[position] as number;
    if (byte === 92 && line[position + 1] === 39) {
      out.push(39);
      position += 2;
    } else if (byte === 39) {
      return position + 1 < line.length && !isSpace(line[position + 1]) ? undefined : position + 1;
    } else {
      out.push(byte);
      position += 1;
    }
  }
  return undefined;
}

/**
 * Splits an inline command line into words the way redis-cli users expect: spaces separate words,
 * "double" and 'single' quotes group them (with escapes). Undefined when quotes are unbalanced.
 */
export function splitInlineArguments(line: Buffer): Buffer[] | undefined {
  const words: Buffer[] = [];
  let position = 0;
  for (;;) {
    while (position < line.length && isSpace(line[position])) position += 1;
    if (position >= line.length) return words;
    const start = position;
    while (position < line.length && !isSpace(line[position]) && line[position] !== 34 && line[position] !== 39)
      position += 1;
    if (position >= line.length || isSpace(line[position])) {
      words.push(line.subarray(start, position));
      continue;
    }
    // A word with quotes in it: decode it byte by byte.
    const bytes: number[] = [...line.subarray(start, position)];
    while (position < line.length && !isSpace(line[position])) {
      const byte = line[position] as number;
      if (byte === 34 || byte === 39) {
        const after =
          byte === 34 ? readDoubleQuoted(line, position + 1, bytes) : readSingleQuoted(line, position + 1, bytes);
        if (after === undefined) return undefined;
        position = after;
      } else {
        bytes.push(byte);
        position += 1;
      }
    }
    words.push(Buffer.from(bytes));
  }
}
