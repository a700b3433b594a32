// Why: tombstones may only disappear when no replica can bring the deleted value back. A coordinator
// schedules a reap only after every primary confirmed holding the very same tombstone, and each
// replica drops the key only if what it holds still equals that tombstone exactly (any newer write
// or missed sibling keeps it). Never by wall-clock guesswork alone (docs/ARCHITECTURE.md section 1).
import { encodeRecord, type VersionedRecord } from '../versioning/index.ts';
import type { NodeKernel } from './kernel.ts';
import type { RequestPlan } from './request-plan.ts';

export function scheduleReap(kernel: NodeKernel, plan: Pick<RequestPlan, 'partition' | 'storageKey' | 'primaries'>, record: VersionedRecord): void {
  kernel.setTimer(kernel.settings.reapDelayMs, () => {
    const encoded = encodeRecord(record);
    for (const primary of plan.primaries) {
      if (primary === kernel.self) {
        kernel.emit({ type: 'storeReap', partition: plan.partition, storageKey: plan.storageKey, record });
      } else {
        kernel.send(primary, { type: 'reap', partition: plan.partition, storageKey: plan.storageKey, record: encoded });
      }
    }
  });
}
