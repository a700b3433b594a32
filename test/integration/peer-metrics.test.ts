// Why: docs/OPERATIONS.md "Metrics" promises per-member transport series, failure-detection and
// gossip counters, handoff progress and TLS handshake counts. These tests scrape real `everwrite
// start` processes (TLS on the peer and RESP ports, plain HTTP for the scrapes) and check that each
// family moves when its event happens: traffic between members, a member killed with -9 (its link
// down, frames dropped, probes failing) and restarted (reconnects), bad TLS clients (failures by
// port and class) and a join (keys and bytes streamed by direction, the transition's transfers).
// They also check no outsider can add a series: peer labels are only ever members.
import { after, before } from 'node:test';
import assert from 'node:assert/strict';
import { connect as connectTcp, type Socket } from 'node:net';
import { connect as connectTls } from 'node:tls';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ClusterFixture, eventually, LoneNode, request } from '../support/cluster-fixture.ts';
import { freePorts } from '../support/free-port.ts';
import { labelValuesOf, sumOf } from '../support/metrics-page.ts';
import { createTestCa, missingOpenssl, type TestCa } from '../support/test-ca.ts';
import { testNeeding } from '../support/environment.ts';

const host = '127.0.0.1';
const partitions = 16;
/** Small, slow handoff batches so a join's transition lasts long enough to be seen on /metrics. */
const settings = {
  viewGossipIntervalMs: 200,
  requestTimeoutMs: 1000,
  handoffBatchKeysMax: 4,
  backgroundBytesPerSecondMax: 8 * 1024,
};
const limits = { peer: { handshakeTimeoutMs: 1000 }, tls: { handshakeTimeoutMs: 1000 } };
const missing = missingOpenssl();

let ca: TestCa | undefined;
let fixture: ClusterFixture | undefined;
let tlsArguments: string[] = [];
const joiners: LoneNode[] = [];

before(
  async () => {
    if (missing !== undefined) return;
    ca = createTestCa('metrics');
    // One certificate for every node: they all live on 127.0.0.1, the address each is dialled at.
    const certificate = ca.issue('node');
    tlsArguments = [
      '--tls',
      'peer,resp',
      '--tls-cert-file',
      certificate.certFile,
      '--tls-key-file',
      certificate.keyFile,
      '--tls-ca-file',
      ca.caFile,
      '--limits-json',
      JSON.stringify(limits),
    ];
    fixture = await ClusterFixture.start({ name: 'peer-metrics', partitions, settings, extraArguments: tlsArguments });
  },
  { timeout: 90_000 },
);

after(
  async () => {
    await Promise.all(joiners.map((node) => node.kill()));
    await fixture?.stop();
    ca?.remove();
  },
  { timeout: 30_000 },
);

function cluster(): ClusterFixture {
  return fixture as ClusterFixture;
}

async function scrapeUrl(url: string): Promise<string> {
  const reply = await request(`${url}/metrics`, { fetchTimeoutMs: 5000 });
  assert.equal(reply.status, 200);
  return reply.text;
}

const scrape = (index: number): Promise<string> => scrapeUrl(cluster().url(index));

/** Polls node `index`'s /metrics until `holds` is true of the page (bounded). */
async function waitForPage(
  index: number,
  what: string,
  holds: (page: string) => boolean,
  timeoutMs = 20_000,
): Promise<string> {
  return eventually(
    what,
    async () => {
      const page = await scrape(index);
      return holds(page) ? page : undefined;
    },
    { timeoutMs, intervalMs: 250 },
  );
}

const peer = (page: string, family: string, member: string): number =>
  sumOf(page, `everwrite_transport_peer_${family}`, { peer: member });
const connected = (page: string, member: string, direction: string): number =>
  sumOf(page, 'everwrite_transport_peer_connected', { peer: member, direction });

testNeeding(
  missing,
  'per-member transport series and gossip counters move with traffic; a member killed -9 shows disconnected, dropped and failed probes, then reconnects',
  { timeout: 120_000 },
  async () => {
    const fixture = cluster();
    await fixture.allSeeAllUp();
    const before = await scrape(1);
    // Only members ever label a series: n1 exports n2 and n3, never itself or anything else.
    assert.deepEqual([...labelValuesOf(before, 'everwrite_transport_peer_frames_sent_total', 'peer')].sort(), [
      'n2',
      'n3',
    ]);
    assert.deepEqual([...labelValuesOf(before, 'everwrite_transport_peer_connected', 'peer')].sort(), ['n2', 'n3']);
    for (let index = 0; index < 20; index++)
      assert.equal((await fixture.put(1, 'peers', `k${index}`, 'v', { w: 3 })).status, 204);
    const busy = await scrape(1);
    for (const member of ['n2', 'n3']) {
      for (const family of ['frames_sent_total', 'bytes_sent_total', 'frames_received_total', 'bytes_received_total']) {
        assert.ok(peer(busy, family, member) > peer(before, family, member), `${family} for ${member} grew`);
      }
      assert.equal(connected(busy, member, 'outbound'), 1, `n1's link to ${member} is up`);
      assert.equal(connected(busy, member, 'inbound'), 1, `${member}'s link to n1 is up`);
    }
    await waitForPage(1, 'gossip rounds and probes to be counted', (page) =>
      ['everwrite_view_gossip_rounds_total', 'everwrite_swim_probes_total'].every(
        (family) => sumOf(page, family) > sumOf(before, family),
      ),
    );

    await fixture.kill(3);
    try {
      const killed = await waitForPage(
        1,
        "n1 to export its link to n3 as down and n3's frames as dropped",
        (page) =>
          connected(page, 'n3', 'outbound') === 0 &&
          peer(page, 'frames_dropped_total', 'n3') > peer(busy, 'frames_dropped_total', 'n3'),
      );
      assert.equal(connected(killed, 'n3', 'inbound'), 0, "n3's connection to n1 is gone");
      const failing = await waitForPage(
        1,
        'probes of n3 to fail and connects to it to fail',
        (page) =>
          sumOf(page, 'everwrite_swim_probes_failed_total') > sumOf(busy, 'everwrite_swim_probes_failed_total') &&
          peer(page, 'connect_failures_total', 'n3') > peer(busy, 'connect_failures_total', 'n3'),
      );
      assert.ok(
        sumOf(failing, 'everwrite_swim_indirect_probes_total') > sumOf(busy, 'everwrite_swim_indirect_probes_total'),
        'a probe without a direct ack asked others',
      );
      // W=2 is still met without n3; the write to it is dropped or queued, never an error.
      assert.equal((await fixture.put(1, 'peers', 'during', 'v', { w: 2 })).status, 204);
    } finally {
      // The later tests need n3 back even when an assertion above failed.
      if (fixture.pid(3) === undefined) await fixture.restart(3);
    }
    const back = await waitForPage(
      1,
      'n1 to reconnect to n3',
      (page) => connected(page, 'n3', 'outbound') === 1 && connected(page, 'n3', 'inbound') === 1,
      45_000,
    );
    assert.ok(peer(back, 'connects_total', 'n3') > peer(busy, 'connects_total', 'n3'), 'a reconnect to n3 was counted');
    fixture.assertNoCrashes();
  },
);

/** Opens a TCP connection to `port` and resolves once it is up. */
function openTcp(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connectTcp({ host, port }, () => resolve(socket));
    socket.once('error', reject);
  });
}

/** Completes a TLS handshake with `port`, trusting the cluster CA, showing no client certificate; resolves once closed again. */
function tlsHandshake(port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = connectTls({ host, port, ca: readFileSync((ca as TestCa).caFile) }, () => {
      socket.end();
      resolve();
    });
    socket.once('error', reject);
  });
}

const tlsFailures = (page: string, port: string, reason: string): number =>
  sumOf(page, 'everwrite_tls_handshake_failures_total', { port, reason });
const tlsHandshakes = (page: string, port: string, outcome: string): number =>
  sumOf(page, 'everwrite_tls_handshakes_total', { port, outcome });

testNeeding(
  missing,
  'TLS handshakes are counted per port: completed ones, and failures by class (plaintext, silence, no client certificate)',
  { timeout: 60_000 },
  async () => {
    const fixture = cluster();
    await fixture.allSeeAllUp();
    const before = await scrape(2);
    assert.ok(tlsHandshakes(before, 'peer', 'completed') >= 2, 'the peer links to n1 and n3 completed TLS');
    assert.equal(
      labelValuesOf(before, 'everwrite_tls_handshakes_total', 'port').has('http'),
      false,
      'plain HTTP has no TLS series',
    );
    const respPort = fixture.respPort(2);
    const peerPort = fixture.peerPort(2);

    await tlsHandshake(respPort);
    const plaintext = await openTcp(respPort);
    plaintext.on('error', () => undefined);
    plaintext.write('PING\r\n');
    const silent = await openTcp(respPort);
    silent.on('error', () => undefined);
    // A TLS client without a certificate: the peer port's TLS is mutual, so it is refused.
    await tlsHandshake(peerPort).catch(() => undefined);
    try {
      const after = await waitForPage(
        2,
        'the bad TLS clients counted on n2',
        (page) =>
          tlsHandshakes(page, 'resp', 'completed') > tlsHandshakes(before, 'resp', 'completed') &&
          tlsFailures(page, 'resp', 'protocol') > tlsFailures(before, 'resp', 'protocol') &&
          tlsFailures(page, 'resp', 'timeout') > tlsFailures(before, 'resp', 'timeout') &&
          tlsFailures(page, 'peer', 'certificate') > tlsFailures(before, 'peer', 'certificate'),
      );
      assert.equal(
        tlsHandshakes(after, 'resp', 'failed') - tlsHandshakes(before, 'resp', 'failed'),
        2,
        'two failed handshakes on the RESP port',
      );
      assert.deepEqual([...labelValuesOf(after, 'everwrite_tls_handshake_failures_total', 'reason')].sort(), [
        'certificate',
        'closed',
        'other',
        'protocol',
        'timeout',
      ]);
    } finally {
      plaintext.destroy();
      silent.destroy();
    }
    fixture.assertNoCrashes();
  },
);

const handoff = (page: string, family: string, direction: string): number =>
  sumOf(page, `everwrite_handoff_${family}_total`, { direction });

testNeeding(
  missing,
  'a join streams keys: handoff keys, bytes and batches move outgoing on the sources and incoming on the joiner; the transition is exported while it lasts',
  { timeout: 150_000 },
  async () => {
    const fixture = cluster();
    await fixture.allSeeAllUp();
    const value = 'v'.repeat(400);
    for (let index = 0; index < 120; index++)
      assert.equal((await fixture.put(1 + (index % 3), 'handoff', `h${index}`, value, { w: 3 })).status, 204);
    const before = await Promise.all([1, 2, 3].map((index) => scrape(index)));
    const [joinerPeerPort, joinerHttpPort] = (await freePorts(2)) as [number, number];
    const joiner = new LoneNode({
      id: 'n4',
      peerPort: joinerPeerPort,
      httpPort: joinerHttpPort,
      dataDirectory: join(fixture.dataDirectory, 'n4'),
      seeds: '',
      secretFile: fixture.cluster.secretFile,
      extraArguments: [
        '--partitions',
        String(partitions),
        '--settings-json',
        JSON.stringify(settings),
        ...tlsArguments,
      ],
    });
    joiners.push(joiner);
    await joiner.waitReady();
    const joined = await request(`${joiner.url}/admin/join`, {
      method: 'POST',
      body: JSON.stringify({ seed: fixture.url(1).replace('http://', '') }),
      fetchTimeoutMs: 10_000,
    });
    assert.equal(joined.status, 202, joined.text);
    const committed = await request(`${fixture.url(1)}/admin/commit`, { method: 'POST', fetchTimeoutMs: 10_000 });
    assert.equal(committed.status, 200, committed.text);
    const version = committed.json<{ version: number }>().version;
    // While the transition lasts, the joiner exports it: its version, its transfers, its own incoming ones running.
    const during = await eventually(
      'n4 to export the transition in progress',
      async () => {
        const page = await scrapeUrl(joiner.url);
        return sumOf(page, 'everwrite_handoff_view_version') === version &&
          sumOf(page, 'everwrite_handoff_transfers', { state: 'total' }) > 0 &&
          sumOf(page, 'everwrite_handoff_node_transfers', { direction: 'incoming', state: 'running' }) > 0
          ? page
          : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 100 },
    ).catch(async (error: unknown) => {
      const page = await scrapeUrl(joiner.url);
      throw new Error(
        `${String(error)}\n${page
          .split('\n')
          .filter((line) => /^everwrite_(handoff|view)/.test(line))
          .join('\n')}`,
      );
    });
    assert.ok(
      sumOf(during, 'everwrite_handoff_transfers', { state: 'done' }) <
        sumOf(during, 'everwrite_handoff_transfers', { state: 'total' }),
      'not every transfer done yet',
    );

    const settled = await eventually(
      'n4 to finish the transition',
      async () => {
        const page = await scrapeUrl(joiner.url);
        return sumOf(page, 'everwrite_view_version') > version && sumOf(page, 'everwrite_handoff_view_version') === 0
          ? page
          : undefined;
      },
      { timeoutMs: 90_000, intervalMs: 500 },
    );
    assert.ok(handoff(settled, 'keys', 'incoming') > 0, 'n4 received keys');
    // Records of the 120 keys above carry 400-byte values; the earlier tests' keys are smaller.
    assert.ok(
      handoff(settled, 'bytes', 'incoming') > 400 * 10 &&
        handoff(settled, 'bytes', 'incoming') > handoff(settled, 'keys', 'incoming'),
      "n4 received the records' bytes",
    );
    assert.ok(handoff(settled, 'batches', 'incoming') > 0, 'n4 received batches');
    assert.equal(handoff(settled, 'keys', 'outgoing'), 0, 'n4 sent nothing');
    // Each node completes the transition when it learns every transfer is done: n4 may be first.
    const after = await Promise.all(
      [1, 2, 3].map((index) =>
        waitForPage(
          index,
          `n${index} to finish the transition`,
          (page) =>
            sumOf(page, 'everwrite_view_version') > version && sumOf(page, 'everwrite_handoff_view_version') === 0,
          60_000,
        ),
      ),
    );
    const sent = after.reduce(
      (total, page, offset) =>
        total + handoff(page, 'keys', 'outgoing') - handoff(before[offset] as string, 'keys', 'outgoing'),
      0,
    );
    // Resends are counted too, so the sources sent at least what n4 received.
    assert.ok(sent >= handoff(settled, 'keys', 'incoming') && sent > 0, `sources sent ${sent} keys`);
    for (const page of [...after, settled])
      assert.equal(
        sumOf(page, 'everwrite_handoff_transfers', { state: 'total' }),
        0,
        'no transition in progress after it completed',
      );
    fixture.assertNoCrashes();
  },
);
