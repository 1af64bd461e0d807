/** Random test structures for the neighbour-list tests (deterministic from a seed). */

import { RandomStream } from '../../src/dynamics/random.js';

export interface RandomSystem {
  positions: Float64Array;
  cell: Float64Array | null;
  pbc: [boolean, boolean, boolean];
  cutoff: number;
  label: string;
}

/** Deterministic uniform numbers in [0, 1) from the library's seeded stream (one seed fixes the whole structure). */
export function rng(seed: number): () => number {
  const stream = new RandomStream(seed);
  return () => stream.uniform();
}

function volumeFraction(c: Float64Array): number {
  const len = (k: number) => Math.hypot(c[3 * k], c[3 * k + 1], c[3 * k + 2]);
  const det =
    c[0] * (c[4] * c[8] - c[5] * c[7]) - c[1] * (c[3] * c[8] - c[5] * c[6]) + c[2] * (c[3] * c[7] - c[4] * c[6]);
  return Math.abs(det) / (len(0) * len(1) * len(2));
}

/**
 * A random structure: triclinic (possibly strongly skewed) cell or none, random pbc mix,
 * zero vectors on some open axes, atoms up to ~1.5 cells outside the cell, cutoff from a
 * fraction of the smallest cell height to about twice the cell size.
 */
export function randomSystem(seed: number, maxAtoms = 14): RandomSystem {
  const r = rng(seed);
  const u = (lo: number, hi: number) => lo + (hi - lo) * r();
  const n = 1 + Math.floor(r() * maxAtoms);
  const molecule = r() < 0.12;
  const pbc: [boolean, boolean, boolean] = molecule ? [false, false, false] : [r() < 0.7, r() < 0.7, r() < 0.7];
  let cell: Float64Array | null = null;
  const frac = new Float64Array(3 * n);
  for (let k = 0; k < 3 * n; k++) frac[k] = u(-0.6, 1.6);
  if (r() < 0.1) for (let k = 0; k < 3 * n; k++) frac[k] = u(-2.5, 3.5); // far outside
  let positions: Float64Array;
  if (molecule) {
    positions = frac.map((s) => s * u(2, 6));
    if (r() < 0.5) cell = new Float64Array(9);
  } else {
    for (;;) {
      const skew = r() < 0.3 ? 1.5 : 0.4;
      const L = [u(1.5, 6), u(1.5, 6), u(1.5, 6)];
      cell = new Float64Array([
        L[0], u(-skew, skew) * L[0] * 0.3, u(-skew, skew) * L[0] * 0.3,
        u(-skew, skew) * L[1], L[1], u(-skew, skew) * L[1] * 0.3,
        u(-skew, skew) * L[2], u(-skew, skew) * L[2], L[2],
      ]);
      if (volumeFraction(cell) > 0.08) break;
    }
    positions = new Float64Array(3 * n);
    for (let i = 0; i < n; i++) {
      for (let c = 0; c < 3; c++) {
        positions[3 * i + c] =
          frac[3 * i] * cell[c] + frac[3 * i + 1] * cell[3 + c] + frac[3 * i + 2] * cell[6 + c];
      }
    }
    // Open axes sometimes carry a zero cell vector (slab / wire without a vacuum vector).
    for (let k = 0; k < 3; k++) if (!pbc[k] && r() < 0.4) cell.fill(0, 3 * k, 3 * k + 3);
  }
  const cutoff = r() < 0.1 ? u(0.05, 0.6) : u(0.5, 9);
  return { positions, cell, pbc, cutoff, label: `seed ${seed}` };
}
