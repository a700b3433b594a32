// Why: a node that stops cleanly keeps its versioning actor across the restart (a new epoch after
// every restart would add an actor to the clocks each time), and one whose data directory was not
// stopped cleanly gets a new one (node-metadata.ts, decision 0008). Runs the package's startNode in
// this process on lmdb, the default durable engine.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startNode } from '../../src/index.ts';
import { createStorageEngine } from '../../src/io/storage/index.ts';
import { bootIdentity } from '../../src/runtime/stores/node-metadata.ts';
import { freePorts } from '../support/free-port.ts';

const bounded = { timeout: 60_000 };

test(
  "a clean stop keeps the node's actor across a restart; storage left without one gets a new actor",
  bounded,
  async () => {
    const directory = mkdtempSync(join(tmpdir(), 'everwrite-clean-stop-'));
    const secret = new Uint8Array(Buffer.from('clean stop test secret, not for production', 'utf8'));
    const start = async () => {
      const [peerPort, httpPort] = (await freePorts(2)) as [number, number];
      return startNode({
        nodeId: 'c1',
        listen: { host: '127.0.0.1', port: peerPort },
        http: { host: '127.0.0.1', port: httpPort },
        members: [{ id: 'c1', host: '127.0.0.1', port: peerPort }],
        engine: 'lmdb',
        dataDirectory: directory,
        secret,
        partitionCount: 16,
      });
    };
    let running: Awaited<ReturnType<typeof start>> | undefined;
    try {
      running = await start();
      const firstActor = running.runtime.core.actor;
      await running.stop();
      running = undefined;
      running = await start();
      assert.equal(running.runtime.core.actor, firstActor, 'a clean stop keeps the epoch');
      await Promise.all([running.stop(), running.stop()]);
      await running.stop(); // stop() runs once; later calls wait for it and do not fail on the closed engine
      running = undefined;

      // Boot the storage once more outside a node and close it without the marker: the next start
      // sees what a kill -9 or a power loss leaves.
      const engine = createStorageEngine('lmdb', { directory });
      await engine.open();
      assert.equal((await bootIdentity(engine, () => 1)).epochSource, 'kept');
      await engine.close();

      running = await start();
      assert.notEqual(running.runtime.core.actor, firstActor, 'an unclean stop draws a new epoch');
      assert.match(running.runtime.core.actor, /^c1\./);
    } finally {
      await running?.stop();
      rmSync(directory, { recursive: true, force: true });
    }
  },
);
