/**
 * Forces and stress from the model's `edge_grad` output (dE/d(edge vector)), summed in float64.
 *
 * The model sees positions only through the pair vectors r_p = x[j] − x[i] + S·cell, so with
 * g_p = dE/dr_p the chain rule gives, for atom a,
 *
 *   F_a = −dE/dx_a = Σ_{p: centre(p)=a} g_p − Σ_{p: neighbour(p)=a} g_p,
 *
 * and under a homogeneous strain ε every r_p becomes (1 + ε) r_p, so dE/dε = Σ_p g_p ⊗ r_p and the
 * stress (ASE sign, eV/Å³) is +(1/V) dE/dε, symmetrised. The pairs whose neighbour is a are exactly
 * the reverses of the pairs whose centre is a, so the force sum runs over a's own CSR block and
 * needs no scatter: F_a = Σ_{p in block(a)} (g_p − g_{reverse(p)}). That keeps the reduction
 * deterministic and cache-friendly.
 *
 * @module
 */

/** The parts of a neighbour list the reductions need (any range of a batched list). */
export interface PairLayout {
  /** CSR offsets by centre, length nAtoms + 1 (absolute pair indices). */
  readonly offsets: Int32Array;
  /** Index of the reverse pair for every pair (absolute pair indices). */
  readonly reverse: Int32Array;
}

/**
 * Forces (eV/Å, 3 per atom) on atoms `firstAtom..firstAtom+nAtoms−1` from pair gradients g (eV/Å).
 *
 * @param layout - CSR offsets and reverse indices of the pairs.
 * @param edgeGrad - dE/d(pair vector), 3 per pair, in the list's pair order (float32 or float64).
 * @param nAtoms - number of atoms to reduce.
 * @param firstAtom - first atom index (for one system inside a batch).
 * @param out - optional output of length 3·nAtoms, overwritten.
 */
export function forcesFromEdgeGradient(
  layout: PairLayout,
  edgeGrad: ArrayLike<number>,
  nAtoms: number,
  firstAtom = 0,
  out: Float64Array = new Float64Array(3 * nAtoms),
): Float64Array {
  const { offsets, reverse } = layout;
  for (let a = 0; a < nAtoms; a++) {
    let fx = 0;
    let fy = 0;
    let fz = 0;
    const end = offsets[firstAtom + a + 1];
    for (let p = offsets[firstAtom + a]; p < end; p++) {
      const q = reverse[p];
      fx += edgeGrad[3 * p] - edgeGrad[3 * q];
      fy += edgeGrad[3 * p + 1] - edgeGrad[3 * q + 1];
      fz += edgeGrad[3 * p + 2] - edgeGrad[3 * q + 2];
    }
    out[3 * a] = fx;
    out[3 * a + 1] = fy;
    out[3 * a + 2] = fz;
  }
  return out;
}

/**
 * Stress (eV/Å³, Voigt order xx yy zz yz xz xy, ASE sign +(1/V) dE/dε) from pair gradients.
 *
 * @param vectors - pair vectors (Å), 3 per pair.
 * @param edgeGrad - dE/d(pair vector), 3 per pair.
 * @param firstPair - first pair of the system (inclusive).
 * @param endPair - end pair of the system (exclusive).
 * @param volume - cell volume (Å³), > 0.
 */
export function stressFromEdgeGradient(
  vectors: ArrayLike<number>,
  edgeGrad: ArrayLike<number>,
  firstPair: number,
  endPair: number,
  volume: number,
): Float64Array {
  // dE/dε_ab = Σ_p g_a r_b; only the symmetric part is a stress (the antisymmetric part is a
  // rigid rotation, which changes nothing for an invariant energy).
  let xx = 0, yy = 0, zz = 0, yz = 0, zy = 0, xz = 0, zx = 0, xy = 0, yx = 0;
  for (let p = firstPair; p < endPair; p++) {
    const gx = edgeGrad[3 * p], gy = edgeGrad[3 * p + 1], gz = edgeGrad[3 * p + 2];
    const rx = vectors[3 * p], ry = vectors[3 * p + 1], rz = vectors[3 * p + 2];
    xx += gx * rx; yy += gy * ry; zz += gz * rz;
    yz += gy * rz; zy += gz * ry;
    xz += gx * rz; zx += gz * rx;
    xy += gx * ry; yx += gy * rx;
  }
  const s = 1 / volume;
  return Float64Array.of(xx * s, yy * s, zz * s, 0.5 * (yz + zy) * s, 0.5 * (xz + zx) * s, 0.5 * (xy + yx) * s);
}
