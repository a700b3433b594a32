// Why: what the `get`/`put`/`delete` commands print from what the client read, kept pure (no I/O,
// no process) so every output format is unit-tested without a terminal or a node, and the commands
// themselves stay thin.
import type { ClientGetResult, Sibling } from '../client/index.ts';
import type { SiblingJson, SiblingsJson } from '../core/protocol/http-contract.ts';
import { UsageError } from './exit-codes.ts';

/** A sibling as the server's 300 body shows it (the HTTP contract, core/protocol/http-contract.ts). */
export type SiblingBody = SiblingJson;
export type SiblingsBody = SiblingsJson;

/** Parses a --node value; only http(s) URLs are nodes. Throws a UsageError with a readable message. */
export function parseNodeUrl(text: string): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new UsageError(`--node must be a URL such as http://127.0.0.1:8001, got ${JSON.stringify(text)}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new UsageError(`--node must be an http:// or https:// URL, got ${JSON.stringify(text)}`);
  return url;
}

/** A positive integer option (--w, --r); throws an Error naming the option otherwise. */
export function parsePositiveInteger(text: string, option: string): number {
  if (!/^[1-9][0-9]{0,14}$/.test(text))
    throw new Error(`${option} must be a positive integer, got ${JSON.stringify(text)}`);
  return Number(text);
}

const textDecoder = new TextDecoder('utf-8', { fatal: true });

/** The value as text when it is UTF-8 without control characters other than tab and newlines. */
export function printableText(value: Uint8Array): string | undefined {
  let text: string;
  try {
    text = textDecoder.decode(value);
  } catch {
    return undefined;
  }
  // eslint-disable-next-line no-control-regex -- control characters are exactly what is being detected
  return /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/.test(text) ? undefined : text;
}

function formatSibling(sibling: SiblingBody, position: number): string {
  if ('deleted' in sibling) return `[${position}] deleted, last modified ${sibling.lastModified}\n`;
  const value = Buffer.from(sibling.value, 'base64');
  const text = printableText(value);
  const shown = text === undefined ? `(${value.length} bytes, not text; base64) ${sibling.value}` : text;
  return `[${position}] ${sibling.contentType}, last modified ${sibling.lastModified}\n${shown}${shown.endsWith('\n') ? '' : '\n'}`;
}

/** The numbered listing of concurrent siblings, for people. */
export function formatSiblings(body: SiblingsBody): string {
  let out = `${body.siblings.length} siblings (concurrent versions):\n`;
  body.siblings.forEach((sibling, index) => (out += formatSibling(sibling, index + 1)));
  return out;
}

/** The context line, with what to do with it. */
export function formatContext(context: string, hint?: string): string {
  return `context: ${context}${hint === undefined ? '' : ` (${hint})`}\n`;
}

/** One failure line: the server's message, then its code and status so scripts and people can act on it. */
export function formatServerError(status: number, bodyText: string): string {
  try {
    const parsed: unknown = JSON.parse(bodyText);
    if (typeof parsed === 'object' && parsed !== null) {
      const { code, message } = parsed as Record<string, unknown>;
      if (typeof code === 'string' && typeof message === 'string')
        return `everwrite: ${message} [${code}, HTTP ${status}]\n`;
    }
  } catch {
    // Not one of our JSON errors (a proxy, another server): show what came back.
  }
  const excerpt = bodyText.trim().slice(0, 200);
  return `everwrite: the node answered HTTP ${status}${excerpt === '' ? '' : `: ${excerpt}`}\n`;
}

/** A failure of the command itself (bad arguments, unreachable node). */
export function formatFailure(message: string): string {
  return `everwrite: ${message}\n`;
}

function siblingBodyOf(sibling: Sibling): SiblingBody {
  // The client reads a missing Last-Modified as the epoch; the 300 shape says "unknown" as ''.
  const lastModified = sibling.lastModified.getTime() === 0 ? '' : sibling.lastModified.toISOString();
  if (sibling.deleted) return { deleted: true, lastModified };
  return {
    value: Buffer.from(sibling.value.buffer, sibling.value.byteOffset, sibling.value.byteLength).toString('base64'),
    contentType: sibling.contentType,
    lastModified,
  };
}

/**
 * A read in the 300's {context, siblings} shape (values in base64), so --json prints one shape
 * for a value (its lastModified to the second, as Last-Modified carries it), siblings, or nothing.
 */
export function siblingsBodyOf(result: ClientGetResult): SiblingsBody {
  return { context: result.context, siblings: result.siblings.map(siblingBodyOf) };
}
