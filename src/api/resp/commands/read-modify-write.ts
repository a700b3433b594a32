// Why: the Redis commands that change a key according to its current value: SETNX, GETSET and the
// counters INCR, INCRBY, DECR, DECRBY. Each reads the key at quorum, computes, and writes back with
// the read's causal context, so the write supersedes every version the read saw and nothing else.
// None is atomic: two clients can read the same value and both write (decision 0028 and
// docs/RESP.md say what that gives). A counter works on the value GET answers (resolve.ts), the
// one sibling Redis clients can see; a value that is not a 64-bit decimal integer is refused with
// Redis's own error text, and so is a result past the 64-bit range.
import type { GetResult } from '../../../runtime/service.ts';
import type { CommandSpec, RespServerContext, Session } from '../context.ts';
import { notAnInteger } from '../errors.ts';
import { mapKey, takeValue } from '../keys.ts';
import { ErrorReply } from '../reply.ts';
import type { Reply } from '../reply.ts';
import { chooseSibling } from '../resolve.ts';
import { readThenWrite } from './data.ts';

const int64Min = -(2n ** 63n);
const int64Max = 2n ** 63n - 1n;
/** The longest decimal text of a 64-bit integer: a sign and 19 digits. */
const int64CharactersMax = 20;
/** Redis's string2ll: no sign on zero, no plus, no leading zeros, no spaces. */
const int64Pattern = /^(?:0|-?[1-9][0-9]{0,18})$/;
const contentTypeDefault = 'application/octet-stream';

const overflow = new ErrorReply('ERR increment or decrement would overflow');
const decrementOverflow = new ErrorReply('ERR decrement would overflow');

/** The 64-bit integer `bytes` spell as Redis would read it, or undefined. Bounded before any parsing. */
export function parseInt64(bytes: Uint8Array): bigint | undefined {
  if (bytes.byteLength === 0 || bytes.byteLength > int64CharactersMax) return undefined;
  const text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');
  if (!int64Pattern.test(text)) return undefined;
  const value = BigInt(text);
  return value < int64Min || value > int64Max ? undefined : value;
}

/** Reads the key, adds `delta` to the value GET would answer (0 when absent), writes the sum back with the read's context. */
async function addToCounter(server: RespServerContext, rawKey: Buffer, delta: bigint): Promise<Reply> {
  const address = mapKey(rawKey, server.options);
  const current: GetResult = await server.service.get(address.bucket, address.key);
  const chosen = chooseSibling(current.siblings);
  const value = chosen === undefined ? 0n : parseInt64(chosen.value);
  if (value === undefined) return notAnInteger;
  const sum = value + delta;
  if (sum < int64Min || sum > int64Max) return overflow;
  const text = Buffer.from(sum.toString(), 'latin1');
  await server.service.put({
    bucket: address.bucket,
    key: address.key,
    value: text,
    contentType: chosen?.contentType ?? contentTypeDefault,
    ...(current.context === '' ? {} : { context: current.context }),
  });
  return Number.isSafeInteger(Number(sum)) ? Number(sum) : sum;
}

function incr(server: RespServerContext, _session: Session, args: readonly Buffer[]): Promise<Reply> {
  return addToCounter(server, args[1] as Buffer, 1n);
}

function decr(server: RespServerContext, _session: Session, args: readonly Buffer[]): Promise<Reply> {
  return addToCounter(server, args[1] as Buffer, -1n);
}

async function incrBy(server: RespServerContext, _session: Session, args: readonly Buffer[]): Promise<Reply> {
  const delta = parseInt64(args[2] as Buffer);
  if (delta === undefined) return notAnInteger;
  return addToCounter(server, args[1] as Buffer, delta);
}

async function decrBy(server: RespServerContext, _session: Session, args: readonly Buffer[]): Promise<Reply> {
  const delta = parseInt64(args[2] as Buffer);
  if (delta === undefined) return notAnInteger;
  // Its negation is past the range, as in Redis.
  if (delta === int64Min) return decrementOverflow;
  return addToCounter(server, args[1] as Buffer, -delta);
}

/** SETNX: SET NX answering 1 when it wrote, 0 when a live value was there. */
async function setIfAbsent(server: RespServerContext, _session: Session, args: readonly Buffer[]): Promise<Reply> {
  const outcome = await readThenWrite(
    server,
    mapKey(args[1] as Buffer, server.options),
    takeValue(args[2] as Buffer, server.options),
    'nx',
  );
  return outcome.written ? 1 : 0;
}

/** GETSET: SET GET, answering the previous value (nil when absent). */
async function getAndSet(server: RespServerContext, _session: Session, args: readonly Buffer[]): Promise<Reply> {
  const outcome = await readThenWrite(
    server,
    mapKey(args[1] as Buffer, server.options),
    takeValue(args[2] as Buffer, server.options),
    undefined,
  );
  return outcome.previous;
}

const key = { name: 'key', type: 'key' } as const;
const value = { name: 'value', type: 'string' } as const;
const increment = { name: 'increment', type: 'integer' } as const;
const decrement = { name: 'decrement', type: 'integer' } as const;
const counterComplexity = 'a quorum read, then a quorum write with its context; not atomic';

function counter(
  name: string,
  arity: number,
  summary: string,
  run: CommandSpec['run'],
  argument?: typeof increment | typeof decrement,
): CommandSpec {
  return {
    name,
    access: 'write',
    arity,
    flags: ['write', 'denyoom', 'fast'],
    firstKey: 1,
    lastKey: 1,
    step: 1,
    categories: ['@write', '@string', '@fast'],
    group: 'string',
    since: '1.0.0',
    complexity: counterComplexity,
    summary,
    arguments: argument === undefined ? [key] : [key, argument],
    run,
  };
}

export const readModifyWriteCommands: readonly CommandSpec[] = [
  counter(
    'incr',
    2,
    'Adds 1 to the integer value GET answers (0 when absent); not atomic: concurrent INCRs can lose increments.',
    incr,
  ),
  counter('decr', 2, 'Subtracts 1 from the integer value GET answers (0 when absent); not atomic.', decr),
  counter(
    'incrby',
    3,
    'Adds an integer to the integer value GET answers (0 when absent); not atomic.',
    incrBy,
    increment,
  ),
  counter(
    'decrby',
    3,
    'Subtracts an integer from the integer value GET answers (0 when absent); not atomic.',
    decrBy,
    decrement,
  ),
  {
    name: 'setnx',
    access: 'write',
    arity: 3,
    flags: ['write', 'denyoom', 'fast'],
    firstKey: 1,
    lastKey: 1,
    step: 1,
    categories: ['@write', '@string', '@fast'],
    group: 'string',
    since: '1.0.0',
    complexity: counterComplexity,
    summary: 'Sets a key only if it has no live value (SET NX); answers 1 or 0. A check, then a write.',
    arguments: [key, value],
    run: setIfAbsent,
  },
  {
    name: 'getset',
    access: 'write',
    arity: 3,
    flags: ['write', 'denyoom', 'fast'],
    firstKey: 1,
    lastKey: 1,
    step: 1,
    categories: ['@write', '@string', '@fast'],
    group: 'string',
    since: '1.0.0',
    complexity: counterComplexity,
    summary: 'Sets a key and answers its previous value (SET GET).',
    arguments: [key, value],
    run: getAndSet,
  },
];
