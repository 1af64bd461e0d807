import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'vitest';
import { ParseError } from '../../src/errors.js';
import { Structure, type PerAtomArray } from '../../src/structure/index.js';
import { RandomStream } from '../../src/dynamics/random.js';

/** A fresh temporary directory for one test file. */
export function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'equiforce-io-'));
}

/** True when /usr/bin/python3 can import ASE. */
export function hasAse(): boolean {
  try {
    execFileSync('/usr/bin/python3', ['-c', 'import ase'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Deterministic uniform numbers in [0, 1) from the library's seeded stream. */
export function rng(seed: number): () => number {
  const stream = new RandomStream(seed);
  return () => stream.uniform();
}

/** A random structure with awkward doubles (full 17-digit mantissas, tiny and huge exponents). */
export function randomStructure(seed: number, n: number, pbc: [boolean, boolean, boolean]): Structure {
  const r = rng(seed);
  const awkward = (): number => {
    const u = r();
    if (u < 0.05) return 0;
    if (u < 0.1) return -0;
    if (u < 0.15) return (r() - 0.5) * 1e-12;
    if (u < 0.2) return (r() - 0.5) * 1e7;
    return (r() - 0.5) * 20;
  };
  const cell = new Float64Array(9);
  for (let k = 0; k < 3; k++) {
    if (!pbc[k] && r() < 0.5) continue; // open axes sometimes without a vector
    for (let d = 0; d < 3; d++) cell[3 * k + d] = (d === k ? 5 + 10 * r() : (r() - 0.5) * 3);
  }
  const positions = Float64Array.from({ length: 3 * n }, awkward);
  const numbers = Int32Array.from({ length: n }, () => 1 + Math.floor(r() * 118));
  const arrays: Record<string, PerAtomArray> = {
    forces: { type: 'float', components: 3, data: Float64Array.from({ length: 3 * n }, awkward) },
    velocities: { type: 'float', components: 3, data: Float64Array.from({ length: 3 * n }, awkward) },
    tag: { type: 'int', components: 1, data: Int32Array.from({ length: n }, () => Math.floor((r() - 0.5) * 2 ** 31)) },
    mask: { type: 'bool', components: 2, data: Array.from({ length: 2 * n }, () => r() < 0.5) },
    name: { type: 'string', components: 1, data: Array.from({ length: n }, (_, i) => `atom_${i}`) },
  };
  return new Structure({
    numbers,
    positions,
    cell,
    pbc,
    charge: Math.floor((r() - 0.5) * 6),
    spin: Math.floor(r() * 4),
    info: {
      energy: awkward(),
      stress: Array.from({ length: 9 }, awkward),
      virial6: Array.from({ length: 6 }, awkward),
      label: 'random "structure" {x} [y] \\ with = and spaces',
      step: Math.floor(r() * 1000),
      converged: r() < 0.5,
      flags: [true, false, true],
      nested: { a: [1, 2], b: 'c' },
      names: ['x', 'y z'],
      multiline: 'line1\nline2',
    },
    arrays,
  });
}

/** Structures equal bit for bit in every field (−0 vs 0 allowed to differ only where `allowSignedZero`). */
export function expectSameStructure(a: Structure, b: Structure): void {
  expect(Array.from(a.numbers)).toEqual(Array.from(b.numbers));
  expectBitwiseEqual(a.positions, b.positions);
  expectBitwiseEqual(a.cell, b.cell);
  expect(a.pbc).toEqual(b.pbc);
  expect(a.charge).toBe(b.charge);
  expect(a.spin).toBe(b.spin);
  expect(a.info).toEqual(b.info);
  expect(Object.keys(a.arrays)).toEqual(Object.keys(b.arrays));
  for (const [name, col] of Object.entries(a.arrays)) {
    const other = b.arrays[name];
    expect(other.type).toBe(col.type);
    expect(other.components).toBe(col.components);
    if (col.type === 'float') expectBitwiseEqual(col.data, other.data as Float64Array);
    else expect(Array.from(other.data as ArrayLike<unknown>)).toEqual(Array.from(col.data as ArrayLike<unknown>));
  }
}

/** Every element identical as a double, including the sign of zero. */
export function expectBitwiseEqual(a: ArrayLike<number>, b: ArrayLike<number>): void {
  expect(a.length).toBe(b.length);
  const bad: string[] = [];
  for (let k = 0; k < a.length; k++) if (!Object.is(a[k], b[k])) bad.push(`[${k}] ${a[k]} vs ${b[k]}`);
  expect(bad).toEqual([]);
}

/** Expect a ParseError on `line` whose message matches `message`. */
export function expectParseError(fn: () => unknown, line: number, message: RegExp): void {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  expect(caught).toBeInstanceOf(ParseError);
  const e = caught as ParseError;
  expect(e.message).toMatch(message);
  expect(e.line).toBe(line);
}
