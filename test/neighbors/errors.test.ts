import { describe, expect, it } from 'vitest';
import { ArgumentError, StructureError } from '../../src/errors.js';
import { neighborList, NeighborSearch } from '../../src/geometry/index.js';

function codeOf(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    if (e instanceof StructureError || e instanceof ArgumentError) return `${e.constructor.name}:${e.code}`;
    throw e;
  }
  return 'no error';
}

const cube = [3, 0, 0, 0, 3, 0, 0, 0, 3];
const pbc3: [boolean, boolean, boolean] = [true, true, true];

describe('neighborList input validation', () => {
  it('rejects bad cutoffs with ArgumentError', () => {
    for (const cutoff of [-1, NaN, Infinity, -Infinity]) {
      expect(codeOf(() => neighborList({ positions: [0, 0, 0] }, { cutoff }))).toBe('ArgumentError:invalid-cutoff');
    }
    expect(codeOf(() => new NeighborSearch({ cutoff: -0.5 }))).toBe('ArgumentError:invalid-cutoff');
    expect(codeOf(() => neighborList({ positions: [0, 0, 0] }, { cutoff: 1, binsPerCutoff: 3 as 1 }))).toBe('ArgumentError:invalid-argument');
    expect(codeOf(() => new NeighborSearch({ cutoff: 1, traversal: 'spiral' as 'bin' }))).toBe('ArgumentError:invalid-argument');
  });

  it('names structural problems', () => {
    expect(codeOf(() => neighborList({ positions: [0, 0, 0, 1] }, { cutoff: 2 }))).toBe('StructureError:length-mismatch');
    expect(codeOf(() => neighborList({ positions: [0, NaN, 0] }, { cutoff: 2 }))).toBe('StructureError:non-finite-position');
    expect(codeOf(() => neighborList({ positions: [0, 0, Infinity] }, { cutoff: 2 }))).toBe('StructureError:non-finite-position');
    expect(codeOf(() => neighborList({ positions: [0, 0, 0], numbers: [1, 1] }, { cutoff: 2 }))).toBe('StructureError:length-mismatch');
    expect(codeOf(() => neighborList({ positions: [0, 0, 0], cell: [1, 0, 0] }, { cutoff: 2 }))).toBe('StructureError:length-mismatch');
    expect(codeOf(() => neighborList({ positions: [0, 0, 0], cell: [NaN, 0, 0, 0, 1, 0, 0, 0, 1], pbc: pbc3 }, { cutoff: 2 }))).toBe('StructureError:non-finite-cell');
    expect(codeOf(() => neighborList({ positions: [0, 0, 0], cell: [3, 0, 0, 0, 3, 0, 0, 0, 0], pbc: pbc3 }, { cutoff: 2 }))).toBe('StructureError:pbc-without-cell');
    expect(codeOf(() => neighborList({ positions: [0, 0, 0], pbc: [true, false, false] }, { cutoff: 2 }))).toBe('StructureError:pbc-without-cell');
    // c = a + b: singular.
    expect(codeOf(() => neighborList({ positions: [0, 0, 0], cell: [3, 0, 0, 0, 3, 0, 3, 3, 0], pbc: pbc3 }, { cutoff: 2 }))).toBe('StructureError:singular-cell');
    // Two parallel periodic vectors of a slab.
    expect(codeOf(() => neighborList({ positions: [0, 0, 0], cell: [3, 0, 0, 6, 0, 0, 0, 0, 0], pbc: [true, true, false] }, { cutoff: 2 }))).toBe('StructureError:singular-cell');
    expect(codeOf(() => neighborList({ positions: [0, 0, 0], cell: cube, pbc: [true, true] as unknown as [boolean, boolean, boolean] }, { cutoff: 2 }))).toBe('StructureError:length-mismatch');
  });

  it('ignores the cell along open axes (zero, degenerate or absent) and accepts a zero cutoff', () => {
    const positions = [0, 0, 0, 1, 0, 0, 0, 1.5, 0];
    const a = neighborList({ positions }, { cutoff: 1.2 });
    const b = neighborList({ positions, cell: [3, 0, 0, 6, 0, 0, 0, 0, 0], pbc: [false, false, false] }, { cutoff: 1.2 });
    expect(a.count).toBe(2);
    expect(b.count).toBe(2);
    expect(neighborList({ positions, cell: cube, pbc: pbc3 }, { cutoff: 0 }).count).toBe(0);
  });
});
