// Why: a durable acknowledgement promises the write is in the fsynced log (docs/ARCHITECTURE.md
// section 3), which only a power loss can check: `kill -9` (durability.test.ts) leaves the kernel's
// page cache, so a write acknowledged before its fsync still reads back. Here each node's data
// directory is on its own lazy filesystem (test/support/lazy-fs.ts) that keeps unsynced bytes in
// memory. Three real nodes take a stream of W=2 and W=1 writes; once enough were acknowledged, every disk
// loses its power as its next sync of unsynced data starts (so each cut falls between a write and
// the sync that would cover it; LazyFS's "clear-cache before fsync"), every node gets `kill -9`, the
// disks are mounted again (a reboot: the page cache is gone) and the nodes restart. Durable mode must read back every acknowledged
// write; buffered mode acknowledges before the fsync, so its losses are counted and printed, not
// failed on (they show the test can see a loss).
import { after, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ClusterFixture, request } from '../support/cluster-fixture.ts';
import { testNeeding } from '../support/environment.ts';
import { LazyMount, lazyFsMissing, type UnsyncedFigures } from '../support/lazy-fs.ts';

const bucket = 'power';
const concurrency = 8;
/** Power losses of every node per test: each has a small chance to find no acknowledged write unsynced (see powerLossOfEveryNode). */
const rounds = 3;
/** Acknowledged writes in each round before the power goes. */
const acknowledgedPerRound = 60;
/** How long a disk waits, armed, for a sync to cut the power at before cutting it anyway. */
const armedCutTimeoutMs = 3000;
const writeStreamMaxMs = 30_000;
/**
 * Between the cut and `kill -9`: the nodes still answer what they wrote before their disk died. A
 * write acknowledged before its sync (buffered mode, or a durability bug) reaches the client here;
 * a durable ack cannot, as every sync after the cut fails.
 */
const settleAfterCutMs = 300;
const clusters: PowerLossCluster[] = [];

after(
  async () => {
    await Promise.all(clusters.map((cluster) => cluster.stop()));
  },
  { timeout: 60_000 },
);

type DroppedAtCut = UnsyncedFigures & { readonly atSync: boolean };

/** A ClusterFixture whose node directories are symlinks to lazy mounts, with a power loss of every node at once. */
class PowerLossCluster {
  readonly mounts: LazyMount[] = [];
  readonly diskDirectory: string;
  fixture: ClusterFixture | undefined;

  constructor(readonly name: string) {
    this.diskDirectory = mkdtempSync(join(tmpdir(), `everwrite-${name}-disks-`));
  }

  async start(): Promise<ClusterFixture> {
    this.fixture = await ClusterFixture.start({
      name: this.name,
      beforeStart: async (fixture) => {
        for (const node of fixture.cluster.nodes) {
          const mountpoint = join(this.diskDirectory, `${node.id}-mount`);
          this.mounts.push(await LazyMount.mount({ backing: join(this.diskDirectory, `${node.id}-disk`), mountpoint }));
          symlinkSync(mountpoint, join(fixture.dataDirectory, node.id));
        }
      },
    });
    return this.fixture;
  }

  /**
   * Cuts every disk's power (each at the start of its next sync, so it holds written, unsynced data),
   * lets the nodes answer for `settleAfterCutMs`, kills every node, mounts every disk again and
   * restarts every node. Returns what each disk dropped. A write is lost only if every replica
   * that wrote it had it in that last unsynced stretch, which a round does not always catch: hence
   * several rounds.
   */
  async powerLossOfEveryNode(fixture: ClusterFixture): Promise<DroppedAtCut[]> {
    let dropped: DroppedAtCut[] = [];
    await fixture.killAllAfter(async () => {
      dropped = await Promise.all(this.mounts.map((mount) => mount.cutPowerAtNextSync(armedCutTimeoutMs)));
      await sleep(settleAfterCutMs);
    });
    for (const mount of this.mounts) {
      await mount.unmount();
      await mount.mountAgain();
    }
    await fixture.restartAll();
    await fixture.allSeeAllUp();
    return dropped;
  }

  /** Stops the nodes, then unmounts and removes the disks. Never throws. */
  async stop(): Promise<void> {
    await this.fixture?.stop();
    for (const mount of this.mounts) await mount.unmount();
    rmSync(this.diskDirectory, { recursive: true, force: true });
  }
}

async function setBucketProps(fixture: ClusterFixture, props: Record<string, unknown>): Promise<void> {
  const reply = await request(`${fixture.url(1)}/buckets/${bucket}/props`, {
    method: 'PUT',
    body: JSON.stringify(props),
    headers: { 'content-type': 'application/json' },
  });
  assert.equal(reply.status, 200, `bucket props: ${reply.text}`);
}

/** An acknowledged write: the value and the W it was acknowledged with. */
interface AcknowledgedWrite {
  readonly value: string;
  readonly w: number;
}

/**
 * W of writer `writerIndex`: half the writers ask W=1, whose ack rests on the coordinator's own
 * fsync alone (where a coordinator that writes its own replica without fsync shows), half the
 * bucket's W=2.
 */
function writeQuorumOf(writerIndex: number): number {
  return writerIndex % 2 === 0 ? 2 : 1;
}

/**
 * Keeps `concurrency` writers of fresh keys (`tag`-numbered) going through every node in turn, and
 * once `acknowledgedPerRound` were acknowledged runs `powerLoss` while the others are in flight.
 * Returns every write answered 204, before or during the power loss (the disks never lie: a durable
 * ack during the cut still needs syncs that finished before it); the rest promised nothing.
 */
async function writeUntilPowerLoss(
  fixture: ClusterFixture,
  tag: string,
  powerLoss: () => Promise<void>,
): Promise<Map<string, AcknowledgedWrite>> {
  const acknowledged = new Map<string, AcknowledgedWrite>();
  let cutting: Promise<void> | undefined;
  let counter = 0;
  const giveUpAtMs = performance.now() + writeStreamMaxMs;
  const writer = async (writerIndex: number): Promise<void> => {
    const w = writeQuorumOf(writerIndex);
    while (cutting === undefined) {
      const key = `${tag}-${String(counter++).padStart(5, '0')}`;
      const value = `${key}=${writerIndex}`;
      try {
        const reply = await fixture.put(1 + (writerIndex % 3), bucket, key, value, { w, fetchTimeoutMs: 10_000 });
        if (reply.status === 204) acknowledged.set(key, { value, w });
      } catch {
        // the node died under this request: it was never acknowledged
      }
      if (acknowledged.size >= acknowledgedPerRound || performance.now() > giveUpAtMs) cutting ??= powerLoss();
    }
  };
  await Promise.all(Array.from({ length: concurrency }, (_, writerIndex) => writer(writerIndex)));
  await cutting;
  assert.ok(
    acknowledged.size >= acknowledgedPerRound,
    `${tag}: the stream reached ${acknowledgedPerRound} acknowledged writes before the cut (got ${acknowledged.size})`,
  );
  return acknowledged;
}

/**
 * The acknowledged writes fewer than W nodes hold on their own disk (`/admin/local`), each with the
 * nodes that do. A durable ack with W means W replicas had it in their fsynced log, so after the
 * power loss W still have it. Asked right after the restart, before any read could repair a replica.
 */
async function underReplicatedWrites(
  fixture: ClusterFixture,
  acknowledged: ReadonlyMap<string, AcknowledgedWrite>,
): Promise<string[]> {
  const short: string[] = [];
  for (const [key, { value, w }] of acknowledged) {
    const holders: number[] = [];
    for (const index of [1, 2, 3]) if ((await fixture.localValue(index, bucket, key)) === value) holders.push(index);
    if (holders.length < w)
      short.push(
        `${key} (W=${w}): on ${holders.length === 0 ? 'no node' : holders.map((index) => `n${index}`).join(', ')}`,
      );
  }
  return short;
}

/** The acknowledged writes that do not read back as written with R = N - W + 1 (so R + W > N = 3), each with what was read instead. */
async function lostWrites(
  fixture: ClusterFixture,
  acknowledged: ReadonlyMap<string, AcknowledgedWrite>,
): Promise<string[]> {
  const lost: string[] = [];
  let position = 0;
  for (const [key, { value, w }] of acknowledged) {
    const read = await fixture.get(1 + (position++ % 3), bucket, key, { r: 4 - w });
    if (read.status !== 200 || read.text !== value)
      lost.push(`${key}: expected ${value}, got ${read.status} ${read.text}`);
  }
  return lost;
}

function describeCut(dropped: readonly DroppedAtCut[]): string {
  return dropped
    .map(
      (figures) => `${figures.files} files ${figures.bytes} bytes${figures.atSync ? ' at a sync' : ', no sync came'}`,
    )
    .join('; ');
}

interface PowerLossOutcome {
  readonly acknowledged: number;
  /** Acknowledged writes fewer than W nodes held right after the power loss that followed them. */
  readonly underReplicated: readonly string[];
  /** Acknowledged writes that do not read back after the last power loss. */
  readonly lost: readonly string[];
}

/** `rounds` power losses of every node, each after a stream of writes, with what they cost the acknowledged writes. */
async function powerLossRounds(
  name: string,
  durability: 'durable' | 'buffered',
  context: TestContext,
): Promise<PowerLossOutcome> {
  const cluster = new PowerLossCluster(name);
  clusters.push(cluster);
  const fixture = await cluster.start();
  await setBucketProps(fixture, { durability, w: 2 });
  const acknowledged = new Map<string, AcknowledgedWrite>();
  const underReplicated: string[] = [];
  for (let round = 1; round <= rounds; round++) {
    const started = performance.now();
    let dropped: readonly DroppedAtCut[] = [];
    const thisRound = await writeUntilPowerLoss(fixture, `round${round}`, async () => {
      dropped = await cluster.powerLossOfEveryNode(fixture);
    });
    for (const [key, write] of thisRound) acknowledged.set(key, write);
    const short = await underReplicatedWrites(fixture, thisRound);
    underReplicated.push(...short);
    context.diagnostic(
      `${durability} round ${round}: ${thisRound.size} acknowledged, ${short.length} on fewer than W nodes after the power loss (${Math.round(performance.now() - started)} ms); dropped per node: ${describeCut(dropped)}`,
    );
  }
  const lost = await lostWrites(fixture, acknowledged);
  context.diagnostic(
    `${durability}: of ${acknowledged.size} acknowledged writes (W=2 and W=1) over ${rounds} power losses of every node, ${underReplicated.length} came back on fewer than W nodes and ${lost.length} do not read back`,
  );
  fixture.assertNoCrashes();
  await cluster.stop();
  return { acknowledged: acknowledged.size, underReplicated, lost };
}

const missing = lazyFsMissing();

testNeeding(
  missing,
  'durable mode: every acknowledged write survives power losses of every node',
  { timeout: 150_000 },
  async (context) => {
    const { acknowledged, underReplicated, lost } = await powerLossRounds('power-loss-durable', 'durable', context);
    assert.deepEqual(
      lost,
      [],
      `acknowledged durable writes lost after power losses of every node (${acknowledged} acknowledged)`,
    );
    assert.deepEqual(
      underReplicated,
      [],
      `acknowledged durable writes held by fewer than W nodes after a power loss (${acknowledged} acknowledged)`,
    );
  },
);

testNeeding(
  missing,
  'buffered mode: power losses of every node lose writes acknowledged before their fsync (counted, not failed on)',
  { timeout: 150_000 },
  async (context) => {
    const { acknowledged, underReplicated, lost } = await powerLossRounds('power-loss-buffered', 'buffered', context);
    console.log(
      `buffered mode: of ${acknowledged} acknowledged writes, ${underReplicated.length} came back on fewer than W nodes and ${lost.length} were lost to ${rounds} power losses`,
    );
  },
);
