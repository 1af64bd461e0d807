import { execFileSync } from 'node:child_process';
import { createReadStream, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { ArgumentError } from '../../src/errors.js';
import {
  ExtxyzParser,
  ExtxyzWriter,
  appendExtxyz,
  formatExtxyz,
  iterExtxyz,
  parseExtxyz,
  readExtxyz,
  writeExtxyz,
} from '../../src/io/index.js';
import { Structure, type PerAtomArrays } from '../../src/structure/index.js';
import {
  expectBitwiseEqual,
  expectParseError,
  expectSameStructure,
  hasAse,
  randomStructure,
  tempDir,
} from './helpers.js';

const PBCS: [boolean, boolean, boolean][] = [
  [true, true, true],
  [true, true, false],
  [false, true, false],
  [false, false, false],
];

describe('extended XYZ round trip', () => {
  it('write → read reproduces every double, per-atom column and info key exactly', () => {
    for (let seed = 1; seed <= 24; seed++) {
      const s = randomStructure(seed, 1 + (seed % 7), PBCS[seed % 4]);
      const text = formatExtxyz(s);
      const [back] = parseExtxyz(text);
      expectSameStructure(back, s);
      // and a second pass is textually stable
      expect(formatExtxyz(back)).toBe(text);
    }
  });

  it('multi-frame files keep frame order and differing atom counts', () => {
    const frames = [randomStructure(7, 3, [true, true, true]), randomStructure(8, 11, [false, false, false]), randomStructure(9, 1, [true, false, true])];
    const dir = tempDir();
    const path = join(dir, 'traj.extxyz');
    writeExtxyz(path, frames);
    const back = readExtxyz(path);
    expect(back.length).toBe(3);
    back.forEach((s, i) => expectSameStructure(s, frames[i]));
  });

  it('decimals option writes fixed-point like ASE (%.8f) and reads back within half an ulp of the text', () => {
    const s = Structure.fromArrays({ symbols: ['H'], positions: [[1 / 3, -2 / 3, 1e-9]], cell: [3, 3, 3], pbc: true });
    const text = formatExtxyz(s, { decimals: 8 });
    expect(text).toContain('0.33333333');
    expect(text).toContain('-0.66666667');
    const [back] = parseExtxyz(text);
    expect(back.positions[0]).toBe(0.33333333);
    expect(back.positions[2]).toBe(0);
  });

  it('the writer can drop info and select columns', () => {
    const s = randomStructure(3, 4, [true, true, true]);
    const [back] = parseExtxyz(formatExtxyz(s, { writeInfo: false, columns: ['forces'] }));
    expect(Object.keys(back.info)).toEqual([]);
    expect(Object.keys(back.arrays)).toEqual(['forces']);
    expect(back.charge).toBe(s.charge); // charge and spin are structure fields, always written
    expect(() => formatExtxyz(s, { columns: ['nope'] })).toThrow(ArgumentError);
  });

  it('rejects per-atom data extended XYZ cannot hold', () => {
    const base = { numbers: [1], positions: [0, 0, 0] };
    const bad: PerAtomArrays[] = [
      { pos: { type: 'float' as const, components: 3, data: new Float64Array(3) } },
      { 'a b': { type: 'float' as const, components: 1, data: new Float64Array(1) } },
      { 'a:b': { type: 'float' as const, components: 1, data: new Float64Array(1) } },
      { label: { type: 'string' as const, components: 1, data: ['two words'] } },
      { label: { type: 'string' as const, components: 1, data: [''] } },
    ];
    for (const arrays of bad) expect(() => formatExtxyz(new Structure({ ...base, arrays }))).toThrow(ArgumentError);
    expect(() => formatExtxyz(new Structure({ ...base, info: { '': 1 } }))).toThrow(/info key ""/);
    expect(() => formatExtxyz(new Structure({ ...base, info: { 'a\nb': 1 } }))).toThrow(ArgumentError);
  });
});

describe('extended XYZ comment line', () => {
  const frame = (comment: string): Structure => parseExtxyz(`1\n${comment}\nH 0 0 0\n`)[0];

  it('parses quoted, bracketed, escaped, bare and JSON values like ASE', () => {
    const s = frame(
      `a=1 b=2.5 c="1 2 3" d={4.5 6} e=[T F] f='single quoted' g="esc \\"q\\"" flag h=T i='_JSON {"k":[1,2]}' j=x=y k=1e-3 l=nan`,
    );
    expect(s.info).toEqual({
      a: 1,
      b: 2.5,
      c: [1, 2, 3],
      d: [4.5, 6],
      e: [true, false],
      f: 'single quoted',
      g: 'esc "q"',
      flag: true,
      h: true,
      i: { k: [1, 2] },
      j: 'x=y',
      k: 0.001,
      l: Number.NaN,
    });
  });

  it('Lattice gives row vectors; pbc defaults to all true with a Lattice, all false without', () => {
    const s = frame('Lattice="1 2 3 4 5 6 7 8 10" Properties=species:S:1:pos:R:3');
    expect(Array.from(s.cell)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 10]);
    expect(s.pbc).toEqual([true, true, true]);
    expect(frame('energy=1').pbc).toEqual([false, false, false]);
    expect(frame('Lattice="1 0 0 0 1 0 0 0 1" pbc="T F T"').pbc).toEqual([true, false, true]);
    expect(frame('Lattice="1 0 0 0 1 0 0 0 1" pbc=F').pbc).toEqual([false, false, false]);
  });

  it('a plain comment without "=" is kept whole as info.comment', () => {
    expect(frame('just a title, with commas').info).toEqual({ comment: 'just a title, with commas' });
    expect(frame('').info).toEqual({});
  });

  it('Z column gives atomic numbers; species are case-tolerant', () => {
    const [s] = parseExtxyz('2\nProperties=Z:I:1:pos:R:3\n8 0 0 0\n1 0 0 1\n');
    expect(Array.from(s.numbers)).toEqual([8, 1]);
    const [t] = parseExtxyz('2\nProperties=species:S:1:pos:R:3\nCU 0 0 0\nau 0 0 1\n');
    expect(t.symbols).toEqual(['Cu', 'Au']);
  });

  it('tolerates CRLF line ends, blank lines between frames and zero-atom frames', () => {
    const text = '1\r\nenergy=1\r\nH 0 0 0\r\n\r\n0\r\nempty=T\r\n\n2\n\nHe 1 2 3\nNe 4 5 6\n\n';
    const frames = parseExtxyz(text);
    expect(frames.map((f) => f.length)).toEqual([1, 0, 2]);
    expect(frames[1].info.empty).toBe(true);
    expect(Array.from(frames[2].positions)).toEqual([1, 2, 3, 4, 5, 6]);
  });
});

describe('extended XYZ errors name the line', () => {
  it('wrong atom count / truncated frame', () => {
    expectParseError(() => parseExtxyz('3\nenergy=1\nH 0 0 0\nH 0 0 1\n'), 5, /truncated frame: expected 3 atom lines after line 2, found 2/);
    expectParseError(
      () => parseExtxyz('3\nenergy=1\nH 0 0 0\nH 0 0 1\n1\nenergy=2\nH 0 0 0\n'),
      5,
      /atom 3 of 3: expected 4 columns, found 1 \(frame has fewer atom lines than the count 3 on line 1\)/,
    );
    expectParseError(() => parseExtxyz('2\n'), 2, /truncated frame: missing the comment line/);
    expectParseError(() => parseExtxyz('two\nx\n'), 1, /expected the atom count of a frame, found "two"/);
    expectParseError(() => parseExtxyz('1\na=1\nH 0 0 0\n-1\n'), 4, /expected the atom count/);
  });

  it('bad numbers, integers and logicals', () => {
    expectParseError(() => parseExtxyz('2\nenergy=1\nH 0 0 0\nH 0 0.0.1 0\n'), 4, /bad number "0.0.1" in column pos/);
    expectParseError(() => parseExtxyz('1\nenergy=1\nH 0 nan 0\n'), 3, /atom 0: position is nan/);
    expectParseError(() => parseExtxyz('1\nProperties=species:S:1:pos:R:3:tag:I:1\nH 0 0 0 1.5\n'), 3, /bad integer "1.5" in column tag/);
    expectParseError(() => parseExtxyz('1\nProperties=species:S:1:pos:R:3:tag:I:1\nH 0 0 0 9999999999\n'), 3, /bad integer/);
    expectParseError(() => parseExtxyz('1\nProperties=species:S:1:pos:R:3:m:L:1\nH 0 0 0 yes\n'), 3, /bad logical "yes" in column m/);
    expectParseError(() => parseExtxyz('1\nProperties=species:S:1:pos:R:3:f:R:3\nH 0 0 0 1 2\n'), 3, /expected 7 columns, found 6/);
    expectParseError(() => parseExtxyz('1\nProperties=species:S:1:pos:R:3\nH 0 0 0 1\n'), 3, /expected 4 columns, found 5/);
  });

  it('unknown species', () => {
    expectParseError(() => parseExtxyz('2\nenergy=1\nH 0 0 0\nXx 0 0 1\n'), 4, /atom 1: unknown species "Xx"/);
    expectParseError(() => parseExtxyz('1\nProperties=Z:I:1:pos:R:3\n200 0 0 0\n'), 3, /atom 0: unknown atomic number 200/);
  });

  it('pbc without a Lattice, bad Lattice, bad pbc, singular cell', () => {
    expectParseError(() => parseExtxyz('1\npbc="T T F"\nH 0 0 0\n'), 2, /pbc=T T F needs a Lattice, but the frame has none/);
    expectParseError(() => parseExtxyz('1\nLattice="1 0 0 0 1 0"\nH 0 0 0\n'), 2, /Lattice must hold 9 numbers/);
    expectParseError(() => parseExtxyz('1\nLattice="1 0 0 0 1 0 0 0 1" pbc="T T"\nH 0 0 0\n'), 2, /pbc must be three T\/F values/);
    expectParseError(() => parseExtxyz('1\nLattice="1 0 0 2 0 0 0 0 1"\nH 0 0 0\n'), 2, /singular/);
    expectParseError(() => parseExtxyz('1\nLattice="1 0 0 0 1 0 0 0 0" pbc="T T T"\nH 0 0 0\n'), 2, /cell vector c is zero/);
  });

  it('bad Properties, open quotes, non-integer charge or spin', () => {
    expectParseError(() => parseExtxyz('1\nProperties=species:S:1:pos:R\nH 0 0 0\n'), 2, /not a list of name:type:count triplets/);
    expectParseError(() => parseExtxyz('1\nProperties=species:S:1:pos:X:3\nH 0 0 0\n'), 2, /unknown type "X"/);
    expectParseError(() => parseExtxyz('1\nProperties=species:S:1:xyz:R:3\nH 0 0 0\n'), 2, /no pos:R:3 column/);
    expectParseError(() => parseExtxyz('1\nProperties=pos:R:3\n0 0 0\n'), 2, /neither a species nor a Z column/);
    expectParseError(() => parseExtxyz('1\nProperties=species:S:1:pos:R:3:f:R:0\nH 0 0 0\n'), 2, /bad count "0"/);
    expectParseError(() => parseExtxyz('1\nenergy=1 note="open\nH 0 0 0\n'), 2, /unterminated quote/);
    expectParseError(() => parseExtxyz('1\ncharge=0.5\nH 0 0 0\n'), 2, /charge=0.5 is not an integer/);
    expectParseError(() => parseExtxyz('1\nspin=-1\nH 0 0 0\n'), 2, /spin=-1 is not a spin multiplicity/);
    expectParseError(() => parseExtxyz('1\ncharge=abc\nH 0 0 0\n'), 2, /charge=abc is not an integer/);
    expectParseError(() => parseExtxyz('999999999999\na=1\n'), 1, /implausibly large/);
  });

  it('names the source file', () => {
    const dir = tempDir();
    const path = join(dir, 'broken.extxyz');
    writeFileSync(path, '1\nenergy=1\nH 0 0 zz\n');
    expect(() => readExtxyz(path)).toThrow(`${path}:line 3: bad number "zz" in column pos`);
  });
});

describe('streaming reader', () => {
  it('yields the same frames as the synchronous reader, from a path and from odd-sized chunks', async () => {
    const frames = Array.from({ length: 40 }, (_, i) => randomStructure(100 + i, 1 + (i % 9), PBCS[i % 4]));
    const text = formatExtxyz(frames).replace(/\n/g, (m, off: number) => (off % 3 === 0 ? '\r\n' : m));
    const dir = tempDir();
    const path = join(dir, 'long.extxyz');
    writeFileSync(path, text);
    const sync = readExtxyz(path);
    expect(sync.length).toBe(40);

    const fromPath: Structure[] = [];
    for await (const s of iterExtxyz(path)) fromPath.push(s);
    expect(fromPath.length).toBe(40);
    fromPath.forEach((s, i) => expectSameStructure(s, frames[i]));

    // 7-byte chunks split lines, CRLF pairs and multi-byte UTF-8 characters
    const bytes = Buffer.from(formatExtxyz(Structure.fromArrays({ symbols: ['H'], positions: [0, 0, 0], info: { unit: 'Å² ok' } })) + text);
    const chunks = Array.from({ length: Math.ceil(bytes.length / 7) }, (_, k) => bytes.subarray(7 * k, 7 * k + 7));
    const fromStream: Structure[] = [];
    for await (const s of iterExtxyz(Readable.from(chunks))) fromStream.push(s);
    expect(fromStream.length).toBe(41);
    expect(fromStream[0].info.unit).toBe('Å² ok');
    fromStream.slice(1).forEach((s, i) => expectSameStructure(s, frames[i]));
  });

  it('reports errors with line numbers and the file name', async () => {
    const dir = tempDir();
    const path = join(dir, 'cut.extxyz');
    writeFileSync(path, '1\na=1\nH 0 0 0\n2\na=2\nH 0 0 0\n');
    const seen: number[] = [];
    await expect(async () => {
      for await (const s of iterExtxyz(path)) seen.push(s.length);
    }).rejects.toThrow(`${path}:line 7: truncated frame`);
    expect(seen).toEqual([1]);
  });

  it('can stop early without reading the rest', async () => {
    const dir = tempDir();
    const path = join(dir, 'many.extxyz');
    writeExtxyz(path, Array.from({ length: 500 }, (_, i) => randomStructure(i, 5, [true, true, true])));
    let count = 0;
    const stream = createReadStream(path, { highWaterMark: 1024 });
    for await (const s of iterExtxyz(stream)) {
      expect(s.length).toBe(5);
      if (++count === 3) break;
    }
    expect(count).toBe(3);
    expect(stream.bytesRead).toBeLessThan(readFileSync(path).length / 10);
  });

  it('the incremental parser reports the last line it consumed', () => {
    const p = new ExtxyzParser();
    expect(p.push('1')).toBeUndefined();
    expect(p.push('a=1')).toBeUndefined();
    const s = p.push('H 0 0 0');
    expect(s?.length).toBe(1);
    expect(p.line).toBe(3);
    p.end();
  });
});

describe('appending trajectory writer', () => {
  it('writes frames one at a time, appends to existing files, refuses writes after close', () => {
    const dir = tempDir();
    const path = join(dir, 'md.extxyz');
    const frames = Array.from({ length: 6 }, (_, i) => randomStructure(50 + i, 4, [true, true, true]));
    const w = new ExtxyzWriter(path);
    for (const f of frames.slice(0, 4)) {
      w.write(f);
      // each frame is on disk as soon as write returns
      expect(readExtxyz(path).length).toBe(w.frames);
    }
    w.close();
    w.close();
    expect(() => w.write(frames[0])).toThrow(/closed/);
    appendExtxyz(path, frames[4]);
    const w2 = new ExtxyzWriter(path, { append: true });
    w2.write(frames[5]);
    w2.close();
    const back = readExtxyz(path);
    expect(back.length).toBe(6);
    back.forEach((s, i) => expectSameStructure(s, frames[i]));
    // opening without append truncates
    new ExtxyzWriter(path).close();
    expect(readExtxyz(path)).toEqual([]);
  });
});

describe.skipIf(!hasAse())('ASE reads our extended XYZ', () => {
  it('gets the same numbers, cell, pbc, energy, forces, stress, charges and custom columns', () => {
    const dir = tempDir();
    const path = join(dir, 'ours.extxyz');
    const frames = [0, 1, 2].map((i) => {
      const s = randomStructure(900 + i, 6, PBCS[i]);
      return s.with({ info: { energy: s.info.energy ?? 0, stress: s.info.stress ?? [], note: 'written by equiforce', label: 'say "hi" {x} [y] \\ z=1', numstr: '1', one: [5] } });
    });
    writeExtxyz(path, frames);
    const script = `
import json, sys, numpy as np
from ase.io import read
out = []
for a in read(sys.argv[1], index=':', format='extxyz'):
    r = a.calc.results if a.calc is not None else {}
    out.append({
        'numbers': a.numbers.tolist(), 'positions': a.positions.ravel().tolist(),
        'cell': a.cell.array.ravel().tolist(), 'pbc': a.pbc.tolist(),
        'energy': float(r['energy']), 'stress': np.asarray(r['stress']).tolist(),
        'forces': np.asarray(r['forces']).ravel().tolist(),
        'velocities': a.arrays['velocities'].ravel().tolist(), 'tag': a.arrays['tag'].tolist(),
        'mask': a.arrays['mask'].ravel().tolist(), 'name': a.arrays['name'].tolist(),
        'charge': int(a.info.get('charge', 0)), 'spin': int(a.info.get('spin', 0)), 'note': a.info['note'],
        'label': a.info['label'], 'numstr': a.info['numstr'], 'one': np.asarray(a.info['one']).tolist(),
    })
print(json.dumps(out))
`;
    const out = JSON.parse(execFileSync('/usr/bin/python3', ['-c', script, path], { encoding: 'utf8' })) as Record<string, unknown>[];
    expect(out.length).toBe(3);
    out.forEach((a, i) => {
      const s = frames[i];
      expect(a.numbers).toEqual(Array.from(s.numbers));
      // JSON cannot carry -0, so compare values (bitwise apart from the zero sign)
      expectBitwiseEqual((a.positions as number[]).map((x) => x + 0), Array.from(s.positions, (x) => x + 0));
      expectBitwiseEqual((a.cell as number[]).map((x) => x + 0), Array.from(s.cell, (x) => x + 0));
      expect(a.pbc).toEqual([...s.pbc]);
      expect((a.energy as number) + 0).toBe((s.info.energy as number) + 0); // ±0 both read as zero
      // ASE reads the 9 stress numbers column-major (Fortran order): M[i][j] = flat[i + 3j]
      const st = s.info.stress as number[];
      expectBitwiseEqual((a.stress as number[]).map((x) => x + 0), [st[0], st[4], st[8], st[7], st[6], st[3]].map((x) => x + 0));
      expectBitwiseEqual((a.forces as number[]).map((x) => x + 0), Array.from(s.arrays.forces.data as Float64Array, (x) => x + 0));
      expectBitwiseEqual((a.velocities as number[]).map((x) => x + 0), Array.from(s.arrays.velocities.data as Float64Array, (x) => x + 0));
      expect(a.tag).toEqual(Array.from(s.arrays.tag.data as Int32Array));
      expect(a.mask).toEqual(s.arrays.mask.data);
      expect(a.name).toEqual(s.arrays.name.data);
      expect(a.charge).toBe(s.charge);
      expect(a.spin).toBe(s.spin);
      expect(a.note).toBe('written by equiforce');
      expect(a.label).toBe('say "hi" {x} [y] \\ z=1');
      expect(a.numstr).toBe('1');
      expect(a.one).toEqual([5]);
    });
  });
});
