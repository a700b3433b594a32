// Why: strangers on the peer port must not crowd out members (decision 0013). Connections that have
// not proved the cluster secret get a small budget of their own (handshakesPendingMax, and
// handshakesPendingPerAddressMax per address) in which the oldest is evicted for a newcomer, so a
// member's handshake, a few milliseconds long, completes under a flood of silent connections that
// used to fill every inbound slot. Also here: a stream captured from a real authenticated
// connection and replayed on a new one delivers nothing (fresh nonces), which the wrong-secret
// and no-handshake intruders of tcp.test.ts did not show. Loopback addresses 127.0.0.2+ act as
// strangers; members dial from 127.0.0.1.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { asNodeId, type NodeId } from '../../../../src/core/base/ids.ts';
import { TcpTransport, type TcpTransportOptions } from '../../../../src/io/transport/tcp.ts';
import { testSecret, waitFor } from '../../../support/transport-fixtures.ts';

const testTimeout = { timeout: 20_000 };
const receiverId = asNodeId('receiver');
const memberId = asNodeId('member');

interface Receiver {
  readonly transport: TcpTransport;
  readonly received: Array<{ from: NodeId; frame: Uint8Array }>;
  readonly port: number;
}

async function startReceiver(overrides: Partial<TcpTransportOptions>): Promise<Receiver> {
  const received: Array<{ from: NodeId; frame: Uint8Array }> = [];
  const transport = new TcpTransport({
    nodeId: receiverId,
    listen: { host: '127.0.0.1', port: 0 },
    secret: testSecret,
    ...overrides,
  });
  transport.receive((from, frame) => received.push({ from, frame }));
  await transport.start();
  return { transport, received, port: transport.address().port };
}

async function startMember(port: number): Promise<TcpTransport> {
  const member = new TcpTransport({
    nodeId: memberId,
    listen: { host: '127.0.0.1', port: 0 },
    secret: testSecret,
    peers: new Map([[receiverId, { host: '127.0.0.1', port }]]),
    reconnectDelayMinMs: 10,
    reconnectDelayMaxMs: 50,
  });
  await member.start();
  return member;
}

/** A silent client from `localAddress`: connects and sends nothing, like a flood's connection. */
function silentConnection(port: number, localAddress: string, sockets: Set<Socket>): void {
  const socket = connect({ port, host: '127.0.0.1', localAddress });
  sockets.add(socket);
  socket.on('error', () => undefined);
  socket.once('close', () => sockets.delete(socket));
}

test(
  'one address past handshakesPendingPerAddressMax is refused at once; another address is not',
  testTimeout,
  async () => {
    const receiver = await startReceiver({
      handshakesPendingMax: 8,
      handshakesPendingPerAddressMax: 2,
      handshakeTimeoutMs: 10_000,
    });
    const sockets = new Set<Socket>();
    try {
      for (let index = 0; index < 3; index += 1) silentConnection(receiver.port, '127.0.0.2', sockets);
      await waitFor(
        () => receiver.transport.metrics.inboundRefusedAddressFull === 1,
        5000,
        'the third connection of 127.0.0.2 refused',
      );
      await waitFor(() => sockets.size === 2, 5000, 'the refused connection closed');
      silentConnection(receiver.port, '127.0.0.3', sockets);
      await sleep(100);
      assert.equal(sockets.size, 3);
      assert.equal(receiver.transport.metrics.inboundRefusedAddressFull, 1);
    } finally {
      for (const socket of sockets) socket.destroy();
      await receiver.transport.stop();
    }
  },
);

test('a flood of silent connections from many addresses cannot keep a member out', testTimeout, async () => {
  // Without the handshake budget, 16 silent strangers filled all 16 inbound slots for the 10 s
  // handshake deadline and the member's connections were dropped.
  const receiver = await startReceiver({
    inboundConnectionsMax: 16,
    handshakesPendingMax: 4,
    handshakesPendingPerAddressMax: 2,
    handshakeTimeoutMs: 10_000,
  });
  const sockets = new Set<Socket>();
  let member: TcpTransport | undefined;
  let flooding = true;
  const flood = (async (): Promise<void> => {
    for (let round = 0; flooding && round < 2000; round += 1) {
      for (let address = 2; address <= 11; address += 1)
        if (sockets.size < 40) silentConnection(receiver.port, `127.0.0.${address}`, sockets);
      await sleep(5);
    }
  })();
  try {
    await waitFor(
      () => receiver.transport.metrics.handshakesEvicted > 0,
      5000,
      'the flood to fill the handshake budget',
    );
    member = await startMember(receiver.port);
    const started = performance.now();
    const deadline = started + 3000;
    while (receiver.received.length === 0 && performance.now() < deadline) {
      member.send(receiverId, Buffer.from('from a member'));
      await sleep(20);
    }
    const tookMs = performance.now() - started;
    assert.ok(
      receiver.received.length > 0,
      `the member's frames were not delivered within 3 s: ${JSON.stringify(receiver.transport.metricsSnapshot())}`,
    );
    assert.equal(receiver.received[0]?.from, memberId);
    assert.ok(receiver.transport.metrics.handshakesEvicted > 0);
    console.log(
      `member delivered after ${tookMs.toFixed(0)} ms under the flood; ${receiver.transport.metrics.handshakesEvicted} strangers evicted`,
    );
  } finally {
    flooding = false;
    await flood;
    for (const socket of sockets) socket.destroy();
    await member?.stop();
    await receiver.transport.stop();
  }
});

interface RecordingProxy {
  readonly port: number;
  /** Every byte the dialer sent through the proxy, per connection. */
  readonly recorded: Buffer[][];
  close(): Promise<void>;
}

/** A TCP proxy to 127.0.0.1:`targetPort` that records what dialers send (a wiretap). */
async function startRecordingProxy(targetPort: number): Promise<RecordingProxy> {
  const recorded: Buffer[][] = [];
  const sockets = new Set<Socket>();
  const track = (socket: Socket): Socket => {
    sockets.add(socket);
    socket.on('error', () => undefined);
    socket.once('close', () => sockets.delete(socket));
    return socket;
  };
  const server = createServer((client) => {
    const chunks: Buffer[] = [];
    recorded.push(chunks);
    const upstream = track(connect({ port: targetPort, host: '127.0.0.1' }));
    track(client);
    client.on('data', (chunk: Buffer) => {
      chunks.push(Buffer.from(chunk));
      upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => client.write(chunk));
    client.once('close', () => upstream.destroy());
    upstream.once('close', () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return {
    port: (server.address() as AddressInfo).port,
    recorded,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

test(
  'a stream captured from a real authenticated connection and replayed on a new one delivers nothing',
  testTimeout,
  async () => {
    const receiver = await startReceiver({ handshakeTimeoutMs: 1000 });
    const proxy = await startRecordingProxy(receiver.port);
    const member = await startMember(proxy.port);
    try {
      member.send(receiverId, Buffer.from('write k=v'));
      await waitFor(() => receiver.received.length === 1, 5000, 'the genuine frame delivered through the wiretap');
      await waitFor(
        () => Buffer.concat(proxy.recorded[0] ?? []).includes(Buffer.from('write k=v')),
        5000,
        'the frame recorded',
      );
      await member.stop();
      const captured = Buffer.concat(proxy.recorded[0] ?? []);
      const failedBefore = receiver.transport.metrics.handshakesFailed;
      // The replay: the dialer's hello, proof and frame, byte for byte, on a fresh connection.
      const replay = connect({ port: receiver.port, host: '127.0.0.1', localAddress: '127.0.0.9' });
      replay.on('error', () => undefined);
      const closed = new Promise<void>((resolve) => replay.once('close', () => resolve()));
      replay.resume();
      replay.once('connect', () => replay.write(captured));
      await Promise.race([closed, sleep(3000)]);
      assert.ok(
        replay.destroyed || replay.readableEnded,
        `the receiver closed the replaying connection: ${JSON.stringify(receiver.transport.metricsSnapshot())} captured ${captured.length}`,
      );
      replay.destroy();
      assert.equal(receiver.received.length, 1, 'the replayed frame was not delivered');
      assert.equal(
        receiver.transport.metrics.handshakesFailed,
        failedBefore + 1,
        'the replayed proof failed against a fresh nonce',
      );
    } finally {
      await member.stop();
      await proxy.close();
      await receiver.transport.stop();
    }
  },
);

test('handshake budget options are validated', testTimeout, () => {
  const base = { nodeId: receiverId, listen: { host: '127.0.0.1', port: 0 }, secret: testSecret };
  assert.throws(() => new TcpTransport({ ...base, handshakesPendingMax: 0 }), /handshakesPendingMax/);
  assert.throws(
    () => new TcpTransport({ ...base, handshakesPendingMax: 4, handshakesPendingPerAddressMax: 5 }),
    /handshakesPendingPerAddressMax/,
  );
  assert.throws(
    () => new TcpTransport({ ...base, handshakesPendingPerAddressMax: 1.5 }),
    /handshakesPendingPerAddressMax/,
  );
  assert.equal(new TcpTransport(base).options.handshakeTimeoutMs, 1000);
});
