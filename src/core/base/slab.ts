// Why: every replicated write encodes its record (and its storage key) into a fresh byte array of a
// few hundred bytes. V8 gives each `new Uint8Array(n)` with n > 64 its own off-heap backing store:
// a malloc, an entry in the array-buffer registry and a free by the sweeper, per record. A slab
// allocator hands out views of one shared 64 KiB ArrayBuffer instead (the scheme of Node's Buffer
// pool), so a small encoding costs one typed-array object on the young heap and a bump of an offset.
//
// What callers must know about the bytes they get (the price of sharing):
// - `.buffer` is the whole slab, not theirs, and `byteOffset` is usually not 0: code that hands the
//   bytes on must use (buffer, byteOffset, byteLength), never `.buffer` alone, and must never
//   transfer or detach the buffer.
// - a view keeps its whole slab alive: one 200-byte record kept for an hour keeps 64 KiB for an
//   hour. Bytes meant to live long (caches, in-memory stores, indexes) should be copied (`slice()`).
// - views never overlap and a slab is never reused or rewritten once full, so writing into one view
//   never changes another, and bytes handed to an engine that reads them later (lmdb-js reads a
//   put's value when its transaction commits) stay as they were written.
// - like `new Uint8Array(n)`, a fresh view is zero-filled (a new ArrayBuffer is, and no byte of a
//   slab is handed out twice).
// Deterministic and free of I/O, so the pure core may use it; only the memory layout is shared,
// never the contents, so results do not depend on who else allocated before.

import { assert } from './assert.ts';

export interface SlabOptions {
  /** Size of each shared ArrayBuffer, in bytes. Default 64 KiB: ~300 encoded records per malloc. */
  readonly slabBytes: number;
  /**
   * Largest request served from a slab, in bytes; larger ones get their own array. Default 4 KiB:
   * a large value would use up a slab in a few requests and pin it for as long as it lives.
   */
  readonly allocationBytesMax: number;
}

export const defaultSlabOptions: Readonly<SlabOptions> = Object.freeze({
  slabBytes: 64 * 1024,
  allocationBytesMax: 4 * 1024,
});

function validatedOptions(options: Partial<SlabOptions>): Readonly<SlabOptions> {
  const slabBytes = options.slabBytes ?? defaultSlabOptions.slabBytes;
  const allocationBytesMax = options.allocationBytesMax ?? defaultSlabOptions.allocationBytesMax;
  assert(Number.isSafeInteger(slabBytes) && slabBytes >= 1, 'slabBytes is a positive integer');
  assert(
    Number.isSafeInteger(allocationBytesMax) && allocationBytesMax >= 0 && allocationBytesMax <= slabBytes,
    'allocationBytesMax is an integer within 0..slabBytes',
  );
  return Object.freeze({ slabBytes, allocationBytesMax });
}

/** Bump allocator over fresh slabs: a slab that cannot fit a request is left to its views and a new one started. */
export class SlabAllocator {
  readonly options: Readonly<SlabOptions>;
  /** Created on first use, so a process that never encodes never holds a slab. */
  private slab: ArrayBuffer | undefined;
  private usedBytes = 0;

  constructor(options: Partial<SlabOptions> = {}) {
    this.options = validatedOptions(options);
  }

  /** `length` zero-filled bytes, as a view of the current slab when small enough (see the file comment). */
  allocate(length: number): Uint8Array {
    assert(Number.isSafeInteger(length) && length >= 0, 'an allocation length is a non-negative integer');
    if (length > this.options.allocationBytesMax) return new Uint8Array(length);
    let slab = this.slab;
    if (slab === undefined || this.usedBytes + length > this.options.slabBytes) {
      slab = this.slab = new ArrayBuffer(this.options.slabBytes);
      this.usedBytes = 0;
    }
    const view = new Uint8Array(slab, this.usedBytes, length);
    this.usedBytes += length;
    return view;
  }
}

/** The slab the core's hot encoders (records, storage keys) share. */
const sharedSlab = new SlabAllocator();

/** `length` zero-filled bytes from the shared slab (see the file comment for what sharing implies). */
export function allocateBytes(length: number): Uint8Array {
  return sharedSlab.allocate(length);
}
