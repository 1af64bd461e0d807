/**
 * Float64 3×3 cell algebra.
 *
 * Convention used throughout equiforce: a cell is a `Float64Array` of length 9, row-major,
 * whose rows are the lattice vectors **a**, **b**, **c** in Å (`cell[0..2]` = a, `cell[3..5]` = b,
 * `cell[6..8]` = c). A Cartesian position r and fractional coordinates s are related by
 * r = s · cell (s a row vector), i.e. r = s₀·a + s₁·b + s₂·c. An all-zero cell means "no cell"
 * (a molecule).
 *
 * gl-matrix is not used here: its matrices are float32 and column-major by default, and the
 * few operations needed are clearer (and exact to float64) written out.
 *
 * @module
 */
import { StructureError } from '../errors.js';

/** A cell: 9 numbers, row-major, rows are the lattice vectors a, b, c in Å. All zeros = no cell. */
export type Cell = Float64Array;

/**
 * Relative tolerance below which a cell counts as singular: |det| < SINGULAR_TOLERANCE·|a||b||c|.
 * |det|/(|a||b||c|) is the sine-like "volume fraction" of the parallelepiped (1 for orthogonal vectors).
 */
export const SINGULAR_TOLERANCE = 1e-10;

function checkLength(cell: ArrayLike<number>): void {
  if (cell.length !== 9) {
    throw new StructureError('length-mismatch', `a cell needs 9 numbers (3 row vectors), got ${cell.length}`);
  }
}

/** Determinant of the cell matrix (signed volume a·(b×c), Å³). */
export function cellDeterminant(cell: ArrayLike<number>): number {
  checkLength(cell);
  const [ax, ay, az, bx, by, bz, cx, cy, cz] = [
    cell[0], cell[1], cell[2], cell[3], cell[4], cell[5], cell[6], cell[7], cell[8],
  ];
  return ax * (by * cz - bz * cy) - ay * (bx * cz - bz * cx) + az * (bx * cy - by * cx);
}

/** Volume of the cell, |det(cell)|, in Å³. */
export function cellVolume(cell: ArrayLike<number>): number {
  return Math.abs(cellDeterminant(cell));
}

/** Length (Å) of cell vector `axis` (0 = a, 1 = b, 2 = c). */
export function cellVectorLength(cell: ArrayLike<number>, axis: number): number {
  const o = 3 * axis;
  return Math.hypot(cell[o], cell[o + 1], cell[o + 2]);
}

/** True when every entry of the cell is exactly zero (no cell, i.e. a molecule). */
export function isZeroCell(cell: ArrayLike<number> | null | undefined): boolean {
  if (cell == null) return true;
  for (let k = 0; k < cell.length; k++) if (cell[k] !== 0) return false;
  return true;
}

/** True when cell vector `axis` (0 = a, 1 = b, 2 = c) is exactly zero. */
export function cellVectorIsZero(cell: ArrayLike<number>, axis: number): boolean {
  const o = 3 * axis;
  return cell[o] === 0 && cell[o + 1] === 0 && cell[o + 2] === 0;
}

/**
 * True when the cell is singular: |det| < {@link SINGULAR_TOLERANCE}·|a||b||c|, or any vector is
 * zero. Relative, so it does not depend on the length unit.
 */
export function isSingularCell(cell: ArrayLike<number>): boolean {
  const scale = cellVectorLength(cell, 0) * cellVectorLength(cell, 1) * cellVectorLength(cell, 2);
  if (!(scale > 0) || !Number.isFinite(scale)) return true;
  return !(Math.abs(cellDeterminant(cell)) >= SINGULAR_TOLERANCE * scale);
}

/**
 * Inverse of the cell matrix (row-major, 1/Å). Fractional coordinates are s = r · inverse.
 *
 * @throws StructureError `'singular-cell'` when the cell is singular (see {@link isSingularCell}),
 *   `'non-finite-cell'` when it holds NaN or ±Infinity.
 */
export function cellInverse(cell: ArrayLike<number>, out: Float64Array = new Float64Array(9)): Float64Array {
  checkLength(cell);
  for (let k = 0; k < 9; k++) {
    if (!Number.isFinite(cell[k])) throw new StructureError('non-finite-cell', `cell entry ${k} is ${cell[k]}`);
  }
  if (isSingularCell(cell)) {
    throw new StructureError(
      'singular-cell',
      `cell is singular or degenerate (det = ${cellDeterminant(cell)} Å³ for vector lengths ` +
        `${[0, 1, 2].map((a) => cellVectorLength(cell, a).toPrecision(6)).join(', ')} Å)`,
    );
  }
  const [a0, a1, a2, b0, b1, b2, c0, c1, c2] = [
    cell[0], cell[1], cell[2], cell[3], cell[4], cell[5], cell[6], cell[7], cell[8],
  ];
  const det = cellDeterminant(cell);
  const id = 1 / det;
  // Adjugate / det; written into locals first so `out` may alias `cell`.
  const r0 = (b1 * c2 - b2 * c1) * id;
  const r1 = (a2 * c1 - a1 * c2) * id;
  const r2 = (a1 * b2 - a2 * b1) * id;
  const r3 = (b2 * c0 - b0 * c2) * id;
  const r4 = (a0 * c2 - a2 * c0) * id;
  const r5 = (a2 * b0 - a0 * b2) * id;
  const r6 = (b0 * c1 - b1 * c0) * id;
  const r7 = (a1 * c0 - a0 * c1) * id;
  const r8 = (a0 * b1 - a1 * b0) * id;
  out[0] = r0; out[1] = r1; out[2] = r2;
  out[3] = r3; out[4] = r4; out[5] = r5;
  out[6] = r6; out[7] = r7; out[8] = r8;
  return out;
}

/**
 * Perpendicular heights of the cell (Å): the distance between the two faces spanned by
 * (b, c), (c, a) and (a, b) respectively, i.e. V/|b×c|, V/|c×a|, V/|a×b|. A sphere of
 * radius r fits into the cell without touching its own periodic images along axis k iff
 * 2r < heights[k]. A zero cross product gives 0.
 */
export function faceDistances(cell: ArrayLike<number>, out: Float64Array = new Float64Array(3)): Float64Array {
  checkLength(cell);
  const v = cellVolume(cell);
  for (let k = 0; k < 3; k++) {
    const p = 3 * ((k + 1) % 3);
    const q = 3 * ((k + 2) % 3);
    const x = cell[p + 1] * cell[q + 2] - cell[p + 2] * cell[q + 1];
    const y = cell[p + 2] * cell[q] - cell[p] * cell[q + 2];
    const z = cell[p] * cell[q + 1] - cell[p + 1] * cell[q];
    const area = Math.hypot(x, y, z);
    out[k] = area > 0 ? v / area : 0;
  }
  return out;
}

/**
 * Fractional coordinates s (3N, unitless) of Cartesian positions r (3N, Å): s = r · cell⁻¹.
 *
 * @throws StructureError `'singular-cell'` for a singular cell.
 */
export function cartesianToFractional(
  positions: ArrayLike<number>,
  cell: ArrayLike<number>,
  out: Float64Array = new Float64Array(positions.length),
): Float64Array {
  const inv = cellInverse(cell);
  return multiplyRows(positions, inv, out);
}

/** Cartesian positions r (3N, Å) of fractional coordinates s (3N): r = s · cell. */
export function fractionalToCartesian(
  frac: ArrayLike<number>,
  cell: ArrayLike<number>,
  out: Float64Array = new Float64Array(frac.length),
): Float64Array {
  checkLength(cell);
  return multiplyRows(frac, cell, out);
}

/** out[n] = v[n] · m for each 3-row v[n] (row vector times row-major 3×3). `out` may alias `v`. */
function multiplyRows(v: ArrayLike<number>, m: ArrayLike<number>, out: Float64Array): Float64Array {
  if (v.length % 3 !== 0) {
    throw new StructureError('length-mismatch', `coordinate array length ${v.length} is not a multiple of 3`);
  }
  if (out.length < v.length) {
    throw new StructureError('length-mismatch', `output length ${out.length} < input length ${v.length}`);
  }
  const m0 = m[0], m1 = m[1], m2 = m[2], m3 = m[3], m4 = m[4], m5 = m[5], m6 = m[6], m7 = m[7], m8 = m[8];
  for (let o = 0; o < v.length; o += 3) {
    const x = v[o], y = v[o + 1], z = v[o + 2];
    out[o] = x * m0 + y * m3 + z * m6;
    out[o + 1] = x * m1 + y * m4 + z * m7;
    out[o + 2] = x * m2 + y * m5 + z * m8;
  }
  return out;
}

/**
 * A non-singular copy of `cell` in which every zero cell vector is replaced by a unit vector (1 Å)
 * orthogonal to the non-zero ones (like ASE's `complete_cell`). Used for open axes of slabs,
 * wires and molecules, where the given vector carries no meaning; non-zero vectors are kept.
 *
 * @throws StructureError `'singular-cell'` when the non-zero vectors are themselves degenerate.
 */
export function completeCell(cell: ArrayLike<number>): Float64Array {
  checkLength(cell);
  const out = Float64Array.from(cell);
  const zero = [0, 1, 2].filter((a) => cellVectorIsZero(out, a));
  if (zero.length === 3) {
    out.set([1, 0, 0, 0, 1, 0, 0, 0, 1]);
    return out;
  }
  if (zero.length === 2) {
    // One vector v: pick the Cartesian axis least aligned with v, orthogonalise, then cross.
    const ka = [0, 1, 2].find((a) => !zero.includes(a))!;
    const v = unit([out[3 * ka], out[3 * ka + 1], out[3 * ka + 2]]);
    const absv = v.map(Math.abs);
    const m = absv.indexOf(Math.min(...absv));
    const e = [0, 0, 0];
    e[m] = 1;
    const dot = e[0] * v[0] + e[1] * v[1] + e[2] * v[2];
    const u = unit([e[0] - dot * v[0], e[1] - dot * v[1], e[2] - dot * v[2]]);
    const w = cross(v, u);
    // Keep a right-handed order: vectors (ka, ka+1, ka+2) = (v, u, w).
    const first = (ka + 1) % 3;
    const second = (ka + 2) % 3;
    out.set(u, 3 * first);
    out.set(w, 3 * second);
  } else if (zero.length === 1) {
    const k = zero[0];
    const p = (k + 1) % 3;
    const q = (k + 2) % 3;
    const n = cross(
      [out[3 * p], out[3 * p + 1], out[3 * p + 2]],
      [out[3 * q], out[3 * q + 1], out[3 * q + 2]],
    );
    const len = Math.hypot(n[0], n[1], n[2]);
    if (!(len > 0)) {
      throw new StructureError('singular-cell', 'the two non-zero cell vectors are parallel');
    }
    out.set([n[0] / len, n[1] / len, n[2] / len], 3 * k);
  }
  if (isSingularCell(out)) {
    throw new StructureError('singular-cell', 'the non-zero cell vectors are degenerate');
  }
  return out;
}

function cross(u: number[], v: number[]): number[] {
  return [u[1] * v[2] - u[2] * v[1], u[2] * v[0] - u[0] * v[2], u[0] * v[1] - u[1] * v[0]];
}

function unit(v: number[]): number[] {
  const l = Math.hypot(v[0], v[1], v[2]);
  return [v[0] / l, v[1] / l, v[2] / l];
}
