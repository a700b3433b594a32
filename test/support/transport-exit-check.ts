// Why: "stop() closes everything" is only proven by a process that exits by itself afterwards: any
// leaked socket, listener, timer or immediate would keep Node's event loop alive. The conformance
// suite spawns this script per implementation and fails if it does not exit, cleanly, in time.
// It never calls process.exit: exiting is the assertion.
//
// Usage: node --import tsx test/support/transport-exit-check.ts <memory|tcp>
import { setTimeout as sleep } from 'node:timers/promises';
import { asNodeId, type NodeId } from '../../src/core/base/ids.ts';
import { createTransportFixture, waitFor } from './transport-fixtures.ts';

const kind = process.argv[2] ?? 'memory';
const fixture = createTransportFixture(kind);
const a = await fixture.startNode('a');
const b = await fixture.startNode('b');
// A peer that is known but down: its link keeps reconnect timers that stop() must cancel.
await fixture.startNode('gone');
await fixture.stopNode('gone');
for (let i = 0; i < 100; i++) {
  a.transport.send(asNodeId('b'), Buffer.from(`a${i}`));
  b.transport.send(asNodeId('a'), Buffer.from(`b${i}`));
  a.transport.send(asNodeId('gone'), Buffer.from('lost'));
  a.transport.send('nobody' as NodeId, Buffer.from('lost'));
}
await waitFor(() => a.received.length === 100 && b.received.length === 100, 5000, 'frames in both directions');
await sleep(50);
await fixture.close();
console.log(`delivered ${a.received.length + b.received.length}; stopped`);
