// Why: unit and property tests live where the code they test lives (test/unit/core/node/x.test.ts
// for src/core/node/x.ts), so a change has one obvious room for its tests and a reader finds them
// without a search. This fails when a test is added under a folder src/ does not have.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const repositoryRoot = fileURLToPath(new URL('../../../', import.meta.url));

/** Every *.test.ts under `directory`, as paths relative to the repository. */
function testFiles(directory: string): string[] {
  const found: string[] = [];
  for (const name of readdirSync(directory)) {
    const path = join(directory, name);
    if (statSync(path).isDirectory()) found.push(...testFiles(path));
    else if (name.endsWith('.test.ts')) found.push(relative(repositoryRoot, path));
  }
  return found;
}

/** The src/ folder a test under test/<kind>/ mirrors, or undefined for the tests of test/support. */
function mirroredSourceFolder(testPath: string, kind: string): string | undefined {
  const folder = relative(join('test', kind), dirname(testPath));
  if (kind === 'unit' && (folder === 'support' || folder.startsWith('support/'))) return undefined;
  return join('src', folder);
}

for (const kind of ['unit', 'property']) {
  test(`every test under test/${kind}/ sits in a folder that mirrors one of src/`, () => {
    const misplaced = testFiles(join(repositoryRoot, 'test', kind)).filter((path) => {
      const source = mirroredSourceFolder(path, kind);
      return source !== undefined && (source === 'src' || !existsSync(join(repositoryRoot, source)));
    });
    assert.deepEqual(misplaced, [], `move each to test/${kind}/<the src/ folder of the code it tests>/`);
  });
}
