// Why: Redis users measure a store with GET and SET over RESP, and a general Redis client library
// would cost the load generator more CPU than the node it measures. This driver keeps one socket
// per worker, sends one command at a time (so replies come back in order and need no matching) and
// reads only what it needs of each reply: its type, an error's code, and a bulk string's length to
// skip it. A reply it does not expect (an array to GET) closes the socket and counts as an error.
// Keys live in the RESP front end's bucket (`redis`, docs/RESP.md); a read-modify-write is GET then
// SET, whose write the front end makes with the coordinator's own context for the key. Against a
// secured cluster each new socket first sends the CLI's `AUTH user password` (decision 0025), built
// once, and speaks TLS trusting --ca when the --target URLs are https (a node with TLS serves it on
// every port, decision 0026); a refused AUTH fails the command that waited behind it with its code.
import { connect, type Socket } from 'node:net';
import { connect as connectTls } from 'node:tls';
import { EverwriteError } from '../../core/base/errors.ts';
import type { BenchDriver, Outcome } from './drivers.ts';
import { keyName, targetOfWorker } from './drivers.ts';

/** The bucket the RESP front end maps Redis keys into (its default `bucket` option). */
export const respBucket = 'redis';

/** Largest bulk reply accepted: values are at most 1 MiB, so anything far larger is a broken or hostile peer. */
export const bulkBytesMax = 8 * 1024 * 1024;

/** What the bench needs of one reply. */
export type RespReply =
  { readonly type: 'simple' | 'integer' | 'bulk' | 'null' } | { readonly type: 'error'; readonly message: string };

/** `-BUSY EVERWRITE_RATE_LIMITED: ...` -> `RESP EVERWRITE_RATE_LIMITED`; else the error's first word. */
export function respErrorCode(message: string): string {
  const everwrite = /EVERWRITE_[A-Z_]+/.exec(message);
  return `RESP ${everwrite?.[0] ?? message.split(' ')[0] ?? 'ERR'}`;
}

/**
 * One complete reply at the start of `buffer` and its length in bytes, undefined when more bytes
 * are needed. Throws on a reply type the bench never asks for.
 */
export function parseReply(buffer: Buffer): { readonly reply: RespReply; readonly bytes: number } | undefined {
  const lineEnd = buffer.indexOf('\r\n');
  if (lineEnd === -1) return undefined;
  const marker = buffer[0];
  const line = buffer.toString('latin1', 1, lineEnd);
  const afterLine = lineEnd + 2;
  switch (marker) {
    case 0x2b: // '+'
      return { reply: { type: 'simple' }, bytes: afterLine };
    case 0x2d: // '-'
      return { reply: { type: 'error', message: line }, bytes: afterLine };
    case 0x3a: // ':'
      return { reply: { type: 'integer' }, bytes: afterLine };
    case 0x5f: // '_' RESP3 null
      return { reply: { type: 'null' }, bytes: afterLine };
    case 0x24: {
      // '$'
      const length = Number(line);
      if (!Number.isInteger(length) || length < -1 || length > bulkBytesMax)
        throw new Error(`bad bulk length ${JSON.stringify(line)}`);
      if (length === -1) return { reply: { type: 'null' }, bytes: afterLine };
      const end = afterLine + length + 2;
      return buffer.length < end ? undefined : { reply: { type: 'bulk' }, bytes: end };
    }
    default:
      throw new Error(`unexpected RESP reply type ${JSON.stringify(String.fromCharCode(marker ?? 0))}`);
  }
}

/** A multibulk command: `*<n>` then `$<len>` and the bytes of each argument. */
export function encodeCommand(args: ReadonlyArray<string | Uint8Array>): Buffer {
  const parts: Buffer[] = [Buffer.from(`*${args.length}\r\n`, 'latin1')];
  for (const arg of args) {
    const bytes =
      typeof arg === 'string' ? Buffer.from(arg, 'utf8') : Buffer.from(arg.buffer, arg.byteOffset, arg.byteLength);
    parts.push(Buffer.from(`$${bytes.byteLength}\r\n`, 'latin1'), bytes, Buffer.from('\r\n', 'latin1'));
  }
  return Buffer.concat(parts);
}

interface Waiting {
  readonly startedMs: number;
  settle(reply: RespReply | { readonly type: 'failed'; readonly code: string }): void;
}

/** How a connection reaches a secured node: AUTH sent first on each socket, and TLS with these roots. */
export interface RespAccess {
  /** The encoded `AUTH user password`, or undefined to send none. */
  readonly authCommand: Buffer | undefined;
  /** TLS when set (the trusted roots; undefined roots: the system's), plain TCP when undefined. */
  readonly tls: { readonly ca: readonly string[] | undefined } | undefined;
}

const plainAccess: RespAccess = Object.freeze({ authCommand: undefined, tls: undefined });

/** One socket, one command in flight; reconnects on the next command after any failure. */
class RespConnection {
  private socket: Socket | undefined;
  private buffer: Buffer = Buffer.alloc(0);
  private waiting: Waiting | undefined;
  /** The reply to this socket's AUTH is still to come, ahead of the command's. */
  private authReplyPending = false;

  constructor(
    private readonly host: string,
    private readonly port: number,
    private readonly access: RespAccess,
  ) {}

  send(command: Buffer): Promise<RespReply | { readonly type: 'failed'; readonly code: string }> {
    return new Promise((resolve) => {
      this.waiting = { startedMs: performance.now(), settle: resolve };
      this.ensureSocket().write(command);
    });
  }

  /** Fails the command in flight with `code` and drops the socket. */
  fail(code: string): void {
    const waiting = this.waiting;
    this.waiting = undefined;
    this.socket?.destroy();
    this.socket = undefined;
    this.buffer = Buffer.alloc(0);
    this.authReplyPending = false;
    waiting?.settle({ type: 'failed', code });
  }

  overdue(nowMs: number, timeoutMs: number): boolean {
    return this.waiting !== undefined && nowMs - this.waiting.startedMs >= timeoutMs;
  }

  close(): void {
    this.fail('closed');
  }

  private openSocket(): Socket {
    const tls = this.access.tls;
    if (tls === undefined) return connect({ host: this.host, port: this.port, noDelay: true });
    const socket = connectTls({
      host: this.host,
      port: this.port,
      ...(tls.ca === undefined ? {} : { ca: [...tls.ca] }),
    });
    socket.setNoDelay(true);
    return socket;
  }

  private ensureSocket(): Socket {
    if (this.socket !== undefined) return this.socket;
    const socket = this.openSocket();
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (error: Error & { code?: string }) => {
      if (this.socket === socket) this.fail(error.code ?? 'socket-error');
    });
    socket.on('close', () => {
      if (this.socket === socket) this.fail('closed-early');
    });
    this.socket = socket;
    if (this.access.authCommand !== undefined) {
      this.authReplyPending = true;
      socket.write(this.access.authCommand);
    }
    return socket;
  }

  /** Consumes the AUTH reply at the start of the buffer; false when the rest must wait (more bytes, or a failure). */
  private consumeAuthReply(): boolean {
    let parsed: ReturnType<typeof parseReply>;
    try {
      parsed = parseReply(this.buffer);
    } catch {
      this.fail('bad-reply');
      return false;
    }
    if (parsed === undefined) return false;
    this.buffer = this.buffer.subarray(parsed.bytes);
    this.authReplyPending = false;
    if (parsed.reply.type !== 'error') return true;
    this.fail(respErrorCode(parsed.reply.message));
    return false;
  }

  private onData(chunk: Buffer): void {
    this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
    if (this.authReplyPending && !this.consumeAuthReply()) return;
    if (this.buffer.length === 0) return;
    let parsed: ReturnType<typeof parseReply>;
    try {
      parsed = parseReply(this.buffer);
    } catch {
      this.fail('bad-reply');
      return;
    }
    if (parsed === undefined) return;
    this.buffer = this.buffer.subarray(parsed.bytes);
    const waiting = this.waiting;
    this.waiting = undefined;
    if (waiting === undefined || this.buffer.length > 0) {
      this.fail('unexpected-reply');
      waiting?.settle({ type: 'failed', code: 'unexpected-reply' });
      return;
    }
    waiting.settle(parsed.reply);
  }
}

/** `host:port` as given to `everwrite start --resp`. */
export function parseRespAddress(address: string): { readonly host: string; readonly port: number } {
  const match = /^([A-Za-z0-9.:[\]-]+):(\d{1,5})$/.exec(address.trim());
  const port = Number(match?.[2]);
  if (match === null || port < 1 || port > 65_535)
    throw new EverwriteError(
      'EVERWRITE_BAD_REQUEST',
      `a RESP address must be HOST:PORT, got ${JSON.stringify(address)}`,
    );
  return { host: (match[1] as string).replace(/^\[|\]$/g, ''), port };
}

export class RespDriver implements BenchDriver {
  private readonly connections = new Map<number, RespConnection>();
  private readonly targets: ReadonlyArray<{ readonly host: string; readonly port: number }>;

  constructor(
    addresses: readonly string[],
    private readonly value: Uint8Array,
    private readonly access: RespAccess = plainAccess,
  ) {
    this.targets = addresses.map(parseRespAddress);
  }

  private connection(worker: number): RespConnection {
    let connection = this.connections.get(worker);
    if (connection === undefined) {
      const target = this.targets[targetOfWorker(worker, this.targets.length)] as { host: string; port: number };
      connection = new RespConnection(target.host, target.port, this.access);
      this.connections.set(worker, connection);
    }
    return connection;
  }

  async read(worker: number, keyIndex: number): Promise<Outcome> {
    const reply = await this.connection(worker).send(encodeCommand(['GET', keyName(keyIndex)]));
    if (reply.type === 'bulk') return { kind: 'ok' };
    if (reply.type === 'null') return { kind: 'notFound' };
    return { kind: 'error', code: replyErrorCode(reply) };
  }

  async write(worker: number, keyIndex: number): Promise<Outcome> {
    const reply = await this.connection(worker).send(encodeCommand(['SET', keyName(keyIndex), this.value]));
    return reply.type === 'simple' ? { kind: 'ok' } : { kind: 'error', code: replyErrorCode(reply) };
  }

  abortOverdue(nowMs: number, timeoutMs: number): number {
    let aborted = 0;
    for (const connection of this.connections.values()) {
      if (!connection.overdue(nowMs, timeoutMs)) continue;
      connection.fail('timeout');
      aborted++;
    }
    return aborted;
  }

  async close(): Promise<void> {
    for (const connection of this.connections.values()) connection.close();
  }
}

function replyErrorCode(reply: RespReply | { readonly type: 'failed'; readonly code: string }): string {
  if (reply.type === 'failed') return reply.code;
  if (reply.type === 'error') return respErrorCode(reply.message);
  return `unexpected-reply-${reply.type}`;
}
