// Why: decision 0015 on real processes. A restarted node keeps its ring version and its place; a
// node started with a hand-edited member list or another partition count refuses to serve (at boot
// when its persisted view tells it, with a 503 once gossip shows the conflict) and says why, while
// the nodes that agree keep serving; a node outside the view is refused by name; and on a 6-node
// cluster with weights and three zones, weight 2 owns about twice the partitions of weight 1 and
// every preference list of N=3 spans the three zones, as the live /admin/ring shows.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { ClusterFixture, eventually, LoneNode, request } from '../support/cluster-fixture.ts';
import { freePorts } from '../support/free-port.ts';
import { preferenceList, ringFromJSON } from '../../src/core/ring/index.ts';

/** Fast view gossip, so a conflict shows within a fraction of a second. */
const settings = { viewGossipIntervalMs: 200 };

interface RingDocument {
  readonly version: number;
  readonly digest: string;
  readonly partitionCount: number;
  readonly owners: readonly number[];
  readonly members: ReadonlyArray<{ id: string; zone?: string; weight?: number; peer?: string }>;
}

async function ringOf(url: string): Promise<RingDocument> {
  const reply = await request(`${url}/admin/ring`);
  assert.equal(reply.status, 200, reply.text);
  return reply.json<RingDocument>();
}

describe('a 3-node cluster with a persisted view', () => {
  let fixture: ClusterFixture;
  const loneNodes: LoneNode[] = [];
  /** From the OS: the ports of n4 (the outsider) and a peer port nothing listens on. */
  let outsiderPorts = { peer: 0, http: 0 };
  let unusedPeerPort = 0;

  before(
    async () => {
      fixture = await ClusterFixture.start({ name: 'cluster-view', nodes: 3, partitions: 64, settings });
      const [peer, http, unused] = (await freePorts(3)) as [number, number, number];
      outsiderPorts = { peer, http };
      unusedPeerPort = unused;
    },
    { timeout: 60_000 },
  );

  after(
    async () => {
      await Promise.all(loneNodes.map((node) => node.kill()));
      await fixture?.stop();
    },
    { timeout: 30_000 },
  );

  const seeds = (): string => fixture.cluster.nodes.map((node) => `${node.id}@${node.peerAddress}`).join(',');

  /** Slots 1-3 are the fixture's nodes' ports (for a node started in one's place), slot 4 the outsider's. */
  const portsOf = (slot: number): { peer: number; http: number } =>
    slot === 4 ? outsiderPorts : { peer: fixture.peerPort(slot), http: fixture.httpPort(slot) };

  function lone(
    id: string,
    slot: number,
    dataDirectory: string,
    seedList: string,
    extra: readonly string[] = [],
  ): LoneNode {
    const node = new LoneNode({
      id,
      peerPort: portsOf(slot).peer,
      httpPort: portsOf(slot).http,
      dataDirectory,
      seeds: seedList,
      secretFile: fixture.cluster.secretFile,
      extraArguments: ['--settings-json', JSON.stringify(settings), ...extra],
    });
    loneNodes.push(node);
    return node;
  }

  test(
    'every node holds the same version-1 view, and a restarted node keeps its ring version and its place',
    { timeout: 60_000 },
    async () => {
      const rings = await Promise.all([1, 2, 3].map((index) => ringOf(fixture.url(index))));
      assert.ok(
        rings.every((ring) => ring.version === 1 && ring.digest === rings[0]!.digest && ring.partitionCount === 64),
      );
      await fixture.kill(2);
      await fixture.restart(2);
      const after = await ringOf(fixture.url(2));
      assert.deepEqual(after, rings[1], 'same version, digest and owners after a restart');
      // The peers' links to the killed incarnation take a moment to notice it is gone.
      await eventually(
        'a write through the restarted node',
        async () =>
          (await fixture.put(2, 'view', 'after-restart', 'kept', { timeoutMs: 2000 })).status === 204
            ? true
            : undefined,
        { timeoutMs: 20_000 },
      );
      fixture.assertNoCrashes();
    },
  );

  test(
    'a restart with a longer or edited seed list, or another partition count, exits non-zero and names the difference',
    { timeout: 60_000 },
    async () => {
      await fixture.kill(3);
      const dataDirectory = join(fixture.dataDirectory, 'n3');
      const longer = lone('n3', 3, dataDirectory, `${seeds()},n4@127.0.0.1:${outsiderPorts.peer}`);
      assert.match(await longer.waitExit(30_000), /exit code 1/, longer.logs());
      assert.match(
        longer.logs(),
        new RegExp(
          `--seeds names n4 \\(127\\.0\\.0\\.1:${outsiderPorts.peer}\\), which is not a member of the persisted cluster view \\(version 1`,
        ),
      );
      const otherCount = lone('n3', 3, dataDirectory, seeds(), ['--partitions', '128']);
      assert.match(await otherCount.waitExit(30_000), /exit code 1/, otherCount.logs());
      assert.match(otherCount.logs(), /--partitions 128 but the persisted cluster view .* has 64 partitions/);
      await fixture.restart(3);
      assert.equal((await ringOf(fixture.url(3))).version, 1, 'the refused boots changed nothing');
    },
  );

  for (const [what, slot, extra, editedSeeds, reason] of [
    ['another partition count', 3, ['--partitions', '128'], undefined, /partition count 128 here, 64 at n[12]/],
    [
      'a hand-edited member list',
      3,
      ['--partitions', '64'],
      (list: string) => list.replace(`n2@127.0.0.1:${fixture.peerPort(2)}`, `n2@127.0.0.1:${unusedPeerPort}`),
      /view version 1 differs/,
    ],
  ] as const) {
    test(
      `a brand-new node with ${what} refuses to serve with a coded 503 and says why; the others keep serving`,
      { timeout: 60_000 },
      async () => {
        await fixture.kill(3);
        const odd = lone(
          'n3',
          slot,
          join(fixture.dataDirectory, `odd-${slot}-${what.length}`),
          editedSeeds === undefined ? seeds() : editedSeeds(seeds()),
          extra,
        );
        await odd.waitReady();
        const refused = await eventually(
          `${what}: n3 to refuse`,
          async () => {
            const reply = await request(`${odd.url}/buckets/view/keys/k?timeout_ms=2000`);
            return reply.status === 503 && reply.json<{ code: string }>().code === 'EVERWRITE_VIEW_CONFLICT'
              ? reply
              : undefined;
          },
          { timeoutMs: 15_000 },
        );
        assert.match(refused.json<{ message: string }>().message, reason);
        // The 503 and the log line leave the node at the same moment, but the line reaches us through a pipe: wait for it.
        await eventually(
          `${what}: n3 to log the refusal`,
          async () => (/refusing to serve/.test(odd.logs()) ? true : undefined),
          { timeoutMs: 10_000 },
        );
        const status = (await request(`${odd.url}/admin/status`)).json<{
          view: { conflict: { reason: string } | null };
        }>();
        assert.match(status.view.conflict?.reason ?? '', reason);
        const put = await fixture.put(1, 'view', `during-${what.length}`, 'fine', { w: 1 });
        assert.equal(put.status, 204, `n1 keeps serving: ${put.text}`);
        const n1Status = (await request(`${fixture.url(1)}/admin/status`)).json<{ view: { conflict: unknown } }>();
        assert.equal(n1Status.view.conflict, null, 'n1 agrees with n2: one odd node does not stop it');
        await odd.kill();
        await fixture.restart(3);
      },
    );
  }

  test(
    'a node outside the view is refused by the members, and they name it in their log',
    { timeout: 60_000 },
    async () => {
      const outsider = lone(
        'n4',
        4,
        join(fixture.dataDirectory, 'outsider'),
        `${seeds()},n4@127.0.0.1:${outsiderPorts.peer}`,
      );
      await outsider.waitReady();
      await eventually(
        'a member to log the refusal of n4',
        async () =>
          /refused a connection from node n4: it is not a member of this node's cluster view/.test(fixture.logs())
            ? true
            : undefined,
        { timeoutMs: 15_000 },
      );
      const statuses = await Promise.all(
        [1, 2, 3].map(async (index) =>
          (await request(`${fixture.url(index)}/admin/status`)).json<{ members: { id: string }[] }>(),
        ),
      );
      assert.ok(
        statuses.every((status) => status.members.length === 3),
        'the view did not grow',
      );
      await outsider.kill();
    },
  );
});

describe('a 6-node cluster in three zones with one node of weight 2', () => {
  const zones = ['a', 'b', 'c', 'a', 'b', 'c'];
  const weights = [2, 1, 1, 1, 1, 1];
  let fixture: ClusterFixture;

  before(
    async () => {
      fixture = await ClusterFixture.start({
        name: 'cluster-view-zones',
        nodes: 6,
        partitions: 64,
        engine: 'memory',
        zones,
        weights,
        settings,
      });
    },
    { timeout: 90_000 },
  );

  after(
    async () => {
      await fixture?.stop();
    },
    { timeout: 30_000 },
  );

  test(
    'weight 2 owns about twice the partitions of weight 1, and every N=3 preference list spans three zones',
    { timeout: 60_000 },
    async () => {
      const documents = await Promise.all([1, 2, 3, 4, 5, 6].map((index) => ringOf(fixture.url(index))));
      assert.equal(new Set(documents.map((document) => document.digest)).size, 1, 'all six hold the same view');
      const ring = ringFromJSON(documents[0]);
      const counts = new Map<string, number>();
      for (const owner of ring.owners) counts.set(owner, (counts.get(owner) ?? 0) + 1);
      const others = ['n2', 'n3', 'n4', 'n5', 'n6'].map((id) => counts.get(id) ?? 0);
      const heavy = counts.get('n1') ?? 0;
      for (const light of others)
        assert.ok(
          Math.abs(heavy - 2 * light) <= 3,
          `n1 owns ${heavy}, a weight-1 node ${light}: ${JSON.stringify([...counts])}`,
        );
      const zoneOf = new Map(ring.members.map((member) => [member.id as string, member.zone]));
      for (let partition = 0; partition < ring.partitionCount; partition++) {
        const hash = new Uint8Array(16);
        hash[0] = partition << 2;
        const list = preferenceList(ring, hash, { n: 3 });
        assert.equal(
          new Set(list.map((entry) => zoneOf.get(entry.node))).size,
          3,
          `partition ${partition}: ${list.map((entry) => entry.node).join(',')}`,
        );
      }
      const status = (await request(`${fixture.url(1)}/admin/status`)).json<{
        members: { id: string; zone: string; weight: number; partitions: number; share: number }[];
      }>();
      assert.deepEqual(
        status.members.map((member) => [member.id, member.zone, member.weight]),
        zones.map((zone, index) => [`n${index + 1}`, zone, weights[index]]),
      );
      assert.equal(status.members[0]!.partitions, heavy);
    },
  );
});
