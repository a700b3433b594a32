// Why: the versioning tests build many small stored values; one helper keeps them readable.
import type { StoredValue } from '../../../../src/core/versioning/index.ts';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A value written at `lastModifiedMs` by the wall clock; its timestamp defaults to that time (logical part 0). */
export function text(value: string, lastModifiedMs = 0, timestamp = lastModifiedMs * 1024): StoredValue {
  return { value: encoder.encode(value), contentType: 'text/plain', lastModifiedMs, deleted: false, timestamp };
}

export function tombstone(lastModifiedMs = 0, timestamp = lastModifiedMs * 1024): StoredValue {
  return { value: new Uint8Array(0), contentType: '', lastModifiedMs, deleted: true, timestamp };
}

export function valuesOf(record: { siblings: readonly { stored: StoredValue }[] }): string[] {
  return record.siblings
    .map((sibling) => (sibling.stored.deleted ? '<deleted>' : decoder.decode(sibling.stored.value)))
    .sort();
}
