// Why: mutual TLS on the peer port (decision 0026) on real sockets in one process: members with
// certificates from the cluster CA talk; a node with a certificate from another CA, a plaintext
// peer, garbage and a silent connection deliver nothing and are closed within the handshake
// deadline and budget of decision 0013; a rotated certificate is served to new connections while
// an open link keeps working.
import { after } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { connect as connectTls } from 'node:tls';
import { readFileSync } from 'node:fs';
import { asNodeId, type NodeId } from '../../../../src/core/base/ids.ts';
import type { EverwriteError } from '../../../../src/core/base/errors.ts';
import {
  TcpTransport,
  type PeerAddress,
  type PeerTlsCredentials,
  type TcpTransportOptions,
} from '../../../../src/io/transport/tcp.ts';
import { testSecret, waitFor } from '../../../support/transport-fixtures.ts';
import { createTestCa, missingOpenssl, type IssuedCertificate } from '../../../support/test-ca.ts';
import { testNeeding } from '../../../support/environment.ts';

const testTimeout = { timeout: 30_000 };
const missing = missingOpenssl();
const cluster = missing === undefined ? createTestCa('cluster') : undefined;
const foreign = missing === undefined ? createTestCa('foreign') : undefined;
after(() => {
  cluster?.remove();
  foreign?.remove();
});

const credentialsOf = (issued: IssuedCertificate, caFile: string): PeerTlsCredentials => ({
  cert: readFileSync(issued.certFile),
  key: readFileSync(issued.keyFile),
  ca: readFileSync(caFile),
});

interface Node {
  readonly id: NodeId;
  readonly transport: TcpTransport;
  readonly received: Array<{ from: NodeId; frame: string }>;
  readonly incidents: EverwriteError[];
}

const running: TcpTransport[] = [];
after(() => Promise.all(running.map((transport) => transport.stop())));

async function startNode(id: string, overrides: Partial<TcpTransportOptions> = {}): Promise<Node> {
  const received: Array<{ from: NodeId; frame: string }> = [];
  const incidents: EverwriteError[] = [];
  const transport = new TcpTransport(
    {
      nodeId: asNodeId(id),
      listen: { host: '127.0.0.1', port: 0 },
      secret: testSecret,
      handshakeTimeoutMs: 1000,
      reconnectDelayMinMs: 20,
      reconnectDelayMaxMs: 200,
      ...overrides,
    },
    { onIncident: (incident) => incidents.push(incident) },
  );
  transport.receive((from, frame) => received.push({ from, frame: Buffer.from(frame).toString() }));
  await transport.start();
  running.push(transport);
  return { id: asNodeId(id), transport, received, incidents };
}

function meet(nodes: readonly Node[]): void {
  for (const node of nodes)
    node.transport.setPeers(
      new Map<NodeId, PeerAddress>(
        nodes.filter((other) => other !== node).map((other) => [other.id, other.transport.address()]),
      ),
    );
}

const clusterTls = (name: string): PeerTlsCredentials =>
  credentialsOf((cluster as NonNullable<typeof cluster>).issue(name), (cluster as NonNullable<typeof cluster>).caFile);

/** The serial number of the certificate a TLS port serves now, as a client with the cluster CA sees it. */
function servedSerial(address: PeerAddress, client: PeerTlsCredentials): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connectTls(
      { host: address.host, port: address.port, ca: client.ca, cert: client.cert, key: client.key },
      () => {
        resolve(socket.getPeerX509Certificate()?.serialNumber ?? '');
        socket.destroy();
      },
    );
    socket.on('error', reject);
  });
}

testNeeding(
  missing,
  'members with certificates from the cluster CA exchange frames both ways over TLS',
  testTimeout,
  async () => {
    const a = await startNode('tls-a', { tls: clusterTls('a') });
    const b = await startNode('tls-b', { tls: clusterTls('b') });
    meet([a, b]);
    a.transport.send(b.id, Buffer.from('hello b'));
    b.transport.send(a.id, Buffer.from('hello a'));
    await waitFor(() => b.received.length === 1 && a.received.length === 1, 5000, 'a frame each way');
    assert.deepEqual(b.received, [{ from: a.id, frame: 'hello b' }]);
    assert.deepEqual(a.received, [{ from: b.id, frame: 'hello a' }]);
    assert.equal(a.transport.metricsSnapshot().inboundAuthenticated, 1);
  },
);

testNeeding(
  missing,
  'a node whose certificate another CA signed delivers nothing, even with the cluster secret, and is named in an incident',
  testTimeout,
  async () => {
    const member = await startNode('tls-member', { tls: clusterTls('member') });
    const stranger = (foreign as NonNullable<typeof foreign>).issue('stranger');
    // The intruder trusts the cluster CA, so only its own certificate gives it away.
    const intruder = await startNode('tls-intruder', {
      tls: credentialsOf(stranger, (cluster as NonNullable<typeof cluster>).caFile),
    });
    meet([member, intruder]);
    for (let i = 0; i < 5; i++) intruder.transport.send(member.id, Buffer.from(`forged ${i}`));
    await waitFor(
      () => member.incidents.some((incident) => /not signed by the cluster CA/.test(incident.message)),
      5000,
      'the refusal incident',
    );
    member.transport.send(intruder.id, Buffer.from('secret data'));
    await waitFor(
      () =>
        member.incidents.some(
          (incident) =>
            incident.code === 'EVERWRITE_AUTH_FAILED' && /TLS with node tls-intruder/.test(incident.message),
        ),
      5000,
      'the member refusing the intruder as acceptor',
    );
    assert.deepEqual(member.received, []);
    assert.deepEqual(intruder.received, []);
    assert.equal(member.transport.metricsSnapshot().inboundAuthenticated, 0);
  },
);

testNeeding(missing, 'a plaintext peer with the right secret delivers nothing to a TLS port', testTimeout, async () => {
  const member = await startNode('tls-only', { tls: clusterTls('only') });
  const plain = await startNode('plain-peer');
  meet([member, plain]);
  for (let i = 0; i < 5; i++) plain.transport.send(member.id, Buffer.from(`plain ${i}`));
  await waitFor(
    () => member.incidents.some((incident) => /TLS handshake failed/.test(incident.message)),
    5000,
    'the refusal of the plaintext handshake',
  );
  assert.deepEqual(member.received, []);
  assert.equal(member.transport.metricsSnapshot().inboundAuthenticated, 0);
});

/** Resolves when the server closes `socket`, with how long that took in ms. */
function closedAfterMs(socket: ReturnType<typeof connect>): Promise<number> {
  const startedMs = performance.now();
  return new Promise((resolve) => socket.once('close', () => resolve(performance.now() - startedMs)));
}

testNeeding(
  missing,
  'garbage is closed at once; a handshake that never completes is closed at the deadline; the per-address budget refuses more',
  testTimeout,
  async () => {
    const member = await startNode('tls-target', {
      tls: clusterTls('target'),
      handshakeTimeoutMs: 300,
      handshakesPendingPerAddressMax: 2,
    });
    const { host, port } = member.transport.address();
    const garbage = connect({ host, port }, () => garbage.write(Buffer.alloc(64 * 1024, 0x41)));
    garbage.on('error', () => undefined);
    assert.ok((await closedAfterMs(garbage)) < 1000, 'garbage closed before the deadline');
    const silent = [connect({ host, port }), connect({ host, port })];
    for (const socket of silent) socket.on('error', () => undefined);
    const closings = silent.map(closedAfterMs);
    await waitFor(() => silent.every((socket) => socket.remotePort !== undefined), 2000, 'silent connections up');
    await waitFor(
      () => member.transport.metricsSnapshot().inboundAuthenticated === 0 && member.incidents.length >= 1,
      2000,
      'garbage refused',
    );
    const third = connect({ host, port });
    third.on('error', () => undefined);
    const thirdClosedMs = await closedAfterMs(third);
    assert.ok(
      thirdClosedMs < 250,
      `a third pending handshake from one address is refused at once, took ${thirdClosedMs} ms`,
    );
    for (const closedMs of await Promise.all(closings))
      assert.ok(
        closedMs >= 250 && closedMs < 2000,
        `a silent TLS handshake is closed at the 300 ms deadline, took ${closedMs} ms`,
      );
    assert.equal(member.transport.metricsSnapshot().inboundRefusedAddressFull, 1);
    assert.ok(member.transport.metricsSnapshot().handshakeTimeouts >= 2);
  },
);

testNeeding(
  missing,
  'a rotated certificate is served to new connections while an open link keeps delivering',
  testTimeout,
  async () => {
    const first = clusterTls('rotating');
    const a = await startNode('rot-a', { tls: first });
    const b = await startNode('rot-b', { tls: clusterTls('rot-b') });
    meet([a, b]);
    b.transport.send(a.id, Buffer.from('before'));
    await waitFor(() => a.received.length === 1, 5000, 'the first frame');
    const client = clusterTls('client');
    const before = await servedSerial(a.transport.address(), client);
    const second = clusterTls('rotating');
    a.transport.setTlsCredentials(second);
    const afterRotation = await servedSerial(a.transport.address(), client);
    assert.notEqual(afterRotation, before, 'the new certificate is served');
    b.transport.send(a.id, Buffer.from('after'));
    await waitFor(() => a.received.length === 2, 5000, 'a frame on the open link');
    assert.equal(a.transport.metricsSnapshot().inboundAuthenticated, 1, 'the open link was not re-established');
  },
);

testNeeding(
  missing,
  'peer TLS options without a CA, or with an empty or non-text value, are refused at construction with EVERWRITE_BAD_REQUEST',
  testTimeout,
  () => {
    const good = clusterTls('options');
    const base = { nodeId: asNodeId('options'), listen: { host: '127.0.0.1', port: 0 }, secret: testSecret };
    for (const tls of [
      { ...good, ca: '' },
      { ...good, key: 42 },
      { cert: good.cert, key: good.key },
    ]) {
      assert.throws(() => new TcpTransport({ ...base, tls: tls as unknown as PeerTlsCredentials }), {
        code: 'EVERWRITE_BAD_REQUEST',
      });
    }
  },
);
