// Why: the must/may oracle for reads (docs/ARCHITECTURE.md habit 7). Random interleavings of client puts
// (with contexts from earlier reads), one-way replica syncs and node wipes run against three
// replicas, while a naive model tracks the full causal history of every write: the set of write
// ids it had seen. Every read must return exactly the writes at that replica that no other write
// there has seen: all of them (none lost) and none of the superseded (no false siblings).
// With the contexts handed to clients cut down (decision 0041), reads must still return every write
// not superseded, and once anti-entropy has converged the replicas, none that is.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { propertyOptions } from '../../../support/property.ts';
import {
  actorOf,
  contextAfterUpdate,
  contextForClient,
  covers,
  emptyRecord,
  sync,
  update,
  type ClientContextBound,
  type Dot,
  type VersionVector,
  type VersionedRecord,
} from '../../../../src/core/versioning/index.ts';

const replicaCount = 3;
const clientCount = 3;

type Operation =
  | { readonly kind: 'read'; readonly client: number; readonly replica: number }
  | { readonly kind: 'put'; readonly client: number; readonly replica: number; readonly deleted: boolean }
  | { readonly kind: 'sync'; readonly from: number; readonly to: number }
  | { readonly kind: 'wipe'; readonly replica: number };

const replicaIndex = fc.nat(replicaCount - 1);
const clientIndex = fc.nat(clientCount - 1);

const operation: fc.Arbitrary<Operation> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({ kind: fc.constant('read' as const), client: clientIndex, replica: replicaIndex }),
  },
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant('put' as const),
      client: clientIndex,
      replica: replicaIndex,
      deleted: fc.oneof({ weight: 9, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
    }),
  },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('sync' as const), from: replicaIndex, to: replicaIndex }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('wipe' as const), replica: replicaIndex }) },
);

/** The system under test and the naive model, side by side. */
class World {
  /**
   * With `truncation`, clients are handed contexts cut down as a node hands them out (decision
   * 0041); what the client saw, in the model, is still the whole history of the replica it read.
   */
  constructor(private readonly truncation?: { readonly entriesMax: number; readonly preferOwnActor: boolean }) {}

  readonly records: VersionedRecord[] = Array.from({ length: replicaCount }, () => emptyRecord);
  readonly epochs: number[] = Array.from({ length: replicaCount }, () => 1);
  /** Model: the writes each replica has incorporated (its causal history). */
  readonly known: Array<Set<number>> = Array.from({ length: replicaCount }, () => new Set());
  readonly clients: Array<{ context: VersionVector; seen: Set<number> }> = Array.from({ length: clientCount }, () => ({
    context: new Map(),
    seen: new Set(),
  }));
  /** Model: for each write id, every write id in its causal past (itself included). */
  readonly seenBy: Array<Set<number>> = [];
  readonly dots: Dot[] = [];

  apply(step: Operation): void {
    if (step.kind === 'read') this.read(step.client, step.replica);
    else if (step.kind === 'put') this.put(step.client, step.replica, step.deleted);
    else if (step.kind === 'sync') this.sync(step.from, step.to);
    else this.wipe(step.replica);
  }

  read(client: number, replica: number): void {
    this.check(replica);
    const record = this.records[replica]!;
    this.clients[client] = {
      context: this.handed(record.context, record, replica),
      seen: new Set(this.known[replica]),
    };
  }

  /** The context a client is handed by `replica`: all of `context`, or its truncation. */
  handed(context: VersionVector, record: VersionedRecord, replica: number): VersionVector {
    if (this.truncation === undefined) return context;
    const bound: ClientContextBound = {
      entriesMax: this.truncation.entriesMax,
      preferredActor: this.truncation.preferOwnActor ? actorOf(`r${replica}`, this.epochs[replica]!) : undefined,
    };
    const handed = contextForClient(context, record.siblings, bound);
    assert.ok(handed !== undefined, 'three writers always fit');
    return handed;
  }

  put(client: number, replica: number, deleted: boolean): void {
    const id = this.seenBy.length;
    const actor = actorOf(`r${replica}`, this.epochs[replica]!);
    const writer = this.clients[client]!;
    const stored = {
      value: deleted ? new Uint8Array(0) : Uint8Array.of(id & 255),
      contentType: `w${id}`,
      lastModifiedMs: id,
      deleted,
      timestamp: id * 1024,
    };
    const record = update(this.records[replica]!, writer.context, actor, stored);
    this.records[replica] = record;
    const seen = new Set(writer.seen).add(id);
    this.seenBy.push(seen);
    this.dots.push({ actor, counter: record.context.get(actor)! });
    for (const past of seen) this.known[replica]!.add(past);
    const context = contextAfterUpdate(writer.context, record, actor);
    this.clients[client] = {
      context: this.handed(context, record, replica),
      seen: context === writer.context ? writer.seen : seen,
    };
  }

  sync(from: number, to: number): void {
    this.records[to] = sync(this.records[to]!, this.records[from]!);
    for (const id of this.known[from]!) this.known[to]!.add(id);
  }

  /** The node loses its disk and restarts with a new epoch: a new actor, no record, no history. */
  wipe(replica: number): void {
    this.records[replica] = emptyRecord;
    this.known[replica] = new Set();
    this.epochs[replica] = this.epochs[replica]! + 1;
  }

  /** `exact`: no false siblings either, and the context covers exactly what was incorporated. */
  check(replica: number, exact = this.truncation === undefined): void {
    const record = this.records[replica]!;
    const known = this.known[replica]!;
    const returned = new Set(record.siblings.map((sibling) => Number(sibling.stored.contentType.slice(1))));
    const superseded = new Set<number>();
    for (const later of known)
      for (const earlier of this.seenBy[later]!) if (earlier !== later) superseded.add(earlier);
    for (const id of known) {
      if (!superseded.has(id))
        assert.ok(returned.has(id), `replica ${replica} MUST return write ${id}: nothing it holds has seen it`);
    }
    for (const id of returned) {
      assert.ok(known.has(id), `replica ${replica} returned write ${id} it never received`);
      if (exact)
        assert.ok(!superseded.has(id), `replica ${replica} MUST NOT return write ${id}: a write it holds has seen it`);
    }
    if (!exact) return;
    this.dots.forEach((dot, id) =>
      assert.equal(
        covers(record.context, dot),
        known.has(id),
        `replica ${replica}'s context covers write ${id} exactly when it has incorporated it`,
      ),
    );
  }
}

test('reads return every write not superseded at the replica and none that is (must/may oracle)', () => {
  fc.assert(
    fc.property(fc.array(operation, { minLength: 1, maxLength: 80 }), (steps) => {
      const world = new World();
      for (const step of steps) world.apply(step);
      for (let replica = 0; replica < replicaCount; replica++) world.check(replica);
      // Full anti-entropy (each replica syncs from every other, twice round) converges all replicas.
      for (let round = 0; round < 2; round++)
        for (let to = 0; to < replicaCount; to++) for (let from = 0; from < replicaCount; from++) world.sync(from, to);
      for (let replica = 0; replica < replicaCount; replica++) world.check(replica);
      assert.deepEqual(world.records[1], world.records[0]);
      assert.deepEqual(world.records[2], world.records[0]);
    }),
    propertyOptions(),
  );
});

/** Each replica syncs from every other, twice round: full anti-entropy. */
function converge(world: World): void {
  for (let round = 0; round < 2; round++)
    for (let to = 0; to < replicaCount; to++) for (let from = 0; from < replicaCount; from++) world.sync(from, to);
}

const truncation = fc.record({ entriesMax: fc.constantFrom(1, 2), preferOwnActor: fc.boolean() });

test('with truncated client contexts no write is lost, even across wipes (decision 0041)', () => {
  fc.assert(
    fc.property(truncation, fc.array(operation, { minLength: 1, maxLength: 80 }), (cut, steps) => {
      const world = new World(cut);
      for (const step of steps) world.apply(step);
      for (let replica = 0; replica < replicaCount; replica++) world.check(replica);
      converge(world);
      for (let replica = 0; replica < replicaCount; replica++) world.check(replica);
    }),
    propertyOptions(),
  );
});

const withoutWipes = operation.filter((step) => step.kind !== 'wipe');

test('with truncated client contexts, once anti-entropy converges the replicas no superseded write comes back (decision 0041)', () => {
  fc.assert(
    fc.property(truncation, fc.array(withoutWipes, { minLength: 1, maxLength: 80 }), (cut, steps) => {
      const world = new World(cut);
      for (const step of steps) world.apply(step);
      converge(world);
      for (let replica = 0; replica < replicaCount; replica++) world.check(replica, true);
    }),
    propertyOptions(),
  );
});
