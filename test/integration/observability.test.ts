// Why: an operator sees a cluster through /metrics and the log (docs/OPERATIONS.md "Metrics",
// "Logs"). These tests scrape real `everwrite start` processes: every documented family must be
// on the page, and move when the thing it counts happens (writes, reads, RESP commands, siblings,
// fsyncs, frames); a node killed with -9 must show as down in everwrite_member_state, its writes
// as hints pending and then delivered after its restart, and the log must tell the story with
// stable events (member_down, restart_after_unclean_stop, wal_replayed, hints_handed_off,
// quorum_failures) and never contain the cluster secret.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { sampleOf, sumOf } from '../support/metrics-page.ts';
import { ClusterFixture, eventually, request } from '../support/cluster-fixture.ts';
import { RespSimpleValue, RespTestClient } from '../support/resp-client.ts';

let fixture: ClusterFixture;

before(
  async () => {
    // Peers on 32001-32003, HTTP on 33001-33003, RESP on 32101-32103. Info-level logs: the events
    // under test are info and warn lines. Anti-entropy rarely, so hints alone bring n3 back.
    fixture = await ClusterFixture.start({
      name: 'observability',
      settings: { antiEntropyIntervalMs: 600_000_000, downBackoffMs: 5000 },
      extraArguments: ['--log-level', 'info'],
    });
  },
  { timeout: 60_000 },
);

after(
  async () => {
    await fixture?.stop();
  },
  { timeout: 30_000 },
);

async function scrape(index: number): Promise<string> {
  const reply = await request(`${fixture.url(index)}/metrics`, { fetchTimeoutMs: 5000 });
  assert.equal(reply.status, 200);
  assert.match(reply.headers.get('content-type') ?? '', /^text\/plain/);
  return reply.text;
}

const families = [
  'process_cpu_user_seconds_total',
  'process_resident_memory_bytes',
  'nodejs_eventloop_lag_seconds',
  'nodejs_heap_size_used_bytes',
  'everwrite_http_requests_total',
  'everwrite_http_request_duration_seconds',
  'everwrite_resp_command_duration_seconds',
  'everwrite_operation_duration_seconds',
  'everwrite_forwards_total',
  'everwrite_sloppy_replicas_total',
  'everwrite_read_repairs_total',
  'everwrite_hints_stored_total',
  'everwrite_hints_delivered_total',
  'everwrite_hints_dropped_total',
  'everwrite_hints_pending',
  'everwrite_hints_pending_bytes',
  'everwrite_read_siblings',
  'everwrite_read_context_actors',
  'everwrite_store_write_duration_seconds',
  'everwrite_wal_fsync_duration_seconds',
  'everwrite_wal_unapplied_bytes',
  'everwrite_wal_bytes',
  'everwrite_transport_frames_sent_total',
  'everwrite_transport_bytes_received_total',
  'everwrite_transport_frames_dropped_total',
  'everwrite_transport_refused_total',
  'everwrite_member_state',
  'everwrite_view_version',
  'everwrite_view_conflict',
  'everwrite_aae_trees_ready',
  'everwrite_aae_keys_repaired',
  'everwrite_background_throttled',
  'everwrite_background_bytes_per_second',
  'everwrite_background_foreground_p99_seconds',
];

test(
  'GET /metrics of a real node lists every documented family, and the counts move with traffic',
  { timeout: 60_000 },
  async () => {
    await fixture.allSeeAllUp();
    const before = await scrape(1);
    for (const family of families)
      assert.match(before, new RegExp(`^# TYPE ${family} `, 'm'), `family ${family} on /metrics`);
    for (const member of ['n1', 'n2', 'n3'])
      assert.equal(sampleOf(before, 'everwrite_member_state', { member, state: 'up' }), 1, `${member} up`);

    const writes = 20;
    for (let index = 0; index < writes; index++)
      assert.equal((await fixture.put(1, 'metrics', `k${index}`, `v${index}`)).status, 204);
    for (let index = 0; index < writes; index++)
      assert.equal((await fixture.get(1, 'metrics', `k${index}`)).status, 200);
    const resp = await RespTestClient.connect(fixture.respPort(1));
    try {
      for (let index = 0; index < 5; index++) {
        assert.deepEqual(await resp.call('SET', `r${index}`, 'v'), new RespSimpleValue('OK'));
        assert.equal(await resp.call('GET', `r${index}`), 'v');
      }
      await resp.call('NOSUCHCOMMAND');
    } finally {
      resp.close();
    }
    // Two blind writes through two coordinators: the read through n1 answers both siblings.
    assert.equal((await fixture.put(1, 'metrics', 'twins', 'left')).status, 204);
    assert.equal((await fixture.put(2, 'metrics', 'twins', 'right')).status, 204);
    assert.equal((await fixture.get(1, 'metrics', 'twins')).status, 300);

    const after = await scrape(1);
    const moved = (name: string, labels: Readonly<Record<string, string>> = {}): number =>
      sumOf(after, name, labels) - sumOf(before, name, labels);
    assert.ok(
      moved('everwrite_operation_duration_seconds_count', { operation: 'put', outcome: 'ok' }) >= writes + 1,
      'puts counted',
    );
    assert.ok(
      moved('everwrite_operation_duration_seconds_count', { operation: 'get', outcome: 'ok' }) >= writes + 1,
      'gets counted',
    );
    assert.ok(
      moved('everwrite_http_requests_total', { route: '/buckets/{bucket}/keys/{key}', method: 'PUT', status: '204' }) >=
        writes + 1,
    );
    assert.equal(moved('everwrite_resp_command_duration_seconds_count', { command: 'set', outcome: 'ok' }), 5);
    assert.equal(moved('everwrite_resp_command_duration_seconds_count', { command: 'get', outcome: 'ok' }), 5);
    assert.equal(moved('everwrite_resp_command_duration_seconds_count', { command: 'unknown', outcome: 'error' }), 1);
    // The sibling histogram saw one read with two versions: one observation above le="1".
    const readsWithSiblings =
      moved('everwrite_read_siblings_count') - moved('everwrite_read_siblings_bucket', { le: '1' });
    assert.ok(readsWithSiblings >= 1, `a read answering 2 siblings was observed (${readsWithSiblings})`);
    assert.ok(moved('everwrite_read_context_actors_count') >= writes, 'context sizes observed');
    assert.ok(moved('everwrite_wal_fsync_duration_seconds_count') > 0, 'write-ahead log fsyncs timed');
    assert.ok(moved('everwrite_store_write_duration_seconds_count') > 0, 'store writes timed');
    assert.ok(moved('everwrite_transport_frames_sent_total') >= writes, 'frames to peers counted');
    assert.ok(moved('everwrite_transport_bytes_received_total') > 0, 'bytes from peers counted');
    assert.ok(sampleOf(after, 'process_cpu_user_seconds_total') > 0);
    assert.ok(sampleOf(after, 'nodejs_eventloop_lag_seconds') >= 0 && /^nodejs_eventloop_lag_seconds \d/m.test(after));
    fixture.assertNoCrashes();
  },
);

test(
  'a node killed with -9 shows down, its writes wait as hints, and after restart they are handed off and logged',
  { timeout: 120_000 },
  async () => {
    await fixture.allSeeAllUp();
    const secret = readFileSync(fixture.cluster.secretFile, 'utf8').trim();
    await fixture.kill(3);
    // Both coordinators skip n3 at once (a probe write each), so every write below is hinted rather than queued for it.
    await Promise.all([fixture.makeCoordinatorSeeDown(1, 3), fixture.makeCoordinatorSeeDown(2, 3)]);
    await eventually(
      'n1 to export n3 as down',
      async () =>
        sampleOf(await scrape(1), 'everwrite_member_state', { member: 'n3', state: 'down' }) === 1 ? true : undefined,
      { timeoutMs: 15_000, intervalMs: 250 },
    );
    const stored = async (): Promise<number> =>
      sumOf(await scrape(1), 'everwrite_hints_stored_total', { target: 'n3' }) +
      sumOf(await scrape(2), 'everwrite_hints_stored_total', { target: 'n3' });
    const pending = async (): Promise<number> =>
      sumOf(await scrape(1), 'everwrite_hints_pending', { target: 'n3' }) +
      sumOf(await scrape(2), 'everwrite_hints_pending', { target: 'n3' });
    const storedBefore = await stored();
    for (let index = 0; index < 10; index++)
      assert.equal((await fixture.put(1 + (index % 2), 'handoff', `h${index}`, 'v', { w: 2 })).status, 204);
    // A coordination stores its hints when it ends, which can be after the client's 204 (W=2 met).
    await eventually(
      'every write to leave a hint for n3',
      async () => ((await stored()) - storedBefore >= 10 ? true : undefined),
      { timeoutMs: 15_000, intervalMs: 250 },
    );
    assert.ok((await pending()) >= 10, 'hints pending for n3');
    // W=3 cannot be met with n3 down. 12 failures in a few seconds put at least 6 (the line's threshold is 5) in one 10 s window, however the windows fall.
    for (let index = 0; index < 12; index++)
      assert.equal((await fixture.put(1, 'handoff', `q${index}`, 'v', { w: 3, timeoutMs: 300 })).status, 503);
    await eventually(
      'a quorum_failures line',
      async () => (fixture.logs().includes('"event":"quorum_failures"') ? true : undefined),
      { timeoutMs: 15_000, intervalMs: 250 },
    );
    assert.ok(
      sumOf(await scrape(1), 'everwrite_operation_duration_seconds_count', {
        operation: 'put',
        outcome: 'EVERWRITE_QUORUM_NOT_MET',
      }) >= 12,
      'quorum failures by code',
    );

    await fixture.restart(3);
    await eventually('every hint for n3 delivered', async () => ((await pending()) === 0 ? true : undefined), {
      timeoutMs: 45_000,
      intervalMs: 250,
    });
    const delivered =
      sumOf(await scrape(1), 'everwrite_hints_delivered_total', { target: 'n3' }) +
      sumOf(await scrape(2), 'everwrite_hints_delivered_total', { target: 'n3' });
    assert.ok(delivered >= 10, `hints delivered: ${delivered}`);
    await eventually(
      'a hints_handed_off line',
      async () => (fixture.logs().includes('"event":"hints_handed_off"') ? true : undefined),
      { timeoutMs: 10_000, intervalMs: 250 },
    );

    const logs = fixture.logs();
    for (const event of [
      'member_down',
      'member_suspect',
      'restart_after_unclean_stop',
      'wal_replayed',
      'hints_handed_off',
      'quorum_failures',
    ]) {
      assert.ok(logs.includes(`"event":"${event}"`), `the log has an ${event} line`);
    }
    const handoff = logs.split('\n').find((line) => line.includes('"event":"hints_handed_off"')) as string;
    const fields = JSON.parse(handoff.slice(handoff.indexOf('{'))) as Record<string, unknown>;
    assert.equal(fields.target, 'n3');
    assert.ok(typeof fields.count === 'number' && fields.count >= 1 && typeof fields.durationMs === 'number', handoff);
    assert.ok(secret.length >= 32 && !logs.includes(secret), 'the cluster secret never appears in any log');
    fixture.assertNoCrashes();
  },
);
