// Why: `everwrite bench --target` is how a secured cluster (users, decision 0025; TLS, decision 0026)
// gets measured, so it must carry the CLI's credentials from the environment and trust --ca over
// every way it speaks: HTTP (node-http and fetch), RESP (AUTH inside TLS) and the TypeScript client.
// Real processes: three `everwrite start` nodes with TLS on every port and users, on ports the OS
// hands out, and the bench as the CLI a user runs. Without credentials, with a user lacking a role
// or without --ca, the bench must end at once with one error line saying what to set. Runs are 2 s.
import { after, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { binEnvironment, binPath } from '../../src/server/bin.ts';
import { fetchDispatcherTrusting } from '../../src/io/fetch-trust.ts';
import { eventually, killChild, watchChild } from '../support/cluster-fixture.ts';
import { createTestCa, missingOpenssl, type TestCa } from '../support/test-ca.ts';
import { testNeeding } from '../support/environment.ts';
import { freePorts } from '../support/free-port.ts';

const missing = missingOpenssl();
const ports = await freePorts(9);
const peerPort = (index: number): number => ports[3 * (index - 1)] as number;
const httpPort = (index: number): number => ports[3 * (index - 1) + 1] as number;
const respPort = (index: number): number => ports[3 * (index - 1) + 2] as number;
const host = '127.0.0.1';
const indexes = [1, 2, 3];
const targets = indexes.map((index) => `https://${host}:${httpPort(index)}`).join(',');
const respTargets = indexes.map((index) => `${host}:${respPort(index)}`).join(',');
const admin = { user: 'ops', password: 'ops-password-long-1' };
const bencher = { user: 'bencher', password: 'bencher-password-1' };
const reader = { user: 'reader', password: 'reader-password-1' };
/** The bench's default props, set beforehand on the RESP bucket so a read/write user can bench it. */
const benchProps = { n: 3, r: 2, w: 2, durability: 'durable', resolver: 'lww' };
const testTimeout = { timeout: 90_000 };

let directory: string;
let ca: TestCa;
let dispatcher: object;
let benchToken: string;
const children: ChildProcess[] = [];
const outputs: string[] = [];

function basic(credentials: { user: string; password: string }): string {
  return `Basic ${Buffer.from(`${credentials.user}:${credentials.password}`).toString('base64')}`;
}

/** One HTTPS call trusting the test CA, bounded in time. */
async function call(index: number, path: string, method = 'GET', body?: unknown, authorization?: string) {
  const response = await fetch(`https://${host}:${httpPort(index)}${path}`, {
    method,
    headers: authorization === undefined ? {} : { authorization },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    signal: AbortSignal.timeout(10_000),
    dispatcher,
  } as RequestInit);
  const text = await response.text();
  return { status: response.status, text };
}

function spawnNode(index: number, secretFile: string): void {
  const files = ca.issue(`n${index}`);
  const seeds = indexes
    .map(
      (other) => `n${other}@${host}:${peerPort(other)};http=${host}:${httpPort(other)};resp=${host}:${respPort(other)}`,
    )
    .join(',');
  const child = spawn(
    process.execPath,
    [
      binPath,
      'start',
      '--node-id',
      `n${index}`,
      '--listen',
      `${host}:${peerPort(index)}`,
      '--http',
      `${host}:${httpPort(index)}`,
      '--resp',
      `${host}:${respPort(index)}`,
      '--seeds',
      seeds,
      '--engine',
      'memory',
      '--secret-file',
      secretFile,
      '--log-level',
      'warn',
      '--tls-cert-file',
      files.certFile,
      '--tls-key-file',
      files.keyFile,
      '--tls-ca-file',
      ca.caFile,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'], env: binEnvironment() },
  );
  children.push(child);
  watchChild(
    child,
    (text) => (outputs[index] = `${outputs[index] ?? ''}${text}`.slice(-8000)),
    () => undefined,
  );
}

interface BenchRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly elapsedMs: number;
}

/** Runs `everwrite <args>` with only `environment`'s EVERWRITE_* variables, bounded at 60 s. */
function everwrite(args: readonly string[], environment: Record<string, string>): Promise<BenchRun> {
  const clean: NodeJS.ProcessEnv = { ...process.env };
  for (const name of Object.keys(clean)) if (name.startsWith('EVERWRITE_')) delete clean[name];
  const started = performance.now();
  const child = spawn(process.execPath, [binPath, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: binEnvironment({ ...clean, ...environment }),
    timeout: 60_000,
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  return new Promise((resolve) =>
    child.once('close', (code) => resolve({ code, stdout, stderr, elapsedMs: performance.now() - started })),
  );
}

const shortRun = ['--duration', '2', '--clients', '4', '--records', '200', '--value-size', '100', '--no-progress'];
/** A short bench over RESP against the TLS cluster (each caller says where --ca goes). */
const respRun = ['--target', targets, '--protocol', 'resp', '--resp-target', respTargets, ...shortRun];

function credentialsOf(user: { user: string; password: string }): Record<string, string> {
  return { EVERWRITE_USER: user.user, EVERWRITE_PASSWORD: user.password };
}

/** A run that must succeed: operations done, none failed. */
function assertMeasured(run: BenchRun): void {
  assert.equal(run.code, 0, `${run.stderr}\n${run.stdout}`);
  const result = JSON.parse(run.stdout) as {
    load: { errors: number };
    operations: Record<string, { ok: number }>;
    errors: { total: number; byKind: Record<string, number> };
  };
  assert.equal(result.load.errors, 0);
  assert.equal(result.errors.total, 0, JSON.stringify(result.errors.byKind));
  assert.ok((result.operations['read']?.ok ?? 0) > 0 && (result.operations['update']?.ok ?? 0) > 0, run.stdout);
}

async function addUser(name: string, body: Record<string, unknown>, authorization?: string): Promise<string> {
  const answer = await call(1, `/admin/users/${name}`, 'PUT', body, authorization);
  assert.equal(answer.status, 200, answer.text);
  return answer.text;
}

before(
  async () => {
    if (missing !== undefined) return;
    directory = mkdtempSync(join(tmpdir(), 'everwrite-bench-secured-'));
    ca = createTestCa('bench');
    dispatcher = await fetchDispatcherTrusting(readFileSync(ca.caFile));
    const secretFile = join(directory, 'cluster.secret');
    writeFileSync(secretFile, 'bench secured test secret, 32+ bytes long');
    for (const index of indexes) spawnNode(index, secretFile);
    try {
      await eventually(
        'every node to answer over TLS',
        async () => {
          for (const index of indexes)
            if ((await call(index, '/health').catch(() => undefined))?.status !== 200) return;
          return true;
        },
        { timeoutMs: 60_000, intervalMs: 250 },
      );
      // The first user from the node's own machine turns authentication on (decision 0025).
      await addUser(admin.user, { roles: ['admin'], password: admin.password });
      const asAdmin = basic(admin);
      await addUser(bencher.user, { roles: ['read', 'write'], password: bencher.password }, asAdmin);
      await addUser(reader.user, { roles: ['read'], password: reader.password }, asAdmin);
      benchToken = (
        JSON.parse(await addUser('bench-token', { roles: ['read', 'write'], token: true }, asAdmin)) as {
          tokenValue: string;
        }
      ).tokenValue;
      assert.equal((await call(1, '/buckets/redis/props', 'PUT', benchProps, asAdmin)).status, 200);
      await eventually(
        'every node to know the users and to refuse a request without credentials',
        async () => {
          for (const index of indexes) {
            if ((await call(index, '/buckets/bench/keys/k')).status !== 401) return;
            if ((await call(index, '/buckets/bench/keys/k', 'GET', undefined, basic(reader))).status !== 404) return;
            if ((await call(index, '/buckets/bench/keys/k', 'GET', undefined, `Bearer ${benchToken}`)).status !== 404)
              return;
          }
          return true;
        },
        { timeoutMs: 30_000, intervalMs: 250 },
      );
    } catch (error) {
      throw new Error(`${String(error)}\n${outputs.join('\n')}`);
    }
  },
  { timeout: 120_000 },
);

after(
  async () => {
    const stopped = await Promise.all(children.map((child) => killChild(child, 'SIGTERM')));
    await Promise.all(children.filter((_, position) => stopped[position] !== true).map((child) => killChild(child)));
    ca?.remove();
    if (directory !== undefined) rmSync(directory, { recursive: true, force: true });
  },
  { timeout: 30_000 },
);

testNeeding(
  missing,
  'an admin benches the TLS cluster over HTTP (node-http) with --ca, setting the props',
  testTimeout,
  async () => {
    assertMeasured(
      await everwrite(['bench', '--ca', ca.caFile, '--target', targets, ...shortRun, '--json'], credentialsOf(admin)),
    );
  },
);

testNeeding(
  missing,
  'a read/write user benches the prepared bucket over HTTP with fetch, trusting EVERWRITE_CA_FILE',
  testTimeout,
  async () => {
    assertMeasured(
      await everwrite(['bench', '--target', targets, '--http-client', 'fetch', ...shortRun, '--json'], {
        ...credentialsOf(bencher),
        EVERWRITE_CA_FILE: ca.caFile,
      }),
    );
  },
);

testNeeding(missing, 'a read/write user benches over RESP inside TLS, logging in with AUTH', testTimeout, async () => {
  assertMeasured(
    await everwrite(
      // --ca before the command, as a global option: the bench reads it there too.
      ['--ca', ca.caFile, 'bench', ...respRun, '--json'],
      credentialsOf(bencher),
    ),
  );
});

testNeeding(missing, 'a token benches through the TypeScript client with client routing', testTimeout, async () => {
  assertMeasured(
    await everwrite(
      [
        'bench',
        '--ca',
        ca.caFile,
        '--target',
        targets,
        '--protocol',
        'client',
        '--routing',
        'client',
        ...shortRun,
        '--json',
      ],
      { EVERWRITE_TOKEN: benchToken },
    ),
  );
});

testNeeding(
  missing,
  'without credentials, without --ca, or as a user without write, the bench ends with one line saying what to set',
  testTimeout,
  async () => {
    const anonymous = await everwrite(['bench', '--ca', ca.caFile, '--target', targets, ...shortRun], {});
    assert.equal(anonymous.code, 1, anonymous.stderr);
    assert.match(anonymous.stderr, /HTTP 401 EVERWRITE_UNAUTHENTICATED/);
    assert.match(anonymous.stderr, /set EVERWRITE_USER and EVERWRITE_PASSWORD \(or EVERWRITE_TOKEN\)/);
    assert.equal(anonymous.stdout, '', 'no report of a run that did not measure anything');

    const untrusting = await everwrite(['bench', '--target', targets, ...shortRun], credentialsOf(bencher));
    assert.equal(untrusting.code, 1, untrusting.stderr);
    assert.match(untrusting.stderr, /trust the cluster's CA with --ca FILE/);

    const readOnly = await everwrite(['bench', '--ca', ca.caFile, ...respRun], credentialsOf(reader));
    assert.equal(readOnly.code, 1, readOnly.stderr);
    assert.match(readOnly.stderr, /\(RESP NOPERM\).*lacks a role; the bench needs read and write on bucket redis/);
    // Stopped at the load phase's first refusal, well before the 2 s run would have ended.
    assert.doesNotMatch(readOnly.stderr, /load-phase writes failed/);
  },
);
