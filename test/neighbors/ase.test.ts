import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { neighborList, VerletNeighborList } from '../../src/geometry/index.js';
import { pairKey } from '../helpers/bruteforce.js';
import { checkInvariants } from './check.js';

/** Output of ASE's primitive_neighbor_list('ijSDd'), written by test/fixtures/make_ase_neighbors.py. */
interface AseFixture {
  name: string;
  cutoff: number;
  pbc: [boolean, boolean, boolean];
  cell: number[];
  positions: number[];
  i: number[];
  j: number[];
  S: number[];
  D: number[];
  d: number[];
}

const dir = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'ase-neighbors');
const fixtures: AseFixture[] = readdirSync(dir)
  .filter((f) => f.endsWith('.json'))
  .sort()
  .map((f) => JSON.parse(readFileSync(join(dir, f), 'utf8')) as AseFixture);

function expectSameAsAse(fx: AseFixture, nl: ReturnType<typeof neighborList>): void {
  expect(nl.count).toBe(fx.i.length);
  const ours = new Map<string, number>();
  for (let p = 0; p < nl.count; p++) ours.set(pairKey(nl.centers[p], nl.neighbors[p], nl.shifts.subarray(3 * p, 3 * p + 3)), p);
  for (let q = 0; q < fx.i.length; q++) {
    const key = pairKey(fx.i[q], fx.j[q], fx.S.slice(3 * q, 3 * q + 3));
    const p = ours.get(key);
    if (p === undefined) throw new Error(`${fx.name}: ASE pair ${key} missing`);
    for (let c = 0; c < 3; c++) {
      if (!(Math.abs(nl.vectors[3 * p + c] - fx.D[3 * q + c]) < 1e-10)) throw new Error(`${fx.name}: vector of ${key}`);
    }
    if (!(Math.abs(nl.distances[p] - fx.d[q]) < 1e-10)) throw new Error(`${fx.name}: distance of ${key}`);
  }
}

describe('neighborList vs ASE primitive_neighbor_list fixtures', () => {
  it('found the fixtures', () => {
    expect(fixtures.map((f) => f.name)).toEqual(
      expect.arrayContaining(['triclinic', 'slab', 'small-cell-big-cutoff', 'mixed-pbc', 'fcc-cu', 'molecule']),
    );
  });

  for (const fx of fixtures) {
    it(`${fx.name}: same (i, j, S), D and d as ASE`, () => {
      const system = { positions: Float64Array.from(fx.positions), cell: Float64Array.from(fx.cell), pbc: fx.pbc };
      for (const [binsPerCutoff, traversal] of [[1, 'index'], [2, 'index'], [1, 'bin'], [2, 'bin']] as const) {
        const nl = neighborList(system, { cutoff: fx.cutoff, binsPerCutoff, traversal });
        checkInvariants(nl, system);
        expectSameAsAse(fx, nl);
      }
      // The skin list gives the same pairs.
      const verlet = new VerletNeighborList(system, { cutoff: fx.cutoff, skin: 0.7 });
      expectSameAsAse(fx, verlet.list);
    });
  }
});
