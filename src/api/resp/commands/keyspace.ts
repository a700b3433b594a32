// Why: the Redis commands that enumerate keys (SCAN, KEYS, DBSIZE) and TYPE, over key listing's
// coverage plan (decision 0030). They list the front end's configured bucket: with 'prefixed' key
// mapping, keys of other buckets are not enumerated (there is no listing of buckets). Redis cursors
// are integers and redis-cli parses them as such, while a listing's position is a partition and a key, so
// SCAN hands out small integer cursors that name positions kept in a bounded table on this node:
// a cursor is valid on the node that made it until `cursorsMax` newer ones pushed it out. A listing that
// could not read every partition is an error (TRYAGAIN EVERWRITE_PARTIAL_LISTING), never a silently
// shorter answer; SCAN keeps its cursor then, so retrying it later loses nothing.
import { EverwriteError } from '../../../core/base/errors.ts';
import { keyListLimits } from '../../../core/key-listing/index.ts';
import type { KeyListing, KeyListPage } from '../../../runtime/service.ts';
import type { CommandSpec, RespServerContext, Session } from '../context.ts';
import { notAnInteger, syntaxError } from '../errors.ts';
import { compileGlob, type GlobMatcher } from '../glob.ts';
import { mapKey } from '../keys.ts';
import { ErrorReply, SimpleString, type Reply } from '../reply.ts';
import { chooseSibling } from '../resolve.ts';

export const keyspaceLimits = Object.freeze({
  /** SCAN cursors one server remembers; the oldest is forgotten first. */
  cursorsMax: 4096,
  /** Keys KEYS answers at most; a larger match is refused (use SCAN). */
  keysReplyKeysMax: 100_000,
  /** Whole-bucket listings (KEYS, DBSIZE) one server runs at once. */
  listingsMax: 4,
  /** SCAN's COUNT when none is given, as Redis's. */
  scanCountDefault: 10,
});

/** Per server: SCAN's cursor table and the count of whole-bucket listings running. */
interface KeyspaceState {
  readonly cursors: Map<string, string>;
  nextCursor: number;
  listings: number;
}

const states = new WeakMap<RespServerContext, KeyspaceState>();

function stateOf(server: RespServerContext): KeyspaceState {
  let state = states.get(server);
  if (state === undefined) states.set(server, (state = { cursors: new Map(), nextCursor: 1, listings: 0 }));
  return state;
}

function listingOf(server: RespServerContext, cursor: string | undefined, pageKeysMax: number): KeyListing {
  const service = server.service;
  if (service.listKeys === undefined)
    throw new EverwriteError('EVERWRITE_NOT_IMPLEMENTED', 'this node cannot list keys');
  return service.listKeys(server.options.bucket, { pageKeysMax, ...(cursor === undefined ? {} : { cursor }) });
}

function refusePartial(page: KeyListPage): void {
  if (page.missingPartitions.length === 0) return;
  throw new EverwriteError(
    'EVERWRITE_PARTIAL_LISTING',
    `no live replica answered for partitions ${page.missingPartitions.slice(0, 8).join(', ')}${page.missingPartitions.length > 8 ? ', ...' : ''}; try again later`,
  );
}

/** Runs `visit` over every page of the bucket, as one of the server's bounded whole-bucket listings. */
async function everyPage(server: RespServerContext, visit: (page: KeyListPage) => void): Promise<void> {
  const state = stateOf(server);
  if (state.listings >= keyspaceLimits.listingsMax)
    throw new EverwriteError(
      'EVERWRITE_OVERLOADED',
      `${state.listings} key listings are running on this node; try again later`,
    );
  state.listings += 1;
  try {
    const listing = listingOf(server, undefined, keyListLimits.pageKeysMax);
    for (let page = await listing.nextPage(); page !== undefined; page = await listing.nextPage()) {
      refusePartial(page);
      visit(page);
    }
  } finally {
    state.listings -= 1;
  }
}

/** The cursor the client sends next; "0" once the listing is done. */
function rememberCursor(server: RespServerContext, position: string | undefined): string {
  if (position === undefined) return '0';
  const state = stateOf(server);
  const id = String(state.nextCursor++);
  state.cursors.set(id, position);
  if (state.cursors.size > keyspaceLimits.cursorsMax) state.cursors.delete(state.cursors.keys().next().value as string);
  return id;
}

interface ScanOptions {
  readonly matcher: GlobMatcher | undefined;
  readonly count: number;
  /** Every key is a string; any other TYPE filter matches nothing. */
  readonly typeMatches: boolean;
}

const integerPattern = /^-?[0-9]{1,19}$/;

function parseCount(raw: Buffer): number | ErrorReply {
  const text = raw.toString('latin1');
  if (!integerPattern.test(text)) return notAnInteger;
  const count = Number(text);
  if (count < 1) return syntaxError;
  return Math.min(count, keyListLimits.pageKeysMax);
}

/** SCAN's options after the cursor; an ErrorReply for bad syntax. */
function parseScanOptions(args: readonly Buffer[]): ScanOptions | ErrorReply {
  let matcher: GlobMatcher | undefined;
  let count: number = keyspaceLimits.scanCountDefault;
  let typeMatches = true;
  for (let index = 2; index < args.length; index += 2) {
    const option = (args[index] as Buffer).toString('latin1').toLowerCase();
    const value = args[index + 1];
    if (value === undefined) return syntaxError;
    if (option === 'match') matcher = compileGlob(value);
    else if (option === 'type') typeMatches = value.toString('latin1').toLowerCase() === 'string';
    else if (option === 'count') {
      const parsed = parseCount(value);
      if (parsed instanceof ErrorReply) return parsed;
      count = parsed;
    } else return syntaxError;
  }
  return { matcher, count, typeMatches };
}

function selectKeys(keys: readonly string[], options: Pick<ScanOptions, 'matcher' | 'typeMatches'>): Buffer[] {
  if (!options.typeMatches) return [];
  const chosen: Buffer[] = [];
  for (const key of keys) {
    const bytes = Buffer.from(key, 'utf8');
    if (options.matcher === undefined || options.matcher.matches(bytes)) chosen.push(bytes);
  }
  return chosen;
}

const invalidCursor = new ErrorReply(
  'ERR invalid cursor: not one this node handed out, or forgotten since; start again from 0',
);

async function scan(server: RespServerContext, _session: Session, args: readonly Buffer[]): Promise<Reply> {
  const cursorText = (args[1] as Buffer).toString('latin1');
  if (!/^[0-9]{1,20}$/.test(cursorText)) return invalidCursor;
  const cursor = String(BigInt(cursorText));
  const position = cursor === '0' ? undefined : stateOf(server).cursors.get(cursor);
  if (cursor !== '0' && position === undefined) return invalidCursor;
  const options = parseScanOptions(args);
  if (options instanceof ErrorReply) return options;
  const page = (await listingOf(server, position, options.count).nextPage()) ?? {
    keys: [],
    missingPartitions: [],
    cursor: undefined,
  };
  refusePartial(page);
  return [rememberCursor(server, page.cursor), selectKeys(page.keys, options)];
}

async function keys(server: RespServerContext, _session: Session, args: readonly Buffer[]): Promise<Reply> {
  const matcher = compileGlob(args[1] as Buffer);
  const matched: Buffer[] = [];
  await everyPage(server, (page) => {
    matched.push(...selectKeys(page.keys, { matcher, typeMatches: true }));
    if (matched.length > keyspaceLimits.keysReplyKeysMax)
      throw new EverwriteError(
        'EVERWRITE_BAD_REQUEST',
        `more than ${keyspaceLimits.keysReplyKeysMax} keys match; use SCAN`,
      );
  });
  return matched;
}

async function dbsize(server: RespServerContext): Promise<Reply> {
  let count = 0;
  await everyPage(server, (page) => {
    count += page.keys.length;
  });
  return count;
}

const stringType = new SimpleString('string');
const noneType = new SimpleString('none');

async function type(server: RespServerContext, _session: Session, args: readonly Buffer[]): Promise<Reply> {
  const address = mapKey(args[1] as Buffer, server.options);
  const result = await server.service.get(address.bucket, address.key);
  return chooseSibling(result.siblings) === undefined ? noneType : stringType;
}

const listingComplexity = 'O(N) over every partition of the bucket: expensive, never on a hot path';

export const keyspaceCommands: readonly CommandSpec[] = [
  {
    name: 'scan',
    access: 'read',
    arity: -2,
    flags: ['readonly'],
    firstKey: 0,
    lastKey: 0,
    step: 0,
    categories: ['@keyspace', '@read', '@slow'],
    group: 'generic',
    since: '2.8.0',
    complexity: 'O(COUNT) per call; a full iteration lists every partition of the bucket',
    summary: "Iterates the configured bucket's keys over a coverage plan; cursors are this node's own.",
    arguments: [
      { name: 'cursor', type: 'integer' },
      { name: 'pattern', type: 'string', token: 'MATCH', optional: true },
      { name: 'count', type: 'integer', token: 'COUNT', optional: true },
      { name: 'type', type: 'string', token: 'TYPE', optional: true },
    ],
    run: scan,
  },
  {
    name: 'keys',
    access: 'read',
    arity: 2,
    flags: ['readonly'],
    firstKey: 0,
    lastKey: 0,
    step: 0,
    categories: ['@keyspace', '@read', '@slow', '@dangerous'],
    group: 'generic',
    since: '1.0.0',
    complexity: listingComplexity,
    summary: "Returns the configured bucket's keys matching a glob pattern (at most 100,000).",
    arguments: [{ name: 'pattern', type: 'string' }],
    run: keys,
  },
  {
    name: 'dbsize',
    access: 'read',
    arity: 1,
    flags: ['readonly'],
    firstKey: 0,
    lastKey: 0,
    step: 0,
    categories: ['@keyspace', '@read', '@slow'],
    group: 'server',
    since: '1.0.0',
    complexity: listingComplexity,
    summary: "Counts the configured bucket's live keys by listing them.",
    arguments: [],
    run: dbsize,
  },
  {
    name: 'type',
    access: 'read',
    arity: 2,
    flags: ['readonly', 'fast'],
    firstKey: 1,
    lastKey: 1,
    step: 1,
    categories: ['@keyspace', '@read', '@fast'],
    group: 'generic',
    since: '1.0.0',
    complexity: 'O(1) quorum read',
    summary: 'Answers string for a key with a live value, none otherwise.',
    arguments: [{ name: 'key', type: 'key' }],
    run: type,
  },
];
