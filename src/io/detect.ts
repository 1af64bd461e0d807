/**
 * Format detection by file name, and format-agnostic read/write entry points.
 *
 * @module
 */
import { basename, extname } from 'node:path';
import { ArgumentError } from '../errors.js';
import type { Structure } from '../structure/structure.js';
import { iterExtxyz, readExtxyz, writeExtxyz } from './extxyz.js';
import { readPoscar, writePoscar } from './poscar.js';

/** Structure file formats equiforce reads and writes. */
export type StructureFormat = 'extxyz' | 'poscar';

/**
 * Guess the format from a file name: `.xyz` and `.extxyz` are extended XYZ (which
 * also reads plain XYZ, like ASE); `.vasp`, `.poscar`, and names starting with
 * POSCAR or CONTCAR (e.g. `CONTCAR`, `POSCAR_relaxed`) are POSCAR.
 * @throws ArgumentError for anything else.
 */
export function detectFormat(path: string): StructureFormat {
  const name = basename(path);
  const ext = extname(name).toLowerCase();
  if (ext === '.xyz' || ext === '.extxyz') return 'extxyz';
  if (ext === '.vasp' || ext === '.poscar') return 'poscar';
  const upper = name.toUpperCase();
  if (upper.startsWith('POSCAR') || upper.startsWith('CONTCAR')) return 'poscar';
  throw new ArgumentError(
    `cannot tell the format of ${JSON.stringify(path)} from its name (known: .xyz, .extxyz, .vasp, .poscar, POSCAR*, CONTCAR*)`,
    'unknown-format',
  );
}

/**
 * Read all frames of a structure file, choosing the reader by name (see
 * {@link detectFormat}) unless `format` is given.
 * @throws ParseError for malformed files, ArgumentError for unknown formats.
 */
export function readFrames(path: string, format: StructureFormat = detectFormat(path)): Structure[] {
  return format === 'extxyz' ? readExtxyz(path) : [readPoscar(path)];
}

/**
 * Stream the frames of a structure file one at a time (constant memory for extended
 * XYZ trajectories; a POSCAR yields its single structure).
 * @throws ParseError (from the iterator) for malformed files, ArgumentError for unknown formats.
 */
export async function* iterFrames(
  path: string,
  format: StructureFormat = detectFormat(path),
): AsyncGenerator<Structure, void, undefined> {
  if (format === 'extxyz') yield* iterExtxyz(path);
  else yield readPoscar(path);
}

/**
 * Read one structure: the last frame of a trajectory (like ASE's `read`), or the only
 * structure of a POSCAR.
 * @throws ParseError for malformed or empty files, ArgumentError for unknown formats.
 */
export function readStructure(path: string, format: StructureFormat = detectFormat(path)): Structure {
  const frames = readFrames(path, format);
  const last = frames[frames.length - 1];
  if (last === undefined) throw new ArgumentError(`${path} holds no structure`, 'empty-file');
  return last;
}

/**
 * Write one structure or several frames, choosing the writer by name. POSCAR holds a
 * single structure.
 * @throws ArgumentError for unknown formats or several frames to a POSCAR.
 */
export function writeStructure(
  path: string,
  frames: Structure | readonly Structure[],
  format: StructureFormat = detectFormat(path),
): void {
  if (format === 'extxyz') {
    writeExtxyz(path, frames);
    return;
  }
  const list = Array.isArray(frames) ? (frames as readonly Structure[]) : [frames as Structure];
  if (list.length !== 1) throw new ArgumentError(`POSCAR holds one structure, got ${list.length}`);
  writePoscar(path, list[0]);
}
