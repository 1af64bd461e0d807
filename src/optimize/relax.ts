/**
 * One-call structure relaxation: pick the optimizer, optionally wrap the structure in a
 * {@link FrechetCellFilter}, run to `fmax`.
 *
 * @module
 */
import { ArgumentError } from '../errors.js';
import type { ForceProvider } from '../dynamics/provider.js';
import type { Structure } from '../structure/structure.js';
import { FrechetCellFilter, type CellFilterOptions } from './cell-filter.js';
import { FIRE, LBFGS, type OptimizeOptions, type OptimizeResult, type Optimizer, type OptimizerObserver } from './optimizers.js';
import { AtomsTarget, type OptimizationTarget } from './target.js';

/** Optimizer names accepted by {@link relax}. */
export type OptimizerName = 'fire' | 'lbfgs';

/** Options of {@link relax}. */
export interface RelaxOptions extends OptimizeOptions {
  /** 'fire' or 'lbfgs' (default 'lbfgs'). */
  readonly optimizer?: OptimizerName;
  /** Also relax the cell (needs full periodicity): `true` or cell-filter options (default false). */
  readonly cell?: boolean | CellFilterOptions;
  /** Largest step per row, Å (default 0.2). */
  readonly maxStep?: number;
  /** Called after every force evaluation. */
  readonly observer?: OptimizerObserver;
}

/**
 * Relax atomic positions (and optionally the cell) until the largest force is below `fmax`
 * (eV/Å; with a cell filter the cell "forces" count too, i.e. the stress must reach −p).
 *
 * @throws ArgumentError for an unknown optimizer name, or a cell relaxation of a structure that is not fully periodic.
 */
export async function relax(provider: ForceProvider, structure: Structure, options: RelaxOptions = {}): Promise<OptimizeResult> {
  const target: OptimizationTarget = options.cell
    ? new FrechetCellFilter(provider, structure, options.cell === true ? {} : options.cell)
    : new AtomsTarget(provider, structure);
  const name = options.optimizer ?? 'lbfgs';
  let opt: Optimizer;
  if (name === 'fire') opt = new FIRE(target, { maxStep: options.maxStep });
  else if (name === 'lbfgs') opt = new LBFGS(target, { maxStep: options.maxStep });
  else throw new ArgumentError(`unknown optimizer "${String(name)}" (use fire or lbfgs)`);
  if (options.observer) opt.attach(options.observer);
  return opt.run(options);
}
