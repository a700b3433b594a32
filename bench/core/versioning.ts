// Why: causality code runs on every read, write, repair and handoff. These figures show what a
// vector clock compare/merge, a DVV update/sync, a context token and a record's codec cost on this
// machine (`npx tsx bench/core.bench.ts versioning`), and whether the record codec meets its
// target of 200k encode+decode per second for a 1 KiB single-sibling record.
import { measure, type BenchResult } from '../harness.ts';
import {
  clockFromEntries,
  compareClocks,
  decodeContext,
  decodeRecord,
  encodeContext,
  encodeRecord,
  mergeClocks,
  sync,
  update,
  type StoredValue,
  type VersionVector,
  type VersionedRecord,
} from '../../src/core/versioning/index.ts';

function clockBenches(): BenchResult[] {
  const nodes = Array.from({ length: 10 }, (_, i) => `node-${i}`);
  const left = clockFromEntries(nodes.map((node, i) => ({ node, counter: 10 + i, timestampMs: i })));
  const right = clockFromEntries(nodes.map((node, i) => ({ node, counter: 20 - i, timestampMs: i })));
  const descendant = clockFromEntries(
    nodes.map((node, i) => ({ node, counter: 10 + i + (i === 9 ? 1 : 0), timestampMs: i })),
  );
  return [
    measure('vector clock compare (10 entries, concurrent)', () => compareClocks(left, right)),
    measure('vector clock compare (10 entries, before: full walk)', () => compareClocks(left, descendant)),
    measure('vector clock merge (10 entries)', () => mergeClocks(left, right)),
  ];
}

function dvvBenches(stored: StoredValue): BenchResult[] {
  const actors = ['n1.1', 'n2.1', 'n3.1'];
  let base: VersionedRecord = { context: new Map(), siblings: [] };
  for (const actor of actors) base = update(base, base.context, actor, stored);
  // One sibling at each replica, then a concurrent write on one of them: 1 and 2 siblings.
  const replicaA = base;
  const replicaB = update(base, base.context, 'n2.1', stored);
  const replicaC = update(replicaB, base.context, 'n3.1', stored);
  const readContext: VersionVector = replicaA.context;
  return [
    measure('dvv update (3 actors, 1 sibling superseded)', () => update(replicaA, readContext, 'n1.1', stored)),
    measure('dvv update (3 actors, 1 sibling kept as concurrent)', () => update(replicaB, readContext, 'n1.1', stored)),
    measure('dvv sync (3 actors, 1 vs 2 siblings)', () => sync(replicaA, replicaC)),
    measure('dvv sync (3 actors, 2 vs 1 siblings, descends)', () => sync(replicaC, replicaB)),
  ];
}

function codecBenches(stored: StoredValue): BenchResult[] {
  const context: VersionVector = new Map([
    ['n1.1', 41],
    ['n2.1', 17],
    ['n3.1', 230],
  ]);
  const token = encodeContext(context);
  const record: VersionedRecord = { context, siblings: [{ dot: { actor: 'n2.1', counter: 17 }, stored }] };
  const bytes = encodeRecord(record);
  return [
    measure('context encode (3 entries)', () => encodeContext(context)),
    measure('context decode (3 entries)', () => decodeContext(token)),
    measure('record encode (1 KiB value, 1 sibling)', () => encodeRecord(record)),
    measure('record decode (1 KiB value, 1 sibling)', () => decodeRecord(bytes)),
    measure('record encode+decode (1 KiB value, 1 sibling)', () => decodeRecord(encodeRecord(record))),
  ];
}

export function run(): BenchResult[] {
  const value = Uint8Array.from({ length: 1024 }, (_, i) => (i * 31) & 255);
  const stored: StoredValue = {
    value,
    contentType: 'application/octet-stream',
    lastModifiedMs: 1_760_000_000_000,
    deleted: false,
    timestamp: 1_760_000_000_000 * 1024,
  };
  return [...clockBenches(), ...dvvBenches(stored), ...codecBenches(stored)];
}
