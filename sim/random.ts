/** A small seeded PRNG (mulberry32): the same seed gives the same run. */
export class Random {
  private state: number;

  constructor(readonly seed: number) {
    this.state = seed >>> 0;
  }

  /** Uniform in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  uniform(min: number, max: number): number {
    return min + (max - min) * this.next();
  }

  chance(probability: number): boolean {
    return this.next() < probability;
  }

  int(maxExclusive: number): number {
    return Math.floor(this.next() * maxExclusive);
  }

  /** An independent stream derived from this one (so adding draws in one part does not shift another). */
  fork(): Random {
    return new Random(Math.floor(this.next() * 2 ** 32));
  }
}

/**
 * A bounded latency distribution, drawn from a seeded Random. `uniform` spreads draws evenly over
 * [min, max]; `tail` puts most draws near min and a few near max (min + (max − min)·u³: median at
 * 1/8 of the range, p90 at 73 %), the shape of a service's latency with a long tail.
 */
export interface Latency {
  min: number;
  max: number;
  shape?: 'uniform' | 'tail';
}

/** A fixed value as a Latency. */
export function fixed(value: number): Latency {
  return { min: value, max: value };
}

export function draw(rng: Random, latency: Latency): number {
  const { min, max } = latency;
  if (!(max >= min)) throw new RangeError(`a latency needs min ≤ max (got ${min}–${max})`);
  if (max === min) return min;
  const u = rng.next();
  return min + (max - min) * (latency.shape === 'tail' ? u ** 3 : u);
}
