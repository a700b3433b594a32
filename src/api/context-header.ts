// Why: the causal context travels between a read and the write that follows it in one HTTP header.
// The server, the TypeScript client and the CLI must agree on its name and on what counts as
// "no context" (a blind write), so both facts live here, once.

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
