/**
 * The force-provider interface that integrators and optimizers drive. Both a loaded
 * {@link Potential} (through {@link potentialProvider}) and simple analytic potentials
 * implement it, so the simulation code can be tested against exact pair potentials.
 *
 * @module
 */
import type { Potential } from '../calculator/potential.js';
import { ArgumentError } from '../errors.js';
import type { Structure } from '../structure/structure.js';

/** What a force provider is asked for; energy is always returned. */
export interface ForceRequest {
  /** Forces in eV/Å (default true). */
  readonly forces?: boolean;
  /** Stress in eV/Å³ (Voigt xx yy zz yz xz xy, ASE sign); only asked for fully periodic structures. */
  readonly stress?: boolean;
}

/** Energy, forces and stress of one structure. */
export interface ForceResult {
  /** Potential energy, eV. */
  readonly energy: number;
  /** Forces, eV/Å, 3 per atom (present when requested). */
  readonly forces?: Float64Array;
  /** Stress, eV/Å³, Voigt order xx yy zz yz xz xy, ASE sign (+(1/V) dE/dstrain; present when requested). */
  readonly stress?: Float64Array;
}

/** Anything that computes energy, forces and (for periodic cells) stress of a structure. */
export interface ForceProvider {
  /** Evaluate one structure. Treat the returned arrays as read-only: a provider may reuse them (e.g. a cached result). */
  compute(structure: Structure, request: ForceRequest): Promise<ForceResult>;
}

/** Options of {@link potentialProvider}. */
export interface PotentialProviderOptions {
  /** The task (dataset head) to evaluate; may be omitted for single-task models. */
  readonly task?: string;
  /**
   * Verlet skin, Å (default 1). Successive calls on the same atoms reuse one neighbour list built
   * with cutoff + skin and only re-filter its pairs, until an atom has moved more than skin/2 or
   * the cell changed; 0 rebuilds the list on every call. Results equal a fresh search.
   */
  readonly skin?: number;
}

/**
 * A {@link ForceProvider} view of a loaded {@link Potential} that always evaluates one task and
 * keeps a Verlet-skin neighbour list across calls (MD steps and optimizer steps move atoms a
 * little at a time, so the cell-list search is rarely needed).
 *
 * @param potential a loaded model.
 * @param options the task, or options with the task and skin.
 * The returned arrays are shared with the calculator's cache of the last geometry: read them,
 * do not write to them.
 */
export function potentialProvider(potential: Potential, options?: string | PotentialProviderOptions): ForceProvider {
  const o: PotentialProviderOptions = typeof options === 'string' ? { task: options } : (options ?? {});
  const skin = o.skin ?? 1;
  if (!(skin >= 0) || !Number.isFinite(skin)) throw new ArgumentError(`Verlet skin must be a non-negative length (Å), got ${o.skin}`);
  // The calculator owns the skin list and the per-geometry cache; this is only the integrators' view of it.
  const calculator = potential.calculator({ task: o.task, skin });
  return {
    async compute(structure: Structure, request: ForceRequest): Promise<ForceResult> {
      if (request.stress && !isFullyPeriodic(structure)) {
        throw new ArgumentError('stress needs a cell that is periodic along all three axes', 'stress-without-cell');
      }
      const r = await calculator.calculate(structure);
      return {
        energy: r.energy,
        ...((request.forces ?? true) ? { forces: r.forces } : {}),
        ...(request.stress ? { stress: r.stress } : {}),
      };
    },
  };
}

/** True when all three axes are periodic, i.e. a stress tensor is defined. */
export function isFullyPeriodic(structure: Structure): boolean {
  return structure.pbc[0] && structure.pbc[1] && structure.pbc[2];
}
