export * from './metadata.js';
export * from './runtime.js';
export * from './reduce.js';
export * from './potential.js';
export * from './calculator.js';
