// Why: `everwrite dev` is what a newcomer runs (`npm start`) to watch the store survive a failure.
// On real processes: killing one node with SIGKILL leaves the others serving writes, dev names the
// node that stopped and restarts it on "restart <id>", Ctrl-C stops everything with exit 0; and
// ports already in use are refused before any node starts, with a non-zero exit.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { binPath } from '../../src/server/bin.ts';
import { eventually, killChild, request, watchChild } from '../support/cluster-fixture.ts';
import { freePortBases } from '../support/free-port.ts';

/** `everwrite dev` takes port bases, not ports: bases over a block of free ports (free-port.ts). */
const { peer: peerBase, http: httpBase, resp: respBase } = await freePortBases(3);
const portBases = [
  '--peer-port-base',
  String(peerBase),
  '--http-port-base',
  String(httpBase),
  '--resp-port-base',
  String(respBase),
];
const httpUrl = (index: number): string => `http://127.0.0.1:${httpBase + index}`;

interface DevRun {
  readonly child: ChildProcess;
  output(): string;
  exit(): string | undefined;
}

function startDev(data: string, extra: readonly string[] = []): DevRun {
  const child = spawn(
    process.execPath,
    [binPath, 'dev', '--nodes', '3', '--engine', 'memory', '--data', data, ...portBases, ...extra],
    { env: { ...process.env, EVERWRITE_FROM_SOURCE: '1' }, stdio: ['pipe', 'pipe', 'pipe'] },
  );
  let output = '';
  let exit: string | undefined;
  watchChild(
    child,
    (text) => void (output += text),
    (description) => void (exit = description),
  );
  return { child, output: () => output, exit: () => exit };
}

function waitForOutput(run: DevRun, pattern: RegExp, timeoutMs: number): Promise<RegExpMatchArray> {
  return eventually(
    `dev to print ${pattern} (output so far: ${run.output()})`,
    async () => pattern.exec(run.output()) ?? undefined,
    { timeoutMs },
  );
}

async function writeThrough(index: number, key: string): Promise<number> {
  const reply = await request(`${httpUrl(index)}/buckets/dev/keys/${key}?w=2`, {
    method: 'PUT',
    body: 'v',
    headers: { 'content-type': 'text/plain' },
  });
  return reply.status;
}

test(
  'one node killed leaves the others serving; dev names it and restarts it on request; Ctrl-C exits 0',
  { timeout: 150_000 },
  async () => {
    const data = mkdtempSync(join(tmpdir(), 'everwrite-dev-'));
    const run = startDev(data);
    try {
      await waitForOutput(run, /Ctrl-C stops the cluster/, 60_000);
      const pid = Number((await waitForOutput(run, /^n2: pid (\d+)/m, 1000))[1]);
      process.kill(pid, 'SIGKILL');
      await waitForOutput(run, /n2 stopped \(SIGKILL\); n1, n3 keep serving\. Type "restart n2"/, 20_000);
      assert.equal(run.exit(), undefined, 'dev keeps running');
      assert.equal(await writeThrough(1, 'after-kill'), 204, 'n1 takes a w=2 write with n2 down');
      assert.equal(await writeThrough(3, 'after-kill-3'), 204, 'n3 too');
      run.child.stdin?.write('restart n2\n');
      await waitForOutput(run, /n2 restarted: n2: pid \d+/, 60_000);
      assert.equal((await request(`${httpUrl(2)}/health`)).status, 200);
      run.child.kill('SIGINT');
      await eventually('dev to exit', async () => run.exit(), { timeoutMs: 30_000 });
      assert.equal(run.exit(), 'exit code 0', run.output());
      for (const index of [1, 2, 3])
        await assert.rejects(
          request(`${httpUrl(index)}/health`, { fetchTimeoutMs: 2000 }),
          `node ${index} stopped with dev`,
        );
    } finally {
      await killChild(run.child, 'SIGINT', 30_000);
      rmSync(data, { recursive: true, force: true });
    }
  },
);

test(
  'ports already in use are refused before any node starts, naming them, with a non-zero exit',
  { timeout: 60_000 },
  async () => {
    const data = mkdtempSync(join(tmpdir(), 'everwrite-dev-'));
    const squatter: Server = createServer();
    await new Promise<void>((resolve) => squatter.listen(httpBase + 2, '127.0.0.1', resolve));
    const run = startDev(data);
    try {
      await eventually('dev to exit', async () => run.exit(), { timeoutMs: 30_000 });
      assert.equal(run.exit(), 'exit code 1');
      assert.match(
        run.output(),
        new RegExp(`^everwrite: port ${httpBase + 2} on 127\\.0\\.0\\.1 already in use .*--http-port-base`, 'm'),
      );
      assert.doesNotMatch(run.output(), /pid \d+/, 'no node was started');
      await assert.rejects(request(`${httpUrl(1)}/health`, { fetchTimeoutMs: 2000 }), 'node 1 was not started');
    } finally {
      await killChild(run.child);
      await new Promise<void>((resolve) => squatter.close(() => resolve()));
      rmSync(data, { recursive: true, force: true });
    }
  },
);
