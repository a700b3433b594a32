// Why: `everwrite cluster plan|commit|status` are how an operator sees a membership change (decision
// 0017): the plan must show what is staged, what committing would move, a stale plan's reason and
// the transition under way; status must show each node's handoffs out and in; a refused call exits
// 1 with the node's code, an unreachable node is named with the reason, and $EVERWRITE_NODE is the
// default node as for every other command.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Command } from 'commander';
import { formatHandoffs, formatPlan, registerClusterMembershipCommands, runClusterRemove } from '../../../../src/cli/commands/cluster-membership.ts';
import type { PlanReport } from '../../../../src/runtime/service.ts';
import { formatClusterStatus } from '../../../../src/cli/commands/cluster.ts';

const preview = { members: [{ id: 'n1', state: 'valid', partitionsBefore: 32, partitionsAfter: 22 }, { id: 'n3', state: 'joining', partitionsBefore: 0, partitionsAfter: 10 }], partitionsMoved: 10, transfers: [{ partition: 1, source: 'n1', target: 'n3' }] };

test('the plan shows the staged changes, what committing moves, a stale reason and the transition under way', () => {
  const report: PlanReport = { claimant: 'n1', version: 4, replicaCount: 3, staged: { baseVersion: 4, changes: [{ kind: 'join', id: 'n3', peer: '127.0.0.1:7003', http: '127.0.0.1:8003', zone: null, weight: 1 }, { kind: 'leave', id: 'n2' }] }, preview, previewError: null, transition: null };
  const text = formatPlan(report);
  assert.match(text, /^claimant n1, view version 4, largest bucket n 3/);
  assert.match(text, /join n3 \(peer 127\.0\.0\.1:7003, http 127\.0\.0\.1:8003, zone -, weight 1\)/);
  assert.match(text, /leave n2/);
  assert.match(text, /n3\s+joining\s+partitions\s+0 -> 10/);
  assert.match(text, /10 partitions change owner; 1 transfers to stream/);
  const stale = formatPlan({ ...report, preview: null, previewError: { code: 'EVERWRITE_PLAN_STALE', message: 'staged against 3' }, transition: preview });
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
  const text = formatHandoffs([{ id: 'n1', handoff: { transfersTotal: 3, transfersKnownDone: 2, transfers } }, { id: 'n2', handoff: undefined }]);
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
    await runClusterRemove('x', { node: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, json: false }, io);
  } finally {
    server.close();
  }
  assert.equal(exit.code, 1);
  assert.deepEqual(out, []);
  assert.match(err.join(''), /cluster remove: POST \/admin\/remove answered 404: EVERWRITE_NOT_A_MEMBER: node x is not a member/);
});

test('the status table shows a member joining or leaving next to its liveness', () => {
  const text = formatClusterStatus({ id: 'n1', members: [{ id: 'n1', state: 'up', membership: 'valid' }, { id: 'n4', state: 'up', membership: 'joining' }, { id: 'n2', state: 'down', membership: 'leaving' }] });
  assert.match(text, /n4\s+-\s+-\s+-\s+1\s+up \(joining\)/);
  assert.match(text, /n2\s+-\s+-\s+-\s+1\s+down \(leaving\)/);
  assert.match(text, /n1\*\s+-\s+-\s+-\s+1\s+up\s/);
});

/** An io that keeps what a command writes, for runCluster* calls. */
function capturingIo(): { io: Parameters<typeof runClusterRemove>[2] & object; out: string[]; err: string[]; exit: { code: number } } {
  const out: string[] = [];
  const err: string[] = [];
  const exit = { code: 0 };
  const io = { stdout: { write: (chunk: string | Uint8Array) => out.push(String(chunk)) }, stderr: { write: (chunk: string) => err.push(chunk) }, readStdin: () => Promise.resolve(new Uint8Array()), setExitCode: (code: number) => (exit.code = code), requestTimeoutMs: 5000 };
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
  assert.match(err.join(''), new RegExp(`cluster remove: cannot reach http://127\\.0\\.0\\.1:${port}: connect ECONNREFUSED`));
});

test('the membership commands ask the node in $EVERWRITE_NODE when no --node is given', { timeout: 10_000 }, async () => {
  const asked: string[] = [];
  const server = createServer((request, response) => {
    asked.push(`${request.method} ${request.url}`);
    response.statusCode = 404;
    response.end(JSON.stringify({ code: 'EVERWRITE_NOT_A_MEMBER', message: 'node x is not a member of the cluster' }));
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
});
