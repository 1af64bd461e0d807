/**
 * Input validation and the periodic frame the cell-list search works in.
 *
 * The search works with a *working cell* W: its periodic rows are the given cell vectors, its
 * open rows are replaced by unit vectors orthogonal to the periodic ones (an open axis carries no
 * shifts, so its given vector, zero or not, plays no role). Atoms are wrapped into the cell along
 * periodic axes; `image` records the integer number of cell vectors K removed from each atom so
 * that reported shifts refer to the caller's unwrapped positions: S = S' − K_j + K_i.
 *
 * @module
 */
import { ArgumentError, StructureError } from '../errors.js';
import { cellInverse, cellVectorIsZero, completeCell, faceDistances } from './cell.js';
import { Workspace } from './workspace.js';

/**
 * What the neighbour search needs from a structure. A `Structure` has exactly these fields; a
 * plain object works too.
 */
export interface NeighborSystem {
  /** Cartesian positions, 3N numbers (x0, y0, z0, x1, ...), Å. */
  readonly positions: ArrayLike<number>;
  /** Cell, 9 numbers, row-major, rows are the lattice vectors a, b, c in Å. Absent, null or all zeros: no cell. */
  readonly cell?: ArrayLike<number> | null;
  /** Periodic boundary flags per cell vector; default all false. */
  readonly pbc?: readonly boolean[] | null;
  /** Atomic numbers (optional; only checked for a consistent length). */
  readonly numbers?: ArrayLike<number> | null;
}

/** Validated input in the search's working frame (internal). */
export interface PreparedSystem {
  /** Number of atoms. */
  n: number;
  /** Cutoff, Å. */
  cutoff: number;
  pbc: [boolean, boolean, boolean];
  /** The given cell (zeros if none), 9 numbers. */
  cell: Float64Array;
  /** Working cell: periodic rows as given, open rows completed (see module doc). */
  work: Float64Array;
  /** Perpendicular heights of the working cell, Å. */
  heights: Float64Array;
  /** Positions wrapped into the cell along periodic axes, 3N, Å. */
  wrapped: Float64Array;
  /** Fractional coordinates in the working cell (in [0, 1) along periodic axes), 3N. */
  frac: Float64Array;
  /** Integer cell vectors K removed from each atom by the wrap, 3N. */
  image: Int32Array;
}

/** Check the cutoff: finite and ≥ 0 Å. */
export function checkCutoff(cutoff: number, name = 'cutoff'): void {
  if (typeof cutoff !== 'number' || !Number.isFinite(cutoff) || cutoff < 0) {
    throw new ArgumentError(`${name} must be a finite number ≥ 0 Å, got ${String(cutoff)}`, 'invalid-cutoff');
  }
}

/** Validate positions/cell/pbc and return the cell (zeros if none) and pbc flags. */
export function checkSystem(system: NeighborSystem): { n: number; cell: Float64Array; pbc: [boolean, boolean, boolean] } {
  const positions = system.positions;
  if (positions == null || positions.length % 3 !== 0) {
    throw new StructureError(
      'length-mismatch',
      `positions must hold 3 numbers per atom; got length ${positions == null ? 'none' : positions.length}`,
    );
  }
  const n = positions.length / 3;
  for (let k = 0; k < positions.length; k++) {
    const v = positions[k];
    if (!Number.isFinite(v)) {
      throw new StructureError('non-finite-position', `atom ${Math.floor(k / 3)} has a non-finite coordinate (${v})`);
    }
  }
  if (system.numbers != null && system.numbers.length !== n) {
    throw new StructureError('length-mismatch', `${system.numbers.length} atomic numbers for ${n} positions`);
  }
  const cell = new Float64Array(9);
  if (system.cell != null) {
    if (system.cell.length !== 9) {
      throw new StructureError('length-mismatch', `a cell needs 9 numbers (3 row vectors), got ${system.cell.length}`);
    }
    for (let k = 0; k < 9; k++) {
      const v = system.cell[k];
      if (!Number.isFinite(v)) throw new StructureError('non-finite-cell', `cell entry ${k} is ${v}`);
      cell[k] = v;
    }
  }
  const pbc: [boolean, boolean, boolean] = [false, false, false];
  if (system.pbc != null) {
    if (system.pbc.length !== 3) {
      throw new StructureError('length-mismatch', `pbc needs 3 flags, got ${system.pbc.length}`);
    }
    for (let a = 0; a < 3; a++) {
      pbc[a] = Boolean(system.pbc[a]);
      if (pbc[a] && cellVectorIsZero(cell, a)) {
        throw new StructureError('pbc-without-cell', `pbc is set along axis ${'abc'[a]} but cell vector ${'abc'[a]} is zero`);
      }
    }
  }
  return { n, cell, pbc };
}

/** The working cell: periodic rows as given, open rows completed orthogonally. */
export function workingCell(cell: Float64Array, pbc: readonly boolean[]): Float64Array {
  const tmp = new Float64Array(9);
  for (let a = 0; a < 3; a++) if (pbc[a]) tmp.set(cell.subarray(3 * a, 3 * a + 3), 3 * a);
  // completeCell throws 'singular-cell' if the periodic rows are degenerate.
  return completeCell(tmp);
}

/** Validate and move the system into the working frame (wrap along periodic axes). */
export function prepareSystem(system: NeighborSystem, cutoff: number, ws: Workspace = new Workspace()): PreparedSystem {
  checkCutoff(cutoff);
  const { n, cell, pbc } = checkSystem(system);
  const work = workingCell(cell, pbc);
  const inv = cellInverse(work);
  const heights = faceDistances(work);
  const positions = system.positions;
  const wrapped = ws.float64('wrapped', 3 * n);
  const frac = ws.float64('frac', 3 * n);
  const image = ws.int32('image', 3 * n);
  const i0 = inv[0], i1 = inv[1], i2 = inv[2], i3 = inv[3], i4 = inv[4], i5 = inv[5], i6 = inv[6], i7 = inv[7], i8 = inv[8];
  const w = work;
  const p0 = pbc[0], p1 = pbc[1], p2 = pbc[2];
  for (let i = 0; i < n; i++) {
    const o = 3 * i;
    const x = +positions[o], y = +positions[o + 1], z = +positions[o + 2];
    let s0 = x * i0 + y * i3 + z * i6;
    let s1 = x * i1 + y * i4 + z * i7;
    let s2 = x * i2 + y * i5 + z * i8;
    let k0 = 0, k1 = 0, k2 = 0;
    if (p0) { k0 = Math.floor(s0); s0 -= k0; }
    if (p1) { k1 = Math.floor(s1); s1 -= k1; }
    if (p2) { k2 = Math.floor(s2); s2 -= k2; }
    if (!(Math.abs(k0) < 2 ** 31 && Math.abs(k1) < 2 ** 31 && Math.abs(k2) < 2 ** 31)) {
      throw new StructureError('non-finite-position', `atom ${i} lies more than 2^31 cell vectors outside the cell`);
    }
    frac[o] = s0; frac[o + 1] = s1; frac[o + 2] = s2;
    image[o] = k0; image[o + 1] = k1; image[o + 2] = k2;
    // Wrap in Cartesian space directly from the given position (only periodic rows have K ≠ 0).
    wrapped[o] = x - (k0 * w[0] + k1 * w[3] + k2 * w[6]);
    wrapped[o + 1] = y - (k0 * w[1] + k1 * w[4] + k2 * w[7]);
    wrapped[o + 2] = z - (k0 * w[2] + k1 * w[5] + k2 * w[8]);
  }
  return { n, cutoff, pbc, cell, work, heights, wrapped, frac, image };
}
