import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NeighborSearch, VerletNeighborList, disposeNeighborWorkers, neighborList, startNeighborWorkers, type NeighborList } from '../../src/geometry/index.js';
import { checkInvariants, expectMatchesBruteForce } from './check.js';
import { randomSystem, rng } from './random-systems.js';

/** A random triclinic box of n atoms at about 0.08 atoms/Å³, mixed pbc, some atoms outside the cell. */
function box(seed: number, n: number) {
  const r = rng(seed);
  const L = Math.cbrt(n / 0.08);
  const cell = new Float64Array([L, 0, 0, (r() - 0.5) * 0.6 * L, L, 0, (r() - 0.5) * 0.6 * L, (r() - 0.5) * 0.6 * L, L]);
  const pbc: [boolean, boolean, boolean] = [r() < 0.8, r() < 0.8, r() < 0.8];
  const positions = new Float64Array(3 * n);
  for (let i = 0; i < n; i++) {
    const s = [r() * 1.2 - 0.1, r() * 1.2 - 0.1, r() * 1.2 - 0.1];
    for (let c = 0; c < 3; c++) positions[3 * i + c] = s[0] * cell[c] + s[1] * cell[3 + c] + s[2] * cell[6 + c];
  }
  return { positions, cell, pbc, cutoff: 2.5 + 2 * r() };
}

function expectIdentical(a: NeighborList, b: NeighborList): void {
  expect(b.count).toBe(a.count);
  for (const k of ['centers', 'neighbors', 'shifts', 'offsets', 'reverse'] as const) {
    expect(Buffer.compare(Buffer.from(a[k].buffer, a[k].byteOffset, a[k].byteLength), Buffer.from(b[k].buffer, b[k].byteOffset, b[k].byteLength))).toBe(0);
  }
  // Bit for bit (also tells −0 from 0): compare the float columns' bytes.
  for (const k of ['vectors', 'distances'] as const) {
    expect(Buffer.compare(Buffer.from(a[k].buffer, a[k].byteOffset, a[k].byteLength), Buffer.from(b[k].buffer, b[k].byteOffset, b[k].byteLength))).toBe(0);
  }
}

describe('parallel neighbour search (worker threads)', () => {
  beforeAll(async () => {
    expect(await startNeighborWorkers(2)).toBe(true);
  }, 60_000);
  afterAll(async () => {
    await disposeNeighborWorkers();
  });

  it('is bit-identical to one thread on random boxes of thousands of atoms (many chunks)', () => {
    const two = new NeighborSearch({ cutoff: 1, threads: 2 }); // only for lastThreads below
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 31 - 1 }), fc.integer({ min: 1200, max: 6000 }), (seed, n) => {
        const sys = box(seed, n);
        const one = neighborList(sys, { cutoff: sys.cutoff, threads: 1 });
        const search = new NeighborSearch({ cutoff: sys.cutoff, threads: 2 });
        const par = search.search(sys);
        expect(search.lastThreads).toBe(2);
        expectIdentical(one, par);
        // The reused search again (warm shared buffers): still identical.
        expectIdentical(one, search.search(sys));
      }),
      { numRuns: 12, seed: 4242 },
    );
    expect(two.threads).toBe(2);
  }, 120_000);

  it('matches the brute force and the list invariants (odd shapes: big cutoffs, open axes, molecules)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 31 - 1 }), (seed) => {
        const sys = randomSystem(seed, 40);
        const par = neighborList(sys, { cutoff: sys.cutoff, threads: 2 });
        checkInvariants(par, sys);
        expectMatchesBruteForce(par, sys, sys.cutoff, sys.label);
        expectIdentical(neighborList(sys, { cutoff: sys.cutoff, threads: 1 }), par);
      }),
      { numRuns: 80, seed: 77 },
    );
    const big = box(5, 1300);
    const par = neighborList(big, { cutoff: big.cutoff, threads: 2 });
    checkInvariants(par, big);
    expectMatchesBruteForce(par, big, big.cutoff, 'box 1300');
  }, 120_000);

  it('a Verlet list rebuilt on two threads gives the same lists as on one', () => {
    const sys = box(9, 3000);
    const a = new VerletNeighborList(sys, { cutoff: 3, skin: 0.6, threads: 1 });
    const b = new VerletNeighborList(sys, { cutoff: 3, skin: 0.6, threads: 2 });
    expect(b.lastRebuildThreads).toBe(2);
    const r = rng(3);
    let positions = sys.positions;
    for (let step = 0; step < 4; step++) {
      positions = positions.map((x) => x + 0.1 * (r() - 0.5));
      if (step === 2) positions[0] += 1; // forces a rebuild
      expectIdentical(a.update(positions), b.update(positions));
    }
    expect(b.rebuildCount).toBe(2);
    checkInvariants(b.list, { positions, cell: sys.cell, pbc: sys.pbc });
  }, 60_000);

  it('rejects a bad thread count', () => {
    expect(() => neighborList({ positions: [0, 0, 0] }, { cutoff: 1, threads: 0 })).toThrow(/threads/);
    expect(() => new NeighborSearch({ cutoff: 1, threads: 1.5 })).toThrow(/threads/);
  });
});
