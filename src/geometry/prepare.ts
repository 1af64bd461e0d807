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
  /**
   * Working cell: periodic rows as given, open rows completed (see module doc); for a fully
   * periodic cell, a reduced basis of the same lattice (see {@link reduceBasis}).
   */
  work: Float64Array;
  /** Integer matrix U (row-major) with work = U·cell rows: a shift S' in the working basis is S'·U in the given one. */
  basis: Int32Array;
  /** Perpendicular heights of the working cell, Å. */
  heights: Float64Array;
  /** Positions wrapped into the cell along periodic axes, 3N, Å. */
  wrapped: Float64Array;
  /** Fractional coordinates in the working cell (in [0, 1) along periodic axes), 3N. */
  frac: Float64Array;
  /** Integer cell vectors K removed from each atom by the wrap, 3N, in the *given* cell's basis. */
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
  let work: Float64Array = workingCell(cell, pbc);
  let basis: Int32Array = new Int32Array([1, 0, 0, 0, 1, 0, 0, 0, 1]);
  if (pbc[0] && pbc[1] && pbc[2]) ({ reduced: work, basis } = reduceBasis(work));
  const inv = cellInverse(work);
  const heights = faceDistances(work);
  const positions = system.positions;
  const wrapped = ws.float64('wrapped', 3 * n);
  const frac = ws.float64('frac', 3 * n);
  const image = ws.int32('image', 3 * n);
  const i0 = inv[0], i1 = inv[1], i2 = inv[2], i3 = inv[3], i4 = inv[4], i5 = inv[5], i6 = inv[6], i7 = inv[7], i8 = inv[8];
  const w = work;
  const p0 = pbc[0], p1 = pbc[1], p2 = pbc[2];
  const u0 = basis[0], u1 = basis[1], u2 = basis[2], u3 = basis[3], u4 = basis[4], u5 = basis[5], u6 = basis[6], u7 = basis[7], u8 = basis[8];
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
    // Report images in the given cell's basis: K·W = (K·U)·cell.
    image[o] = k0 * u0 + k1 * u3 + k2 * u6;
    image[o + 1] = k0 * u1 + k1 * u4 + k2 * u7;
    image[o + 2] = k0 * u2 + k1 * u5 + k2 * u8;
    // Wrap in Cartesian space directly from the given position (only periodic rows have K ≠ 0).
    wrapped[o] = x - (k0 * w[0] + k1 * w[3] + k2 * w[6]);
    wrapped[o + 1] = y - (k0 * w[1] + k1 * w[4] + k2 * w[7]);
    wrapped[o + 2] = z - (k0 * w[2] + k1 * w[5] + k2 * w[8]);
  }
  return { n, cutoff, pbc, cell, work, basis, heights, wrapped, frac, image };
}

/**
 * Reduce a lattice basis by pairwise size reduction (subtract the nearest integer multiple of
 * one vector from another while that shortens it). The result spans the same lattice, with
 * vectors closer to orthogonal, so cell-list bins of a strongly skewed cell become much less
 * elongated (fewer candidate pairs). Returns the reduced rows and the unimodular integer
 * matrix U with reduced = U·cell (row-major).
 */
export function reduceBasis(cell: Float64Array): { reduced: Float64Array; basis: Int32Array } {
  const w = Float64Array.from(cell);
  const u = new Int32Array([1, 0, 0, 0, 1, 0, 0, 0, 1]);
  const dot = (i: number, j: number) => w[3 * i] * w[3 * j] + w[3 * i + 1] * w[3 * j + 1] + w[3 * i + 2] * w[3 * j + 2];
  for (let iter = 0; iter < 100; iter++) {
    let changed = false;
    for (let i = 0; i < 3; i++) {
      for (let j = 0; j < 3; j++) {
        if (i === j) continue;
        const t = dot(i, j) / dot(j, j);
        // Strictly shorter only when |t| > 1/2; the margin avoids cycling on exact ties.
        if (!(Math.abs(t) > 0.5 + 1e-9)) continue;
        const q = Math.round(t);
        for (let c = 0; c < 3; c++) {
          w[3 * i + c] -= q * w[3 * j + c];
          u[3 * i + c] -= q * u[3 * j + c];
        }
        changed = true;
      }
    }
    if (!changed) break;
  }
  return { reduced: w, basis: u };
}
