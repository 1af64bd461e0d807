import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import {
  ELEMENT_SYMBOLS,
  MAX_ATOMIC_NUMBER,
  atomicNumberOf,
  elementNameOf,
  massOf,
  symbolOf,
  tryAtomicNumberOf,
} from '../../src/structure/index.js';
import { StructureError } from '../../src/errors.js';

function hasAse(): boolean {
  try {
    execFileSync('/usr/bin/python3', ['-c', 'import ase'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

describe('element data', () => {
  it('covers Z = 1..118 with known anchors', () => {
    expect(MAX_ATOMIC_NUMBER).toBe(118);
    expect(symbolOf(1)).toBe('H');
    expect(symbolOf(6)).toBe('C');
    expect(symbolOf(29)).toBe('Cu');
    expect(symbolOf(118)).toBe('Og');
    expect(elementNameOf(26)).toBe('Iron');
    expect(massOf(1)).toBeCloseTo(1.008, 6);
    expect(massOf(6)).toBeCloseTo(12.011, 6);
    expect(massOf(29)).toBeCloseTo(63.546, 6);
    expect(massOf(79)).toBeCloseTo(196.966569, 6);
  });

  it('round-trips symbol <-> Z for every element, case-tolerant', () => {
    for (let z = 1; z <= 118; z++) {
      const s = symbolOf(z);
      expect(atomicNumberOf(s)).toBe(z);
      expect(atomicNumberOf(s.toUpperCase())).toBe(z);
      expect(atomicNumberOf(` ${s.toLowerCase()} `)).toBe(z);
      expect(massOf(z)).toBeGreaterThan(0);
    }
    // masses increase overall with Z (a few famous inversions aside): check endpoints and monotone trend
    expect(massOf(118)).toBeGreaterThan(massOf(1) * 200);
  });

  it('rejects unknown atomic numbers and symbols with StructureError', () => {
    for (const z of [0, -1, 119, 1.5, Number.NaN]) {
      expect(() => symbolOf(z)).toThrow(StructureError);
      expect(() => massOf(z)).toThrow(/unknown atomic number/);
    }
    expect(tryAtomicNumberOf('X')).toBeUndefined();
    expect(tryAtomicNumberOf('Xx')).toBeUndefined();
    expect(() => atomicNumberOf('Qq')).toThrow(StructureError);
    try {
      atomicNumberOf('Qq');
    } catch (e) {
      expect((e as StructureError).code).toBe('unknown-element');
    }
  });

  it.skipIf(!hasAse())('matches ase.data exactly', () => {
    const out = execFileSync(
      '/usr/bin/python3',
      ['-c', 'import json, ase.data as d; print(json.dumps([d.chemical_symbols[:119], [float(m) for m in d.atomic_masses[:119]]]))'],
      { encoding: 'utf8' },
    );
    const [symbols, masses] = JSON.parse(out) as [string[], number[]];
    expect(ELEMENT_SYMBOLS).toEqual(symbols);
    for (let z = 1; z <= 118; z++) expect(massOf(z)).toBe(masses[z]);
  });
});
