// Why: cluster trust rests on this exchange. Two holders of the secret must always agree on each
// other's identity; a holder of any other secret, a tampered message, a replayed proof or an
// unexpected node must always fail. And loading the secret must fail loudly, never weakly.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { asNodeId, type NodeId } from '../../../../src/core/base/ids.ts';
import { EverwriteError } from '../../../../src/core/base/errors.ts';
import {
  generateSecret,
  Handshake,
  loadSecret,
  secretBytesMin,
  type HandshakeStep,
} from '../../../../src/io/transport/handshake.ts';

const secret = new Uint8Array(Buffer.from('0123456789abcdef0123456789abcdef', 'utf8'));
const n1 = asNodeId('n1');
const n2 = asNodeId('n2');

interface Exchange {
  readonly dialerStep: HandshakeStep;
  readonly acceptorStep: HandshakeStep;
}

/** Runs the four messages between two sides; `tamper` may alter any message in flight. */
function exchange(
  dialer: Handshake,
  acceptor: Handshake,
  tamper: (index: number, message: Uint8Array) => Uint8Array = (_, message) => message,
): Exchange {
  const helloFromDialer = dialer.opening();
  assert.ok(helloFromDialer !== undefined);
  assert.equal(acceptor.opening(), undefined, 'an acceptor speaks only after a hello');
  const acceptorHello = acceptor.receive(tamper(0, helloFromDialer));
  if (acceptorHello.status !== 'continue' || acceptorHello.reply === undefined)
    return { dialerStep: acceptorHello, acceptorStep: acceptorHello };
  const dialerProof = dialer.receive(tamper(1, acceptorHello.reply));
  if (dialerProof.status !== 'continue' || dialerProof.reply === undefined)
    return { dialerStep: dialerProof, acceptorStep: acceptorHello };
  const acceptorVerdict = acceptor.receive(tamper(2, dialerProof.reply));
  if (acceptorVerdict.reply === undefined) return { dialerStep: dialerProof, acceptorStep: acceptorVerdict };
  return { dialerStep: dialer.receive(tamper(3, acceptorVerdict.reply)), acceptorStep: acceptorVerdict };
}

const sides = (
  dialerSecret: Uint8Array,
  acceptorSecret: Uint8Array,
  expectedPeerId: NodeId = n2,
): [Handshake, Handshake] => [
  new Handshake({ role: 'dialer', secret: dialerSecret, localId: n1, expectedPeerId }),
  new Handshake({ role: 'acceptor', secret: acceptorSecret, localId: n2 }),
];

test("two holders of the secret authenticate each other and learn each other's id", () => {
  const [dialer, acceptor] = sides(secret, secret);
  const { dialerStep, acceptorStep } = exchange(dialer, acceptor);
  assert.equal(acceptorStep.status, 'authenticated');
  assert.equal(dialerStep.status, 'authenticated');
  assert.equal(acceptorStep.status === 'authenticated' && acceptorStep.peerId, n1);
  assert.equal(dialerStep.status === 'authenticated' && dialerStep.peerId, n2);
  assert.equal(dialer.isAuthenticated && acceptor.isAuthenticated, true);
});

test('a dialer with another secret is refused by the acceptor, which never proves itself', () => {
  const [dialer, acceptor] = sides(generateSecret(), secret);
  const { acceptorStep } = exchange(dialer, acceptor);
  assert.equal(acceptorStep.status, 'failed');
  assert.equal(acceptorStep.reply, undefined, 'no acceptor proof for an unauthenticated dialer');
  assert.equal(acceptorStep.status === 'failed' && acceptorStep.error.code, 'EVERWRITE_AUTH_FAILED');
});

test('an acceptor with another secret is detected by the dialer', () => {
  const [dialer, acceptor] = sides(secret, generateSecret());
  const dialerHello = dialer.opening() as Uint8Array;
  const acceptorHello = acceptor.receive(dialerHello);
  const dialerProof = dialer.receive(acceptorHello.reply as Uint8Array);
  // The impostor cannot verify the proof; say it answers with its own proof anyway.
  const forged = Buffer.concat([Buffer.from('EWP1', 'latin1'), Buffer.alloc(32)]);
  assert.equal(dialerProof.status, 'continue');
  const verdict = dialer.receive(forged);
  assert.equal(verdict.status, 'failed');
});

test("tampering with any message, or replaying a proof as the other side's, fails the handshake", () => {
  for (let index = 0; index < 4; index++) {
    const [dialer, acceptor] = sides(secret, secret);
    const { dialerStep, acceptorStep } = exchange(dialer, acceptor, (at, message) => {
      if (at !== index) return message;
      const copy = Buffer.from(message);
      copy[copy.length - 1] = (copy[copy.length - 1] as number) ^ 1;
      return copy;
    });
    assert.ok(dialerStep.status === 'failed' || acceptorStep.status === 'failed', `tampered message ${index}`);
    assert.ok(!(dialerStep.status === 'authenticated' && acceptorStep.status === 'authenticated'));
  }
  // Reflection: the acceptor's own proof handed back to it as the dialer's.
  const [dialer, acceptor] = sides(secret, secret);
  const hello = acceptor.receive(dialer.opening() as Uint8Array);
  dialer.receive(hello.reply as Uint8Array);
  const mirror = new Handshake({ role: 'acceptor', secret, localId: n2 });
  assert.equal(acceptor.receive(Buffer.concat([Buffer.from('EWP1', 'latin1'), Buffer.alloc(32)])).status, 'failed');
  assert.equal(mirror.receive(Buffer.from('garbage')).status, 'failed');
});

test('a dialer refuses an acceptor that is not the node it meant to reach', () => {
  const [dialer, acceptor] = sides(secret, secret, asNodeId('n3'));
  const { dialerStep } = exchange(dialer, acceptor);
  assert.equal(dialerStep.status, 'failed');
  assert.equal(dialerStep.status === 'failed' && dialerStep.error.code, 'EVERWRITE_AUTH_FAILED');
  assert.equal(dialerStep.reply, undefined, 'no proof for the wrong node');
});

test('malformed hellos fail with EVERWRITE_BAD_FRAME', () => {
  const valid = Buffer.from(new Handshake({ role: 'dialer', secret, localId: n1 }).opening() as Uint8Array);
  const variants = [
    Buffer.alloc(0),
    valid.subarray(0, 10),
    Buffer.concat([valid, Buffer.from('x')]),
    Buffer.concat([Buffer.from('XXXX'), valid.subarray(4)]),
  ];
  for (const message of variants) {
    const step = new Handshake({ role: 'acceptor', secret, localId: n2 }).receive(message);
    assert.equal(step.status === 'failed' && step.error.code, 'EVERWRITE_BAD_FRAME');
  }
});

test('a secret shorter than the minimum is refused', () => {
  assert.throws(
    () => new Handshake({ role: 'dialer', secret: new Uint8Array(secretBytesMin - 1), localId: n1 }),
    (error: unknown) => error instanceof EverwriteError && error.code === 'EVERWRITE_AUTH_FAILED',
  );
});

test('generateSecret returns 32 fresh random bytes', () => {
  const first = generateSecret();
  assert.equal(first.length, 32);
  assert.notDeepEqual(first, generateSecret());
});

test('loadSecret reads hex or raw text from a file or the environment value', () => {
  const directory = mkdtempSync(join(tmpdir(), 'everwrite-secret-'));
  try {
    const hex = '00112233445566778899aabbccddeeff';
    const hexFile = join(directory, 'hex');
    writeFileSync(hexFile, `${hex}\n`);
    assert.deepEqual(Buffer.from(loadSecret({ secretFile: hexFile })), Buffer.from(hex, 'hex'));
    assert.deepEqual(
      Buffer.from(loadSecret({ environment: 'correct horse battery staple' })),
      Buffer.from('correct horse battery staple'),
    );
    assert.deepEqual(
      Buffer.from(loadSecret({ secretFile: hexFile, environment: 'ignored because the file wins' })),
      Buffer.from(hex, 'hex'),
    );
    assert.deepEqual(
      Buffer.from(loadSecret({ secretFile: undefined, environment: hex.toUpperCase() })),
      Buffer.from(hex, 'hex'),
    );
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
});

test('loadSecret fails clearly: no source, unreadable file, too short', () => {
  const isAuthFailure =
    (pattern: RegExp) =>
    (error: unknown): boolean =>
      error instanceof EverwriteError && error.code === 'EVERWRITE_AUTH_FAILED' && pattern.test(error.message);
  assert.throws(() => loadSecret({}), isAuthFailure(/no cluster secret/));
  assert.throws(() => loadSecret({ environment: '' }), isAuthFailure(/no cluster secret/));
  assert.throws(() => loadSecret({ secretFile: '/nonexistent/everwrite/secret' }), isAuthFailure(/cannot read/));
  assert.throws(() => loadSecret({ environment: 'short' }), isAuthFailure(/5 bytes; at least 16/));
  assert.throws(
    () => loadSecret({ environment: '00112233445566778899aabbccddee' }),
    isAuthFailure(/15 bytes/),
    '30 hex digits are 15 bytes',
  );
});
