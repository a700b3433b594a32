// Why: what only a real socket can show (docs/ARCHITECTURE.md habit 7): cluster trust against other processes
// that lack the secret, against clients that skip or stall the handshake and against impostor
// acceptors; the frame size limit on the wire; the send bound under a reader that stopped reading;
// membership changes; and option validation.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { spawn } from 'node:child_process';
import { connect } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { asNodeId, type NodeId } from '../../../../src/core/base/ids.ts';
import { EverwriteError } from '../../../../src/core/base/errors.ts';
import { encodeFrame } from '../../../../src/io/transport/framing.ts';
import { generateSecret } from '../../../../src/io/transport/handshake.ts';
import { TcpTransport, type TcpTransportOptions } from '../../../../src/io/transport/tcp.ts';
import { testSecret, waitFor } from '../../../support/transport-fixtures.ts';
import { freePort } from '../../../support/free-port.ts';
import { dialAndHandshake, startRawAcceptor } from '../../../support/transport-raw-peer.ts';

/** Child processes run from the repository root, where tsx and the relative paths resolve. */
const repositoryRoot = fileURLToPath(new URL('../../../../', import.meta.url));

const testTimeout = { timeout: 20_000 };
const receiverId = asNodeId('receiver');

interface Receiver {
  readonly transport: TcpTransport;
  readonly received: Array<{ from: NodeId; frame: Uint8Array }>;
  readonly incidents: EverwriteError[];
}

async function startReceiver(overrides: Partial<TcpTransportOptions> = {}): Promise<Receiver> {
  const received: Array<{ from: NodeId; frame: Uint8Array }> = [];
  const incidents: EverwriteError[] = [];
  const transport = new TcpTransport(
    {
      nodeId: receiverId,
      listen: { host: '127.0.0.1', port: 0 },
      secret: testSecret,
      handshakeTimeoutMs: 1000,
      ...overrides,
    },
    { onIncident: (incident) => incidents.push(incident) },
  );
  transport.receive((from, frame) => received.push({ from, frame }));
  await transport.start();
  return { transport, received, incidents };
}

interface IntruderReport {
  readonly mode: string;
  readonly outcome: string;
  readonly disconnected: boolean;
  readonly [field: string]: unknown;
}

/** Runs test/support/transport-intruder.ts as a separate OS process and returns its report. */
async function runIntruder(mode: string, port: number, frames = 100): Promise<IntruderReport> {
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      'test/support/transport-intruder.ts',
      mode,
      '127.0.0.1',
      String(port),
      receiverId,
      String(frames),
    ],
    { cwd: repositoryRoot, stdio: ['ignore', 'pipe', 'pipe'], timeout: 15_000 },
  );
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('exit', (exitCode) => resolve(exitCode)));
  assert.equal(code, 0, `intruder ${mode} failed: ${stderr}`);
  return JSON.parse(stdout.trim()) as IntruderReport;
}

test(
  'another process with the wrong secret that pipelines frames after its proof delivers nothing and is cut off',
  testTimeout,
  async () => {
    const receiver = await startReceiver();
    try {
      const report = await runIntruder('wrong-secret', receiver.transport.address().port, 500);
      assert.equal(report.outcome, 'closed', 'the acceptor hung up instead of answering with a proof');
      assert.equal(report.framesWritten, 500);
      assert.equal(report.disconnected, true);
      assert.equal(receiver.received.length, 0);
      assert.equal(receiver.transport.metrics.handshakesFailed, 1);
      assert.equal(receiver.transport.metrics.inboundAuthenticated, 0);
      assert.ok(receiver.incidents.some((incident) => incident.code === 'EVERWRITE_AUTH_FAILED'));
    } finally {
      await receiver.transport.stop();
    }
  },
);

test('a TcpTransport in another process with the wrong secret never gets a frame delivered', testTimeout, async () => {
  const receiver = await startReceiver();
  try {
    const report = await runIntruder('transport', receiver.transport.address().port);
    assert.ok((report.framesQueued as number) > 0, 'the intruder did try');
    assert.equal(report.framesWritten, 0, 'a dialer never writes frames before the acceptor proved itself');
    assert.ok((report.handshakesFailed as number) >= 1);
    assert.equal(receiver.received.length, 0);
    assert.ok(receiver.transport.metrics.handshakesFailed >= 1);
  } finally {
    await receiver.transport.stop();
  }
});

test('a process writing frames without any handshake delivers nothing and is disconnected', testTimeout, async () => {
  const receiver = await startReceiver();
  try {
    const report = await runIntruder('raw', receiver.transport.address().port, 1000);
    assert.equal(report.disconnected, true);
    assert.equal(receiver.received.length, 0);
    assert.equal(receiver.transport.metrics.handshakesFailed, 1, 'the first frame is not a hello: bad frame');
    assert.ok(receiver.incidents.some((incident) => incident.code === 'EVERWRITE_BAD_FRAME'));
  } finally {
    await receiver.transport.stop();
  }
});

test('a client that stalls in the handshake is disconnected after handshakeTimeoutMs', testTimeout, async () => {
  const receiver = await startReceiver({ handshakeTimeoutMs: 200 });
  try {
    const socket = connect({ host: '127.0.0.1', port: receiver.transport.address().port });
    socket.on('error', () => undefined);
    const started = performance.now();
    await new Promise<void>((resolve) => socket.once('close', () => resolve()));
    const elapsedMs = performance.now() - started;
    assert.ok(elapsedMs >= 150 && elapsedMs < 5000, `closed after ${elapsedMs} ms`);
    assert.equal(receiver.transport.metrics.handshakeTimeouts, 1);
  } finally {
    await receiver.transport.stop();
  }
});

test(
  'a node sends nothing to an impostor acceptor that lacks the secret or is the wrong node',
  testTimeout,
  async () => {
    const impostor = await startRawAcceptor({
      secret: generateSecret(),
      localId: asNodeId('b'),
      pauseAfterHandshake: false,
      forgeProof: true,
    });
    const wrongNode = await startRawAcceptor({
      secret: testSecret,
      localId: asNodeId('not-c'),
      pauseAfterHandshake: false,
    });
    const sender = new TcpTransport({
      nodeId: asNodeId('a'),
      listen: { host: '127.0.0.1', port: 0 },
      secret: testSecret,
      reconnectDelayMinMs: 20,
      reconnectDelayMaxMs: 50,
      peers: new Map([
        [asNodeId('b'), { host: '127.0.0.1', port: impostor.port }],
        [asNodeId('c'), { host: '127.0.0.1', port: wrongNode.port }],
      ]),
    });
    await sender.start();
    try {
      for (let i = 0; i < 20; i++) {
        sender.send(asNodeId('b'), Buffer.from('secret data'));
        sender.send(asNodeId('c'), Buffer.from('secret data'));
        await sleep(10);
      }
      await waitFor(() => sender.metrics.handshakesFailed >= 4, 5000, 'failed handshakes with both impostors');
      assert.equal(sender.metrics.framesWritten, 0);
      assert.equal(sender.metrics.outboundAuthenticated, 0);
      // A reconnect may be mid-handshake right now (outcome still 'closed'); none may ever succeed.
      assert.ok(
        impostor.outcomes.includes('rejected') && !impostor.outcomes.includes('authenticated'),
        `the impostor could not verify our proof: ${impostor.outcomes.join(', ')}`,
      );
      assert.deepEqual(
        impostor.bytesAfterHandshake.filter((bytes) => bytes > 0),
        [],
        'no byte followed the forged proof',
      );
      assert.ok(
        wrongNode.outcomes.length > 0 && wrongNode.outcomes.every((outcome) => outcome === 'closed'),
        'the dialer hung up on the wrong node id before proving',
      );
    } finally {
      await sender.stop();
      await impostor.close();
      await wrongNode.close();
    }
  },
);

test(
  'a header announcing more than frameBytesMax closes the connection; nothing after it is delivered',
  testTimeout,
  async () => {
    const receiver = await startReceiver({ frameBytesMax: 1024 });
    try {
      const dial = await dialAndHandshake({
        host: '127.0.0.1',
        port: receiver.transport.address().port,
        secret: testSecret,
        localId: asNodeId('peer'),
        expectedPeerId: receiverId,
        timeoutMs: 5000,
      });
      assert.equal(dial.outcome, 'authenticated');
      const oversize = Buffer.alloc(4);
      oversize.writeUInt32BE(1025, 0);
      dial.socket.write(
        Buffer.concat([
          encodeFrame(Buffer.from('before')),
          oversize,
          Buffer.alloc(1025),
          encodeFrame(Buffer.from('after')),
        ]),
      );
      await Promise.race([dial.closed, sleep(5000)]);
      assert.equal(dial.socket.destroyed, true, 'the receiver closed the connection');
      assert.deepEqual(
        receiver.received.map((received) => [received.from, Buffer.from(received.frame).toString()]),
        [['peer', 'before']],
      );
      assert.equal(receiver.transport.metrics.connectionsClosedFrameTooLarge, 1);
      assert.ok(receiver.incidents.some((incident) => incident.code === 'EVERWRITE_FRAME_TOO_LARGE'));
    } finally {
      await receiver.transport.stop();
    }
  },
);

test("a reader that stopped reading does not grow the sender's queue past sendQueueBytesMax", testTimeout, async () => {
  const slow = await startRawAcceptor({ secret: testSecret, localId: asNodeId('slow'), pauseAfterHandshake: true });
  const sendQueueBytesMax = 1024 * 1024;
  const sender = new TcpTransport({
    nodeId: asNodeId('a'),
    listen: { host: '127.0.0.1', port: 0 },
    secret: testSecret,
    sendQueueBytesMax,
    peers: new Map([[asNodeId('slow'), { host: '127.0.0.1', port: slow.port }]]),
  });
  await sender.start();
  try {
    const frame = Buffer.alloc(64 * 1024 - 4, 9);
    let pendingBytesMax = 0;
    // 64 MiB offered in 1 MiB turns: far more than the kernel's socket buffers and our bound.
    for (let turn = 0; turn < 64; turn++) {
      for (let i = 0; i < 16; i++) sender.send(asNodeId('slow'), frame);
      pendingBytesMax = Math.max(pendingBytesMax, sender.pendingBytes(asNodeId('slow')));
      await sleep(2);
      pendingBytesMax = Math.max(pendingBytesMax, sender.pendingBytes(asNodeId('slow')));
    }
    assert.equal(slow.outcomes[0], 'authenticated');
    assert.ok(pendingBytesMax <= sendQueueBytesMax, `pending ${pendingBytesMax} bytes > bound ${sendQueueBytesMax}`);
    assert.ok(sender.metrics.framesDroppedQueueFull > 0, 'frames beyond the bound were dropped');
    assert.equal(sender.metrics.framesDroppedQueueFull + sender.metrics.framesQueued, 64 * 16);
  } finally {
    await sender.stop();
    await slow.close();
  }
});

test(
  "setPeers: a removed peer's frames are dropped as unknown; a moved peer is reached at its new address",
  testTimeout,
  async () => {
    const first = await startReceiver();
    const second = await startReceiver();
    const sender = new TcpTransport({
      nodeId: asNodeId('a'),
      listen: { host: '127.0.0.1', port: 0 },
      secret: testSecret,
      peers: new Map([[receiverId, first.transport.address()]]),
    });
    await sender.start();
    try {
      sender.send(receiverId, Buffer.from('one'));
      await waitFor(() => first.received.length === 1, 5000, 'the first address');
      sender.setPeers(new Map([[receiverId, second.transport.address()]]));
      sender.send(receiverId, Buffer.from('two'));
      await waitFor(() => second.received.length === 1, 5000, 'the new address');
      sender.setPeers(new Map());
      sender.send(receiverId, Buffer.from('three'));
      assert.equal(sender.metrics.framesDroppedUnknownPeer, 1);
      assert.equal(first.received.length + second.received.length, 2);
    } finally {
      await sender.stop();
      await first.transport.stop();
      await second.transport.stop();
    }
  },
);

test('the writev strategy delivers the same frames in one corked write per turn', testTimeout, async () => {
  const receiver = await startReceiver();
  const sender = new TcpTransport({
    nodeId: asNodeId('a'),
    listen: { host: '127.0.0.1', port: 0 },
    secret: testSecret,
    coalesceStrategy: 'writev',
    peers: new Map([[receiverId, receiver.transport.address()]]),
  });
  await sender.start();
  try {
    for (let i = 0; i < 500; i++) sender.send(receiverId, Buffer.from(`frame ${i}`));
    await waitFor(() => receiver.received.length === 500, 5000, 'every frame');
    assert.deepEqual(
      receiver.received.map((received) => Buffer.from(received.frame).toString()),
      Array.from({ length: 500 }, (_, i) => `frame ${i}`),
    );
    assert.equal(sender.metrics.socketWrites, 1);
  } finally {
    await sender.stop();
    await receiver.transport.stop();
  }
});

test('address() reports the port chosen for port 0; invalid options fail with clear errors', testTimeout, async () => {
  const receiver = await startReceiver();
  assert.ok(receiver.transport.address().port > 0);
  await receiver.transport.stop();
  const base: TcpTransportOptions = {
    nodeId: asNodeId('a'),
    listen: { host: '127.0.0.1', port: 0 },
    secret: testSecret,
  };
  const failsWith =
    (code: string, pattern: RegExp) =>
    (error: unknown): boolean =>
      error instanceof EverwriteError && error.code === code && pattern.test(error.message);
  assert.throws(
    () => new TcpTransport({ ...base, secret: new Uint8Array(8) }),
    failsWith('EVERWRITE_AUTH_FAILED', /at least 16 bytes/),
  );
  assert.throws(
    () => new TcpTransport({ ...base, listen: { host: '127.0.0.1', port: 70_000 } }),
    failsWith('EVERWRITE_BAD_REQUEST', /listen\.port/),
  );
  assert.throws(
    () => new TcpTransport({ ...base, reconnectDelayMinMs: 100, reconnectDelayMaxMs: 10 }),
    failsWith('EVERWRITE_BAD_REQUEST', /reconnectDelayMaxMs/),
  );
  assert.throws(
    () => new TcpTransport({ ...base, peers: new Map([[asNodeId('b'), { host: '127.0.0.1', port: 0 }]]) }),
    failsWith('EVERWRITE_BAD_REQUEST', /peers\[b\]\.port/),
  );
  assert.throws(
    () => new TcpTransport({ ...base, frameBytesMax: 0 }),
    failsWith('EVERWRITE_BAD_REQUEST', /frameBytesMax/),
  );
  const busy = await startReceiver();
  const clash = new TcpTransport({ ...base, listen: busy.transport.address() });
  await assert.rejects(clash.start(), failsWith('EVERWRITE_UNAVAILABLE', /cannot listen/));
  await busy.transport.stop();
});

test('a peer that connects to us is reached at once, not after our reconnect back-off to it', testTimeout, async () => {
  const laterPort = await freePort();
  const laterId = asNodeId('later');
  // A long back-off: the first retry comes 4-8 s after the failed connect.
  const sender = new TcpTransport({
    nodeId: asNodeId('a'),
    listen: { host: '127.0.0.1', port: 0 },
    secret: testSecret,
    reconnectDelayMinMs: 8000,
    reconnectDelayMaxMs: 8000,
    queuedFrameAgeMaxMs: 20_000,
    peers: new Map([[laterId, { host: '127.0.0.1', port: laterPort }]]),
  });
  sender.receive(() => undefined);
  await sender.start();
  const received: string[] = [];
  const later = new TcpTransport({
    nodeId: laterId,
    listen: { host: '127.0.0.1', port: laterPort },
    secret: testSecret,
    peers: new Map([[asNodeId('a'), sender.address()]]),
  });
  later.receive((_from, frame) => received.push(Buffer.from(frame).toString('utf8')));
  try {
    sender.send(laterId, Buffer.from('queued while the peer was down'));
    await waitFor(() => sender.metrics.connectsFailed >= 1, 5000, 'the first connect to fail');
    await later.start();
    const startedMs = performance.now();
    later.send(asNodeId('a'), Buffer.from('hello'));
    await waitFor(() => received.length === 1, 3000, 'the queued frame, well before the 4-8 s back-off ends');
    assert.deepEqual(received, ['queued while the peer was down']);
    assert.ok(performance.now() - startedMs < 3000);
  } finally {
    await later.stop();
    await sender.stop();
  }
});
