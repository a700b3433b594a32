// Why: cluster trust must hold against another OS process, not only against code sharing the node's
// memory. This script is spawned by test/unit/io/transport/tcp.test.ts as a process that does NOT hold
// the cluster secret and tries to get frames delivered anyway. It prints one JSON line saying what
// happened and exits by itself within its time budget.
//
// Usage: node --import tsx test/support/transport-intruder.ts <mode> <host> <port> <targetId> <frames>
//   wrong-secret  runs the handshake with a random secret and pipelines frames right after its proof
//   raw           writes length-prefixed frames without any handshake
//   transport     a full TcpTransport with a random secret that keeps sending frames to the target
import { setTimeout as sleep } from 'node:timers/promises';
import { connect } from 'node:net';
import { asNodeId } from '../../src/core/base/ids.ts';
import { generateSecret } from '../../src/io/transport/handshake.ts';
import { TcpTransport } from '../../src/io/transport/tcp.ts';
import { dialAndHandshake, encodeNumberedFrames } from './transport-raw-peer.ts';

const budgetMs = 5000;
const [mode, host = '127.0.0.1', portText = '0', targetText = 'target', framesText = '100'] = process.argv.slice(2);
const port = Number(portText);
const frameCount = Number(framesText);
const intruderId = asNodeId('intruder');

async function wrongSecret(): Promise<Record<string, unknown>> {
  let framesWritten = 0;
  const result = await dialAndHandshake({
    host,
    port,
    secret: generateSecret(),
    localId: intruderId,
    timeoutMs: budgetMs,
    onProofSent: (socket) => {
      socket.write(encodeNumberedFrames(frameCount, 200));
      framesWritten = frameCount;
    },
  });
  // 'closed' means the node hung up on us before the handshake finished.
  return { outcome: result.outcome, framesWritten, disconnected: result.outcome === 'closed' };
}

async function raw(): Promise<Record<string, unknown>> {
  const socket = connect({ host, port });
  socket.on('error', () => undefined);
  let disconnected = false;
  const closed = new Promise<void>((resolve) =>
    socket.once('close', () => {
      disconnected = true;
      resolve();
    }),
  );
  socket.on('connect', () => socket.write(encodeNumberedFrames(frameCount, 200)));
  await Promise.race([closed, sleep(budgetMs, undefined, { ref: false })]);
  const closedByPeer = disconnected;
  socket.destroy();
  return { outcome: 'raw', framesWritten: frameCount, disconnected: closedByPeer };
}

async function transport(): Promise<Record<string, unknown>> {
  const target = asNodeId(targetText);
  const intruder = new TcpTransport({
    nodeId: intruderId,
    listen: { host: '127.0.0.1', port: 0 },
    secret: generateSecret(),
    peers: new Map([[target, { host, port }]]),
    reconnectDelayMinMs: 10,
    reconnectDelayMaxMs: 50,
  });
  await intruder.start();
  const frame = Buffer.alloc(200, 1);
  const deadline = Date.now() + 1500;
  while (Date.now() < deadline) {
    for (let i = 0; i < 10; i++) intruder.send(target, frame);
    await sleep(20);
  }
  const metrics = intruder.metricsSnapshot();
  await intruder.stop();
  return {
    outcome: 'transport',
    framesQueued: metrics.framesQueued,
    framesWritten: metrics.framesWritten,
    handshakesFailed: metrics.handshakesFailed,
    disconnected: metrics.handshakesFailed > 0,
  };
}

const modes: Record<string, () => Promise<Record<string, unknown>>> = { 'wrong-secret': wrongSecret, raw, transport };
const run = mode === undefined ? undefined : modes[mode];
if (run === undefined) {
  console.error(`transport-intruder: unknown mode ${String(mode)}; expected one of ${Object.keys(modes).join(', ')}`);
  process.exitCode = 2;
} else {
  console.log(JSON.stringify({ mode, ...(await run()) }));
}
