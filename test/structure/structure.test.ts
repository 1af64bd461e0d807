import { describe, expect, it } from 'vitest';
import { Structure, type StructureInit } from '../../src/structure/index.js';
import { StructureError, type StructureErrorCode } from '../../src/errors.js';

function expectCode(fn: () => unknown, code: StructureErrorCode, message?: RegExp): void {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  expect(caught).toBeInstanceOf(StructureError);
  expect((caught as StructureError).code).toBe(code);
  if (message) expect((caught as StructureError).message).toMatch(message);
}

const water = (): Structure =>
  Structure.fromArrays({
    symbols: ['O', 'H', 'H'],
    positions: [
      [0, 0, 0.119],
      [0, 0.763, -0.477],
      [0, -0.763, -0.477],
    ],
  });

describe('Structure construction', () => {
  it('builds a molecule from symbols and nested positions', () => {
    const s = water();
    expect(s.length).toBe(3);
    expect(Array.from(s.numbers)).toEqual([8, 1, 1]);
    expect(s.symbols).toEqual(['O', 'H', 'H']);
    expect(s.formula).toBe('OH2');
    expect(s.positions).toBeInstanceOf(Float64Array);
    expect(Array.from(s.positions)).toEqual([0, 0, 0.119, 0, 0.763, -0.477, 0, -0.763, -0.477]);
    expect(Array.from(s.cell)).toEqual(new Array(9).fill(0));
    expect(s.pbc).toEqual([false, false, false]);
    expect(s.isPeriodic).toBe(false);
    expect(s.charge).toBe(0);
    expect(s.spin).toBe(0);
    expect(s.volume).toBe(0);
    const m = s.masses;
    expect(m[0]).toBeCloseTo(15.999, 6);
    expect(m[1]).toBeCloseTo(1.008, 6);
  });

  it('builds a crystal from numbers, flat positions, a 3x3 cell and pbc=true', () => {
    const a = 3.61;
    const s = Structure.fromArrays({
      numbers: [29, 29, 29, 29],
      positions: [0, 0, 0, 0, a / 2, a / 2, a / 2, 0, a / 2, a / 2, a / 2, 0],
      cell: [
        [a, 0, 0],
        [0, a, 0],
        [0, 0, a],
      ],
      pbc: true,
      charge: -1,
      spin: 2,
      info: { energy: -14.9, config: 'fcc' },
    });
    expect(s.volume).toBeCloseTo(a ** 3, 12);
    expect(s.pbc).toEqual([true, true, true]);
    expect(s.charge).toBe(-1);
    expect(s.spin).toBe(2);
    expect(s.info.energy).toBe(-14.9);
    // orthorhombic shorthand: 3 lengths
    const t = Structure.fromArrays({ numbers: [1], positions: [[0, 0, 0]], cell: [2, 3, 4], pbc: [true, false, true] });
    expect(Array.from(t.cell)).toEqual([2, 0, 0, 0, 3, 0, 0, 0, 4]);
    expect(t.volume).toBe(24);
  });

  it('copies inputs: later changes to caller arrays do not leak in, and validation does not mutate them', () => {
    const positions = new Float64Array([0, 0, 0, 1, 1, 1]);
    const numbers = new Int32Array([1, 1]);
    const cell = [5, 0, 0, 0, 5, 0, 0, 0, 5];
    const info = { tags: [1, 2] };
    const forces = { type: 'float' as const, components: 3, data: new Float64Array(6).fill(0.5) };
    const s = new Structure({ numbers, positions, cell, pbc: [true, true, true], info, arrays: { forces } });
    positions[0] = 42;
    numbers[0] = 8;
    cell[0] = 1;
    info.tags[0] = 99;
    forces.data[0] = 7;
    expect(s.positions[0]).toBe(0);
    expect(s.numbers[0]).toBe(1);
    expect(s.cell[0]).toBe(5);
    expect(s.info.tags).toEqual([1, 2]);
    expect(s.arrays.forces.data[0]).toBe(0.5);
    expect(Object.isFrozen(s.info)).toBe(true);
    expect(Object.isFrozen(s.pbc)).toBe(true);
  });

  it('clone, with and withPositions return independent validated copies', () => {
    const s = water();
    const c = s.clone();
    expect(c).not.toBe(s);
    expect(c.positions).not.toBe(s.positions);
    expect(Array.from(c.positions)).toEqual(Array.from(s.positions));
    const moved = s.withPositions(new Float64Array(9).fill(1));
    expect(Array.from(moved.positions)).toEqual(new Array(9).fill(1));
    expect(Array.from(s.positions)).not.toEqual(new Array(9).fill(1));
    expect(moved.symbols).toEqual(['O', 'H', 'H']);
    const charged = s.with({ charge: 1, spin: 2 });
    expect(charged.charge).toBe(1);
    expect(s.charge).toBe(0);
    expectCode(() => s.withPositions([0, 0, 0]), 'length-mismatch');
  });
});

describe('Structure validation', () => {
  const base: StructureInit = { numbers: [1, 1], positions: [0, 0, 0, 0, 0, 0.74] };

  it('length mismatches', () => {
    expectCode(() => new Structure({ ...base, positions: [0, 0, 0, 0, 0] }), 'length-mismatch', /positions has 5 values but 2 atoms need 6/);
    expectCode(() => new Structure({ ...base, cell: [1, 0, 0] }), 'length-mismatch', /cell has 3 values/);
    expectCode(() => new Structure({ ...base, pbc: [true, true] }), 'length-mismatch', /pbc has 2 entries/);
    expectCode(
      () => new Structure({ ...base, arrays: { forces: { type: 'float', components: 3, data: new Float64Array(3) } } }),
      'length-mismatch',
      /"forces" has 3 values but 2 atoms × 3 components need 6/,
    );
    expectCode(
      () => new Structure({ ...base, arrays: { tag: { type: 'string', components: 1, data: ['a', 'b', 'c'] } } }),
      'length-mismatch',
      /"tag"/,
    );
    expectCode(() => Structure.fromArrays({ symbols: ['H'], numbers: [1, 1], positions: [0, 0, 0] }), 'length-mismatch');
    expectCode(() => Structure.fromArrays({ symbols: ['H', 'H'], positions: [[0, 0, 0], [0, 0]] }), 'length-mismatch', /positions row 1 has 2 values/);
    expectCode(() => Structure.fromArrays({ positions: [] }), 'length-mismatch', /numbers or symbols/);
  });

  it('non-finite positions name the atom', () => {
    expectCode(() => new Structure({ ...base, positions: [0, 0, 0, 0, Number.NaN, 0.74] }), 'non-finite-position', /atom 1: position y is NaN/);
    expectCode(() => new Structure({ ...base, positions: [Infinity, 0, 0, 0, 0, 0.74] }), 'non-finite-position', /atom 0: position x is Infinity/);
    expectCode(() => new Structure({ ...base, cell: [1, 0, 0, 0, NaN, 0, 0, 0, 1] }), 'non-finite-cell', /vector b component y/);
  });

  it('unknown elements', () => {
    expectCode(() => new Structure({ ...base, numbers: [1, 0] }), 'unknown-element', /atom 1: unknown atomic number 0/);
    expectCode(() => new Structure({ ...base, numbers: [119, 1] }), 'unknown-element', /atom 0: unknown atomic number 119/);
    expectCode(() => new Structure({ ...base, numbers: [1.5, 1] }), 'unknown-element');
    expectCode(() => Structure.fromArrays({ symbols: ['H', 'Xy'], positions: [0, 0, 0, 1, 1, 1] }), 'unknown-element', /atom 1: unknown chemical symbol "Xy"/);
  });

  it('pbc on an axis without a cell vector', () => {
    expectCode(() => new Structure({ ...base, pbc: [true, false, false] }), 'pbc-without-cell', /axis a is periodic but cell vector a is zero/);
    expectCode(
      () => new Structure({ ...base, cell: [5, 0, 0, 0, 5, 0, 0, 0, 0], pbc: [true, true, true] }),
      'pbc-without-cell',
      /axis c/,
    );
    // a slab with a zero c vector along the open axis is fine
    const slab = new Structure({ ...base, cell: [5, 0, 0, 0, 5, 0, 0, 0, 0], pbc: [true, true, false] });
    expect(slab.volume).toBe(0);
  });

  it('singular or degenerate cells', () => {
    expectCode(() => new Structure({ ...base, cell: [1, 0, 0, 2, 0, 0, 0, 0, 1], pbc: [true, true, true] }), 'singular-cell', /linearly dependent/);
    expectCode(() => new Structure({ ...base, cell: [1, 1, 0, 1, 1, 1e-13, 0, 0, 3] }), 'singular-cell');
    // two parallel vectors with the third zero (open) axis
    expectCode(() => new Structure({ ...base, cell: [1, 0, 0, 3, 0, 0, 0, 0, 0], pbc: [true, true, false] }), 'singular-cell');
    // a strongly skewed but valid cell passes
    const skew = new Structure({ ...base, cell: [1, 0, 0, 0.999, 0.01, 0, 0, 0, 1], pbc: [true, true, true] });
    expect(skew.volume).toBeCloseTo(0.01, 12);
  });

  it('charge and spin must be integers; spin 0 means unset', () => {
    expectCode(() => new Structure({ ...base, charge: 0.5 }), 'invalid-charge', /0\.5/);
    expectCode(() => new Structure({ ...base, charge: Number.NaN }), 'invalid-charge');
    expectCode(() => new Structure({ ...base, spin: -1 }), 'invalid-spin');
    expectCode(() => new Structure({ ...base, spin: 1.5 }), 'invalid-spin');
    expect(new Structure({ ...base, spin: 0 }).spin).toBe(0);
    expect(new Structure({ ...base, spin: 3 }).spin).toBe(3);
  });

  it('allows an empty structure', () => {
    const s = new Structure({ numbers: [], positions: [] });
    expect(s.length).toBe(0);
  });
});

describe('Structure.wrapped', () => {
  it('moves atoms by lattice vectors into [0,1) along periodic axes only', () => {
    const cell = [4, 0, 0, 1, 5, 0, 0.5, 0.3, 6];
    const pos = [
      -1, -2, 13, // outside along all axes
      3.9, 4.9, 5.9,
      9, 11, -7,
    ];
    for (const pbc of [
      [true, true, true],
      [true, true, false],
      [false, true, false],
    ] as [boolean, boolean, boolean][]) {
      const s = new Structure({ numbers: [1, 1, 1], positions: pos, cell, pbc });
      const w = s.wrapped();
      // solve frac = pos · inv(cell) by brute force Cramer via the Structure of the original
      for (let i = 0; i < 3; i++) {
        const f0 = frac(s.positions.subarray(3 * i, 3 * i + 3), cell);
        const f1 = frac(w.positions.subarray(3 * i, 3 * i + 3), cell);
        for (let k = 0; k < 3; k++) {
          if (pbc[k]) {
            expect(f1[k]).toBeGreaterThanOrEqual(-1e-12);
            expect(f1[k]).toBeLessThan(1);
            expect(Math.abs(f0[k] - f1[k] - Math.round(f0[k] - f1[k]))).toBeLessThan(1e-9);
          } else {
            expect(f1[k]).toBeCloseTo(f0[k], 12);
          }
        }
      }
    }
  });

  it('leaves molecules untouched', () => {
    const s = water();
    expect(Array.from(s.wrapped().positions)).toEqual(Array.from(s.positions));
  });
});

function frac(r: ArrayLike<number>, c: number[]): number[] {
  // solve r = f · C for f using Cramer's rule on the transposed system
  const det = (m: number[]): number =>
    m[0] * (m[4] * m[8] - m[5] * m[7]) - m[1] * (m[3] * m[8] - m[5] * m[6]) + m[2] * (m[3] * m[7] - m[4] * m[6]);
  const d = det(c);
  const out: number[] = [];
  for (let k = 0; k < 3; k++) {
    const m = c.slice();
    m[3 * k] = r[0];
    m[3 * k + 1] = r[1];
    m[3 * k + 2] = r[2];
    out.push(det(m) / d);
  }
  return out;
}
