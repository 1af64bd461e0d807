/**
 * What optimizers move: a set of generalised coordinates (rows of 3 numbers), their energy and
 * the generalised forces −dE/dq. {@link AtomsTarget} is the plain case (atomic positions, fixed
 * cell); {@link FrechetCellFilter} adds the cell.
 *
 * @module
 */
import { ArgumentError, EquiforceError } from '../errors.js';
import type { ForceProvider } from '../dynamics/provider.js';
import { Structure } from '../structure/structure.js';

/** Energy and generalised forces at the current generalised coordinates. */
export interface TargetEvaluation {
  /** Objective (eV): the potential energy, or the enthalpy E + pV under a cell filter. */
  readonly energy: number;
  /** Generalised forces −dE/dq, 3 per row (eV/Å for atoms). */
  readonly forces: Float64Array;
}

/** Something an optimizer can minimise. */
export interface OptimizationTarget {
  /** Number of rows of 3 coordinates (atoms, plus 3 for a cell filter). */
  readonly rows: number;
  /** A copy of the current generalised coordinates (3·rows). */
  getCoordinates(): Float64Array;
  /** Move to new generalised coordinates (3·rows). */
  setCoordinates(q: ArrayLike<number>): void;
  /** Energy and generalised forces at the current coordinates. */
  evaluate(): Promise<TargetEvaluation>;
  /** The current structure (with the last computed energy, forces and stress attached when available). */
  structure(): Structure;
}

/** Base of the structure-backed targets: holds the structure template and the last raw evaluation. */
export abstract class StructureTarget implements OptimizationTarget {
  abstract readonly rows: number;
  protected positions: Float64Array;
  protected cell: Float64Array;
  protected readonly template: Structure;
  protected last: { energy: number; forces: Float64Array; stress?: Float64Array } | undefined;

  constructor(protected readonly provider: ForceProvider, structure: Structure) {
    if (structure.length === 0) throw new ArgumentError('cannot optimise an empty structure');
    this.template = structure;
    this.positions = Float64Array.from(structure.positions);
    this.cell = Float64Array.from(structure.cell);
  }

  abstract getCoordinates(): Float64Array;
  abstract setCoordinates(q: ArrayLike<number>): void;
  abstract evaluate(): Promise<TargetEvaluation>;

  /** The bare current structure (positions and cell). */
  protected bare(): Structure {
    const t = this.template;
    return new Structure({ numbers: t.numbers, positions: this.positions, cell: this.cell, pbc: t.pbc, charge: t.charge, spin: t.spin });
  }

  protected async computeRaw(stress: boolean): Promise<{ energy: number; forces: Float64Array; stress?: Float64Array }> {
    const r = await this.provider.compute(this.bare(), { forces: true, stress });
    if (!r.forces) throw new EquiforceError('provider-result', 'the force provider returned no forces');
    if (stress && !r.stress) throw new EquiforceError('provider-result', 'the force provider returned no stress');
    if (!Number.isFinite(r.energy)) throw new EquiforceError('optimization-diverged', `the energy became ${r.energy} during the optimisation`);
    this.last = { energy: r.energy, forces: Float64Array.from(r.forces), ...(r.stress ? { stress: Float64Array.from(r.stress) } : {}) };
    return this.last;
  }

  structure(): Structure {
    const t = this.template;
    const info: Record<string, number | number[]> = {};
    const arrays: Record<string, { type: 'float'; components: number; data: Float64Array }> = {};
    if (this.last) {
      info.energy = this.last.energy;
      arrays.forces = { type: 'float', components: 3, data: this.last.forces };
      if (this.last.stress) {
        const s = this.last.stress;
        info.stress = [s[0], s[5], s[4], s[5], s[1], s[3], s[4], s[3], s[2]];
      }
    }
    return new Structure({ numbers: t.numbers, positions: this.positions, cell: this.cell, pbc: t.pbc, charge: t.charge, spin: t.spin, info, arrays });
  }
}

/** Atomic positions (Å) with the cell held fixed: rows = atoms, forces in eV/Å. */
export class AtomsTarget extends StructureTarget {
  readonly rows: number;

  constructor(provider: ForceProvider, structure: Structure) {
    super(provider, structure);
    this.rows = structure.length;
  }

  getCoordinates(): Float64Array {
    return Float64Array.from(this.positions);
  }

  setCoordinates(q: ArrayLike<number>): void {
    checkLength(q, this.positions.length);
    this.positions = Float64Array.from(q);
  }

  async evaluate(): Promise<TargetEvaluation> {
    const r = await this.computeRaw(false);
    return { energy: r.energy, forces: Float64Array.from(r.forces) };
  }
}

/** @internal Check a generalised-coordinate vector's length and finiteness. */
export function checkLength(q: ArrayLike<number>, n: number): void {
  if (q.length !== n) throw new ArgumentError(`expected ${n} generalised coordinates, got ${q.length}`);
  for (let k = 0; k < n; k++) if (!Number.isFinite(q[k])) throw new EquiforceError('optimization-diverged', `generalised coordinate ${k} became ${q[k]}`);
}
