/**
 * Periodic cell-list neighbour search: `neighborList(system, { cutoff })`.
 *
 * Pipeline (each step O(N) time and memory): validate and wrap atoms into the cell
 * (`prepare`), counting-sort them into bins at least one cutoff thick (`binning`), visit each
 * bin's half stencil and keep every unordered pair closer than the cutoff once (`search`), then
 * mirror the half pairs into the centre-grouped full list with its reverse index (`assemble`).
 *
 * @module
 */
import { assembleFullList } from './assemble.js';
import { binAtoms } from './binning.js';
import { prepareSystem, type NeighborSystem } from './prepare.js';
import { searchHalfPairs } from './search.js';
import type { NeighborList } from './types.js';

/** Options of {@link neighborList}. */
export interface NeighborListOptions {
  /** Cutoff radius, Å (finite, ≥ 0). Pairs with distance strictly below it are listed. */
  readonly cutoff: number;
  /**
   * Bins per cutoff length along each axis (1 or 2; default 1). 2 gives finer bins and fewer
   * distance checks at more loop overhead; the result is the same pair set, in another order.
   */
  readonly binsPerCutoff?: 1 | 2;
}

/**
 * Full neighbour list of a structure (molecule, slab, wire or crystal; any triclinic cell;
 * cutoffs larger than the cell; atoms outside the cell) with the cell-list method in O(N).
 *
 * @param system Positions (3N, Å), optional cell (9 numbers, rows a, b, c, Å), optional pbc
 *   (default all false) and optional atomic numbers. A `Structure` qualifies.
 * @param options `cutoff` in Å.
 * @returns The full list, see {@link NeighborList} for the layout and order.
 * @throws ArgumentError `'invalid-cutoff'` for a negative, NaN or infinite cutoff.
 * @throws StructureError `'length-mismatch'` (positions not 3N, numbers/cell/pbc of the wrong
 *   length), `'non-finite-position'`, `'non-finite-cell'`, `'pbc-without-cell'` (pbc on an axis
 *   whose cell vector is zero), `'singular-cell'` (degenerate periodic cell vectors).
 */
export function neighborList(system: NeighborSystem, options: NeighborListOptions): NeighborList {
  const sys = prepareSystem(system, options?.cutoff);
  const grid = binAtoms(sys, options.binsPerCutoff ?? 1);
  const half = searchHalfPairs(sys, grid);
  return assembleFullList(half, grid.order, sys.n, sys.cutoff);
}
