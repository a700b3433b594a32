// Why: a join request and the view a joining node adopts cross plain HTTP (decision 0017); the tag
// under the cluster secret is all that keeps a stranger out and a forged view away. It must accept
// exactly its own tags: not another secret's, not another purpose's, not another payload's, and
// never throw on a malformed tag from the network.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { JoinProof, joinTagChars } from '../../../src/io/join-proof.ts';

const secret = new TextEncoder().encode('a cluster secret of 32 bytes....');
const proof = new JoinProof(secret);

test('a tag checks for its secret, purpose and payload, and for nothing else', () => {
  const tag = proof.tag('join', 'member n4');
  assert.equal(tag.length, joinTagChars);
  assert.equal(proof.verify('join', 'member n4', tag), true);
  assert.equal(
    new JoinProof(secret).verify('join', new TextEncoder().encode('member n4'), tag),
    true,
    'bytes and text of the same payload agree',
  );
  assert.equal(proof.verify('view', 'member n4', tag), false, 'a join proof is not a view tag');
  assert.equal(proof.verify('join', 'member n5', tag), false);
  assert.equal(
    new JoinProof(new TextEncoder().encode('another secret of 32 bytes......')).verify('join', 'member n4', tag),
    false,
  );
});

test('malformed tags are refused without throwing', () => {
  for (const tag of [
    undefined,
    null,
    7,
    {},
    '',
    'z'.repeat(joinTagChars),
    'A'.repeat(joinTagChars),
    '0'.repeat(joinTagChars - 1),
    '0'.repeat(joinTagChars + 1),
    'é'.repeat(joinTagChars),
  ]) {
    assert.equal(proof.verify('join', 'member n4', tag), false, JSON.stringify(tag));
  }
});
