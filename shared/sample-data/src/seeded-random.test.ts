import { describe, expect, it } from 'vitest';
import { createSeededRandom, deriveSeed } from './seeded-random.ts';

describe('createSeededRandom', () => {
  it('repeats the same sequence for the same seed and differs for another seed', () => {
    const draw = (seed: number) => {
      const rng = createSeededRandom(seed);
      return Array.from({ length: 20 }, () => rng.next());
    };
    expect(draw(7)).toEqual(draw(7));
    expect(draw(7)).not.toEqual(draw(8));
  });

  it('keeps every helper inside its bounds', () => {
    const rng = createSeededRandom(1);
    for (let i = 0; i < 2000; i += 1) {
      const x = rng.next();
      expect(x).toBeGreaterThanOrEqual(0);
      expect(x).toBeLessThan(1);
      const n = rng.int(3, 5);
      expect([3, 4, 5]).toContain(n);
      expect(rng.weighted({ never: 0, always: 1 })).toBe('always');
    }
  });

  it('covers an integer range roughly uniformly', () => {
    const rng = createSeededRandom(99);
    const seen = [0, 0, 0, 0];
    for (let i = 0; i < 4000; i += 1) seen[rng.int(0, 3)]! += 1;
    for (const n of seen) expect(n).toBeGreaterThan(850);
  });

  it('samples distinct elements and caps at the list length', () => {
    const rng = createSeededRandom(5);
    const items = ['a', 'b', 'c', 'd', 'e'];
    const three = rng.sample(items, 3);
    expect(new Set(three).size).toBe(3);
    expect(rng.sample(items, 10).sort()).toEqual(items);
    expect(items).toEqual(['a', 'b', 'c', 'd', 'e']);
    expect(() => rng.pick([])).toThrow(RangeError);
  });
});

describe('deriveSeed', () => {
  it('is stable and separates neighbouring inputs', () => {
    expect(deriveSeed(42, 1)).toBe(deriveSeed(42, 1));
    const seeds = new Set(Array.from({ length: 1000 }, (_, i) => deriveSeed(42, i)));
    expect(seeds.size).toBe(1000);
    expect(deriveSeed(42, 1)).not.toBe(deriveSeed(43, 1));
  });
});
