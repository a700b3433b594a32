// Why: the view's gossip has its own three messages, apart from the data path's and from liveness:
// a round sends only (version, partition count, digest), and the whole view travels only to a node
// that found its own older and asked for it, so a steady cluster gossips a few dozen bytes per round.

export type ViewMessage =
  /** "My view is this one." `reply`: an answer to the peer's digest, not to be answered again. */
  | {
      readonly type: 'viewDigest';
      readonly version: number;
      readonly partitionCount: number;
      readonly digest: string;
      readonly reply: boolean;
    }
  /** "Send me your view": the sender's is older (version is the sender's own). */
  | { readonly type: 'viewPull'; readonly version: number }
  /** A whole view, in its canonical encoding (codec.ts). */
  | { readonly type: 'viewFull'; readonly view: Uint8Array };

export type ViewMessageType = ViewMessage['type'];

/** A digest is hex MD5: 32 lowercase hex digits. */
export const viewDigestPattern = /^[0-9a-f]{32}$/;
