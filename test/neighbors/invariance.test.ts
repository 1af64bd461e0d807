import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { neighborList, NeighborSearch } from '../../src/geometry/index.js';
import { pairKey } from '../helpers/bruteforce.js';
import { checkInvariants } from './check.js';
import { randomSystem, rng } from './random-systems.js';

/** Random rotation matrix (row-major) from a uniform random unit quaternion. */
function randomRotation(r: () => number): number[] {
  const u1 = r(), u2 = r(), u3 = r();
  const a = Math.sqrt(1 - u1), b = Math.sqrt(u1);
  const [w, x, y, z] = [a * Math.sin(2 * Math.PI * u2), a * Math.cos(2 * Math.PI * u2), b * Math.sin(2 * Math.PI * u3), b * Math.cos(2 * Math.PI * u3)];
  return [
    1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w),
    2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w),
    2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y),
  ];
}

function transform(v: Float64Array, R: number[], t: number[]): Float64Array {
  const out = new Float64Array(v.length);
  for (let o = 0; o < v.length; o += 3) {
    for (let c = 0; c < 3; c++) out[o + c] = R[3 * c] * v[o] + R[3 * c + 1] * v[o + 1] + R[3 * c + 2] * v[o + 2] + t[c];
  }
  return out;
}

describe('neighborList invariance', () => {
  it('gives the same pairs, rotated vectors, under rotation and translation of the whole system', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 31 - 1 }), (seed) => {
        const sys = randomSystem(seed, 20);
        const r = rng(seed + 17);
        const R = randomRotation(r);
        const t = [20 * (r() - 0.5), 20 * (r() - 0.5), 20 * (r() - 0.5)];
        const moved = {
          positions: transform(sys.positions, R, t),
          cell: sys.cell === null ? null : transform(sys.cell, R, [0, 0, 0]),
          pbc: sys.pbc,
        };
        const a = neighborList(sys, { cutoff: sys.cutoff });
        const b = neighborList(moved, { cutoff: sys.cutoff });
        checkInvariants(b, moved);
        // Skip the measure-zero case of a pair within rounding of the cutoff.
        for (const d of [...a.distances, ...b.distances]) if (Math.abs(d - sys.cutoff) < 1e-9) return;
        expect(b.count).toBe(a.count);
        const index = new Map<string, number>();
        for (let p = 0; p < a.count; p++) index.set(pairKey(a.centers[p], a.neighbors[p], a.shifts.subarray(3 * p, 3 * p + 3)), p);
        for (let q = 0; q < b.count; q++) {
          const p = index.get(pairKey(b.centers[q], b.neighbors[q], b.shifts.subarray(3 * q, 3 * q + 3)));
          if (p === undefined) throw new Error(`pair ${q} of the moved system has no counterpart`);
          const rotated = transform(a.vectors.subarray(3 * p, 3 * p + 3), R, [0, 0, 0]);
          for (let c = 0; c < 3; c++) {
            if (!(Math.abs(b.vectors[3 * q + c] - rotated[c]) < 1e-9)) throw new Error(`vector of pair ${q} not rotated`);
          }
          if (!(Math.abs(b.distances[q] - a.distances[p]) < 1e-9)) throw new Error(`distance of pair ${q} changed`);
        }
      }),
      { numRuns: 200, seed: 4242 },
    );
  });

  it('pure lattice translations by whole cell vectors change only the shifts, by the translation', () => {
    const sys = randomSystem(12345, 12);
    const cell = new Float64Array([4, 0, 0, 1, 4.5, 0, 0.5, -0.7, 5]);
    const base = { positions: sys.positions, cell, pbc: [true, true, true] as [boolean, boolean, boolean] };
    const moved = Float64Array.from(sys.positions);
    // Move atom 0 by (2a − b + 3c): shifts of pairs 0→j change by +(2, −1, 3), j→0 by −(2, −1, 3).
    for (let c = 0; c < 3; c++) moved[c] += 2 * cell[c] - cell[3 + c] + 3 * cell[6 + c];
    const a = neighborList(base, { cutoff: 5 });
    const b = neighborList({ ...base, positions: moved }, { cutoff: 5 });
    const keysA = new Set<string>();
    for (let p = 0; p < a.count; p++) {
      const S = [...a.shifts.subarray(3 * p, 3 * p + 3)];
      const i = a.centers[p], j = a.neighbors[p];
      const delta = [2, -1, 3];
      const sign = (i === 0 ? 1 : 0) - (j === 0 ? 1 : 0);
      keysA.add(pairKey(i, j, S.map((s, c) => s + sign * delta[c])));
    }
    const keysB = new Set<string>();
    for (let p = 0; p < b.count; p++) keysB.add(pairKey(b.centers[p], b.neighbors[p], b.shifts.subarray(3 * p, 3 * p + 3)));
    expect(keysB).toEqual(keysA);
  });

  it('NeighborSearch reuses memory and matches neighborList across differently sized systems', () => {
    const search = new NeighborSearch({ cutoff: 3.5 });
    for (const seed of [1, 2, 3, 4, 5, 6]) {
      const sys = randomSystem(seed, seed % 2 ? 80 : 5);
      const fresh = neighborList(sys, { cutoff: 3.5 });
      const reused = search.search(sys);
      checkInvariants(reused, sys);
      expect(reused.count).toBe(fresh.count);
      expect([...reused.neighbors]).toEqual([...fresh.neighbors]);
      expect([...reused.reverse]).toEqual([...fresh.reverse]);
      expect([...reused.vectors]).toEqual([...fresh.vectors]);
    }
  });
});

describe('neighborList with a Structure', () => {
  it('accepts a Structure (numbers, positions, cell, pbc) directly', async () => {
    const { Structure } = await import('../../src/structure/index.js');
    const sys = randomSystem(777, 10);
    const cell = new Float64Array([4, 0, 0, 0.5, 4.2, 0, -0.3, 0.8, 3.9]);
    const pbc: [boolean, boolean, boolean] = [true, false, true];
    const structure = new Structure({ numbers: new Array(sys.positions.length / 3).fill(29), positions: sys.positions, cell, pbc });
    const a = neighborList(structure, { cutoff: 3.3 });
    const b = neighborList({ positions: sys.positions, cell, pbc }, { cutoff: 3.3 });
    checkInvariants(a, { positions: sys.positions, cell, pbc });
    expect(a.count).toBe(b.count);
    expect([...a.vectors]).toEqual([...b.vectors]);
  });
});
