/**
 * Physics of the calculator on structures other than the fixtures (float64 test model):
 * forces = −dE/dx, stress = strain derivative, rotation/translation invariance, permutation,
 * supercells, wrapping, batch = sequential.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { CPU_BATCH_BYTES, Potential } from '../../src/calculator/potential.js';
import { RandomStream } from '../../src/dynamics/random.js';
import { Structure } from '../../src/structure/structure.js';
import { relErr, REPO } from '../model/fixture-data.js';

let potential: Potential;
beforeAll(async () => {
  potential = await Potential.load(join(REPO, 'models', 'test-dense-f64'), { threads: 1 });
});
afterAll(async () => potential.dispose());

/** Deterministic uniform numbers in [0, 1) (the library's seeded stream), so every run tests the same structures. */
function rng(seed: number): () => number {
  const stream = new RandomStream(seed);
  return () => stream.uniform();
}

function molecule(): Structure {
  // A distorted methanol-like molecule plus a fluorine (H, C, O, F), charged doublet for 'omol'.
  return Structure.fromArrays({
    symbols: ['C', 'O', 'H', 'H', 'H', 'H', 'F'],
    positions: [
      [0.0, 0.0, 0.0],
      [1.41, 0.05, -0.02],
      [-0.38, 1.02, 0.1],
      [-0.36, -0.52, 0.9],
      [-0.4, -0.5, -0.87],
      [1.72, -0.85, 0.1],
      [3.2, 0.9, 0.4],
    ],
    charge: 1,
    spin: 2,
  });
}

function crystal(seed = 1): Structure {
  // Rattled rock-salt NaCl (8 atoms) in a slightly triclinic cell.
  const r = rng(seed);
  const a = 5.64;
  const frac = [
    [0, 0, 0], [0.5, 0.5, 0], [0.5, 0, 0.5], [0, 0.5, 0.5],
    [0.5, 0, 0], [0, 0.5, 0], [0, 0, 0.5], [0.5, 0.5, 0.5],
  ];
  const cell = [
    [a, 0.1, 0],
    [0.2, a * 1.02, 0],
    [0.1, -0.15, a * 0.98],
  ];
  const positions = frac.map(([u, v, w]) =>
    [0, 1, 2].map((k) => u * cell[0][k] + v * cell[1][k] + w * cell[2][k] + 0.15 * (r() - 0.5)),
  );
  return Structure.fromArrays({ symbols: ['Na', 'Na', 'Na', 'Na', 'Cl', 'Cl', 'Cl', 'Cl'], positions, cell, pbc: true });
}

async function energyOf(s: Structure, task: string): Promise<number> {
  return (await potential.compute(s, { task, forces: false, stress: false })).energy;
}

function randomRotation(r: () => number): number[] {
  // Uniform random unit quaternion → rotation matrix (row-major).
  const [u1, u2, u3] = [r(), r(), r()];
  const q = [
    Math.sqrt(1 - u1) * Math.sin(2 * Math.PI * u2),
    Math.sqrt(1 - u1) * Math.cos(2 * Math.PI * u2),
    Math.sqrt(u1) * Math.sin(2 * Math.PI * u3),
    Math.sqrt(u1) * Math.cos(2 * Math.PI * u3),
  ];
  const [x, y, z, w] = q;
  return [
    1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w),
    2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w),
    2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y),
  ];
}

function rotateRows(v: ArrayLike<number>, R: number[], shift: number[] = [0, 0, 0]): Float64Array {
  const out = new Float64Array(v.length);
  for (let i = 0; i < v.length; i += 3) {
    for (let a = 0; a < 3; a++) {
      out[i + a] = R[3 * a] * v[i] + R[3 * a + 1] * v[i + 1] + R[3 * a + 2] * v[i + 2] + shift[a];
    }
  }
  return out;
}

describe('forces and stress are derivatives of the energy', () => {
  for (const [name, make, task] of [
    ['molecule', molecule, 'omol'],
    ['crystal', () => crystal(2), 'omat'],
  ] as const) {
    it(`${name}: forces = −dE/dx (central differences)`, async () => {
      const s = make();
      const { forces } = await potential.compute(s, { task });
      const h = 1e-4;
      let maxErr = 0;
      let maxF = 0;
      for (let k = 0; k < s.positions.length; k++) {
        const plus = Float64Array.from(s.positions);
        const minus = Float64Array.from(s.positions);
        plus[k] += h;
        minus[k] -= h;
        const fd = -((await energyOf(s.withPositions(plus), task)) - (await energyOf(s.withPositions(minus), task))) / (2 * h);
        maxErr = Math.max(maxErr, Math.abs(fd - forces![k]));
        maxF = Math.max(maxF, Math.abs(forces![k]));
      }
      expect(maxF).toBeGreaterThan(1e-4);
      expect(maxErr / maxF).toBeLessThan(1e-6);
    });
  }

  it('crystal: stress = (1/V) dE/dε (central differences)', async () => {
    const s = crystal(3);
    const { stress } = await potential.compute(s, { task: 'omat' });
    const h = 1e-5;
    const pairs: [number, number][] = [[0, 0], [1, 1], [2, 2], [1, 2], [0, 2], [0, 1]];
    const strained = (eps: number[]): Structure => {
      const F = [1 + eps[0], eps[1], eps[2], eps[3], 1 + eps[4], eps[5], eps[6], eps[7], 1 + eps[8]];
      // Rows transform as r → r (I + ε)^T, i.e. r_a → F_ab r_b.
      return s.with({ positions: rotateRows(s.positions, F), cell: rotateRows(s.cell, F) });
    };
    const V = s.volume;
    for (let v = 0; v < 6; v++) {
      const [a, b] = pairs[v];
      const eps = new Array(9).fill(0);
      eps[3 * a + b] += h / (a === b ? 1 : 2);
      if (a !== b) eps[3 * b + a] += h / 2;
      const ePlus = await energyOf(strained(eps), 'omat');
      const eMinus = await energyOf(strained(eps.map((x) => -x)), 'omat');
      const fd = (ePlus - eMinus) / (2 * h) / V;
      expect(Math.abs(fd - stress![v])).toBeLessThan(1e-7 + 1e-5 * Math.abs(stress![v]));
    }
  });
});

describe('symmetries', () => {
  it('energy invariant, forces and stress covariant under random rotations and translations', async () => {
    const r = rng(7);
    for (const [make, task] of [[molecule, 'omol'], [() => crystal(4), 'omat']] as const) {
      const s = make();
      const ref = await potential.compute(s, { task });
      for (let trial = 0; trial < 3; trial++) {
        const R = randomRotation(r);
        const t = [10 * r() - 5, 10 * r() - 5, 10 * r() - 5];
        const moved = s.with({ positions: rotateRows(s.positions, R, t), cell: rotateRows(s.cell, R) });
        const got = await potential.compute(moved, { task });
        expect(Math.abs(got.energy - ref.energy)).toBeLessThan(1e-10 * Math.abs(ref.energy));
        expect(relErr(got.forces!, rotateRows(ref.forces!, R))).toBeLessThan(1e-9);
        if (ref.stress) {
          const S = ref.stress;
          const full = [S[0], S[5], S[4], S[5], S[1], S[3], S[4], S[3], S[2]];
          // R S R^T
          const RS = new Array(9).fill(0);
          const RSRt = new Array(9).fill(0);
          for (let a = 0; a < 3; a++) for (let b = 0; b < 3; b++) for (let c = 0; c < 3; c++) RS[3 * a + b] += R[3 * a + c] * full[3 * c + b];
          for (let a = 0; a < 3; a++) for (let b = 0; b < 3; b++) for (let c = 0; c < 3; c++) RSRt[3 * a + b] += RS[3 * a + c] * R[3 * b + c];
          const voigt = [RSRt[0], RSRt[4], RSRt[8], RSRt[5], RSRt[2], RSRt[1]];
          expect(relErr(got.stress!, voigt)).toBeLessThan(1e-9);
        }
      }
    }
  });

  it('permuting atoms permutes forces and per-atom energies', async () => {
    const s = crystal(5);
    const perm = [3, 7, 0, 5, 1, 6, 2, 4];
    const permuted = Structure.fromArrays({
      numbers: perm.map((p) => s.numbers[p]),
      positions: perm.map((p) => Array.from(s.positions.subarray(3 * p, 3 * p + 3))),
      cell: s.cell,
      pbc: true,
    });
    const a = await potential.compute(s, { task: 'omat', atomEnergies: true });
    const b = await potential.compute(permuted, { task: 'omat', atomEnergies: true });
    expect(Math.abs(a.energy - b.energy)).toBeLessThan(1e-10 * Math.abs(a.energy));
    expect(relErr(b.forces!, perm.flatMap((p) => Array.from(a.forces!.subarray(3 * p, 3 * p + 3))))).toBeLessThan(1e-10);
    expect(relErr(b.atomEnergies!, perm.map((p) => a.atomEnergies![p]))).toBeLessThan(1e-10);
    expect(relErr(b.stress!, a.stress!)).toBeLessThan(1e-10);
  });

  it('a 2×2×2 supercell has 8× the energy, the same per-atom forces and the same stress', async () => {
    const s = crystal(6);
    const n = s.length;
    const numbers: number[] = [];
    const positions: number[][] = [];
    for (let i = 0; i < 2; i++) for (let j = 0; j < 2; j++) for (let k = 0; k < 2; k++) {
      for (let a = 0; a < n; a++) {
        numbers.push(s.numbers[a]);
        positions.push([0, 1, 2].map((d) => s.positions[3 * a + d] + i * s.cell[d] + j * s.cell[3 + d] + k * s.cell[6 + d]));
      }
    }
    const big = Structure.fromArrays({ numbers, positions, cell: Array.from(s.cell, (x) => 2 * x), pbc: true });
    const a = await potential.compute(s, { task: 'omat' });
    const b = await potential.compute(big, { task: 'omat' });
    expect(Math.abs(b.energy - 8 * a.energy)).toBeLessThan(1e-10 * Math.abs(b.energy));
    const tiled = new Float64Array(3 * big.length);
    for (let c = 0; c < 8; c++) tiled.set(a.forces!, 3 * n * c);
    expect(relErr(b.forces!, tiled)).toBeLessThan(1e-9);
    expect(relErr(b.stress!, a.stress!)).toBeLessThan(1e-9);
  });

  it('wrapping atoms into the cell changes nothing', async () => {
    const s = crystal(8);
    const shifted = Float64Array.from(s.positions);
    // Push atoms out by whole and fractional lattice vectors.
    for (let a = 0; a < s.length; a++) for (let d = 0; d < 3; d++) shifted[3 * a + d] += (a % 3 - 1) * s.cell[d] + (a % 2) * 2 * s.cell[6 + d];
    const outside = s.withPositions(shifted);
    const a = await potential.compute(outside, { task: 'omat' });
    const b = await potential.compute(outside.wrapped(), { task: 'omat' });
    expect(Math.abs(a.energy - b.energy)).toBeLessThan(1e-10 * Math.abs(a.energy));
    expect(relErr(a.forces!, b.forces!)).toBeLessThan(1e-10);
    expect(relErr(a.stress!, b.stress!)).toBeLessThan(1e-10);
  });
});

describe('batching', () => {
  it('computeBatch in one ONNX call equals one-at-a-time', async () => {
    const one = await Potential.load(join(REPO, 'models', 'test-dense-f64'), { threads: 1, pairsPerBatchCall: 1_000_000 });
    try {
      const systems = [molecule(), crystal(9), molecule().withPositions(molecule().positions.map((x, k) => x + 0.01 * (k % 5))), crystal(10)];
      const batched = await one.computeBatch(systems, { task: 'omol', stress: false, atomEnergies: true });
      expect(one.timings.calls).toBe(1);
      for (let k = 0; k < systems.length; k++) {
        const single = await potential.compute(systems[k], { task: 'omol', stress: false, atomEnergies: true });
        expect(Math.abs(batched[k].energy - single.energy)).toBeLessThan(1e-12 * Math.abs(single.energy));
        expect(relErr(batched[k].forces!, single.forces!)).toBeLessThan(1e-12);
        expect(relErr(batched[k].atomEnergies!, single.atomEnergies!)).toBeLessThan(1e-12);
      }
    } finally {
      await one.dispose();
    }
  });

  it('worker sessions run the calls of a batch side by side with identical results', async () => {
    const pooled = await Potential.load(join(REPO, 'models', 'test-dense-f64'), { threads: 1, workers: 2, pairsPerBatchCall: 300 });
    try {
      const systems = [crystal(21), molecule(), crystal(22), crystal(23), molecule().withPositions(molecule().positions.map((x, k) => x - 0.01 * (k % 3)))];
      const batched = await pooled.computeBatch(systems, { task: 'omol', stress: false, atomEnergies: true, embeddings: 'equivariant' });
      expect(pooled.timings.calls).toBeGreaterThan(2);
      for (let k = 0; k < systems.length; k++) {
        const single = await potential.compute(systems[k], { task: 'omol', stress: false, atomEnergies: true, embeddings: 'equivariant' });
        expect(batched[k].energy).toBe(single.energy);
        expect(relErr(batched[k].forces!, single.forces!)).toBe(0);
        expect(relErr(batched[k].atomEnergies!, single.atomEnergies!)).toBe(0);
        expect(relErr(batched[k].embeddings!.equivariant!.data as Float64Array, single.embeddings!.equivariant!.data as Float64Array)).toBe(0);
      }
    } finally {
      await pooled.dispose();
    }
    await expect(Potential.load(join(REPO, 'models', 'test-dense-f64'), { workers: 0 })).rejects.toThrow(/workers must be a positive integer/);
  });

  it('on CPU packs about 1 MiB of edge features per call by default', async () => {
    // test-dense-f64: (lmax+1)² · C · 8 bytes = 9 · 16 · 8 = 1152 bytes per pair → 910 pairs per call
    const systems = [crystal(14), crystal(15), crystal(16), crystal(17), crystal(18), molecule(), molecule()];
    const counts = systems.map((s) => potential.buildNeighborList(s).count);
    let calls = 0;
    for (let k = 0, pairs = 0; k < counts.length; k++) {
      if (k === 0 || pairs + counts[k] > Math.floor(CPU_BATCH_BYTES / 1152)) { calls++; pairs = 0; }
      pairs += counts[k];
    }
    potential.resetTimings();
    const batched = await potential.computeBatch(systems, { task: 'omol', stress: false });
    expect(potential.timings.calls).toBe(calls);
    expect(calls).toBeGreaterThan(1);
    expect(calls).toBeLessThan(systems.length);
    const single = await potential.compute(systems[5], { task: 'omol', stress: false });
    expect(relErr(batched[5].forces!, single.forces!)).toBeLessThan(1e-12);
    await expect(Potential.load(join(REPO, 'models', 'test-dense-f64'), { pairsPerBatchCall: 0 })).rejects.toThrow(/pairsPerBatchCall/);
  });

  it('splits batches above the pair limit and still equals one-at-a-time', async () => {
    const small = await Potential.load(join(REPO, 'models', 'test-dense-f64'), { threads: 1, maxPairsPerCall: 600 });
    try {
      const systems = [crystal(11), crystal(12), crystal(13)];
      const lists = systems.map((s) => small.buildNeighborList(s).count);
      expect(lists.every((c) => c <= 600)).toBe(true);
      const batched = await small.computeBatch(systems, { task: 'omat' });
      for (let k = 0; k < systems.length; k++) {
        const single = await potential.compute(systems[k], { task: 'omat' });
        expect(Math.abs(batched[k].energy - single.energy)).toBeLessThan(1e-12 * Math.abs(single.energy));
        expect(relErr(batched[k].stress!, single.stress!)).toBeLessThan(1e-12);
      }
    } finally {
      await small.dispose();
    }
  });
});

describe('embeddings', () => {
  it('invariant embeddings are rotation invariant and equal the l = 0 block', async () => {
    const s = molecule();
    const R = randomRotation(rng(3));
    const a = await potential.compute(s, { task: 'omol', embeddings: 'equivariant' });
    const b = await potential.compute(s.withPositions(rotateRows(s.positions, R)), { task: 'omol', embeddings: true });
    const [coeffs, channels] = potential.metadata.embeddingShape;
    expect(a.embeddings!.invariant.shape).toEqual([s.length, channels]);
    expect(a.embeddings!.equivariant!.shape).toEqual([s.length, coeffs, channels]);
    expect(relErr(b.embeddings!.invariant.data, a.embeddings!.invariant.data)).toBeLessThan(1e-10);
    for (let i = 0; i < s.length; i++) {
      for (let c = 0; c < channels; c++) expect(a.embeddings!.invariant.get(i, c)).toBe(a.embeddings!.equivariant!.get(i, 0, c));
    }
    expect(b.embeddings!.equivariant).toBeUndefined();
  });
});
