// Why: the core keys Maps and Sets by byte strings (storage keys in the Merkle trees), and turns
// bytes into a string of one char per byte on every replicated write. `+=` per byte builds ~25
// intermediate strings for a 25-byte key (~600 bytes of garbage); String.fromCharCode.apply over
// a Uint8Array first copies it into an argument list (~250 bytes). Over a plain array of numbers
// V8 passes the elements as they are, so the only allocation is the string itself (~50 bytes,
// measured with a sampling heap profile). The core may not use Node's Buffer.latin1Slice.

/** Keys up to this many bytes are copied into a reused plain array of their length. */
const reusedLengthMax = 256;
/** One plain array per length, made the first time a string of that length is built. */
const charCodes: Array<number[] | undefined> = [];
/** Longer inputs go in chunks, far below the engine's argument limit. */
const chunkBytes = 8192;

/** The bytes of a string made by latin1Text (each code unit one byte): its inverse. */
export function latin1Bytes(text: string): Uint8Array {
  const bytes = new Uint8Array(text.length);
  for (let index = 0; index < text.length; index++) bytes[index] = text.charCodeAt(index);
  return bytes;
}

/** The bytes as a string of one char per byte (code units 0-255, so it sorts like the bytes). */
export function latin1Text(bytes: Uint8Array): string {
  const length = bytes.length;
  if (length <= reusedLengthMax) {
    let codes = charCodes[length];
    if (codes === undefined) charCodes[length] = codes = new Array<number>(length).fill(0);
    for (let index = 0; index < length; index++) codes[index] = bytes[index] as number;
    return String.fromCharCode.apply(null, codes);
  }
  let text = '';
  for (let start = 0; start < length; start += chunkBytes)
    text += String.fromCharCode.apply(null, bytes.subarray(start, start + chunkBytes) as unknown as number[]);
  return text;
}
