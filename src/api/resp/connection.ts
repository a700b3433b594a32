// Why: one client connection: bytes in, commands out to the handlers, replies back in order.
// Redis clients pipeline, so commands of one connection run concurrently (a quorum round trip
// each) while their replies go out strictly in the order the commands came. Two commands of one
// connection on the same key never overlap: the later one waits (and the pipeline behind it), so
// "SET k v; GET k" reads its own write. Replies finished in one event-loop turn leave in one
// write. Everything is bounded: parsed-but-unanswered commands (`pipelineCommandsMax`) and reply
// bytes waiting in the socket (`outputBytesMax`) both stop reading the socket until they drain, so
// a client that sends faster than it reads cannot grow the node's memory.
//
// This loop runs once per command on a CPU-bound event loop, so it does no work a command does not
// need. A command can only overtake an earlier one of its connection while that one is in flight:
// with nothing in flight (every command of a client at -P 1) it starts without computing ordering
// keys, which are computed for it only if a later command arrives while it still runs. Replies
// due in one turn are written by one shared setImmediate for all connections, not one per
// connection, and the common replies are precomputed bytes (reply.ts).
import type { Socket } from 'node:net';
import { mapKeyArguments, lookupCommand, runCommand, runCommandInto, runsInto } from './commands/index.ts';
import type { CommandSpec, RespServerContext, Session } from './context.ts';
import { errorReplyFor } from './errors.ts';
import { orderingKey } from './keys.ts';
import { RespProtocolError, RespRequestParser } from './parser.ts';
import { ErrorReply, encodeReply, okReply } from './reply.ts';
import type { EverwriteError } from '../../core/base/errors.ts';
import type { WriteSink } from '../../runtime/service.ts';
import type { AdmittedConnection } from '../../core/base/admission.ts';
import type { ProtocolVersion, Reply } from './reply.ts';

/**
 * A command whose reply is not written yet; `bytes` is set once it is answered. It is also the
 * write sink of a command that runs into one (runCommandInto): the service answers the write here,
 * so that path needs no promise or closure per command.
 */
class PendingReply implements WriteSink {
  bytes: Buffer | undefined = undefined;
  /** What the keys are computed from, until they are (then dropped, not to pin the input). */
  spec: CommandSpec | undefined = undefined;
  args: readonly Buffer[] | undefined = undefined;

  constructor(
    /** The connection a sink's answer goes to; undefined for a reply known at once. */
    private readonly connection: RespConnection | undefined,
    /** Command name and start (performance.now() ms) for the metrics; undefined without metrics. */
    readonly timing: CommandTiming | undefined,
    readonly protocol: ProtocolVersion,
    /**
     * Ordering keys this command holds until it is answered; undefined while it holds none in
     * `busyKeys` yet (it started with nothing in flight, see RespConnection.unregistered).
     */
    public keys: readonly string[] | undefined,
    /** The command's name, for the error log of a failed write. */
    readonly name: string,
  ) {}

  written(): void {
    (this.connection as RespConnection).answerSlot(this, okReply);
  }

  failed(error: EverwriteError): void {
    (this.connection as RespConnection).answerSlotWithError(this, error);
  }
}

interface CommandTiming {
  readonly name: string;
  readonly startedMs: number;
}

interface BlockedCommand {
  readonly spec: CommandSpec | undefined;
  readonly args: Buffer[];
  readonly keys: readonly string[];
}

/** Below this many bytes, replies of one turn are copied into one buffer; above, written corked. */
const concatenateBytesMax = 64 * 1024;
/** How long an ended connection waits for the client to close its side before it is cut, in ms. */
const lingerMs = 5000;
const noKeys: readonly string[] = [];

/** The ordering keys of a command (see keys.ts orderingKey). */
function orderingKeys(
  spec: CommandSpec | undefined,
  args: readonly Buffer[],
  options: RespServerContext['options'],
): readonly string[] {
  if (spec === undefined || spec.firstKey === 0) return noKeys;
  return mapKeyArguments(spec, args, orderingKey, options);
}

/**
 * Connections with replies to write, flushed together once per event-loop turn: one setImmediate
 * for all of them instead of one (and its closure) per connection and turn. Shared by every server
 * of the process, as Node's own timer lists are.
 */
class FlushQueue {
  private queued: RespConnection[] = [];
  private scheduled = false;
  private readonly flushAll = (): void => {
    const queued = this.queued;
    this.queued = [];
    this.scheduled = false;
    for (let index = 0; index < queued.length; index += 1) {
      try {
        (queued[index] as RespConnection).flush();
      } catch (error) {
        // A bug in one connection must not strand the others' replies: they go next turn.
        for (const connection of queued.slice(index + 1)) this.add(connection);
        throw error;
      }
    }
  };

  add(connection: RespConnection): void {
    this.queued.push(connection);
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(this.flushAll);
  }
}

const flushQueue = new FlushQueue();

/** Told of every chunk a connection receives, so the server's admission table knows who is idle. */
export interface ActivityListener {
  touch(connection: RespConnection): void;
}

/** Answer to a command over its address's request rate (decision 0013); the command does not run. */
function rateLimitedReply(retryAfterMs: number): ErrorReply {
  return new ErrorReply(
    `BUSY EVERWRITE_RATE_LIMITED: too many requests from your address; retry in ${retryAfterMs} ms`,
  );
}

export class RespConnection implements AdmittedConnection {
  readonly session: Session;
  /** The client's IP: its per-address connection share and request rate are counted on it. */
  readonly clientAddress: string;
  private readonly parser: RespRequestParser;
  private readonly pending: PendingReply[] = [];
  private readonly busyKeys = new Map<string, number>();
  /** Commands started and not answered yet (the pending replies whose bytes are not known). */
  private inFlight = 0;
  /**
   * The one command in flight whose keys are not in `busyKeys`: it started with nothing else in
   * flight, and no command has arrived since. There is at most one: any later command registers
   * it before starting.
   */
  private unregistered: PendingReply | undefined;
  private blocked: BlockedCommand | undefined;
  private output: Buffer[] = [];
  private outputBytes = 0;
  /** This connection is in the flush queue; its `flush` will run this turn. */
  private flushQueued = false;
  private readingPaused = false;
  /** No further command is read: QUIT, a protocol error, the server closing, or the client's end reached. */
  private stopped = false;
  /** The client sent FIN: what it sent before is still answered. */
  private inputEnded = false;
  private ended = false;
  private pumping = false;
  /**
   * An AUTH or HELLO still checking its credentials (decision 0025): the commands behind it wait,
   * so a pipelined "AUTH u p; GET k" runs GET as the logged-in user, not before the login.
   */
  private sessionChange: PendingReply | undefined;
  private lingerTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly server: RespServerContext,
    private readonly socket: Socket,
    id: number,
    activity?: ActivityListener,
  ) {
    const nowMs = server.clock.nowMs;
    this.clientAddress = socket.remoteAddress ?? '?';
    this.session = {
      id,
      protocol: 2,
      name: '',
      libraryName: '',
      libraryVersion: '',
      remoteAddress: `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? 0}`,
      localAddress: `${socket.localAddress ?? '?'}:${socket.localPort ?? 0}`,
      openedMs: nowMs,
      lastActiveMs: nowMs,
      lastCommand: 'NULL',
      quitting: false,
      user: undefined,
      clientAddress: this.clientAddress,
    };
    this.parser = new RespRequestParser(server.options);
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => {
      // Once stopped, what still arrives is read only to be discarded (see closeIfDone).
      if (this.stopped) return;
      activity?.touch(this);
      this.parser.push(chunk);
      this.pump();
    });
    socket.on('end', () => {
      this.inputEnded = true;
      this.pump();
    });
    socket.on('drain', () => this.pump());
    socket.on('error', (error) =>
      server.logger.debug({ err: error, client: this.session.remoteAddress }, 'resp connection error'),
    );
    socket.on('close', () => {
      // Commands still buffered would be run for nobody.
      this.stopped = true;
      this.blocked = undefined;
      if (this.lingerTimer !== undefined) clearTimeout(this.lingerTimer);
    });
  }

  /** Server shutdown: answer what is already running, read nothing more, then close. */
  shutdown(): void {
    this.blocked = undefined;
    this.stopReading();
    this.closeIfDone();
  }

  destroy(): void {
    this.socket.destroy();
  }

  /** A command is parsed and not answered, or replies wait to be written: not idle. */
  isBusy(): boolean {
    return this.pending.length > 0 || this.inFlight > 0 || this.outputBytes > 0 || this.blocked !== undefined;
  }

  /** Closed to make room for a newcomer (admission) or for idling too long; nothing is pending. */
  evict(): void {
    this.socket.destroy();
  }

  /** Pulls commands from the parser and starts them while the bounds allow. */
  private pump(): void {
    if (this.pumping) return;
    this.pumping = true;
    try {
      this.pumpCommands();
    } finally {
      this.pumping = false;
    }
    this.closeIfDone();
  }

  private pumpCommands(): void {
    const { options } = this.server;
    while (!this.stopped) {
      if (this.sessionChange !== undefined) {
        this.pauseReading();
        return;
      }
      if (this.blocked !== undefined) {
        if (this.holdsAny(this.blocked.keys)) return;
        const { spec, args, keys } = this.blocked;
        this.blocked = undefined;
        this.execute(spec, args, keys);
        continue;
      }
      if (this.pending.length >= options.pipelineCommandsMax || this.outputFull()) {
        this.pauseReading();
        return;
      }
      const args = this.nextCommand();
      if (args === undefined) return;
      const spec = lookupCommand(this.server, args[0] as Buffer);
      if (this.inFlight === 0) {
        this.execute(spec, args, undefined);
        continue;
      }
      this.registerUnregistered();
      const keys = orderingKeys(spec, args, options);
      if (keys.length > 0 && this.holdsAny(keys)) {
        this.blocked = { spec, args, keys };
        this.pauseReading();
        return;
      }
      this.execute(spec, args, keys);
    }
  }

  /** Puts the keys of the command that started alone into `busyKeys`, now that another has come. */
  private registerUnregistered(): void {
    const slot = this.unregistered;
    if (slot === undefined) return;
    this.unregistered = undefined;
    slot.keys = orderingKeys(slot.spec, slot.args as readonly Buffer[], this.server.options);
    slot.spec = undefined;
    slot.args = undefined;
    for (const key of slot.keys) this.busyKeys.set(key, (this.busyKeys.get(key) ?? 0) + 1);
  }

  /** The next parsed command; undefined when none is complete (reading resumes) or framing broke (answered, then closed). */
  private nextCommand(): Buffer[] | undefined {
    let args: Buffer[] | undefined;
    try {
      args = this.parser.next();
    } catch (error) {
      if (!(error instanceof RespProtocolError)) throw error;
      this.server.stats.protocolErrors += 1;
      this.server.logger.debug(
        { client: this.session.remoteAddress, reason: error.message },
        'resp protocol error; closing the connection',
      );
      this.stopReading();
      this.answerNow(new ErrorReply(`ERR ${error.message}`));
      return undefined;
    }
    if (args === undefined) {
      if (this.inputEnded) this.stopped = true;
      else this.resumeReading();
    }
    return args;
  }

  /**
   * Too many reply bytes wait: those not flushed yet (a flush follows this turn and pumps again)
   * or those in the socket while it wants a drain (the 'drain' event pumps again). Counting socket
   * bytes only while a drain is due means a paused connection is always woken.
   */
  private outputFull(): boolean {
    const { outputBytesMax } = this.server.options;
    if (this.outputBytes >= outputBytesMax) return true;
    return this.socket.writableNeedDrain && this.outputBytes + this.socket.writableLength >= outputBytesMax;
  }

  private holdsAny(keys: readonly string[]): boolean {
    for (const key of keys) if (this.busyKeys.has(key)) return true;
    return false;
  }

  /** Runs a command; `keys` undefined means nothing is in flight, so it holds none until another command comes. */
  private execute(spec: CommandSpec | undefined, args: Buffer[], keys: readonly string[] | undefined): void {
    const { session, server } = this;
    const name = spec?.name ?? 'unknown';
    session.lastActiveMs = server.clock.nowMs;
    session.lastCommand = name;
    server.stats.commandsProcessed += 1;
    let result: Reply | Promise<Reply>;
    const timing = server.metrics === undefined ? undefined : { name, startedMs: performance.now() };
    const retryAfterMs = server.rateLimiter.take(this.clientAddress, server.clock.nowMs);
    if (retryAfterMs === 0 && runsInto(server, spec)) {
      this.executeInto(spec, args, keys, timing);
      return;
    }
    try {
      result = retryAfterMs > 0 ? rateLimitedReply(retryAfterMs) : runCommand(server, session, spec, args);
    } catch (thrown) {
      result = errorReplyFor(thrown, server.logger, name);
    }
    if (session.quitting) this.stopReading();
    if (!(result instanceof Promise)) {
      if (timing !== undefined) this.recordTiming(timing, result);
      this.answerNow(result);
      return;
    }
    const slot = new PendingReply(undefined, timing, session.protocol, keys, name);
    this.startSlot(slot, spec, args);
    this.awaitReply(slot, result);
  }

  /**
   * A command that answers through a write sink: its slot is queued first (the sink may be answered
   * at once), then the command runs; a reply it gives instead completes the slot.
   */
  private executeInto(
    spec: CommandSpec & { readonly runInto: NonNullable<CommandSpec['runInto']> },
    args: Buffer[],
    keys: readonly string[] | undefined,
    timing: CommandTiming | undefined,
  ): void {
    const { session, server } = this;
    const slot = new PendingReply(this, timing, session.protocol, keys, spec.name);
    this.startSlot(slot, spec, args);
    let result: Reply | Promise<Reply> | undefined;
    try {
      result = runCommandInto(server, session, spec, args, slot);
    } catch (thrown) {
      result = errorReplyFor(thrown, server.logger, spec.name);
    }
    if (session.quitting) this.stopReading();
    if (result === undefined) return;
    if (result instanceof Promise) this.awaitReply(slot, result);
    else this.complete(slot, result);
  }

  /** Queues the slot of a command that answers later and holds its ordering keys. */
  private startSlot(slot: PendingReply, spec: CommandSpec | undefined, args: Buffer[]): void {
    if (slot.keys === undefined) {
      slot.spec = spec;
      slot.args = args;
      this.unregistered = slot;
    } else {
      for (const key of slot.keys) this.busyKeys.set(key, (this.busyKeys.get(key) ?? 0) + 1);
    }
    this.inFlight += 1;
    this.pending.push(slot);
    if (spec !== undefined && spec.flags.includes('no_auth')) this.sessionChange = slot;
  }

  private awaitReply(slot: PendingReply, result: Promise<Reply>): void {
    result.then(
      (reply) => this.complete(slot, reply),
      (thrown: unknown) => this.complete(slot, errorReplyFor(thrown, this.server.logger, slot.name)),
    );
  }

  /** A write sink's answer (PendingReply.written). */
  answerSlot(slot: PendingReply, reply: Reply): void {
    this.complete(slot, reply);
  }

  /** A write sink's failure (PendingReply.failed), answered as a thrown error would be. */
  answerSlotWithError(slot: PendingReply, error: EverwriteError): void {
    this.complete(slot, errorReplyFor(error, this.server.logger, slot.name));
  }

  /** A reply known at once: written now if nothing is ahead of it, else queued behind. */
  private answerNow(reply: Reply): void {
    const bytes = encodeReply(reply, this.session.protocol);
    if (this.pending.length === 0) {
      this.append(bytes);
      return;
    }
    const slot = new PendingReply(undefined, undefined, this.session.protocol, noKeys, '');
    slot.bytes = bytes;
    this.pending.push(slot);
  }

  private recordTiming(timing: CommandTiming, reply: Reply): void {
    this.server.metrics?.record(timing.name, reply, (performance.now() - timing.startedMs) / 1000);
  }

  private complete(slot: PendingReply, reply: Reply): void {
    this.inFlight -= 1;
    // HELLO answers in the protocol it has just selected.
    const protocol = slot === this.sessionChange ? this.session.protocol : slot.protocol;
    if (slot === this.sessionChange) this.sessionChange = undefined;
    if (slot === this.unregistered) {
      this.unregistered = undefined;
      slot.spec = undefined;
      slot.args = undefined;
    } else {
      this.releaseKeys(slot.keys ?? noKeys);
    }
    if (slot.timing !== undefined) this.recordTiming(slot.timing, reply);
    slot.bytes = encodeReply(reply, protocol);
    while (this.pending.length > 0) {
      const head = this.pending[0] as PendingReply;
      if (head.bytes === undefined) break;
      this.pending.shift();
      this.append(head.bytes);
    }
    this.pump();
    // Nothing else of this connection can join the write this turn (no command in flight, none
    // waiting behind): write now rather than after every other callback of the turn. A client
    // that sends one command at a time gets its answer sooner, for the same single write.
    if (this.inFlight === 0 && this.pending.length === 0 && this.flushQueued) this.flush();
  }

  private releaseKeys(keys: readonly string[]): void {
    for (const key of keys) {
      const count = (this.busyKeys.get(key) ?? 1) - 1;
      if (count === 0) this.busyKeys.delete(key);
      else this.busyKeys.set(key, count);
    }
  }

  private append(bytes: Buffer): void {
    this.output.push(bytes);
    this.outputBytes += bytes.length;
    if (this.flushQueued) return;
    this.flushQueued = true;
    flushQueue.add(this);
  }

  /** One write per event-loop turn: everything answered since the last one. Called by the flush queue, or by complete() when nothing more can join. */
  flush(): void {
    this.flushQueued = false;
    // Already written by complete(): the flush queue still calls this turn.
    if (this.output.length === 0) return;
    const output = this.output;
    const bytes = this.outputBytes;
    this.output = [];
    this.outputBytes = 0;
    if (this.socket.destroyed || this.ended) return;
    if (output.length === 1) this.socket.write(output[0] as Buffer);
    else if (bytes <= concatenateBytesMax) this.socket.write(Buffer.concat(output, bytes));
    else {
      this.socket.cork();
      for (const piece of output) this.socket.write(piece);
      this.socket.uncork();
    }
    if (this.readingPaused || this.stopped) this.pump();
  }

  private stopReading(): void {
    this.stopped = true;
    this.pauseReading();
  }

  private pauseReading(): void {
    if (this.readingPaused) return;
    this.readingPaused = true;
    this.socket.pause();
  }

  private resumeReading(): void {
    if (!this.readingPaused) return;
    this.readingPaused = false;
    this.socket.resume();
  }

  /**
   * Ends the connection once no more commands will come and every answer is written. Unread input
   * is then drained and discarded: closing a socket with unread bytes makes the kernel send a
   * reset, which can destroy the last answer (a protocol error's reason) before the client reads
   * it. A client that never closes its side is cut after `lingerMs`.
   */
  private closeIfDone(): void {
    if (!this.stopped || this.ended || this.pending.length > 0 || this.blocked !== undefined || this.outputBytes > 0)
      return;
    this.ended = true;
    if (this.socket.destroyed) return;
    this.socket.end();
    this.socket.resume();
    this.lingerTimer = setTimeout(() => this.socket.destroy(), lingerMs);
    this.lingerTimer.unref();
  }
}
