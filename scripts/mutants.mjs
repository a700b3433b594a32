#!/usr/bin/env node
// Why: a green suite is worth what it catches. Each deliberate breakage (a mutant) we once used to
// show a gap is kept as a patch with the tests that must catch it (test/mutants/mutants.json). This
// applies each patch to a scratch copy of the working tree (a temp dir; the checkout itself is
// never touched), runs the named tests there, and fails if any mutant survives (its tests pass) or
// no longer applies. Tests that start node processes run under the shared process lock.
// Usage: npm run mutants [-- name ...]   (default: every mutant)
import { cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync, realpathSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { spawnSync } from 'node:child_process';

const root = resolve(new URL('..', import.meta.url).pathname);
const manifest = JSON.parse(readFileSync(join(root, 'test/mutants/mutants.json'), 'utf8'));
const timeoutMs = 20 * 60 * 1000;
const lockFile = '/tmp/everwrite-procs.lock';

/** The tracked and untracked (not ignored) files of the working tree, as it stands. */
function workingTreeFiles() {
  const listed = spawnSync('git', ['ls-files', '--cached', '--others', '--exclude-standard', '-z'], {
    cwd: root,
    encoding: 'utf8',
  });
  if (listed.status !== 0) throw new Error(`git ls-files failed: ${listed.stderr}`);
  return listed.stdout.split('\0').filter((path) => path !== '' && path !== 'node_modules');
}

function scratchCopy() {
  const directory = mkdtempSync(join(tmpdir(), 'everwrite-mutant-'));
  for (const path of workingTreeFiles()) {
    try {
      cpSync(join(root, path), join(directory, path), { recursive: false });
    } catch (error) {
      if (error.code !== 'ENOENT') throw error; // deleted in the working tree, not yet in git
    }
  }
  symlinkSync(realpathSync(join(root, 'node_modules')), join(directory, 'node_modules'));
  return directory;
}

const needsLock = (test) => /^test\/(integration|chaos)\//.test(test);

/** Runs one mutant: 'killed', 'survived', 'broken' (the patch does not apply) or 'inconclusive' (timed out). */
function runMutant(mutant) {
  const directory = scratchCopy();
  try {
    const applied = spawnSync('git', ['apply', join(root, 'test/mutants', mutant.patch)], {
      cwd: directory,
      encoding: 'utf8',
    });
    if (applied.status !== 0) return { outcome: 'broken', detail: applied.stderr.trim() };
    const command = [process.execPath, 'scripts/run-tests.mjs', ...mutant.tests];
    const [file, ...args] = mutant.tests.some(needsLock) ? ['flock', lockFile, ...command] : command;
    const started = Date.now();
    const run = spawnSync(file, args, {
      cwd: directory,
      encoding: 'utf8',
      timeout: timeoutMs,
      env: { ...process.env, ...mutant.env, CI: '' },
      maxBuffer: 256 * 1024 * 1024,
    });
    const seconds = Math.round((Date.now() - started) / 1000);
    const last = (run.stdout ?? '').trim().split('\n').pop() ?? '';
    // A run cut short proves nothing either way: the mutant must be caught by a failing assertion.
    if (run.error !== undefined) return { outcome: 'inconclusive', detail: `${run.error.message} after ${seconds} s` };
    if (run.status !== 0 && /testTimeoutFailure/.test(run.stdout ?? ''))
      return { outcome: 'inconclusive', detail: `a test timed out: ${last} (${seconds} s)` };
    return { outcome: run.status === 0 ? 'survived' : 'killed', detail: `${last} (${seconds} s)` };
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
}

const only = process.argv.slice(2);
const chosen = manifest.filter((mutant) => only.length === 0 || only.includes(mutant.name));
if (chosen.length === 0) {
  console.error(`mutants: none chosen; known: ${manifest.map((mutant) => mutant.name).join(', ')}`);
  process.exit(1);
}
let failures = 0;
for (const mutant of chosen) {
  console.log(
    `mutant ${mutant.name}: ${mutant.what}\n  tests: ${mutant.tests.join(' ')}${mutant.env ? ` env ${JSON.stringify(mutant.env)}` : ''}`,
  );
  const { outcome, detail } = runMutant(mutant);
  console.log(`  ${outcome.toUpperCase()}: ${detail}`);
  if (outcome !== 'killed') failures++;
}
console.log(
  `mutants: ${chosen.length}, killed ${chosen.length - failures}, survived, broken or inconclusive ${failures}`,
);
process.exit(failures === 0 ? 0 : 1);
