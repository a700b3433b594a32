// Why: `everwrite dev` reads commands typed on its standard input; whatever is typed must end in a
// known command or in the help line, never in a restart of something that is not a node.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseDevCommand } from '../../../../src/cli/commands/dev.ts';

test('dev reads "restart <id>" and "status"; blank lines are ignored and anything else gets the help line', () => {
  assert.deepEqual(parseDevCommand('restart n2'), { verb: 'restart', id: 'n2' });
  assert.deepEqual(parseDevCommand('  restart   n3  '), { verb: 'restart', id: 'n3' });
  assert.deepEqual(parseDevCommand('status'), { verb: 'status' });
  assert.deepEqual(parseDevCommand(''), { verb: 'none' });
  assert.deepEqual(parseDevCommand(' \t '), { verb: 'none' });
  for (const line of [
    'restart',
    'restart n1 n2',
    'status now',
    'stop n1',
    'RESTART n1',
    '\u0000\u0001',
    'x'.repeat(100_000),
  ]) {
    assert.deepEqual(parseDevCommand(line), { verb: 'help' }, JSON.stringify(line.slice(0, 20)));
  }
});
