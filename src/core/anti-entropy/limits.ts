// Why: an exchange must stay bounded on both sides (docs/ARCHITECTURE.md habit 3): the asker never puts more
// than a fixed number of nodes or leaves in one request, and the answerer refuses anything larger,
// so neither a bug nor a hostile peer can make one message unbounded.

export interface TreeExchangeLimits {
  /** Node indices in one hashes request, 1..65536; default 256 (8 KiB of SHA-256 hashes per answer). */
  readonly nodesPerRequestMax: number;
  /**
   * Leaves in one leaf-entries request, 1..4096; default 32. An answer carries every entry of each
   * leaf, so its size is this times the keys per leaf (size of the partition / leaf count).
   */
  readonly leavesPerRequestMax: number;
}

export const treeExchangeLimitDefaults: TreeExchangeLimits = Object.freeze({
  nodesPerRequestMax: 256,
  leavesPerRequestMax: 32,
});

const ranges = Object.freeze({
  nodesPerRequestMax: { min: 1, max: 65536 },
  leavesPerRequestMax: { min: 1, max: 4096 },
});

export function validateTreeExchangeLimits(options: Partial<TreeExchangeLimits>): TreeExchangeLimits {
  return Object.freeze({
    nodesPerRequestMax: integerInRange(
      'nodesPerRequestMax',
      options.nodesPerRequestMax ?? treeExchangeLimitDefaults.nodesPerRequestMax,
      ranges.nodesPerRequestMax,
    ),
    leavesPerRequestMax: integerInRange(
      'leavesPerRequestMax',
      options.leavesPerRequestMax ?? treeExchangeLimitDefaults.leavesPerRequestMax,
      ranges.leavesPerRequestMax,
    ),
  });
}

/** Throws RangeError naming the option unless `value` is an integer in min..max. */
export function integerInRange(
  name: string,
  value: number,
  range: { readonly min: number; readonly max: number },
): number {
  if (!Number.isInteger(value) || value < range.min || value > range.max) {
    throw new RangeError(`${name} must be an integer in ${range.min}..${range.max}, got ${value}`);
  }
  return value;
}
