// Why: a causal context is the client's claim of what it has seen, and the core believes it: a
// forged one can supersede versions never read, jump a dot counter to the end of its range, or
// fill a key's context with made-up actors. So every context a node hands out is sealed (a MAC
// under a key of the cluster's), and every context a client sends is opened, its seal checked and
// stripped, before the core sees it (decision 0011). This is the port; src/io/context-seal.ts is
// the HMAC implementation that production and the simulator both use. The core keeps its plain
// tokens, and peers exchange plain tokens over their authenticated links.

/** Seals the contexts a node hands to clients and opens the ones clients send back. */
export interface ContextSeal {
  /** The token handed to a client for the plain token `token`; the empty context stays ''. */
  seal(token: string): string;
  /**
   * The plain token inside a client's sealed one ('' for ''). Throws
   * EverwriteError('EVERWRITE_BAD_CONTEXT') for anything this cluster did not seal, whatever it holds.
   */
  open(sealed: string): string;
}
