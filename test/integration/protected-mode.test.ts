// Why: protected mode (decision 0025) is the promise that a node nobody secured yet cannot be used
// from the network: while no user exists it serves HTTP and RESP clients only from its own machine,
// unless started with --insecure. Only a client on another network stack can show that, so this
// test builds two network namespaces joined by a veth pair (root only; skipped, or failed under
// CI=true, without it): nodes in one, listening on every address, the client in the other.
// The node's ports (43021.., 43121.., 43221..) are fixed: it listens inside a namespace this test
// creates, named after its PID, so no other run on the machine shares them.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { binEnvironment } from '../../src/server/bin.ts';
import { destroyNamespaces, namespacePrefix, probeNamespaces, run } from '../../src/chaos/netns.ts';
import { killChild, watchChild } from '../support/cluster-fixture.ts';
import { testNeeding } from '../support/environment.ts';
import { eventually } from '../support/polling.ts';

const binPath = fileURLToPath(new URL('../../bin/everwrite.mjs', import.meta.url));
// Named like a chaos run's, so a crashed run's leftovers are recognised and removed the same way.
const nodeNamespace = `${namespacePrefix}${process.pid}-pmnode`;
const clientNamespace = `${namespacePrefix}${process.pid}-pmcl`;
const nodeAddress = '10.232.0.1';
const clientAddress = '10.232.0.2';
const secret = 'protected mode test secret, not for production';

async function createPair(): Promise<void> {
  await run('ip', ['netns', 'add', nodeNamespace]);
  await run('ip', ['netns', 'add', clientNamespace]);
  await run('ip', [
    'link',
    'add',
    'eth0',
    'netns',
    nodeNamespace,
    'type',
    'veth',
    'peer',
    'name',
    'eth0',
    'netns',
    clientNamespace,
  ]);
  for (const [namespace, address] of [
    [nodeNamespace, nodeAddress],
    [clientNamespace, clientAddress],
  ] as const) {
    await run('ip', ['-n', namespace, 'addr', 'add', `${address}/24`, 'dev', 'eth0']);
    await run('ip', ['-n', namespace, 'link', 'set', 'eth0', 'up']);
    await run('ip', ['-n', namespace, 'link', 'set', 'lo', 'up']);
  }
}

/** One HTTP request made from inside `namespace` by a short-lived Node process: status and body. */
async function httpFrom(
  namespace: string,
  url: string,
  init: { method?: string; authorization?: string; body?: string } = {},
): Promise<{ status: number; body: string }> {
  const script = `fetch(${JSON.stringify(url)}, { method: ${JSON.stringify(init.method ?? 'GET')}, headers: ${JSON.stringify(init.authorization === undefined ? {} : { authorization: init.authorization })}, ${init.body === undefined ? '' : `body: ${JSON.stringify(init.body)},`} signal: AbortSignal.timeout(5000) })
    .then(async (r) => console.log(JSON.stringify({ status: r.status, body: await r.text() })), (e) => console.log(JSON.stringify({ status: 0, body: String(e.cause ?? e) })))`;
  return JSON.parse(await run('ip', ['netns', 'exec', namespace, process.execPath, '-e', script])) as {
    status: number;
    body: string;
  };
}

/** What a RESP port first answers to PING from inside `namespace` ('' when it closes without a word). */
async function respPingFrom(namespace: string, host: string, port: number): Promise<string> {
  const script = `const s = require('node:net').connect(${port}, ${JSON.stringify(host)}); let t = '';
    s.on('connect', () => s.write('*1\\r\\n$4\\r\\nPING\\r\\n')); s.on('data', (d) => { t += d; if (t.includes('\\r\\n')) { console.log(JSON.stringify(t)); s.destroy(); } });
    s.on('close', () => { if (!t.includes('\\r\\n')) console.log(JSON.stringify(t)); }); s.on('error', (e) => console.log(JSON.stringify('error ' + e.code))); setTimeout(() => s.destroy(), 5000);`;
  return JSON.parse(
    (await run('ip', ['netns', 'exec', namespace, process.execPath, '-e', script])).trim().split('\n')[0] as string,
  ) as string;
}

interface StartedNode {
  readonly child: ChildProcess;
  readonly output: () => string;
  readonly http: number;
  readonly resp: number;
}

/** An `everwrite start` inside the node namespace, client ports on every address (0.0.0.0). */
function startNodeInNamespace(slot: number, extra: readonly string[]): StartedNode {
  const [peer, http, resp] = [43021 + slot * 10, 43121 + slot * 10, 43221 + slot * 10];
  const id = `p${slot}`;
  const args = [
    'netns',
    'exec',
    nodeNamespace,
    process.execPath,
    binPath,
    'start',
    '--node-id',
    id,
    '--listen',
    `${nodeAddress}:${peer}`,
    '--http',
    `0.0.0.0:${http}`,
    '--resp',
    `0.0.0.0:${resp}`,
    '--engine',
    'memory',
    '--seeds',
    `${id}@${nodeAddress}:${peer}`,
    '--partitions',
    '8',
    ...extra,
  ];
  const child = spawn('ip', args, {
    env: { ...binEnvironment(), EVERWRITE_SECRET: secret },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  watchChild(
    child,
    (text) => (output = `${output}${text}`.slice(-16_384)),
    () => undefined,
  );
  return { child, output: () => output, http, resp };
}

async function waitReady(node: StartedNode): Promise<void> {
  await eventually(
    `node on ${node.http} to answer on loopback`,
    async () =>
      (await httpFrom(nodeNamespace, `http://127.0.0.1:${node.http}/health`)).status === 200 ? true : undefined,
    { timeoutMs: 30_000, intervalMs: 300 },
  );
}

testNeeding(
  await probeNamespaces(),
  'protected mode: a node with no users serves only loopback until a user exists; --insecure serves everyone',
  { timeout: 180_000 },
  async (t) => {
    await destroyNamespaces([nodeNamespace, clientNamespace]);
    await createPair();
    const started: StartedNode[] = [];
    t.after(async () => {
      for (const node of started) await killChild(node.child, 'SIGKILL');
      await destroyNamespaces([nodeNamespace, clientNamespace]);
    });
    const guarded = startNodeInNamespace(0, []);
    started.push(guarded);
    const insecure = startNodeInNamespace(1, ['--insecure']);
    started.push(insecure);
    await waitReady(guarded);
    await waitReady(insecure);
    const remote = (node: StartedNode, path: string): string => `http://${nodeAddress}:${node.http}${path}`;

    await t.test(
      'no users: refused from the other namespace over HTTP and RESP (but /health, for probes), served on loopback, and the log says why',
      async () => {
        assert.equal(
          (await httpFrom(clientNamespace, remote(guarded, '/health'))).status,
          200,
          'a probe from another machine sees the node up',
        );
        const refused = await httpFrom(clientNamespace, remote(guarded, '/buckets/b/keys/k'));
        assert.equal(refused.status, 403, refused.body);
        assert.equal((JSON.parse(refused.body) as { code: string }).code, 'EVERWRITE_PROTECTED_MODE');
        assert.match(
          await respPingFrom(clientNamespace, nodeAddress, guarded.resp),
          /^-DENIED EVERWRITE_PROTECTED_MODE/,
        );
        const firstUserFromAfar = await httpFrom(clientNamespace, remote(guarded, '/admin/users/intruder'), {
          method: 'PUT',
          body: JSON.stringify({ roles: ['admin'], password: 'intruder-password' }),
        });
        assert.equal(firstUserFromAfar.status, 403);
        for (const path of ['/admin/status', '/metrics', '/'])
          assert.equal((await httpFrom(clientNamespace, remote(guarded, path))).status, 403, path);
        assert.equal(
          (await httpFrom(nodeNamespace, `http://127.0.0.1:${guarded.http}/buckets/b/keys/k`)).status,
          404,
          'loopback is served without credentials',
        );
        assert.match(await respPingFrom(nodeNamespace, '127.0.0.1', guarded.resp), /^\+PONG/);
        // A client on the node's machine dialling the node's own non-loopback address (a node bound to its LAN address alone) is on its machine too.
        assert.equal(
          (await httpFrom(nodeNamespace, remote(guarded, '/buckets/b/keys/k'))).status,
          404,
          'its own machine through its own address is served',
        );
        assert.match(await respPingFrom(nodeNamespace, nodeAddress, guarded.resp), /^\+PONG/);
        assert.match(guarded.output(), /protected mode: no user exists/);
      },
    );

    await t.test(
      '--insecure: served from the other namespace without users, and the log warns; the first user still comes only from loopback',
      async () => {
        assert.equal((await httpFrom(clientNamespace, remote(insecure, '/buckets/b/keys/k'))).status, 404);
        assert.match(await respPingFrom(clientNamespace, nodeAddress, insecure.resp), /^\+PONG/);
        assert.match(insecure.output(), /insecure: no user exists and --insecure was given/);
        const firstUserFromAfar = await httpFrom(clientNamespace, remote(insecure, '/admin/users/intruder'), {
          method: 'PUT',
          body: JSON.stringify({ roles: ['admin'], password: 'intruder-password' }),
        });
        assert.equal(firstUserFromAfar.status, 403, firstUserFromAfar.body);
        assert.equal((JSON.parse(firstUserFromAfar.body) as { code: string }).code, 'EVERWRITE_FORBIDDEN');
      },
    );

    await t.test(
      'once a user is added from loopback, the other namespace reaches the node and must authenticate',
      async () => {
        const added = await run(
          'ip',
          [
            'netns',
            'exec',
            nodeNamespace,
            process.execPath,
            binPath,
            'user',
            'add',
            'root',
            '--role',
            'admin',
            '--password-stdin',
            '--node',
            `http://127.0.0.1:${guarded.http}`,
          ],
          'root-password-1\n',
          30_000,
        ).catch((error: unknown) => String(error));
        assert.match(added, /user root: admin on every bucket/);
        const anonymous = await httpFrom(clientNamespace, remote(guarded, '/buckets/b/keys/k'));
        assert.equal(anonymous.status, 401, 'reachable now, and asking for credentials');
        const authorization = `Basic ${Buffer.from('root:root-password-1').toString('base64')}`;
        assert.equal(
          (await httpFrom(clientNamespace, remote(guarded, '/buckets/b/keys/k'), { authorization })).status,
          404,
        );
        assert.match(await respPingFrom(clientNamespace, nodeAddress, guarded.resp), /^-NOAUTH/);
      },
    );
  },
);
