/**
 * Geometry: cell algebra and the periodic neighbour search.
 *
 * @module
 */
export * from './cell.js';
