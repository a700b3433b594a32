// Why: a node asking to join a cluster, and the cluster view it then fetches over the admin API,
// travel over plain HTTP, not the authenticated peer links (decision 0017). Both are therefore
// tagged with an HMAC-SHA-256 under a key derived from the cluster secret (as context-seal.ts
// derives its own, under another label): a member stages only a join whose proof was made with the
// secret, and a joining node adopts only a view tagged with it. A node with another secret can
// neither join nor be handed a forged view.
import { createHmac, createSecretKey, timingSafeEqual, type KeyObject } from 'node:crypto';

/** Names this key's use, so it never coincides with the transport's or the context seal's keys. */
const keyLabel = 'everwrite join v1';

/** Hex characters of a tag: the whole 256-bit HMAC. */
export const joinTagChars = 64;

export class JoinProof {
  private readonly key: KeyObject;

  /** `secret` is the cluster secret; the key is HMAC(secret, keyLabel). */
  constructor(secret: Uint8Array) {
    this.key = createSecretKey(createHmac('sha256', secret).update(keyLabel).digest());
  }

  /** The tag of `purpose` and `payload` (hex); the purpose keeps a join proof from passing as a view tag. */
  tag(purpose: 'join' | 'view', payload: Uint8Array | string): string {
    return createHmac('sha256', this.key).update(purpose).update('\0').update(payload).digest('hex');
  }

  /** Whether `tag` is the tag of `purpose` and `payload`, compared in constant time. */
  verify(purpose: 'join' | 'view', payload: Uint8Array | string, tag: unknown): boolean {
    if (typeof tag !== 'string' || tag.length !== joinTagChars || !/^[0-9a-f]+$/.test(tag)) return false;
    return timingSafeEqual(Buffer.from(tag, 'latin1'), Buffer.from(this.tag(purpose, payload), 'latin1'));
  }
}
