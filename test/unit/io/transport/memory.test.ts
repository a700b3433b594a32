// Why: the in-memory transport stands in for the network in runtime tests, so its fault controls
// must do exactly what they say: a cut link loses frames (in flight ones too), healing restores
// delivery, and delivery is never synchronous nor shared-memory with the sender.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { asNodeId, type NodeId } from '../../../../src/core/base/ids.ts';
import { EverwriteError } from '../../../../src/core/base/errors.ts';
import { MemoryNetwork, type MemoryTransport } from '../../../../src/io/transport/memory.ts';

const a = asNodeId('a');
const b = asNodeId('b');
const c = asNodeId('c');

interface Nodes {
  readonly inboxes: Map<NodeId, string[]>;
  readonly transports: Map<NodeId, MemoryTransport>;
  stopAll(): Promise<void>;
}

/** Starts one transport per id; each inbox records "from:text" in delivery order. */
async function startNodes(network: MemoryNetwork, ids: readonly NodeId[]): Promise<Nodes> {
  const inboxes = new Map<NodeId, string[]>();
  const transports = new Map<NodeId, MemoryTransport>();
  for (const id of ids) {
    const inbox: string[] = [];
    const transport = network.transport(id);
    transport.receive((from, frame) => inbox.push(`${from}:${Buffer.from(frame).toString()}`));
    await transport.start();
    inboxes.set(id, inbox);
    transports.set(id, transport);
  }
  const stopAll = async (): Promise<void> => {
    for (const transport of transports.values()) await transport.stop();
  };
  return { inboxes, transports, stopAll };
}

const send = (nodes: Nodes, from: NodeId, to: NodeId, text: string): void =>
  nodes.transports.get(from)?.send(to, Buffer.from(text));

test('delivery is asynchronous and the receiver gets a copy', { timeout: 5000 }, async () => {
  const network = new MemoryNetwork();
  const nodes = await startNodes(network, [a, b]);
  const frame = Buffer.from('hello');
  nodes.transports.get(a)?.send(b, frame);
  frame.write('HELLO');
  assert.deepEqual(nodes.inboxes.get(b), [], 'nothing is delivered within send');
  await sleep(5);
  assert.deepEqual(nodes.inboxes.get(b), ['a:hello']);
  await nodes.stopAll();
});

test('a cut link loses frames, including those already in flight, until restored', { timeout: 5000 }, async () => {
  const network = new MemoryNetwork();
  const nodes = await startNodes(network, [a, b, c]);
  send(nodes, a, b, 'in flight');
  network.cutLink(a, b);
  send(nodes, a, b, 'cut');
  send(nodes, b, a, 'other direction');
  send(nodes, c, b, 'other link');
  await sleep(5);
  assert.deepEqual(nodes.inboxes.get(b), ['c:other link']);
  assert.deepEqual(nodes.inboxes.get(a), ['b:other direction']);
  network.restoreLink(a, b);
  send(nodes, a, b, 'restored');
  await sleep(5);
  assert.deepEqual(nodes.inboxes.get(b), ['c:other link', 'a:restored']);
  network.isolate(c);
  send(nodes, c, a, 'isolated');
  send(nodes, a, c, 'isolated');
  await sleep(5);
  assert.equal(nodes.inboxes.get(c)?.length, 0);
  network.healAll();
  send(nodes, c, a, 'healed');
  await sleep(5);
  assert.deepEqual(nodes.inboxes.get(a), ['b:other direction', 'c:healed']);
  assert.equal(network.metrics.framesDropped, 4);
  await nodes.stopAll();
});

test('pendingFramesMax bounds what is in flight; extra frames are dropped and counted', { timeout: 5000 }, async () => {
  const network = new MemoryNetwork({ pendingFramesMax: 10 });
  const nodes = await startNodes(network, [a, b]);
  for (let i = 0; i < 25; i++) send(nodes, a, b, String(i));
  assert.equal(network.pendingFrames, 10);
  await sleep(5);
  assert.equal(nodes.inboxes.get(b)?.length, 10);
  assert.equal(network.metrics.framesDropped, 15);
  await nodes.stopAll();
});

test('two running transports with one id is a bug; bad options are refused', async () => {
  const network = new MemoryNetwork();
  const first = network.transport(a);
  await first.start();
  await assert.rejects(network.transport(a).start(), /already running/);
  await first.stop();
  assert.throws(
    () => new MemoryNetwork({ pendingFramesMax: 0 }),
    (error: unknown) => error instanceof EverwriteError && error.code === 'EVERWRITE_BAD_REQUEST',
  );
});
