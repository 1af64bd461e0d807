/**
 * equiforce: universal machine-learning interatomic potentials (eSEN / UMA family)
 * for JavaScript, run through ONNX Runtime.
 *
 * @packageDocumentation
 */
export * from './errors.js';
export * from './geometry/index.js';
export * from './structure/index.js';
export * from './io/index.js';
export * from './calculator/index.js';
export * from './dynamics/index.js';
export * from './optimize/index.js';
export * from './cli/index.js';
