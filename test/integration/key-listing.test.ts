// Why: key listing (decision 0030) against a real 3-node cluster of separate processes over TCP:
// every written key listed exactly once with one node killed (the coverage plan asks the other
// nodes over the peer protocol), deletes not listed, a bucket whose only replica is down reported
// partial with a code, and the front ends people use on it: redis-cli --scan, KEYS, DBSIZE, TYPE,
// the everwrite keys command and the paged HTTP form, with bad input refused.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { ClusterFixture, request } from '../support/cluster-fixture.ts';
import { missingTool, testNeeding } from '../support/environment.ts';

let fixture: ClusterFixture;
const binPath = fileURLToPath(new URL('../../bin/everwrite.mjs', import.meta.url));

before(async () => {
  fixture = await ClusterFixture.start({ name: 'key-listing', partitions: 64 });
});

after(async () => {
  await fixture?.stop();
});

interface StreamLine {
  readonly keys?: string[];
  readonly done?: boolean;
  readonly partial?: { readonly code: string; readonly missingPartitions: number[] } | null;
}

async function streamKeys(index: number, bucket: string): Promise<{ keys: string[]; last: StreamLine }> {
  const reply = await request(`${fixture.url(index)}/buckets/${encodeURIComponent(bucket)}/keys?keys=stream`, {
    fetchTimeoutMs: 60_000,
  });
  assert.equal(reply.status, 200, reply.text);
  const lines = reply.text
    .trimEnd()
    .split('\n')
    .map((line) => JSON.parse(line) as StreamLine);
  const last = lines.at(-1) as StreamLine;
  assert.equal(last.done, true, 'the stream ends with its done line');
  return { keys: lines.flatMap((line) => line.keys ?? []), last };
}

function assertExactlyOnce(listed: readonly string[], expected: readonly string[]): void {
  assert.equal(new Set(listed).size, listed.length, 'a key was listed twice');
  assert.deepEqual([...listed].sort(), [...expected].sort());
}

async function setProps(bucket: string, props: Record<string, unknown>): Promise<void> {
  const reply = await request(`${fixture.url(1)}/buckets/${bucket}/props`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(props),
  });
  assert.equal(reply.status, 200, reply.text);
  // Every node must place the bucket's keys by the same N before anything is written.
  for (const index of [1, 2, 3]) {
    const deadline = Date.now() + 20_000;
    for (;;) {
      const seen = (await request(`${fixture.url(index)}/buckets/${bucket}/props`)).json<{ n: number }>();
      if (seen.n === props.n) break;
      assert.ok(Date.now() < deadline, `n${index} did not learn ${bucket}'s props`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

async function writeKeys(bucket: string, count: number): Promise<string[]> {
  const keys = Array.from({ length: count }, (_, index) => `key ${index}/é`);
  for (const [position, key] of keys.entries()) {
    const reply = await fixture.put((position % 3) + 1, bucket, key, `value ${position}`);
    assert.equal(reply.status, 204, reply.text);
  }
  return keys;
}

/**
 * One redis-cli call, awaited: a spawnSync would block this process's event loop for the whole
 * test, so the node's 5 s keep-alive closes of the fixture's idle HTTP connections went unseen and
 * the next test's first request reused a closed socket ("fetch failed").
 */
async function redisCli(...args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      'redis-cli',
      ['-p', String(fixture.respPort(2)), ...args],
      { encoding: 'utf8', timeout: 30_000 },
      (error, stdout, stderr) => {
        if (error !== null) reject(new Error(`redis-cli ${args.join(' ')}: ${error.message} ${stderr}`));
        else resolve(stdout);
      },
    );
  });
}

testNeeding(
  missingTool('redis-cli', 'redis-tools'),
  'redis-cli --scan lists every key once; KEYS, DBSIZE and TYPE answer from the listing; bad input is refused',
  { timeout: 120_000 },
  async () => {
    const keys = Array.from({ length: 120 }, (_, index) => `user:${index}`);
    for (const key of keys) assert.equal((await redisCli('SET', key, 'v')).trim(), 'OK');
    await redisCli('SET', 'doomed', 'v');
    assert.equal((await redisCli('DEL', 'doomed')).trim(), '1');
    const scanned = (await redisCli('--scan')).trimEnd().split('\n');
    assertExactlyOnce(scanned, keys);
    assertExactlyOnce(
      (await redisCli('--scan', '--pattern', 'user:1?')).trimEnd().split('\n'),
      keys.filter((key) => /^user:1\d$/.test(key)),
    );
    assertExactlyOnce((await redisCli('KEYS', 'user:*')).trimEnd().split('\n'), keys);
    assert.equal((await redisCli('DBSIZE')).trim(), '120');
    assert.equal((await redisCli('TYPE', 'user:7')).trim(), 'string');
    assert.equal((await redisCli('TYPE', 'doomed')).trim(), 'none');
    assert.match(await redisCli('SCAN', '0', 'COUNT', '99999999999999'), /user:/);
    assert.match(await redisCli('SCAN', 'not-a-cursor'), /ERR invalid cursor/);
    assert.match(await redisCli('SCAN', '123456789'), /ERR invalid cursor/);
    assert.match(await redisCli('SCAN', '0', 'COUNT', '0'), /ERR syntax error/);
    assert.match(await redisCli('KEYS', '[unclosed'), /ERR EVERWRITE_BAD_REQUEST: invalid pattern/);
  },
);

test(
  'everwrite keys and the paged HTTP form list every key once; bad listing requests are coded 400s',
  { timeout: 120_000 },
  async () => {
    const keys = await writeKeys('pages', 90);
    const cli = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      execFile(
        process.execPath,
        [binPath, 'keys', 'pages', '--node', fixture.url(3)],
        { env: { ...process.env, EVERWRITE_FROM_SOURCE: '1' }, timeout: 90_000 },
        (error, stdout, stderr) => resolve({ code: error === null ? 0 : Number(error.code ?? -1), stdout, stderr }),
      );
    });
    assert.equal(cli.code, 0, `everwrite keys: ${cli.stderr}`);
    assertExactlyOnce(cli.stdout.trimEnd().split('\n'), keys);

    const paged: string[] = [];
    let continuation: string | null = null;
    for (let page = 0; page < 20; page++) {
      const query: string = continuation === null ? '' : `&continuation=${encodeURIComponent(continuation)}`;
      const reply = await request(`${fixture.url((page % 3) + 1)}/buckets/pages/keys?keys=true&max_keys=25${query}`, {
        fetchTimeoutMs: 60_000,
      });
      assert.equal(reply.status, 200, reply.text);
      const body = reply.json<{ keys: string[]; continuation: string | null; partial: unknown }>();
      assert.equal(body.partial, null);
      paged.push(...body.keys);
      continuation = body.continuation;
      if (continuation === null) break;
    }
    assert.equal(continuation, null);
    assertExactlyOnce(paged, keys);

    for (const path of [
      '/buckets/pages/keys',
      '/buckets/pages/keys?keys=true&continuation=3.%2B%2B',
      '/buckets/pages/keys?keys=true&continuation=99999.AA',
      '/buckets/pages/keys?keys=true&max_keys=100000',
      `/buckets/${'x'.repeat(300)}/keys?keys=stream`,
    ]) {
      const reply = await request(`${fixture.url(1)}${path}`);
      assert.equal(reply.status, 400, path);
      assert.equal(reply.json<{ code: string }>().code, 'EVERWRITE_BAD_REQUEST', path);
    }
  },
);

test(
  'with one node killed every key of an N=2 and an N=3 bucket is listed once, deletes are not, and an N=1 bucket is reported partial',
  { timeout: 180_000 },
  async () => {
    await setProps('pairs', { n: 2, r: 1, w: 2 });
    await setProps('singles', { n: 1, r: 1, w: 1 });
    const pairs = await writeKeys('pairs', 200);
    const triples = await writeKeys('triples', 60);
    const singles = await writeKeys('singles', 60);
    const deleted = pairs.slice(0, 20);
    for (const key of deleted) {
      const read = await fixture.get(1, 'pairs', key);
      const reply = await fixture.delete(1, 'pairs', key, read.context === undefined ? {} : { context: read.context });
      assert.equal(reply.status, 204, reply.text);
    }
    const before = await streamKeys(1, 'singles');
    assertExactlyOnce(before.keys, singles);
    assert.equal(before.last.partial, null);

    await fixture.kill(3);
    const live = pairs.slice(20);
    for (const coordinator of [1, 2]) {
      const listed = await streamKeys(coordinator, 'pairs');
      assertExactlyOnce(listed.keys, live);
      assert.equal(listed.last.partial, null);
      assertExactlyOnce((await streamKeys(coordinator, 'triples')).keys, triples);
    }

    const partial = await streamKeys(1, 'singles');
    assert.equal(partial.last.partial?.code, 'EVERWRITE_PARTIAL_LISTING');
    const ring = (await request(`${fixture.url(1)}/admin/ring`)).json<{
      owners: number[];
      members: Array<{ id: string }>;
    }>();
    const ownedByDead = ring.owners.flatMap((owner, partition) =>
      ring.members[owner]?.id === 'n3' ? [partition] : [],
    );
    assert.deepEqual(partial.last.partial?.missingPartitions, ownedByDead);
    assert.equal(new Set(partial.keys).size, partial.keys.length);
    assert.ok(partial.keys.every((key) => singles.includes(key)));
    assert.ok(partial.keys.length > 0 && partial.keys.length < singles.length);
    fixture.assertNoCrashes();
  },
);
