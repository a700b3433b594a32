// Why: src/core type-checks with no Node or DOM types. TextEncoder/TextDecoder are pure WHATWG
// codecs available in every JS runtime we target; this declares just the part the core uses.
declare class TextEncoder {
  encode(input?: string): Uint8Array;
}
declare class TextDecoder {
  constructor(label?: string, options?: { fatal?: boolean });
  decode(input?: Uint8Array): string;
}
