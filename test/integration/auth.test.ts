// Why: users, roles and authentication (decision 0025) are only worth anything if every way in is
// guarded. These tests run real nodes and walk the HTTP route table and the RESP command table
// themselves: with users configured, every route and command refuses a caller without credentials
// (401 / NOAUTH), refuses one without the role (403 / NOPERM) and serves the right role, so a route
// or command added without a rule, or with a rule the central check ignores, fails here. They also
// show users replicate (a user added at node 1 logs in at node 3, over HTTP and RESP), that
// redis-cli --user/--pass and HELLO 3 AUTH work, that every CLI command that talks to a node sends
// the credentials of EVERWRITE_USER/EVERWRITE_PASSWORD, that `user add` asks for a password on a
// terminal without echo, that --metrics-public opens /metrics and nothing else, that hostile
// credentials are answered with codes, and that brute force hits the per-address limit.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { request as httpRequest } from 'node:http';
import { fileURLToPath } from 'node:url';
import { binEnvironment } from '../../src/server/bin.ts';
import { routes } from '../../src/api/http/routes.ts';
import { EverwriteClient } from '../../src/client/index.ts';
import type { RouteDefinition } from '../../src/api/http/exchange.ts';
import { buildCommandTable } from '../../src/api/resp/commands/index.ts';
import type { AccessRule } from '../../src/api/auth/access.ts';
import { ClusterFixture, eventually, request, type Reply } from '../support/cluster-fixture.ts';
import { missingTool, testNeeding } from '../support/environment.ts';
import { RespErrorValue, RespSimpleValue, RespTestClient, type RespValue } from '../support/resp-client.ts';

const binPath = fileURLToPath(new URL('../../bin/everwrite.mjs', import.meta.url));

const users = {
  admin: { name: 'admin', password: 'admin-password-1' },
  /** read on bucket "redis" only (RESP's default bucket). */
  reader: { name: 'reader', password: 'reader-password-1' },
  /** write on every bucket, no read. */
  writer: { name: 'writer', password: 'writer-password-1' },
} as const;
type UserName = keyof typeof users;

function basic(user: UserName): string {
  const { name, password } = users[user];
  return `Basic ${Buffer.from(`${name}:${password}`).toString('base64')}`;
}

interface Finished {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `everwrite` with `stdin`; resolves with its exit code and output. */
function runCli(args: readonly string[], stdin: string, environment: Record<string, string> = {}): Promise<Finished> {
  return runProcess(process.execPath, [binPath, ...args], stdin, { ...binEnvironment(), ...environment });
}

/** Runs a program to its end (60 s at most) with `stdin`. */
function runProcess(
  file: string,
  args: readonly string[],
  stdin: string,
  environment: NodeJS.ProcessEnv = process.env,
): Promise<Finished> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { env: environment, stdio: ['pipe', 'pipe', 'pipe'], timeout: 60_000 });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(stdin);
  });
}

/** A request each route's method can take without harming the cluster: bad bodies where the handler would act. */
function sampleRequest(route: RouteDefinition, method: string): { path: string; body?: string } {
  const path = route.template
    .replace('{bucket}', 'redis')
    .replace('{key}', 'k')
    .replace('{file}', 'dashboard.js')
    .replace('{name}', 'probe-user');
  if (route === routes.adminPlacement) return { path: `${path}?bucket=redis&key=k` };
  if (method === 'PUT' && route === routes.key) return { path, body: 'v' };
  if (method === 'PUT' && route === routes.props) return { path, body: '{}' };
  // No roles: refused by the handler with 400 once authorization passed.
  if (method === 'PUT' && route === routes.adminUser) return { path, body: '{"password":"probe-password-1"}' };
  // Members that do not exist: the handlers refuse them, nothing leaves or joins.
  if (method === 'POST' && (route === routes.adminLeave || route === routes.adminRemove))
    return { path, body: '{"node":"no-such-node"}' };
  if (method === 'POST') return { path, body: '{}' };
  return { path };
}

/** A user the rule refuses, or undefined when every user passes it ("user"). */
function userWithoutRole(rule: AccessRule): UserName | undefined {
  if (rule === 'read') return 'writer';
  if (rule === 'write' || rule === 'admin') return 'reader';
  return undefined;
}

function userWithRole(rule: AccessRule): UserName {
  if (rule === 'read') return 'reader';
  if (rule === 'write') return 'writer';
  return 'admin';
}

async function call(url: string, method: string, body: string | undefined, authorization?: string): Promise<Reply> {
  const headers: Record<string, string> = authorization === undefined ? {} : { authorization };
  return request(url, { method, headers, redirect: 'manual', ...(body === undefined ? {} : { body }) });
}

function codeOf(reply: Reply): string | undefined {
  try {
    return reply.json<{ code?: string }>().code;
  } catch {
    return undefined;
  }
}

function errorText(value: RespValue): string | undefined {
  return value instanceof RespErrorValue ? value.message : undefined;
}

/** Sample arguments for each command, so it gets past arity and into its handler. */
const commandSamples: Readonly<Record<string, readonly string[]>> = {
  get: ['k'],
  set: ['k', 'v'],
  del: ['k'],
  exists: ['k'],
  mget: ['k'],
  mset: ['k', 'v'],
  'ew.getall': ['k'],
  'ew.put': ['k', '', 'v'],
  'ew.del': ['k', ''],
  info: ['server'],
  command: ['count'],
  config: ['get', 'maxmemory'],
  ping: [],
  echo: ['x'],
  select: ['0'],
  quit: [],
  auth: ['admin', users.admin.password],
  hello: ['3', 'auth', 'admin', users.admin.password],
  client: ['id'],
  incr: ['counter'],
  decr: ['counter'],
  incrby: ['counter', '2'],
  decrby: ['counter', '1'],
  setnx: ['k', 'v'],
  getset: ['k', 'v'],
  scan: ['0'],
  keys: ['*'],
  dbsize: [],
  type: ['k'],
};

/** Logs a fresh connection in as `user` (undefined: stays anonymous). */
async function respSession(port: number, user: UserName | undefined): Promise<RespTestClient> {
  const client = await RespTestClient.connect(port);
  if (user !== undefined)
    assert.deepEqual(await client.call('AUTH', users[user].name, users[user].password), new RespSimpleValue('OK'));
  return client;
}

test(
  'users: every route and command checks its rule, users replicate, redis-cli logs in, bad credentials are coded and rate-limited',
  { timeout: 300_000 },
  async (t) => {
    const fixture = await ClusterFixture.start({
      name: 'auth',
      engine: 'memory',
      partitions: 16,
      settings: { usersCountMax: 5 },
    });
    t.after(() => fixture.stop());
    const url = (index: number): string => fixture.url(index);

    await t.test('no users: the node is open, as before', async () => {
      assert.equal((await fixture.get(1, 'redis', 'k')).status, 404);
    });

    await t.test(
      'the first user is added with the CLI (password on stdin), the others over HTTP by the admin',
      async () => {
        const added = await runCli(
          ['user', 'add', 'admin', '--role', 'admin', '--password-stdin', '--node', url(1), '--json'],
          `${users.admin.password}\n`,
        );
        assert.equal(added.code, 0, added.stderr);
        assert.deepEqual(JSON.parse(added.stdout), { name: 'admin', roles: ['admin'], bucket: null, token: false });
        const reader = await call(
          `${url(1)}/admin/users/reader`,
          'PUT',
          JSON.stringify({ roles: ['read'], bucket: 'redis', password: users.reader.password }),
          basic('admin'),
        );
        assert.equal(reader.status, 200, reader.text);
        const writer = await call(
          `${url(1)}/admin/users/writer`,
          'PUT',
          JSON.stringify({ roles: ['write'], password: users.writer.password }),
          basic('admin'),
        );
        assert.equal(writer.status, 200, writer.text);
        const listed = await runCli(['user', 'list', '--node', url(1), '--json'], '', {
          EVERWRITE_USER: 'admin',
          EVERWRITE_PASSWORD: users.admin.password,
        });
        assert.equal(listed.code, 0, listed.stderr);
        assert.doesNotMatch(listed.stdout, /scrypt|hash/i, 'user list never prints a hash');
        assert.deepEqual(
          JSON.parse(listed.stdout).users.map((user: { name: string }) => user.name),
          ['admin', 'reader', 'writer'],
        );
        const anonymous = await runCli(['user', 'list', '--node', url(1)], '');
        assert.equal(anonymous.code, 1, 'the CLI without credentials is refused once users exist');
        assert.match(anonymous.stderr, /EVERWRITE_UNAUTHENTICATED/);
      },
    );

    await t.test('users replicate: a user added at node 1 logs in at node 3 over HTTP and RESP', async () => {
      await eventually(
        'reader to log in at node 3',
        async () =>
          (await call(`${url(3)}/buckets/redis/keys/k`, 'GET', undefined, basic('reader'))).status === 404
            ? true
            : undefined,
        { timeoutMs: 20_000 },
      );
      const client = await respSession(fixture.respPort(3), 'reader');
      assert.equal(await client.call('GET', 'k'), null);
      client.close();
    });

    await t.test(
      'the TypeScript client authenticates with user and password, routed by a node or by the ring',
      async () => {
        for (const routing of ['server', 'client'] as const) {
          const client = new EverwriteClient({
            nodes: [url(1), url(2), url(3)],
            routing,
            user: users.writer.name,
            password: users.writer.password,
          });
          await client.put('redis', `client-${routing}`, 'v');
          await assert.rejects(
            client.get('redis', `client-${routing}`),
            { code: 'EVERWRITE_FORBIDDEN', status: 403 },
            'write does not imply read',
          );
          await client.close();
          const readerClient = new EverwriteClient({
            nodes: [url(1), url(2), url(3)],
            routing,
            user: users.reader.name,
            password: users.reader.password,
          });
          assert.equal((await readerClient.get('redis', `client-${routing}`)).siblings.length, 1);
          await readerClient.close();
        }
        const anonymous = new EverwriteClient({ nodes: [url(1)], routing: 'server' });
        await assert.rejects(anonymous.get('redis', 'k'), { code: 'EVERWRITE_UNAUTHENTICATED', status: 401 });
        await anonymous.close();
      },
    );

    await t.test('every HTTP route: 401 without credentials, 403 without the role, served with it', async () => {
      const walked: string[] = [];
      for (const route of Object.values(routes)) {
        for (const method of Object.keys(route.handlers).filter((each) => each !== 'HEAD')) {
          const rule = route.access[method];
          assert.ok(rule !== undefined, `${method} ${route.template} has no access rule`);
          const { path, body } = sampleRequest(route, method);
          const label = `${method} ${route.template} (${rule})`;
          const anonymous = await call(`${url(1)}${path}`, method, body);
          if (rule === 'public') {
            assert.notEqual(anonymous.status, 401, label);
          } else {
            assert.equal(anonymous.status, 401, `${label}: ${anonymous.text}`);
            assert.equal(codeOf(anonymous), 'EVERWRITE_UNAUTHENTICATED', label);
            assert.match(anonymous.headers.get('www-authenticate') ?? '', /Basic realm="everwrite"/, label);
          }
          const without = userWithoutRole(rule);
          if (without !== undefined) {
            const refused = await call(`${url(1)}${path}`, method, body, basic(without));
            assert.equal(refused.status, 403, `${label} as ${without}: ${refused.text}`);
            assert.equal(codeOf(refused), 'EVERWRITE_FORBIDDEN', label);
          }
          const allowed = await call(`${url(1)}${path}`, method, body, basic(userWithRole(rule)));
          assert.ok(
            allowed.status !== 401 && allowed.status !== 403,
            `${label} as ${userWithRole(rule)}: ${allowed.status} ${allowed.text}`,
          );
          walked.push(label);
        }
      }
      assert.ok(walked.length >= Object.keys(routes).length, `walked ${walked.length} route methods`);
      // A bucket grant covers its bucket only.
      assert.equal((await call(`${url(1)}/buckets/other/keys/k`, 'GET', undefined, basic('reader'))).status, 403);
    });

    await t.test('every RESP command: NOAUTH without login, NOPERM without the role, served with it', async () => {
      const table = buildCommandTable();
      for (const spec of table.values()) {
        const args = commandSamples[spec.name];
        assert.ok(args !== undefined, `the test has no sample arguments for ${spec.name}: add them`);
        const label = `${spec.name} (${spec.access})`;
        const anonymous = await respSession(fixture.respPort(1), undefined);
        const answer = errorText(await anonymous.call(spec.name, ...args));
        anonymous.close();
        if (spec.access === 'public') assert.doesNotMatch(answer ?? '', /^NOAUTH/, label);
        else assert.equal(answer, 'NOAUTH Authentication required.', label);
        const without = userWithoutRole(spec.access);
        if (without !== undefined) {
          const session = await respSession(fixture.respPort(1), without);
          assert.match(errorText(await session.call(spec.name, ...args)) ?? '', /^NOPERM/, `${label} as ${without}`);
          session.close();
        }
        const session = await respSession(fixture.respPort(1), userWithRole(spec.access));
        assert.doesNotMatch(
          errorText(await session.call(spec.name, ...args)) ?? '',
          /^(NOAUTH|NOPERM)/,
          `${label} as ${userWithRole(spec.access)}`,
        );
        session.close();
      }
      const pipelined = await RespTestClient.connect(fixture.respPort(1));
      const replies = await pipelined.pipeline([
        ['AUTH', 'reader', users.reader.password],
        ['GET', 'k'],
        ['SET', 'k', 'v'],
      ]);
      assert.match(
        errorText(replies[2] as RespValue) ?? '',
        /^NOPERM/,
        'a command pipelined behind AUTH runs as the logged-in user',
      );
      assert.equal(errorText(replies[1] as RespValue), undefined);
      pipelined.close();
    });

    await t.test(
      'HELLO 3 AUTH user pass logs in and switches to RESP3 in one command, as Redis 6 does; a wrong password is WRONGPASS',
      async () => {
        const client = await RespTestClient.connect(fixture.respPort(1));
        assert.equal(errorText(await client.call('GET', 'k')), 'NOAUTH Authentication required.');
        assert.match(
          errorText(await client.call('HELLO', '3', 'AUTH', 'reader', 'wrong-password')) ?? '',
          /^WRONGPASS/,
        );
        const hello = await client.call('HELLO', '3', 'AUTH', 'reader', users.reader.password, 'SETNAME', 'app');
        assert.ok(hello instanceof Map, `HELLO 3 answers a RESP3 map, got ${JSON.stringify(hello)}`);
        assert.equal(hello.get('proto'), 3);
        assert.equal(await client.call('GET', 'hello-probe'), null, 'logged in as reader: GET runs');
        assert.match(errorText(await client.call('SET', 'k', 'v')) ?? '', /^NOPERM/, 'as reader, not as anyone else');
        client.close();
      },
    );

    await t.test(
      'the CLI sends EVERWRITE_USER/EVERWRITE_PASSWORD with every command that talks to a node',
      async () => {
        const asAdmin = { EVERWRITE_USER: 'admin', EVERWRITE_PASSWORD: users.admin.password };
        const commands: string[][] = [
          ['put', 'redis', 'cli-key', 'v'],
          ['get', 'redis', 'cli-key'],
          ['keys', 'redis'],
          ['delete', 'redis', 'cli-key'],
          ['cluster', 'status'],
          ['cluster', 'ring'],
          ['cluster', 'plan'],
          ['user', 'list'],
        ];
        for (const command of commands) {
          const finished = await runCli([...command, '--node', url(2)], '', asAdmin);
          assert.equal(finished.code, 0, `everwrite ${command.join(' ')}: ${finished.stderr}`);
          const anonymous = await runCli([...command, '--node', url(2)], '');
          assert.match(
            anonymous.stderr,
            /EVERWRITE_UNAUTHENTICATED/,
            `everwrite ${command.join(' ')} without credentials`,
          );
        }
      },
    );

    await t.test('a token logs in over HTTP as Bearer; only its hash is kept', async () => {
      const created = await call(
        `${url(1)}/admin/users/robot`,
        'PUT',
        JSON.stringify({ roles: ['read'], token: true }),
        basic('admin'),
      );
      assert.equal(created.status, 200, created.text);
      const token = created.json<{ tokenValue: string }>().tokenValue;
      assert.match(token, /^ew_[A-Za-z0-9_-]{43}$/);
      await eventually(
        'the token to work at node 2',
        async () =>
          (await call(`${url(2)}/buckets/any/keys/k`, 'GET', undefined, `Bearer ${token}`)).status === 404
            ? true
            : undefined,
        { timeoutMs: 20_000 },
      );
      assert.equal((await call(`${url(1)}/buckets/any/keys/k`, 'GET', undefined, `Bearer ${token}x`)).status, 401);
      assert.equal((await call(`${url(1)}/admin/users`, 'GET', undefined, basic('admin'))).text.includes(token), false);
    });

    await t.test(
      'hostile credentials: oversized and malformed headers, huge AUTH arguments, unknown users, too many users',
      async () => {
        const huge = `Basic ${'A'.repeat(4000)}`;
        const oversized = await call(`${url(1)}/buckets/redis/keys/k`, 'GET', undefined, huge);
        assert.equal(oversized.status, 400);
        assert.equal(codeOf(oversized), 'EVERWRITE_BAD_REQUEST');
        for (const header of [
          'Basic !!!',
          `Basic ${Buffer.from('no-colon').toString('base64')}`,
          'Bearer',
          'Bearer ',
        ]) {
          const malformed = await call(`${url(1)}/buckets/redis/keys/k`, 'GET', undefined, header);
          assert.ok(malformed.status === 400 || malformed.status === 401, `${header}: ${malformed.status}`);
          assert.ok(['EVERWRITE_BAD_REQUEST', 'EVERWRITE_UNAUTHENTICATED'].includes(codeOf(malformed) ?? ''), header);
        }
        const otherScheme = await call(`${url(1)}/buckets/redis/keys/k`, 'GET', undefined, 'Digest username="admin"');
        assert.equal(otherScheme.status, 401);
        const client = await RespTestClient.connect(fixture.respPort(1));
        assert.match(
          errorText(await client.call('AUTH', 'x'.repeat(100_000), 'y'.repeat(100_000))) ?? '',
          /^WRONGPASS/,
        );
        assert.match(errorText(await client.call('AUTH', 'nobody', 'whatever-password')) ?? '', /^WRONGPASS/);
        assert.match(errorText(await client.call('AUTH', 'a', 'b', 'c')) ?? '', /^ERR syntax error/);
        assert.match(errorText(await client.call('HELLO', '3')) ?? '', /^NOAUTH/);
        client.close();
        const badName = await call(
          `${url(1)}/admin/users/${encodeURIComponent('bad name!')}`,
          'PUT',
          JSON.stringify({ roles: ['read'], password: 'long-enough-1' }),
          basic('admin'),
        );
        assert.equal(codeOf(badName), 'EVERWRITE_BAD_USER');
        const shortPassword = await call(
          `${url(1)}/admin/users/shorty`,
          'PUT',
          JSON.stringify({ roles: ['read'], password: 'short' }),
          basic('admin'),
        );
        assert.equal(codeOf(shortPassword), 'EVERWRITE_BAD_USER');
        const unknownRole = await call(
          `${url(1)}/admin/users/roley`,
          'PUT',
          JSON.stringify({ roles: ['root'], password: 'long-enough-1' }),
          basic('admin'),
        );
        assert.equal(codeOf(unknownRole), 'EVERWRITE_BAD_USER');
        const fifth = await call(
          `${url(1)}/admin/users/fifth`,
          'PUT',
          JSON.stringify({ roles: ['read'], password: 'long-enough-1' }),
          basic('admin'),
        );
        assert.equal(fifth.status, 200, 'the fifth user fits usersCountMax 5');
        const sixth = await call(
          `${url(1)}/admin/users/sixth`,
          'PUT',
          JSON.stringify({ roles: ['read'], password: 'long-enough-1' }),
          basic('admin'),
        );
        assert.equal(sixth.status, 409);
        assert.equal(codeOf(sixth), 'EVERWRITE_TOO_MANY_USERS');
        const unknownUser = await call(`${url(1)}/admin/users/nobody`, 'DELETE', undefined, basic('admin'));
        assert.equal(unknownUser.status, 404);
        assert.equal(codeOf(unknownUser), 'EVERWRITE_UNKNOWN_USER');
      },
    );

    await t.test(
      'brute force from one address hits the login limit; other addresses and the right password from elsewhere still work',
      async () => {
        const statuses: number[] = [];
        for (let attempt = 0; attempt < 12; attempt += 1)
          statuses.push(
            (
              await fetchFrom(
                '127.0.0.2',
                `${url(1)}/buckets/redis/keys/k`,
                `Basic ${Buffer.from(`admin:guess-${attempt}`).toString('base64')}`,
              )
            ).status,
          );
        assert.deepEqual(statuses.slice(0, 10), Array(10).fill(401));
        assert.deepEqual(statuses.slice(10), [429, 429]);
        const rightButLimited = await fetchFrom('127.0.0.2', `${url(1)}/buckets/redis/keys/k`, basic('admin'));
        assert.equal(rightButLimited.status, 429, 'a limited address is refused even with the right password');
        assert.equal(
          (await call(`${url(1)}/buckets/redis/keys/untouched`, 'GET', undefined, basic('admin'))).status,
          404,
          'other addresses are not limited',
        );
        const resp = await RespTestClient.connect(fixture.respPort(1), '127.0.0.2');
        assert.match(
          errorText(await resp.call('AUTH', 'admin', users.admin.password)) ?? '',
          /^BUSY EVERWRITE_AUTH_RATE_LIMITED/,
          'the limit is shared by HTTP and RESP',
        );
        resp.close();
        assert.doesNotMatch(
          fixture.logs(),
          /guess-\d|admin-password-1/,
          'failed logins are logged without the password',
        );
        assert.match(fixture.logs(), /failed login/);
      },
    );

    await t.test(
      'removing a user logs it out, at the node that removed it and, once it has learnt the removal, at another; the last admin cannot be removed while others exist',
      async () => {
        const session = await respSession(fixture.respPort(1), 'writer');
        const removed = await runCli(['user', 'remove', 'writer', '--node', url(1)], '', {
          EVERWRITE_USER: 'admin',
          EVERWRITE_PASSWORD: users.admin.password,
        });
        assert.equal(removed.code, 0, removed.stderr);
        assert.equal(errorText(await session.call('SET', 'k', 'v')), 'NOAUTH Authentication required.');
        session.close();
        await eventually(
          'node 3 to learn the removal',
          async () =>
            (await call(`${url(3)}/buckets/redis/keys/k`, 'PUT', 'v', basic('writer'))).status === 401
              ? true
              : undefined,
          { timeoutMs: 20_000 },
        );
        const lastAdmin = await call(`${url(1)}/admin/users/admin`, 'DELETE', undefined, basic('admin'));
        assert.equal(codeOf(lastAdmin), 'EVERWRITE_BAD_USER');
      },
    );

    fixture.assertNoCrashes();
  },
);

/** A GET from a chosen loopback source address (the login limit is per address). */
function fetchFrom(localAddress: string, url: string, authorization: string): Promise<{ status: number }> {
  return new Promise((resolve, reject) => {
    const outgoing = httpRequest(url, { localAddress, headers: { authorization }, timeout: 10_000 }, (response) => {
      response.resume();
      response.on('end', () => resolve({ status: response.statusCode ?? 0 }));
    });
    outgoing.on('timeout', () => outgoing.destroy(new Error('no answer in 10 s')));
    outgoing.on('error', reject);
    outgoing.end();
  });
}

testNeeding(
  missingTool('redis-cli', 'redis-tools'),
  'redis-cli --user --pass logs in at a node with users; a wrong password is WRONGPASS',
  { timeout: 120_000 },
  async (t) => {
    const fixture = await ClusterFixture.start({ name: 'auth-redis-cli', engine: 'memory', nodes: 1, partitions: 8 });
    t.after(() => fixture.stop());
    const added = await runCli(
      ['user', 'add', 'ops', '--role', 'admin', '--password-stdin', '--node', fixture.url(1)],
      'ops-password-1\n',
    );
    assert.equal(added.code, 0, added.stderr);
    const redisCli = (args: readonly string[]): Promise<Finished> =>
      runProcess('redis-cli', ['-h', '127.0.0.1', '-p', String(fixture.respPort(1)), ...args], '');
    assert.match(
      (await redisCli(['--user', 'ops', '--pass', 'ops-password-1', '--no-auth-warning', 'SET', 'greeting', 'hello']))
        .stdout,
      /OK/,
    );
    assert.match(
      (await redisCli(['--user', 'ops', '--pass', 'ops-password-1', '--no-auth-warning', 'GET', 'greeting'])).stdout,
      /hello/,
    );
    const wrong = await redisCli(['--user', 'ops', '--pass', 'wrong-password', '--no-auth-warning', 'GET', 'greeting']);
    assert.match(wrong.stdout + wrong.stderr, /WRONGPASS/);
    assert.match((await redisCli(['GET', 'greeting'])).stdout, /NOAUTH/);
  },
);

test(
  '--metrics-public: once users exist a scraper reads /metrics without credentials, and nothing else opens',
  { timeout: 120_000 },
  async (t) => {
    const fixture = await ClusterFixture.start({
      name: 'auth-metrics-public',
      engine: 'memory',
      nodes: 1,
      partitions: 8,
      extraArguments: ['--metrics-public'],
    });
    t.after(() => fixture.stop());
    const added = await runCli(
      ['user', 'add', 'ops', '--role', 'admin', '--password-stdin', '--node', fixture.url(1)],
      'ops-password-1\n',
    );
    assert.equal(added.code, 0, added.stderr);
    const metrics = await call(`${fixture.url(1)}/metrics`, 'GET', undefined);
    assert.equal(metrics.status, 200, metrics.text);
    assert.match(metrics.text, /^# (HELP|TYPE) everwrite_/m);
    for (const path of ['/admin/stats', '/admin/status', '/', '/buckets/b/keys/k']) {
      assert.equal(
        (await call(`${fixture.url(1)}${path}`, 'GET', undefined)).status,
        401,
        `${path} still needs credentials`,
      );
    }
  },
);

/** Runs `everwrite <args>` on a pseudo-terminal (util-linux `script`), typing `typed` once the prompt shows; resolves with what the terminal showed. */
function runCliOnTerminal(
  args: readonly string[],
  prompt: RegExp,
  typed: string,
  environment: Record<string, string>,
): Promise<Finished> {
  const command = [process.execPath, binPath, ...args].map((word) => `'${word.replaceAll("'", "'\\''")}'`).join(' ');
  return new Promise((resolve, reject) => {
    const child = spawn('script', ['-qfec', command, '/dev/null'], {
      env: { ...binEnvironment(), ...environment },
      stdio: ['pipe', 'pipe', 'pipe'],
      timeout: 60_000,
    });
    let stdout = '';
    let typedYet = false;
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString('utf8');
      if (!typedYet && prompt.test(stdout)) {
        typedYet = true;
        child.stdin.write(`${typed}\r`);
      }
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr: '' }));
  });
}

testNeeding(
  missingTool('script', 'util-linux', ['-V']),
  'user add asks for the password on a terminal without echoing it, and the user logs in with it',
  { timeout: 120_000 },
  async (t) => {
    const fixture = await ClusterFixture.start({ name: 'auth-prompt', engine: 'memory', nodes: 1, partitions: 8 });
    t.after(() => fixture.stop());
    const first = await runCliOnTerminal(
      ['user', 'add', 'ops', '--role', 'admin', '--node', fixture.url(1)],
      /password for ops: /,
      'typed-password-1',
      {},
    );
    assert.equal(first.code, 0, first.stdout);
    assert.match(first.stdout, /user ops: admin on every bucket/);
    assert.doesNotMatch(first.stdout, /typed-password-1/, 'the typed password is not echoed');
    const second = await runCliOnTerminal(
      ['user', 'add', 'viewer', '--role', 'read', '--node', fixture.url(1)],
      /password for viewer: /,
      'typed-password-2',
      { EVERWRITE_USER: 'ops', EVERWRITE_PASSWORD: 'typed-password-1' },
    );
    assert.equal(second.code, 0, second.stdout);
    assert.doesNotMatch(second.stdout, /typed-password-2/);
    const viewer = `Basic ${Buffer.from('viewer:typed-password-2').toString('base64')}`;
    assert.equal(
      (await call(`${fixture.url(1)}/buckets/b/keys/k`, 'GET', undefined, viewer)).status,
      404,
      'the prompted password logs in',
    );
    const noTerminal = await runCli(['user', 'add', 'nobody', '--role', 'read', '--node', fixture.url(1)], '', {
      EVERWRITE_USER: 'ops',
      EVERWRITE_PASSWORD: 'typed-password-1',
    });
    assert.equal(
      noTerminal.code,
      2,
      'without a terminal or --password-stdin the CLI refuses rather than reading a password from anywhere else',
    );
    assert.match(noTerminal.stderr, /--password-stdin/);
  },
);
