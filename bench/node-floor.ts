// Why: a yardstick for the RESP front end's redis-benchmark figures. It is the cheapest program with Everwrite's
// shape on the wire: three Node processes; a coordinator that parses RESP, keeps the key in a Map,
// sends each request to both other processes (one frame per peer per event-loop turn) and answers
// the client at the first reply (W=2 / R=2 of N=3, counting itself); and two replicas that keep the
// key in a Map (SET) or look it up (GET) and reply, batched per turn the same way. No versions,
// no contexts, no validation, no storage, no timeouts, no failure handling: nothing of Dynamo. What
// it measures is what Node's sockets and event loop cost for this traffic on this machine, so
// Everwrite's figure divided by this one says how much of the reachable rate Everwrite reaches, and
// a target above this figure cannot be met by any design of this shape in Node on that machine.
// With --log=FILE a process also appends each SET to FILE and acknowledges it only once an
// fdatasync covering it returned (one group commit per event-loop turn, at most one in flight):
// the floor for durable writes, where the coordinator answers after its own commit and one
// replica's. Not a server anyone should run: only GET, SET and CONFIG are understood; anything
// else is +OK.
// Usage (redis-compare.ts starts it): node --import tsx bench/node-floor.ts replica PORT [--log=FILE]
//                                     node --import tsx bench/node-floor.ts coordinator RESP_PORT PEER_PORT PEER_PORT [--log=FILE]
import { fdatasync, openSync, writev } from 'node:fs';
import { connect, createServer, type Socket } from 'node:net';

const opSet = 1;
const opGet = 2;
const noBytes = Buffer.alloc(0);

/** Cuts length-prefixed frames ([u32 LE length][payload]) out of a byte stream. */
class FrameCutter {
  private rest: Buffer = noBytes;

  push(chunk: Buffer, onFrame: (frame: Buffer) => void): void {
    const bytes = this.rest.length === 0 ? chunk : Buffer.concat([this.rest, chunk]);
    let offset = 0;
    while (bytes.length - offset >= 4) {
      const length = bytes.readUInt32LE(offset);
      if (bytes.length - offset - 4 < length) break;
      onFrame(bytes.subarray(offset + 4, offset + 4 + length));
      offset += 4 + length;
    }
    this.rest = bytes.subarray(offset);
  }
}

/** Frames queued for one socket and written with one write at the end of the turn. */
class TurnBatcher {
  private readonly queued: Buffer[] = [];
  private scheduled = false;

  constructor(private readonly socket: Socket) {}

  send(frame: Buffer): void {
    this.queued.push(frame);
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.socket.write(Buffer.concat(this.queued));
      this.queued.length = 0;
    });
  }
}

/** Group commit: records appended in one turn are written and fdatasync'd together, then acknowledged. */
class GroupLog {
  private records: Buffer[] = [];
  private waiters: Array<() => void> = [];
  private committing = false;
  private scheduled = false;

  constructor(private readonly fd: number) {}

  append(record: Buffer, onDurable: () => void): void {
    this.records.push(record);
    this.waiters.push(onDurable);
    this.schedule();
  }

  private schedule(): void {
    if (this.scheduled || this.committing || this.records.length === 0) return;
    this.scheduled = true;
    setImmediate(this.commit);
  }

  private readonly commit = (): void => {
    this.scheduled = false;
    const waiters = this.waiters;
    const records = this.records;
    this.records = [];
    this.waiters = [];
    this.committing = true;
    writev(this.fd, records, (writeError) => {
      if (writeError) throw writeError;
      fdatasync(this.fd, (syncError) => {
        if (syncError) throw syncError;
        this.committing = false;
        for (const waiter of waiters) waiter();
        this.schedule();
      });
    });
  };
}

/** A request to a replica: [u32 length][op u8][id u32][key length u16][key][value]. */
function requestFrame(op: number, id: number, key: Buffer, value: Buffer): Buffer {
  const out = Buffer.allocUnsafe(11 + key.length + value.length);
  out.writeUInt32LE(out.length - 4, 0);
  out[4] = op;
  out.writeUInt32LE(id, 5);
  out.writeUInt16LE(key.length, 9);
  key.copy(out, 11);
  value.copy(out, 11 + key.length);
  return out;
}

/** A replica's reply: [u32 length][id u32][value]. */
function replyFrame(id: number, value: Buffer): Buffer {
  const out = Buffer.allocUnsafe(8 + value.length);
  out.writeUInt32LE(out.length - 4, 0);
  out.writeUInt32LE(id, 4);
  value.copy(out, 8);
  return out;
}

/** A replica: keeps each SET's value (logged first with --log) and answers each request by id. */
function replica(port: number, log: GroupLog | undefined): void {
  const store = new Map<string, Buffer>();
  createServer((socket) => {
    socket.setNoDelay(true);
    socket.on('error', () => {});
    const cutter = new FrameCutter();
    const replies = new TurnBatcher(socket);
    socket.on('data', (chunk: Buffer) =>
      cutter.push(chunk, (request) => {
        const id = request.readUInt32LE(1);
        const keyEnd = 7 + request.readUInt16LE(5);
        const key = request.toString('latin1', 7, keyEnd);
        if (request[0] !== opSet) {
          replies.send(replyFrame(id, store.get(key) ?? noBytes));
          return;
        }
        const copy = Buffer.from(request);
        store.set(key, copy.subarray(keyEnd));
        if (log === undefined) replies.send(replyFrame(id, noBytes));
        else log.append(copy, () => replies.send(replyFrame(id, noBytes)));
      }),
    );
  }).listen(port, '127.0.0.1');
}

/** One RESP command (an array of bulk strings) from `bytes` at `offset`, or undefined when incomplete. */
function parseCommand(bytes: Buffer, offset: number): { args: Buffer[]; end: number } | undefined {
  if (offset >= bytes.length || bytes[offset] !== 0x2a) return undefined;
  let lineEnd = bytes.indexOf(13, offset);
  if (lineEnd < 0) return undefined;
  const count = Number(bytes.toString('latin1', offset + 1, lineEnd));
  let position = lineEnd + 2;
  const args: Buffer[] = [];
  for (let index = 0; index < count; index++) {
    lineEnd = bytes.indexOf(13, position);
    if (lineEnd < 0) return undefined;
    const start = lineEnd + 2;
    const end = start + Number(bytes.toString('latin1', position + 1, lineEnd));
    if (end + 2 > bytes.length) return undefined;
    args.push(bytes.subarray(start, end));
    position = end + 2;
  }
  return { args, end: position };
}

interface Waiting {
  readonly socket: Socket;
  readonly reply: Buffer | undefined;
  replies: number;
  /** Its own copy is not durable yet (with --log); it is answered after that and one peer's reply. */
  localPending: boolean;
  answered: boolean;
}

function coordinator(respPort: number, peerPorts: readonly number[], log: GroupLog | undefined): void {
  const store = new Map<string, Buffer>();
  const waiting = new Map<number, Waiting>();
  const ok = Buffer.from('+OK\r\n');
  const nil = Buffer.from('$-1\r\n');
  let nextId = 1;
  // Replies to one client that one peer chunk completes leave as one write (with -P 16, up to 16).
  const answered = new Map<Socket, Buffer[]>();
  const settle = (id: number, entry: Waiting): void => {
    if (!entry.answered && !entry.localPending && entry.replies >= 1) {
      entry.answered = true;
      const queued = answered.get(entry.socket);
      if (queued === undefined) answered.set(entry.socket, [entry.reply ?? ok]);
      else queued.push(entry.reply ?? ok);
    }
    if (entry.answered && entry.replies === peerPorts.length) waiting.delete(id);
  };
  const onPeerReply = (reply: Buffer): void => {
    const id = reply.readUInt32LE(0);
    const entry = waiting.get(id);
    if (entry === undefined) return;
    entry.replies += 1;
    settle(id, entry);
  };
  const writeAnswers = (): void => {
    for (const [socket, replies] of answered)
      socket.write(replies.length === 1 ? (replies[0] as Buffer) : Buffer.concat(replies));
    answered.clear();
  };
  const peers = peerPorts.map((port) => {
    const socket = connect(port, '127.0.0.1');
    socket.setNoDelay(true);
    const cutter = new FrameCutter();
    socket.on('data', (chunk: Buffer) => {
      cutter.push(chunk, onPeerReply);
      writeAnswers();
    });
    return new TurnBatcher(socket);
  });
  const replicate = (op: number, socket: Socket, key: Buffer, value: Buffer, reply: Buffer | undefined): void => {
    const id = nextId++;
    const entry: Waiting = {
      socket,
      reply,
      replies: 0,
      localPending: op === opSet && log !== undefined,
      answered: false,
    };
    waiting.set(id, entry);
    const request = requestFrame(op, id, key, value);
    for (const peer of peers) peer.send(request);
    if (!entry.localPending) return;
    log?.append(request, () => {
      entry.localPending = false;
      settle(id, entry);
      writeAnswers();
    });
  };
  const execute = (socket: Socket, args: readonly Buffer[]): void => {
    const name = (args[0] ?? noBytes).toString('latin1').toUpperCase();
    const key = args[1] ?? noBytes;
    if (name === 'SET') {
      const value = Buffer.from(args[2] ?? noBytes);
      store.set(key.toString('latin1'), value);
      replicate(opSet, socket, key, value, undefined);
    } else if (name === 'GET') {
      const value = store.get(key.toString('latin1'));
      replicate(
        opGet,
        socket,
        key,
        noBytes,
        value === undefined ? nil : Buffer.concat([Buffer.from(`$${value.length}\r\n`), value, Buffer.from('\r\n')]),
      );
    } else socket.write(name === 'CONFIG' ? '*0\r\n' : '+OK\r\n');
  };
  createServer((socket) => {
    socket.setNoDelay(true);
    socket.on('error', () => {});
    let pending: Buffer = noBytes;
    socket.on('data', (chunk: Buffer) => {
      pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
      let offset = 0;
      for (
        let command = parseCommand(pending, offset);
        command !== undefined;
        command = parseCommand(pending, offset)
      ) {
        offset = command.end;
        execute(socket, command.args);
      }
      pending = pending.subarray(offset);
    });
  }).listen(respPort, '127.0.0.1');
}

const [role, ...rest] = process.argv.slice(2);
const logPath = rest.find((argument) => argument.startsWith('--log='))?.slice('--log='.length);
const log = logPath === undefined ? undefined : new GroupLog(openSync(logPath, 'a'));
const ports = rest.filter((argument) => !argument.startsWith('--')).map(Number);
if (role === 'replica') replica(ports[0] as number, log);
else if (role === 'coordinator') coordinator(ports[0] as number, ports.slice(1), log);
else
  throw new Error('usage: node-floor.ts replica PORT [--log=FILE] | coordinator RESP_PORT PEER_PORT... [--log=FILE]');
