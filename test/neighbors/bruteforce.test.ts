import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { neighborList } from '../../src/geometry/index.js';
import { checkInvariants, expectMatchesBruteForce } from './check.js';
import { randomSystem } from './random-systems.js';

describe('neighborList vs O(N²·images) brute force', () => {
  it('matches on hundreds of random structures (triclinic, mixed pbc, big cutoffs, atoms outside)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 2 ** 31 - 1 }),
        fc.constantFrom<1 | 2>(1, 2),
        fc.constantFrom<'index' | 'bin'>('index', 'bin'),
        (seed, bpc, traversal) => {
        const sys = randomSystem(seed);
        const nl = neighborList(sys, { cutoff: sys.cutoff, binsPerCutoff: bpc, traversal });
        checkInvariants(nl, sys);
        expectMatchesBruteForce(nl, sys, sys.cutoff, sys.label);
        },
      ),
      { numRuns: 400, seed: 20261124 },
    );
  });

  it('matches on larger random boxes where many bins are used', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 31 - 1 }), fc.constantFrom<'index' | 'bin'>('index', 'bin'), (seed, traversal) => {
        const sys = randomSystem(seed, 90);
        const cutoff = Math.min(sys.cutoff, 2.5);
        const nl = neighborList(sys, { cutoff, traversal });
        checkInvariants(nl, sys);
        expectMatchesBruteForce(nl, sys, cutoff, sys.label);
      }),
      { numRuns: 40, seed: 7 },
    );
  });

  it('handles empty systems, a single atom and a zero cutoff', () => {
    expect(neighborList({ positions: [] }, { cutoff: 3 }).count).toBe(0);
    expect(neighborList({ positions: [] }, { cutoff: 3 }).offsets).toEqual(new Int32Array([0]));
    const one = neighborList({ positions: [0.5, 0.5, 0.5], cell: [1, 0, 0, 0, 1, 0, 0, 0, 1], pbc: [true, true, true] }, { cutoff: 1.01 });
    expect(one.count).toBe(6); // the six face neighbours are the atom's own images
    expect(neighborList({ positions: [0, 0, 0, 0, 0, 0] }, { cutoff: 0 }).count).toBe(0);
  });
});

describe('traversal orders', () => {
  it("'index' and 'bin' give identical lists (same pairs in the same slots)", () => {
    for (const seed of [11, 12, 13, 14, 15]) {
      const sys = randomSystem(seed, 120);
      const a = neighborList(sys, { cutoff: 3, traversal: 'index' });
      const b = neighborList(sys, { cutoff: 3, traversal: 'bin' });
      expect(b.count).toBe(a.count);
      expect([...b.offsets]).toEqual([...a.offsets]);
      expect([...b.neighbors]).toEqual([...a.neighbors]);
      expect([...b.shifts]).toEqual([...a.shifts]);
      expect([...b.vectors]).toEqual([...a.vectors]);
      expect([...b.reverse]).toEqual([...a.reverse]);
    }
  });
});
