// Why: the boot rules of decision 0015. A brand-new node builds version 1 from the seeds, the same
// on every node; afterwards the persisted view rules, and a command line that contradicts it (a
// longer or edited seed list, another partition count, zone or weight) stops the boot with a
// message naming the difference instead of serving another ring.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EverwriteError } from '../../../src/core/base/errors.ts';
import { bootView, parseSeed, type ViewBootInput } from '../../../src/server/view-boot.ts';

const seedList =
  'n1@127.0.0.1:7001;zone=a;http=127.0.0.1:8001,n2@127.0.0.1:7002;zone=b;weight=2,n3@127.0.0.1:7003;zone=c';
const seeds = seedList.split(',').map(parseSeed);

function input(nodeId: string, overrides: Partial<ViewBootInput> = {}): ViewBootInput {
  const index = Number(nodeId.slice(1));
  return {
    persisted: undefined,
    nodeId,
    peer: `127.0.0.1:${7000 + index}`,
    http: `127.0.0.1:${8000 + index}`,
    resp: undefined,
    zone: undefined,
    weight: undefined,
    seeds,
    partitionCount: 64,
    ...overrides,
  };
}

function assertConflict(action: () => unknown, pattern: RegExp): void {
  assert.throws(
    action,
    (error: unknown) =>
      error instanceof EverwriteError && error.code === 'EVERWRITE_VIEW_CONFLICT' && pattern.test(error.message),
  );
}

test('seeds parse with their attributes, and bad ones are refused with a message', () => {
  assert.deepEqual(parseSeed('n2@127.0.0.1:7002;zone=b;weight=2;resp=127.0.0.1:6382'), {
    id: 'n2',
    host: '127.0.0.1',
    port: 7002,
    zone: 'b',
    weight: 2,
    resp: '127.0.0.1:6382',
  });
  assert.deepEqual(parseSeed('10.0.0.1:7000'), { id: '10.0.0.1:7000', host: '10.0.0.1', port: 7000 });
  for (const bad of [
    'n1@',
    'n1@host',
    'n1@host:0',
    'n1@host:70000',
    '@host:1',
    'n1@h:1;zone',
    'n1@h:1;zone=',
    'n1@h:1;color=red',
    'n1@h:1;weight=0',
    'n1@h:1;weight=x',
  ]) {
    assert.throws(() => parseSeed(bad), Error, bad);
  }
});

test('every node of a new cluster builds the same first view from the same seeds, with their zones and weights', () => {
  const views = ['n1', 'n2', 'n3'].map((id) => bootView(input(id, { zone: { n1: 'a', n2: 'b', n3: 'c' }[id] })));
  assert.ok(views.every((booted) => booted.created && booted.view.version === 1));
  assert.equal(new Set(views.map((booted) => booted.view.digest)).size, 1);
  assert.equal(views[0]!.view.members[1]!.weight, 2);
  assert.equal(views[0]!.view.members[0]!.http, '127.0.0.1:8001');
});

test('a new node whose flags contradict its own seed entry, or missing from the seeds, does not start', () => {
  assertConflict(() => bootView(input('n1', { zone: 'b' })), /--zone b but this node's --seeds entry gives zone a/);
  assertConflict(() => bootView(input('n2', { weight: 3 })), /--weight 3 but this node's --seeds entry gives weight 2/);
  assertConflict(() => bootView(input('n4')), /not in --seeds/);
  assert.equal(
    bootView(input('solo', { seeds: [], peer: '127.0.0.1:7100', http: '127.0.0.1:8100' })).view.members.length,
    1,
    'no seeds at all: a one-node cluster',
  );
});

test('once a view is persisted, a contradicting command line stops the boot and says what differs', () => {
  const persisted = bootView(input('n1')).view;
  const restart = (overrides: Partial<ViewBootInput>): ViewBootInput => input('n1', { persisted, ...overrides });
  assert.equal(bootView(restart({})).view, persisted, 'the same command line keeps the persisted view');
  assert.equal(
    bootView(restart({ partitionCount: undefined, seeds: seeds.slice(1, 2) })).view,
    persisted,
    'a subset of the seeds only says where the cluster is',
  );
  assertConflict(
    () => bootView(restart({ partitionCount: 128 })),
    /--partitions 128 but the persisted cluster view \(version 1, digest [0-9a-f]{32}\) has 64 partitions/,
  );
  assertConflict(
    () => bootView(restart({ seeds: [...seeds, parseSeed('n4@127.0.0.1:7004')] })),
    /--seeds names n4 \(127.0.0.1:7004\), which is not a member of the persisted cluster view.*members: n1, n2, n3/,
  );
  assertConflict(
    () => bootView(restart({ seeds: [parseSeed('n2@127.0.0.1:7999')] })),
    /--seeds gives n2 at 127.0.0.1:7999 but the persisted cluster view .* has it at 127.0.0.1:7002/,
  );
  assertConflict(
    () => bootView(restart({ seeds: [parseSeed('n2@127.0.0.1:7002;weight=1')] })),
    /--seeds gives n2 weight 1/,
  );
  assertConflict(() => bootView(restart({ zone: 'c' })), /--zone c but .* has this node in zone a/);
  assertConflict(() => bootView(input('n9', { persisted, seeds: [] })), /this node \(n9\) is not a member/);
  const moved = bootView(
    restart({ peer: '127.0.0.1:7101', seeds: [parseSeed('n1@127.0.0.1:7101'), ...seeds.slice(1)] }),
  );
  assert.match(
    moved.warnings.join(),
    /listens for peers on 127.0.0.1:7101 but the cluster view has it at 127.0.0.1:7001/,
  );
});
