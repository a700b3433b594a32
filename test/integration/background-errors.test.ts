// Why: an error thrown in a node's background work (a timer, a promise nobody awaits) used to end
// the process: one bad input reaching such a task could take every node of a cluster down, and a
// supervisor would restart them into the same crash. This runs the real `start` command, injects
// such failures, and checks that each is logged with a clear line while the node keeps serving
// reads and writes; and that a broken invariant (the one case where carrying on could lose data)
// stops the node with its own log line and exit status 70 (decision 0012).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { eventually, killChild, request, watchChild } from '../support/cluster-fixture.ts';
import { freePorts } from '../support/free-port.ts';

const [peerPort, httpPort] = (await freePorts(2)) as [number, number];
const script = fileURLToPath(new URL('../support/background-error-node.ts', import.meta.url));
const url = `http://127.0.0.1:${httpPort}`;

test(
  'background task errors are logged and the node keeps serving; a broken invariant stops it with status 70',
  { timeout: 90_000 },
  async () => {
    const data = mkdtempSync(join(tmpdir(), 'everwrite-background-errors-'));
    const environment: Record<string, string | undefined> = {
      ...process.env,
      EVERWRITE_SECRET: 'background-errors-secret-0123456789',
    };
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        script,
        'start',
        '--node-id',
        'n1',
        '--listen',
        `127.0.0.1:${peerPort}`,
        '--http',
        `127.0.0.1:${httpPort}`,
        '--data',
        data,
        '--engine',
        'lmdb',
        '--log-level',
        'warn',
      ],
      { stdio: ['pipe', 'pipe', 'pipe'], env: environment },
    );
    let output = '';
    let exit: string | undefined;
    watchChild(
      child,
      (text) => void (output += text),
      (description) => void (exit = description),
    );
    try {
      await eventually(
        'the node to answer /health',
        async () => {
          if (exit !== undefined) throw new Error(`the node exited (${exit}): ${output}`);
          return (await request(`${url}/health`, { fetchTimeoutMs: 1000 }).catch(() => undefined))?.status === 200
            ? true
            : undefined;
        },
        { timeoutMs: 30_000 },
      );
      const serves = async (round: string): Promise<void> => {
        const written = await request(`${url}/buckets/b/keys/${round}`, {
          method: 'PUT',
          headers: { 'content-type': 'text/plain' },
          body: round,
        });
        assert.equal(written.status, 204, `${round}: ${written.text}`);
        const read = await request(`${url}/buckets/b/keys/${round}`);
        assert.equal(read.text, round);
      };
      await serves('before');
      for (const failure of ['timer', 'rejection']) {
        child.stdin?.write(`${failure}\n`);
        await eventually(
          `the ${failure} failure to be logged`,
          async () =>
            output.includes(`injected ${failure}`) &&
            output.split('a background task failed; the node keeps serving').length > (failure === 'timer' ? 1 : 2)
              ? true
              : undefined,
          { timeoutMs: 10_000 },
        );
        await sleep(200);
        assert.equal(exit, undefined, `the node is still running after the ${failure} failure: ${output}`);
        await serves(`after-${failure}`);
      }
      assert.match(output, /"kind":"uncaught exception".*"error":"injected: a timer task failed"/);
      assert.match(output, /"kind":"unhandled rejection".*"error":"injected: a promise nobody awaited was rejected"/);

      child.stdin?.write('invariant\n');
      await eventually(
        'the node to exit after a broken invariant',
        async () => (exit !== undefined ? true : undefined),
        { timeoutMs: 20_000 },
      );
      assert.equal(exit, 'exit code 70', output);
      assert.match(
        output,
        /a broken invariant \(a bug\) in a background task: stopping the node without a clean-stop mark/,
      );
      assert.match(output, /node stopped after a broken invariant; exiting/);
    } finally {
      await killChild(child);
      rmSync(data, { recursive: true, force: true });
    }
  },
);
