/**
 * Structures and element data.
 *
 * @module
 */
export * from './elements.js';
export * from './structure.js';
export { ELEMENT_MASSES_AMU, ELEMENT_NAMES, ELEMENT_SYMBOLS } from './element-data.js';
