// Why: what a node keeps in its metadata namespace as JSON (bucket props, handoff progress) is read
// back at every boot from a disk that may hold torn or hand-edited bytes; each reader parses the
// same way and checks the entry is filed under the key it names, so both live here once.
const strictDecoder = new TextDecoder('utf-8', { fatal: true });

/** The stored JSON object's fields, or undefined when the bytes are not UTF-8 JSON of an object. */
export function parseStoredObject(value: Uint8Array): Record<string, unknown> | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(strictDecoder.decode(value));
  } catch {
    return undefined;
  }
  return typeof parsed === 'object' && parsed !== null ? (parsed as Record<string, unknown>) : undefined;
}

export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((byte, index) => b[index] === byte);
}

export function startsWith(key: Uint8Array, prefix: Uint8Array): boolean {
  return key.length >= prefix.length && prefix.every((byte, index) => key[index] === byte);
}
