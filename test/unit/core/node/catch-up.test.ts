// Why: the fast catch-up after a known outage (decision 0020). With the periodic full exchange pushed
// past the test and hints dropped, a replica back from an outage gets every write it missed from the
// change log alone, offered only the keys changed since it went down; an outage the log no longer
// reaches back to falls back to full exchanges; and hostile catch-up messages are refused with a log
// line and change nothing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CoreCluster } from '../../../support/core-cluster.ts';
import type { Effect } from '../../../../src/core/node/effects.ts';
import type { Message } from '../../../../src/core/protocol/messages.ts';
import { emptyRecord, recordsEqual } from '../../../../src/core/versioning/index.ts';

const bucket = 'carts';
/** No periodic exchange within the test, hints never delivered: only the catch-up (or its fallback) repairs. */
const settings = {
  antiEntropyIntervalMs: 1_000_000_000,
  hintDeliveryIntervalMs: 1_000_000_000,
  antiEntropyCatchUpMarginMs: 5000,
};
const keysBefore = 300;

function dropHints(cluster: CoreCluster): void {
  for (const id of cluster.ids) cluster.node(id).hints.clear();
}

function assertSameAsN1(cluster: CoreCluster, id: string): void {
  const n1 = cluster.node('n1').records;
  assert.equal(cluster.node(id).records.size, n1.size, `${id} holds as many keys as n1`);
  for (const [key, record] of n1)
    assert.ok(recordsEqual(record, cluster.node(id).records.get(key)!), `${id}'s ${key} equals n1's`);
}

/** Writes keysBefore keys, then takes n3 down until SWIM holds it down on n1 and n2, writing `changed` keys meanwhile. */
function outage(cluster: CoreCluster, changed: number): void {
  for (let index = 0; index < keysBefore; index++) cluster.put('n1', bucket, `key-${index}`, `value-${index}`);
  // Long enough that these writes are older than the margin before the outage, and that the margin is inside the log.
  cluster.runFor(settings.antiEntropyCatchUpMarginMs + 3000);
  cluster.down.add(cluster.ids[2]!);
  cluster.runFor(8000);
  for (let index = 0; index < changed; index++)
    cluster.put('n1', bucket, `key-${(index * 7) % (2 * keysBefore)}`, `changed-${index}`);
  cluster.runFor(1000);
  dropHints(cluster);
  cluster.down.clear();
}

function catchUpTotals(cluster: CoreCluster): {
  keysOffered: number;
  keysDiffering: number;
  catchUps: number;
  fallbacks: number;
} {
  const totals = { keysOffered: 0, keysDiffering: 0, catchUps: 0, fallbacks: 0 };
  for (const id of cluster.ids) {
    const status = cluster.node(id).core.catchUpStatus();
    totals.keysOffered += status.keysOffered;
    totals.keysDiffering += status.keysDiffering;
    totals.catchUps += status.catchUps;
    totals.fallbacks += status.fallbacks;
  }
  return totals;
}

test('a replica back from an outage gets what it missed from the change log, offered only the changed keys', () => {
  const cluster = new CoreCluster(3, settings);
  const changed = 40;
  outage(cluster, changed);
  const stale = [...cluster.node('n1').records.keys()].filter(
    (key) => !recordsEqual(cluster.node('n1').records.get(key)!, cluster.node('n3').records.get(key) ?? emptyRecord),
  );
  assert.ok(stale.length >= changed - 5, `n3 missed the outage's writes (${stale.length} stale)`);
  cluster.runFor(10_000);
  assertSameAsN1(cluster, 'n3');
  const totals = catchUpTotals(cluster);
  assert.ok(totals.catchUps >= 2, `n1 and n2 caught n3 up (${totals.catchUps})`);
  assert.equal(totals.fallbacks, 0, 'no full exchange was needed');
  // Each of n1 and n2 offers the keys it stored since n3 was last seen up less the margin: the
  // outage's writes only, not the keysBefore keys written well before it.
  assert.ok(totals.keysOffered >= changed && totals.keysOffered <= 2 * changed, `offered ${totals.keysOffered} keys`);
  assert.ok(totals.keysDiffering >= stale.length, `found ${totals.keysDiffering} differing of ${stale.length} stale`);
});

test('an outage older than what the change log holds is repaired by full exchanges instead', () => {
  const cluster = new CoreCluster(3, { ...settings, antiEntropyChangeLogEntriesMax: 16 });
  outage(cluster, 40);
  cluster.runFor(15_000);
  assertSameAsN1(cluster, 'n3');
  const totals = catchUpTotals(cluster);
  assert.ok(totals.fallbacks > 0, 'pairs fell back to the full exchange');
  assert.equal(totals.keysOffered, 0, 'nothing was offered from a log that does not cover the outage');
});

function sentCatchUps(effects: readonly Effect[]): Array<Extract<Message, { type: 'catchUp' }>> {
  return effects.flatMap((effect) =>
    effect.type === 'send' && effect.message.type === 'catchUp' ? [effect.message] : [],
  );
}

function changesNothing(effects: readonly Effect[]): boolean {
  return effects.every((effect) => effect.type === 'send' || effect.type === 'log');
}

test('hostile catch-up requests are refused with a log line and change nothing', () => {
  const cluster = new CoreCluster(3, settings);
  cluster.put('n1', bucket, 'k', 'v');
  cluster.runFor(500);
  const ringVersion = cluster.node('n2').core.ring.version;
  const entry = { key: new Uint8Array([0, 1, 99, 107]), recordHash: new Uint8Array(16) };
  const request = (version: number, fields: object): Message =>
    ({
      type: 'catchUp',
      ringVersion: version,
      catchUp: { kind: 'catch-up-request', catchUpId: 7, partition: 0, entries: [entry], ...fields },
    }) as unknown as Message;
  const heldPartition = [...Array(64).keys()].find((partition) => isHeld(cluster, partition))!;
  const cases: Array<{ what: string; message: Message; reason: string }> = [
    {
      what: 'another ring version',
      message: request(ringVersion + 1, { partition: heldPartition }),
      reason: 'ring-mismatch',
    },
    {
      what: 'a partition out of range',
      message: request(ringVersion, { partition: 1_000_000 }),
      reason: 'unknown-partition',
    },
    {
      what: '257 entries',
      message: request(ringVersion, { partition: heldPartition, entries: Array.from({ length: 257 }, () => entry) }),
      reason: 'request-too-large',
    },
    {
      what: 'no entries',
      message: request(ringVersion, { partition: heldPartition, entries: [] }),
      reason: 'malformed-request',
    },
    {
      what: 'an empty key',
      message: request(ringVersion, {
        partition: heldPartition,
        entries: [{ key: new Uint8Array(0), recordHash: new Uint8Array(16) }],
      }),
      reason: 'malformed-request',
    },
    {
      what: 'a 65-byte hash',
      message: request(ringVersion, {
        partition: heldPartition,
        entries: [{ key: entry.key, recordHash: new Uint8Array(65) }],
      }),
      reason: 'malformed-request',
    },
  ];
  for (const { what, message, reason } of cases) {
    const logsBefore = cluster.logs.length;
    const effects = cluster.deliver('n2', 'n1', message);
    const [answer] = sentCatchUps(effects);
    assert.equal(
      answer?.catchUp.kind === 'catch-up-refused' ? answer.catchUp.reason : answer?.catchUp.kind,
      reason,
      what,
    );
    assert.ok(changesNothing(effects), `${what}: no store effect`);
    assert.ok(cluster.logs.length > logsBefore, `${what}: logged`);
  }
  const [answer] = sentCatchUps(cluster.deliver('n2', 'n1', request(ringVersion, { partition: heldPartition })));
  assert.deepEqual(
    answer?.catchUp.kind === 'catch-up-response' ? answer.catchUp.differing : undefined,
    [0],
    'a well-formed request is answered: the key is absent there',
  );
});

function isHeld(cluster: CoreCluster, partition: number): boolean {
  const effects = cluster.deliver('n2', 'n1', {
    type: 'catchUp',
    ringVersion: cluster.node('n2').core.ring.version,
    catchUp: {
      kind: 'catch-up-request',
      catchUpId: 1,
      partition,
      entries: [{ key: new Uint8Array([1]), recordHash: new Uint8Array(0) }],
    },
  } as unknown as Message);
  const [answer] = sentCatchUps(effects);
  return answer?.catchUp.kind === 'catch-up-response';
}

test('stray and malformed catch-up answers are logged and change nothing', () => {
  const cluster = new CoreCluster(3, settings);
  cluster.runFor(500);
  const ringVersion = cluster.node('n2').core.ring.version;
  const logsBefore = cluster.logs.length;
  const effects = cluster.deliver('n2', 'n1', {
    type: 'catchUp',
    ringVersion,
    catchUp: { kind: 'catch-up-response', catchUpId: 123_456_789, partition: 0, differing: [0, 5] },
  } as unknown as Message);
  assert.equal(effects.filter((effect) => effect.type !== 'log').length, 0, 'an answer to no request does nothing');
  assert.ok(cluster.logs.length > logsBefore, 'and is logged');
});

test('a replica restarted after the outage is caught up while it rebuilds its trees', () => {
  const cluster = new CoreCluster(3, settings);
  outage(cluster, 40);
  cluster.down.add(cluster.ids[2]!);
  cluster.restart('n3', { wipe: false });
  cluster.down.clear();
  cluster.runFor(10_000);
  assertSameAsN1(cluster, 'n3');
  const totals = catchUpTotals(cluster);
  assert.equal(totals.fallbacks, 0, 'no full exchange was needed');
  assert.ok(totals.keysOffered >= 40 && totals.keysOffered <= 80, `offered ${totals.keysOffered} keys`);
});
