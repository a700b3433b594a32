// Why: hinted handoff (Dynamo section 4.6) keeps a write meant for an unreachable primary on a
// fallback node until the primary returns. Hints must survive a restart of the fallback, so they live
// in the node's StorageEngine, in the reserved namespace 65535, and they must be bounded: a long
// outage must not fill the disk. When full, `add` says so and the caller treats the write as not
// hinted (it simply does not count towards W), so the bound never loses an acknowledged write.
//
// Layout in namespace 65535:
//   key   = UTF-8 target NodeId | 0x00 | u64 big-endian sequence
//   value = u16 BE namespace (partition) | u32 BE key length | key | record
// Keys of one target are contiguous and ordered by sequence, so delivery order is stable and a
// target's hints are one range scan. The sequence is node-wide and rebuilt on open as max + 1.
// A hint id is `<target>/<sequence as 16 hex digits>`, sortable within a target.
//
// Replacement: a hint added for a target+namespace+key that already has one replaces it in the same
// atomic batch (the new hint gets a new sequence; the old one is deleted). The new hint carries the
// merge (DVV sync) of the older record and the added one: callers add whatever record they hold,
// which may be concurrent with the older hint, and replacing it outright would drop an
// acknowledged version (found by the simulator, test/sim regression seeds). Adds to one slot are
// serialised so each merge sees the hint the previous add left. A record that does not decode
// cannot be delivered anyway, so an undecodable older one is simply replaced.
import type { BatchOperation, StorageEngine } from '../ports.ts';
import { reservedNamespaces } from '../ports.ts';
import { KeyedSerializer } from '../keyed-serializer.ts';
import { assert } from '../../core/base/assert.ts';
import { utf8Decode, utf8Encode } from '../../core/base/bytes.ts';
import { EverwriteError } from '../../core/base/errors.ts';
import { decodeRecord, encodeRecord, sync } from '../../core/versioning/index.ts';

export interface Hint {
  readonly id: string;
  /** NodeId of the primary the write is meant for. */
  readonly target: string;
  /** The partition (storage namespace) the record belongs to on the target. */
  readonly namespace: number;
  readonly key: Uint8Array;
  readonly record: Uint8Array;
}

export interface HintStoreOptions {
  /** Most hints held at once, across all targets. Default 100000. Why: bounds memory for the index and the delivery backlog. */
  readonly hintsCountMax?: number;
  /** Most bytes of hints held (stored keys plus values), in bytes. Default 256 MiB. Why: bounds the disk a long outage can take. */
  readonly hintsBytesMax?: number;
}

type ResolvedHintStoreOptions = Required<HintStoreOptions>;

function resolveOptions(options: HintStoreOptions): ResolvedHintStoreOptions {
  return Object.freeze({
    hintsCountMax: positiveInteger('hintsCountMax', options.hintsCountMax, 100_000),
    hintsBytesMax: positiveInteger('hintsBytesMax', options.hintsBytesMax, 256 * 1024 * 1024),
  });
}

function positiveInteger(name: string, value: number | undefined, fallback: number): number {
  const chosen = value ?? fallback;
  if (!Number.isSafeInteger(chosen) || chosen < 1)
    throw new EverwriteError(
      'EVERWRITE_BAD_REQUEST',
      `HintStore: option ${name} must be a positive integer, got ${String(chosen)}`,
      { option: name },
    );
  return chosen;
}

/** What the index remembers of one stored hint: enough to replace, remove and count it. */
interface IndexedHint {
  readonly sequence: number;
  /** namespace + key of the hinted record, as a string: the replacement slot. */
  readonly slot: string;
  readonly bytes: number;
}

/** One target's hints, by sequence (for removal) and by slot (for replacement). */
interface TargetIndex {
  readonly bySequence: Map<number, IndexedHint>;
  readonly bySlot: Map<string, IndexedHint>;
  /** Bytes of this target's hints (metrics: bytes pending per target). */
  bytes: number;
}

const hintsNamespace = reservedNamespaces.hints;
const sequenceBytes = 8;
const separator = 0;

export class HintStore {
  readonly options: ResolvedHintStoreOptions;
  private readonly index = new Map<string, TargetIndex>();
  private nextSequence = 1;
  /** Per target+slot: the last add in progress, so adds to one slot run one after another. */
  private readonly slots = new KeyedSerializer();
  private hintCount = 0;
  private hintBytes = 0;

  private constructor(
    private readonly engine: StorageEngine,
    options: HintStoreOptions,
  ) {
    this.options = resolveOptions(options);
  }

  /** Opens the store over an already open engine, rebuilding counts and the index by one scan. */
  static async open(engine: StorageEngine, options: HintStoreOptions = {}): Promise<HintStore> {
    const store = new HintStore(engine, options);
    await store.rebuild();
    return store;
  }

  get count(): number {
    return this.hintCount;
  }

  get bytes(): number {
    return this.hintBytes;
  }

  /** Targets holding at least one hint. */
  targets(): string[] {
    return [...this.index.keys()];
  }

  /** Hints and their bytes held for each target that has some (metrics, the dashboard). */
  pendingByTarget(): Array<{ readonly target: string; readonly count: number; readonly bytes: number }> {
    return [...this.index].map(([target, targetIndex]) => ({
      target,
      count: targetIndex.bySequence.size,
      bytes: targetIndex.bytes,
    }));
  }

  /**
   * Stores a hint (replacing the target's older hint for the same namespace+key). Resolves false,
   * storing nothing, when the bounds would be exceeded: the caller must treat the write as not hinted.
   */
  add(hint: Omit<Hint, 'id'>, options: { readonly durable: boolean }): Promise<boolean> {
    assertTarget(hint.target);
    assert(
      Number.isInteger(hint.namespace) && hint.namespace >= 0 && hint.namespace < reservedNamespaces.firstReserved,
      `hint namespace must be a partition, got ${hint.namespace}`,
    );
    const lock = `${hint.target}\u0000${slotOf(hint.namespace, hint.key)}`;
    return this.slots.run(lock, () => this.addMerged(hint, options));
  }

  /** Folds the slot's older hint (if any) into the added record, then stores the result. */
  private async addMerged(hint: Omit<Hint, 'id'>, options: { readonly durable: boolean }): Promise<boolean> {
    const older = this.index.get(hint.target)?.bySlot.get(slotOf(hint.namespace, hint.key));
    if (older === undefined) return this.addNow(hint, options);
    const olderKey = encodeHintKey(hint.target, older.sequence);
    const stored = await this.engine.get(hintsNamespace, olderKey);
    const olderHint = stored === undefined ? undefined : decodeHint(olderKey, stored);
    return this.addNow(
      olderHint === undefined ? hint : { ...hint, record: mergeRecords(olderHint.record, hint.record) },
      options,
    );
  }

  private async addNow(hint: Omit<Hint, 'id'>, options: { readonly durable: boolean }): Promise<boolean> {
    const storedKey = encodeHintKey(hint.target, this.nextSequence);
    const storedValue = encodeHintValue(hint.namespace, hint.key, hint.record);
    const bytes = storedKey.length + storedValue.length;
    const slot = slotOf(hint.namespace, hint.key);
    const targetIndex = this.index.get(hint.target);
    const previous = targetIndex?.bySlot.get(slot);
    const count = this.hintCount + (previous === undefined ? 1 : 0);
    const totalBytes = this.hintBytes + bytes - (previous?.bytes ?? 0);
    if (count > this.options.hintsCountMax || totalBytes > this.options.hintsBytesMax) return false;
    // The index is updated before the write so concurrent adds see the reservation and respect the bounds.
    const added: IndexedHint = { sequence: this.nextSequence++, slot, bytes };
    if (previous !== undefined) this.forget(hint.target, previous);
    this.remember(hint.target, added);
    const operations: BatchOperation[] = [{ type: 'put', key: storedKey, value: storedValue }];
    if (previous !== undefined) operations.push({ type: 'delete', key: encodeHintKey(hint.target, previous.sequence) });
    try {
      await this.engine.batch(hintsNamespace, operations, options);
    } catch (error) {
      // The batch is atomic: neither the new hint nor the removal happened. Undo the reservation.
      if (this.index.get(hint.target)?.bySequence.get(added.sequence) === added) {
        this.forget(hint.target, added);
        if (previous !== undefined && this.index.get(hint.target)?.bySlot.get(slot) === undefined)
          this.remember(hint.target, previous);
      }
      throw error;
    }
    return true;
  }

  /** Up to `limit` hints for `target`, oldest first. */
  async forTarget(target: string, limit: number): Promise<Hint[]> {
    assertTarget(target);
    assert(Number.isInteger(limit) && limit >= 0, `limit must be a non-negative integer, got ${limit}`);
    const targetIndex = this.index.get(target);
    if (limit === 0 || targetIndex === undefined) return [];
    const prefix = targetPrefix(target);
    const hints: Hint[] = [];
    for await (const [storedKey, storedValue] of this.engine.scan(hintsNamespace, {
      start: prefix,
      end: prefixEnd(prefix),
    })) {
      const hint = decodeHint(storedKey, storedValue);
      // A stored hint the index no longer knows was removed or replaced, but the delete did not
      // reach the disk (a failed write), or is still on its way. Skip it: served first (it is the
      // oldest), it would be delivered every round, never removed, and starve the hints behind it
      // (found by the simulator). It is not deleted here, as an add that fails may yet restore it;
      // the next open rebuilds the index from the disk and delivers it once more, harmlessly.
      if (hint === undefined || !targetIndex.bySequence.has((parseHintId(hint.id) as { sequence: number }).sequence))
        continue;
      hints.push(hint);
      if (hints.length >= limit) break;
    }
    return hints;
  }

  /**
   * Removes delivered hints. Unknown ids are ignored (already removed or replaced). The delete is
   * buffered: if it is lost in a crash the hint is delivered again, which the target merges harmlessly.
   */
  async remove(ids: readonly string[]): Promise<void> {
    const operations: Array<{ readonly type: 'delete'; readonly key: Uint8Array }> = [];
    for (const id of ids) {
      const parsed = parseHintId(id);
      if (parsed === undefined) continue;
      const indexed = this.index.get(parsed.target)?.bySequence.get(parsed.sequence);
      if (indexed === undefined) continue;
      this.forget(parsed.target, indexed);
      operations.push({ type: 'delete', key: encodeHintKey(parsed.target, parsed.sequence) });
    }
    if (operations.length > 0) await this.engine.batch(hintsNamespace, operations, { durable: false });
  }

  private remember(target: string, hint: IndexedHint): void {
    let targetIndex = this.index.get(target);
    if (targetIndex === undefined)
      this.index.set(target, (targetIndex = { bySequence: new Map(), bySlot: new Map(), bytes: 0 }));
    targetIndex.bySequence.set(hint.sequence, hint);
    targetIndex.bySlot.set(hint.slot, hint);
    targetIndex.bytes += hint.bytes;
    this.hintCount++;
    this.hintBytes += hint.bytes;
  }

  private forget(target: string, hint: IndexedHint): void {
    const targetIndex = this.index.get(target);
    if (targetIndex?.bySequence.get(hint.sequence) !== hint) return;
    targetIndex.bySequence.delete(hint.sequence);
    if (targetIndex.bySlot.get(hint.slot) === hint) targetIndex.bySlot.delete(hint.slot);
    targetIndex.bytes -= hint.bytes;
    if (targetIndex.bySequence.size === 0) this.index.delete(target);
    this.hintCount--;
    this.hintBytes -= hint.bytes;
  }

  /** Rebuilds the index from storage. Entries that do not decode are deleted: they cannot be delivered. */
  private async rebuild(): Promise<void> {
    const undecodable: Array<{ readonly type: 'delete'; readonly key: Uint8Array }> = [];
    for await (const [storedKey, storedValue] of this.engine.scan(hintsNamespace)) {
      const hint = decodeHint(storedKey, storedValue);
      if (hint === undefined) {
        undecodable.push({ type: 'delete', key: storedKey });
        continue;
      }
      const parsed = parseHintId(hint.id) as { target: string; sequence: number };
      const indexed: IndexedHint = {
        sequence: parsed.sequence,
        slot: slotOf(hint.namespace, hint.key),
        bytes: storedKey.length + storedValue.length,
      };
      // Scan order is sequence order within a target, so if two hints ever share a slot the newer
      // one ends up as the slot's replacement candidate; both are counted and both get delivered.
      this.remember(parsed.target, indexed);
      this.nextSequence = Math.max(this.nextSequence, parsed.sequence + 1);
    }
    if (undecodable.length > 0) await this.engine.batch(hintsNamespace, undecodable, { durable: false });
  }
}

/** The merge of two hinted records; whichever decodes when the other does not (it could never be delivered). */
function mergeRecords(older: Uint8Array, added: Uint8Array): Uint8Array {
  let olderRecord;
  try {
    olderRecord = decodeRecord(older);
  } catch {
    return added;
  }
  let addedRecord;
  try {
    addedRecord = decodeRecord(added);
  } catch {
    return older;
  }
  return encodeRecord(sync(olderRecord, addedRecord));
}

function assertTarget(target: string): void {
  assert(
    typeof target === 'string' && target.length > 0 && !target.includes('\u0000'),
    'a hint target is a non-empty NodeId without NUL',
  );
}

function targetPrefix(target: string): Uint8Array {
  const name = utf8Encode(target);
  const prefix = new Uint8Array(name.length + 1);
  prefix.set(name, 0);
  prefix[name.length] = separator;
  return prefix;
}

/** The first key after every key that starts with `prefix` (the prefix ends in 0x00, never 0xff). */
function prefixEnd(prefix: Uint8Array): Uint8Array {
  const end = prefix.slice();
  end[end.length - 1] = (end[end.length - 1] as number) + 1;
  return end;
}

/** Exported for the fuzzers (test/fuzz), which round-trip hints through it. */
export function encodeHintKey(target: string, sequence: number): Uint8Array {
  const prefix = targetPrefix(target);
  const key = new Uint8Array(prefix.length + sequenceBytes);
  key.set(prefix, 0);
  const view = new DataView(key.buffer);
  view.setUint32(prefix.length, Math.floor(sequence / 2 ** 32));
  view.setUint32(prefix.length + 4, sequence >>> 0);
  return key;
}

/** Exported for the fuzzers (test/fuzz). */
export function encodeHintValue(namespace: number, key: Uint8Array, record: Uint8Array): Uint8Array {
  const value = new Uint8Array(2 + 4 + key.length + record.length);
  const view = new DataView(value.buffer);
  view.setUint16(0, namespace);
  view.setUint32(2, key.length);
  value.set(key, 6);
  value.set(record, 6 + key.length);
  return value;
}

/** Undefined when the stored bytes are not a hint this code wrote. Exported for the fuzzers (test/fuzz). */
export function decodeHint(storedKey: Uint8Array, storedValue: Uint8Array): Hint | undefined {
  const separatorAt = storedKey.length - sequenceBytes - 1;
  if (separatorAt < 1 || storedKey[separatorAt] !== separator || storedValue.length < 6) return undefined;
  let target: string;
  try {
    target = utf8Decode(storedKey.subarray(0, separatorAt));
  } catch {
    return undefined;
  }
  // The store never writes these (a target has no NUL, sequences count up from 1), and indexing
  // them would break it: the rebuild parses the sequence back from the id, and forTarget asserts
  // its target.
  if (target.includes('\u0000')) return undefined;
  const keyView = new DataView(storedKey.buffer, storedKey.byteOffset, storedKey.byteLength);
  const sequence = keyView.getUint32(separatorAt + 1) * 2 ** 32 + keyView.getUint32(separatorAt + 5);
  if (!Number.isSafeInteger(sequence)) return undefined;
  const valueView = new DataView(storedValue.buffer, storedValue.byteOffset, storedValue.byteLength);
  const namespace = valueView.getUint16(0);
  const keyLength = valueView.getUint32(2);
  if (6 + keyLength > storedValue.length || namespace >= reservedNamespaces.firstReserved) return undefined;
  const key = storedValue.slice(6, 6 + keyLength);
  const record = storedValue.slice(6 + keyLength);
  return { id: hintId(target, sequence), target, namespace, key, record };
}

function hintId(target: string, sequence: number): string {
  return `${target}/${sequence.toString(16).padStart(16, '0')}`;
}

/** The target a hint id names, or undefined for an id this store did not make. */
export function targetOfHintId(id: string): string | undefined {
  return parseHintId(id)?.target;
}

function parseHintId(id: string): { target: string; sequence: number } | undefined {
  const slash = id.lastIndexOf('/');
  if (slash < 1 || id.length - slash - 1 !== 16) return undefined;
  const sequence = Number.parseInt(id.slice(slash + 1), 16);
  if (!Number.isSafeInteger(sequence)) return undefined;
  return { target: id.slice(0, slash), sequence };
}

function slotOf(namespace: number, key: Uint8Array): string {
  let text = `${namespace}:`;
  for (let index = 0; index < key.length; index++) text += String.fromCharCode(key[index] as number);
  return text;
}
