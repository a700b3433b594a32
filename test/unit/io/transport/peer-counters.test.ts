// Why: per-peer transport metrics (docs/OPERATIONS.md "Metrics") must never take a label value from
// outside the cluster view: a node that holds the secret but is not a member may still be delivered
// to (inboundPeersOnly off), yet gets no counters of its own; once a view lists it, its frames and
// bytes are counted as it sends them, and when the view drops it so are its counters. Also: every
// TLS failure, whatever code a client provokes, folds into one of five classes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { asNodeId, type NodeId } from '../../../../src/core/base/ids.ts';
import { TcpTransport, type PeerAddress } from '../../../../src/io/transport/tcp.ts';
import { tlsFailureClasses, tlsFailureClassOf } from '../../../../src/core/base/tls-failure-class.ts';
import { testSecret, waitFor } from '../../../support/transport-fixtures.ts';

/** A transport on an ephemeral loopback port that knows `peers`. */
function transport(id: string, peers: ReadonlyMap<NodeId, PeerAddress>): TcpTransport {
  return new TcpTransport({
    nodeId: asNodeId(id),
    listen: { host: '127.0.0.1', port: 0 },
    peers,
    secret: testSecret,
    handshakeTimeoutMs: 1000,
  });
}

test(
  'only members of the peer map have per-peer counters; a member gets them when listed and loses them when dropped',
  { timeout: 20_000 },
  async () => {
    const receiver = transport('receiver', new Map());
    const delivered: string[] = [];
    receiver.receive((_from, frame) => delivered.push(Buffer.from(frame).toString()));
    await receiver.start();
    const sender = transport('sender', new Map([[asNodeId('receiver'), receiver.address()]]));
    await sender.start();
    try {
      sender.send(asNodeId('receiver'), Buffer.from('outsider'));
      await waitFor(() => delivered.includes('outsider'), 5000, 'delivery from a non-member');
      assert.deepEqual(receiver.peerStatuses(), [], 'no series for a node outside the map');
      const [toReceiver] = sender.peerStatuses();
      assert.equal(toReceiver?.peer, 'receiver');
      assert.equal(toReceiver?.framesSent, 1);
      assert.equal(toReceiver?.bytesSent, 4 + 'outsider'.length, 'a frame header and its body');
      assert.equal(toReceiver?.outboundConnected, true);

      receiver.setPeers(new Map([[asNodeId('sender'), sender.address()]]));
      // A connection authenticated before the view listed it stays uncounted; the next one is counted.
      await sender.stop();
      const again = transport('sender', new Map([[asNodeId('receiver'), receiver.address()]]));
      await again.start();
      try {
        again.send(asNodeId('receiver'), Buffer.from('member'));
        await waitFor(() => delivered.includes('member'), 5000, 'delivery from a member');
        const [fromSender] = receiver.peerStatuses();
        assert.equal(fromSender?.peer, 'sender');
        assert.equal(fromSender?.framesReceived, 1);
        assert.equal(fromSender?.bytesReceived, 'member'.length);
        assert.equal(fromSender?.inboundConnected, true);
        receiver.setPeers(new Map());
        assert.deepEqual(receiver.peerStatuses(), [], 'dropped with the member');
      } finally {
        await again.stop();
      }
    } finally {
      await Promise.all([receiver.stop(), sender.stop()]);
    }
  },
);

test('TLS failure codes fold into five classes, and any other string is "other"', () => {
  const cases: ReadonlyArray<[string | undefined, string]> = [
    ['ERR_TLS_HANDSHAKE_TIMEOUT', 'timeout'],
    ['ECONNRESET', 'closed'],
    ['ERR_SSL_WRONG_VERSION_NUMBER', 'protocol'],
    ['ERR_SSL_HTTP_REQUEST', 'protocol'],
    ['ERR_SSL_NO_SHARED_CIPHER', 'protocol'],
    ['UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'certificate'],
    ['ERR_TLS_CERT_ALTNAME_INVALID', 'certificate'],
    ['DEPTH_ZERO_SELF_SIGNED_CERT', 'certificate'],
    ['ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE', 'certificate'],
    ['CERT_HAS_EXPIRED', 'certificate'],
    [undefined, 'other'],
    ['x'.repeat(10_000), 'other'],
    ['anything a client sends', 'other'],
  ];
  for (const [code, expected] of cases) assert.equal(tlsFailureClassOf(code), expected, String(code).slice(0, 40));
  assert.deepEqual([...tlsFailureClasses].sort(), ['certificate', 'closed', 'other', 'protocol', 'timeout']);
});
