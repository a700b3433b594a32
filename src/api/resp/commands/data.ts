// Why: the Redis data commands, mapped onto Dynamo's get(key) -> (context, siblings) and
// put(key, context, value). A Redis write carries no context. A plain SET and MSET write with the
// coordinating replica's own context for the key (one quorum write): the new version supersedes
// every version that replica holds, and a concurrent version only other replicas hold stays a
// sibling (nothing is lost). SET NX/XX/GET and DEL need the current value, so they read first and
// write with the read's context (which supersedes what the replicas answering the read knew of).
// GET answers one sibling (resolve.ts). EW.GETALL, EW.PUT and EW.DEL expose the contexts and
// siblings themselves. None of this is atomic: NX/XX is a check, then a write.
import { EverwriteError } from '../../../core/base/errors.ts';
import type { GetResult, KvService, WriteSink } from '../../../runtime/service.ts';
import type { CommandSpec, RespServerContext, Session } from '../context.ts';
import { syntaxError, wrongArity } from '../errors.ts';
import { mapKey, takeContext, takeValue } from '../keys.ts';
import type { KeyAddress } from '../keys.ts';
import { ErrorReply, MapReply, okReply } from '../reply.ts';
import type { Reply } from '../reply.ts';
import { chooseSibling } from '../resolve.ts';

const contentType = 'application/octet-stream';
const expiryUnsupported = new ErrorReply(
  'ERR expiry is not supported by Everwrite: keys never expire (EX, PX, EXAT and PXAT are refused)',
);

/** Runs `run` over `items` with at most `limit` in flight; the first failure stops new starts and is rethrown. */
export async function mapBounded<T, R>(items: readonly T[], limit: number, run: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array<R>(items.length);
  let next = 0;
  let failure: { readonly error: unknown } | undefined;
  const worker = async (): Promise<void> => {
    while (failure === undefined && next < items.length) {
      const index = next;
      next += 1;
      try {
        results[index] = await run(items[index] as T);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (failure !== undefined) throw failure.error;
  return results;
}

function read(server: RespServerContext, address: KeyAddress): Promise<GetResult> {
  return server.service.get(address.bucket, address.key);
}

function addressId(address: KeyAddress): string {
  return `${address.bucket}\u0000${address.key}`;
}

/** The distinct addresses of `raws` (validated, all before any I/O) and, per raw key, its index among them. */
function distinctAddresses(
  server: RespServerContext,
  raws: readonly Buffer[],
): { addresses: KeyAddress[]; indexOf: number[] } {
  const byId = new Map<string, number>();
  const addresses: KeyAddress[] = [];
  const indexOf = raws.map((raw) => {
    const address = mapKey(raw, server.options);
    const id = addressId(address);
    let index = byId.get(id);
    if (index === undefined) {
      index = addresses.length;
      byId.set(id, index);
      addresses.push(address);
    }
    return index;
  });
  return { addresses, indexOf };
}

/** GET's answer to a read: the chosen sibling's value, nil when there is none. */
function chosenValue(result: GetResult): Reply {
  return chooseSibling(result.siblings)?.value ?? null;
}

function answerOk(): Reply {
  return okReply;
}

/** Not async, as the other handlers are: GET and SET are most commands, so they chain one `then` on the service's promise and nothing more. */
function get(server: RespServerContext, _session: Session, args: readonly Buffer[]): Promise<Reply> {
  return read(server, mapKey(args[1] as Buffer, server.options)).then(chosenValue);
}

interface SetOptions {
  readonly condition: 'nx' | 'xx' | undefined;
  readonly returnPrevious: boolean;
}

/** SET's options after the value; an ErrorReply for bad syntax or an expiry. */
function parseSetOptions(args: readonly Buffer[]): SetOptions | ErrorReply {
  let condition: 'nx' | 'xx' | undefined;
  let returnPrevious = false;
  let expiry = false;
  for (let index = 3; index < args.length; index += 1) {
    const option = (args[index] as Buffer).toString('latin1').toLowerCase();
    if (option === 'nx' || option === 'xx') {
      if (condition !== undefined) return syntaxError;
      condition = option;
    } else if (option === 'get') {
      returnPrevious = true;
    } else if (option === 'keepttl') {
      // Keys have no time to live, so keeping it is already what happens.
    } else if (option === 'ex' || option === 'px' || option === 'exat' || option === 'pxat') {
      if (expiry || index + 1 >= args.length) return syntaxError;
      expiry = true;
      index += 1;
    } else {
      return syntaxError;
    }
  }
  return expiry ? expiryUnsupported : { condition, returnPrevious };
}

/** Read, check the condition, write with the read's context. Undefined when the condition refused the write. */
export async function readThenWrite(
  server: RespServerContext,
  address: KeyAddress,
  value: Uint8Array,
  condition: SetOptions['condition'],
): Promise<{ previous: Uint8Array | null; written: boolean }> {
  const result = await read(server, address);
  const previous = chooseSibling(result.siblings)?.value ?? null;
  if ((condition === 'nx' && previous !== null) || (condition === 'xx' && previous === null))
    return { previous, written: false };
  await server.service.put({ bucket: address.bucket, key: address.key, value, contentType, context: result.context });
  return { previous, written: true };
}

/** One quorum write that supersedes every version the coordinating replica holds; answers OK. */
function overwrite(server: RespServerContext, address: KeyAddress, value: Uint8Array): Promise<Reply> {
  return server.service
    .put({ bucket: address.bucket, key: address.key, value, contentType, supersedeLocal: true })
    .then(answerOk);
}

/** SET with options: NX, XX and GET read first. */
async function setWithOptions(server: RespServerContext, args: readonly Buffer[]): Promise<Reply> {
  const options = parseSetOptions(args);
  if (options instanceof ErrorReply) return options;
  const address = mapKey(args[1] as Buffer, server.options);
  const value = takeValue(args[2] as Buffer, server.options);
  if (options.condition === undefined && !options.returnPrevious) return overwrite(server, address, value);
  const outcome = await readThenWrite(server, address, value, options.condition);
  if (options.returnPrevious) return outcome.previous;
  return outcome.written ? okReply : null;
}

/** A plain `SET key value` (what nearly every client sends) goes straight to one write, not through an async wrapper. */
function set(server: RespServerContext, _session: Session, args: readonly Buffer[]): Promise<Reply> {
  if (args.length > 3) return setWithOptions(server, args);
  return overwrite(server, mapKey(args[1] as Buffer, server.options), takeValue(args[2] as Buffer, server.options));
}

/** A plain `SET key value` on a service with putInto: one write answered through the connection's sink, no promise. */
function setInto(
  server: RespServerContext,
  session: Session,
  args: readonly Buffer[],
  sink: WriteSink,
): Promise<Reply> | undefined {
  if (args.length > 3) return set(server, session, args);
  const address = mapKey(args[1] as Buffer, server.options);
  const value = takeValue(args[2] as Buffer, server.options);
  const putInto = server.service.putInto as NonNullable<KvService['putInto']>;
  putInto.call(
    server.service,
    { bucket: address.bucket, key: address.key, value, contentType, supersedeLocal: true },
    sink,
  );
  return undefined;
}

async function mset(server: RespServerContext, _session: Session, args: readonly Buffer[]): Promise<Reply> {
  if (args.length % 2 === 0) return wrongArity('mset');
  // A key given twice takes its last value, as in Redis; writing it twice concurrently would make siblings.
  const writes = new Map<string, { address: KeyAddress; value: Uint8Array }>();
  for (let index = 1; index < args.length; index += 2) {
    const address = mapKey(args[index] as Buffer, server.options);
    const value = takeValue(args[index + 1] as Buffer, server.options);
    const id = addressId(address);
    writes.delete(id);
    writes.set(id, { address, value });
  }
  await mapBounded([...writes.values()], server.options.fanOutMax, (write) =>
    overwrite(server, write.address, write.value),
  );
  return okReply;
}

/** Reads stop, and the command fails, once the values gathered pass `replyBytesMax`. */
async function mget(server: RespServerContext, _session: Session, args: readonly Buffer[]): Promise<Reply> {
  const { addresses, indexOf } = distinctAddresses(server, args.slice(1));
  const { replyBytesMax } = server.options;
  let gatheredBytes = 0;
  const values = await mapBounded(addresses, server.options.fanOutMax, async (address) => {
    const value = chooseSibling((await read(server, address)).siblings)?.value ?? null;
    gatheredBytes += value?.byteLength ?? 0;
    if (gatheredBytes > replyBytesMax) {
      throw new EverwriteError(
        'EVERWRITE_FRAME_TOO_LARGE',
        `MGET values pass ${replyBytesMax} bytes; ask for fewer keys at once`,
        { bytesMax: replyBytesMax },
      );
    }
    return value;
  });
  return indexOf.map((index) => values[index] ?? null);
}

async function exists(server: RespServerContext, _session: Session, args: readonly Buffer[]): Promise<Reply> {
  const { addresses, indexOf } = distinctAddresses(server, args.slice(1));
  const live = await mapBounded(
    addresses,
    server.options.fanOutMax,
    async (address) => chooseSibling((await read(server, address)).siblings) !== undefined,
  );
  return indexOf.reduce((count, index) => count + (live[index] === true ? 1 : 0), 0);
}

/** Deletes what the read saw; a key with no live version is left alone (no tombstone to write). */
async function del(server: RespServerContext, _session: Session, args: readonly Buffer[]): Promise<Reply> {
  const { addresses } = distinctAddresses(server, args.slice(1));
  const deleted = await mapBounded(addresses, server.options.fanOutMax, async (address) => {
    const result = await read(server, address);
    if (chooseSibling(result.siblings) === undefined) return 0;
    await server.service.delete({ bucket: address.bucket, key: address.key, context: result.context });
    return 1;
  });
  return deleted.reduce<number>((sum, count) => sum + count, 0);
}

/** RESP2: [context, [value|nil, ...]]; RESP3: {context: ..., siblings: [...]}. A tombstone sibling is nil. */
async function getAll(server: RespServerContext, session: Session, args: readonly Buffer[]): Promise<Reply> {
  const result = await read(server, mapKey(args[1] as Buffer, server.options));
  const values = result.siblings.map((sibling) => (sibling.deleted ? null : sibling.value));
  if (session.protocol === 3)
    return new MapReply([
      ['context', result.context],
      ['siblings', values],
    ]);
  return [result.context, values];
}

async function putWithContext(server: RespServerContext, _session: Session, args: readonly Buffer[]): Promise<Reply> {
  const address = mapKey(args[1] as Buffer, server.options);
  const context = takeContext(args[2] as Buffer);
  const value = takeValue(args[3] as Buffer, server.options);
  const written = await server.service.put({
    bucket: address.bucket,
    key: address.key,
    value,
    contentType,
    ...(context === undefined ? {} : { context }),
  });
  return written.context;
}

async function deleteWithContext(
  server: RespServerContext,
  _session: Session,
  args: readonly Buffer[],
): Promise<Reply> {
  const address = mapKey(args[1] as Buffer, server.options);
  const context = takeContext(args[2] as Buffer);
  const deleted = await server.service.delete({
    bucket: address.bucket,
    key: address.key,
    ...(context === undefined ? {} : { context }),
  });
  return deleted.context;
}

const key = { name: 'key', type: 'key' } as const;
const keys = { name: 'key', type: 'key', multiple: true } as const;
const value = { name: 'value', type: 'string' } as const;
const context = { name: 'context', type: 'string' } as const;

export const dataCommands: readonly CommandSpec[] = [
  {
    name: 'get',
    access: 'read',
    arity: 2,
    flags: ['readonly', 'fast'],
    firstKey: 1,
    lastKey: 1,
    step: 1,
    categories: ['@read', '@string', '@fast'],
    group: 'string',
    since: '1.0.0',
    complexity: 'O(1) quorum read',
    summary: 'Returns one value of a key: the latest live sibling.',
    arguments: [key],
    run: get,
  },
  {
    name: 'set',
    access: 'write',
    arity: -3,
    flags: ['write', 'denyoom'],
    firstKey: 1,
    lastKey: 1,
    step: 1,
    categories: ['@write', '@string', '@slow'],
    group: 'string',
    since: '1.0.0',
    complexity: 'one quorum write (NX, XX, GET: a quorum read first)',
    summary:
      'Sets a key, superseding every version the coordinating replica holds. NX/XX are check-then-write; EX/PX are refused.',
    arguments: [
      key,
      value,
      {
        name: 'condition',
        type: 'oneof',
        optional: true,
        arguments: [
          { name: 'nx', type: 'pure-token', token: 'NX' },
          { name: 'xx', type: 'pure-token', token: 'XX' },
        ],
      },
      { name: 'get', type: 'pure-token', token: 'GET', optional: true },
    ],
    run: set,
    runInto: setInto,
  },
  {
    name: 'del',
    access: 'write',
    arity: -2,
    flags: ['write'],
    firstKey: 1,
    lastKey: -1,
    step: 1,
    categories: ['@keyspace', '@write', '@slow'],
    group: 'generic',
    since: '1.0.0',
    complexity: 'O(N) quorum reads and writes',
    summary: 'Deletes keys (what the read part saw); returns how many had a live value.',
    arguments: [keys],
    run: del,
  },
  {
    name: 'exists',
    access: 'read',
    arity: -2,
    flags: ['readonly', 'fast'],
    firstKey: 1,
    lastKey: -1,
    step: 1,
    categories: ['@keyspace', '@read', '@fast'],
    group: 'generic',
    since: '1.0.0',
    complexity: 'O(N) quorum reads',
    summary: 'Counts the given keys that have a live value.',
    arguments: [keys],
    run: exists,
  },
  {
    name: 'mget',
    access: 'read',
    arity: -2,
    flags: ['readonly', 'fast'],
    firstKey: 1,
    lastKey: -1,
    step: 1,
    categories: ['@read', '@string', '@fast'],
    group: 'string',
    since: '1.0.0',
    complexity: 'O(N) quorum reads',
    summary: 'Returns one value per key, nil when absent.',
    arguments: [keys],
    run: mget,
  },
  {
    name: 'mset',
    access: 'write',
    arity: -3,
    flags: ['write', 'denyoom'],
    firstKey: 1,
    lastKey: -1,
    step: 2,
    categories: ['@write', '@string', '@slow'],
    group: 'string',
    since: '1.0.1',
    complexity: 'O(N) quorum writes',
    summary: 'Sets several keys, each as SET does; not atomic.',
    arguments: [{ name: 'data', type: 'block', multiple: true, arguments: [key, value] }],
    run: mset,
  },
  {
    name: 'ew.getall',
    access: 'read',
    arity: 2,
    flags: ['readonly'],
    firstKey: 1,
    lastKey: 1,
    step: 1,
    categories: ['@read', '@everwrite'],
    group: 'everwrite',
    since: '0.1.0',
    complexity: 'O(1) quorum read',
    summary: 'Returns the causal context and every sibling of a key (nil for a tombstone).',
    arguments: [key],
    run: getAll,
  },
  {
    name: 'ew.put',
    access: 'write',
    arity: 4,
    flags: ['write', 'denyoom'],
    firstKey: 1,
    lastKey: 1,
    step: 1,
    categories: ['@write', '@everwrite'],
    group: 'everwrite',
    since: '0.1.0',
    complexity: 'O(1) quorum write',
    summary: 'Writes a value with a causal context from EW.GETALL ("" for none); returns the new context.',
    arguments: [key, context, value],
    run: putWithContext,
  },
  {
    name: 'ew.del',
    access: 'write',
    arity: 3,
    flags: ['write'],
    firstKey: 1,
    lastKey: 1,
    step: 1,
    categories: ['@write', '@everwrite'],
    group: 'everwrite',
    since: '0.1.0',
    complexity: 'O(1) quorum write',
    summary: 'Deletes with a causal context from EW.GETALL ("" for none); returns the new context.',
    arguments: [key, context],
    run: deleteWithContext,
  },
];
