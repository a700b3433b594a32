// Why: users install Everwrite as a package, not as a checkout. This packs the repository the way
// `npm publish` would (which builds dist/ through `prepare`), installs the tarball into an empty
// project with production dependencies only (no tsx, no TypeScript), and there runs the `everwrite`
// bin as separate processes, imports the library from plain Node ESM, and type-checks a
// TypeScript consumer under `strict` against the shipped declarations.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { eventually, killChild, watchChild } from '../support/cluster-fixture.ts';
import { freePorts } from '../support/free-port.ts';

const repositoryRoot = fileURLToPath(new URL('../../', import.meta.url));
const typescriptCompiler = join(repositoryRoot, 'node_modules', 'typescript', 'bin', 'tsc');
const [peerPort, httpPort] = (await freePorts(2)) as [number, number];
const peerAddress = `127.0.0.1:${peerPort}`;
const httpUrl = `http://127.0.0.1:${httpPort}`;
/** Children run the installed package as a user would: no hint to run TypeScript sources. */
const environment: NodeJS.ProcessEnv = {
  ...process.env,
  EVERWRITE_FROM_SOURCE: undefined,
  EVERWRITE_NODE: undefined,
  EVERWRITE_SECRET: 'package-test-secret-0123456789abcdef',
};

let workDirectory: string;
let project: string;
let node: ChildProcess | undefined;

interface RunResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a command to completion (bounded by timeoutMs), never throwing on a non-zero exit. */
function run(file: string, args: readonly string[], options: { cwd: string; timeoutMs: number }): Promise<RunResult> {
  return new Promise((resolve) => {
    execFile(
      file,
      args,
      { cwd: options.cwd, env: environment, timeout: options.timeoutMs, maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === 'number' ? error.code : 1;
        resolve({
          code,
          stdout,
          stderr: `${stderr}${error !== null && typeof error.code !== 'number' ? `\n${error.message}` : ''}`,
        });
      },
    );
  });
}

function assertRan(result: RunResult, what: string): void {
  assert.equal(result.code, 0, `${what} exited ${result.code}:\n${result.stdout}\n${result.stderr}`);
}

const npm = (args: readonly string[], cwd: string, timeoutMs: number): Promise<RunResult> =>
  run('npm', [...args, '--no-audit', '--no-fund'], { cwd, timeoutMs });
const everwrite = (args: readonly string[]): Promise<RunResult> =>
  run(process.execPath, [join(project, 'node_modules', '.bin', 'everwrite'), ...args], {
    cwd: project,
    timeoutMs: 30_000,
  });

before(
  async () => {
    workDirectory = mkdtempSync(join(tmpdir(), 'everwrite-package-'));
    const packed = await npm(['pack', '--json', '--pack-destination', workDirectory], repositoryRoot, 240_000);
    assertRan(packed, 'npm pack');
    const [{ filename }] = JSON.parse(packed.stdout.slice(packed.stdout.indexOf('['))) as [{ filename: string }];
    project = join(workDirectory, 'app');
    await run('mkdir', [project], { cwd: workDirectory, timeoutMs: 5000 });
    writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module' }));
    assertRan(
      await npm(['install', '--omit=dev', '--prefer-offline', join(workDirectory, filename)], project, 240_000),
      'npm install --omit=dev',
    );
  },
  { timeout: 500_000 },
);

after(
  async () => {
    if (node !== undefined) await killChild(node, 'SIGTERM');
    if (workDirectory !== undefined) rmSync(workDirectory, { recursive: true, force: true });
  },
  { timeout: 30_000 },
);

test('the tarball ships JavaScript, declarations, the bin, docs and the licence, and no sources, tests or benchmarks', () => {
  const installed = join(project, 'node_modules', 'everwrite');
  for (const shipped of [
    'dist/index.js',
    'dist/index.d.ts',
    'dist/cli/main.js',
    'bin/everwrite.mjs',
    'LICENSE',
    'README.md',
    'docs/API.md',
  ]) {
    assert.ok(existsSync(join(installed, shipped)), `${shipped} is in the package`);
  }
  for (const unshipped of ['src', 'test', 'bench', 'scripts', 'tsconfig.json']) {
    assert.ok(!existsSync(join(installed, unshipped)), `${unshipped} is not in the package`);
  }
  assert.ok(!existsSync(join(project, 'node_modules', 'tsx')), 'tsx (a devDependency) is not installed');
  assert.ok(!existsSync(join(project, 'node_modules', 'typescript')), 'typescript (a devDependency) is not installed');
  assert.match(readFileSync(join(installed, 'LICENSE'), 'utf8'), /^MIT License/);
});

test(
  'the installed bin runs a node, and writes and reads through it, with production dependencies only',
  { timeout: 90_000 },
  async () => {
    const help = await everwrite(['--help']);
    assertRan(help, 'everwrite --help');
    assert.match(help.stdout, /Usage: everwrite/);
    node = spawn(
      process.execPath,
      [
        join(project, 'node_modules', '.bin', 'everwrite'),
        'start',
        '--node-id',
        'n1',
        '--listen',
        peerAddress,
        '--http',
        httpUrl.replace('http://', ''),
        '--seeds',
        `n1@${peerAddress}`,
        '--engine',
        'memory',
      ],
      { cwd: project, env: environment, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let output = '';
    watchChild(
      node,
      (text) => void (output += text),
      () => undefined,
    );
    await eventually('the installed node to say it is ready', async () => (/ready/.test(output) ? true : undefined), {
      timeoutMs: 30_000,
    });
    assertRan(await everwrite(['put', 'carts', 'alice', 'apple', '--node', httpUrl]), 'everwrite put');
    const read = await everwrite(['get', 'carts', 'alice', '--node', httpUrl]);
    assertRan(read, 'everwrite get');
    assert.equal(read.stdout, 'apple');
  },
);

test('plain Node ESM imports the library and its client reads what the CLI wrote', { timeout: 60_000 }, async () => {
  writeFileSync(
    join(project, 'consumer.mjs'),
    [
      "import { EverwriteClient, startNode, startLocalCluster, errorTable } from 'everwrite';",
      "if (typeof startNode !== 'function' || typeof startLocalCluster !== 'function' || typeof errorTable !== 'object') throw new Error('missing exports');",
      `const client = new EverwriteClient({ routing: 'server', nodes: ['${httpUrl}'] });`,
      "const read = await client.get('carts', 'alice');",
      'await client.close();',
      'console.log(JSON.stringify({ found: read.found, value: new TextDecoder().decode(read.siblings[0].value) }));',
    ].join('\n'),
  );
  const result = await run(process.execPath, ['consumer.mjs'], { cwd: project, timeoutMs: 30_000 });
  assertRan(result, 'node consumer.mjs');
  assert.deepEqual(JSON.parse(result.stdout), { found: true, value: 'apple' });
});

test(
  'a TypeScript consumer type-checks under strict against the shipped declarations',
  { timeout: 120_000 },
  async () => {
    writeFileSync(
      join(project, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          strict: true,
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          target: 'ES2022',
          noEmit: true,
          skipLibCheck: false,
          types: ['node'],
          typeRoots: [join(repositoryRoot, 'node_modules', '@types')],
        },
        files: ['consumer.ts'],
      }),
    );
    writeFileSync(
      join(project, 'consumer.ts'),
      [
        "import { EverwriteClient, EverwriteError, startLocalCluster, type ClientGetResult, type StartNodeOptions } from 'everwrite';",
        `const client = new EverwriteClient({ routing: 'server', nodes: ['${httpUrl}'] });`,
        "export async function firstValue(): Promise<Uint8Array | undefined> { const read: ClientGetResult = await client.get('b', 'k'); return read.siblings[0]?.value; }",
        'export type Options = StartNodeOptions;',
        'export const launch: typeof startLocalCluster = startLocalCluster;',
        'export const isError = (error: unknown): boolean => error instanceof EverwriteError;',
        '// @ts-expect-error: the declarations are real, so a wrong call is a type error',
        "client.get('only-a-bucket');",
      ].join('\n'),
    );
    const checked = await run(process.execPath, [typescriptCompiler, '-p', 'tsconfig.json'], {
      cwd: project,
      timeoutMs: 110_000,
    });
    assertRan(checked, 'tsc -p tsconfig.json (strict consumer)');
  },
);
