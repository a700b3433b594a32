// Why: a mistyped bench flag must fail loudly before anything starts, never produce a meaningless
// figure (R > N, client routing over RESP, a cluster of 12 nodes), and the defaults must be the
// documented ones (workload A over HTTP on 3 nodes).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  describeSettings,
  parseIntegerFlag,
  parseRespTargets,
  parseTargets,
  resolveBenchOptions,
  targetsUseTls,
} from '../../../../src/cli/bench/options.ts';

test('parseRespTargets keeps HOST:PORT addresses and refuses anything else', () => {
  assert.deepEqual(parseRespTargets('127.0.0.1:6381, 127.0.0.1:6382'), ['127.0.0.1:6381', '127.0.0.1:6382']);
  for (const bad of ['', '127.0.0.1', 'host:0', 'host:70000', 'a b:1', 'redis://h:1'])
    assert.throws(() => parseRespTargets(bad), /HOST:PORT/, bad);
});

test('parseIntegerFlag names the flag and the bounds', () => {
  assert.equal(parseIntegerFlag(' 7 ', '--clients', 1, 10), 7);
  assert.equal(parseIntegerFlag('0', '--value-size', 0, 10), 0);
  assert.throws(() => parseIntegerFlag('32', '--clients', 1, 10), /--clients must be between 1 and 10, got 32/);
  assert.throws(() => parseIntegerFlag('3.5', '--duration', 1, 10), /--duration must be a whole number/);
  assert.throws(() => parseIntegerFlag('1e3', '--keys', 1, 10_000), /--keys must be a whole number/);
  assert.throws(() => parseIntegerFlag('', '--keys', 1, 10), /whole number/);
});

test('parseTargets keeps http(s) base URLs and refuses paths, other schemes and garbage', () => {
  assert.deepEqual(parseTargets('http://127.0.0.1:8001,http://127.0.0.1:8002/'), [
    'http://127.0.0.1:8001',
    'http://127.0.0.1:8002',
  ]);
  assert.deepEqual(parseTargets('https://127.0.0.1:8001, https://localhost:8002'), [
    'https://127.0.0.1:8001',
    'https://localhost:8002',
  ]);
  assert.throws(() => parseTargets(''), /at least one URL/);
  assert.throws(() => parseTargets('127.0.0.1:8001'), /--target/);
  assert.throws(() => parseTargets('ftp://127.0.0.1:8001'), /must use http: or https:/);
  assert.throws(() => parseTargets('http://127.0.0.1:8001/buckets'), /without a path/);
  assert.throws(() => parseTargets('not a url'), /http\(s\) URLs separated by commas/);
});

test('parseTargets refuses credentials in a URL and a mix of http and https', () => {
  // A password in a flag is visible to `ps`; the CLI takes it from the environment only.
  assert.throws(() => parseTargets('http://ops:secret@127.0.0.1:8001'), /EVERWRITE_USER and EVERWRITE_PASSWORD/);
  assert.throws(() => parseTargets('https://127.0.0.1:8001,http://127.0.0.1:8002'), /all be http: or all https:/);
  assert.equal(targetsUseTls(parseTargets('https://127.0.0.1:8001')), true);
  assert.equal(targetsUseTls(parseTargets('http://127.0.0.1:8001')), false);
});

test('the defaults are workload A over HTTP, closed loop, on 3 lmdb nodes', () => {
  const options = resolveBenchOptions({});
  assert.equal(options.nodes, 3);
  assert.equal(options.clients, 32);
  assert.equal(options.durationSeconds, 20);
  assert.equal(options.valueBytes, 1024);
  assert.deepEqual(
    [
      options.workload,
      options.distribution,
      options.protocol,
      options.records,
      options.load,
      options.targetRate,
      options.svgPath,
    ],
    ['A', 'zipfian', 'http', 10_000, true, undefined, undefined],
  );
  assert.deepEqual([options.n, options.r, options.w], [3, 2, 2]);
  assert.equal(options.engine, 'lmdb');
  assert.equal(options.durability, 'durable');
  assert.equal(options.resolver, 'lww');
  assert.deepEqual(options.targets, []);
  assert.equal(options.json, false);
  assert.equal(options.progress, true);
  assert.ok(Object.isFrozen(options));
});

test('flags are parsed, and switches follow commander (--json, --no-progress)', () => {
  const options = resolveBenchOptions({
    nodes: '5',
    clients: '8',
    duration: '3',
    valueSize: '0',
    records: '100',
    load: false,
    rate: '500',
    engine: 'memory',
    durability: 'buffered',
    n: '5',
    r: '3',
    w: '1',
    json: true,
    progress: false,
    httpClient: 'fetch',
    svg: 'out.svg',
  });
  assert.deepEqual(
    [
      options.nodes,
      options.clients,
      options.durationSeconds,
      options.valueBytes,
      options.records,
      options.load,
      options.targetRate,
      options.svgPath,
    ],
    [5, 8, 3, 0, 100, false, 500, 'out.svg'],
  );
  assert.deepEqual([options.engine, options.durability, options.httpClient], ['memory', 'buffered', 'fetch']);
  assert.deepEqual([options.n, options.r, options.w, options.json, options.progress], [5, 3, 1, true, false]);
});

test('quorums are checked against N, and N against the local cluster size', () => {
  assert.throws(() => resolveBenchOptions({ r: '4' }), /--r must be between 1 and 3/);
  assert.throws(() => resolveBenchOptions({ n: '2', w: '3' }), /--w must be between 1 and 2/);
  assert.throws(() => resolveBenchOptions({ nodes: '2', n: '3' }), /--n must be between 1 and 2/);
  assert.deepEqual(((o) => [o.n, o.r, o.w])(resolveBenchOptions({ nodes: '1' })), [1, 1, 1]);
  // With --target the bench cannot know the cluster size: the node refuses an impossible N itself.
  assert.equal(resolveBenchOptions({ target: 'http://127.0.0.1:9', n: '5' }).n, 5);
});

test('every other bad flag is refused with its name', () => {
  const cases: Array<[Record<string, string>, RegExp]> = [
    [{ clients: '0' }, /--clients/],
    [{ clients: '100000' }, /--clients/],
    [{ duration: '0' }, /--duration/],
    [{ valueSize: '1048577' }, /--value-size/],
    [{ records: '0' }, /--records/],
    [{ records: '10000001' }, /--records/],
    [{ rate: '0' }, /--rate/],
    [{ rate: '2000000' }, /--rate/],
    [{ workload: 'E' }, /--workload must be one of A, B, C, D, F, W/],
    [{ distribution: 'hotspot' }, /--distribution must be one of uniform, zipfian, latest/],
    [{ protocol: 'grpc' }, /--protocol must be one of http, resp, client/],
    [{ protocol: 'client', routing: 'random' }, /--routing must be one of server, client/],
    [{ routing: 'client' }, /--routing applies to --protocol client only/],
    [{ protocol: 'resp', target: 'http://127.0.0.1:9' }, /needs --resp-target/],
    [{ respTarget: '127.0.0.1:6381' }, /--resp-target applies to --protocol resp only/],
    [{ protocol: 'resp', bucket: 'mine' }, /bucket redis/],
    [{ respPortBase: '28001' }, /more than --nodes apart/],
    [{ nodes: '10' }, /--nodes/],
    [{ engine: 'rocks' }, /--engine must be one of lmdb, level, memory/],
    [{ durability: 'fsync' }, /--durability must be one of durable, buffered/],
    [{ resolver: 'merge' }, /--resolver/],
    [{ httpClient: 'undici' }, /--http-client/],
    [{ bucket: 'a/b' }, /--bucket/],
    [{ requestTimeout: '0' }, /--request-timeout/],
    [{ peerPortBase: '28000', httpPortBase: '28002' }, /more than --nodes apart/],
    [{ seed: '-1' }, /--seed/],
  ];
  for (const [flags, message] of cases) assert.throws(() => resolveBenchOptions(flags), message, JSON.stringify(flags));
});

test('describeSettings reports what was asked, local cluster or target', () => {
  const local = describeSettings(resolveBenchOptions({ engine: 'memory' }));
  assert.equal(local['cluster'], 'local');
  assert.equal(local['engine'], 'memory');
  assert.deepEqual(
    [
      local['workload'],
      local['distribution'],
      local['protocol'],
      local['records'],
      local['routing'],
      local['targetRate'],
    ],
    ['A', 'zipfian', 'http', 10_000, undefined, undefined],
  );
  assert.deepEqual(local['props'], { n: 3, r: 2, w: 2, durability: 'durable', resolver: 'lww' });
  const remote = describeSettings(resolveBenchOptions({ target: 'http://127.0.0.1:8001' }));
  assert.deepEqual(remote['targets'], ['http://127.0.0.1:8001']);
  assert.equal(remote['engine'], undefined);
});

test('a workload brings its own distribution unless --distribution overrides it; RESP uses the redis bucket', () => {
  assert.equal(resolveBenchOptions({ workload: 'd' }).distribution, 'latest');
  assert.equal(resolveBenchOptions({ workload: 'D', distribution: 'uniform' }).distribution, 'uniform');
  assert.equal(resolveBenchOptions({ workload: 'F' }).distribution, 'zipfian');
  assert.equal(resolveBenchOptions({ protocol: 'resp' }).bucket, 'redis');
  const client = describeSettings(resolveBenchOptions({ protocol: 'client', routing: 'client', rate: '100' }));
  assert.deepEqual([client['routing'], client['targetRate']], ['client', 100]);
});

test('a bad flag is an EVERWRITE_BAD_REQUEST error', () => {
  assert.throws(
    () => resolveBenchOptions({ workload: 'E' }),
    (error: unknown) => (error as { code?: string }).code === 'EVERWRITE_BAD_REQUEST',
  );
  assert.throws(
    () => resolveBenchOptions({ protocol: 'resp', target: 'http://127.0.0.1:9', respTarget: 'nope' }),
    (error: unknown) => (error as { code?: string }).code === 'EVERWRITE_BAD_REQUEST',
  );
});
