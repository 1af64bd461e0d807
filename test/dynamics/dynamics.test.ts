import { describe, expect, it } from 'vitest';
import { runInNewContext } from 'node:vm';
import { setFlagsFromString } from 'node:v8';
import {
  AMU_A2_FS2_IN_EV,
  BOLTZMANN_EV_PER_K,
  BerendsenNPT,
  EV_PER_A3_IN_GPA,
  Langevin,
  MDLogger,
  RandomStream,
  StochasticCellRescaling,
  VelocityVerlet,
  maxwellBoltzmannVelocities,
} from '../../src/dynamics/index.js';
import { Structure } from '../../src/structure/structure.js';
import { PairPotential } from '../helpers/pair-potential.js';

// Argon-like Lennard-Jones (eV, Å) with ASE's smooth cutoff, so forces are continuous.
const EPS = 0.0104;
const SIGMA = 3.4;
const lj = (): PairPotential => PairPotential.lennardJones({ epsilon: EPS, sigma: SIGMA, rc: 2.5 * SIGMA, smooth: true });

/** A 13-atom cuboctahedral Ar cluster near the LJ minimum spacing, slightly jittered. */
function arCluster(jitter = 0.05, seed = 1): Structure {
  const d = 2 ** (1 / 6) * SIGMA;
  const s = d / Math.SQRT2;
  const pos: number[] = [0, 0, 0];
  for (const [a, b] of [[1, 1], [1, -1], [-1, 1], [-1, -1]]) {
    pos.push(a * s, b * s, 0, a * s, 0, b * s, 0, a * s, b * s);
  }
  const rng = new RandomStream(seed);
  return new Structure({ numbers: new Array(13).fill(18), positions: pos.map((x) => x + jitter * (rng.uniform() - 0.5)) });
}

/** fcc Ar, n×n×n conventional cells of lattice constant a. */
function arFcc(a: number, n: number): Structure {
  const basis = [[0, 0, 0], [0.5, 0.5, 0], [0.5, 0, 0.5], [0, 0.5, 0.5]];
  const pos: number[] = [];
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) for (let k = 0; k < n; k++) for (const b of basis) pos.push((i + b[0]) * a, (j + b[1]) * a, (k + b[2]) * a);
  return new Structure({ numbers: new Array(pos.length / 3).fill(18), positions: pos, cell: [n * a, 0, 0, 0, n * a, 0, 0, 0, n * a], pbc: [true, true, true] });
}

describe('units', () => {
  it('amu·Å²/fs² in eV and k_B match CODATA (and ASE: 1/ase.units.fs² = 103.6427)', () => {
    expect(AMU_A2_FS2_IN_EV).toBeCloseTo(103.642696, 5);
    expect(BOLTZMANN_EV_PER_K).toBeCloseTo(8.617333262e-5, 13);
    expect(EV_PER_A3_IN_GPA).toBeCloseTo(160.2176634, 6);
  });
});

describe('RandomStream', () => {
  it('is reproducible per seed and has standard-normal moments', () => {
    const a = new RandomStream(7);
    const b = new RandomStream(7);
    const c = new RandomStream(8);
    const xa = Array.from({ length: 5 }, () => a.uniform());
    expect(Array.from({ length: 5 }, () => b.uniform())).toEqual(xa);
    expect(Array.from({ length: 5 }, () => c.uniform())).not.toEqual(xa);
    const r = new RandomStream(3);
    let m1 = 0;
    let m2 = 0;
    let m4 = 0;
    const n = 200_000;
    for (let k = 0; k < n; k++) {
      const x = r.normal();
      m1 += x;
      m2 += x * x;
      m4 += x ** 4;
    }
    expect(Math.abs(m1 / n)).toBeLessThan(0.01);
    expect(m2 / n).toBeCloseTo(1, 1);
    expect(m4 / n).toBeGreaterThan(2.85);
    expect(m4 / n).toBeLessThan(3.15);
    let u = 0;
    for (let k = 0; k < n; k++) u += r.uniform();
    expect(u / n).toBeCloseTo(0.5, 2);
  });
});

describe('maxwellBoltzmannVelocities', () => {
  it('has zero momentum, the target temperature on average and is seeded', () => {
    const masses = Float64Array.from({ length: 3000 }, (_, i) => (i % 2 ? 1.008 : 63.546));
    const v = maxwellBoltzmannVelocities(masses, 300, { seed: 5 });
    const p = [0, 0, 0];
    let ek = 0;
    for (let i = 0; i < masses.length; i++) {
      for (let d = 0; d < 3; d++) p[d] += masses[i] * v[3 * i + d];
      ek += 0.5 * masses[i] * (v[3 * i] ** 2 + v[3 * i + 1] ** 2 + v[3 * i + 2] ** 2) * AMU_A2_FS2_IN_EV;
    }
    for (const x of p) expect(Math.abs(x)).toBeLessThan(1e-10);
    const t = (2 * ek) / ((3 * masses.length - 3) * BOLTZMANN_EV_PER_K);
    expect(Math.abs(t - 300) / 300).toBeLessThan(0.05); // sd of T/T0 is sqrt(2/dof) ≈ 1.5%
    expect(maxwellBoltzmannVelocities(masses, 300, { seed: 5 })).toEqual(v);
    const exact = maxwellBoltzmannVelocities(masses.subarray(0, 10), 300, { exactTemperature: true });
    const md = new VelocityVerlet(lj(), new Structure({ numbers: new Array(10).fill(18), positions: new Array(30).fill(0).map((_, k) => k * 4) }), { timestepFs: 1, velocities: exact });
    expect(md.masses.length).toBe(10);
  });
});

describe('VelocityVerlet (NVE)', () => {
  async function driftOf(dt: number, steps: number): Promise<{ maxDev: number; ekin: number }> {
    const s = arCluster();
    const v = maxwellBoltzmannVelocities(s.masses, 20, { seed: 11 });
    const md = new VelocityVerlet(lj(), s, { timestepFs: dt, velocities: v });
    let e0 = Number.NaN;
    let maxDev = 0;
    let ekin = 0;
    md.attach((d) => {
      if (Number.isNaN(e0)) e0 = d.totalEnergy;
      maxDev = Math.max(maxDev, Math.abs(d.totalEnergy - e0));
      ekin += d.kineticEnergy;
    });
    await md.run(steps);
    return { maxDev, ekin: ekin / (steps + 1) };
  }

  it('conserves energy on an analytic LJ cluster with O(dt²) error', async () => {
    const coarse = await driftOf(10, 1000);
    const fine = await driftOf(5, 2000);
    // the energy error is tiny compared with the kinetic energy, and halves twice when dt halves
    expect(coarse.maxDev / coarse.ekin).toBeLessThan(2e-2);
    expect(fine.maxDev / fine.ekin).toBeLessThan(5e-3);
    const ratio = coarse.maxDev / fine.maxDev;
    expect(ratio).toBeGreaterThan(3);
    expect(ratio).toBeLessThan(5.5);
  });

  it('conserves momentum and keeps a flat heap over 100,000 steps', async () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const s = arCluster(0.1, 2);
    const md = new VelocityVerlet(lj(), s, { timestepFs: 5, velocities: maxwellBoltzmannVelocities(s.masses, 10, { seed: 3 }) });
    const lines: string[] = [];
    const log = new MDLogger((line) => {
      if (lines.length < 5) lines.push(line);
    });
    md.attach(log.observer, 1000);
    await md.run(10_000);
    gc();
    const heap0 = process.memoryUsage().heapUsed;
    await md.run(90_000);
    gc();
    const heap1 = process.memoryUsage().heapUsed;
    expect(md.steps).toBe(100_000);
    expect(heap1 - heap0).toBeLessThan(2_000_000);
    const p = [0, 0, 0];
    for (let i = 0; i < md.length; i++) for (let d = 0; d < 3; d++) p[d] += md.masses[i] * md.velocities[3 * i + d];
    for (const x of p) expect(Math.abs(x)).toBeLessThan(1e-9);
    expect(lines[0]).toMatch(/step.*Epot.*T\[K\]/);
    expect(lines.length).toBe(5);
  }, 30_000);

  it('stops cleanly between steps when aborted', async () => {
    const md = new VelocityVerlet(lj(), arCluster(), { timestepFs: 5 });
    const ac = new AbortController();
    md.attach((d) => {
      if (d.steps === 7) ac.abort();
    });
    const r = await md.run(100, { signal: ac.signal });
    expect(r).toEqual({ steps: 7, aborted: true });
    expect(md.steps).toBe(7);
    const r2 = await md.run(3);
    expect(r2.steps).toBe(3);
    expect(md.steps).toBe(10);
  });

  it('rejects bad options with typed errors', () => {
    expect(() => new VelocityVerlet(lj(), arCluster(), { timestepFs: 0 })).toThrow(/time step/);
    expect(() => new VelocityVerlet(lj(), arCluster(), { timestepFs: 1, velocities: [1, 2] })).toThrow(/velocities/);
    expect(() => new Langevin(lj(), arCluster(), { timestepFs: 1, temperatureK: -1 })).toThrow(/temperature/);
    expect(() => new BerendsenNPT(lj(), arCluster(), { timestepFs: 1, temperatureK: 10 })).toThrow(/periodic/);
  });
});

describe('Langevin (NVT)', () => {
  it('holds the mean temperature within 5% of the target over a long run', async () => {
    const s = arCluster(0.05, 4);
    const md = new Langevin(lj(), s, { timestepFs: 5, temperatureK: 30, frictionPerFs: 0.02, seed: 9 });
    let sum = 0;
    let count = 0;
    md.attach((d) => {
      if (d.steps > 2000) {
        sum += d.temperature;
        count++;
      }
    });
    await md.run(30_000);
    const mean = sum / count;
    expect(Math.abs(mean - 30) / 30).toBeLessThan(0.05);
  }, 30_000);

  it('is reproducible with a seed and tracks the thermostat heat', async () => {
    const run = async (seed: number): Promise<Langevin> => {
      const md = new Langevin(lj(), arCluster(), { timestepFs: 2, temperatureK: 20, seed });
      await md.run(300);
      return md;
    };
    const a = await run(1);
    const b = await run(1);
    const c = await run(2);
    expect(b.positions).toEqual(a.positions);
    expect(c.positions).not.toEqual(a.positions);
    // heat in = energy gained; the conserved quantity stays near its start while Etot changes a lot
    const md = new Langevin(lj(), arCluster(), { timestepFs: 2, temperatureK: 40, seed: 3 });
    await md.run(0);
    const c0 = md.conservedEnergy;
    const e0 = md.totalEnergy;
    await md.run(500);
    expect(Math.abs(md.totalEnergy - e0)).toBeGreaterThan(10 * Math.abs(md.conservedEnergy - c0));
  });
});

describe('BerendsenNPT', () => {
  it('relaxes a compressed LJ crystal to the target pressure', async () => {
    const a0 = 5.26; // near the LJ Ar equilibrium lattice constant
    const s = arFcc(0.97 * a0, 2);
    const md = new BerendsenNPT(lj(), s, { timestepFs: 5, temperatureK: 20, pressure: 0, barostatTimeFs: 200, compressibility: 1 / (2 / EV_PER_A3_IN_GPA), seed: 1 });
    await md.run(0);
    const p0 = md.pressure as number;
    const v0 = md.volume;
    expect(p0).toBeGreaterThan(0.1 / EV_PER_A3_IN_GPA); // compressed: positive pressure
    let sum = 0;
    let count = 0;
    md.attach((d) => {
      if (d.steps > 800) {
        sum += d.pressure as number;
        count++;
      }
    });
    await md.run(1600);
    expect(md.volume).toBeGreaterThan(1.05 * v0);
    expect(Math.abs(sum / count)).toBeLessThan(0.1 * p0);
  }, 30_000);

  it('anisotropic scaling relaxes a crystal compressed along one axis', async () => {
    const a0 = 5.26;
    const base = arFcc(a0, 2);
    const pos = Float64Array.from(base.positions);
    for (let i = 0; i < pos.length; i += 3) pos[i] *= 0.96;
    const cell = Float64Array.from(base.cell);
    cell[0] *= 0.96;
    const s = base.with({ positions: pos, cell });
    const md = new BerendsenNPT(lj(), s, { timestepFs: 5, temperatureK: 10, pressure: 0, barostatTimeFs: 200, compressibility: 1 / (2 / EV_PER_A3_IN_GPA), anisotropic: true, seed: 2 });
    await md.run(0);
    const [px0, py0] = md.pressureDiagonal();
    expect(px0).toBeGreaterThan(py0 + 0.05 / EV_PER_A3_IN_GPA);
    const sums = [0, 0, 0];
    let count = 0;
    md.attach((d) => {
      if (d.steps > 1000) {
        (d as BerendsenNPT).pressureDiagonal().forEach((x, k) => (sums[k] += x));
        count++;
      }
    });
    await md.run(1800);
    const lx = md.cell[0] / cell[0];
    const ly = md.cell[4] / cell[4];
    expect(lx - 1).toBeGreaterThan(2 * Math.abs(ly - 1)); // the compressed axis expanded most
    for (const x of sums) expect(Math.abs(x / count)).toBeLessThan(0.1 * px0);
    expect(md.cell[1]).toBe(0); // no shear introduced
  }, 30_000);
});

describe('StochasticCellRescaling (NPT)', () => {
  it('samples the volume fluctuations ⟨δV²⟩ = k_B·T·V/B of an LJ crystal', async () => {
    const T = 20;
    const s = arFcc(5.30, 1); // one conventional cell, 4 atoms
    const md = new StochasticCellRescaling(lj(), s, { timestepFs: 5, temperatureK: T, frictionPerFs: 0.02, pressure: 0, barostatTimeFs: 200, compressibility: 1 / (3 / EV_PER_A3_IN_GPA), seed: 3 });
    const vols: number[] = [];
    let psum = 0;
    md.attach((d) => {
      if (d.steps > 2000) {
        vols.push(d.volume);
        psum += d.pressure as number;
      }
    });
    await md.run(12_000);
    const mean = vols.reduce((a, b) => a + b, 0) / vols.length;
    const variance = vols.reduce((a, b) => a + (b - mean) ** 2, 0) / (vols.length - 1);
    // Independent reference: bulk modulus B = −V dP/dV of the static lattice at the mean volume.
    const pressureAt = async (volume: number): Promise<number> => {
      const a = Math.cbrt(volume);
      const r = await lj().compute(arFcc(a, 1), { stress: true });
      const st = r.stress as Float64Array;
      return -(st[0] + st[1] + st[2]) / 3;
    };
    const h = 0.005 * mean;
    const bulk = (-mean * ((await pressureAt(mean + h)) - (await pressureAt(mean - h)))) / (2 * h);
    const expected = (BOLTZMANN_EV_PER_K * T * mean) / bulk;
    expect(Math.abs(variance / expected - 1)).toBeLessThan(0.3);
    expect(Math.abs(psum / vols.length) * EV_PER_A3_IN_GPA).toBeLessThan(0.02); // mean pressure ≈ 0 (B ≈ 3 GPa)
  }, 30_000);
});
