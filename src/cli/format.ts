// Why: what the `get`/`put`/`delete` commands print, and how they build and read the wire shapes,
// kept pure (no I/O, no process) so every output format is unit-tested without a terminal or a
// node, and the commands themselves stay thin.
import { asSiblingsJson, type SiblingJson, type SiblingsJson } from '../core/protocol/http-contract.ts';
import { UsageError } from './exit-codes.ts';

/** A sibling as the server's 300 body shows it (the HTTP contract, core/protocol/http-contract.ts). */
export type SiblingBody = SiblingJson;
export type SiblingsBody = SiblingsJson;

/** Per-request overrides a command may pass as query parameters. */
export interface QueryOverrides {
  readonly r?: number;
  readonly w?: number;
  readonly timeoutMs?: number;
}

/** Parses a --node value; only http(s) URLs are nodes. Throws a UsageError with a readable message. */
export function parseNodeUrl(text: string): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new UsageError(`--node must be a URL such as http://127.0.0.1:8001, got ${JSON.stringify(text)}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new UsageError(`--node must be an http:// or https:// URL, got ${JSON.stringify(text)}`);
  return url;
}

/** The URL of one key on a node; bucket and key are percent-encoded, so "/" and "?" in them are safe. */
export function keyUrl(node: string, bucket: string, key: string, overrides: QueryOverrides = {}): string {
  const base = parseNodeUrl(node);
  const prefix = base.pathname.endsWith('/') ? base.pathname.slice(0, -1) : base.pathname;
  base.pathname = `${prefix}/buckets/${encodeURIComponent(bucket)}/keys/${encodeURIComponent(key)}`;
  base.search = '';
  if (overrides.r !== undefined) base.searchParams.set('r', String(overrides.r));
  if (overrides.w !== undefined) base.searchParams.set('w', String(overrides.w));
  if (overrides.timeoutMs !== undefined) base.searchParams.set('timeout_ms', String(overrides.timeoutMs));
  return base.toString();
}

/** A positive integer option (--w, --r); throws an Error naming the option otherwise. */
export function parsePositiveInteger(text: string, option: string): number {
  if (!/^[1-9][0-9]{0,14}$/.test(text)) throw new Error(`${option} must be a positive integer, got ${JSON.stringify(text)}`);
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

/** Reads a 300 (or admin local) body; throws when it is not the documented shape. */
export function parseSiblingsBody(text: string): SiblingsBody {
  const parsed: unknown = JSON.parse(text);
  if (typeof parsed !== 'object' || parsed === null) throw new Error('siblings answer is not a JSON object');
  const body = asSiblingsJson(parsed);
  if (body === undefined) throw new Error('siblings answer does not have the documented {context, siblings} shape');
  return body;
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
      if (typeof code === 'string' && typeof message === 'string') return `everwrite: ${message} [${code}, HTTP ${status}]\n`;
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

/** A 200 read turned into the 300 shape, so --json always prints one shape. */
export function singleValueBody(context: string, value: Uint8Array, contentType: string, lastModified: string | null): SiblingsBody {
  const modified = new Date(lastModified ?? Number.NaN);
  const iso = Number.isNaN(modified.getTime()) ? '' : modified.toISOString();
  return { context, siblings: [{ value: Buffer.from(value).toString('base64'), contentType, lastModified: iso }] };
}
