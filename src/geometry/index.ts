/**
 * Geometry: cell algebra and the periodic neighbour search.
 *
 * @module
 */
export * from './cell.js';
export type { NeighborList } from './types.js';
export type { NeighborSystem } from './prepare.js';
export { BIN_ORDER_MIN_ATOMS, PARALLEL_MIN_ATOMS, neighborList, NeighborSearch, type NeighborListOptions } from './neighbors.js';
export { disposeNeighborWorkers, startNeighborWorkers } from './parallel.js';
export { VerletNeighborList, type VerletNeighborListOptions } from './verlet.js';
