// Why: some tests need a real environment the machine may lack (network namespaces, iptables,
// libfaketime, redis-tools, chromium, FUSE). On a developer's machine such a test may skip, saying
// why; under CI (CI=true) a skip would turn a missing environment into a green build that proved
// nothing, so there the test runs and fails with the reason instead. Every test that depends on
// the environment goes through `testNeeding`, the one place this rule lives.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';

/** CI=true (or 1): a missing environment fails instead of skipping. */
export function ciForbidsSkips(environment: NodeJS.ProcessEnv = process.env): boolean {
  const value = environment.CI?.toLowerCase();
  return value === 'true' || value === '1';
}

/** Why `tool` cannot be run (with the Debian package that brings it), or undefined when it can. */
export function missingTool(
  tool: string,
  debianPackage: string,
  versionArguments: readonly string[] = ['--version'],
): string | undefined {
  const probe = spawnSync(tool, versionArguments, { encoding: 'utf8', timeout: 10_000 });
  return probe.error === undefined && probe.status === 0
    ? undefined
    : `${tool} is not installed (apt-get install -y ${debianPackage})`;
}

/** The failure CI reports for a test whose environment is missing. */
export function missingEnvironmentMessage(name: string, missing: string): string {
  return `"${name}" cannot run its real environment and CI=true forbids skipping it: ${missing}`;
}

type TestBody = (context: TestContext) => void | Promise<void>;

/**
 * Declares a test that needs an environment. `missing` is undefined when it is there; otherwise
 * it says why not: the test is skipped with that reason printed, or under CI=true it fails with it.
 */
export function testNeeding(
  missing: string | undefined,
  name: string,
  options: { timeout?: number },
  body: TestBody,
): void {
  if (missing === undefined) {
    test(name, options, body);
  } else if (ciForbidsSkips()) {
    test(name, options, () => assert.fail(missingEnvironmentMessage(name, missing)));
  } else {
    console.log(`skipped "${name}": ${missing}`);
    test(name, { ...options, skip: missing }, body);
  }
}
