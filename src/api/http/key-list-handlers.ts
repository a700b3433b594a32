// Why: GET /buckets/{b}/keys lists a bucket's keys over a coverage plan (decision 0030), in two
// forms: `keys=stream` writes the whole listing as newline-delimited JSON, one line per page and a
// last line that says whether it is complete; `keys=true` answers one bounded page and a
// continuation cursor. Both are expensive and bounded: the stream pulls the next page only once
// the socket took the last one (a slow reader holds one page, and one that stops reading is cut
// after `drainTimeoutMs`), and a node runs at most `listingsMax` listings at once.
import { EverwriteError } from '../../core/base/errors.ts';
import { keyListLimits } from '../../core/key-listing/index.ts';
import type { KeyListing, KeyListPage } from '../../runtime/service.ts';
import type { Exchange, ServerContext } from './exchange.ts';
import { decodeBucket } from './request-input.ts';
import { sendJson } from './respond.ts';

export const keyListHttpLimits = Object.freeze({
  /** Listings one HTTP server runs at once; more are answered 429 EVERWRITE_OVERLOADED. */
  listingsMax: 8,
  /** How long a stream waits for a reader to take a page before it cuts the connection. */
  drainTimeoutMs: 30_000,
});

interface ListQuery {
  readonly mode: 'stream' | 'page';
  readonly continuation?: string;
  readonly maxKeys?: number;
}

const maxKeysPattern = /^[1-9][0-9]{0,6}$/;

function badQuery(message: string): never {
  throw new EverwriteError('EVERWRITE_BAD_REQUEST', message);
}

/** `keys` (stream or true), and for a page `max_keys` and `continuation`; anything else, or a repeat, is refused. */
export function parseListQuery(rawQuery: string): ListQuery {
  const values = new Map<string, string>();
  for (const [name, value] of new URLSearchParams(rawQuery)) {
    if (name !== 'keys' && name !== 'max_keys' && name !== 'continuation')
      badQuery(`unknown query parameter ${JSON.stringify(name)}; accepted: keys, max_keys, continuation`);
    if (values.has(name)) badQuery(`query parameter ${name} given more than once`);
    values.set(name, value);
  }
  const keys = values.get('keys');
  if (keys !== 'stream' && keys !== 'true')
    return badQuery(
      'listing keys is expensive: ask for it with keys=stream (the whole bucket) or keys=true (one page)',
    );
  if (keys === 'stream') {
    if (values.size > 1) badQuery('max_keys and continuation page a keys=true listing; keys=stream takes neither');
    return { mode: 'stream' };
  }
  const maxKeys = values.get('max_keys');
  if (maxKeys !== undefined && (!maxKeysPattern.test(maxKeys) || Number(maxKeys) > keyListLimits.pageKeysMax))
    badQuery(`max_keys must be an integer from 1 to ${keyListLimits.pageKeysMax}`);
  const continuation = values.get('continuation');
  return {
    mode: 'page',
    ...(continuation === undefined ? {} : { continuation }),
    ...(maxKeys === undefined ? {} : { maxKeys: Number(maxKeys) }),
  };
}

/** The coded partial-result marker for partitions nobody answered, or null when there were none. */
export function partialMarker(
  missingPartitions: readonly number[],
): { code: 'EVERWRITE_PARTIAL_LISTING'; message: string; missingPartitions: readonly number[] } | null {
  if (missingPartitions.length === 0) return null;
  return {
    code: 'EVERWRITE_PARTIAL_LISTING',
    message: `no live replica answered for ${missingPartitions.length} partitions; their keys are not listed`,
    missingPartitions,
  };
}

const openListings = new WeakMap<ServerContext, { count: number }>();

/** Runs `work` as one of the server's bounded listings. */
async function asListing(context: ServerContext, work: () => Promise<void>): Promise<void> {
  let open = openListings.get(context);
  if (open === undefined) openListings.set(context, (open = { count: 0 }));
  if (open.count >= keyListHttpLimits.listingsMax)
    throw new EverwriteError(
      'EVERWRITE_OVERLOADED',
      `${open.count} key listings are running on this node; try again later`,
    );
  open.count += 1;
  try {
    await work();
  } finally {
    open.count -= 1;
  }
}

export async function listBucketKeys(context: ServerContext, exchange: Exchange): Promise<void> {
  const bucket = decodeBucket(exchange.rawBucket, context.options.limits);
  const query = parseListQuery(exchange.rawQuery);
  const service = context.service;
  if (service.listKeys === undefined)
    throw new EverwriteError('EVERWRITE_NOT_IMPLEMENTED', 'this node cannot list keys');
  const listing = service.listKeys(bucket, {
    ...(query.continuation === undefined ? {} : { cursor: query.continuation }),
    ...(query.maxKeys === undefined ? {} : { pageKeysMax: query.maxKeys }),
  });
  await asListing(context, () =>
    query.mode === 'stream' ? streamListing(exchange, listing) : answerPage(exchange, listing),
  );
}

async function answerPage(exchange: Exchange, listing: KeyListing): Promise<void> {
  const page: KeyListPage = (await listing.nextPage()) ?? { keys: [], missingPartitions: [], cursor: undefined };
  sendJson(exchange.response, 200, {
    keys: page.keys,
    continuation: page.cursor ?? null,
    partial: partialMarker(page.missingPartitions),
  });
}

/** Resolves once the socket drained, false if it closed or did not drain in time. */
function drained(exchange: Exchange): Promise<boolean> {
  const response = exchange.response;
  if (response.destroyed) return Promise.resolve(false);
  return new Promise((resolve) => {
    const finish = (ok: boolean): void => {
      clearTimeout(timer);
      response.off('drain', onDrain);
      response.off('close', onClose);
      resolve(ok);
    };
    const onDrain = (): void => finish(true);
    const onClose = (): void => finish(false);
    const timer = setTimeout(() => finish(false), keyListHttpLimits.drainTimeoutMs);
    response.on('drain', onDrain);
    response.on('close', onClose);
  });
}

async function streamListing(exchange: Exchange, listing: KeyListing): Promise<void> {
  const response = exchange.response;
  // The first page is read before the head goes out, so a bad cursor or an early failure is still a coded status.
  let page = await listing.nextPage();
  response.statusCode = 200;
  response.setHeader('Content-Type', 'application/x-ndjson; charset=utf-8');
  const missing: number[] = [];
  while (page !== undefined) {
    // A reader that went away while the page was read: stop here, not at the next write.
    if (response.destroyed) return;
    missing.push(...page.missingPartitions);
    if (
      page.keys.length > 0 &&
      !response.write(`${JSON.stringify({ keys: page.keys })}\n`) &&
      !(await drained(exchange))
    ) {
      response.destroy();
      return;
    }
    if (response.destroyed) return;
    const next = await nextOrError(listing, response);
    if (next === null) return;
    page = next;
  }
  response.end(`${JSON.stringify({ done: true, partial: partialMarker(missing) })}\n`);
}

/** The next page; a failure after the head went out ends the stream with an error line and answers null. */
async function nextOrError(
  listing: KeyListing,
  response: Exchange['response'],
): Promise<KeyListPage | undefined | null> {
  try {
    return await listing.nextPage();
  } catch (error) {
    const coded =
      error instanceof EverwriteError
        ? error
        : new EverwriteError('EVERWRITE_INTERNAL', 'the listing failed; the node logged the details');
    response.end(`${JSON.stringify({ done: true, error: coded.toJSON() })}\n`);
    return null;
  }
}
