/**
 * Geometry optimisation: FIRE and L-BFGS optimizers, the atoms-only target and the Fréchet
 * cell filter for relaxing the cell with the stress, plus a one-call `relax` helper.
 *
 * @module
 */
export * from './target.js';
export * from './cell-filter.js';
export * from './optimizers.js';
export * from './relax.js';
export { expm, expmFrechet3 } from './matrix.js';
