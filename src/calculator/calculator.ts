/**
 * An ASE-style calculator view of a {@link Potential} for simulation code: one trajectory at a
 * time, with a Verlet-skin neighbour list reused across steps and results cached per geometry.
 *
 * @module
 */
import { ArgumentError } from '../errors.js';
import { VerletNeighborList } from '../geometry/verlet.js';
import type { Structure } from '../structure/structure.js';
import type { ComputeOptions, ComputeResult, Potential } from './potential.js';

/** Options of {@link Calculator}. */
export interface CalculatorOptions {
  /** Task (dataset head) name; required when the model has several tasks. */
  readonly task?: string;
  /**
   * Verlet skin in Å (default 1): the neighbour list is searched with cutoff + skin and only
   * rebuilt when an atom has moved more than skin/2 or the cell changed. 0 rebuilds every step.
   */
  readonly skin?: number;
  /** Also compute embeddings on every call (default false; see {@link ComputeOptions.embeddings}). */
  readonly embeddings?: ComputeOptions['embeddings'];
}

/** Properties a {@link Calculator} can return, named as in ASE. */
export type CalculatorProperty = 'energy' | 'forces' | 'stress' | 'energies';

/**
 * ASE-style calculator: `getPotentialEnergy`, `getForces`, `getStress` on successive geometries
 * of one system (same atoms, same periodicity), e.g. the steps of an MD run or an optimisation.
 *
 * ```ts
 * const calc = potential.calculator({ task: 'omat' });
 * const e = await calc.getPotentialEnergy(structure); // eV
 * const f = await calc.getForces(structure);          // eV/Å, no second ONNX call
 * ```
 */
export class Calculator {
  /** Properties this calculator computes (ASE's `implemented_properties`). */
  readonly implementedProperties: readonly CalculatorProperty[] = ['energy', 'forces', 'stress', 'energies'];
  /** The potential evaluated. */
  readonly potential: Potential;
  private readonly options: CalculatorOptions;
  private verlet: VerletNeighborList | null = null;
  private verletKey = '';
  private last: { readonly positions: Float64Array; readonly cell: Float64Array; key: string; result: ComputeResult } | null = null;
  /** Number of model evaluations so far (cache hits excluded). */
  evaluations = 0;

  constructor(potential: Potential, options: CalculatorOptions = {}) {
    this.potential = potential;
    this.options = options;
  }

  /** Neighbour-list searches so far (the rest of the steps reused the skin list). */
  get neighborListBuilds(): number {
    return this.verlet?.rebuildCount ?? 0;
  }

  /** Forget the cached result and the neighbour list (e.g. after atoms were added). */
  reset(): void {
    this.verlet = null;
    this.last = null;
  }

  /**
   * Everything for `structure`: energy, forces, stress (fully periodic cells) and what the options ask for.
   * Repeated calls with the same geometry return the cached result.
   */
  async calculate(structure: Structure): Promise<ComputeResult> {
    const key = this.identity(structure);
    const cached = this.last;
    if (cached && cached.key === key && sameValues(cached.positions, structure.positions) && sameValues(cached.cell, structure.cell)) {
      return cached.result;
    }
    const t0 = performance.now();
    if (!this.verlet || this.verletKey !== key) {
      this.verlet = new VerletNeighborList(structure, { cutoff: this.potential.cutoff, skin: this.options.skin ?? 1 });
      this.verletKey = key;
    }
    const list = this.verlet.update(structure.positions, structure.cell);
    this.potential.timings.neighbors += performance.now() - t0;
    const [result] = await this.potential.computePrepared([{ structure, list }], {
      task: this.options.task,
      atomEnergies: true, // free: the graph computes them anyway
      embeddings: this.options.embeddings,
    });
    this.evaluations++;
    // Reuse the cache's buffers from step to step (no per-step allocation for the geometry copy).
    const last = this.last && this.last.positions.length === structure.positions.length ? this.last : { positions: new Float64Array(structure.positions.length), cell: new Float64Array(9), key, result };
    last.positions.set(structure.positions);
    last.cell.set(structure.cell);
    last.key = key;
    last.result = result;
    this.last = last;
    return result;
  }

  /** Potential energy, eV. */
  async getPotentialEnergy(structure: Structure): Promise<number> {
    return (await this.calculate(structure)).energy;
  }

  /** Forces, eV/Å, 3 per atom. */
  async getForces(structure: Structure): Promise<Float64Array> {
    return (await this.calculate(structure)).forces!;
  }

  /**
   * Stress, eV/Å³, Voigt order xx yy zz yz xz xy (ASE sign).
   * @throws ArgumentError when the structure is not periodic along all three axes.
   */
  async getStress(structure: Structure): Promise<Float64Array> {
    const r = await this.calculate(structure);
    if (!r.stress) throw new ArgumentError('stress needs a cell that is periodic along all three axes', 'stress-without-cell');
    return r.stress;
  }

  /** Per-atom energies, eV (they sum to the potential energy). */
  async getPotentialEnergies(structure: Structure): Promise<Float64Array> {
    return (await this.calculate(structure)).atomEnergies!;
  }

  /** What makes a new neighbour list necessary: a different atom count, elements, periodicity, charge or spin. */
  private identity(s: Structure): string {
    return `${s.length}|${s.pbc.join(',')}|${s.charge}|${s.spin}|${hashNumbers(s.numbers)}`;
  }
}

function sameValues(a: Float64Array, b: Float64Array): boolean {
  if (a.length !== b.length) return false;
  for (let k = 0; k < a.length; k++) if (a[k] !== b[k]) return false;
  return true;
}

function hashNumbers(numbers: Int32Array): number {
  let h = 2166136261;
  for (let i = 0; i < numbers.length; i++) h = Math.imul(h ^ numbers[i], 16777619);
  return h >>> 0;
}
