// Why: `everwrite start` reads its settings from flags, a --config file and EVERWRITE_* variables.
// These pin the schema (src/cli/start-settings.ts): each source is checked the same way, a wrong value
// is refused naming the setting and its origin, a config file's unknown key is refused by name, and
// "seeds" is accepted as a JSON array or a comma list and refused clearly otherwise.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { UsageError } from '../../../src/cli/exit-codes.ts';
import {
  checkConfigFile,
  environmentVariableOf,
  flagOf,
  resolveStartSettings,
  startSettingNames,
  type SettingSources,
} from '../../../src/cli/start-settings.ts';

const defaults = {
  listen: '127.0.0.1:7001',
  http: '127.0.0.1:8001',
  engine: 'lmdb',
  partitions: '256',
  logLevel: 'info',
};

function sources(overrides: Partial<SettingSources> = {}): SettingSources {
  return { flags: defaults, typed: new Set(), environment: {}, ...overrides };
}

function assertRefused(run: () => unknown, pattern: RegExp): void {
  assert.throws(run, (error: unknown) => {
    assert.ok(error instanceof UsageError, `a UsageError (exit 2), got ${String(error)}`);
    assert.match(error.message, pattern);
    return true;
  });
}

test('flag and variable names follow the config keys', () => {
  assert.equal(flagOf('secretFile'), '--secret-file');
  assert.equal(environmentVariableOf('settingsJson'), 'EVERWRITE_SETTINGS_JSON');
  assert.equal(startSettingNames.length, new Set(startSettingNames).size);
});

test('"seeds" is a JSON array in a config file or a comma list anywhere, the same members either way', () => {
  const seeds = ['n1@127.0.0.1:7001;zone=a', 'n2@127.0.0.1:7002;weight=2'];
  const fromArray = resolveStartSettings(sources({ file: { path: 'c.json', content: { seeds } } })).settings.seeds;
  const fromText = resolveStartSettings(sources({ environment: { EVERWRITE_SEEDS: seeds.join(',') } })).settings.seeds;
  assert.deepEqual(fromArray, fromText);
  assert.deepEqual(
    fromArray?.map((member) => [member.id, member.port, member.zone, member.weight]),
    [
      ['n1', 7001, 'a', undefined],
      ['n2', 7002, undefined, 2],
    ],
  );
  assertRefused(
    () => resolveStartSettings(sources({ file: { path: 'c.json', content: { seeds: ['n1@127.0.0.1:7001', 7] } } })),
    /^config file c\.json: "seeds": entry 1 must be a string/,
  );
  assertRefused(
    () => resolveStartSettings(sources({ file: { path: 'c.json', content: { seeds: { n1: 'x' } } } })),
    /"seeds": must be a comma-separated string or a JSON array of strings/,
  );
  assertRefused(
    () => resolveStartSettings(sources({ file: { path: 'c.json', content: { seeds: ['no-port'] } } })),
    /"seeds": a seed must be id@HOST:PORT/,
  );
});

test('a config file must be an object of known keys; an unknown key is refused by its name', () => {
  assertRefused(() => checkConfigFile('c.json', ['seeds']), /config file c\.json: must be a JSON object/);
  assertRefused(() => checkConfigFile('c.json', null), /must be a JSON object/);
  assertRefused(
    () => resolveStartSettings(sources({ file: { path: 'c.json', content: { seeds: [], logLevl: 'warn' } } })),
    /config file c\.json: unknown key "logLevl"; known: nodeId, /,
  );
  assert.deepEqual(checkConfigFile('c.json', { logLevel: 'warn' }), { logLevel: 'warn' });
});

test('types and ranges are checked for every source alike, naming where the value came from', () => {
  const cases: Array<[Partial<SettingSources>, RegExp]> = [
    [
      { file: { path: 'c.json', content: { partitions: 100 } } },
      /^config file c\.json: "partitions": must be a power of two from 1 to 16384, got 100$/,
    ],
    [{ environment: { EVERWRITE_PARTITIONS: '32768' } }, /^EVERWRITE_PARTITIONS: must be a power of two/],
    [
      { flags: { ...defaults, partitions: 'many' }, typed: new Set(['partitions']) },
      /^--partitions: must be a whole number/,
    ],
    [{ file: { path: 'c.json', content: { engine: 'rocks' } } }, /"engine": must be one of lmdb, level, memory/],
    [{ environment: { EVERWRITE_LOG_LEVEL: 'loud' } }, /^EVERWRITE_LOG_LEVEL: must be one of fatal, /],
    [{ file: { path: 'c.json', content: { listen: 7001 } } }, /"listen": must be a string, got 7001/],
    [{ flags: { ...defaults, http: 'localhost' }, typed: new Set(['http']) }, /^--http: must be HOST:PORT/],
    [{ environment: { EVERWRITE_RESP: '127.0.0.1:99999' } }, /^EVERWRITE_RESP: must be HOST:PORT/],
    [{ file: { path: 'c.json', content: { weight: 0 } } }, /"weight": weight must be a number above 0/],
    [{ file: { path: 'c.json', content: { weight: true } } }, /"weight": must be a number, got true/],
    [{ file: { path: 'c.json', content: { nodeId: '' } } }, /"nodeId": must not be empty/],
    [{ file: { path: 'c.json', content: { nodeId: 'x'.repeat(5000) } } }, /"nodeId": must be at most 4096 characters/],
    [{ file: { path: 'c.json', content: { settingsJson: [1] } } }, /"settingsJson": must be a JSON object/],
    [
      { environment: { EVERWRITE_LIMITS_JSON: '{"http":{"bogus":1}}' } },
      /^EVERWRITE_LIMITS_JSON: .*unknown field http\.bogus/,
    ],
  ];
  for (const [overrides, pattern] of cases) assertRefused(() => resolveStartSettings(sources(overrides)), pattern);
});

test('flags win over the config file, which wins over variables; defaults are not "given"', () => {
  const resolved = resolveStartSettings(
    sources({
      flags: { ...defaults, logLevel: 'debug' },
      typed: new Set(['logLevel']),
      file: { path: 'c.json', content: { logLevel: 'warn', partitions: 64, zone: 'a' } },
      environment: {
        EVERWRITE_LOG_LEVEL: 'error',
        EVERWRITE_PARTITIONS: '128',
        EVERWRITE_ZONE: 'b',
        EVERWRITE_WEIGHT: '2',
      },
    }),
  );
  assert.equal(resolved.settings.logLevel, 'debug');
  assert.equal(resolved.settings.partitions, 64);
  assert.equal(resolved.settings.zone, 'a');
  assert.equal(resolved.settings.weight, 2);
  assert.equal(resolved.origin.partitions, 'config file c.json: "partitions"');
  assert.equal(resolved.origin.weight, 'EVERWRITE_WEIGHT');
  assert.deepEqual([...resolved.given].sort(), ['logLevel', 'partitions', 'weight', 'zone']);
  const bare = resolveStartSettings(sources());
  assert.equal(bare.settings.partitions, 256);
  assert.equal(bare.given.size, 0, 'a default --partitions is not checked against a persisted view');
  assert.deepEqual(bare.settings.listen, { host: '127.0.0.1', port: 7001 });
});

test('the example config in docs/examples/node-config.json passes the schema with every key it shows', () => {
  const path = fileURLToPath(new URL('../../../docs/examples/node-config.json', import.meta.url));
  const content: unknown = JSON.parse(readFileSync(path, 'utf8'));
  const resolved = resolveStartSettings(sources({ file: { path, content } }));
  assert.deepEqual(
    [...resolved.given].sort(),
    Object.keys(content as object).sort(),
    'every key of the example is a setting',
  );
  assert.equal(resolved.settings.seeds?.length, 3);
  assert.deepEqual(resolved.settings.limitsJson, {
    http: { connectionsMax: 4096 },
    rate: { requestsPerSecond: 1000, burstRequests: 2000 },
  });
});

test('"tls" names the ports that speak TLS; a certificate turns on all of them; missing files are refused by flag', async () => {
  const { resolveTls } = await import('../../../src/cli/commands/node.ts');
  const settingsOf = (environment: Record<string, string>) => resolveStartSettings(sources({ environment })).settings;
  assert.deepEqual(settingsOf({ EVERWRITE_TLS: 'http, peer' }).tls, { http: true, resp: false, peer: true });
  assert.deepEqual(settingsOf({ EVERWRITE_TLS: 'none' }).tls, { http: false, resp: false, peer: false });
  assert.deepEqual(
    resolveStartSettings(sources({ file: { path: 'c.json', content: { tls: ['resp'] } } })).settings.tls,
    { http: false, resp: true, peer: false },
  );
  assertRefused(() => settingsOf({ EVERWRITE_TLS: 'http,smtp' }), /EVERWRITE_TLS: .*unknown port "smtp"/);
  assertRefused(() => settingsOf({ EVERWRITE_TLS: 'all,peer' }), /EVERWRITE_TLS: .*unknown port "all"/);
  assertRefused(
    () => resolveStartSettings(sources({ file: { path: 'c.json', content: { tls: 7 } } })),
    /"tls": must be "all", "none"/,
  );
  const files = { EVERWRITE_TLS_CERT_FILE: '/x/n1.crt', EVERWRITE_TLS_KEY_FILE: '/x/n1.key' };
  assert.deepEqual(resolveTls(settingsOf({ ...files, EVERWRITE_TLS_CA_FILE: '/x/ca.crt' }))?.ports, {
    http: true,
    resp: true,
    peer: true,
  });
  assert.equal(resolveTls(settingsOf({})), undefined);
  assert.equal(resolveTls(settingsOf({ ...files, EVERWRITE_TLS: 'none' })), undefined);
  assert.deepEqual(resolveTls(settingsOf({ ...files, EVERWRITE_TLS: 'http' })), {
    files: { certFile: '/x/n1.crt', keyFile: '/x/n1.key' },
    ports: { http: true, resp: false, peer: false },
  });
  assertRefused(() => resolveTls(settingsOf({ ...files })), /--tls-ca-file FILE is required for TLS on the peer port/);
  assertRefused(
    () => resolveTls(settingsOf({ EVERWRITE_TLS: 'resp', EVERWRITE_TLS_KEY_FILE: '/x/n1.key' })),
    /--tls-cert-file FILE is required/,
  );
});

test('"corsOrigins" is a JSON array in a config file or a comma list anywhere; a wildcard, a path or too many are refused by name', () => {
  const origins = ['https://app.example.com', 'http://localhost:3000'];
  assert.deepEqual(
    resolveStartSettings(sources({ file: { path: 'c.json', content: { corsOrigins: origins } } })).settings.corsOrigins,
    origins,
  );
  assert.deepEqual(
    resolveStartSettings(
      sources({ environment: { EVERWRITE_CORS_ORIGINS: ' https://app.example.com, http://localhost:3000 ,' } }),
    ).settings.corsOrigins,
    origins,
  );
  assert.equal(resolveStartSettings(sources()).settings.corsOrigins, undefined, 'off unless given');
  assertRefused(
    () => resolveStartSettings(sources({ environment: { EVERWRITE_CORS_ORIGINS: '*' } })),
    /^EVERWRITE_CORS_ORIGINS: entry 0 must be an origin/,
  );
  assertRefused(
    () =>
      resolveStartSettings(sources({ file: { path: 'c.json', content: { corsOrigins: ['https://a.example/path'] } } })),
    /"corsOrigins": entry 0 must be an origin/,
  );
  assertRefused(
    () => resolveStartSettings(sources({ file: { path: 'c.json', content: { corsOrigins: [7] } } })),
    /"corsOrigins": entry 0 must be an origin/,
  );
  assertRefused(
    () => resolveStartSettings(sources({ file: { path: 'c.json', content: { corsOrigins: { a: 1 } } } })),
    /"corsOrigins": must be a comma-separated string or a JSON array/,
  );
  assertRefused(
    () =>
      resolveStartSettings(
        sources({
          file: {
            path: 'c.json',
            content: { corsOrigins: Array.from({ length: 65 }, (_, index) => `https://h${index}.example`) },
          },
        }),
      ),
    /at most 64 origins/,
  );
});

test('"insecure" and "metricsPublic" are switches from a flag, a config file or a variable; anything else is refused by name', () => {
  assert.equal(
    resolveStartSettings(sources({ flags: { ...defaults, insecure: true }, typed: new Set(['insecure']) })).settings
      .insecure,
    true,
  );
  assert.equal(
    resolveStartSettings(sources({ file: { path: 'c.json', content: { insecure: false, metricsPublic: true } } }))
      .settings.metricsPublic,
    true,
  );
  assert.equal(resolveStartSettings(sources({ environment: { EVERWRITE_INSECURE: 'true' } })).settings.insecure, true);
  assert.equal(resolveStartSettings(sources()).settings.insecure, undefined, 'protected mode unless asked');
  assertRefused(
    () => resolveStartSettings(sources({ environment: { EVERWRITE_INSECURE: 'yes' } })),
    /^EVERWRITE_INSECURE: must be true or false/,
  );
  assertRefused(
    () => resolveStartSettings(sources({ file: { path: 'c.json', content: { metricsPublic: 1 } } })),
    /"metricsPublic": must be true or false/,
  );
});
