// Why: more than one test runs documented examples against a real cluster (the open cluster of
// test/integration/documented-examples.test.ts, and the TLS cluster with users of
// test/integration/documented-security-examples.test.ts, kept apart so switching authentication on
// does not change what every later example answers). Each moves the docs' addresses to its own
// ports; the rest is the same and lives here: running a transcript step on a terminal and comparing
// it with the docs, and running a script that must succeed. With EVERWRITE_DOCS_RECORD=1 each
// step's real output is printed, for rewriting an example after a deliberate change.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { compareOutput, parseTranscript, type DocExample, type TokenBindings } from './doc-examples.ts';

const stepTimeoutMs = 60_000;
/**
 * The marker condition of the examples that switch authentication on (docs/OPERATIONS.md's users):
 * run only by test/integration/documented-security-examples.test.ts, on its own TLS cluster.
 */
export const securedCluster = 'secured cluster';
export const recording = process.env.EVERWRITE_DOCS_RECORD === '1';

export interface ExampleRunSetting {
  /** Where commands run. */
  readonly cwd: string;
  readonly env: NodeJS.ProcessEnv;
  /** The docs' addresses (and names) moved to the test's, in a command or script. */
  toTest(text: string): string;
  /** The reverse, in output, so it compares with the docs. */
  toDocumented(text: string): string;
}

export function where(example: DocExample, detail: string): string {
  return `${example.file}:${example.line} ${detail}`;
}

/** Runs a bash script with stdout and stderr interleaved; bounded in time. */
export function runShell(
  script: string,
  setting: Pick<ExampleRunSetting, 'cwd' | 'env'>,
): { output: string; status: number | null } {
  const run = spawnSync('bash', ['-c', `exec 2>&1\n${script}`], {
    cwd: setting.cwd,
    env: setting.env,
    encoding: 'utf8',
    timeout: stepTimeoutMs,
    maxBuffer: 16 * 1024 * 1024,
  });
  return { output: run.stdout ?? '', status: run.status };
}

/** Runs one transcript command on a terminal (util-linux `script` gives it a pty), as the docs show it typed. */
function runOnTerminal(command: string, setting: ExampleRunSetting): string {
  const run = spawnSync('script', ['-qec', command, '/dev/null'], {
    cwd: setting.cwd,
    env: { ...setting.env, SHELL: '/bin/bash' },
    encoding: 'utf8',
    timeout: stepTimeoutMs,
    maxBuffer: 16 * 1024 * 1024,
  });
  return run.stdout ?? '';
}

/**
 * Runs a transcript step by step, each output compared with the docs'. When recording, every step
 * runs and prints, and the first line of each difference goes to `differences` (the caller fails).
 */
export function runTranscript(
  example: DocExample,
  bindings: TokenBindings,
  setting: ExampleRunSetting,
  differences: string[],
): void {
  for (const step of parseTranscript(example.text)) {
    const received = setting.toDocumented(runOnTerminal(setting.toTest(bindings.substitute(step.command)), setting));
    const at = where(example, `$ ${step.command}`);
    if (!recording) {
      compareOutput(step.expected, received, bindings, at);
      continue;
    }
    console.log(`$ ${step.command}\n${received}`);
    try {
      compareOutput(step.expected, received, bindings, at);
    } catch (error) {
      differences.push((error as Error).message.split('\n')[0] as string);
    }
  }
}

/** Runs an `sh` block as one script under `set -euo pipefail`: it must succeed. */
export function runScript(example: DocExample, setting: ExampleRunSetting): void {
  const { output, status } = runShell(`set -euo pipefail\n${setting.toTest(example.text)}`, setting);
  if (recording) console.log(output);
  assert.equal(status, 0, `${where(example, 'sh block')} failed:\n${output}`);
}
