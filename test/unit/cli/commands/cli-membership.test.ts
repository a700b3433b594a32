// Why: `everwrite cluster plan|commit|status` are how an operator sees a membership change (decision
// 0017): the plan must show what is staged, what committing would move, a stale plan's reason and
// the transition under way; status must show each node's handoffs out and in; a refused call exits
// 1 with the node's code, an unreachable node is named with the reason, and $EVERWRITE_NODE is the
// default node as for every other command. `commit --wait` and `leave --wait` draw a progress bar on
// a terminal (and nothing on a pipe), from the transfers the node reports done.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Command } from 'commander';
import {
  formatHandoffs,
  formatPlan,
  registerClusterMembershipCommands,
  runClusterCommit,
  runClusterLeave,
  runClusterRemove,
} from '../../../../src/cli/commands/cluster-membership.ts';
import type { PlanReport } from '../../../../src/runtime/service.ts';
import { formatClusterStatus, runClusterStatus } from '../../../../src/cli/commands/cluster.ts';

const preview = {
  members: [
    { id: 'n1', state: 'valid', partitionsBefore: 32, partitionsAfter: 22 },
    { id: 'n3', state: 'joining', partitionsBefore: 0, partitionsAfter: 10 },
  ],
  partitionsMoved: 10,
  transfers: [{ partition: 1, source: 'n1', target: 'n3' }],
};

test('the plan shows the staged changes, what committing moves, a stale reason and the transition under way', () => {
  const report: PlanReport = {
    claimant: 'n1',
    version: 4,
    replicaCount: 3,
    staged: {
      baseVersion: 4,
      changes: [
        { kind: 'join', id: 'n3', peer: '127.0.0.1:7003', http: '127.0.0.1:8003', zone: null, weight: 1 },
        { kind: 'leave', id: 'n2' },
      ],
    },
    preview,
    previewError: null,
    transition: null,
  };
  const text = formatPlan(report);
  assert.match(text, /^claimant n1, view version 4, largest bucket n 3/);
  assert.match(text, /join n3 \(peer 127\.0\.0\.1:7003, http 127\.0\.0\.1:8003, zone -, weight 1\)/);
  assert.match(text, /leave n2/);
  assert.match(text, /n3\s+joining\s+partitions\s+0 -> 10/);
  assert.match(text, /10 partitions change owner; 1 transfers to stream/);
  const stale = formatPlan({
    ...report,
    preview: null,
    previewError: { code: 'EVERWRITE_PLAN_STALE', message: 'staged against 3' },
    transition: preview,
  });
  assert.match(stale, /no longer applies: EVERWRITE_PLAN_STALE: staged against 3/);
  assert.match(stale, /transition under way:/);
  assert.match(formatPlan({ ...report, staged: null, preview: null }), /nothing staged/);
});

test('the handoff lines count each node’s transfers out and in, done of total, with bytes', () => {
  const transfers = [
    { partition: 1, peer: 'n3', direction: 'outgoing' as const, bytes: 100, done: true },
    { partition: 2, peer: 'n3', direction: 'outgoing' as const, bytes: 50, done: false },
    { partition: 3, peer: 'n2', direction: 'incoming' as const, bytes: 7, done: true },
  ];
  const text = formatHandoffs([
    { id: 'n1', handoff: { transfersTotal: 3, transfersKnownDone: 2, transfers } },
    { id: 'n2', handoff: undefined },
  ]);
  assert.match(text, /n1\s+out 1\/2 \(150 B\)\s+in 1\/1 \(7 B\)/);
  assert.match(text, /n2\s+unreachable/);
});

test('a refused remove exits 1 with the node’s code and message', { timeout: 10_000 }, async () => {
  const server = createServer((_request, response) => {
    response.statusCode = 404;
    response.end(JSON.stringify({ code: 'EVERWRITE_NOT_A_MEMBER', message: 'node x is not a member of the cluster' }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { io, out, err, exit } = capturingIo();
  try {
    await runClusterRemove(
      'x',
      { node: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, json: false },
      io,
    );
  } finally {
    server.close();
  }
  assert.equal(exit.code, 1);
  assert.deepEqual(out, []);
  assert.match(
    err.join(''),
    /cluster remove: POST \/admin\/remove answered 404: EVERWRITE_NOT_A_MEMBER: node x is not a member/,
  );
});

test('the status table shows a member joining or leaving next to its liveness', () => {
  const text = formatClusterStatus({
    id: 'n1',
    members: [
      { id: 'n1', state: 'up', membership: 'valid' },
      { id: 'n4', state: 'up', membership: 'joining' },
      { id: 'n2', state: 'down', membership: 'leaving' },
    ],
  });
  assert.match(text, /n4\s+-\s+-\s+-\s+1\s+up \(joining\)/);
  assert.match(text, /n2\s+-\s+-\s+-\s+1\s+down \(leaving\)/);
  assert.match(text, /n1\*\s+-\s+-\s+-\s+1\s+up\s/);
});

/** An io that keeps what a command writes, for runCluster* calls. */
function capturingIo(): {
  io: Parameters<typeof runClusterRemove>[2] & object;
  out: string[];
  err: string[];
  exit: { code: number };
} {
  const out: string[] = [];
  const err: string[] = [];
  const exit = { code: 0 };
  const io = {
    stdout: { write: (chunk: string | Uint8Array) => out.push(String(chunk)) },
    stderr: { write: (chunk: string) => err.push(chunk) },
    readStdin: () => Promise.resolve(new Uint8Array()),
    setExitCode: (code: number) => (exit.code = code),
    requestTimeoutMs: 5000,
  };
  return { io, out, err, exit };
}

test('an unreachable node is named with the reason, not "fetch failed"', { timeout: 10_000 }, async () => {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  const { io, err, exit } = capturingIo();
  await runClusterRemove('x', { node: `http://127.0.0.1:${port}`, json: false }, io);
  assert.equal(exit.code, 1);
  assert.match(
    err.join(''),
    new RegExp(`cluster remove: cannot reach http://127\\.0\\.0\\.1:${port}: connect ECONNREFUSED`),
  );
});

test(
  'the membership commands ask the node in $EVERWRITE_NODE when no --node is given',
  { timeout: 10_000 },
  async () => {
    const asked: string[] = [];
    const server = createServer((request, response) => {
      asked.push(`${request.method} ${request.url}`);
      response.statusCode = 404;
      response.end(
        JSON.stringify({ code: 'EVERWRITE_NOT_A_MEMBER', message: 'node x is not a member of the cluster' }),
      );
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const saved = process.env.EVERWRITE_NODE;
    process.env.EVERWRITE_NODE = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const program = new Command().exitOverride();
    registerClusterMembershipCommands(program.command('cluster'));
    try {
      await program.parseAsync(['node', 'everwrite', 'cluster', 'remove', 'x']);
    } finally {
      if (saved === undefined) delete process.env.EVERWRITE_NODE;
      else process.env.EVERWRITE_NODE = saved;
      // The refusal set the exit code (1) of this test process; the assertion below is what counts.
      process.exitCode = undefined;
      server.close();
    }
    assert.deepEqual(asked, ['POST /admin/remove']);
  },
);

/** A node answering each route from a script: the nth GET of a route gets its nth answer (the last one repeats). */
async function scriptedNode(routes: Record<string, readonly unknown[]>): Promise<{ url: string; close(): void }> {
  const calls = new Map<string, number>();
  const server = createServer((request, response) => {
    const route = `${request.method} ${(request.url ?? '').split('?')[0]}`;
    const answers = routes[route];
    if (answers === undefined) {
      response.statusCode = 404;
      return void response.end(JSON.stringify({ code: 'EVERWRITE_NOT_FOUND', message: route }));
    }
    const seen = calls.get(route) ?? 0;
    calls.set(route, seen + 1);
    response.setHeader('content-type', 'application/json');
    response.end(JSON.stringify(answers[Math.min(seen, answers.length - 1)]));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, close: () => server.close() };
}

/** A capturing io whose stderr claims to be a terminal (or a pipe), as process.stderr does. */
function terminalIo(isTTY: boolean): ReturnType<typeof capturingIo> {
  const captured = capturingIo();
  const stderr = { write: (chunk: string) => captured.err.push(chunk), isTTY, columns: 120 };
  return { ...captured, io: { ...captured.io, stderr } };
}

const joining = [
  { id: 'n1', membership: 'valid' },
  { id: 'n4', membership: 'joining' },
];
const settled = [
  { id: 'n1', membership: 'valid' },
  { id: 'n4', membership: 'valid' },
];
const handoff = (done: number, total: number): object => ({
  viewVersion: 5,
  transfersTotal: total,
  transfersKnownDone: done,
  transfers: [],
});

test(
  'commit --wait draws a progress bar of transfers done on a terminal, and none on a pipe',
  { timeout: 20_000 },
  async () => {
    for (const isTTY of [true, false]) {
      const node = await scriptedNode({
        'POST /admin/commit': [{ version: 5, digest: 'd5', transition: preview }],
        'GET /admin/status': [
          { id: 'n1', members: joining, view: { version: 5 }, handoff: handoff(1, 4) },
          { id: 'n1', members: joining, view: { version: 5 }, handoff: handoff(4, 4) },
          { id: 'n1', members: settled, view: { version: 6 }, handoff: handoff(0, 0) },
        ],
      });
      const { io, out, err, exit } = terminalIo(isTTY);
      try {
        await runClusterCommit({ node: node.url, json: false, wait: true, timeoutMs: 15_000 }, io);
      } finally {
        node.close();
      }
      assert.equal(exit.code, 0, err.join(''));
      assert.match(out.join(''), /transition complete: view version 6/);
      const drawn = err.join('');
      if (isTTY) {
        assert.match(drawn, /handoff \|[^|]*\| 1\/4 transfers/, 'the bar at the first look');
        assert.match(drawn, /handoff \|[^|]*\| 4\/4 transfers/, 'the bar at the end');
      } else {
        assert.equal(drawn, '', 'a pipe gets no bar');
      }
    }
  },
);

test(
  'leave --wait follows the handoff at the claimant with a progress bar on a terminal until the node is gone',
  { timeout: 20_000 },
  async () => {
    const leaving = {
      claimant: 'n1',
      version: 5,
      replicaCount: 3,
      staged: { baseVersion: 5, changes: [{ kind: 'leave', id: 'n4' }] },
      preview,
      previewError: null,
      transition: null,
    };
    const members = [
      { id: 'n1', http: null, membership: 'valid' },
      { id: 'n4', http: null, membership: 'leaving' },
    ];
    const node = await scriptedNode({
      'POST /admin/leave': [leaving],
      'GET /admin/plan': [leaving],
      'GET /admin/status': [
        { id: 'n1', members, view: { version: 6 } },
        { id: 'n1', members, view: { version: 6 }, handoff: { ...handoff(2, 3), viewVersion: 6 } },
        { id: 'n1', members, view: { version: 6 }, handoff: { ...handoff(3, 3), viewVersion: 6 } },
        { id: 'n1', members: members.slice(0, 1), view: { version: 7 } },
      ],
    });
    const { io, out, err, exit } = terminalIo(true);
    try {
      await runClusterLeave('n4', { node: node.url, json: false, wait: true, timeoutMs: 15_000 }, io);
    } finally {
      node.close();
    }
    assert.equal(exit.code, 0, err.join(''));
    assert.match(out.join(''), /leave n4[\s\S]*waiting for n4 to leave[\s\S]*n4 has left the cluster/);
    assert.match(err.join(''), /handoff \|[^|]*\| 2\/3 transfers/);
    assert.match(err.join(''), /handoff \|[^|]*\| 3\/3 transfers/);
  },
);

test(
  'cluster status during a transition asks every member for its handoffs and shows each one’s pacing, halved while its foreground p99 is high',
  { timeout: 20_000 },
  async () => {
    const quietPacing = { throttled: false, bytesPerSecondNow: 16 * 1024 * 1024, foregroundP99Ms: 9, baselineMs: 8 };
    const busyPacing = { throttled: true, bytesPerSecondNow: 8 * 1024 * 1024, foregroundP99Ms: 45.2, baselineMs: 12.4 };
    const transfers = [
      { partition: 3, peer: 'n1', direction: 'incoming', bytes: 2048, done: true },
      { partition: 5, peer: 'n1', direction: 'incoming', bytes: 10, done: false },
    ];
    const n4 = await scriptedNode({
      'GET /admin/status': [
        {
          id: 'n4',
          members: [],
          handoff: { viewVersion: 5, transfersTotal: 2, transfersKnownDone: 1, transfers },
          background: busyPacing,
        },
      ],
    });
    const n1 = await scriptedNode({
      'GET /admin/status': [
        {
          id: 'n1',
          members: [
            { id: 'n1', http: null, state: 'up', membership: 'valid' },
            { id: 'n4', http: n4.url.replace('http://', ''), state: 'up', membership: 'joining' },
            { id: 'n9', http: null, state: 'down', membership: 'valid' },
          ],
          view: { version: 5, partitionCount: 64, digest: 'd5', conflict: null },
          handoff: {
            viewVersion: 5,
            transfersTotal: 2,
            transfersKnownDone: 1,
            transfers: transfers.map((transfer) => ({ ...transfer, peer: 'n4', direction: 'outgoing' })),
          },
          background: quietPacing,
        },
      ],
    });
    const { io, out, err, exit } = capturingIo();
    try {
      await runClusterStatus({ node: n1.url, json: false }, io);
    } finally {
      n1.close();
      n4.close();
    }
    assert.equal(exit.code, 0, err.join(''));
    const text = out.join('');
    assert.match(text, /n1\s+out 1\/2 \(2058 B\)\s+in 0\/0 \(0 B\)\s+budget 16\.0 MiB\/s\n/);
    assert.match(
      text,
      /n4\s+out 0\/0 \(0 B\)\s+in 1\/2 \(2058 B\)\s+budget 8\.0 MiB\/s, halved: foreground p99 45 ms over baseline 12 ms/,
    );
    assert.match(text, /n9\s+unreachable/);
  },
);
