// Why: decision 0041 cuts the contexts handed to clients down to a bound while records keep every
// writer epoch, and claims that this never loses an update. Here every context a client is handed
// keeps only its siblings' writers and one more entry (`clientContextEntriesMax` 1), so nearly every
// read-modify-write of the workload runs on a cut context, under partitions, crashes (each one a new
// epoch, decision 0008), wiped disks and disk faults. The runs must lose nothing, read no deleted
// element again, and converge; with read-free, anti-entropy alone must make the primaries agree. Each
// seed also runs without the cut: the traces differ, which shows the cut changed what clients sent.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runSimulation, type SimOptions } from '../../src/sim/index.ts';

const seeds: ReadonlyArray<SimOptions & { readonly why: string }> = [
  { seed: 2, why: 'partitions, 15 crashes, pauses, storms and skews' },
  { seed: 3, why: 'crashes, disk faults and a wiped disk' },
  { seed: 4, faults: ['partition', 'crash', 'wipe'], readFree: true, why: 'read-free: anti-entropy alone converges' },
];

for (const options of seeds) {
  test(`context truncation: seed ${options.seed} with contexts cut to their siblings' writers and one more entry loses nothing: ${options.why}`, async (t) => {
    const { why: _why, ...simOptions } = options;
    const cut = await runSimulation({ ...simOptions, clientContextEntriesMax: 1 });
    t.diagnostic(
      `seed ${cut.seed}: acknowledged ${cut.acknowledged}, lost ${cut.lost}, resurrected ${cut.resurrected}, most siblings ${cut.siblingsMax}, converged ${cut.converged}; reproduce: ${cut.command}`,
    );
    assert.equal(cut.ok, true, cut.failures.join('; '));
    assert.equal(cut.lost, 0);
    assert.equal(cut.resurrected, 0);
    assert.equal(cut.converged, true);
    assert.ok(cut.acknowledged > 0, 'the workload wrote');
    assert.match(cut.command, /--client-context-entries-max 1/);
    const whole = await runSimulation(simOptions);
    assert.equal(whole.ok, true, whole.failures.join('; '));
    assert.notEqual(cut.traceHash, whole.traceHash, 'the cut changed the contexts clients carried');
  });
}
