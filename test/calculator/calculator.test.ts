/** The ASE-style calculator: skin-list reuse across MD-like steps, caching, and agreement with fresh evaluations. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { Potential } from '../../src/calculator/potential.js';
import { Structure } from '../../src/structure/structure.js';
import { relErr, REPO } from '../model/fixture-data.js';

let potential: Potential;
beforeAll(async () => {
  potential = await Potential.load(join(REPO, 'models', 'test-dense-f64'), { threads: 1 });
});
afterAll(async () => potential.dispose());

function copper(): Structure {
  const a = 3.61;
  const basis = [[0, 0, 0], [0.5, 0.5, 0], [0.5, 0, 0.5], [0, 0.5, 0.5]];
  const positions: number[][] = [];
  for (let i = 0; i < 2; i++) for (let j = 0; j < 2; j++) for (let k = 0; k < 2; k++) {
    for (const [u, v, w] of basis) positions.push([(i + u) * a, (j + v) * a, (k + w) * a]);
  }
  return Structure.fromArrays({ symbols: positions.map(() => 'Cu'), positions, cell: [2 * a, 2 * a, 2 * a], pbc: true });
}

describe('Calculator', () => {
  it('reuses the skin list along a trajectory and matches fresh evaluations', async () => {
    const calc = potential.calculator({ task: 'omat', skin: 1.0 });
    let s = copper();
    let seed = 1;
    const noise = (): number => {
      seed = (seed * 16807) % 2147483647;
      return seed / 2147483647 - 0.5;
    };
    for (let step = 0; step < 12; step++) {
      const moved = Float64Array.from(s.positions, (x) => x + 0.04 * noise());
      s = s.withPositions(moved);
      const viaCalc = await calc.calculate(s);
      const fresh = await potential.compute(s, { task: 'omat' });
      expect(Math.abs(viaCalc.energy - fresh.energy)).toBeLessThan(1e-11 * Math.abs(fresh.energy));
      expect(relErr(viaCalc.forces!, fresh.forces!)).toBeLessThan(1e-11);
      expect(relErr(viaCalc.stress!, fresh.stress!)).toBeLessThan(1e-11);
    }
    // Random walks of 12 × 0.02 Å per axis stay well inside skin/2 for most steps.
    expect(calc.neighborListBuilds).toBeLessThan(12);
    expect(calc.evaluations).toBe(12);
    // Same geometry again: cached, no new evaluation; the getters share one evaluation.
    await calc.getPotentialEnergy(s);
    await calc.getForces(s);
    await calc.getStress(s);
    expect(calc.evaluations).toBe(12);
    const energies = await calc.getPotentialEnergies(s);
    expect(energies.reduce((a, b) => a + b, 0)).toBeCloseTo(await calc.getPotentialEnergy(s), 10);
    expect(calc.implementedProperties).toContain('forces');
  });

  it('rebuilds after a large move and when the atoms change', async () => {
    const calc = potential.calculator({ task: 'omat', skin: 0.5 });
    const s = copper();
    await calc.calculate(s);
    const far = Float64Array.from(s.positions);
    far[0] += 0.4;
    await calc.calculate(s.withPositions(far));
    expect(calc.neighborListBuilds).toBe(2);
    const other = s.with({ numbers: Int32Array.from(s.numbers, (z, i) => (i === 0 ? 28 : z)) });
    const r = await calc.calculate(other);
    const fresh = await potential.compute(other, { task: 'omat' });
    expect(Math.abs(r.energy - fresh.energy)).toBeLessThan(1e-11 * Math.abs(fresh.energy));
  });

  it('getStress on a molecule is a clear error', async () => {
    const calc = potential.calculator({ task: 'omol' });
    const water = Structure.fromArrays({ symbols: ['O', 'H', 'H'], positions: [[0, 0, 0], [0.96, 0, 0], [-0.24, 0.93, 0]] });
    await expect(calc.getStress(water)).rejects.toThrow(/periodic/);
    expect((await calc.getForces(water)).length).toBe(9);
  });
});

describe('Potential.defaultTask', () => {
  it('picks the materials head for periodic structures and the molecular head for molecules', () => {
    // test-dense-f64 has UMA's heads: oc20, omol, omat, odac, omc
    expect(potential.defaultTask(copper())).toBe('omat');
    expect(potential.defaultTask({ pbc: [true, true, false] })).toBe('omat');
    expect(potential.defaultTask({ pbc: [false, false, false] })).toBe('omol');
  });
});
