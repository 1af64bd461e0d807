/**
 * Standard benchmark systems for the neighbour search (deterministic).
 */

import { RandomStream } from '../../src/dynamics/random.js';

/** A benchmark structure. */
export interface BenchSystem {
  name: string;
  positions: Float64Array;
  cell: Float64Array | null;
  pbc: [boolean, boolean, boolean];
}

/** FCC copper lattice constant, Å. */
export const CU_LATTICE = 3.615;
/** Number density of FCC Cu, atoms/Å³. */
export const CU_DENSITY = 4 / CU_LATTICE ** 3;

/** Deterministic uniform numbers in [0, 1) from the library's seeded stream (one seed fixes the whole structure). */
export function rng(seed: number): () => number {
  const stream = new RandomStream(seed);
  return () => stream.uniform();
}

/** FCC Cu supercell of reps³ conventional cells (4·reps³ atoms, lattice constant `a` Å), fully periodic. */
export function fccCu(reps: number, a = CU_LATTICE): BenchSystem {
  const basis = [[0, 0, 0], [0.5, 0.5, 0], [0.5, 0, 0.5], [0, 0.5, 0.5]];
  const n = 4 * reps ** 3;
  const positions = new Float64Array(3 * n);
  let k = 0;
  for (let x = 0; x < reps; x++) for (let y = 0; y < reps; y++) for (let z = 0; z < reps; z++) {
    for (const b of basis) {
      positions[k++] = (x + b[0]) * a;
      positions[k++] = (y + b[1]) * a;
      positions[k++] = (z + b[2]) * a;
    }
  }
  const L = reps * a;
  return { name: `fcc-cu-${n}`, positions, cell: new Float64Array([L, 0, 0, 0, L, 0, 0, 0, L]), pbc: [true, true, true] };
}

/**
 * Liquid-like random box: n atoms uniformly placed (index order random in space) in a cubic
 * periodic box at the density of FCC Cu.
 */
export function randomBox(n: number, seed = 1): BenchSystem {
  const L = Math.cbrt(n / CU_DENSITY);
  const r = rng(seed);
  const positions = new Float64Array(3 * n);
  for (let k = 0; k < 3 * n; k++) positions[k] = r() * L;
  return { name: `random-box-${n}`, positions, cell: new Float64Array([L, 0, 0, 0, L, 0, 0, 0, L]), pbc: [true, true, true] };
}

/** The random box at Cu density in a strongly skewed triclinic cell (same volume, angles far from 90°). */
export function skewedBox(n: number, seed = 2): BenchSystem {
  const L = Math.cbrt(n / CU_DENSITY);
  // Lower-triangular cell with large tilts: b leans 0.9 L along a, c leans (0.8 L, 0.7 L).
  const cell = new Float64Array([L, 0, 0, 0.9 * L, L, 0, 0.8 * L, 0.7 * L, L]);
  const r = rng(seed);
  const positions = new Float64Array(3 * n);
  for (let i = 0; i < n; i++) {
    const s0 = r(), s1 = r(), s2 = r();
    for (let c = 0; c < 3; c++) positions[3 * i + c] = s0 * cell[c] + s1 * cell[3 + c] + s2 * cell[6 + c];
  }
  return { name: `skewed-triclinic-${n}`, positions, cell, pbc: [true, true, true] };
}

/** FCC Cu (001) slab: reps × reps × layers conventional cells, 30 Å of vacuum along c, pbc on a, b only. */
export function slab(reps: number, layers: number): BenchSystem {
  const bulk = fccCu(1);
  const a = CU_LATTICE;
  const n = 4 * reps * reps * layers;
  const positions = new Float64Array(3 * n);
  let k = 0;
  for (let x = 0; x < reps; x++) for (let y = 0; y < reps; y++) for (let z = 0; z < layers; z++) {
    for (let b = 0; b < 4; b++) {
      positions[k++] = x * a + bulk.positions[3 * b];
      positions[k++] = y * a + bulk.positions[3 * b + 1];
      positions[k++] = z * a + bulk.positions[3 * b + 2];
    }
  }
  const L = reps * a;
  return { name: `slab-${n}`, positions, cell: new Float64Array([L, 0, 0, 0, L, 0, 0, 0, layers * a + 30]), pbc: [true, true, false] };
}

/** Open spherical cluster of n atoms at Cu density (random positions in a ball), no cell. */
export function cluster(n: number, seed = 3): BenchSystem {
  const R = Math.cbrt((3 * n) / (4 * Math.PI * CU_DENSITY));
  const r = rng(seed);
  const positions = new Float64Array(3 * n);
  for (let i = 0; i < n; ) {
    const x = (2 * r() - 1) * R, y = (2 * r() - 1) * R, z = (2 * r() - 1) * R;
    if (x * x + y * y + z * z > R * R) continue;
    positions[3 * i] = x; positions[3 * i + 1] = y; positions[3 * i + 2] = z;
    i++;
  }
  return { name: `cluster-${n}`, positions, cell: null, pbc: [false, false, false] };
}
