// Why: the bench must carry the CLI's credentials to a secured --target the way every command does
// (the environment, never a flag), and must tell a refusal (which every later request would meet
// too) from an ordinary error by the codes each protocol gives it, so it can stop at the first.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rootCertificates } from 'node:tls';
import {
  RefusalWatch,
  accessFromEnvironment,
  checkRespAccess,
  refusalMessage,
  refusalOf,
} from '../../../../src/cli/bench/access.ts';

test('accessFromEnvironment: Basic or Bearer once, RESP login only from a user, --ca added to the roots', () => {
  const basic = accessFromEnvironment({ EVERWRITE_USER: 'ops', EVERWRITE_PASSWORD: 'pw' }, undefined);
  assert.equal(basic.authorization, `Basic ${Buffer.from('ops:pw').toString('base64')}`);
  assert.deepEqual(basic.credentials, { user: 'ops', password: 'pw' });
  assert.deepEqual(basic.respLogin, { user: 'ops', password: 'pw' });
  assert.equal(basic.ca, undefined);
  const token = accessFromEnvironment({ EVERWRITE_TOKEN: 'ew_t' }, 'PEM');
  assert.equal(token.authorization, 'Bearer ew_t');
  assert.equal(token.respLogin, undefined);
  assert.deepEqual(token.ca, [...rootCertificates, 'PEM']);
  const none = accessFromEnvironment({}, undefined);
  assert.equal(none.authorization, undefined);
  assert.deepEqual(none.credentials, {});
});

test('checkRespAccess refuses a token alone, which RESP cannot log in with', () => {
  assert.throws(
    () => checkRespAccess(accessFromEnvironment({ EVERWRITE_TOKEN: 'ew_t' }, undefined)),
    /set EVERWRITE_USER and EVERWRITE_PASSWORD/,
  );
  checkRespAccess(
    accessFromEnvironment({ EVERWRITE_TOKEN: 'ew_t', EVERWRITE_USER: 'u', EVERWRITE_PASSWORD: 'p' }, undefined),
  );
  checkRespAccess(accessFromEnvironment({}, undefined));
});

test('refusalOf names the refusals of HTTP, RESP and the client, and nothing else', () => {
  for (const code of [
    'HTTP 401 EVERWRITE_UNAUTHENTICATED',
    'HTTP 401',
    'EVERWRITE_AUTH_FAILED',
    'HTTP 429 EVERWRITE_AUTH_RATE_LIMITED',
    'RESP NOAUTH',
    'RESP WRONGPASS',
  ])
    assert.equal(refusalOf(code), 'unauthenticated', code);
  for (const code of ['HTTP 403 EVERWRITE_FORBIDDEN', 'EVERWRITE_FORBIDDEN', 'RESP NOPERM'])
    assert.equal(refusalOf(code), 'forbidden', code);
  assert.equal(refusalOf('RESP EVERWRITE_PROTECTED_MODE'), 'protectedMode');
  for (const code of [
    undefined,
    'HTTP 503 EVERWRITE_QUORUM_NOT_MET',
    'HTTP 429 EVERWRITE_RATE_LIMITED',
    'timeout',
    'ECONNREFUSED',
  ])
    assert.equal(refusalOf(code), undefined, code);
});

test('RefusalWatch keeps the first refusal and words it by whether credentials were given', () => {
  const watch = new RefusalWatch();
  assert.equal(watch.noteError({ kind: 'error', code: 'timeout' }), false);
  assert.doesNotThrow(() => watch.throwIfRefused(accessFromEnvironment({}, undefined), 'bench'));
  assert.equal(watch.noteError({ kind: 'error', code: 'RESP NOAUTH' }), true);
  assert.equal(watch.noteError({ kind: 'error', code: 'RESP NOPERM' }), true);
  assert.throws(
    () => watch.throwIfRefused(accessFromEnvironment({}, undefined), 'redis'),
    /\(RESP NOAUTH\): it has users; set EVERWRITE_USER and EVERWRITE_PASSWORD \(or EVERWRITE_TOKEN\) to a user with the read and write roles on bucket redis/,
  );
  const given = accessFromEnvironment({ EVERWRITE_TOKEN: 'ew_t' }, undefined);
  assert.match(refusalMessage('unauthenticated', 'HTTP 401', given, 'b'), /were not accepted/);
  assert.match(
    refusalMessage('forbidden', 'RESP NOPERM', given, 'b'),
    /lacks a role; the bench needs read and write on bucket b/,
  );
});
