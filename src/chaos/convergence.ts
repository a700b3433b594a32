// Why: "converged" means every primary replica of a key holds the same versions (or all hold none:
// a write that failed everywhere), read straight
// from each node's own store (/admin/local, no quorum). The primaries are computed exactly as the
// nodes compute them: the ring from /admin/ring, the key's MD5 placement, the first N distinct
// owners. Unconverged keys are read through a quorum GET each round, which triggers read repair.
import { md5 } from '../core/base/md5.ts';
import { keyHash, partitionOf, primaryNodes, ringFromJSON, type Ring } from '../core/ring/index.ts';
import type { ChaosNode } from './nodes.ts';
import { bucket, readKey } from './workload.ts';

export const replicaCount = 3;
const requestTimeoutMs = 3000;

export async function fetchRing(nodes: readonly ChaosNode[]): Promise<Ring> {
  for (const node of nodes) {
    try {
      const response = await fetch(`${node.url}/admin/ring`, { signal: AbortSignal.timeout(requestTimeoutMs) });
      if (response.ok) return ringFromJSON(await response.json());
    } catch {
      // try the next node
    }
  }
  throw new Error('no node answered /admin/ring');
}

/** A replica's versions as a comparable string ('<none>' when it holds no live version); undefined when it failed to answer. */
async function localVersions(node: ChaosNode, key: string): Promise<string | undefined> {
  try {
    const response = await fetch(`${node.url}/admin/local/buckets/${bucket}/keys/${encodeURIComponent(key)}`, {
      signal: AbortSignal.timeout(requestTimeoutMs),
    });
    if (response.status !== 200) {
      await response.arrayBuffer();
      return response.status === 404 ? '<none>' : undefined;
    }
    const body = (await response.json()) as { siblings?: { value?: string; deleted?: boolean }[] };
    return (body.siblings ?? [])
      .map((sibling) => (sibling.deleted === true ? '<deleted>' : (sibling.value ?? '')))
      .sort()
      .join('|');
  } catch {
    return undefined;
  }
}

export async function primaryVersions(
  ring: Ring,
  nodes: readonly ChaosNode[],
  key: string,
): Promise<Array<[string, string | undefined]>> {
  const primaries = primaryNodes(ring, partitionOf(ring, keyHash(md5, bucket, key)), replicaCount);
  return Promise.all(
    primaries.map(async (id): Promise<[string, string | undefined]> => {
      const node = nodes.find((candidate) => candidate.id === id);
      return [id, node === undefined ? undefined : await localVersions(node, key)];
    }),
  );
}

export async function keyConverged(ring: Ring, nodes: readonly ChaosNode[], key: string): Promise<boolean> {
  const versions = (await primaryVersions(ring, nodes, key)).map(([, version]) => version);
  return versions.every((version) => version !== undefined && version === versions[0]);
}

async function describeKey(ring: Ring, nodes: readonly ChaosNode[], key: string): Promise<string> {
  const versions = await primaryVersions(ring, nodes, key);
  const quorum = await readKey(nodes[0] as ChaosNode, key, requestTimeoutMs);
  return `${key}: ${versions.map(([id, version]) => `${id}=${version === undefined ? '-' : version.slice(0, 60)}`).join(' ')}; GET via ${nodes[0]?.id ?? '?'} -> ${quorum.status} [${[...quorum.elements].slice(0, 20).join(',')}${quorum.elements.size > 20 ? ',…' : ''}]`;
}

/** Runs `work` over `items` with at most `concurrency` in flight. */
export async function forEachLimited<T>(
  items: readonly T[],
  concurrency: number,
  work: (item: T, index: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const index = next++;
      await work(items[index] as T, index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
}

export interface ConvergenceResult {
  converged: boolean;
  convergenceMs: number;
  keysChecked: number;
  keysUnconverged: number;
  unconvergedSample: string[];
  /** For up to 5 unconverged keys: what each primary holds ('-' for nothing or no answer). */
  unconvergedDetail: string[];
}

/** Polls until every key converged or the deadline passes; repairs through quorum reads in between. */
export async function awaitConvergence(
  nodes: readonly ChaosNode[],
  keys: readonly string[],
  timeoutMs: number,
): Promise<ConvergenceResult> {
  const started = performance.now();
  const ring = await fetchRing(nodes);
  let pending = [...keys];
  let round = 0;
  while (pending.length > 0 && performance.now() - started < timeoutMs) {
    const still: string[] = [];
    await forEachLimited(pending, 8, async (key, index) => {
      if (!(await keyConverged(ring, nodes, key))) {
        still.push(key);
        await readKey(nodes[(index + round) % nodes.length] as ChaosNode, key, requestTimeoutMs);
      }
    });
    pending = still;
    round += 1;
    if (pending.length > 0) await new Promise((resolve) => setTimeout(resolve, 500));
  }
  const convergenceMs = Math.round(performance.now() - started);
  const unconvergedDetail = await Promise.all(pending.slice(0, 5).map((key) => describeKey(ring, nodes, key)));
  return {
    converged: pending.length === 0,
    convergenceMs,
    keysChecked: keys.length,
    keysUnconverged: pending.length,
    unconvergedSample: pending.slice(0, 10),
    unconvergedDetail,
  };
}
