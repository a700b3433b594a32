#!/usr/bin/env node
// Why: the `everwrite` command. An installed package runs the JavaScript that `npm run build` put in
// dist/ (built by `prepare` on npm install and npm pack), with production dependencies only. A
// checkout runs the TypeScript sources through tsx (a devDependency) when EVERWRITE_FROM_SOURCE=1
// (the test runner sets it, so tests never run a stale dist/) or when dist/ was never built.
import { existsSync } from 'node:fs';

const built = new URL('../dist/cli/main.js', import.meta.url);
const sources = new URL('../src/cli/main.ts', import.meta.url);
if (existsSync(sources) && (process.env.EVERWRITE_FROM_SOURCE === '1' || !existsSync(built))) {
  const { register } = await import('tsx/esm/api');
  register();
  await import(sources.href);
} else {
  await import(built.href);
}
