// Why: a command's key arguments decide which keys ACLs check (access.ts) and which commands of a
// pipeline wait for one another (connection.ts). They are picked by the spec's first key, last key
// (negative: from the end) and step; the array is sized up front, so a miscounted size would leave
// holes or drop keys. Checked here for every shape the command table uses.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildCommandTable, keyArguments, mapKeyArguments } from '../../../../../src/api/resp/commands/index.ts';
import type { CommandSpec } from '../../../../../src/api/resp/context.ts';

const table = buildCommandTable();

function spec(name: string): CommandSpec {
  const found = table.get(name);
  assert.ok(found !== undefined, `${name} is in the command table`);
  return found;
}

function args(...words: string[]): Buffer[] {
  return words.map((word) => Buffer.from(word));
}

function texts(keys: readonly Buffer[]): string[] {
  return keys.map((key) => key.toString('latin1'));
}

test('key arguments: one key, every key to the end, every other argument, none, and fewer arguments than the spec names', () => {
  assert.deepEqual(texts(keyArguments(spec('set'), args('SET', 'k', 'v', 'EX', '10'))), ['k']);
  assert.deepEqual(texts(keyArguments(spec('del'), args('DEL', 'a', 'b', 'c'))), ['a', 'b', 'c']);
  assert.deepEqual(texts(keyArguments(spec('mset'), args('MSET', 'a', '1', 'b', '2', 'c', '3'))), ['a', 'b', 'c']);
  assert.deepEqual(texts(keyArguments(spec('ping'), args('PING'))), []);
  assert.deepEqual(texts(keyArguments(spec('get'), args('GET'))), []);
  assert.deepEqual(texts(keyArguments(spec('mset'), args('MSET', 'a'))), ['a']);
});

test('mapKeyArguments hands each key and the context to the map, in order, with no hole', () => {
  const mapped = mapKeyArguments(
    spec('mset'),
    args('MSET', 'a', '1', 'b', '2'),
    (raw, prefix: string) => `${prefix}:${raw.toString('latin1')}`,
    'bucket',
  );
  assert.deepEqual(mapped, ['bucket:a', 'bucket:b']);
  assert.equal(Object.keys(mapped).length, mapped.length, 'every slot of the array is filled');
});
