// Why: with inboundPeersOnly the transport's peer set is the cluster view (decision 0015): a node
// that proves the secret but is not a member is disconnected, nothing it sends is delivered, and
// the incident names it; setPeers admits it once a view lists it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { asNodeId, type NodeId } from '../../../../src/core/base/ids.ts';
import type { EverwriteError } from '../../../../src/core/base/errors.ts';
import { TcpTransport } from '../../../../src/io/transport/tcp.ts';
import { testSecret, waitFor } from '../../../support/transport-fixtures.ts';
import { freePort } from '../../../support/free-port.ts';

function node(
  id: string,
  port: number,
  peers: Map<NodeId, { host: string; port: number }>,
  incidents: EverwriteError[] = [],
  options: { inboundPeersOnly?: boolean } = {},
) {
  const received: Array<{ from: NodeId; text: string }> = [];
  const transport = new TcpTransport(
    {
      nodeId: asNodeId(id),
      listen: { host: '127.0.0.1', port },
      peers,
      secret: testSecret,
      handshakeTimeoutMs: 1000,
      ...options,
    },
    { onIncident: (incident) => incidents.push(incident) },
  );
  transport.receive((from, frame) => received.push({ from, text: Buffer.from(frame).toString() }));
  return { transport, received };
}

test('a node outside the peer set is refused by name; setPeers admits it', { timeout: 20_000 }, async () => {
  const memberPort = await freePort();
  const incidents: EverwriteError[] = [];
  const member = node('member', memberPort, new Map(), incidents, { inboundPeersOnly: true });
  const outsider = node('outsider', 0, new Map([[asNodeId('member'), { host: '127.0.0.1', port: memberPort }]]));
  await member.transport.start();
  await outsider.transport.start();
  try {
    outsider.transport.send(asNodeId('member'), Buffer.from('let me in'));
    await waitFor(
      () =>
        incidents.some((incident) =>
          /refused a connection from node outsider: it is not a member/.test(incident.message),
        ),
      5000,
      'the refusal',
    );
    assert.equal(member.received.length, 0, 'nothing from the outsider was delivered');
    assert.equal(member.transport.metrics.inboundRefusedNotPeer >= 1, true);
    member.transport.setPeers(new Map([[asNodeId('outsider'), outsider.transport.address()]]));
    await waitFor(
      () => {
        outsider.transport.send(asNodeId('member'), Buffer.from('now a member'));
        return member.received.some((entry) => entry.text === 'now a member' && entry.from === 'outsider');
      },
      10_000,
      'delivery once the view lists it',
    );
  } finally {
    await Promise.all([member.transport.stop(), outsider.transport.stop()]);
  }
});
