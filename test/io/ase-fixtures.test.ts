/**
 * Files written by ASE (test/fixtures/make_ase_io.py) must parse to exactly the
 * numbers ASE itself reads back from them (ase_read.json).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readFrames, readPoscar, readStructure, readXyz } from '../../src/io/index.js';
import type { Structure } from '../../src/structure/index.js';

const DIR = join(__dirname, '..', 'fixtures', 'io');

interface AseFrame {
  numbers: number[];
  positions: number[];
  cell: number[];
  pbc: boolean[];
  info: Record<string, unknown>;
  arrays: Record<string, (number | string | boolean)[]>;
  energy?: number;
  forces?: number[];
  stress_voigt?: number[];
}

const ASE = JSON.parse(readFileSync(join(DIR, 'ase_read.json'), 'utf8')) as Record<string, AseFrame[]>;

/** Bitwise equality of two float lists (Object.is distinguishes -0 and NaN correctly). */
function expectBitwise(actual: ArrayLike<number>, expected: readonly number[]): void {
  expect(actual.length).toBe(expected.length);
  const bad: string[] = [];
  for (let k = 0; k < expected.length; k++) {
    if (!Object.is(actual[k], expected[k]) && !(actual[k] === 0 && expected[k] === 0)) {
      bad.push(`[${k}] ${actual[k]} != ${expected[k]}`);
    }
  }
  expect(bad).toEqual([]);
}

function expectCommon(s: Structure, a: AseFrame): void {
  expect(Array.from(s.numbers)).toEqual(a.numbers);
  expect([...s.pbc]).toEqual(a.pbc);
  expectBitwise(s.cell, a.cell);
}

describe('ASE-written extended XYZ', () => {
  const frames = readFrames(join(DIR, 'multi.extxyz'));
  const ase = ASE['multi.extxyz'];

  it('has the frames, atoms, cells, pbc and positions ASE reads, bit for bit', () => {
    expect(frames.length).toBe(ase.length);
    frames.forEach((s, f) => {
      expectCommon(s, ase[f]);
      expectBitwise(s.positions, ase[f].positions);
    });
  });

  it('reads energy, forces and stress (ASE 3x3 Fortran order == our flat 9) exactly', () => {
    const [bulk] = frames;
    const a = ase[0];
    expect(bulk.info.energy).toBe(a.energy);
    expectBitwise(bulk.arrays.forces.data as Float64Array, a.forces as number[]);
    expect(bulk.arrays.forces.components).toBe(3);
    const stress = bulk.info.stress as number[];
    expect(stress.length).toBe(9);
    // Voigt xx yy zz yz xz xy; ASE reads the flat 9 column-major: M[i][j] = flat[i + 3j]
    expectBitwise([stress[0], stress[4], stress[8], stress[7], stress[6], stress[3]], a.stress_voigt as number[]);
    const m = a.info.stress as number[][];
    for (let k = 0; k < 9; k++) expect(stress[k]).toBe(m[k % 3][Math.floor(k / 3)]);
  });

  it('reads every custom per-atom column with its type', () => {
    const [bulk, , slab] = frames;
    const a = ase[0].arrays;
    expect(bulk.arrays.tags.type).toBe('int');
    expect(Array.from(bulk.arrays.tags.data as Int32Array)).toEqual(a.tags);
    expect(bulk.arrays.initial_charges.type).toBe('float');
    expectBitwise(bulk.arrays.initial_charges.data as Float64Array, a.initial_charges as number[]);
    expect(bulk.arrays.momenta.components).toBe(3);
    expectBitwise(bulk.arrays.momenta.data as Float64Array, a.momenta as number[]);
    expect(bulk.arrays.label.type).toBe('string');
    expect(bulk.arrays.label.data).toEqual(a.label);
    expect(bulk.arrays.fixed.type).toBe('bool');
    expect(bulk.arrays.fixed.data).toEqual(a.fixed);
    expect(Array.from(slab.arrays.tags.data as Int32Array)).toEqual(ase[2].arrays.tags);
  });

  it('reads info keys: strings with escaped quotes, booleans, arrays, charge and spin', () => {
    const [bulk, water, slab] = frames;
    expect(bulk.info.config_type).toBe(ase[0].info.config_type);
    expect(water.charge).toBe(ase[1].info.charge);
    expect(water.spin).toBe(ase[1].info.spin);
    expect(water.info.energy).toBe(ase[1].energy);
    expect('charge' in water.info).toBe(false);
    expect(slab.info.comment).toBe(ase[2].info.comment);
    expect(slab.info.converged).toBe(true);
    expect(slab.info.kpts).toEqual(ase[2].info.kpts);
    expect(slab.info.temperature).toBe(ase[2].info.temperature);
    expect(slab.pbc).toEqual([true, true, false]);
  });
});

describe('ASE-written POSCAR files', () => {
  it('triclinic, direct coordinates, interleaved species runs', () => {
    const s = readStructure(join(DIR, 'triclinic_direct.POSCAR'));
    const a = ASE['triclinic_direct.POSCAR'][0];
    expectCommon(s, a);
    // direct → Cartesian is a 3-term dot product; summation order may differ from numpy by an ulp
    for (let k = 0; k < a.positions.length; k++) expect(Math.abs(s.positions[k] - a.positions[k])).toBeLessThan(1e-14 * 10);
    expect(s.symbols).toEqual(['Si', 'Si', 'O', 'O', 'O', 'Si']);
  });

  it('Cartesian with selective dynamics: positions exact, flags kept', () => {
    const s = readPoscar(join(DIR, 'cartesian_seldyn.vasp'));
    const a = ASE['cartesian_seldyn.vasp'][0];
    expectCommon(s, a);
    expectBitwise(s.positions, a.positions);
    const flags = s.arrays.selective_dynamics;
    expect(flags.type).toBe('bool');
    expect(flags.components).toBe(3);
    // make_ase_io.py fixed atoms 0 and 3 fully (FixAtoms) and atom 5 along a and c (FixScaled)
    const movable = (i: number): boolean[] => (flags.data as boolean[]).slice(3 * i, 3 * i + 3);
    expect(movable(0)).toEqual([false, false, false]);
    expect(movable(3)).toEqual([false, false, false]);
    expect(movable(5)).toEqual([false, true, false]);
    expect(movable(1)).toEqual([true, true, true]);
  });

  it('VASP 4 without a species line takes the symbols from the comment line, like ASE', () => {
    const s = readStructure(join(DIR, 'vasp4.POSCAR'));
    const a = ASE['vasp4.POSCAR'][0];
    expectCommon(s, a);
    for (let k = 0; k < a.positions.length; k++) expect(Math.abs(s.positions[k] - a.positions[k])).toBeLessThan(1e-14);
  });
});

describe('ASE-written plain XYZ', () => {
  it('reads the molecule exactly with both the plain and the extended reader', () => {
    const a = ASE['molecule.xyz'][0];
    for (const s of [readXyz(join(DIR, 'molecule.xyz'))[0], readStructure(join(DIR, 'molecule.xyz'))]) {
      expectCommon(s, a);
      expectBitwise(s.positions, a.positions);
      expect(s.info.comment).toBe('ethanol from ase.build.molecule');
    }
  });
});
