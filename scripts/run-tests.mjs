#!/usr/bin/env node
// Why: Node 20's `node --test` neither expands quoted globs nor finds .ts files by itself,
// so this collects every test/**/*.test.ts explicitly and hands the list to the runner.
// Usage: node scripts/run-tests.mjs [folder-or-file ...]   (default: test/)
import { readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { spawnSync } from 'node:child_process';

function collect(path, out) {
  if (statSync(path).isDirectory()) {
    for (const name of readdirSync(path).sort()) collect(join(path, name), out);
  } else if (path.endsWith('.test.ts')) {
    out.push(path);
  }
  return out;
}

const roots = process.argv.slice(2);
const files = (roots.length ? roots : ['test']).flatMap((root) => collect(resolve(root), []));
if (files.length === 0) {
  console.error('run-tests: no test files found');
  process.exit(1);
}
const concurrency = process.env.TEST_CONCURRENCY ?? '2';
const result = spawnSync(process.execPath, ['--import', 'tsx', '--test', `--test-concurrency=${concurrency}`, '--test-timeout=300000', ...files], { stdio: 'inherit' });
process.exit(result.status ?? 1);
