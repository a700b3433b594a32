// Why: a test that listens on a port written into it collides with the same test in another run on
// the same machine (two checkouts, two CI jobs); tests take their ports from test/support/free-port.ts instead
// (test/support/free-port.ts). This scans every test/**/*.ts for a 4-5 digit literal used as a port
// or a port base and fails naming each, except in the few files listed below with the reason.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const repositoryRoot = fileURLToPath(new URL('../../../', import.meta.url));
const thisFile = 'test/unit/support/no-fixed-ports.test.ts';

/** Files that may hold port literals, and why: none of them listens on one outside a namespace of its own. */
const allowed = new Map<string, string>([
  [thisFile, 'holds the samples the detector must flag'],
  [
    'test/integration/protected-mode.test.ts',
    'its node listens inside a network namespace this test creates, named by its PID, so no other run shares the port',
  ],
  [
    'test/deploy/five-node-deployment.test.ts',
    "every node listens on deploy/node.env's ports inside a network namespace of its own, named by the run's PID",
  ],
  [
    'test/integration/documented-examples.test.ts',
    "the docs' addresses, which it rewrites to ports the OS handed out before running the examples",
  ],
  ['test/unit/server/view-boot.test.ts', 'seed and address strings parsed and compared; nothing listens'],
  ['test/unit/core/cluster-view/support.ts', 'member addresses in views built in memory; nothing listens'],
  ['test/unit/core/cluster-view/gossip.test.ts', 'member addresses in views built in memory; nothing listens'],
  ['test/unit/core/cluster-view/view.test.ts', 'member addresses in views built in memory; nothing listens'],
  ['test/fuzz/targets/rings-and-trees.ts', 'member addresses in rings built in memory; nothing listens'],
  [
    'test/unit/cli/cli-start-settings.test.ts',
    'flag, file and environment values parsed and compared; nothing listens',
  ],
  ['test/unit/cli/commands/cli-cluster.test.ts', 'addresses in status reports formatted as text; nothing listens'],
  ['test/unit/cli/commands/cli-membership.test.ts', 'addresses in plan reports formatted as text; nothing listens'],
  [
    'test/unit/cli/commands/cli-kv.test.ts',
    'the documented default --node URL, compared as a string; nothing connects to it',
  ],
  [
    'test/unit/api/http/http.test.ts',
    "the fake service's member address, compared in a status reply; nothing listens on it",
  ],
  ['test/support/fake-kv-service.ts', 'a member address the fake service reports; nothing listens on it'],
  ['test/unit/cli/bench/options.test.ts', 'bench targets parsed and refused as strings; nothing connects to them'],
  ['test/unit/api/http/http-conventions.test.ts', 'a CORS origin compared as a string; nothing listens'],
  ['test/unit/cli/bench/resp-driver.test.ts', 'RESP addresses parsed as strings; nothing connects to them'],
  [
    'test/support/doc-examples.ts',
    'a redis-cli prompt as the docs print it, parsed into a command; nothing connects to it',
  ],
  [
    'test/unit/support/doc-examples.test.ts',
    'redis-cli prompts as the docs print them, parsed as text; nothing connects to them',
  ],
]);

const portLiteral = String.raw`(\d{1,2}_\d{3}|\d{4,5})`;

/** Each shape in which a number acts as a port: the number is the first capture group. */
const portShapes: readonly RegExp[] = [
  // An address or URL (also inside a regular expression): 127.0.0.1:7001, localhost:8080, [::1]:6380, http://host:8001.
  new RegExp(
    String.raw`(?:127\\?\.0\\?\.0\\?\.1|localhost|0\.0\.0\.0|\[::1?\]|::1|://[\w.-]+):${portLiteral}(?![\d_])`,
    'g',
  ),
  // A name that says port or base given a number: portBase: 17_000, const base = 29500, peerPort: '46001'.
  new RegExp(String.raw`\b\w*(?:port|Port|PORT|base|Base)\w*['"]?\s*[:=]\s*['"]?${portLiteral}(?![\d_.])`, 'g'),
  // A port flag and its value: '--peer-port-base', '27000' or '-p', '6380'.
  new RegExp(String.raw`['"](?:--[\w-]*port[\w-]*|-p)['"]\s*,\s*['"]${portLiteral}['"]`, 'g'),
  // A listen or connect on a number: server.listen(46_502, ...), RespTestClient.connect(32_101).
  new RegExp(String.raw`(?:\.listen|connect|createConnection)\(\s*${portLiteral}(?![\d_])`, 'g'),
  // A port computed from a fixed base, after a word for ports: respPort = (index) => 43200 + index.
  new RegExp(
    String.raw`(?:port|Port|PORT|peer|http|resp|127\.0\.0\.1|localhost|listen).*?(?<![\w.])${portLiteral}\s*\+\s*(?:i|index|slot|offset|n|node|position)\b`,
    'g',
  ),
];

/** Every `line: text` of `source` where a 1024-65535 literal is used as a port. */
function fixedPorts(source: string): string[] {
  const found: string[] = [];
  source.split('\n').forEach((line, index) => {
    const hits = portShapes.flatMap((shape) =>
      [...line.matchAll(shape)].map((match) => Number((match[1] ?? '').replaceAll('_', ''))),
    );
    if (hits.some((port) => port >= 1024 && port <= 65_535)) found.push(`${index + 1}: ${line.trim().slice(0, 160)}`);
  });
  return found;
}

function typeScriptFiles(path: string, out: string[] = []): string[] {
  if (statSync(path).isDirectory()) for (const name of readdirSync(path).sort()) typeScriptFiles(join(path, name), out);
  else if (path.endsWith('.ts')) out.push(path);
  return out;
}

test('the detector flags each shape of a fixed port and leaves other numbers alone', () => {
  const flagged = [
    'const base = 29500;',
    "fixture = await ClusterFixture.start({ name: 'basic', portBase: 17_000 });",
    "const portBases = ['--peer-port-base', '46400', '--http-port-base', '46500'];",
    "const peerAddress = '127.0.0.1:46001';",
    'const url = `http://localhost:8080/health`;',
    'assert.match(logs, /--seeds names n4 \\(127\\.0\\.0\\.1:28704\\)/);',
    "await new Promise((resolve) => squatter.listen(46_502, '127.0.0.1', resolve));",
    'const respPort = (index: number): number => 43200 + index;',
    "spawnSync('redis-cli', ['-p', '6380', 'ping']);",
    'const resp = await RespTestClient.connect(32_101);',
    'const [peer, http, resp] = [43021 + slot * 10, 43121 + slot * 10, 43221 + slot * 10];',
    "const ports = { peerPortBase: '38000' };",
  ];
  for (const line of flagged) assert.equal(fixedPorts(line).length, 1, `should flag: ${line}`);
  const clean = [
    'const timeoutMs = 30_000;',
    "server.listen(0, '127.0.0.1', resolve);",
    'const url = `http://127.0.0.1:${port}/health`;',
    "startRespServer({ host: '127.0.0.1', port: 70_000 })",
    'const portBase = await freePortBlock(30);',
    'const base = lastModifiedMs * 1024;',
    'const seed = 20261123 + index;',
    'for (let index = 0; index < 3000; index++) admission.observeForeground(8, 3000 + index);',
    "assert.equal(reply.status, 1234, 'a port: 8001 in a sentence is still a port');",
  ];
  for (const line of clean.slice(0, -1)) assert.deepEqual(fixedPorts(line), [], `should not flag: ${line}`);
  // A port named in a sentence is flagged too: comments that name a band must go with the band.
  assert.equal(fixedPorts(clean.at(-1) as string).length, 1);
});

test('no test listens on a port written into it: ports come from test/support/free-port.ts', () => {
  const offenders: string[] = [];
  const allowedAndClean: string[] = [];
  for (const path of typeScriptFiles(join(repositoryRoot, 'test'))) {
    const name = relative(repositoryRoot, path).split('\\').join('/');
    const found = fixedPorts(readFileSync(path, 'utf8'));
    if (allowed.has(name)) {
      if (found.length === 0) allowedAndClean.push(name);
      continue;
    }
    offenders.push(...found.map((line) => `${name}:${line}`));
  }
  assert.deepEqual(
    offenders,
    [],
    `fixed ports in tests (take them from test/support/free-port.ts, or allow the file above with the reason):\n${offenders.join('\n')}`,
  );
  assert.deepEqual(
    allowedAndClean,
    [],
    'allowed files that no longer hold a port literal: drop them from the allow-list',
  );
});
