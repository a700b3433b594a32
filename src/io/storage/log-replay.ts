// Why: replay decides what a crash leaves of the acknowledged writes, so it is kept on its own, with
// nothing of the live pipeline around it: read each log file oldest first, apply every intact
// record to the inner engine in runs, and stop at the first torn or corrupt record (a crash mid-append
// leaves one; nothing after it can have been acknowledged durably, docs/ARCHITECTURE.md section 3).
import type { StorageEngine } from '../../runtime/ports.ts';
import { ApplyPlan } from './apply-plan.ts';
import type { LogFileSystem } from './log-files.ts';
import { decodeLog } from './log-format.ts';

/** What the last open found in the log. */
export interface ReplayReport {
  /** Log files read (including one with a torn tail). */
  readonly files: number;
  /** Records applied to the inner engine. */
  readonly records: number;
  /** True when a torn or corrupt record ended the replay (expected after a crash mid-append). */
  readonly tornTail: boolean;
  /** Files after a torn one, left unread: nothing in them can have been acknowledged. */
  readonly ignoredFiles: number;
}

export const emptyReplayReport: ReplayReport = Object.freeze({
  files: 0,
  records: 0,
  tornTail: false,
  ignoredFiles: 0,
});

/** Operations gathered from the log before replay applies them to the inner engine. */
const replayRunOperations = 50_000;

/** Applies every intact record of `files` (oldest first) to `inner`, stopping at the first torn or corrupt one. */
export async function replayLog(
  fileSystem: LogFileSystem,
  files: ReadonlyArray<{ readonly path: string }>,
  inner: StorageEngine,
  recordBytesMax: number,
): Promise<ReplayReport> {
  let records = 0;
  let tornTail = false;
  let read = 0;
  for (const file of files) {
    if (tornTail) break;
    read++;
    const decoded = decodeLog(await fileSystem.read(file.path), recordBytesMax);
    let plan = new ApplyPlan();
    for (const record of decoded.records) {
      if (record.kind === 'drop') plan.addDrop(record.namespace);
      else plan.addBatch(record.namespace, record.operations);
      if (plan.size >= replayRunOperations) {
        await plan.execute(inner);
        plan = new ApplyPlan();
      }
    }
    await plan.execute(inner);
    records += decoded.records.length;
    tornTail = decoded.tornTail;
  }
  return { files: read, records, tornTail, ignoredFiles: files.length - read };
}
