// Why: the failure detector's four settings come from operators (--settings-json); a probe timeout
// that is not shorter than the probe interval would leave no time for the indirect probe, and must
// be refused with a clear message rather than reach the core's assertion.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseSettingsJson } from '../../../../src/cli/commands/node.ts';
import { defaultNodeCoreSettings, resolveSettings } from '../../../../src/core/node/options.ts';

test('liveness settings: documented defaults, accepted from --settings-json, a probe timeout not below the interval refused', () => {
  assert.equal(defaultNodeCoreSettings.livenessProbeIntervalMs, 1000);
  assert.equal(defaultNodeCoreSettings.livenessProbeTimeoutMs, 400);
  assert.equal(defaultNodeCoreSettings.livenessIndirectProbeCount, 3);
  assert.equal(defaultNodeCoreSettings.livenessSuspicionTimeoutMs, 3000);
  assert.deepEqual(
    parseSettingsJson(
      '{"livenessProbeIntervalMs":500,"livenessProbeTimeoutMs":200,"livenessIndirectProbeCount":2,"livenessSuspicionTimeoutMs":9000}',
      3,
    ),
    {
      livenessProbeIntervalMs: 500,
      livenessProbeTimeoutMs: 200,
      livenessIndirectProbeCount: 2,
      livenessSuspicionTimeoutMs: 9000,
    },
  );
  assert.throws(
    () => parseSettingsJson('{"livenessProbeTimeoutMs":1000}', 3),
    /livenessProbeTimeoutMs \(1000\) must be shorter than livenessProbeIntervalMs \(1000\)/,
  );
  assert.throws(() => parseSettingsJson('{"livenessProbeIntervalMs":300}', 3), /must be shorter/);
  assert.throws(() => parseSettingsJson('{"livenessIndirectProbeCount":0}', 3), /positive integer/);
  assert.throws(() => resolveSettings({ livenessProbeTimeoutMs: 2000 }), /shorter than livenessProbeIntervalMs/);
});

test('--settings-json takes clientContextEntriesMax up to contextEntriesMax and refuses more with a message, not an assertion', () => {
  assert.deepEqual(parseSettingsJson('{"clientContextEntriesMax":1}', 3), { clientContextEntriesMax: 1 });
  assert.equal(resolveSettings({ clientContextEntriesMax: 1024 }).clientContextEntriesMax, 1024);
  assert.throws(
    () => parseSettingsJson('{"clientContextEntriesMax":1025}', 3),
    /clientContextEntriesMax must be at most 1024, got 1025/,
  );
  assert.throws(() => parseSettingsJson('{"clientContextEntriesMax":0}', 3), /positive integer/);
});
