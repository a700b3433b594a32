// Why: which key an operation touches shapes what a benchmark measures as much as how many
// operations it sends: a uniform draw spreads load evenly, a zipfian one (YCSB's, theta 0.99) puts a
// few hot keys on a few nodes, and "latest" reads mostly what was just inserted. These are YCSB's
// three request distributions (Gray et al.'s zipfian algorithm, as YCSB's ZipfianGenerator), pure
// and driven by the seeded Prng so a test can check each one's shape from a printed seed.
// Key rank r is key number r: the node hashes key names onto the ring, so the hot ranks land on
// partitions at random without YCSB's extra scrambling step.
import type { Prng } from '../../core/base/prng.ts';

export type KeyDistribution = 'uniform' | 'zipfian' | 'latest';
export const keyDistributions: readonly KeyDistribution[] = ['uniform', 'zipfian', 'latest'];

/** YCSB's default skew. */
export const zipfianTheta = 0.99;

/** Picks a key index in [0, count); `count` may only grow between calls (inserts add keys). */
export interface KeyChooser {
  next(prng: Prng, count: number): number;
}

export class UniformChooser implements KeyChooser {
  next(prng: Prng, count: number): number {
    return prng.nextInt(count);
  }
}

/**
 * Rank 0 is the most popular: P(rank i) is proportional to 1 / (i + 1)^theta. Ranks 0 and 1 are
 * drawn exactly; Gray et al.'s closed form approximates the others, as YCSB's generator does (at
 * theta 0.99 ranks 2 to 5 come up to ~16% too often, the tail is close). The normalising sum
 * zeta(count) is extended term by term when the count grows, so a growing keyspace (workload D's
 * inserts) costs one term per new key, not a recomputation.
 */
export class ZipfianChooser implements KeyChooser {
  private items = 0;
  private zetaN = 0;
  private readonly alpha: number;
  private readonly zeta2: number;
  private eta = 0;

  constructor(private readonly theta = zipfianTheta) {
    if (!(theta > 0 && theta < 1)) throw new RangeError(`zipfian theta must be in (0, 1), got ${theta}`);
    this.alpha = 1 / (1 - theta);
    this.zeta2 = 1 + 0.5 ** theta;
  }

  /** The probability of rank `rank` among `count` keys (for tests and reports). */
  probability(rank: number, count: number): number {
    this.growTo(count);
    return 1 / (rank + 1) ** this.theta / this.zetaN;
  }

  next(prng: Prng, count: number): number {
    if (count <= 1) return 0;
    this.growTo(count);
    const u = prng.nextFloat();
    const uz = u * this.zetaN;
    if (uz < 1) return 0;
    if (uz < 1 + 0.5 ** this.theta) return 1;
    return Math.min(count - 1, Math.floor(count * (this.eta * u - this.eta + 1) ** this.alpha));
  }

  private growTo(count: number): void {
    if (count <= this.items) return;
    for (let rank = this.items; rank < count; rank++) this.zetaN += 1 / (rank + 1) ** this.theta;
    this.items = count;
    this.eta = (1 - (2 / count) ** (1 - this.theta)) / (1 - this.zeta2 / this.zetaN);
  }
}

/** The newest key is the most popular: a zipfian rank counted back from the last key. */
export class LatestChooser implements KeyChooser {
  private readonly zipfian = new ZipfianChooser();

  next(prng: Prng, count: number): number {
    return count - 1 - this.zipfian.next(prng, count);
  }
}

export function createKeyChooser(distribution: KeyDistribution): KeyChooser {
  if (distribution === 'zipfian') return new ZipfianChooser();
  if (distribution === 'latest') return new LatestChooser();
  return new UniformChooser();
}
