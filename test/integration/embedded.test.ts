// Why: an application can run Everwrite embedded in its own process (docs/CLIENT.md), as Dynamo
// was run as a library. Every other cluster test spawns `everwrite start` processes; this one starts
// three nodes with the package's own `startNode` inside the test process, on loopback ports the OS
// chose, and uses them through the TypeScript client, the HTTP API and the RESP front end.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { EverwriteClient, startNode, type RunningNode } from '../../src/index.ts';
import { freePorts } from '../support/free-port.ts';

const bounded = { timeout: 60_000 };

/** One RESP command over a fresh connection; the raw reply. */
async function resp(port: number, ...args: string[]): Promise<string> {
  const frame = `*${args.length}\r\n${args.map((arg) => `$${Buffer.byteLength(arg)}\r\n${arg}\r\n`).join('')}`;
  return new Promise<string>((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.write(frame));
    socket.once('data', (data) => {
      socket.end();
      resolve(data.toString('latin1'));
    });
    socket.once('error', reject);
  });
}

test(
  'three nodes started in this process with startNode replicate, and serve the client, HTTP and RESP',
  bounded,
  async () => {
    const secret = new Uint8Array(Buffer.from('embedded test cluster secret, not for production', 'utf8'));
    // Nine distinct free ports in one call: node i's peer, HTTP and RESP ports.
    const ports = await freePorts(9);
    const peers = [1, 2, 3].map((index) => ({
      id: `e${index}`,
      host: '127.0.0.1',
      port: ports[3 * index - 3] as number,
    }));
    const nodes: RunningNode[] = [];
    try {
      for (const [position, member] of peers.entries()) {
        nodes.push(
          await startNode({
            nodeId: member.id,
            listen: { host: member.host, port: member.port },
            http: { host: '127.0.0.1', port: ports[3 * position + 1] as number },
            resp: { host: '127.0.0.1', port: ports[3 * position + 2] as number },
            members: peers,
            engine: 'memory',
            secret,
            partitionCount: 64,
          }),
        );
      }
      const urls = nodes.map((node) => `http://${node.httpAddress.host}:${node.httpAddress.port}`);
      const client = new EverwriteClient({ nodes: urls, routing: 'client' });
      try {
        await client.put('carts', 'alice', 'book');
        const read = await client.get('carts', 'alice');
        assert.equal(read.found, true);
        assert.equal(new TextDecoder().decode(read.siblings[0]?.value), 'book');
        // Every node holds a replica (N=3 on three nodes), whichever coordinated the write.
        for (const url of urls) {
          for (let attempt = 0; attempt < 50; attempt++) {
            if ((await fetch(`${url}/admin/local/buckets/carts/keys/alice`)).status === 200) break;
            await new Promise((resolve) => setTimeout(resolve, 20));
          }
          assert.equal(
            (await fetch(`${url}/admin/local/buckets/carts/keys/alice`)).status,
            200,
            `${url} holds no replica`,
          );
        }
      } finally {
        await client.close();
      }
      const [first, , third] = nodes.map((node) => node.respAddress?.port as number);
      assert.equal(await resp(first as number, 'SET', 'greeting', 'hello'), '+OK\r\n');
      assert.equal(await resp(third as number, 'GET', 'greeting'), '$5\r\nhello\r\n');
    } finally {
      for (const node of nodes.reverse()) await node.stop();
    }
  },
);
