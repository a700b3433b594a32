// Why: unit tests of NodeRuntime run a few nodes in one process, over the in-memory network and
// memory engines, with the real core and stores. This builds them one way, so a test states only
// what it varies: the member ids, the partition count, the core's settings and the runtime's
// options beyond the ones every such node shares.
import { asNodeId, type NodeId } from '../../src/core/base/ids.ts';
import { md5 } from '../../src/core/base/md5.ts';
import { NodeCore } from '../../src/core/node/node-core.ts';
import type { NodeCoreSettings } from '../../src/core/node/options.ts';
import { createRing } from '../../src/core/ring/index.ts';
import { actorOf } from '../../src/core/versioning/index.ts';
import { HmacContextSeal } from '../../src/io/context-seal.ts';
import { MemoryEngine } from '../../src/io/storage/memory.ts';
import { systemClock, systemTimers } from '../../src/io/system-clock.ts';
import type { MemoryNetwork } from '../../src/io/transport/memory.ts';
import { HintStore } from '../../src/runtime/stores/hint-store.ts';
import { LocalStore } from '../../src/runtime/stores/local-store.ts';
import { NodeRuntime, type NodeRuntimeOptions } from '../../src/runtime/node-runtime.ts';

/** What every in-memory node shares; the rest of NodeRuntimeOptions is the test's. */
type SharedRuntimeOptions =
  'core' | 'clock' | 'timers' | 'transport' | 'store' | 'hints' | 'addresses' | 'md5' | 'contextSeal';

export interface MemoryRuntimesOptions {
  readonly ids: readonly string[];
  readonly partitionCount: number;
  readonly network: MemoryNetwork;
  readonly settings: Partial<NodeCoreSettings>;
  readonly runtime: Omit<NodeRuntimeOptions, SharedRuntimeOptions>;
  /** The cluster secret the nodes seal contexts with. */
  readonly secret: string;
}

export interface MemoryRuntimes {
  readonly ids: NodeId[];
  readonly runtimes: NodeRuntime[];
  readonly engines: MemoryEngine[];
}

/** Starts one runtime per id (actor `<id>.1`, a memory engine each), in order. */
export async function startMemoryRuntimes(options: MemoryRuntimesOptions): Promise<MemoryRuntimes> {
  const ids = options.ids.map(asNodeId);
  const ring = createRing({ partitionCount: options.partitionCount, members: ids.map((id) => ({ id })) });
  const contextSeal = new HmacContextSeal(new TextEncoder().encode(options.secret));
  const runtimes: NodeRuntime[] = [];
  const engines: MemoryEngine[] = [];
  for (const id of ids) {
    const engine = new MemoryEngine();
    await engine.open();
    engines.push(engine);
    const core = new NodeCore({ self: id, actor: actorOf(id, 1), ring, md5, settings: options.settings });
    const runtime = new NodeRuntime({
      ...options.runtime,
      core,
      clock: systemClock,
      timers: systemTimers,
      transport: options.network.transport(id),
      store: new LocalStore(engine),
      hints: await HintStore.open(engine),
      addresses: new Map(),
      md5,
      contextSeal,
    });
    await runtime.start();
    runtimes.push(runtime);
  }
  return { ids, runtimes, engines };
}
