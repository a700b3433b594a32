// Why: what a replica's store does to a key's record is protocol, not storage: minting a version
// (the coordinator's own write: update with the client's or the stored context, last-writer-wins for
// lww buckets, the context-size and sibling limits) and merging a record another node sent. These
// pure functions are the one statement of those rules; the runtime's LocalStore applies them to the
// engine's bytes, and the test clusters (test/support) apply them to their maps, so a rule changed
// here changes everywhere it runs.
import { EverwriteError } from '../base/errors.ts';
import {
  checkRecordContext,
  descends,
  resolveLastWriterWins,
  sync,
  update,
  type VersionedRecord,
} from '../versioning/index.ts';
import type { VersionRequest } from './effects.ts';

/**
 * The record after minting `request`'s version into `current`. Refuses, storing nothing, a version
 * that would give the key more writer epochs than a record holds or a context no client could be
 * handed (decisions 0011, 0041), or one sibling too many.
 */
export function mintVersion(current: VersionedRecord, request: VersionRequest): VersionedRecord {
  let next = update(
    current,
    request.useStoredContext ? current.context : request.context,
    request.actor,
    request.stored,
  );
  if (request.lastWriterWins) next = resolveLastWriterWins(next);
  checkRecordContext(next);
  if (next.siblings.length > request.siblingsCountMax) {
    throw new EverwriteError(
      'EVERWRITE_TOO_MANY_SIBLINGS',
      `the key would hold ${next.siblings.length} concurrent versions (limit ${request.siblingsCountMax}); read it and write back with its context to resolve them`,
      { siblings: next.siblings.length, limit: request.siblingsCountMax },
    );
  }
  return next;
}

/**
 * What merging `incoming` into `current` gives: `current` itself when it already holds everything
 * incoming has (nothing to write), `incoming` itself when it holds everything `current` has (the
 * usual replicated write: its bytes can be stored as they came), else the DVV sync of both.
 */
export function mergeIntoReplica(
  current: VersionedRecord,
  incoming: VersionedRecord,
): { readonly record: VersionedRecord; readonly kind: 'unchanged' | 'replaced' | 'merged' } {
  if (descends(current, incoming)) return { record: current, kind: 'unchanged' };
  if (descends(incoming, current)) return { record: incoming, kind: 'replaced' };
  return { record: sync(current, incoming), kind: 'merged' };
}
