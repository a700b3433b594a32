// Why: scripts drive `everwrite` through its exit codes, stderr and --json, so the conventions the
// README documents ("Exit codes") are checked on the real bin as a separate process, against a real
// HTTP server over the fake service: --version, 0 ok, 1 error, 2 usage, 3 not found, 4 unreachable or
// quorum not met, one `everwrite: ` error line style, and EVERWRITE_NODE as --node's default.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { EverwriteError } from '../../src/core/base/errors.ts';
import { binPath } from '../../src/server/bin.ts';
import { startHarness, type Harness } from '../unit/api/http/http-harness.ts';

interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

let harness: Harness;
let stoppedNode: string;

before(async () => {
  harness = await startHarness();
  const stopped = await startHarness();
  stoppedNode = stopped.base;
  await stopped.close();
});

after(() => harness?.close());

/** Runs the bin from the sources (bounded to 30 s); EVERWRITE_NODE only when given. */
function everwrite(args: readonly string[], environment: Record<string, string> = {}): Promise<CliResult> {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    EVERWRITE_FROM_SOURCE: '1',
    EVERWRITE_NODE: undefined,
    ...environment,
  };
  return new Promise((resolve) => {
    execFile(process.execPath, [binPath, ...args], { env, timeout: 30_000 }, (error, stdout, stderr) => {
      resolve({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : -1, stdout, stderr });
    });
  });
}

function assertOneErrorLine(result: CliResult, pattern: RegExp): void {
  const lines = result.stderr.trimEnd().split('\n');
  assert.match(lines[0] ?? '', /^everwrite: /, `the error line starts with "everwrite: " (stderr: ${result.stderr})`);
  assert.match(result.stderr, pattern);
  assert.ok(
    lines.every(
      (line) => line.startsWith('everwrite: ') || line === '(add --help for usage)' || line.startsWith('context: '),
    ),
    `every stderr line has the one style: ${result.stderr}`,
  );
}

test('--version prints the package version and exits 0', { timeout: 40_000 }, async () => {
  const version = (
    JSON.parse(readFileSync(fileURLToPath(new URL('../../package.json', import.meta.url)), 'utf8')) as {
      version: string;
    }
  ).version;
  const result = await everwrite(['--version']);
  assert.equal(result.code, 0);
  assert.equal(result.stdout.trim(), version);
});

test('a wrong command line exits 2 with one error line, before anything is sent', { timeout: 120_000 }, async () => {
  for (const args of [
    ['bogus'],
    ['get', 'only-bucket'],
    ['get', 'b', 'k', '--nonsense'],
    ['put', 'b', 'k', 'v', '--w', '0'],
    ['get', 'b', 'k', '--node', 'ftp://x'],
    ['put', 'b', 'k', '--node', harness.base],
    ['ring', '--strategy', '9'],
    ['chaos', '--nemesis', 'members'],
  ]) {
    const calls = harness.fake.calls.length;
    const result = await everwrite(args);
    assert.equal(result.code, 2, `${args.join(' ')}: exit code (stderr: ${result.stderr})`);
    assertOneErrorLine(result, /./);
    assert.equal(harness.fake.calls.length, calls, `${args.join(' ')}: nothing reached the node`);
  }
});

test('ok is 0, not found 3, quorum not met 4, unreachable 4, a refused request 1', { timeout: 120_000 }, async () => {
  const put = await everwrite(['put', 'b', 'k', 'v', '--json', '--node', harness.base]);
  assert.equal(put.code, 0, put.stderr);
  assert.deepEqual(Object.keys(JSON.parse(put.stdout) as object), ['context']);
  const missing = await everwrite(['get', 'b', 'absent', '--json', '--node', harness.base]);
  assert.equal(missing.code, 3);
  assert.deepEqual(JSON.parse(missing.stdout), { context: '', siblings: [] });
  assertOneErrorLine(missing, /EVERWRITE_NOT_FOUND/);
  harness.fake.failNext(
    'put',
    new EverwriteError('EVERWRITE_QUORUM_NOT_MET', '1 of 2 replicas acknowledged', { answered: 1 }),
  );
  const quorum = await everwrite(['put', 'b', 'k', 'v', '--node', harness.base]);
  assert.equal(quorum.code, 4);
  assertOneErrorLine(quorum, /EVERWRITE_QUORUM_NOT_MET, HTTP 503/);
  const unreachable = await everwrite(['get', 'b', 'k', '--node', stoppedNode]);
  assert.equal(unreachable.code, 4);
  assertOneErrorLine(unreachable, /cannot reach .*ECONNREFUSED/);
  const unreachableStatus = await everwrite(['cluster', 'status', '--node', stoppedNode]);
  assert.equal(unreachableStatus.code, 4, unreachableStatus.stderr);
  assertOneErrorLine(unreachableStatus, /cluster status: cannot reach the node/);
  const refused = await everwrite(['delete', 'b', 'k', '--context', 'nonsense', '--node', harness.base]);
  assert.equal(refused.code, 1);
  assertOneErrorLine(refused, /EVERWRITE_BAD_CONTEXT, HTTP 400/);
});

test('EVERWRITE_NODE is the default --node, checked like the flag', { timeout: 60_000 }, async () => {
  const written = await everwrite(['put', 'b', 'from-env', 'v'], { EVERWRITE_NODE: harness.base });
  assert.equal(written.code, 0, written.stderr);
  assert.equal(harness.fake.calls.at(-1)?.key, 'from-env');
  const bad = await everwrite(['get', 'b', 'k'], { EVERWRITE_NODE: 'not a url' });
  assert.equal(bad.code, 2);
  assertOneErrorLine(bad, /EVERWRITE_NODE/);
});
