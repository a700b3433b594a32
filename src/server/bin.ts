// Why: whatever starts `everwrite` child processes (local clusters, the chaos test's nodes) must run
// the same code it is itself running: from a checkout's TypeScript sources (through tsx) or from the
// built JavaScript in dist/. This says where the bin is and which of the two the children get.
import { fileURLToPath } from 'node:url';

/** True when this module was loaded as TypeScript (tsx), false when it runs from dist/. */
export const runningFromSource = import.meta.url.endsWith('.ts');

/** bin/everwrite.mjs, the same path from src/cli and from dist/cli. */
export const binPath = fileURLToPath(new URL('../../bin/everwrite.mjs', import.meta.url));

/** The environment for an `everwrite` child: EVERWRITE_FROM_SOURCE=1 when we run from sources (bin/everwrite.mjs reads it). */
export function binEnvironment(environment: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  return runningFromSource ? { ...environment, EVERWRITE_FROM_SOURCE: '1' } : environment;
}

/**
 * The node arguments that run the sibling module `name` of `moduleUrl` (given without extension):
 * through tsx from sources, directly from dist/.
 */
export function siblingModuleArguments(moduleUrl: string, name: string): string[] {
  const path = fileURLToPath(new URL(`./${name}${runningFromSource ? '.ts' : '.js'}`, moduleUrl));
  return runningFromSource ? ['--import', 'tsx', path] : [path];
}
