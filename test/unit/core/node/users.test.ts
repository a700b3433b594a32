// Why: the users table (decision 0025) is state any admin can add to and every node repeats to its
// peers, and its entries decide who may do what. These tests hold its bounds (usersCountMax, field
// checks), its spreading (a user set on one core reaches another through the wire codec), that a
// peer's hostile entry is dropped, the access rules every route and command carries, and the
// failed-login limiter's window and bounded table.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { asNodeId } from '../../../../src/core/base/ids.ts';
import type { Effect } from '../../../../src/core/node/effects.ts';
import { NodeCore } from '../../../../src/core/node/node-core.ts';
import type { NewUser } from '../../../../src/core/node/users.ts';
import type { Message, UserEntry } from '../../../../src/core/protocol/messages.ts';
import { createRing } from '../../../../src/core/ring/index.ts';
import { actorOf } from '../../../../src/core/versioning/index.ts';
import { decodeMessages, encodeMessages } from '../../../../src/core/protocol/codec/message-codec.ts';
import { accessRules, allows } from '../../../../src/api/auth/access.ts';
import { LoginLimiter } from '../../../../src/api/auth/login-limiter.ts';
import { hashPassword, verifyPassword } from '../../../../src/api/auth/passwords.ts';
import { isOwnMachine } from '../../../../src/api/auth/loopback.ts';
import { routes } from '../../../../src/api/http/routes.ts';
import { buildCommandTable } from '../../../../src/api/resp/commands/index.ts';
import { md5 } from '../../../support/core-cluster.ts';

const ids = [asNodeId('n1'), asNodeId('n2')];
const ring = createRing({ partitionCount: 8, members: ids.map((id) => ({ id })) });
const user = (name: string): NewUser => ({
  name,
  roles: ['read'],
  bucket: 'carts',
  passwordHash: 'scrypt$16384$8$1$c2FsdA$aGFzaA',
  tokenHash: '',
});

function cores(usersCountMax = 1000): [NodeCore, NodeCore] {
  return ids.map((id) => new NodeCore({ self: id, actor: actorOf(id, 1), ring, md5, settings: { usersCountMax } })) as [
    NodeCore,
    NodeCore,
  ];
}

/** Steps `core` and returns what it emitted; messages it sends go through the wire codec. */
function step(core: NodeCore, event: Parameters<NodeCore['step']>[0]): Effect[] {
  core.step(event);
  return core
    .takeEffects()
    .map((effect) =>
      effect.type === 'send'
        ? { ...effect, message: decodeMessages(encodeMessages([effect.message]))[0] as Message }
        : effect,
    );
}

function setUser(core: NodeCore, entry: NewUser, requestId = 1): Effect[] {
  return step(core, {
    type: 'clientSetUser',
    nowMs: 0,
    requestId,
    user: entry,
    realtimeMs: 1_800_000_000_000 + requestId,
  });
}

function replyOf(effects: readonly Effect[]): Extract<Effect, { type: 'reply' }>['outcome'] {
  const reply = effects.find((effect) => effect.type === 'reply');
  assert.ok(reply !== undefined && reply.type === 'reply');
  return reply.outcome;
}

test('a user set on one node reaches the other through the codec, is saved by both, and a delete follows the same way', () => {
  const [first, second] = cores();
  const effects = setUser(first, user('alice'));
  assert.equal(replyOf(effects).ok, true);
  assert.ok(effects.some((effect) => effect.type === 'usersSave'));
  const sent = effects.filter((effect): effect is Extract<Effect, { type: 'send' }> => effect.type === 'send');
  assert.equal(sent.length, 1);
  const received = step(second, {
    type: 'message',
    nowMs: 0,
    from: ids[0] as never,
    message: (sent[0] as Extract<Effect, { type: 'send' }>).message,
  });
  assert.ok(received.some((effect) => effect.type === 'usersSave'));
  assert.deepEqual(second.user('alice')?.roles, ['read']);
  assert.equal(second.user('alice')?.bucket, 'carts');
  const removal = step(first, {
    type: 'clientDeleteUser',
    nowMs: 0,
    requestId: 2,
    name: 'alice',
    realtimeMs: 1_800_000_000_100,
  });
  for (const effect of removal)
    if (effect.type === 'send')
      step(second, { type: 'message', nowMs: 0, from: ids[0] as never, message: effect.message });
  assert.equal(second.user('alice'), undefined);
  assert.equal(second.hasUsers, false);
});

test('bounds: usersCountMax, names, roles, hashes; deleting an unknown user is EVERWRITE_UNKNOWN_USER', () => {
  const [first] = cores(2);
  assert.equal(replyOf(setUser(first, user('a'), 1)).ok, true);
  assert.equal(replyOf(setUser(first, user('b'), 2)).ok, true);
  const full = replyOf(setUser(first, user('c'), 3));
  assert.ok(!full.ok && full.error.code === 'EVERWRITE_TOO_MANY_USERS');
  assert.equal(
    replyOf(setUser(first, { ...user('a'), roles: ['write'] }, 4)).ok,
    true,
    'replacing an existing user is not adding one',
  );
  for (const bad of [
    user(''),
    user('x'.repeat(65)),
    user('bad name'),
    { ...user('r'), roles: [] },
    { ...user('r'), roles: ['root' as never] },
    { ...user('r'), roles: ['read', 'read'] as never },
    { ...user('t'), tokenHash: 'not-hex' },
    { ...user('h'), passwordHash: 'x'.repeat(257) },
    { ...user('e'), passwordHash: '' },
  ]) {
    const [fresh] = cores();
    const outcome = replyOf(setUser(fresh, bad as NewUser, 5));
    assert.ok(!outcome.ok && outcome.error.code === 'EVERWRITE_BAD_USER', JSON.stringify(bad).slice(0, 80));
  }
  const unknown = replyOf(
    step(first, { type: 'clientDeleteUser', nowMs: 0, requestId: 6, name: 'nobody', realtimeMs: 1 }),
  );
  assert.ok(!unknown.ok && unknown.error.code === 'EVERWRITE_UNKNOWN_USER');
});

test("a peer's entries are checked like a client's: a bad name, an origin outside the ring or an impossible version is dropped and logged", () => {
  const [, second] = cores();
  const base: UserEntry = { ...user('mallory'), roles: ['admin'], version: 5, origin: 'n1' };
  const hostile: UserEntry[] = [
    { ...base, name: 'has space' },
    { ...base, origin: 'outsider' },
    { ...base, version: -1 },
    { ...base, tokenHash: 'zz' },
  ];
  const effects = step(second, {
    type: 'message',
    nowMs: 0,
    from: ids[0] as never,
    message: { type: 'users', entries: hostile },
  });
  assert.equal(second.hasUsers, false);
  assert.ok(effects.some((effect) => effect.type === 'log' && effect.message === 'users from a peer dropped'));
  assert.throws(
    () => decodeMessages(Buffer.from([0xc1, 1, 10 | 0x40])),
    { code: 'EVERWRITE_BAD_FRAME' },
    'an unknown flag on a users message',
  );
});

test('every HTTP route method and RESP command carries a known access rule', () => {
  for (const route of Object.values(routes)) {
    for (const method of Object.keys(route.handlers))
      assert.ok(accessRules.includes(route.access[method] as never), `${method} ${route.template}`);
  }
  for (const spec of buildCommandTable().values()) assert.ok(accessRules.includes(spec.access), spec.name);
  assert.equal(routes.health.access.GET, 'public');
});

test('allows: admin does everything, read/write only on their bucket, nothing grants admin but admin', () => {
  const reader: UserEntry = { ...user('r'), version: 1, origin: 'n1' };
  const admin: UserEntry = { ...reader, roles: ['admin'], bucket: '' };
  assert.equal(allows(reader, 'read', 'carts'), true);
  assert.equal(allows(reader, 'read', 'other'), false);
  assert.equal(allows(reader, 'write', 'carts'), false);
  assert.equal(allows(reader, 'admin', ''), false);
  assert.equal(allows(reader, 'user', ''), true);
  for (const rule of accessRules) assert.equal(allows(admin, rule, 'any'), true, rule);
});

test('the login limiter refuses an address after its failures until the window ends, and its table stays bounded', () => {
  const limiter = new LoginLimiter({ failuresPerWindowMax: 3, windowMs: 1000, addressesTrackedMax: 100 });
  for (let attempt = 0; attempt < 3; attempt += 1) {
    assert.equal(limiter.retryAfterMs('10.0.0.1', attempt), 0);
    limiter.recordFailure('10.0.0.1', attempt);
  }
  assert.equal(limiter.retryAfterMs('10.0.0.1', 10), 990);
  assert.equal(limiter.retryAfterMs('10.0.0.2', 10), 0, 'another address is not limited');
  assert.equal(limiter.retryAfterMs('10.0.0.1', 1000), 0, 'the window ended');
  for (let index = 0; index < 10_000; index += 1) limiter.recordFailure(`10.1.${index >> 8}.${index & 255}`, 5);
  assert.ok(limiter.addressesTracked <= 100, `${limiter.addressesTracked} addresses tracked`);
});

test('a scrypt hash verifies its password only, and a stored text with hostile parameters is refused without computing', async () => {
  const stored = await hashPassword('correct horse');
  assert.match(stored, /^scrypt\$16384\$8\$1\$/);
  assert.equal(await verifyPassword('correct horse', stored), true);
  assert.equal(await verifyPassword('correct horsE', stored), false);
  assert.equal(await verifyPassword('correct horse', stored.replace('scrypt$16384', 'scrypt$1073741824')), false);
  assert.equal(await verifyPassword('x', 'not-a-hash'), false);
});

test("the node's own machine: loopback, or a client whose address is the node's own local address; never another address", () => {
  assert.ok(isOwnMachine('127.0.0.1', '127.0.0.1'));
  assert.ok(isOwnMachine('127.0.0.2', '10.0.0.1'));
  assert.ok(isOwnMachine('::1', '::1'));
  assert.ok(isOwnMachine('::ffff:127.0.0.1', '::ffff:10.0.0.1'));
  assert.ok(isOwnMachine('10.0.0.1', '10.0.0.1'), 'dialled its own LAN address from its own machine');
  assert.ok(isOwnMachine('::ffff:10.0.0.1', '10.0.0.1'));
  assert.ok(!isOwnMachine('10.0.0.2', '10.0.0.1'));
  assert.ok(!isOwnMachine('fd00::2', 'fd00::1'));
  assert.ok(!isOwnMachine('', ''), "an unknown address is not the node's");
  assert.ok(!isOwnMachine('not an address', 'not an address'));
});
