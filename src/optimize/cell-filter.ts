/**
 * Cell relaxation: the Fréchet cell filter, which lets an optimizer move the cell together
 * with the atoms, driven by the stress.
 *
 * Following ASE's `FrechetCellFilter`, the cell is parameterised by the deformation gradient
 * D relative to the starting cell (cell = cell₀·Dᵀ, positions r = D·x) written as D = exp(U).
 * The generalised coordinates are the undeformed positions x (N rows) and c·U (3 rows, c = the
 * `cellFactor`, default N so cell and atom steps have similar scale). The objective is the
 * enthalpy H = E + p·V, and the generalised forces are
 *
 * - atoms: −dH/dx = F·D (F the Cartesian forces),
 * - cell: −dH/dU_{μν} = Σ_ij L(U, e_μν)_ij · (W·D⁻ᵀ)_ij / c, with W = −V(σ + p·I) the virial and
 *   L the Fréchet derivative of the matrix exponential,
 *
 * because a change δD strains the cell by ε = δD·D⁻¹, so dH = V·tr((σ + pI)ᵀ δD D⁻¹). The log
 * parameterisation makes equal steps in U equal relative strains, which keeps large cell
 * changes well conditioned. Zero generalised force means zero atomic forces and
 * stress = −p·I.
 *
 * @module
 */
import { ArgumentError } from '../errors.js';
import { isFullyPeriodic, type ForceProvider } from '../dynamics/provider.js';
import { cellVolume } from '../geometry/cell.js';
import type { Structure } from '../structure/structure.js';
import { expm, expmFrechet3, inverse3 } from './matrix.js';
import { StructureTarget, checkLength, type TargetEvaluation } from './target.js';

/** Options of {@link FrechetCellFilter}. */
export interface CellFilterOptions {
  /** External (scalar) pressure p, eV/Å³ (default 0); the filter minimises E + p·V. */
  readonly scalarPressure?: number;
  /**
   * Which strain components may relax, Voigt order xx yy zz yz xz xy (default all six), e.g.
   * `[true, true, false, false, false, true]` for a slab that keeps its vacuum axis c.
   */
  readonly mask?: readonly boolean[];
  /** Only allow isotropic (hydrostatic) cell changes (default false). */
  readonly hydrostatic?: boolean;
  /** Scale c of the cell coordinates (default: the number of atoms). */
  readonly cellFactor?: number;
}

/** Generalised coordinates: atoms and cell together (see the module description). */
export class FrechetCellFilter extends StructureTarget {
  readonly rows: number;
  /** External pressure, eV/Å³. */
  readonly scalarPressure: number;
  /** Scale of the cell coordinates. */
  readonly cellFactor: number;
  private readonly cell0: Float64Array;
  private readonly mask: Float64Array;
  private readonly hydrostatic: boolean;
  /** log of the deformation gradient, 3×3 row-major. */
  private u = new Float64Array(9);
  /** Undeformed positions x (r = D·x). */
  private x: Float64Array;

  /** @throws ArgumentError unless the structure is periodic along all three axes, or for bad options. */
  constructor(provider: ForceProvider, structure: Structure, options: CellFilterOptions = {}) {
    if (!isFullyPeriodic(structure)) {
      throw new ArgumentError('a cell filter needs a structure periodic along all three axes (stress is undefined otherwise)', 'cell-filter-without-cell');
    }
    super(provider, structure);
    this.rows = structure.length + 3;
    this.scalarPressure = options.scalarPressure ?? 0;
    this.cellFactor = options.cellFactor ?? structure.length;
    if (!Number.isFinite(this.scalarPressure)) throw new ArgumentError(`scalar pressure must be finite (eV/Å³), got ${options.scalarPressure}`);
    if (!(this.cellFactor > 0)) throw new ArgumentError(`cellFactor must be positive, got ${options.cellFactor}`);
    const m = options.mask ?? [true, true, true, true, true, true];
    if (m.length !== 6) throw new ArgumentError(`cell mask needs 6 Voigt entries (xx yy zz yz xz xy), got ${m.length}`);
    const v = m.map((b) => (b ? 1 : 0));
    this.mask = Float64Array.from([v[0], v[5], v[4], v[5], v[1], v[3], v[4], v[3], v[2]]);
    this.hydrostatic = options.hydrostatic ?? false;
    this.cell0 = Float64Array.from(structure.cell);
    this.x = Float64Array.from(structure.positions);
  }

  /** The current deformation gradient D = exp(U) (3×3 row-major). */
  deformationGradient(): Float64Array {
    return expm(this.u, 3);
  }

  getCoordinates(): Float64Array {
    const n = this.rows - 3;
    const q = new Float64Array(3 * this.rows);
    q.set(this.x);
    for (let k = 0; k < 9; k++) q[3 * n + k] = this.cellFactor * this.u[k];
    return q;
  }

  setCoordinates(q: ArrayLike<number>): void {
    checkLength(q, 3 * this.rows);
    const n = this.rows - 3;
    this.x = Float64Array.from({ length: 3 * n }, (_, k) => q[k]);
    for (let k = 0; k < 9; k++) this.u[k] = q[3 * n + k] / this.cellFactor;
    const d = this.deformationGradient();
    // cell rows a' = a·Dᵀ; positions r = D·x, i.e. row vectors r = x·Dᵀ
    const cell = new Float64Array(9);
    for (let r = 0; r < 3; r++) for (let c = 0; c < 3; c++) cell[3 * r + c] = this.cell0[3 * r] * d[3 * c] + this.cell0[3 * r + 1] * d[3 * c + 1] + this.cell0[3 * r + 2] * d[3 * c + 2];
    this.cell = cell;
    const pos = new Float64Array(3 * n);
    for (let i = 0; i < n; i++) {
      for (let c = 0; c < 3; c++) pos[3 * i + c] = this.x[3 * i] * d[3 * c] + this.x[3 * i + 1] * d[3 * c + 1] + this.x[3 * i + 2] * d[3 * c + 2];
    }
    this.positions = pos;
  }

  /** Enthalpy E + p·V (eV) and generalised forces. */
  async evaluate(): Promise<TargetEvaluation> {
    const raw = await this.computeRaw(true);
    const n = this.rows - 3;
    const d = this.deformationGradient();
    const volume = cellVolume(this.cell);
    const s = raw.stress as Float64Array;
    const p = this.scalarPressure;
    const sigma = [s[0] + p, s[5], s[4], s[5], s[1] + p, s[3], s[4], s[3], s[2] + p];
    const virial = sigma.map((x) => -volume * x);
    // G = W·D⁻ᵀ = −dH/dD
    const dinv = inverse3(d);
    let g = new Float64Array(9);
    for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++) g[3 * i + j] = virial[3 * i] * dinv[3 * j] + virial[3 * i + 1] * dinv[3 * j + 1] + virial[3 * i + 2] * dinv[3 * j + 2];
    if (this.hydrostatic) {
      const tr = (g[0] + g[4] + g[8]) / 3;
      g = Float64Array.from([tr, 0, 0, 0, tr, 0, 0, 0, tr]);
    }
    const forces = new Float64Array(3 * this.rows);
    const f = raw.forces;
    for (let i = 0; i < n; i++) {
      // −dH/dx = F·D (row vector times D)
      for (let c = 0; c < 3; c++) forces[3 * i + c] = f[3 * i] * d[c] + f[3 * i + 1] * d[3 + c] + f[3 * i + 2] * d[6 + c];
    }
    const e = new Float64Array(9);
    for (let k = 0; k < 9; k++) {
      e.fill(0);
      e[k] = 1;
      const l = expmFrechet3(this.u, e);
      let acc = 0;
      for (let q = 0; q < 9; q++) acc += l[q] * g[q];
      forces[3 * n + k] = (this.mask[k] * acc) / this.cellFactor;
    }
    return { energy: raw.energy + p * volume, forces };
  }
}
