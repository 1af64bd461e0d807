/**
 * Small dense-matrix helpers for the cell filter: the matrix exponential and its Fréchet
 * derivative, for 3×3 matrices stored row-major in plain arrays.
 *
 * @module
 */

/** C = A·B for n×n row-major matrices. */
function matmul(a: Float64Array, b: Float64Array, n: number): Float64Array<ArrayBuffer> {
  const c = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < n; k++) {
      const aik = a[i * n + k];
      if (aik === 0) continue;
      for (let j = 0; j < n; j++) c[i * n + j] += aik * b[k * n + j];
    }
  }
  return c;
}

/**
 * exp(A) of an n×n row-major matrix by scaling and squaring with a Taylor series: A is scaled
 * by 2^−s so its 1-norm is below 1/2, the series is summed to machine precision (≤ 30 terms),
 * then squared s times. Accurate to a few ulps for the well-conditioned matrices the cell
 * filter meets (log-deformations of order 1).
 */
export function expm(a: ArrayLike<number>, n: number): Float64Array<ArrayBuffer> {
  let norm = 0;
  for (let j = 0; j < n; j++) {
    let col = 0;
    for (let i = 0; i < n; i++) col += Math.abs(a[i * n + j]);
    norm = Math.max(norm, col);
  }
  const s = norm > 0.5 ? Math.ceil(Math.log2(norm / 0.5)) : 0;
  const scale = 2 ** -s;
  const x = Float64Array.from(a, (v) => v * scale);
  let result = new Float64Array(n * n);
  let term = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    result[i * n + i] = 1;
    term[i * n + i] = 1;
  }
  for (let k = 1; k <= 30; k++) {
    term = matmul(term, x, n);
    let tnorm = 0;
    for (let q = 0; q < n * n; q++) {
      term[q] /= k;
      result[q] += term[q];
      tnorm = Math.max(tnorm, Math.abs(term[q]));
    }
    if (tnorm < 1e-18) break;
  }
  for (let k = 0; k < s; k++) result = matmul(result, result, n);
  return result;
}

/**
 * The Fréchet derivative L(U, E) = d/dt exp(U + tE) at t = 0 of the 3×3 matrix exponential,
 * from the block identity exp([[U, E], [0, U]]) = [[exp U, L(U, E)], [0, exp U]].
 */
export function expmFrechet3(u: ArrayLike<number>, e: ArrayLike<number>): Float64Array {
  const block = new Float64Array(36);
  for (let i = 0; i < 3; i++) {
    for (let j = 0; j < 3; j++) {
      block[i * 6 + j] = u[3 * i + j];
      block[(i + 3) * 6 + j + 3] = u[3 * i + j];
      block[i * 6 + j + 3] = e[3 * i + j];
    }
  }
  const x = expm(block, 6);
  const out = new Float64Array(9);
  for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++) out[3 * i + j] = x[i * 6 + j + 3];
  return out;
}

/** Inverse of a 3×3 row-major matrix (the caller guarantees it is not singular). */
export function inverse3(m: ArrayLike<number>): Float64Array {
  const [a, b, c, d, e, f, g, h, i] = Array.from(m);
  const A = e * i - f * h;
  const B = -(d * i - f * g);
  const C = d * h - e * g;
  const det = a * A + b * B + c * C;
  return Float64Array.from([A, -(b * i - c * h), b * f - c * e, B, a * i - c * g, -(a * f - c * d), C, -(a * h - b * g), a * e - b * d], (v) => v / det);
}
