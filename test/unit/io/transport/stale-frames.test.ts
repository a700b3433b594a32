// Why: frames queued for a peer that is not connected must not be replayed long after their sender
// gave up on them (a forwarded client write would otherwise run again when a dead primary returns,
// bringing back an old value as a sibling). Fresh frames queued during a short blip still go out.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { asNodeId } from '../../../../src/core/base/ids.ts';
import { TcpTransport } from '../../../../src/io/transport/tcp.ts';
import { testSecret } from '../../../support/transport-fixtures.ts';
import { freePort } from '../../../support/free-port.ts';

async function receiverOn(port: number): Promise<{ transport: TcpTransport; frames: string[] }> {
  const transport = new TcpTransport({
    nodeId: asNodeId('b'),
    listen: { host: '127.0.0.1', port },
    secret: testSecret,
  });
  const frames: string[] = [];
  transport.receive((_from, frame) => frames.push(Buffer.from(frame).toString()));
  await transport.start();
  return { transport, frames };
}

test(
  'frames that waited longer than queuedFrameAgeMaxMs for a connection are dropped, fresher ones delivered',
  { timeout: 20_000 },
  async () => {
    const port = await freePort();
    const sender = new TcpTransport({
      nodeId: asNodeId('a'),
      listen: { host: '127.0.0.1', port: 0 },
      peers: new Map([[asNodeId('b'), { host: '127.0.0.1', port }]]),
      secret: testSecret,
      queuedFrameAgeMaxMs: 300,
      reconnectDelayMinMs: 20,
      reconnectDelayMaxMs: 40,
    });
    await sender.start();
    try {
      sender.send(asNodeId('b'), Buffer.from('stale'));
      await sleep(600);
      sender.send(asNodeId('b'), Buffer.from('fresh'));
      const receiver = await receiverOn(port);
      try {
        const deadline = Date.now() + 5000;
        while (receiver.frames.length === 0 && Date.now() < deadline) await sleep(20);
        await sleep(100);
        assert.deepEqual(receiver.frames, ['fresh']);
        assert.ok(sender.metricsSnapshot().framesDroppedStale >= 1);
      } finally {
        await receiver.transport.stop();
      }
    } finally {
      await sender.stop();
    }
  },
);
