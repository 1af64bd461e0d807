/**
 * The force-provider interface that integrators and optimizers drive. Both a loaded
 * {@link Potential} (through {@link potentialProvider}) and simple analytic potentials
 * implement it, so the simulation code can be tested against exact pair potentials.
 *
 * @module
 */
import type { ComputeOptions, Potential } from '../calculator/potential.js';
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
  /** Evaluate one structure. The returned arrays belong to the caller. */
  compute(structure: Structure, request: ForceRequest): Promise<ForceResult>;
}

/**
 * A {@link ForceProvider} view of a loaded {@link Potential} that always evaluates one task.
 *
 * @param potential a loaded model.
 * @param task the task (dataset head) to evaluate; may be omitted for single-task models.
 */
export function potentialProvider(potential: Potential, task?: string): ForceProvider {
  return {
    compute(structure: Structure, request: ForceRequest): Promise<ForceResult> {
      const options: ComputeOptions = { task, forces: request.forces ?? true, stress: request.stress ?? false };
      return potential.compute(structure, options);
    },
  };
}

/** True when all three axes are periodic, i.e. a stress tensor is defined. */
export function isFullyPeriodic(structure: Structure): boolean {
  return structure.pbc[0] && structure.pbc[1] && structure.pbc[2];
}
