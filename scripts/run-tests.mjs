#!/usr/bin/env node
// Why: Node 20's `node --test` neither expands quoted globs nor finds .ts files by itself, so this
// collects every test/**/*.test.ts explicitly and hands the list to the runner. Tests run two files
// at a time, except the chaos test (five node processes and a workload in network namespaces),
// which runs alone afterwards so it never competes with other multi-process tests for the two
// cores. EVERWRITE_FROM_SOURCE=1 makes every `everwrite` the tests start run the TypeScript
// sources, never a dist/ built from older code (bin/everwrite.mjs). The last line totals both
// phases (a cancelled test, e.g. a file past its timeout, counts as
// failed), skips and todos included. Under CI=true a skipped or
// todo test fails the run: CI must not turn "could not run here" into green (tests that need an
// environment fail with the reason under CI=true, test/support/environment.ts; this catches any
// skip that does not go through it).
// Usage: node scripts/run-tests.mjs [folder-or-file ...]   (default: test/)
import { readdirSync, statSync } from 'node:fs';
import { join, resolve, sep } from 'node:path';
import { spawn } from 'node:child_process';

function collect(path, out) {
  if (statSync(path).isDirectory()) {
    for (const name of readdirSync(path).sort()) collect(join(path, name), out);
  } else if (path.endsWith('.test.ts')) {
    out.push(path);
  }
  return out;
}

/** Runs one `node --test` over `files`, echoing its output; resolves with its exit code and totals. */
function runPhase(files, concurrency) {
  return new Promise((resolvePhase) => {
    const args = ['--import', 'tsx', '--test', `--test-concurrency=${concurrency}`, '--test-timeout=600000', ...files];
    const child = spawn(process.execPath, args, {
      stdio: ['ignore', 'pipe', 'inherit'],
      env: { ...process.env, EVERWRITE_FROM_SOURCE: '1' },
    });
    let tail = '';
    child.stdout.on('data', (chunk) => {
      process.stdout.write(chunk);
      tail = (tail + chunk.toString('utf8')).slice(-4000);
    });
    child.on('close', (code) => {
      const count = (name) =>
        Number(
          /^# (?:\w+ )?(\d+)$/m.exec(
            tail
              .split('\n')
              .filter((line) => line.startsWith(`# ${name} `))
              .pop() ?? '',
          )?.[1] ?? 0,
        );
      resolvePhase({
        code: code ?? 1,
        passed: count('pass'),
        failed: count('fail') + count('cancelled'),
        skipped: count('skipped') + count('todo'),
      });
    });
  });
}

const roots = process.argv.slice(2);
const files = (roots.length ? roots : ['test']).flatMap((root) => collect(resolve(root), []));
if (files.length === 0) {
  console.error('run-tests: no test files found');
  process.exit(1);
}
const isChaos = (file) => file.includes(`${sep}test${sep}chaos${sep}`);
const concurrency = process.env.TEST_CONCURRENCY ?? '2';
const phases = [files.filter((file) => !isChaos(file)), files.filter(isChaos)].filter((phase) => phase.length > 0);
const totals = { code: 0, passed: 0, failed: 0, skipped: 0 };
for (const phase of phases) {
  const result = await runPhase(phase, phase.some(isChaos) ? '1' : concurrency);
  totals.code ||= result.code;
  totals.passed += result.passed;
  totals.failed += result.failed;
  totals.skipped += result.skipped;
}
const ci = ['true', '1'].includes((process.env.CI ?? '').toLowerCase());
if (ci && totals.skipped > 0) {
  console.error(
    `run-tests: ${totals.skipped} test(s) skipped or todo under CI=true; CI must run every test (see the reasons printed above)`,
  );
  totals.code ||= 1;
}
console.log(
  `tests: ${totals.passed} passed, ${totals.failed} failed, ${totals.skipped} skipped${ci ? ' (CI=true: skips fail the run)' : ''}`,
);
process.exit(totals.code);
