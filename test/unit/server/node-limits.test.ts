// Why: `--limits-json` is operator input (decision 0013): a well-formed object reaches startNode as
// typed limits, and every malformed one (not JSON, not an object, an unknown section or field, a
// value that is not a positive integer) is refused with a message naming the culprit, so a typo
// never silently leaves a node on its defaults. A node started with limits enforces them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseLimitsJson } from '../../../src/server/node-limits.ts';
import { startNode } from '../../../src/server/start-node.ts';
import { generateSecret } from '../../../src/io/transport/handshake.ts';

test('a well-formed --limits-json is parsed into the four sections; absent or blank is no limits', () => {
  const text =
    '{"http":{"connectionsMax":100,"headersTimeoutMs":2000},"resp":{"idleTimeoutMs":1000},"peer":{"handshakesPendingMax":16},"rate":{"requestsPerSecond":10}}';
  assert.deepEqual(parseLimitsJson(text), {
    http: { connectionsMax: 100, headersTimeoutMs: 2000 },
    resp: { idleTimeoutMs: 1000 },
    peer: { handshakesPendingMax: 16 },
    rate: { requestsPerSecond: 10 },
  });
  assert.deepEqual(parseLimitsJson(undefined), {});
  assert.deepEqual(parseLimitsJson('  '), {});
  assert.deepEqual(
    parseLimitsJson({ rate: { burstRequests: 5 } }),
    { rate: { burstRequests: 5 } },
    'a --config file gives an object',
  );
});

test('malformed --limits-json is refused with the culprit named', () => {
  const cases: Array<[unknown, RegExp]> = [
    ['{not json', /must be a JSON object/],
    ['[1,2]', /must be a JSON object/],
    ['42', /must be a JSON object/],
    ['{"htttp":{}}', /unknown section "htttp"/],
    ['{"__proto__":{}}', /must be an object|unknown section/],
    ['{"http":5}', /http must be an object/],
    ['{"http":{"connectionMax":5}}', /unknown field http.connectionMax/],
    ['{"resp":{"headersTimeoutMs":5}}', /unknown field resp.headersTimeoutMs/],
    ['{"rate":{"requestsPerSecond":0}}', /rate.requestsPerSecond must be a positive integer/],
    ['{"rate":{"requestsPerSecond":-5}}', /positive integer/],
    ['{"peer":{"handshakeTimeoutMs":1.5}}', /positive integer/],
    ['{"http":{"connectionsMax":"100"}}', /positive integer/],
    ['{"http":{"connectionsMax":1e300}}', /positive integer/],
  ];
  for (const [input, message] of cases) assert.throws(() => parseLimitsJson(input), message, String(input));
});

test(
  'startNode applies the limits: a client over its request rate gets 429, and contradictory limits fail the start cleanly',
  { timeout: 30_000 },
  async () => {
    const secret = generateSecret();
    const base = {
      nodeId: 'n1',
      listen: { host: '127.0.0.1', port: 0 },
      http: { host: '127.0.0.1', port: 0 },
      members: [{ id: 'n1', host: '127.0.0.1', port: 1 }],
      engine: 'memory' as const,
      secret,
      partitionCount: 8,
    };
    await assert.rejects(
      startNode({ ...base, limits: { http: { connectionsMax: 2, connectionsPerAddressMax: 3 } } }),
      RangeError,
    );
    await assert.rejects(
      startNode({ ...base, limits: { resp: { idleTimeoutMs: 0 } }, resp: { host: '127.0.0.1', port: 0 } }),
      RangeError,
    );
    const node = await startNode({ ...base, limits: { rate: { requestsPerSecond: 1, burstRequests: 2 } } });
    try {
      const url = `http://127.0.0.1:${node.httpAddress.port}/health`;
      const statuses: number[] = [];
      for (let index = 0; index < 3; index += 1) statuses.push((await fetch(url)).status);
      assert.deepEqual(statuses, [200, 200, 429]);
    } finally {
      await node.stop();
    }
  },
);
