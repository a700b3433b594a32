// Why: removing a reaped key's context-only record (decision 0019) would let the next version of the
// key reuse a dot the removed context named, and a client still holding an old context would then
// silently supersede that new version (the dot reuse decision 0002 kept the context for). So a
// removal merges the context into its partition's counter floor, stored in the partition's own
// namespace under a key no storage key can be (storage keys are at least two bytes), in the same
// batch as the removal; every version this replica mints in the partition starts past the floor.
// The floor holds one entry per actor that ever wrote a removed key of the partition: bounded by the
// actors, not by the keys.
import {
  decodeRecord,
  encodeRecord,
  mergeContexts,
  type Actor,
  type VersionVector,
  type VersionedRecord,
} from '../../core/versioning/index.ts';
import type { BatchOperation, StorageEngine, SyncRead } from '../ports.ts';

/** The floor's key in each partition's namespace: one byte, shorter than any storage key. */
export const counterFloorKey = new Uint8Array([0]);

const noFloor: VersionVector = new Map();

export class CounterFloors {
  /** Loaded floors by partition; a partition absent here is read from the engine first. */
  private readonly floors = new Map<number, VersionVector>();

  /** The partition's floor, read with `readNow` the first time (engines that read synchronously). */
  loadNow(readNow: SyncRead, partition: number): VersionVector {
    const known = this.floors.get(partition);
    if (known !== undefined) return known;
    const floor = decodeFloor(readNow(partition, counterFloorKey));
    this.floors.set(partition, floor);
    return floor;
  }

  /** The partition's floor: at once once known (a mint's common case), else read from the engine. */
  load(engine: StorageEngine, partition: number): VersionVector | Promise<VersionVector> {
    return this.floors.get(partition) ?? this.read(engine, partition);
  }

  private async read(engine: StorageEngine, partition: number): Promise<VersionVector> {
    const floor = decodeFloor(await engine.get(partition, counterFloorKey));
    // A removal may have raised it while this read was under way: that one is newer.
    if (!this.floors.has(partition)) this.floors.set(partition, floor);
    return this.floors.get(partition) as VersionVector;
  }

  /**
   * Raises the partition's floor by `context` (synchronously, so two removals in one partition
   * both land in it) and answers the write that stores it; `loaded` is the floor as loadNow/load
   * gave it, read again here in case another removal raised it since.
   */
  raised(partition: number, context: VersionVector, loaded: VersionVector): BatchOperation {
    const floor = mergeContexts(this.floors.get(partition) ?? loaded, context);
    this.floors.set(partition, floor);
    return { type: 'put', key: counterFloorKey, value: encodeRecord({ context: floor, siblings: [] }) };
  }

  /**
   * The record a mint of `actor` starts from: `stored`, with the actor's entry raised to the floor
   * when the floor is higher (the key is absent here, or it came back from another replica after
   * its removal, without this node's entry), so the new dot is past every removed one.
   */
  above(stored: VersionedRecord, actor: Actor, floor: VersionVector): VersionedRecord {
    const counter = floor.get(actor);
    if (counter === undefined || (stored.context.get(actor) ?? 0) >= counter) return stored;
    return { context: new Map(stored.context).set(actor, counter), siblings: stored.siblings };
  }
}

function decodeFloor(bytes: Uint8Array | undefined): VersionVector {
  return bytes === undefined ? noFloor : decodeRecord(bytes).context;
}
