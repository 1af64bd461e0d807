import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ArgumentError } from '../../src/errors.js';
import {
  detectFormat,
  formatXyz,
  iterFrames,
  parseXyz,
  readFrames,
  readStructure,
  readXyz,
  writeStructure,
  writeXyz,
} from '../../src/io/index.js';
import { Structure } from '../../src/structure/index.js';
import { expectBitwiseEqual, expectParseError, expectSameStructure, randomStructure, tempDir } from './helpers.js';

describe('plain XYZ', () => {
  it('round-trips symbols and positions exactly, several frames', () => {
    const frames = [1, 2, 3].map((i) => randomStructure(i, 3 + i, [false, false, false]));
    const back = parseXyz(formatXyz(frames, { comment: 'frames' }));
    expect(back.length).toBe(3);
    back.forEach((s, i) => {
      expect(Array.from(s.numbers)).toEqual(Array.from(frames[i].numbers));
      expectBitwiseEqual(s.positions, frames[i].positions);
      expect(s.info.comment).toBe('frames');
    });
  });

  it('accepts atomic numbers for symbols and ignores extra columns', () => {
    const [s] = parseXyz('2\n\n8 0 0 0 extra\nh 0 0 1 1 2 3\n');
    expect(s.symbols).toEqual(['O', 'H']);
    expect(s.info).toEqual({});
  });

  it('writes info.comment by default and refuses line breaks', () => {
    const s = Structure.fromArrays({ symbols: ['He'], positions: [1, 2, 3], info: { comment: 'hello' } });
    expect(formatXyz(s)).toBe('1\nhello\nHe 1 2 3\n');
    expect(() => formatXyz(s, { comment: 'a\nb' })).toThrow(ArgumentError);
    const dir = tempDir();
    writeXyz(join(dir, 'a.xyz'), s);
    expect(readXyz(join(dir, 'a.xyz'))[0].info.comment).toBe('hello');
  });

  it('errors name the line', () => {
    expectParseError(() => parseXyz('x\n'), 1, /expected the atom count/);
    expectParseError(() => parseXyz('2\nc\nH 0 0 0\n'), 4, /truncated frame: the count on line 1 announces 2 atoms but only 1 lines follow/);
    expectParseError(() => parseXyz('1\nc\nH 0 0\n'), 3, /expected "symbol x y z", found 3 columns/);
    expectParseError(() => parseXyz('1\nc\nQq 0 0 0\n'), 3, /unknown element "Qq"/);
    expectParseError(() => parseXyz('1\nc\n0 0 0 0\n'), 3, /unknown element "0"/);
    expectParseError(() => parseXyz('1\nc\nH 0 a 0\n'), 3, /bad coordinate "a"/);
  });
});

describe('format detection', () => {
  it('maps names to formats', () => {
    expect(detectFormat('a/b/traj.xyz')).toBe('extxyz');
    expect(detectFormat('x.EXTXYZ')).toBe('extxyz');
    expect(detectFormat('POSCAR')).toBe('poscar');
    expect(detectFormat('/tmp/CONTCAR')).toBe('poscar');
    expect(detectFormat('POSCAR_relaxed')).toBe('poscar');
    expect(detectFormat('si.vasp')).toBe('poscar');
    expect(detectFormat('si.poscar')).toBe('poscar');
    expect(() => detectFormat('model.cif')).toThrow(/cannot tell the format/);
  });

  it('readStructure returns the last frame; writeStructure picks the writer', async () => {
    const dir = tempDir();
    const frames = [randomStructure(1, 4, [true, true, true]), randomStructure(2, 5, [true, false, true])];
    const traj = join(dir, 'traj.xyz');
    writeStructure(traj, frames);
    expect(readFrames(traj).length).toBe(2);
    const streamed: Structure[] = [];
    for await (const f of iterFrames(traj)) streamed.push(f);
    expect(streamed.length).toBe(2);
    expectSameStructure(streamed[0], frames[0]);
    expectSameStructure(readStructure(traj), frames[1]);
    const crystal = new Structure({ numbers: [14, 14], positions: [0, 0, 0, 1.3, 1.3, 1.3], cell: [0, 2.7, 2.7, 2.7, 0, 2.7, 2.7, 2.7, 0], pbc: [true, true, true] });
    const poscar = join(dir, 'POSCAR');
    writeStructure(poscar, crystal);
    expectBitwiseEqual(readStructure(poscar).positions, crystal.positions);
    expect(readFrames(poscar).length).toBe(1);
    for await (const f of iterFrames(poscar)) expect(f.length).toBe(2);
    expect(() => writeStructure(join(dir, 'x.vasp'), [crystal, crystal])).toThrow(/one structure/);
    const empty = join(dir, 'empty.xyz');
    writeStructure(empty, []);
    expect(() => readStructure(empty)).toThrow(/holds no structure/);
  });
});
