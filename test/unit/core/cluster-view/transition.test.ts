// Why: plan, commit and completion decide which partitions move and who streams them (decision 0017);
// every node must derive the same transfers and the same final view, and bad plans must be refused
// with their codes before anything moves.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { asNodeId, asPartitionIndex } from '../../../../src/core/base/ids.ts';
import { claimPartitions } from '../../../../src/core/ring/ring.ts';
import { primaryNodes } from '../../../../src/core/ring/preference.ts';
import {
  commitPlan,
  completeTransition,
  decodeView,
  previewPlan,
  stageChange,
  transfersOf,
  type ClusterView,
  type Plan,
  type PlanChange,
} from '../../../../src/core/cluster-view/index.ts';
import { member, view } from './support.ts';

const n = (id: string) => asNodeId(id);

function plan(base: ClusterView, changes: PlanChange[], replicaCount = 3): Plan {
  let staged: Plan | undefined;
  for (const change of changes) staged = stageChange(base, staged, change, replicaCount);
  return staged!;
}

function codeOf(run: () => unknown): string | undefined {
  try {
    run();
  } catch (error) {
    return (error as { code?: string }).code;
  }
  return undefined;
}

test('a join commits a transition view that still serves the old owners and moves what claimPartitions moves', () => {
  const three = view(3);
  const joiner = member('n4', 4);
  const transition = commitPlan(three, plan(three, [{ kind: 'join', member: joiner }]), 3);
  assert.equal(transition.version, three.version + 1);
  assert.deepEqual(transition.ring.owners, three.ring.owners, 'reads and writes still follow the current owners');
  assert.equal(transition.members.find((m) => m.id === 'n4')?.state, 'joining');
  const expected = claimPartitions(three.ring, [...three.ring.members, { id: n('n4'), weight: 1 }]);
  assert.deepEqual(transition.pending?.ring.owners, expected.owners);
  const moved = three.ring.owners.filter((owner, p) => expected.owners[p] !== owner).length;
  assert.equal(moved, 16, 'going from 3 to 4 nodes moves 16 of 64 partitions');
  const preview = previewPlan(three, plan(three, [{ kind: 'join', member: joiner }]), 3);
  assert.equal(preview.partitionsMoved, 16);
  const transfers = transfersOf(transition);
  assert.ok(transfers.length > 0);
  for (const transfer of transfers) {
    assert.equal(transfer.target, 'n4', 'only the joiner lacks data');
    assert.notEqual(transfer.source, 'n4');
  }
  assert.deepEqual(preview.transfers, transfers);
});

test('every node derives the same final view, byte for byte, and it survives the codec', () => {
  const three = view(3);
  const transition = commitPlan(three, plan(three, [{ kind: 'join', member: member('n4', 4) }]), 3);
  assert.deepEqual(decodeView(transition.encoded).digest, transition.digest, 'the transition view round-trips');
  const a = completeTransition(transition);
  const b = completeTransition(decodeView(transition.encoded));
  assert.equal(a.digest, b.digest);
  assert.equal(a.version, transition.version + 1);
  assert.equal(a.pending, undefined);
  assert.deepEqual(a.ring.owners, transition.pending?.ring.owners);
  assert.ok(a.members.every((m) => m.state === 'valid'));
  assert.equal(decodeView(a.encoded).digest, a.digest);
});

test('a leaving node streams its own partitions away and is gone from the final view', () => {
  const four = view(4);
  const transition = commitPlan(four, plan(four, [{ kind: 'leave', id: n('n2') }]), 3);
  const transfers = transfersOf(transition);
  assert.ok(transfers.length > 0);
  assert.ok(transfers.every((transfer) => transfer.target !== 'n2'));
  assert.ok(
    transfers.some((transfer) => transfer.source === 'n2'),
    'the leaver hands off what it held',
  );
  const final = completeTransition(transition);
  assert.equal(
    final.members.some((m) => m.id === 'n2'),
    false,
  );
  assert.equal(final.ring.owners.includes(n('n2')), false);
});

test('a removed (dead) node is never asked to send: the staying replicas rebuild its partitions', () => {
  const four = view(4);
  const transition = commitPlan(four, plan(four, [{ kind: 'remove', id: n('n3') }]), 3);
  const transfers = transfersOf(transition);
  assert.ok(transfers.length > 0);
  assert.ok(transfers.every((transfer) => transfer.source !== 'n3' && transfer.target !== 'n3'));
});

test('bad plans are refused with their codes', () => {
  const three = view(3);
  assert.equal(
    codeOf(() => stageChange(three, undefined, { kind: 'join', member: member('n2', 2) }, 3)),
    'EVERWRITE_ALREADY_MEMBER',
  );
  assert.equal(
    codeOf(() => stageChange(three, undefined, { kind: 'join', member: member('n9', 1) }, 3)),
    'EVERWRITE_PLAN_CONFLICT',
    'a peer address already taken',
  );
  assert.equal(
    codeOf(() => stageChange(three, undefined, { kind: 'leave', id: n('n7') }, 3)),
    'EVERWRITE_NOT_A_MEMBER',
  );
  assert.equal(
    codeOf(() => stageChange(three, undefined, { kind: 'leave', id: n('n1') }, 3)),
    'EVERWRITE_TOO_FEW_MEMBERS',
    'fewer than N members',
  );
  assert.equal(
    codeOf(() => stageChange(view(1), undefined, { kind: 'remove', id: n('n1') }, 1)),
    'EVERWRITE_TOO_FEW_MEMBERS',
    'the last node',
  );
  const four = view(4);
  const leaving = stageChange(four, undefined, { kind: 'leave', id: n('n2') }, 3);
  assert.equal(
    stageChange(four, leaving, { kind: 'leave', id: n('n2') }, 3),
    leaving,
    'staging the same change twice is a no-op',
  );
  assert.equal(
    codeOf(() => stageChange(four, leaving, { kind: 'remove', id: n('n2') }, 3)),
    'EVERWRITE_PLAN_CONFLICT',
    'two conflicting changes of one node',
  );
  assert.equal(
    codeOf(() => commitPlan(four, { baseVersion: four.version, changes: [] }, 3)),
    'EVERWRITE_PLAN_EMPTY',
  );
  const transition = commitPlan(four, leaving, 3);
  assert.equal(
    codeOf(() => commitPlan(transition, plan(transition, [{ kind: 'join', member: member('n5', 5) }]), 3)),
    'EVERWRITE_TRANSITION_IN_PROGRESS',
  );
  assert.equal(
    codeOf(() => stageChange(transition, undefined, { kind: 'leave', id: n('n2') }, 3)),
    'EVERWRITE_PLAN_CONFLICT',
    'n2 is already leaving',
  );
  const final = completeTransition(transition);
  assert.equal(
    codeOf(() => commitPlan(final, leaving, 3)),
    'EVERWRITE_PLAN_STALE',
    'a plan staged against an older view that no longer applies',
  );
});

test('the codec refuses transition views that break the rules', () => {
  const three = view(3);
  const transition = commitPlan(three, plan(three, [{ kind: 'join', member: member('n4', 4) }]), 3);
  const text = JSON.parse(new TextDecoder().decode(transition.encoded)) as Record<string, unknown>;
  const encode = (value: unknown) => new TextEncoder().encode(JSON.stringify(value));
  const joinerIndex = (text.members as Array<{ id: string }>).findIndex((m) => m.id === 'n4');
  const owners = [...(text.owners as number[])];
  owners[0] = joinerIndex;
  assert.equal(
    codeOf(() => decodeView(encode({ ...text, owners }))),
    'EVERWRITE_BAD_VIEW',
    'a joining member owns nothing yet',
  );
  const withoutPending: Record<string, unknown> = { ...text };
  delete withoutPending.pendingOwners;
  delete withoutPending.transferN;
  assert.equal(
    codeOf(() => decodeView(encode(withoutPending))),
    'EVERWRITE_BAD_VIEW',
    'joining members only inside a transition',
  );
  assert.equal(
    codeOf(() => decodeView(encode({ ...text, transferN: 0 }))),
    'EVERWRITE_BAD_VIEW',
  );
  assert.equal(
    codeOf(() => decodeView(encode({ ...text, transferN: 2 ** 53 }))),
    'EVERWRITE_BAD_VIEW',
  );
  const { transferN: _dropped, ...noTransferN } = text;
  assert.equal(
    codeOf(() => decodeView(encode(noTransferN))),
    'EVERWRITE_BAD_VIEW',
    'pendingOwners without transferN',
  );
});

/**
 * For a write acknowledged by two of a partition's three current primaries (W=2 of N=3: the third
 * may lack it), the new primaries that hold it after the transition: the old primaries that stay,
 * plus every target one of whose sources held it. Removed primaries' copies are gone.
 */
function holdersAfter(transition: ClusterView, partition: number, holders: readonly string[]): string[] {
  const pending = transition.pending!;
  const after = primaryNodes(pending.ring, asPartitionIndex(partition), 3) as string[];
  const removed = new Set(transition.members.filter((m) => m.state === 'removed').map((m) => m.id as string));
  const live = holders.filter((holder) => !removed.has(holder));
  const fed = transfersOf(transition)
    .filter((transfer) => transfer.partition === partition && live.includes(transfer.source))
    .map((transfer) => transfer.target as string);
  return after.filter((node) => live.includes(node) || fed.includes(node));
}

function pairsOf(nodes: readonly string[]): string[][] {
  return nodes.flatMap((a, i) => nodes.slice(i + 1).map((b) => [a, b]));
}

test('a write on any two of three primaries keeps every live copy through a join, a leave or a remove (W < N: a staying primary may lack it)', () => {
  const four = view(4);
  const cases: Array<[string, ClusterView]> = [
    ['join', commitPlan(view(3), plan(view(3), [{ kind: 'join', member: member('n4', 4) }]), 3)],
    ['leave', commitPlan(four, plan(four, [{ kind: 'leave', id: n('n2') }]), 3)],
    ['remove', commitPlan(four, plan(four, [{ kind: 'remove', id: n('n3') }]), 3)],
  ];
  for (const [name, transition] of cases) {
    for (let partition = 0; partition < transition.partitionCount; partition++) {
      const before = primaryNodes(transition.ring, asPartitionIndex(partition), 3) as string[];
      const removed = new Set(transition.members.filter((m) => m.state === 'removed').map((m) => m.id as string));
      for (const holders of pairsOf(before)) {
        const liveBefore = holders.filter((holder) => !removed.has(holder)).length;
        const kept = holdersAfter(transition, partition, holders);
        const wanted = name === 'remove' ? Math.min(2, liveBefore + 1) : 2;
        assert.ok(
          kept.length >= wanted,
          `${name}: partition ${partition}, a write on ${holders.join('+')} is on ${kept.join('+') || 'nothing'} of the new primaries (wanted ${wanted})`,
        );
      }
    }
  }
});
