// Why: cluster trust is a shared secret checked before any frame is read (docs/ARCHITECTURE.md section 3). A
// process that does not hold it must get nothing in and nothing out, whatever it claims to be: a
// newcomer (n4) and an impostor reusing a real member's id (n1), each started as a real
// `everwrite start` with another secret and the real nodes as seeds, cannot make a W>=2 write
// succeed, cannot read the cluster's values, and nothing they write ever lands on a real node. A
// node given the right secret the same way (through EVERWRITE_SECRET, no file) does get in, which
// shows the intruders fail because of the secret and not because of how they were started; a node
// given no secret at all refuses to start instead of falling back to some well-known one.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ClusterFixture, eventually, LoneNode, request, type Reply } from '../support/cluster-fixture.ts';
import { freePorts } from '../support/free-port.ts';

const bucket = 'trust';
const timeoutMs = 1500;
let fixture: ClusterFixture;
const loneNodes: LoneNode[] = [];
/** Peer and HTTP ports of the lone nodes, two per slot, from freePorts. */
let lonePorts: number[] = [];

before(
  async () => {
    fixture = await ClusterFixture.start({ name: 'intruder' });
    lonePorts = await freePorts(6);
  },
  { timeout: 60_000 },
);

after(
  async () => {
    await Promise.all(loneNodes.map((node) => node.kill()));
    await fixture?.stop();
  },
  { timeout: 30_000 },
);

const realSeeds = (): string => fixture.cluster.nodes.map((node) => `${node.id}@${node.peerAddress}`).join(',');

const lonePeerPort = (slot: number): number => lonePorts[2 * slot] as number;

function startLoneNode(
  id: string,
  slot: number,
  secret: { file?: string; environment?: string },
  seeds: string,
): LoneNode {
  const node = new LoneNode({
    id,
    peerPort: lonePeerPort(slot),
    httpPort: lonePorts[2 * slot + 1] as number,
    dataDirectory: join(fixture.dataDirectory, `lone-${id}-${slot}`),
    seeds,
    ...(secret.file === undefined ? {} : { secretFile: secret.file }),
    ...(secret.environment === undefined ? {} : { environment: { EVERWRITE_SECRET: secret.environment } }),
  });
  loneNodes.push(node);
  return node;
}

function put(url: string, key: string, value: string, query: string): Promise<Reply> {
  return request(`${url}/buckets/${bucket}/keys/${key}?${query}`, {
    method: 'PUT',
    body: value,
    headers: { 'content-type': 'text/plain' },
  });
}

function assertRefused(reply: Reply, what: string): void {
  assert.equal(reply.status, 503, `${what}: ${reply.text}`);
  const code = reply.json<{ code: string }>().code;
  assert.ok(
    ['EVERWRITE_QUORUM_NOT_MET', 'EVERWRITE_TIMEOUT', 'EVERWRITE_UNAVAILABLE'].includes(code),
    `${what}: code ${code}`,
  );
}

/** Everything the real cluster holds and answers is still its own, and nothing of the intruders'. */
async function assertClusterUntouched(intruderKeys: readonly string[]): Promise<void> {
  for (const index of [1, 2, 3]) {
    assert.equal(await fixture.localValue(index, bucket, 'shared'), 'real', `n${index}'s replica of the shared key`);
    for (const key of intruderKeys) {
      const local = await fixture.local(index, bucket, key);
      assert.equal(local.status, 404, `n${index} must hold nothing an intruder wrote (${key}): ${local.text}`);
    }
  }
  const read = await fixture.get(1 + Math.floor(Math.random() * 3), bucket, 'shared', { r: 3 });
  assert.equal(read.status, 200, `R=3 read of the shared key: ${read.text}`);
  assert.equal(read.text, 'real');
}

/** Writes and reads through an intruder; returns the keys it tried to write. */
async function tryEverything(intruder: LoneNode): Promise<string[]> {
  const name = `${intruder.options.id}-${intruder.options.peerPort}`;
  const keys: string[] = [];
  for (const w of [2, 3]) {
    const key = `intruded-${name}-w${w}`;
    keys.push(key);
    assertRefused(
      await put(intruder.url, key, 'forged', `w=${w}&timeout_ms=${timeoutMs}`),
      `a W=${w} write through ${name}`,
    );
  }
  // A W=1 write may succeed on the intruder's own disk; it must still never reach the cluster.
  const lonely = `intruded-${name}-w1`;
  keys.push(lonely);
  await put(intruder.url, lonely, 'forged', `w=1&timeout_ms=${timeoutMs}`);
  await put(intruder.url, 'shared', 'forged', `w=1&timeout_ms=${timeoutMs}`);
  assertRefused(
    await request(`${intruder.url}/buckets/${bucket}/keys/shared?r=2&timeout_ms=${timeoutMs}`),
    `an R=2 read through ${name}`,
  );
  const localRead = await request(`${intruder.url}/buckets/${bucket}/keys/shared?r=1&timeout_ms=${timeoutMs}`);
  assert.notEqual(localRead.text, 'real', `an R=1 read through ${name} must not see the cluster's value`);
  return keys;
}

test('processes with the wrong cluster secret cannot join, read or write', { timeout: 90_000 }, async () => {
  const written = await fixture.put(1, bucket, 'shared', 'real', { w: 3 });
  assert.equal(written.status, 204, written.text);

  const wrongSecret = join(fixture.dataDirectory, 'wrong.secret');
  writeFileSync(wrongSecret, randomBytes(32).toString('hex'), { mode: 0o600 });
  const newcomer = startLoneNode('n4', 0, { file: wrongSecret }, `${realSeeds()},n4@127.0.0.1:${lonePeerPort(0)}`);
  const impostor = startLoneNode('n1', 1, { file: wrongSecret }, realSeeds());
  await Promise.all([newcomer.waitReady(), impostor.waitReady()]);

  const intruderKeys = (await Promise.all([newcomer, impostor].map((intruder) => tryEverything(intruder)))).flat();

  // The intruders keep hints for the real nodes and retry them every second; watch for a while.
  const watchUntil = performance.now() + 4000;
  while (performance.now() < watchUntil) {
    await assertClusterUntouched(intruderKeys);
    await sleep(250);
  }
  for (const index of [1, 2, 3]) {
    const reply = await request(`${fixture.url(index)}/admin/status`);
    const status = reply.json<{ members: { id: string }[] }>();
    assert.deepEqual(status.members.map((member) => member.id).sort(), ['n1', 'n2', 'n3'], `n${index}'s members`);
    // Nowhere else in a member's view either: not the newcomer's id, not either intruder's address.
    assert.ok(!reply.text.includes('"n4"'), `n${index}'s status names n4: ${reply.text}`);
    for (const intruder of [newcomer, impostor])
      assert.ok(
        !reply.text.includes(`:${intruder.options.peerPort}`),
        `n${index}'s status names ${intruder.options.peerPort}: ${reply.text}`,
      );
  }
  assert.equal(newcomer.exitDescription, undefined, `the newcomer kept running\n${newcomer.logs()}`);
  assert.equal(impostor.exitDescription, undefined, `the impostor kept running\n${impostor.logs()}`);
  fixture.assertNoCrashes();
});

test('a node given no cluster secret refuses to start', { timeout: 60_000 }, async () => {
  const unconfigured = startLoneNode('n5', 2, {}, `${realSeeds()},n5@127.0.0.1:${lonePeerPort(2)}`);
  const ended = await unconfigured.waitExit(30_000);
  assert.match(ended, /exit code [1-9]/, unconfigured.logs());
  assert.match(unconfigured.logs(), /no cluster secret/);
});

test(
  'the same kind of process given the right secret through EVERWRITE_SECRET does join',
  { timeout: 90_000 },
  async () => {
    const secret = readFileSync(fixture.cluster.secretFile, 'utf8').trim();
    await fixture.kill(3);
    const replacement = new LoneNode({
      id: 'n3',
      peerPort: fixture.peerPort(3),
      httpPort: fixture.httpPort(3),
      dataDirectory: join(fixture.dataDirectory, 'n3'),
      seeds: realSeeds(),
      environment: { EVERWRITE_SECRET: secret },
    });
    loneNodes.push(replacement);
    await replacement.waitReady();
    // It joined once it sees both others up; then one W=3 write. (Retrying a blind write that timed
    // out after reaching some replicas would leave two concurrent versions of the key, not one.)
    await eventually(
      'the node configured by environment to see n1 and n2 up',
      async () => {
        const members = (await request(`${replacement.url}/admin/status`)).json<{
          members: { id: string; state: string }[];
        }>().members;
        return ['n1', 'n2'].every((id) => members.some((member) => member.id === id && member.state === 'up'))
          ? true
          : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 250 },
    );
    const written = await put(replacement.url, 'from-environment', 'welcome', 'w=3&timeout_ms=10000');
    assert.equal(written.status, 204, written.text);
    for (const index of [1, 2])
      assert.equal(await fixture.localValue(index, bucket, 'from-environment'), 'welcome', `n${index} holds the write`);
    await replacement.kill();
    await fixture.restart(3);
    assert.equal(await fixture.localValue(3, bucket, 'from-environment'), 'welcome');
    fixture.assertNoCrashes();
  },
);
