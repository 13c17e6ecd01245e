import { describe, expect, it } from 'vitest';
import { draw, fixed, Random } from '../../sim/random';

describe('Function: draw', () => {
  it('is deterministic for a seed and differs between seeds', () => {
    const series = (seed: number) => {
      const rng = new Random(seed);
      return Array.from({ length: 5 }, () => draw(rng, { min: 50, max: 300 }));
    };
    expect(series(7)).toEqual(series(7));
    expect(series(7)).not.toEqual(series(8));
  });

  it('stays within [min, max] for both shapes', () => {
    const rng = new Random(3);
    for (const shape of ['uniform', 'tail'] as const) {
      const xs = Array.from({ length: 2000 }, () => draw(rng, { min: 1.5, max: 4.5, shape }));
      expect(Math.min(...xs)).toBeGreaterThanOrEqual(1.5);
      expect(Math.max(...xs)).toBeLessThanOrEqual(4.5);
    }
  });

  it('a tail puts most draws near the minimum and a few near the maximum; uniform spreads them', () => {
    const rng = new Random(11);
    const sorted = (shape: 'uniform' | 'tail') => Array.from({ length: 4000 }, () => draw(rng, { min: 0, max: 1, shape })).sort((a, b) => a - b);
    const median = (xs: number[]) => xs[Math.floor(xs.length / 2)]!;
    const p99 = (xs: number[]) => xs[Math.floor(xs.length * 0.99)]!;
    const tail = sorted('tail');
    const uniform = sorted('uniform');
    expect(median(tail)).toBeCloseTo(0.125, 1); // 0.5³
    expect(median(uniform)).toBeCloseTo(0.5, 1);
    expect(p99(tail)).toBeGreaterThan(0.9);
  });

  it('a fixed value takes no draw and is returned as is', () => {
    const rng = new Random(1);
    const before = new Random(1).next();
    expect(draw(rng, fixed(5))).toBe(5);
    expect(rng.next()).toBe(before);
  });

  it('rejects min > max', () => {
    expect(() => draw(new Random(1), { min: 2, max: 1 })).toThrow(/min ≤ max/);
  });
});
