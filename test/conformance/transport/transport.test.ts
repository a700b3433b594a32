// Why: every Transport implementation must behave the same from the runtime's point of view
// (src/runtime/ports.ts): frames arrive intact from the right sender, in order per sender, in bursts,
// best effort towards dead or unknown peers, again after a peer restarts, and stop() leaves nothing
// running. This suite runs against MemoryTransport and TcpTransport alike.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { spawn } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { asNodeId } from '../../../src/core/base/ids.ts';
import { EverwriteError } from '../../../src/core/base/errors.ts';
import { Prng } from '../../../src/core/base/prng.ts';
import {
  createTransportFixture,
  fixtureFrameBytesMax,
  transportKinds,
  waitFor,
  type TransportFixture,
} from '../../support/transport-fixtures.ts';

/** Child processes run from the repository root, where tsx and the relative paths resolve. */
const repositoryRoot = fileURLToPath(new URL('../../../', import.meta.url));

const testTimeout = { timeout: 20_000 };

function randomFrame(prng: Prng, bytes: number): Uint8Array {
  const frame = new Uint8Array(bytes);
  for (let i = 0; i < bytes; i++) frame[i] = prng.nextUint32() & 0xff;
  return frame;
}

function numberedFrame(index: number, bytes = 16): Uint8Array {
  const frame = Buffer.alloc(bytes);
  frame.writeUInt32BE(index, 0);
  return frame;
}

const indexOf = (frame: Uint8Array): number =>
  Buffer.from(frame.buffer, frame.byteOffset, frame.byteLength).readUInt32BE(0);

/** Runs `body` against a fresh fixture and always tears it down. */
async function withFixture(kind: string, body: (fixture: TransportFixture) => Promise<void>): Promise<void> {
  const fixture = createTransportFixture(kind);
  try {
    await body(fixture);
  } finally {
    await fixture.close();
  }
}

async function deliversIntact(fixture: TransportFixture): Promise<void> {
  const a = await fixture.startNode('a');
  const b = await fixture.startNode('b');
  const prng = new Prng(11);
  const sizes = [0, 1, 200, 70_000, 1_000_000, fixtureFrameBytesMax];
  const frames = sizes.map((size) => randomFrame(prng, size));
  for (const frame of frames) a.transport.send(b.id, frame);
  b.transport.send(a.id, Buffer.from('reply'));
  await waitFor(() => b.received.length === frames.length && a.received.length === 1, 10_000, 'every frame');
  b.received.forEach((received, index) => {
    assert.equal(received.from, a.id);
    assert.deepEqual(
      Buffer.from(received.frame),
      Buffer.from(frames[index] as Uint8Array),
      `frame ${index} (${sizes[index]} bytes)`,
    );
  });
  assert.equal(a.received[0]?.from, b.id);
  assert.equal(Buffer.from(a.received[0]?.frame ?? []).toString(), 'reply');
}

async function preservesOrder(fixture: TransportFixture): Promise<void> {
  const a = await fixture.startNode('a');
  const b = await fixture.startNode('b');
  const c = await fixture.startNode('c');
  const perSender = 3000;
  for (let sent = 0; sent < perSender; sent += 100) {
    for (let i = sent; i < sent + 100; i++) {
      a.transport.send(b.id, numberedFrame(i));
      c.transport.send(b.id, numberedFrame(i, 300));
    }
    await new Promise((resolve) => setImmediate(resolve));
  }
  await waitFor(() => b.received.length === 2 * perSender, 10_000, "both senders' frames");
  for (const sender of [a.id, c.id]) {
    const indexes = b.received
      .filter((received) => received.from === sender)
      .map((received) => indexOf(received.frame));
    assert.deepEqual(
      indexes,
      Array.from({ length: perSender }, (_, i) => i),
      `order of frames from ${sender}`,
    );
  }
}

async function deliversBurst(fixture: TransportFixture): Promise<void> {
  const a = await fixture.startNode('a');
  const b = await fixture.startNode('b');
  a.transport.send(b.id, numberedFrame(0));
  await waitFor(() => b.received.length === 1, 5000, 'the link to come up');
  const writesBefore = fixture.socketWrites('a');
  const burst = 1000;
  for (let i = 1; i <= burst; i++) a.transport.send(b.id, numberedFrame(i, 200));
  await waitFor(() => b.received.length === burst + 1, 5000, 'the burst');
  assert.deepEqual(
    b.received.map((received) => indexOf(received.frame)),
    Array.from({ length: burst + 1 }, (_, i) => i),
  );
  const writesAfter = fixture.socketWrites('a');
  if (writesBefore !== undefined && writesAfter !== undefined) {
    const writes = writesAfter - writesBefore;
    assert.ok(writes >= 1 && writes < burst, `socket writes ${writes} for ${burst} frames`);
    assert.equal(writes, 1, 'one turn, one peer: one write');
  }
}

async function toleratesDeadPeers(fixture: TransportFixture): Promise<void> {
  const a = await fixture.startNode('a');
  const b = await fixture.startNode('b');
  await fixture.startNode('down');
  await fixture.stopNode('down');
  for (let i = 0; i < 200; i++) {
    a.transport.send(asNodeId('nobody'), numberedFrame(i));
    a.transport.send(asNodeId('down'), numberedFrame(i));
    a.transport.send(b.id, numberedFrame(i));
  }
  await waitFor(() => b.received.length === 200, 5000, 'frames to the live peer');
  await sleep(50);
  assert.equal(b.received.length, 200);
}

async function resumesAfterRestart(fixture: TransportFixture): Promise<void> {
  const a = await fixture.startNode('a');
  await fixture.startNode('b');
  a.transport.send(asNodeId('b'), Buffer.from('before'));
  await fixture.stopNode('b');
  for (let i = 0; i < 10; i++) a.transport.send(asNodeId('b'), Buffer.from('while down'));
  await sleep(30);
  const restarted = await fixture.restartNode('b');
  const deliveredAfter = (): boolean =>
    restarted.received.some((received) => Buffer.from(received.frame).toString() === 'after');
  const deadline = performance.now() + 10_000;
  while (!deliveredAfter()) {
    assert.ok(performance.now() < deadline, 'no frame reached the restarted peer within 10 s');
    a.transport.send(asNodeId('b'), Buffer.from('after'));
    await sleep(20);
  }
  assert.ok(restarted.received.every((received) => received.from === a.id));
}

async function refusesOversize(fixture: TransportFixture): Promise<void> {
  const a = await fixture.startNode('a');
  const b = await fixture.startNode('b');
  assert.throws(
    () => a.transport.send(b.id, new Uint8Array(fixtureFrameBytesMax + 1)),
    (error: unknown) => error instanceof EverwriteError && error.code === 'EVERWRITE_FRAME_TOO_LARGE',
  );
  a.transport.send(b.id, Buffer.from('still fine'));
  await waitFor(() => b.received.length === 1, 5000, 'the next frame');
}

async function stoppedDropsSilently(fixture: TransportFixture): Promise<void> {
  const a = await fixture.startNode('a');
  const b = await fixture.startNode('b');
  await fixture.stopNode('a');
  assert.doesNotThrow(() => a.transport.send(b.id, Buffer.from('after stop')));
  await sleep(50);
  assert.equal(b.received.length, 0);
}

/** A process that used the transport and stopped it must exit by itself: no leaked handle. */
async function exitsAfterStop(kind: string): Promise<void> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/support/transport-exit-check.ts', kind], {
    cwd: repositoryRoot,
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: 15_000,
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) =>
    child.once('exit', (exitCode, exitSignal) => resolve([exitCode, exitSignal])),
  );
  assert.equal(signal, null, `the process did not exit by itself (killed by ${String(signal)}); output: ${output}`);
  assert.equal(code, 0, output);
  assert.match(output, /delivered 200; stopped/);
}

const cases: ReadonlyArray<readonly [string, (fixture: TransportFixture) => Promise<void>]> = [
  ['delivers frames intact, with the sender as from, in both directions', deliversIntact],
  ["preserves the order of each sender's frames across many turns", preservesOrder],
  ['delivers a burst sent in one turn (coalesced into few socket writes over TCP)', deliversBurst],
  ['send to an unknown or unreachable peer neither throws nor disturbs other peers', toleratesDeadPeers],
  ['delivery resumes after the receiver restarts', resumesAfterRestart],
  ['refuses a frame over frameBytesMax with EVERWRITE_FRAME_TOO_LARGE', refusesOversize],
  ['a stopped transport drops sends silently and delivers nothing', stoppedDropsSilently],
];

for (const kind of transportKinds) {
  describe(`Transport conformance: ${kind}`, () => {
    for (const [title, body] of cases) test(title, testTimeout, () => withFixture(kind, body));
    test('stop() releases every handle: a process using it exits by itself', testTimeout, () => exitsAfterStop(kind));
  });
}
