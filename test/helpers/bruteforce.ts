/**
 * Independent O(N²·images) neighbour list used as the test oracle. It shares no code with
 * src/geometry: it loops over every atom pair and every lattice translation S in a box that is
 * provably large enough, and keeps those with |r_j − r_i + S·cell| < cutoff.
 */

export interface BrutePair {
  i: number;
  j: number;
  S: [number, number, number];
  D: [number, number, number];
  d: number;
}

export interface BruteSystem {
  positions: ArrayLike<number>;
  cell?: ArrayLike<number> | null;
  pbc?: readonly boolean[] | null;
}

type V3 = [number, number, number];
const sub = (u: V3, v: V3): V3 => [u[0] - v[0], u[1] - v[1], u[2] - v[2]];
const crossV = (u: V3, v: V3): V3 => [u[1] * v[2] - u[2] * v[1], u[2] * v[0] - u[0] * v[2], u[0] * v[1] - u[1] * v[0]];
const norm = (u: V3): number => Math.sqrt(u[0] * u[0] + u[1] * u[1] + u[2] * u[2]);
const dot = (u: V3, v: V3): number => u[0] * v[0] + u[1] * v[1] + u[2] * v[2];

/**
 * Smallest distance between lattice planes of the periodic sublattice along each periodic axis:
 * any translation S with |S·cell| ≤ L has |S_k| ≤ L / h_k.
 */
function sublatticeHeights(vecs: V3[], periodic: number[]): number[] {
  const h = [Infinity, Infinity, Infinity];
  if (periodic.length === 1) {
    h[periodic[0]] = norm(vecs[periodic[0]]);
  } else if (periodic.length === 2) {
    const [p, q] = periodic;
    const area = norm(crossV(vecs[p], vecs[q]));
    h[p] = area / norm(vecs[q]);
    h[q] = area / norm(vecs[p]);
  } else if (periodic.length === 3) {
    const vol = Math.abs(dot(vecs[0], crossV(vecs[1], vecs[2])));
    for (let k = 0; k < 3; k++) h[k] = vol / norm(crossV(vecs[(k + 1) % 3], vecs[(k + 2) % 3]));
  }
  return h;
}

/** All pairs i→j (S) with distance < cutoff, excluding i→i at S = 0. */
export function bruteForceNeighbors(system: BruteSystem, cutoff: number): BrutePair[] {
  const pos = system.positions;
  const n = pos.length / 3;
  const cell = system.cell ?? new Array(9).fill(0);
  const pbc = system.pbc ?? [false, false, false];
  const vecs: V3[] = [0, 1, 2].map((k) => [cell[3 * k], cell[3 * k + 1], cell[3 * k + 2]] as V3);
  const periodic = [0, 1, 2].filter((k) => pbc[k]);
  const h = sublatticeHeights(vecs, periodic);
  const r: V3[] = [];
  for (let i = 0; i < n; i++) r.push([pos[3 * i], pos[3 * i + 1], pos[3 * i + 2]]);
  const out: BrutePair[] = [];
  const cv = [0, 1, 2].map((c) => [vecs[0][c], vecs[1][c], vecs[2][c]]);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      const rij = sub(r[j], r[i]);
      // |S·cell| ≤ |D| + |r_j − r_i| < cutoff + |r_j − r_i|, so |S_k| ≤ (cutoff + |r_ij|) / h_k.
      const reach = cutoff + norm(rij);
      const M = [0, 1, 2].map((k) => (pbc[k] ? Math.ceil(reach / h[k]) + 1 : 0));
      for (let s0 = -M[0]; s0 <= M[0]; s0++) {
        for (let s1 = -M[1]; s1 <= M[1]; s1++) {
          for (let s2 = -M[2]; s2 <= M[2]; s2++) {
            if (i === j && s0 === 0 && s1 === 0 && s2 === 0) continue;
            const dx = rij[0] + (s0 * cv[0][0] + s1 * cv[0][1] + s2 * cv[0][2]);
            const dy = rij[1] + (s0 * cv[1][0] + s1 * cv[1][1] + s2 * cv[1][2]);
            const dz = rij[2] + (s0 * cv[2][0] + s1 * cv[2][1] + s2 * cv[2][2]);
            const d = Math.sqrt(dx * dx + dy * dy + dz * dz);
            if (d < cutoff) out.push({ i, j, S: [s0, s1, s2], D: [dx, dy, dz], d });
          }
        }
      }
    }
  }
  return out;
}

/** Key of a pair for set comparisons. */
export function pairKey(i: number, j: number, S: ArrayLike<number>): string {
  return `${i},${j},${S[0]},${S[1]},${S[2]}`;
}
