// Why: a documented example that no longer matches the code misleads exactly the reader who trusts
// the docs most. Every fenced block marked `<!-- checked-example -->` in docs/API.md, docs/CLIENT.md
// and README.md is run here against one real 3-node cluster, in that order and in document order, and its documented
// output is compared with the real one (test/support/doc-examples.ts): transcripts (`$ command`
// then its output) step by step, `sh` blocks as one script that must succeed, `ts` blocks as a
// program that must run to its end. The docs' addresses (HTTP 800i, peers 700i, RESP 638i) are
// moved to this test's port band: peers 45301-45303, HTTP 45401-45403, RESP 45451-45453, and
// 8009 (meant to be unreachable) to 45409. With EVERWRITE_DOCS_RECORD=1 each step's real output is
// printed, for rewriting an example after a deliberate change.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ClusterFixture } from '../support/cluster-fixture.ts';
import { compareOutput, extractExamples, parseTranscript, TokenBindings, type DocExample } from '../support/doc-examples.ts';
import { missingTool, testNeeding } from '../support/environment.ts';

const repository = fileURLToPath(new URL('../../', import.meta.url));
const peerPortBase = 45_300;
const httpPortBase = 45_400;
const respPortBase = 45_450;
const stepTimeoutMs = 60_000;
const recording = process.env.EVERWRITE_DOCS_RECORD === '1';

let fixture: ClusterFixture;
const recordedDifferences: string[] = [];
let shimDirectory: string;

before(async () => {
  fixture = await ClusterFixture.start({ name: 'documented-examples', portBase: peerPortBase, httpPortBase, respPortBase, engine: 'memory' });
  // `everwrite` in an example runs this checkout's CLI, as `npx everwrite` does in an installed package.
  shimDirectory = mkdtempSync(join(tmpdir(), 'everwrite-doc-shim-'));
  const shim = join(shimDirectory, 'everwrite');
  writeFileSync(shim, `#!/bin/sh\nexec "${process.execPath}" "${join(repository, 'bin/everwrite.mjs')}" "$@"\n`);
  chmodSync(shim, 0o755);
}, { timeout: 60_000 });

after(async () => {
  await fixture?.stop();
  if (shimDirectory !== undefined) rmSync(shimDirectory, { recursive: true, force: true });
}, { timeout: 30_000 });

/** The docs' addresses moved into this test's band, and `npx everwrite` to the checkout's CLI. */
function toTestPorts(text: string): string {
  return text
    .replace(/127\.0\.0\.1:800(\d)/g, (_, index: string) => `127.0.0.1:${httpPortBase + Number(index)}`)
    .replace(/127\.0\.0\.1:700(\d)/g, (_, index: string) => `127.0.0.1:${peerPortBase + Number(index)}`)
    .replace(/-p 638(\d)/g, (_, index: string) => `-p ${respPortBase + Number(index)}`)
    .replace(/\bnpx everwrite\b/g, 'everwrite')
    .replace(/from 'everwrite'/g, `from '${join(repository, 'src/index.ts')}'`);
}

/** The reverse, so output compares with the docs' addresses. */
function toDocumentedPorts(text: string): string {
  return text
    .replace(new RegExp(`127\\.0\\.0\\.1:${httpPortBase / 100}(0\\d)`, 'g'), (_, index: string) => `127.0.0.1:800${Number(index)}`)
    .replace(new RegExp(`127\\.0\\.0\\.1:${peerPortBase / 100}(0\\d)`, 'g'), (_, index: string) => `127.0.0.1:700${Number(index)}`);
}

function environment(): NodeJS.ProcessEnv {
  return { ...process.env, PATH: `${shimDirectory}:${process.env.PATH ?? ''}`, EVERWRITE_NODE: `http://127.0.0.1:${httpPortBase + 1}`, NO_COLOR: '1' };
}

/** Runs a bash script with stdout and stderr interleaved; bounded in time. */
function runShell(script: string): { output: string; status: number | null } {
  const run = spawnSync('bash', ['-c', `exec 2>&1\n${script}`], { cwd: repository, env: environment(), encoding: 'utf8', timeout: stepTimeoutMs, maxBuffer: 16 * 1024 * 1024 });
  return { output: run.stdout ?? '', status: run.status };
}

/** Runs one transcript command on a terminal (util-linux `script` gives it a pty), as the docs show it typed. */
function runOnTerminal(command: string): string {
  const run = spawnSync('script', ['-qec', command, '/dev/null'], { cwd: repository, env: { ...environment(), SHELL: '/bin/bash' }, encoding: 'utf8', timeout: stepTimeoutMs, maxBuffer: 16 * 1024 * 1024 });
  return run.stdout ?? '';
}

function where(example: DocExample, detail: string): string {
  return `${example.file}:${example.line} ${detail}`;
}

function runTranscript(example: DocExample, bindings: TokenBindings): void {
  for (const step of parseTranscript(example.text)) {
    const command = toTestPorts(bindings.substitute(step.command));
    const received = toDocumentedPorts(runOnTerminal(command));
    if (!recording) {
      compareOutput(step.expected, received, bindings, where(example, `$ ${step.command}`));
      continue;
    }
    console.log(`$ ${step.command}\n${received}`);
    try {
      compareOutput(step.expected, received, bindings, where(example, `$ ${step.command}`));
    } catch (error) {
      // Recording goes on past a difference, so one run shows every step; the test still fails.
      recordedDifferences.push((error as Error).message.split('\n')[0] as string);
    }
  }
}

function runScript(example: DocExample): void {
  const { output, status } = runShell(`set -euo pipefail\n${toTestPorts(example.text)}`);
  if (recording) console.log(output);
  assert.equal(status, 0, `${where(example, 'sh block')} failed:\n${output}`);
}

function runProgram(example: DocExample): void {
  const directory = mkdtempSync(join(tmpdir(), 'everwrite-doc-ts-'));
  try {
    const file = join(directory, 'example.mts');
    writeFileSync(file, toTestPorts(example.text));
    const run = spawnSync(process.execPath, ['--import', 'tsx', file], { cwd: repository, env: environment(), encoding: 'utf8', timeout: stepTimeoutMs });
    if (recording) console.log(run.stdout, run.stderr);
    assert.equal(run.status, 0, `${where(example, 'ts block')} did not run to its end:\n${run.stdout}\n${run.stderr}`);
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
}

function runExamples(file: string): number {
  const examples = extractExamples(file, readFileSync(join(repository, file), 'utf8'));
  const bindings = new TokenBindings();
  for (const example of examples) {
    if (example.language === 'sh') runScript(example);
    else if (example.language === 'ts') runProgram(example);
    else runTranscript(example, bindings);
  }
  if (recording) console.log(JSON.stringify({ file, bindings: bindings.entries() }));
  assert.deepEqual(recordedDifferences, [], 'recorded outputs that differ from the docs');
  return examples.length;
}

const redisCliMissing = missingTool('redis-cli', 'redis-tools');
const terminalMissing = missingTool('script', 'util-linux', ['--version']);

testNeeding(terminalMissing, 'docs/API.md examples answer what the docs show on a real cluster', { timeout: 300_000 }, () => {
  assert.ok(runExamples('docs/API.md') >= 5, 'docs/API.md has its checked examples');
});

test('docs/CLIENT.md examples run to their end on a real cluster', { timeout: 180_000 }, () => {
  assert.ok(runExamples('docs/CLIENT.md') >= 1, 'docs/CLIENT.md has a checked example');
});

testNeeding(redisCliMissing, 'the README tour\'s data commands run against a real cluster', { timeout: 180_000 }, () => {
  assert.ok(runExamples('README.md') >= 1, 'README.md has a checked example');
  // The tour says the context write "supersedes both": one value is left.
  const read = JSON.parse(runShell('everwrite get carts alice --json').output) as { siblings: Array<{ value: string }> };
  assert.deepEqual(read.siblings.map((sibling) => Buffer.from(sibling.value, 'base64').toString('utf8')), ['apple,pear']);
});
