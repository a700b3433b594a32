// Why: one import path for causality. The node coordinator, protocol codec and front ends depend
// on this surface (dvv.ts for records, context.ts for client tokens, record-codec.ts for storage,
// hlc.ts for the timestamps last-writer-wins orders by).

export * from './dvv.ts';
export * from './context.ts';
export * from './record-codec.ts';
export * from './vector-clock.ts';
export * from './hlc.ts';
export { base64UrlDecode, base64UrlEncode } from './base64url.ts';
