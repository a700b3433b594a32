// Why: TLS on every port and mutual TLS between nodes (decision 0026), on real `everwrite start`
// processes with a CA and certificates made for the test: curl, redis-cli, ioredis and the TypeScript client
// work over TLS; plaintext clients are refused; a process with the cluster secret but a
// certificate from another CA is refused by the peers (an impostor on a member's own address is
// never seen up, a stranger never appears in any member list); a certificate rotated with SIGHUP
// is served without a restart while open connections keep working, and a bad one is refused with
// the old one kept; unfinished handshakes are closed at their deadline and within their budget;
// bad certificate files stop a start with a coded error naming the file.
import { after, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpsRequest, Agent as HttpsAgent } from 'node:https';
import { connect as connectTcp, type Socket } from 'node:net';
import { connect as connectTls, type TLSSocket } from 'node:tls';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { binEnvironment, binPath } from '../../src/server/bin.ts';
import { EverwriteClient } from '../../src/client/index.ts';
import { eventually, killChild, throughout, watchChild } from '../support/cluster-fixture.ts';
import { createTestCa, missingOpenssl, type IssuedCertificate, type TestCa } from '../support/test-ca.ts';
import { missingTool, testNeeding } from '../support/environment.ts';
import { freePorts } from '../support/free-port.ts';

const missing = missingOpenssl() ?? missingTool('redis-cli', 'redis-tools') ?? missingTool('curl', 'curl');
/** Peer, HTTP and RESP ports of node slots 1..9, from freePorts. */
const ports = await freePorts(27);
const peerPort = (index: number): number => ports[3 * (index - 1)] as number;
const httpPort = (index: number): number => ports[3 * (index - 1) + 1] as number;
const respPort = (index: number): number => ports[3 * (index - 1) + 2] as number;
const host = '127.0.0.1';
const testTimeout = { timeout: 120_000 };
/** Short handshake deadlines and a small budget, so the bad-input tests run in seconds. */
const limits = {
  peer: { handshakeTimeoutMs: 1000 },
  tls: { handshakeTimeoutMs: 1000, handshakesPendingMax: 16, handshakesPendingPerAddressMax: 4 },
};

interface TlsNode {
  readonly id: string;
  readonly index: number;
  readonly files: IssuedCertificate;
  child: ChildProcess;
  output: string;
  exit: string | undefined;
}

let directory: string;
let cluster: TestCa;
let foreign: TestCa;
let secretFile: string;
let ca: Buffer;
const nodes: TlsNode[] = [];
const strays: ChildProcess[] = [];
const seeds = [1, 2, 3]
  .map(
    (index) => `n${index}@${host}:${peerPort(index)};http=${host}:${httpPort(index)};resp=${host}:${respPort(index)}`,
  )
  .join(',');

function spawnNode(id: string, index: number, files: IssuedCertificate, caFile: string, seedList = seeds): TlsNode {
  const args = [
    binPath,
    'start',
    '--node-id',
    id,
    '--listen',
    `${host}:${peerPort(index)}`,
    '--http',
    `${host}:${httpPort(index)}`,
    '--resp',
    `${host}:${respPort(index)}`,
    ...(seedList === '' ? [] : ['--seeds', seedList]),
    '--engine',
    'memory',
    '--secret-file',
    secretFile,
    '--log-level',
    'info',
    '--tls-cert-file',
    files.certFile,
    '--tls-key-file',
    files.keyFile,
    '--tls-ca-file',
    caFile,
    '--limits-json',
    JSON.stringify(limits),
  ];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], env: binEnvironment() });
  const node: TlsNode = { id, index, files, child, output: '', exit: undefined };
  watchChild(
    child,
    (text) => (node.output = `${node.output}${text}`.slice(-200_000)),
    (description) => (node.exit = description),
  );
  return node;
}

/** One HTTPS exchange trusting the test CA, bounded in time. */
function https(
  path: string,
  index: number,
  options: { method?: string; body?: string; agent?: HttpsAgent; trust?: Buffer } = {},
): Promise<{ status: number; text: string; serial: string }> {
  return new Promise((resolve, reject) => {
    const request = httpsRequest(
      {
        host,
        port: httpPort(index),
        path,
        method: options.method ?? 'GET',
        ca: options.trust ?? ca,
        agent: options.agent ?? false,
        timeout: 10_000,
        ...(options.body === undefined ? {} : { headers: { 'content-type': 'application/json' } }),
      },
      (response) => {
        const serial = (response.socket as TLSSocket).getPeerX509Certificate?.()?.serialNumber ?? '';
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () =>
          resolve({ status: response.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8'), serial }),
        );
      },
    );
    request.on('timeout', () => request.destroy(new Error('timed out')));
    request.on('error', reject);
    request.end(options.body);
  });
}

async function membersSeenBy(index: number): Promise<Array<{ id: string; state: string }>> {
  return (JSON.parse((await https('/admin/status', index)).text) as { members: Array<{ id: string; state: string }> })
    .members;
}

async function waitAllUp(): Promise<void> {
  await eventually(
    'every node to see every member up over TLS',
    async () => {
      for (const node of nodes) {
        const members = await membersSeenBy(node.index);
        if (members.length !== 3 || members.some((member) => member.state !== 'up')) return undefined;
      }
      return true;
    },
    { timeoutMs: 60_000, intervalMs: 250 },
  );
}

function logsOf(): string {
  return nodes
    .map((node) => `===== ${node.id} (${node.exit ?? 'running'}) =====\n${node.output.slice(-4000)}`)
    .join('\n');
}

before(
  async () => {
    if (missing !== undefined) return;
    directory = mkdtempSync(join(tmpdir(), 'everwrite-tls-'));
    cluster = createTestCa('cluster');
    foreign = createTestCa('foreign');
    ca = readFileSync(cluster.caFile);
    secretFile = join(directory, 'cluster.secret');
    writeFileSync(secretFile, 'b7e1c0ffee0ddba11b7e1c0ffee0ddba11');
    for (const index of [1, 2, 3]) {
      // Each node's files live at a fixed path, so a rotation can replace them in place.
      const issued = cluster.issue(`n${index}`);
      const files = { certFile: join(directory, `n${index}.crt`), keyFile: join(directory, `n${index}.key`) };
      copyFileSync(issued.certFile, files.certFile);
      copyFileSync(issued.keyFile, files.keyFile);
      nodes.push(spawnNode(`n${index}`, index, files, cluster.caFile));
    }
    try {
      await waitAllUp();
    } catch (error) {
      throw new Error(`${String(error)}\n${logsOf()}`);
    }
  },
  { timeout: 90_000 },
);

after(
  async () => {
    const children = nodes.map((node) => node.child);
    const stopped = await Promise.all(children.map((child) => killChild(child, 'SIGTERM')));
    await Promise.all([
      ...children.filter((_, position) => stopped[position] !== true).map((child) => killChild(child)),
      ...strays.map((child) => killChild(child)),
    ]);
    cluster?.remove();
    foreign?.remove();
    if (directory !== undefined) rmSync(directory, { recursive: true, force: true });
  },
  { timeout: 30_000 },
);

const run = (command: string, args: readonly string[]): { status: number | null; stdout: string; stderr: string } => {
  const result = spawnSync(command, args, { encoding: 'utf8', timeout: 30_000, env: binEnvironment() });
  return { status: result.status, stdout: result.stdout.trim(), stderr: result.stderr.trim() };
};

testNeeding(
  missing,
  'curl over https with --cacert, redis-cli --tls, ioredis over rediss://, the TypeScript client and the CLI all work against the TLS cluster',
  testTimeout,
  async () => {
    const put = run('curl', [
      '-sS',
      '--cacert',
      cluster.caFile,
      '-X',
      'PUT',
      '-H',
      'Content-Type: text/plain',
      '--data',
      'over tls',
      '-o',
      '/dev/null',
      '-w',
      '%{http_code}',
      `https://${host}:${httpPort(1)}/buckets/tls/keys/curl?w=3`,
    ]);
    assert.equal(put.stdout, '204', put.stderr);
    assert.equal(
      run('curl', ['-sS', '--cacert', cluster.caFile, `https://${host}:${httpPort(2)}/buckets/tls/keys/curl`]).stdout,
      'over tls',
    );
    const redis = (index: number, ...args: string[]) =>
      run('redis-cli', ['--tls', '--cacert', cluster.caFile, '-h', host, '-p', String(respPort(index)), ...args]);
    assert.equal(redis(3, 'SET', 'greeting', 'hello over rediss').stdout, 'OK');
    assert.equal(redis(1, 'GET', 'greeting').stdout, 'hello over rediss');
    const ioredis = new Redis(`rediss://${host}:${respPort(2)}`, {
      tls: { ca },
      maxRetriesPerRequest: 1,
      retryStrategy: () => null,
    });
    try {
      assert.equal(await ioredis.get('greeting'), 'hello over rediss');
      assert.equal(await ioredis.set('from-ioredis', 'yes'), 'OK');
    } finally {
      ioredis.disconnect();
    }
    assert.equal(redis(3, 'GET', 'from-ioredis').stdout, 'yes');
    const client = new EverwriteClient({
      nodes: [1, 2, 3].map((index) => `https://${host}:${httpPort(index)}`),
      routing: 'client',
      ca,
    });
    try {
      await client.put('tls', 'client', 'from the client', { w: 3 });
      const read = await client.get('tls', 'client');
      assert.deepEqual(
        read.siblings.map((sibling) => Buffer.from(sibling.value ?? new Uint8Array()).toString('utf8')),
        ['from the client'],
      );
    } finally {
      await client.close();
    }
    const cli = run(process.execPath, [
      binPath,
      'get',
      'tls',
      'curl',
      '--node',
      `https://${host}:${httpPort(3)}`,
      '--ca',
      cluster.caFile,
    ]);
    assert.equal(cli.status, 0, cli.stderr);
    assert.equal(cli.stdout, 'over tls');
    const untrusted = run(process.execPath, [
      binPath,
      'get',
      'tls',
      'curl',
      '--node',
      `https://${host}:${httpPort(3)}`,
    ]);
    assert.equal(untrusted.status, 4, 'without the CA the node is not trusted');
  },
);

testNeeding(missing, 'plaintext clients are refused on the TLS HTTP, RESP and peer ports', testTimeout, async () => {
  const plainCurl = run('curl', ['-sS', '--max-time', '10', `http://${host}:${httpPort(1)}/health`]);
  assert.notEqual(plainCurl.status, 0, 'plain HTTP gets no answer');
  const plainRedis = run('redis-cli', ['-h', host, '-p', String(respPort(1)), 'PING']);
  assert.notEqual(plainRedis.stdout, 'PONG');
  const wrongCa = run('curl', ['-sS', '--cacert', foreign.caFile, `https://${host}:${httpPort(1)}/health`]);
  assert.notEqual(wrongCa.status, 0, 'a client trusting another CA refuses the node');
  // A plaintext peer hello on the peer port: closed without an answer.
  const answer = await new Promise<{ bytes: number; closed: boolean }>((resolve) => {
    const socket = connectTcp({ host, port: peerPort(1) }, () =>
      socket.write(Buffer.from('\x00\x00\x00\x05EWH1x', 'latin1')),
    );
    let bytes = 0;
    socket.on('data', (chunk: Buffer) => (bytes += chunk.length));
    socket.on('error', () => undefined);
    socket.on('close', () => resolve({ bytes, closed: true }));
    setTimeout(() => resolve({ bytes, closed: false }), 5000).unref();
  });
  assert.ok(answer.closed, 'a plaintext peer is disconnected');
  assert.ok(
    answer.bytes < 16,
    `no handshake answer reaches a plaintext peer (got ${answer.bytes} bytes: at most a TLS alert)`,
  );
});

/** `everwrite <args> --ca <cluster CA>`, bounded. */
const everwrite = (...args: string[]) => run(process.execPath, [binPath, ...args, '--ca', cluster.caFile]);

/** The certificate serial a TLS port serves, seen with the cluster CA (and a client certificate for the peer port). */
function servedSerial(port: number, client?: IssuedCertificate): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connectTls(
      {
        host,
        port,
        ca,
        ...(client === undefined ? {} : { cert: readFileSync(client.certFile), key: readFileSync(client.keyFile) }),
      },
      () => {
        resolve(socket.getPeerX509Certificate()?.serialNumber ?? '');
        socket.destroy();
      },
    );
    socket.on('error', reject);
    socket.setTimeout(10_000, () => socket.destroy(new Error('timed out')));
  });
}

/** A RESP connection held open across the rotation; `ping` answers +PONG while the node serves it. */
function openResp(index: number): Promise<{ ping(): Promise<string>; close(): void }> {
  return new Promise((resolve, reject) => {
    const socket = connectTls({ host, port: respPort(index), ca }, () => {
      resolve({
        ping: () =>
          new Promise((answer) => {
            socket.once('data', (chunk: Buffer) => answer(chunk.toString('latin1').trim()));
            socket.write('PING\r\n');
          }),
        close: () => socket.destroy(),
      });
    });
    socket.on('error', reject);
  });
}

testNeeding(
  missing,
  'a certificate rotated with SIGHUP is served on every port without a restart; open connections keep working; a bad one is refused and the old one stays',
  testTimeout,
  async () => {
    const node = nodes[0] as TlsNode;
    const pid = node.child.pid;
    const peerClient = cluster.issue('checker');
    const before = {
      http: (await https('/health', 1)).serial,
      resp: await servedSerial(respPort(1)),
      peer: await servedSerial(peerPort(1), peerClient),
    };
    assert.ok(
      before.http !== '' && before.http === before.resp && before.resp === before.peer,
      `one certificate on every port: ${JSON.stringify(before)}`,
    );
    const resp = await openResp(1);
    const keepAlive = new HttpsAgent({ keepAlive: true, maxSockets: 1, ca });
    assert.equal((await https('/health', 1, { agent: keepAlive })).status, 200);
    const next = cluster.issue('n1');
    copyFileSync(next.certFile, node.files.certFile);
    copyFileSync(next.keyFile, node.files.keyFile);
    process.kill(pid as number, 'SIGHUP');
    const rotated = await eventually(
      'n1 to serve the new certificate over https',
      async () => {
        const serial = (await https('/health', 1)).serial;
        return serial !== before.http ? serial : undefined;
      },
      { timeoutMs: 10_000 },
    );
    assert.equal(await servedSerial(respPort(1)), rotated, 'RESP serves the new certificate');
    assert.equal(await servedSerial(peerPort(1), peerClient), rotated, 'the peer port serves the new certificate');
    assert.equal(await resp.ping(), '+PONG', 'a RESP connection opened before the rotation still answers');
    assert.equal(
      (await https('/health', 1, { agent: keepAlive })).status,
      200,
      'a keep-alive HTTPS connection still answers',
    );
    assert.equal(node.child.pid, pid);
    assert.equal(node.exit, undefined, 'the node did not restart');
    // A broken file: the reload is refused with a coded log line naming it; the rotated certificate stays.
    writeFileSync(node.files.certFile, 'not a certificate');
    process.kill(pid as number, 'SIGHUP');
    await eventually(
      'the refused reload in the log',
      async () =>
        /EVERWRITE_BAD_TLS_CONFIG[\s\S]*n1\.crt|n1\.crt[\s\S]*EVERWRITE_BAD_TLS_CONFIG/.test(node.output)
          ? true
          : undefined,
      { timeoutMs: 10_000 },
    );
    assert.equal((await https('/health', 1)).serial, rotated);
    copyFileSync(next.certFile, node.files.certFile);
    resp.close();
    keepAlive.destroy();
    const write = await https('/buckets/tls/keys/after-rotation?w=3', 2, { method: 'PUT', body: 'still a cluster' });
    assert.equal(write.status, 204, 'peers still reach n1 after its rotation (W=3)');
  },
);

testNeeding(
  missing,
  "a process with the cluster secret but a foreign-CA certificate is refused: on a member's address it is never seen up, as a stranger it is never a member, and an admin's join of one is refused before it is staged",
  testTimeout,
  async () => {
    const victim = nodes[2] as TlsNode;
    await killChild(victim.child, 'SIGTERM');
    await eventually(
      'n1 to see n3 down',
      async () => ((await membersSeenBy(1)).find((member) => member.id === 'n3')?.state === 'down' ? true : undefined),
      { timeoutMs: 30_000, intervalMs: 250 },
    );
    // The impostor takes n3's id, ports and secret, and trusts the cluster CA; only its certificate is foreign.
    const impostor = spawnNode('n3', 3, foreign.issue('n3'), cluster.caFile);
    const stranger = spawnNode('n4', 4, foreign.issue('n4'), cluster.caFile, `${seeds},n4@${host}:${peerPort(4)}`);
    strays.push(impostor.child, stranger.child);
    await throughout(
      'n3 stays down and n4 never appears',
      async () => {
        for (const index of [1, 2]) {
          const members = await membersSeenBy(index);
          const n3 = members.find((member) => member.id === 'n3')?.state;
          if (n3 !== 'down' && n3 !== 'suspect') return `n${index} sees the impostor n3 as ${String(n3)}`;
          if (members.some((member) => member.id === 'n4')) return `n${index} lists n4`;
        }
        return undefined;
      },
      { windowMs: 8000, intervalMs: 500 },
    );
    const refused = (node: TlsNode): boolean => /not signed by the cluster CA/.test(node.output);
    await eventually(
      'n1 and n2 to log the refused certificates',
      async () => (refused(nodes[0] as TlsNode) && refused(nodes[1] as TlsNode) ? true : undefined),
      { timeoutMs: 20_000 },
    );
    await Promise.all([killChild(impostor.child), killChild(stranger.child)]);
    // An operator asks a fresh node with a foreign certificate (and the secret) to join: the claimant
    // dials its peer port, the certificate fails, and nothing is staged, so it never enters a view.
    const joiner = spawnNode(
      'n5',
      5,
      foreign.issue('n5'),
      cluster.caFile,
      `n5@${host}:${peerPort(5)};http=${host}:${httpPort(5)};resp=${host}:${respPort(5)}`,
    );
    strays.push(joiner.child);
    const foreignCa = readFileSync(foreign.caFile);
    await eventually(
      'n5 to answer over https',
      async () => ((await https('/health', 5, { trust: foreignCa })).status === 200 ? true : undefined),
      { timeoutMs: 30_000 },
    );
    const join = await https('/admin/join', 5, {
      method: 'POST',
      body: JSON.stringify({ seed: `${host}:${httpPort(1)}` }),
      trust: foreignCa,
    });
    assert.equal(join.status, 403, join.text);
    assert.match(join.text, /EVERWRITE_JOIN_FORBIDDEN[\s\S]*not signed by the cluster CA/);
    const plan = JSON.parse((await https('/admin/plan', 1)).text) as { staged: unknown };
    assert.equal(plan.staged, null, 'nothing staged for the node with the foreign certificate');
    assert.ok(!(await membersSeenBy(1)).some((member) => member.id === 'n5'), 'n5 is in no view');
    await killChild(joiner.child);
    // The real n3 with its own certificate is let back in: what kept the impostor out was the certificate.
    nodes[2] = spawnNode('n3', 3, victim.files, cluster.caFile);
    await waitAllUp();
  },
);

testNeeding(
  missing,
  'garbage on the TLS peer port is closed; handshakes that never finish are closed at the deadline and the per-address budget refuses more',
  testTimeout,
  async () => {
    /** How long until the node closes `socket`, in ms; Infinity (and the socket destroyed) past 6 s, so a broken bound fails fast. */
    const closedWithinMs = (socket: Socket): Promise<number> => {
      const startedMs = performance.now();
      return new Promise((resolve) => {
        const bound = setTimeout(() => {
          resolve(Number.POSITIVE_INFINITY);
          socket.destroy();
        }, 6000);
        socket.once('close', () => {
          clearTimeout(bound);
          resolve(performance.now() - startedMs);
        });
      });
    };
    const garbage = connectTcp({ host, port: peerPort(1) }, () => garbage.write(Buffer.alloc(32 * 1024, 0x5a)));
    garbage.on('error', () => undefined);
    assert.ok((await closedWithinMs(garbage)) < 1500, 'garbage is cut off');
    for (const port of [peerPort(1), httpPort(1), respPort(1)]) {
      const silent = connectTcp({ host, port });
      silent.on('error', () => undefined);
      const closedMs = await closedWithinMs(silent);
      assert.ok(
        closedMs >= 800 && closedMs < 4000,
        `a silent connection to ${port} is closed at the 1 s handshake deadline, took ${Math.round(closedMs)} ms`,
      );
    }
    // handshakesPendingPerAddressMax is 4 on the HTTPS port: a fifth unfinished handshake from one address is refused at once...
    const held = Array.from({ length: 4 }, () => connectTcp({ host, port: httpPort(1) }));
    for (const socket of held) socket.on('error', () => undefined);
    await eventually(
      'four connections up',
      async () => (held.every((socket) => socket.remotePort !== undefined) ? true : undefined),
      { timeoutMs: 5000 },
    );
    const fifth = connectTcp({ host, port: httpPort(1) });
    fifth.on('error', () => undefined);
    const fifthClosedMs = await closedWithinMs(fifth);
    for (const socket of held) socket.destroy();
    assert.ok(
      fifthClosedMs < 500,
      `the fifth pending handshake from one address is refused at once, took ${fifthClosedMs} ms`,
    );
    // ...while a client from another address is served.
    const other = await new Promise<number>((resolve, reject) => {
      const request = httpsRequest(
        { host, port: httpPort(1), path: '/health', ca, localAddress: '127.0.0.2', agent: false, timeout: 5000 },
        (response) => {
          response.resume();
          resolve(response.statusCode ?? 0);
        },
      );
      request.on('error', reject);
      request.end();
    });
    assert.equal(other, 200);
  },
);

testNeeding(
  missing,
  'a missing or mismatched certificate file stops a start with a coded error naming the file',
  testTimeout,
  () => {
    const start = (...tls: string[]) =>
      run(process.execPath, [
        binPath,
        'start',
        '--node-id',
        'bad',
        '--listen',
        `${host}:${peerPort(9)}`,
        '--http',
        `${host}:${httpPort(9)}`,
        '--seeds',
        `bad@${host}:${peerPort(9)}`,
        '--engine',
        'memory',
        '--secret-file',
        secretFile,
        ...tls,
      ]);
    const good = cluster.issue('bad');
    const other = cluster.issue('other');
    const absent = join(directory, 'absent.crt');
    const cases: Array<{ args: string[]; code: number; pattern: RegExp }> = [
      {
        args: ['--tls-cert-file', absent, '--tls-key-file', good.keyFile, '--tls-ca-file', cluster.caFile],
        code: 1,
        pattern: /cannot read the TLS certificate file .*absent\.crt.*\[EVERWRITE_BAD_TLS_CONFIG\]/,
      },
      {
        args: ['--tls-cert-file', good.certFile, '--tls-key-file', other.keyFile, '--tls-ca-file', cluster.caFile],
        code: 1,
        pattern:
          /the TLS key in .*other-\d+\.key does not match the certificate in .*bad-\d+\.crt \[EVERWRITE_BAD_TLS_CONFIG\]/,
      },
      {
        args: ['--tls-cert-file', good.certFile, '--tls-key-file', good.keyFile, '--tls-ca-file', good.keyFile],
        code: 1,
        pattern: /CA file .*bad-\d+\.key does not hold a PEM certificate.*\[EVERWRITE_BAD_TLS_CONFIG\]/,
      },
      {
        args: ['--tls-cert-file', good.certFile, '--tls-key-file', good.keyFile],
        code: 2,
        pattern: /--tls-ca-file FILE is required for TLS on the peer port/,
      },
    ];
    for (const { args, code, pattern } of cases) {
      const result = start(...args);
      assert.equal(result.status, code, `${args.join(' ')}: ${result.stderr}`);
      assert.match(result.stderr, pattern);
      assert.doesNotMatch(result.stderr, /\n\s+at /, 'no stack trace');
    }
  },
);

testNeeding(
  missing,
  "a new node joins the TLS cluster through the CLI over https: it asks its seed over https and the plan follows the claimant's https redirect",
  testTimeout,
  async () => {
    const joiner = spawnNode('n5', 5, cluster.issue('n5'), cluster.caFile, '');
    strays.push(joiner.child);
    const joinerUrl = `https://${host}:${httpPort(5)}`;
    await eventually(
      'n5 to answer over https',
      async () => ((await https('/health', 5)).status === 200 ? true : undefined),
      { timeoutMs: 30_000 },
    );
    const joined = everwrite('cluster', 'join', `${host}:${httpPort(2)}`, '--node', joinerUrl);
    assert.equal(joined.status, 0, `${joined.stderr}\n${joiner.output}`);
    // Asked of n3, which is not the claimant: the commit is redirected to the claimant over https.
    const committed = everwrite('cluster', 'commit', '--node', `https://${host}:${httpPort(3)}`);
    assert.equal(committed.status, 0, committed.stderr);
    await eventually(
      'every member and the joiner to list n5',
      async () => {
        for (const index of [1, 2, 3, 5])
          if (!(await membersSeenBy(index)).some((member) => member.id === 'n5')) return undefined;
        return true;
      },
      { timeoutMs: 30_000, intervalMs: 250 },
    );
    await eventually(
      'n1 to see n5 up over mutual TLS',
      async () => ((await membersSeenBy(1)).find((member) => member.id === 'n5')?.state === 'up' ? true : undefined),
      { timeoutMs: 30_000, intervalMs: 250 },
    );
    const status = everwrite('cluster', 'status', '--node', `https://${host}:${httpPort(1)}`);
    assert.equal(status.status, 0, status.stderr);
    assert.match(status.stdout, /n5/);
  },
);
