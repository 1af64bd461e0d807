import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { Potential } from '../../src/calculator/index.js';
import { BerendsenNPT, Langevin, TrajectoryWriter, VelocityVerlet, maxwellBoltzmannVelocities, potentialProvider } from '../../src/dynamics/index.js';
import { readExtxyz } from '../../src/io/index.js';
import { Structure } from '../../src/structure/structure.js';

// Ethanol, Å.
const ethanol = Structure.fromArrays({
  symbols: ['C', 'C', 'O', 'H', 'H', 'H', 'H', 'H', 'H'],
  positions: [
    [-0.0017, 0.5535, 0.0], [-1.2355, -0.3285, 0.0], [1.1755, -0.2555, 0.0], [1.9335, 0.3465, 0.0], [-0.0417, 1.1925, 0.8845],
    [-0.0417, 1.1925, -0.8845], [-2.1425, 0.2805, 0.0], [-1.2255, -0.9625, 0.8875], [-1.2255, -0.9625, -0.8875],
  ],
});

let potential: Potential;
beforeAll(async () => {
  potential = await Potential.load(new URL('../../models/test-dense-f64', import.meta.url).pathname);
});
afterAll(async () => {
  await potential?.dispose();
});

describe('MD with the float64 test model', () => {
  it('velocity Verlet conserves the total energy (drift bound, O(dt²) scaling)', async () => {
    const provider = potentialProvider(potential, 'omol');
    const dev = async (dt: number, steps: number): Promise<{ maxDev: number; epotRange: number }> => {
      const md = new VelocityVerlet(provider, ethanol, { timestepFs: dt, velocities: maxwellBoltzmannVelocities(ethanol.masses, 600, { seed: 2 }) });
      let e0 = Number.NaN;
      let maxDev = 0;
      let lo = Infinity;
      let hi = -Infinity;
      md.attach((d) => {
        if (Number.isNaN(e0)) e0 = d.totalEnergy;
        maxDev = Math.max(maxDev, Math.abs(d.totalEnergy - e0));
        lo = Math.min(lo, d.potentialEnergy);
        hi = Math.max(hi, d.potentialEnergy);
      });
      await md.run(steps);
      return { maxDev, epotRange: hi - lo };
    };
    const coarse = await dev(2, 20);
    const fine = await dev(1, 40);
    expect(coarse.epotRange).toBeGreaterThan(0);
    expect(fine.maxDev).toBeLessThan(0.02 * fine.epotRange);
    const ratio = coarse.maxDev / fine.maxDev;
    expect(ratio).toBeGreaterThan(3);
    expect(ratio).toBeLessThan(5.5);
  }, 30_000);

  it('the Verlet-skin provider gives the same trajectory as fresh neighbour searches', async () => {
    const cu = Structure.fromArrays({ symbols: ['Cu', 'Cu', 'Cu', 'Cu'], positions: [[0, 0, 0], [1.8, 1.8, 0], [1.8, 0, 1.8], [0, 1.8, 1.9]], cell: [3.6, 3.6, 3.6], pbc: true });
    const run = async (skin: number, s: Structure, npt: boolean): Promise<number[]> => {
      const provider = potentialProvider(potential, { task: npt ? 'omat' : 'omol', skin });
      const opts = { timestepFs: 2, temperatureK: 2000, seed: 5, velocities: maxwellBoltzmannVelocities(s.masses, 2000, { seed: 6 }) };
      const md = npt ? new BerendsenNPT(provider, s, { ...opts, pressure: 0.05, barostatTimeFs: 50 }) : new Langevin(provider, s, opts);
      const e: number[] = [];
      md.attach((d) => {
        e.push(d.potentialEnergy);
      });
      await md.run(15);
      return e;
    };
    for (const [s, npt] of [[ethanol, false], [cu, true]] as const) {
      const fresh = await run(0, s, npt);
      const skin = await run(1, s, npt);
      skin.forEach((e, k) => expect(Math.abs(e - fresh[k])).toBeLessThan(1e-10 * Math.max(1, Math.abs(e))));
    }
  }, 30_000);

  it('writes trajectories that equiforce and ASE read back (energy, forces, velocities, stress)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ef-traj-'));
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    const path = join(dir, 'md.extxyz');
    const cu = Structure.fromArrays({ symbols: ['Cu', 'Cu', 'Cu', 'Cu'], positions: [[0, 0, 0], [1.8, 1.8, 0], [1.8, 0, 1.8], [0, 1.8, 1.8]], cell: [3.6, 3.6, 3.6], pbc: true });
    const md = new Langevin(potentialProvider(potential, 'omat'), cu, { timestepFs: 1, temperatureK: 300, seed: 4 });
    const traj = new TrajectoryWriter(path);
    md.attach(traj.observer, 2);
    const energies: number[] = [];
    md.attach((d) => {
      if (d.steps % 2 === 0) energies.push(d.potentialEnergy);
    });
    await md.run(6);
    traj.close();
    const frames = readExtxyz(path);
    expect(frames.length).toBe(4);
    expect(frames.map((f) => f.info.energy)).toEqual(energies);
    const last = frames[3];
    expect(Array.from((last.arrays.velocities.data as Float64Array))).toEqual(Array.from(md.velocities));
    expect(Array.from((last.arrays.forces.data as Float64Array))).toEqual(Array.from(md.forces));
    expect(last.info.time_fs).toBe(6);
    let ase = '';
    try {
      ase = execFileSync('/usr/bin/python3', ['-c', `
import json, sys
from ase.io import read
fr = read(sys.argv[1], index=':')
print(json.dumps({'n': len(fr), 'e': [a.get_potential_energy() for a in fr], 'f': fr[-1].get_forces().tolist(), 's': fr[-1].get_stress().tolist(), 'v': fr[-1].arrays['velocities'].tolist()}))
`, path], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    } catch (e) {
      if (/No module named 'ase'|ENOENT/.test(String((e as { stderr?: string }).stderr ?? e))) return; // ASE not installed: skip
      throw e;
    }
    const got = JSON.parse(ase) as { n: number; e: number[]; f: number[][]; s: number[]; v: number[][] };
    expect(got.n).toBe(4);
    got.e.forEach((e, k) => expect(e).toBeCloseTo(energies[k], 12));
    got.f.flat().forEach((f, k) => expect(f).toBeCloseTo(md.forces[k], 12));
    got.v.flat().forEach((v, k) => expect(v).toBeCloseTo(md.velocities[k], 12));
    got.s.forEach((s, k) => expect(s).toBeCloseTo((md.stress as Float64Array)[k], 12));
    expect(readFileSync(path, 'utf8').split('\n')[1]).toMatch(/temperature_K=/);
  }, 30_000);
});
