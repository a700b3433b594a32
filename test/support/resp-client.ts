// Why: the RESP server tests need a client that shows exactly what came over the wire (RESP2 vs
// RESP3 shapes, error prefixes, when the server closed) and can send what no real client would
// (byte-by-byte splits, garbage, oversized frames). This is that client: commands out as
// multibulk or raw bytes, replies in decoded. Loopback only; every wait has a deadline.
import { connect } from 'node:net';
import type { Socket } from 'node:net';

/** An error reply, kept apart from strings so tests can tell `-ERR x` from `+ERR x`. */
export class RespErrorValue {
  constructor(readonly message: string) {}
}

/** A simple string reply (`+OK`), kept apart from bulk strings. */
export class RespSimpleValue {
  constructor(readonly text: string) {}
}

/**
 * A decoded reply: bulk and verbatim strings as UTF-8 text, integers as numbers, both nulls as
 * null, arrays and sets as arrays, RESP3 maps as Map.
 */
export type RespValue =
  null | number | string | RespErrorValue | RespSimpleValue | RespValue[] | Map<RespValue, RespValue>;

interface Decoded {
  readonly value: RespValue;
  readonly end: number;
}

function lineEnd(buffer: Buffer, start: number): number | undefined {
  const index = buffer.indexOf('\r\n', start, 'latin1');
  return index === -1 ? undefined : index;
}

function decodeItems(buffer: Buffer, start: number, count: number): { items: RespValue[]; end: number } | undefined {
  const items: RespValue[] = [];
  let position = start;
  for (let index = 0; index < count; index += 1) {
    const item = decodeAt(buffer, position);
    if (item === undefined) return undefined;
    items.push(item.value);
    position = item.end;
  }
  return { items, end: position };
}

/** One reply starting at `start`, or undefined when it has not all arrived. */
export function decodeAt(buffer: Buffer, start: number): Decoded | undefined {
  const end = lineEnd(buffer, start);
  if (end === undefined) return undefined;
  const marker = String.fromCharCode(buffer[start] as number);
  const line = buffer.toString('utf8', start + 1, end);
  const next = end + 2;
  switch (marker) {
    case '+':
      return { value: new RespSimpleValue(line), end: next };
    case '-':
      return { value: new RespErrorValue(line), end: next };
    case ':':
      return { value: Number(line), end: next };
    case '_':
      return { value: null, end: next };
    case '$':
    case '=': {
      const length = Number(line);
      if (length < 0) return { value: null, end: next };
      if (buffer.length < next + length + 2) return undefined;
      const text = buffer.toString('utf8', next, next + length);
      return { value: marker === '=' ? text.slice(4) : text, end: next + length + 2 };
    }
    case '*':
    case '~': {
      const count = Number(line);
      if (count < 0) return { value: null, end: next };
      const decoded = decodeItems(buffer, next, count);
      return decoded === undefined ? undefined : { value: decoded.items, end: decoded.end };
    }
    case '%': {
      const decoded = decodeItems(buffer, next, Number(line) * 2);
      if (decoded === undefined) return undefined;
      const map = new Map<RespValue, RespValue>();
      for (let index = 0; index < decoded.items.length; index += 2)
        map.set(decoded.items[index] as RespValue, decoded.items[index + 1] as RespValue);
      return { value: map, end: decoded.end };
    }
    default:
      throw new Error(
        `unexpected reply marker ${JSON.stringify(marker)} in ${JSON.stringify(buffer.toString('latin1', start, start + 40))}`,
      );
  }
}

/** A command as a RESP2 multibulk array. */
export function encodeCommand(args: ReadonlyArray<string | Uint8Array>): Buffer {
  const parts: Buffer[] = [Buffer.from(`*${args.length}\r\n`)];
  for (const arg of args) {
    const bytes = typeof arg === 'string' ? Buffer.from(arg) : Buffer.from(arg);
    parts.push(Buffer.from(`$${bytes.length}\r\n`), bytes, Buffer.from('\r\n'));
  }
  return Buffer.concat(parts);
}

export class RespTestClient {
  private readonly history: Buffer[] = [];
  /** Bytes received and not yet decoded, the first of them at offset `consumed`. */
  private unread = Buffer.alloc(0);
  private arrived: Buffer[] = [];
  private consumed = 0;
  private closedByServer = false;
  private closed = false;
  private waiters: Array<() => void> = [];

  private constructor(private readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.history.push(chunk);
      this.arrived.push(chunk);
      this.wake();
    });
    socket.on('end', () => {
      this.closedByServer = true;
      this.wake();
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      this.closed = true;
      this.wake();
    });
  }

  /** Connects to 127.0.0.1:`port`, from `localAddress` (another loopback address acts as another client). */
  static connect(port: number, localAddress?: string): Promise<RespTestClient> {
    return new Promise((resolve, reject) => {
      const socket = connect({ port, host: '127.0.0.1', ...(localAddress === undefined ? {} : { localAddress }) });
      socket.once('error', reject);
      socket.once('connect', () => {
        socket.removeListener('error', reject);
        resolve(new RespTestClient(socket));
      });
    });
  }

  /** Every byte received so far (for tests that check the exact wire form). */
  get received(): Buffer {
    return Buffer.concat(this.history);
  }

  /** The next decodable reply, merging what arrived since the last attempt. */
  private decodeNext(): Decoded | undefined {
    if (this.arrived.length > 0) {
      this.unread = Buffer.concat([this.unread.subarray(this.consumed), ...this.arrived]);
      this.arrived = [];
      this.consumed = 0;
    }
    return decodeAt(this.unread, this.consumed);
  }

  /** Stops reading the socket, so the server's replies pile up in the kernel and its own buffers. */
  pauseReading(): void {
    this.socket.pause();
  }

  resumeReading(): void {
    this.socket.resume();
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const waiter of waiters) waiter();
  }

  private async waitFor<T>(check: () => T | undefined, what: string, deadlineMs: number): Promise<T> {
    const deadline = Date.now() + deadlineMs;
    for (;;) {
      const found = check();
      if (found !== undefined) return found;
      const remaining = deadline - Date.now();
      if (remaining <= 0 || this.closed)
        throw new Error(
          `resp test client: ${what} did not happen (unread ${JSON.stringify(this.unread.toString('latin1', this.consumed).slice(-200))})`,
        );
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, remaining);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  write(bytes: string | Uint8Array): void {
    this.socket.write(bytes);
  }

  /** Half-closes: the server sees the end of input but can still answer. */
  endInput(): void {
    this.socket.end();
  }

  /** The next `count` replies. */
  async read(count = 1, deadlineMs = 5000): Promise<RespValue[]> {
    const values: RespValue[] = [];
    while (values.length < count) {
      const decoded = await this.waitFor(() => this.decodeNext(), `reply ${values.length + 1} of ${count}`, deadlineMs);
      values.push(decoded.value);
      this.consumed = decoded.end;
    }
    return values;
  }

  /** Sends one command and reads its reply. */
  async call(...args: Array<string | Uint8Array>): Promise<RespValue> {
    this.write(encodeCommand(args));
    return (await this.read(1))[0] as RespValue;
  }

  /** Sends all commands in one write and reads one reply per command. */
  async pipeline(commands: ReadonlyArray<ReadonlyArray<string | Uint8Array>>): Promise<RespValue[]> {
    this.write(Buffer.concat(commands.map(encodeCommand)));
    return this.read(commands.length);
  }

  /** Resolves once the server has closed the connection; rejects after the deadline. */
  async waitClosedByServer(deadlineMs = 5000): Promise<void> {
    await this.waitFor(() => (this.closedByServer || this.closed ? true : undefined), 'server close', deadlineMs);
  }

  /** Whether anything arrived that was not read yet. */
  get unreadBytes(): number {
    return this.unread.length - this.consumed + this.arrived.reduce((sum, chunk) => sum + chunk.length, 0);
  }

  close(): void {
    this.socket.destroy();
  }
}
