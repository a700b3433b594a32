// Why: the client's half of key listing (decision 0030): the pages of GET /buckets/{b}/keys?keys=true
// read one at a time with their continuation, so an async iterator holds one page, asks for the
// next only when the caller wants more keys, and (the cursor naming a partition and a key, not a
// node) may send each page to whichever node is up. Expensive: for batch jobs, never a hot path.
import { EverwriteClientError, badArgument, clientErrorCodes } from './errors.ts';
import type { HttpAnswer } from './http-exchange.ts';
import { jsonAnswer } from './responses.ts';

/** One page as the node answered it. */
export interface KeyPage {
  readonly keys: readonly string[];
  /** Hand back to continue; null when this page ended the listing. */
  readonly continuation: string | null;
  /** Partitions no live replica answered for in this page (their keys are missing); empty when none. */
  readonly missingPartitions: readonly number[];
}

export interface ListKeysOptions {
  /** Keys per page, 1 to 1000 (the node's bound); default 1000. */
  readonly pageKeys?: number;
  /** Per page, in milliseconds; default the client's timeoutMs. */
  readonly timeoutMs?: number;
  /**
   * Missing partitions end the iteration with EVERWRITE_PARTIAL_LISTING (after every key that was
   * listed) unless this is true; `missingPartitions` of listKeysPage shows them either way.
   */
  readonly allowPartial?: boolean;
}

export const pageKeysMax = 1000;

/** The page query path; the arguments are checked here so nothing malformed is sent. */
export function keyPagePath(bucket: string, continuation: string | undefined, pageKeys: number | undefined): string {
  if (typeof bucket !== 'string' || bucket === '') throw badArgument('bucket must be a non-empty string');
  if (pageKeys !== undefined && (!Number.isInteger(pageKeys) || pageKeys < 1 || pageKeys > pageKeysMax))
    throw badArgument(`pageKeys must be an integer from 1 to ${pageKeysMax}`);
  if (continuation !== undefined && (typeof continuation !== 'string' || continuation === ''))
    throw badArgument('continuation must be a non-empty string from an earlier page');
  let path: string;
  try {
    path = `/buckets/${encodeURIComponent(bucket)}/keys?keys=true`;
  } catch {
    throw badArgument('bucket must be valid Unicode (no lone surrogates)');
  }
  if (pageKeys !== undefined) path += `&max_keys=${pageKeys}`;
  if (continuation !== undefined) path += `&continuation=${encodeURIComponent(continuation)}`;
  return path;
}

function malformed(node: string, answer: HttpAnswer): never {
  throw new EverwriteClientError({
    code: clientErrorCodes.badResponse,
    message: `${node} answered a key page the client cannot read`,
    status: answer.status,
    node,
  });
}

/** Reads a page answer; anything but the documented shape is EVERWRITE_BAD_RESPONSE. */
export function parseKeyPage(answer: HttpAnswer, node: string): KeyPage {
  const body = jsonAnswer(answer, node) as { keys?: unknown; continuation?: unknown; partial?: unknown } | null;
  const keys = body?.keys;
  if (!Array.isArray(keys) || !keys.every((key) => typeof key === 'string')) return malformed(node, answer);
  const continuation = body?.continuation;
  if (continuation !== null && typeof continuation !== 'string') return malformed(node, answer);
  const partial = body?.partial as { missingPartitions?: unknown } | null | undefined;
  const missing = partial === null || partial === undefined ? [] : partial.missingPartitions;
  if (!Array.isArray(missing) || !missing.every((partition) => Number.isInteger(partition)))
    return malformed(node, answer);
  return { keys: keys as string[], continuation, missingPartitions: missing as number[] };
}

/** Pages fetched one after another through `fetchPage`; yields their keys, then fails if any partition was missing (unless allowed). */
export async function* iterateKeys(
  fetchPage: (continuation: string | undefined) => Promise<KeyPage>,
  allowPartial: boolean,
): AsyncGenerator<string, void, undefined> {
  const missing: number[] = [];
  let continuation: string | undefined;
  do {
    const page = await fetchPage(continuation);
    missing.push(...page.missingPartitions);
    yield* page.keys;
    continuation = page.continuation ?? undefined;
  } while (continuation !== undefined);
  if (missing.length > 0 && !allowPartial) {
    throw new EverwriteClientError({
      code: 'EVERWRITE_PARTIAL_LISTING',
      message: `no live replica answered for ${missing.length} partitions; their keys were not listed`,
      details: { missingPartitions: missing },
    });
  }
}
