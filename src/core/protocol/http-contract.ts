// Why: the HTTP wire contract of docs/API.md that more than one side reads or writes: the header the
// causal context travels in (and what counts as "no context", a blind write) and the JSON of a 300's
// sibling list. The server (src/api), the TypeScript client, the CLI, the benchmarks and the chaos
// workload all take them from here, so none can drift from the others. Pure: names, types and a
// shape check, no I/O.

/** The header that carries the opaque causal context token, in both directions. */
export const contextHeaderName = 'X-Everwrite-Context';

/** The same name as Node's `IncomingMessage.headers` spells it (lower case). */
export const contextHeaderKey = 'x-everwrite-context';

/**
 * The context a client sent, or undefined for a blind write. An empty header means "no context"
 * (some clients send the header empty rather than omitting it). Repeated headers are joined by
 * Node with ", " and left to the service to refuse as a malformed token.
 */
export function readContextHeader(value: string | readonly string[] | undefined): string | undefined {
  if (value === undefined) return undefined;
  const text = typeof value === 'string' ? value : value.join(', ');
  const trimmed = text.trim();
  return trimmed === '' ? undefined : trimmed;
}

/** A sibling as the 300 body and the admin local read show it: the value in base64, or a tombstone. */
export type SiblingJson =
  | { readonly value: string; readonly contentType: string; readonly lastModified: string }
  | { readonly deleted: true; readonly lastModified: string };

/** The 300 body and the admin local read body. */
export interface SiblingsJson {
  readonly context: string;
  readonly siblings: readonly SiblingJson[];
}

function isSiblingJson(value: unknown): value is SiblingJson {
  if (typeof value !== 'object' || value === null) return false;
  const sibling = value as Record<string, unknown>;
  if (typeof sibling.lastModified !== 'string') return false;
  if (sibling.deleted === true) return true;
  return typeof sibling.value === 'string' && typeof sibling.contentType === 'string';
}

/** The parsed JSON of a 300 body as the contract's shape, or undefined when it is not that shape. */
export function asSiblingsJson(parsed: unknown): SiblingsJson | undefined {
  if (typeof parsed !== 'object' || parsed === null) return undefined;
  const body = parsed as Record<string, unknown>;
  if (typeof body.context !== 'string' || !Array.isArray(body.siblings) || !body.siblings.every(isSiblingJson))
    return undefined;
  return { context: body.context, siblings: body.siblings };
}
