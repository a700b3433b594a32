// Why: the production ContextSeal (runtime/context-seal.ts): HMAC-SHA-256 from node:crypto under a
// key derived from the cluster secret, so every node of a cluster opens what any of them sealed,
// and a cluster with another secret opens none of it. The tag is cut to 128 bits (forging one takes
// 2^128 tries; the seal adds 22 characters to a header) and compared in constant time.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { EverwriteError } from '../core/base/errors.ts';
import { contextHeaderBytesMax, contextSealBytes } from '../core/versioning/index.ts';
import type { ContextSeal } from '../runtime/context-seal.ts';

/** Names this key's use, so the cluster secret's other keys (the transport's) never coincide with it. */
const keyLabel = 'everwrite context v1';

/** Bytes of the HMAC kept as the tag: 128 bits, 22 characters of base64url (contextSealBytes). */
const tagBytes = 16;

function badContext(reason: string): EverwriteError {
  return new EverwriteError('EVERWRITE_BAD_CONTEXT', `context is not one this cluster handed out: ${reason}`);
}

export class HmacContextSeal implements ContextSeal {
  /**
   * Held as bytes, not a KeyObject: createHmac over a KeyObject cost 6.3 µs per seal against 4.9
   * over the same key's bytes (2026-12-07, decision 0038), and every read and write answer seals.
   */
  private readonly key: Buffer;

  /** `secret` is the cluster secret; the sealing key is HMAC(secret, keyLabel). */
  constructor(secret: Uint8Array) {
    this.key = createHmac('sha256', secret).update(keyLabel).digest();
  }

  private tag(token: string): Buffer {
    return createHmac('sha256', this.key).update(token, 'latin1').digest().subarray(0, tagBytes);
  }

  seal(token: string): string {
    if (token.length === 0) return '';
    return token + this.tag(token).toString('base64url');
  }

  open(sealed: string): string {
    if (sealed.length === 0) return '';
    // Checked before any hashing, so an oversized claim costs nothing.
    if (sealed.length > contextHeaderBytesMax) throw badContext(`longer than ${contextHeaderBytesMax} bytes`);
    if (sealed.length <= contextSealBytes) throw badContext('too short to carry a seal');
    // Plain tokens are base64url; anything else (which 'latin1' would fold) is refused outright.
    if (!/^[A-Za-z0-9_-]+$/.test(sealed)) throw badContext('not base64url');
    const token = sealed.slice(0, sealed.length - contextSealBytes);
    // Compared as text: base64url's last character has spare bits, so two texts can decode to one tag.
    const received = Buffer.from(sealed.slice(sealed.length - contextSealBytes), 'latin1');
    const expected = Buffer.from(this.tag(token).toString('base64url'), 'latin1');
    if (!timingSafeEqual(received, expected)) throw badContext('the seal does not match');
    return token;
  }
}
