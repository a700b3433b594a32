// Why: failed TLS handshakes are counted by port and by why they failed (docs/OPERATIONS.md
// "Metrics"), but node:tls and OpenSSL report hundreds of distinct codes, and a client chooses
// which one it provokes. A metric label must not take values an outsider picks, so every code is
// folded into one of a few classes here, the same for the HTTP, RESP and peer ports. It lives in
// core/base, like the connection admission both front ends and the transport share: a pure
// function of a string that the api and io layers may both import.

/** Why a TLS handshake failed, as an operator acts on it. */
export type TlsFailureClass = 'timeout' | 'protocol' | 'certificate' | 'closed' | 'other';

export const tlsFailureClasses: readonly TlsFailureClass[] = ['timeout', 'protocol', 'certificate', 'closed', 'other'];

/** A zeroed count per class, for a port's statistics. */
export function tlsFailureCounts(): Record<TlsFailureClass, number> {
  return { timeout: 0, protocol: 0, certificate: 0, closed: 0, other: 0 };
}

/** Codes of a connection that went away mid-handshake (a scanner, a client that gave up). */
const closedCodes = new Set(['ECONNRESET', 'EPIPE', 'ECONNABORTED', 'ERR_SOCKET_CLOSED']);

/**
 * The class of a node:tls or OpenSSL error code (undefined: unknown). `timeout`: the handshake
 * deadline passed; `certificate`: a certificate was missing, unsigned by the CA, expired or for
 * another name; `protocol`: not TLS at all (plaintext, HTTP) or no common version or cipher;
 * `closed`: the peer hung up during the handshake.
 */
export function tlsFailureClassOf(code: string | undefined): TlsFailureClass {
  if (code === undefined) return 'other';
  if (code === 'ERR_TLS_HANDSHAKE_TIMEOUT' || code === 'ETIMEDOUT') return 'timeout';
  if (closedCodes.has(code)) return 'closed';
  if (/CERT|VERIFY|SIGNATURE|ISSUER|ALTNAME|SELF_SIGNED|PEER_DID_NOT_RETURN/.test(code)) return 'certificate';
  if (/^ERR_SSL_|^ERR_TLS_|PROTOCOL|VERSION|CIPHER|RECORD|HTTP_REQUEST/.test(code)) return 'protocol';
  return 'other';
}
