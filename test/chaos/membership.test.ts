// Why: the membership nemesis is only as good as its rules and its final checks; this proves them
// on hand-made pools, views and replica holdings (no root or namespaces needed): the draw never
// takes the cluster below N members and only joins spares or removes members, the final-view
// check sees any disagreement, and the replica check sees any key short of N live replicas.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Prng } from '../../src/core/base/prng.ts';
import { kindsOf } from '../../src/chaos/index.ts';
import {
  allowedOperationKinds,
  drawMembershipOperation,
  finalViewProblems,
  replicaProblem,
  type MemberRing,
  type MembershipPool,
} from '../../src/chaos/membership.ts';

test('the rules allow a join only with a spare, and a leave or remove only above N members', () => {
  assert.deepEqual(allowedOperationKinds({ members: ['a', 'b', 'c'], spares: [], replicaCount: 3 }), []);
  assert.deepEqual(allowedOperationKinds({ members: ['a', 'b', 'c'], spares: ['d'], replicaCount: 3 }), ['join']);
  assert.deepEqual(allowedOperationKinds({ members: ['a', 'b', 'c', 'd'], spares: [], replicaCount: 3 }), [
    'leave',
    'remove',
  ]);
  assert.equal(
    drawMembershipOperation(new Prng(1), { members: ['a', 'b', 'c'], spares: [], replicaCount: 3 }),
    undefined,
  );
});

test('a long seeded sequence of draws never goes below N members, picks from the right set, and draws every kind', () => {
  const seed = Number(process.env.EVERWRITE_TEST_SEED ?? Math.floor(Math.random() * 2 ** 31));
  console.log(`membership draw seed ${seed} (replay: EVERWRITE_TEST_SEED=${seed})`);
  const prng = new Prng(seed);
  let pool: MembershipPool = { members: ['n1', 'n2', 'n3', 'n4'], spares: ['n5', 'n6'], replicaCount: 3 };
  const seen = new Set<string>();
  for (let draw = 0; draw < 300; draw++) {
    const operation = drawMembershipOperation(prng, pool);
    assert.ok(operation !== undefined, `nothing drawn from ${JSON.stringify(pool)}`);
    seen.add(operation.kind);
    if (operation.kind === 'join') {
      assert.ok(pool.spares.includes(operation.node), `joined ${operation.node}, not a spare`);
      pool = {
        ...pool,
        members: [...pool.members, operation.node],
        spares: pool.spares.filter((id) => id !== operation.node),
      };
    } else {
      assert.ok(pool.members.includes(operation.node), `${operation.kind} of ${operation.node}, not a member`);
      pool = {
        ...pool,
        members: pool.members.filter((id) => id !== operation.node),
        spares: [...pool.spares, operation.node],
      };
    }
    assert.ok(
      pool.members.length >= pool.replicaCount,
      `${pool.members.length} members after ${operation.kind} ${operation.node}`,
    );
  }
  assert.deepEqual([...seen].sort(), ['join', 'leave', 'remove']);
});

function ring(version: number, members: Array<[string, string]>, digest = `d${version}`): MemberRing {
  return { version, digest, owners: [0, 1, 2, 0], members: members.map(([id, state]) => ({ id, state })) };
}

const valid = (ids: string[]): Array<[string, string]> => ids.map((id) => [id, 'valid']);

test('the final view check passes one view held by every member and names what differs otherwise', () => {
  const members = ['n1', 'n2', 'n5g2'];
  const same = new Map(members.map((id) => [id, ring(9, valid(members))]));
  assert.deepEqual(finalViewProblems(members, same), []);
  const behind = new Map(same).set('n2', ring(7, valid(members)));
  assert.match(finalViewProblems(members, behind).join('\n'), /2 different views/);
  const silent = new Map<string, MemberRing | undefined>(same).set('n5g2', undefined);
  assert.match(finalViewProblems(members, silent).join('\n'), /n5g2 did not answer/);
  const stranger = new Map(members.map((id) => [id, ring(9, valid([...members, 'n3']))]));
  assert.match(finalViewProblems(members, stranger).join('\n'), /names n1,n2,n3,n5g2, expected n1,n2,n5g2/);
  const pending = new Map(members.map((id) => [id, ring(9, [...valid(['n1', 'n2']), ['n5g2', 'joining']])]));
  assert.match(finalViewProblems(members, pending).join('\n'), /still has n5g2 joining/);
  const otherDigest = new Map(same).set('n1', ring(9, valid(members), 'other'));
  assert.match(finalViewProblems(members, otherDigest).join('\n'), /2 different views/);
});

test('the replica check wants N distinct final members each holding a live version', () => {
  const members = ['n1', 'n2', 'n3', 'n4'];
  assert.equal(
    replicaProblem(
      'k',
      [
        ['n1', '1,2'],
        ['n2', '1,2'],
        ['n4', '1,2'],
      ],
      members,
      3,
    ),
    undefined,
  );
  assert.match(
    replicaProblem(
      'k',
      [
        ['n1', '1,2'],
        ['n2', '<none>'],
        ['n4', '1,2'],
      ],
      members,
      3,
    ) ?? '',
    /n2 holds <none>/,
  );
  assert.match(
    replicaProblem(
      'k',
      [
        ['n1', '1,2'],
        ['n2', undefined],
        ['n4', '1,2'],
      ],
      members,
      3,
    ) ?? '',
    /n2 holds no answer/,
  );
  assert.match(
    replicaProblem(
      'k',
      [
        ['n1', '1,2'],
        ['n2', '<deleted>'],
        ['n4', '1,2'],
      ],
      members,
      3,
    ) ?? '',
    /n2 holds <deleted>/,
  );
  assert.match(
    replicaProblem(
      'k',
      [
        ['n1', '1,2'],
        ['n2', '1,2'],
      ],
      members,
      3,
    ) ?? '',
    /2 distinct primaries/,
  );
  assert.match(
    replicaProblem(
      'k',
      [
        ['n1', '1,2'],
        ['n2', '1,2'],
        ['n9', '1,2'],
      ],
      members,
      3,
    ) ?? '',
    /n9 is not a final member/,
  );
});

test('--nemesis membership is asked for by name; all stays the four fault-state kinds; an unknown kind is refused naming the choices', () => {
  assert.deepEqual(kindsOf('membership'), ['membership']);
  assert.deepEqual(kindsOf('all'), ['partition', 'kill', 'pause', 'clock']);
  assert.throws(
    () => kindsOf('members' as 'membership'),
    /--nemesis must be all, none, partition, kill, pause, clock, membership; got members/,
  );
});
