// Why: bench/alloc-per-set.ts must count every byte a node process allocates over a fixed run,
// the garbage included, and say which functions allocated it. `process.memoryUsage()` deltas miss
// whatever the collector freed, and Node 20's `v8.getHeapStatistics()` has no allocation counter.
// V8's sampling heap profiler does count it when asked to keep the samples of objects a major or
// minor GC collected (`includeObjectsCollectedByMajorGC/MinorGC`). This module is preloaded into
// every node of the benchmark's cluster (`node --import tsx --import bench/heap-sampling-probe.ts`)
// and drives that profiler through an in-process inspector session, so no debugger port is opened.
// While EVERWRITE_HEAP_PROBE_DIRECTORY names a directory, each SIGUSR2 toggles sampling: the first
// starts it and writes `<pid>.started` there, the next stops it and writes `<pid>.heapprofile` (the
// profile's JSON). Without that variable it does nothing.
import { renameSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { join } from 'node:path';

const directory = process.env.EVERWRITE_HEAP_PROBE_DIRECTORY;
/** Bytes between samples on average: V8 scales each sample by it, so totals stay unbiased; smaller is finer. */
const samplingIntervalBytes = Number(process.env.EVERWRITE_HEAP_PROBE_INTERVAL_BYTES ?? 4096);

/** Writes through a temporary name, so the benchmark never reads half a file. */
function publish(name: string, text: string): void {
  const path = join(directory as string, name);
  writeFileSync(`${path}.partial`, text);
  renameSync(`${path}.partial`, path);
}

/** Node 20's typings predate the two flags; V8 11 (Node 20) honours them. */
const countingGarbage = {
  samplingInterval: samplingIntervalBytes,
  includeObjectsCollectedByMajorGC: true,
  includeObjectsCollectedByMinorGC: true,
};

if (directory !== undefined) {
  const session = new Session();
  session.connect();
  session.post('HeapProfiler.enable');
  let sampling = false;
  process.on('SIGUSR2', () => {
    if (!sampling) {
      sampling = true;
      session.post('HeapProfiler.startSampling', countingGarbage, () => publish(`${process.pid}.started`, ''));
      return;
    }
    sampling = false;
    session.post('HeapProfiler.stopSampling', (error, result) => {
      publish(`${process.pid}.heapprofile`, error === null ? JSON.stringify(result.profile) : '{}');
    });
  });
}
