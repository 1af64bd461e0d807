/**
 * Structure files: extended XYZ (read, stream, write, append), plain XYZ, VASP POSCAR,
 * and format detection by file name.
 *
 * @module
 */
export * from './extxyz.js';
export * from './xyz.js';
export * from './poscar.js';
export * from './detect.js';
export { formatFloat, parseFloatToken } from './text.js';
