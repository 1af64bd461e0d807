import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ArgumentError } from '../../src/errors.js';
import { formatPoscar, parsePoscar, readPoscar, writePoscar } from '../../src/io/index.js';
import { Structure } from '../../src/structure/index.js';
import { expectBitwiseEqual, expectParseError, hasAse, rng, tempDir } from './helpers.js';

function randomCrystal(seed: number): Structure {
  const r = rng(seed);
  const n = 2 + Math.floor(r() * 10);
  const cell = [6 + r(), 0.4 * r(), -0.3 * r(), 1.2 * r(), 7 + r(), 0.2 * r(), -0.8 * r(), 0.5 * r(), 8 + r()];
  const numbers = Array.from({ length: n }, () => [8, 14, 26, 1][Math.floor(r() * 4)]);
  const positions = Array.from({ length: 3 * n }, () => (r() - 0.2) * 9);
  return new Structure({ numbers, positions, cell, pbc: [true, true, true] });
}

describe('POSCAR round trip', () => {
  it('Cartesian: write → read reproduces every double; species runs keep atom order', () => {
    for (let seed = 1; seed <= 20; seed++) {
      const s = randomCrystal(seed);
      const back = parsePoscar(formatPoscar(s));
      expect(Array.from(back.numbers)).toEqual(Array.from(s.numbers));
      expectBitwiseEqual(back.positions, s.positions);
      expectBitwiseEqual(back.cell, s.cell);
      expect(back.pbc).toEqual([true, true, true]);
    }
  });

  it('Direct: fractional coordinates round-trip to within a few ulps', () => {
    for (let seed = 30; seed <= 40; seed++) {
      const s = randomCrystal(seed);
      const text = formatPoscar(s, { direct: true });
      expect(text).toMatch(/\nDirect\n/);
      const back = parsePoscar(text);
      expectBitwiseEqual(back.cell, s.cell);
      for (let k = 0; k < s.positions.length; k++) expect(Math.abs(back.positions[k] - s.positions[k])).toBeLessThan(1e-13);
    }
  });

  it('keeps selective dynamics flags and the comment', () => {
    const s = new Structure({
      numbers: [1, 1],
      positions: [0, 0, 0, 1, 1, 1],
      cell: [3, 0, 0, 0, 3, 0, 0, 0, 3],
      pbc: [true, true, true],
      info: { comment: 'two H' },
      arrays: { selective_dynamics: { type: 'bool', components: 3, data: [true, false, true, false, false, false] } },
    });
    const text = formatPoscar(s);
    expect(text.split('\n')[0]).toBe('two H');
    expect(text).toContain('Selective dynamics');
    const back = parsePoscar(text);
    expect(back.arrays.selective_dynamics.data).toEqual([true, false, true, false, false, false]);
    expect(back.info.comment).toBe('two H');
  });

  it('refuses structures without a full 3D cell', () => {
    const mol = Structure.fromArrays({ symbols: ['H'], positions: [0, 0, 0] });
    expect(() => formatPoscar(mol)).toThrow(ArgumentError);
    const slab = new Structure({ numbers: [1], positions: [0, 0, 0], cell: [3, 0, 0, 0, 3, 0, 0, 0, 0], pbc: [true, true, false] });
    expect(() => formatPoscar(slab)).toThrow(/full 3D cell/);
  });
});

describe('POSCAR variants', () => {
  const body = ['0 0 0', '0.5 0.5 0.5'];
  const cubic = ['2.0 0.0 0.0', '0.0 2.0 0.0', '0.0 0.0 2.0'];

  it('scale factor multiplies the lattice and Cartesian coordinates, not direct ones', () => {
    const direct = parsePoscar(['CsCl', '1.5', ...cubic, 'Cs Cl', '1 1', 'Direct', ...body].join('\n'));
    expect(Array.from(direct.cell)).toEqual([3, 0, 0, 0, 3, 0, 0, 0, 3]);
    expect(Array.from(direct.positions)).toEqual([0, 0, 0, 1.5, 1.5, 1.5]);
    const cart = parsePoscar(['CsCl', '1.5', ...cubic, 'Cs Cl', '1 1', 'cartesian', '0 0 0', '1 1 1'].join('\n'));
    expect(Array.from(cart.positions)).toEqual([0, 0, 0, 1.5, 1.5, 1.5]);
  });

  it('negative scale is the cell volume in Å³', () => {
    const s = parsePoscar(['vol', '-27', ...cubic, 'Cs Cl', '1 1', 'Direct', ...body].join('\n'));
    expect(s.volume).toBeCloseTo(27, 10);
    expect(s.cell[0]).toBeCloseTo(3, 12);
    expect(s.positions[3]).toBeCloseTo(1.5, 12);
    const k = parsePoscar(['vol', '-27', ...cubic, 'Cs Cl', '1 1', 'Kartesian', '0 0 0', '1 1 1'].join('\n'));
    expect(k.positions[3]).toBeCloseTo(1.5, 12);
  });

  it('three per-axis scale factors', () => {
    const s = parsePoscar(['axes', '1 2 3', ...cubic, 'Cs Cl', '1 1', 'Direct', ...body].join('\n'));
    expect(Array.from(s.cell)).toEqual([2, 0, 0, 0, 4, 0, 0, 0, 6]);
    expect(Array.from(s.positions)).toEqual([0, 0, 0, 1, 2, 3]);
  });

  it('VASP 4 files take symbols from options or from the comment line', () => {
    const v4 = ['some title', '1.0', ...cubic, '1 1', 'Direct', ...body].join('\n');
    expect(parsePoscar(v4, { symbols: ['Cs', 'Cl'] }).symbols).toEqual(['Cs', 'Cl']);
    expectParseError(() => parsePoscar(v4), 6, /VASP 4 file without a species line.*options\.symbols/);
    expectParseError(() => parsePoscar(v4, { symbols: ['Cs'] }), 6, /options\.symbols has 1 symbols but the file has 2/);
    const titled = ['Cs Cl', '1.0', ...cubic, '1 1', 'Direct', ...body].join('\n');
    expect(parsePoscar(titled).symbols).toEqual(['Cs', 'Cl']);
  });

  it('POTCAR-style labels, comments after counts, CONTCAR velocity blocks', () => {
    const text = [
      'CONTCAR',
      '1.0',
      ...cubic,
      'Fe_pv O/1a2b3c',
      '1 1 ! two atoms',
      'Selective dynamics',
      'Direct',
      '0 0 0 T T F',
      '0.5 0.5 0.5 F F F',
      '',
      '  0.1 0.2 0.3',
      '  0.0 0.0 0.0',
    ].join('\r\n');
    const s = parsePoscar(text);
    expect(s.symbols).toEqual(['Fe', 'O']);
    expect(s.arrays.selective_dynamics.data).toEqual([true, true, false, false, false, false]);
  });

  it('reads from disk and names the file in errors; writePoscar writes', () => {
    const dir = tempDir();
    const path = join(dir, 'POSCAR');
    writePoscar(path, randomCrystal(3));
    expect(readPoscar(path).length).toBe(randomCrystal(3).length);
    const broken = join(dir, 'CONTCAR');
    writeFileSync(broken, ['x', '1.0', ...cubic, 'Cs Cl', '1 1', 'Direct', '0 0 0'].join('\n'));
    expect(() => readPoscar(broken)).toThrow(`${broken}:line 10: unexpected end of file: expected coordinates of atom 2 of 2`);
  });
});

describe('POSCAR errors name the line', () => {
  const head = ['t', '1.0', '2 0 0', '0 2 0', '0 0 2'];
  it('each malformed part', () => {
    expectParseError(() => parsePoscar('title\n'), 2, /expected the scale factor/);
    expectParseError(() => parsePoscar('t\nabc\n'), 2, /scale factor: bad number "abc"/);
    expectParseError(() => parsePoscar('t\n0\n'), 2, /scale factor is zero/);
    expectParseError(() => parsePoscar(['t', '1.0', '2 0 0', '0 2'].join('\n')), 4, /lattice vector b: expected 3 numbers, found 2/);
    expectParseError(() => parsePoscar(['t', '1.0', '2 0 0', '0 2 0', '0 0 x'].join('\n')), 5, /lattice vector c: bad number "x"/);
    expectParseError(() => parsePoscar([...head, 'Cs Qq', '1 1', 'Direct', '0 0 0', '0 0 0'].join('\n')), 6, /unknown species "Qq"/);
    expectParseError(() => parsePoscar([...head, 'Cs Cl', '1 x', 'Direct'].join('\n')), 7, /bad atom count "x"/);
    expectParseError(() => parsePoscar([...head, 'Cs', '1 1', 'Direct'].join('\n')), 7, /2 atom counts but only 1 species/);
    expectParseError(() => parsePoscar([...head, 'Cs Cl', '1 1', 'Direct', '0 0 0', '0 0'].join('\n')), 10, /atom 2 coordinates: expected 3 numbers, found 2/);
    expectParseError(() => parsePoscar([...head, 'Cs Cl', '1 1', 'Direct', '0 0 0', '0 0 nan'].join('\n')), 10, /bad number "nan"/);
    expectParseError(
      () => parsePoscar([...head, 'Cs Cl', '1 1', 'Selective', 'Direct', '0 0 0 T T T', '0 0 0 T X T'].join('\n')),
      11,
      /atom 2: selective dynamics flag 2 is "X"/,
    );
    expectParseError(() => parsePoscar(['t', '1.0', '1 0 0', '2 0 0', '0 0 1', 'H', '1', 'Direct', '0 0 0'].join('\n')), 3, /singular/);
  });
});

describe.skipIf(!hasAse())('ASE reads our POSCAR', () => {
  it('direct and Cartesian files give ASE the same cell, species and positions', () => {
    const dir = tempDir();
    const s = randomCrystal(77);
    const cart = join(dir, 'cart.vasp');
    const direct = join(dir, 'direct.vasp');
    writePoscar(cart, s);
    writePoscar(direct, s, { direct: true });
    const script = `
import json, sys
from ase.io import read
print(json.dumps([{'numbers': a.numbers.tolist(), 'cell': a.cell.array.ravel().tolist(), 'positions': a.positions.ravel().tolist()} for a in (read(p, format='vasp') for p in sys.argv[1:])]))
`;
    const [c, d] = JSON.parse(execFileSync('/usr/bin/python3', ['-c', script, cart, direct], { encoding: 'utf8' })) as {
      numbers: number[];
      cell: number[];
      positions: number[];
    }[];
    for (const a of [c, d]) {
      expect(a.numbers).toEqual(Array.from(s.numbers));
      expectBitwiseEqual(a.cell, s.cell);
    }
    expectBitwiseEqual(c.positions, s.positions);
    for (let k = 0; k < s.positions.length; k++) expect(Math.abs(d.positions[k] - s.positions[k])).toBeLessThan(1e-13);
  });
});
