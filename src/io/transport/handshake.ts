// Why: cluster trust (docs/ARCHITECTURE.md section 3). Every inter-node connection opens with a
// challenge-response over the shared cluster secret, so a process without the secret can neither
// deliver a frame to a node nor receive one from it, and an authenticated connection tells the
// receiver who is talking (the `from` of every frame). The exchange is a small sans-I/O state
// machine: messages in, replies and a verdict out, so it is tested without sockets.
//
// Messages (each carried in one length-prefixed frame):
//   hello = "EWH1" | nonce (32 bytes) | id length (u8) | id (UTF-8)
//   proof = "EWP1" | HMAC-SHA-256(secret, label | dialer nonce | acceptor nonce | dialer id | acceptor id)
// Sequence: dialer hello -> acceptor hello -> dialer proof -> acceptor proof.
// The dialer proves first, so an acceptor never computes a proof for someone who has not shown the
// secret; the labels differ per direction, so one side's proof can never be replayed as the other's;
// fresh nonces on both sides defeat replay; the dialer checks that the acceptor is the node it meant
// to reach. The acceptor accepts any node id that proves the secret: the secret is the trust, and
// membership may name a node before every peer map lists it.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { NodeId } from '../../core/base/ids.ts';
import { asNodeId } from '../../core/base/ids.ts';
import { EverwriteError } from '../../core/base/errors.ts';

/** Bytes of each side's random challenge. */
export const nonceBytes = 32;
/** Bytes of an HMAC-SHA-256 proof. */
export const proofBytes = 32;
/** Shortest cluster secret accepted, in bytes: 128 bits, out of reach of guessing. */
export const secretBytesMin = 16;
/** Bytes of a secret made by generateSecret(). */
export const generatedSecretBytes = 32;
/** Longest node id carried in a hello, in bytes of UTF-8 (a u8 length). */
export const nodeIdBytesMax = 255;
/** Largest handshake message; a bigger frame during the handshake is a protocol violation. */
export const handshakeMessageBytesMax = 4 + nonceBytes + 1 + nodeIdBytesMax;

const helloMagic = Buffer.from('EWH1', 'latin1');
const proofMagic = Buffer.from('EWP1', 'latin1');
const dialerLabel = Buffer.from('everwrite handshake v1: dialer proves', 'latin1');
const acceptorLabel = Buffer.from('everwrite handshake v1: acceptor proves', 'latin1');

export type HandshakeRole = 'dialer' | 'acceptor';

export interface HandshakeOptions {
  readonly role: HandshakeRole;
  /** The cluster secret; at least secretBytesMin bytes. */
  readonly secret: Uint8Array;
  /** This node's id, sent in the hello. */
  readonly localId: NodeId;
  /** Dialer only: the node it meant to reach; a hello naming anyone else fails the handshake. */
  readonly expectedPeerId?: NodeId;
  /** Source of nonces; node:crypto's CSPRNG unless a test injects one. */
  readonly randomBytes?: (count: number) => Uint8Array;
}

/** What to do after a message: send `reply` (if any), then keep going, start trusting, or hang up. */
export type HandshakeStep =
  | { readonly status: 'continue'; readonly reply: Uint8Array | undefined }
  | { readonly status: 'authenticated'; readonly reply: Uint8Array | undefined; readonly peerId: NodeId }
  | { readonly status: 'failed'; readonly reply: undefined; readonly error: EverwriteError };

type HandshakeState = 'awaitingHello' | 'awaitingProof' | 'authenticated' | 'failed';

/** One side of one connection's handshake. Feed it every handshake frame in order. */
export class Handshake {
  private readonly role: HandshakeRole;
  private readonly secret: Buffer;
  private readonly localId: Buffer;
  private readonly expectedPeerId: NodeId | undefined;
  private readonly localNonce: Buffer;
  private peerNonce: Buffer | undefined;
  private peerIdBytes: Buffer | undefined;
  private state: HandshakeState = 'awaitingHello';

  constructor(options: HandshakeOptions) {
    if (options.secret.length < secretBytesMin) {
      throw new EverwriteError(
        'EVERWRITE_AUTH_FAILED',
        `cluster secret is ${options.secret.length} bytes; at least ${secretBytesMin} are required`,
      );
    }
    this.role = options.role;
    this.secret = Buffer.from(options.secret);
    this.localId = encodeNodeId(options.localId);
    this.expectedPeerId = options.expectedPeerId;
    this.localNonce = Buffer.from((options.randomBytes ?? randomBytes)(nonceBytes));
  }

  /** The message to send as soon as the connection is up: the dialer's hello; nothing for an acceptor. */
  opening(): Uint8Array | undefined {
    return this.role === 'dialer' ? this.hello() : undefined;
  }

  get isAuthenticated(): boolean {
    return this.state === 'authenticated';
  }

  receive(message: Uint8Array): HandshakeStep {
    if (this.state === 'awaitingHello') return this.receiveHello(message);
    if (this.state === 'awaitingProof') return this.receiveProof(message);
    return this.fail(
      'EVERWRITE_BAD_FRAME',
      `handshake message after the handshake ${this.state === 'failed' ? 'failed' : 'finished'}`,
    );
  }

  private receiveHello(message: Uint8Array): HandshakeStep {
    const hello = parseHello(message);
    if (hello === undefined) return this.fail('EVERWRITE_BAD_FRAME', 'malformed handshake hello');
    if (this.expectedPeerId !== undefined && hello.id.toString('utf8') !== this.expectedPeerId) {
      return this.fail(
        'EVERWRITE_AUTH_FAILED',
        `expected node ${JSON.stringify(this.expectedPeerId)}, reached ${JSON.stringify(hello.id.toString('utf8'))}`,
      );
    }
    this.peerNonce = hello.nonce;
    this.peerIdBytes = hello.id;
    this.state = 'awaitingProof';
    const reply = this.role === 'dialer' ? this.proof(this.role) : this.hello();
    return { status: 'continue', reply };
  }

  private receiveProof(message: Uint8Array): HandshakeStep {
    const peerRole: HandshakeRole = this.role === 'dialer' ? 'acceptor' : 'dialer';
    const expected = this.proof(peerRole);
    const valid = message.length === expected.length && timingSafeEqual(message, expected);
    if (!valid) return this.fail('EVERWRITE_AUTH_FAILED', 'the peer did not prove knowledge of the cluster secret');
    this.state = 'authenticated';
    const reply = this.role === 'acceptor' ? this.proof(this.role) : undefined;
    return { status: 'authenticated', reply, peerId: asNodeId((this.peerIdBytes as Buffer).toString('utf8')) };
  }

  private hello(): Buffer {
    return Buffer.concat([helloMagic, this.localNonce, Buffer.of(this.localId.length), this.localId]);
  }

  /** The proof `prover` sends: the magic, then the HMAC over both nonces and ids under its label. */
  private proof(prover: HandshakeRole): Buffer {
    const peerNonce = this.peerNonce as Buffer;
    const peerId = this.peerIdBytes as Buffer;
    const localIsDialer = this.role === 'dialer';
    const hmac = createHmac('sha256', this.secret);
    hmac.update(prover === 'dialer' ? dialerLabel : acceptorLabel);
    hmac.update(localIsDialer ? this.localNonce : peerNonce);
    hmac.update(localIsDialer ? peerNonce : this.localNonce);
    for (const id of localIsDialer ? [this.localId, peerId] : [peerId, this.localId]) {
      hmac.update(Buffer.of(id.length));
      hmac.update(id);
    }
    return Buffer.concat([proofMagic, hmac.digest()]);
  }

  private fail(code: 'EVERWRITE_AUTH_FAILED' | 'EVERWRITE_BAD_FRAME', message: string): HandshakeStep {
    this.state = 'failed';
    return { status: 'failed', reply: undefined, error: new EverwriteError(code, message) };
  }
}

function encodeNodeId(nodeId: NodeId): Buffer {
  const bytes = Buffer.from(nodeId, 'utf8');
  if (bytes.length === 0 || bytes.length > nodeIdBytesMax) {
    throw new EverwriteError(
      'EVERWRITE_BAD_REQUEST',
      `node id must be 1..${nodeIdBytesMax} bytes of UTF-8, got ${bytes.length}`,
    );
  }
  return bytes;
}

function parseHello(message: Uint8Array): { nonce: Buffer; id: Buffer } | undefined {
  const bytes = Buffer.from(message.buffer, message.byteOffset, message.byteLength);
  const idOffset = helloMagic.length + nonceBytes + 1;
  if (bytes.length < idOffset + 1 || !bytes.subarray(0, helloMagic.length).equals(helloMagic)) return undefined;
  const idBytes = bytes[idOffset - 1] as number;
  if (idBytes === 0 || bytes.length !== idOffset + idBytes) return undefined;
  const id = Buffer.from(bytes.subarray(idOffset));
  // A node id must round-trip through UTF-8, or two peers could disagree on who is talking.
  if (!Buffer.from(id.toString('utf8'), 'utf8').equals(id)) return undefined;
  return { nonce: Buffer.from(bytes.subarray(helloMagic.length, idOffset - 1)), id };
}

/** A fresh random cluster secret (generatedSecretBytes bytes from node:crypto's CSPRNG). */
export function generateSecret(): Uint8Array {
  return new Uint8Array(randomBytes(generatedSecretBytes));
}

export interface SecretSources {
  /** A file holding the secret (hex, or raw text); wins over `environment` when both are given. */
  readonly secretFile?: string | undefined;
  /** The value of the EVERWRITE_SECRET environment variable (hex, or raw text). */
  readonly environment?: string | undefined;
}

/**
 * Reads the cluster secret. Text made only of hex digits, of even length, is decoded as hex;
 * anything else is taken as raw UTF-8 text. Surrounding whitespace (a file's final newline) is
 * ignored. Fails with EVERWRITE_AUTH_FAILED when no source is given, the file cannot be read, or the
 * secret is shorter than secretBytesMin bytes: a node must never start without cluster trust.
 */
export function loadSecret(sources: SecretSources): Uint8Array {
  let text: string;
  let origin: string;
  if (sources.secretFile !== undefined && sources.secretFile !== '') {
    origin = `secret file ${sources.secretFile}`;
    try {
      text = readFileSync(sources.secretFile, 'utf8');
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      throw new EverwriteError('EVERWRITE_AUTH_FAILED', `cannot read the ${origin}: ${reason}`);
    }
  } else if (sources.environment !== undefined && sources.environment !== '') {
    origin = 'EVERWRITE_SECRET';
    text = sources.environment;
  } else {
    throw new EverwriteError('EVERWRITE_AUTH_FAILED', 'no cluster secret: set EVERWRITE_SECRET or give a secret file');
  }
  const secret = decodeSecretText(text.trim());
  if (secret.length < secretBytesMin) {
    throw new EverwriteError(
      'EVERWRITE_AUTH_FAILED',
      `the cluster secret from ${origin} is ${secret.length} bytes; at least ${secretBytesMin} are required (hex, or raw text)`,
    );
  }
  return secret;
}

function decodeSecretText(text: string): Uint8Array {
  if (text.length % 2 === 0 && /^[0-9a-fA-F]+$/.test(text)) return new Uint8Array(Buffer.from(text, 'hex'));
  return new Uint8Array(Buffer.from(text, 'utf8'));
}
