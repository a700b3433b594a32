// Why: every node must end at the same view however views reach it (decision 0015): offered any
// sequence of versioned changes in any order, a node adopts only newer ones and ends at the
// newest; the merge rule is order-free even over conflicting ties; and a view survives its
// encoding unchanged while any single damaged byte is refused or decodes to a different digest.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { propertyOptions } from '../../../support/property.ts';
import { EverwriteError } from '../../../../src/core/base/errors.ts';
import { asNodeId } from '../../../../src/core/base/ids.ts';
import { Prng } from '../../../../src/core/base/prng.ts';
import {
  chooseView,
  decodeView,
  firstView,
  nextView,
  ViewGossip,
  type ClusterView,
  type ViewMember,
} from '../../../../src/core/cluster-view/index.ts';

const memberArbitrary = (index: number): fc.Arbitrary<ViewMember> =>
  fc
    .record({
      weight: fc.constantFrom(1, 2, 0.5),
      zone: fc.option(fc.constantFrom('a', 'b', 'c'), { nil: undefined }),
      http: fc.boolean(),
    })
    .map(({ weight, zone, http }) => ({
      id: asNodeId(`n${index}`),
      peer: `10.0.0.${index}:7000`,
      ...(http ? { http: `10.0.0.${index}:8000` } : {}),
      ...(zone === undefined ? {} : { zone }),
      weight,
      state: 'valid' as const,
    }));

/** A first view and a chain of changes: each step adds, drops or reweighs a member; n1 and n2 stay. */
const chainArbitrary = fc
  .record({
    partitionCount: fc.constantFrom(8, 16, 64),
    members: fc
      .integer({ min: 2, max: 5 })
      .chain((count) => fc.tuple(...Array.from({ length: count }, (_, index) => memberArbitrary(index + 1)))),
    steps: fc.array(fc.tuple(fc.constantFrom('add', 'drop', 'reweigh'), fc.nat()), { minLength: 1, maxLength: 5 }),
  })
  .map(({ partitionCount, members, steps }) => {
    const views: ClusterView[] = [firstView(partitionCount, members)];
    let current = [...members];
    let nextIndex = members.length + 1;
    for (const [kind, pick] of steps) {
      if (kind === 'add' || current.length <= 2)
        current = [
          ...current,
          { id: asNodeId(`n${nextIndex}`), peer: `10.0.0.${nextIndex++}:7000`, weight: 1, state: 'valid' },
        ];
      else if (kind === 'drop') current = current.filter((_, index) => index !== 2 + (pick % (current.length - 2)));
      else
        current = current.map((member, index) =>
          index === pick % current.length ? { ...member, weight: member.weight === 1 ? 2 : 1 } : member,
        );
      views.push(nextView(views[views.length - 1]!, current));
    }
    return views;
  });

test('offered a chain of views in any order, a node adopts only newer ones and ends at the newest', () => {
  fc.assert(
    fc.property(chainArbitrary, fc.nat(), (views, seed) => {
      const order = new Prng(seed);
      const offered = [...views];
      for (let index = offered.length - 1; index > 0; index--) {
        const other = order.nextInt(index + 1);
        [offered[index], offered[other]] = [offered[other]!, offered[index]!];
      }
      // n1 observes; n2, a member of every view of the chain, offers them.
      const adopted: number[] = [];
      const gossip = new ViewGossip({
        self: asNodeId('n1'),
        view: views[0]!,
        seeds: [],
        gossipIntervalMs: 1000,
        prng: new Prng(1),
        ports: { send: () => undefined, adopted: (view) => adopted.push(view.version), log: () => undefined },
      });
      for (const view of offered) gossip.onMessage(asNodeId('n2'), { type: 'viewFull', view: view.encoded }, 0);
      assert.equal(gossip.view.digest, views[views.length - 1]!.digest);
      assert.ok(
        adopted.every((version, index) => index === 0 || version > adopted[index - 1]!),
        `adopted versions only increase: ${adopted.join(',')}`,
      );
      assert.equal(gossip.refusal, undefined);
    }),
    propertyOptions(300),
  );
});

test('chooseView is a merge: any order of the same views, ties with other digests included, ends at the same view', () => {
  fc.assert(
    fc.property(chainArbitrary, chainArbitrary, fc.nat(), (left, right, seed) => {
      const all = [...left, ...right];
      const order = new Prng(seed);
      const shuffled = [...all].sort(() => order.nextInt(3) - 1);
      const fold = (views: readonly ClusterView[]): ClusterView =>
        views.reduce((merged, view) => chooseView(merged, view));
      assert.equal(fold(shuffled).digest, fold(all).digest);
      assert.equal(fold([...all].reverse()).digest, fold(all).digest);
      assert.equal(chooseView(left[0]!, right[0]!).digest, chooseView(right[0]!, left[0]!).digest);
    }),
    propertyOptions(300),
  );
});

test('decodeView(encoded) is the view itself; a damaged byte is refused or changes the digest', () => {
  fc.assert(
    fc.property(chainArbitrary, fc.nat(), fc.integer({ min: 1, max: 255 }), (views, position, flip) => {
      const view = views[views.length - 1]!;
      assert.deepEqual(decodeView(view.encoded), view);
      const damaged = new Uint8Array(view.encoded);
      const at = position % damaged.length;
      damaged[at] = damaged[at]! ^ flip;
      try {
        assert.notEqual(decodeView(damaged).digest, view.digest);
      } catch (error) {
        assert.ok(error instanceof EverwriteError && error.code === 'EVERWRITE_BAD_VIEW', String(error));
      }
    }),
    propertyOptions(1000),
  );
});
