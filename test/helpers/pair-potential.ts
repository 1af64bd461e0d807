/**
 * Analytic pair potentials (Lennard-Jones and Morse) implementing the ForceProvider interface,
 * for testing integrators and optimizers against exact forces and against ASE.
 *
 * The Lennard-Jones form follows ASE 3.22's `LennardJones` calculator exactly (same cutoff
 * conventions: `rc` default 3σ, energy shifted to zero at rc, or with `smooth` the C¹ cutoff
 * function fc(r²) = (rc² − r²)²(rc² + 2r² − 3ro²)/(rc² − ro²)³ between ro = 0.66·rc and rc),
 * so optimizer trajectories can be compared with ASE step by step.
 */
import { neighborList } from '../../src/geometry/neighbors.js';
import type { ForceProvider, ForceRequest, ForceResult } from '../../src/dynamics/provider.js';
import type { Structure } from '../../src/structure/structure.js';

/** Pair energy u(r) and g(r) = (du/dr)/r, both as functions of r². */
type PairFunction = (r2: number) => { u: number; g: number };

export interface LennardJonesParams {
  epsilon?: number;
  sigma?: number;
  rc?: number;
  ro?: number;
  smooth?: boolean;
}

export class PairPotential implements ForceProvider {
  readonly cutoff: number;
  calls = 0;
  constructor(private readonly pair: PairFunction, cutoff: number) {
    this.cutoff = cutoff;
  }

  /** ASE-compatible Lennard-Jones. */
  static lennardJones(p: LennardJonesParams = {}): PairPotential {
    const eps = p.epsilon ?? 1;
    const sigma = p.sigma ?? 1;
    const rc = p.rc ?? 3 * sigma;
    const ro = p.ro ?? 0.66 * rc;
    const smooth = p.smooth ?? false;
    const rc2 = rc * rc;
    const ro2 = ro * ro;
    const e0 = 4 * eps * ((sigma / rc) ** 12 - (sigma / rc) ** 6);
    return new PairPotential((r2) => {
      if (r2 > rc2) return { u: 0, g: 0 };
      const c6 = (sigma * sigma / r2) ** 3;
      const c12 = c6 * c6;
      let u = 4 * eps * (c12 - c6);
      let g = (-24 * eps * (2 * c12 - c6)) / r2;
      if (smooth) {
        let fc = 1;
        let dfc = 0;
        if (r2 >= ro2) {
          const d3 = (rc2 - ro2) ** 3;
          fc = ((rc2 - r2) ** 2 * (rc2 + 2 * r2 - 3 * ro2)) / d3;
          dfc = (6 * (rc2 - r2) * (ro2 - r2)) / d3;
        }
        g = fc * g + 2 * dfc * u;
        u *= fc;
      } else {
        u -= e0;
      }
      return { u, g };
    }, rc);
  }

  /** Morse pair potential ε[e^{−2a(r−r0)} − 2e^{−a(r−r0)}] with the same smooth cutoff between 0.66·rc and rc. */
  static morse(p: { epsilon?: number; r0?: number; a?: number; rc?: number } = {}): PairPotential {
    const eps = p.epsilon ?? 1;
    const r0 = p.r0 ?? 1;
    const a = p.a ?? 6;
    const rc = p.rc ?? 3 * r0;
    const rc2 = rc * rc;
    const ro2 = (0.66 * rc) ** 2;
    return new PairPotential((r2) => {
      if (r2 > rc2) return { u: 0, g: 0 };
      const r = Math.sqrt(r2);
      const ex = Math.exp(-a * (r - r0));
      let u = eps * (ex * ex - 2 * ex);
      let g = (eps * (-2 * a * ex * ex + 2 * a * ex)) / r;
      let fc = 1;
      let dfc = 0;
      if (r2 >= ro2) {
        const d3 = (rc2 - ro2) ** 3;
        fc = ((rc2 - r2) ** 2 * (rc2 + 2 * r2 - 3 * ro2)) / d3;
        dfc = (6 * (rc2 - r2) * (ro2 - r2)) / d3;
      }
      g = fc * g + 2 * dfc * u;
      u *= fc;
      return { u, g };
    }, rc);
  }

  async compute(structure: Structure, request: ForceRequest = {}): Promise<ForceResult> {
    this.calls++;
    const n = structure.length;
    const forces = new Float64Array(3 * n);
    const sig = new Float64Array(9);
    let energy = 0;
    const add = (i: number, dx: number, dy: number, dz: number, half: number): void => {
      const { u, g } = this.pair(dx * dx + dy * dy + dz * dz);
      energy += half * u;
      // force on i from the pair i→j: g·d (d points from i to j)
      forces[3 * i] += g * dx;
      forces[3 * i + 1] += g * dy;
      forces[3 * i + 2] += g * dz;
      const h = 0.5 * g;
      sig[0] += h * dx * dx;
      sig[1] += h * dx * dy;
      sig[2] += h * dx * dz;
      sig[4] += h * dy * dy;
      sig[5] += h * dy * dz;
      sig[8] += h * dz * dz;
    };
    if (structure.isPeriodic) {
      const list = neighborList(structure, { cutoff: this.cutoff });
      for (let p = 0; p < list.count; p++) {
        add(list.centers[p], list.vectors[3 * p], list.vectors[3 * p + 1], list.vectors[3 * p + 2], 0.5);
      }
    } else {
      const x = structure.positions;
      for (let i = 0; i < n; i++) {
        for (let j = 0; j < n; j++) {
          if (i === j) continue;
          add(i, x[3 * j] - x[3 * i], x[3 * j + 1] - x[3 * i + 1], x[3 * j + 2] - x[3 * i + 2], 0.5);
        }
      }
    }
    const result: { energy: number; forces?: Float64Array; stress?: Float64Array } = { energy };
    if (request.forces ?? true) result.forces = forces;
    if (request.stress) {
      const v = structure.volume;
      result.stress = Float64Array.from([sig[0], sig[4], sig[8], sig[5], sig[2], sig[1]], (s) => s / v); // upper triangle only: symmetric
    }
    return result;
  }
}
