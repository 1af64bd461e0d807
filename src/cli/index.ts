/**
 * Command-line building blocks usable from code: argument parsing, model defaults, NPY and SVG
 * writers, the progress bar and {@link runCli}.
 *
 * @module
 */
export * from './args.js';
export * from './model.js';
export * from './npy.js';
export * from './svg.js';
export * from './progress.js';
export { runCli, mainHelp } from './cli.js';
export type { CliContext } from './context.js';
