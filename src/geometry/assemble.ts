/**
 * Turns half pairs into the full, centre-grouped (CSR) list with its reverse index.
 *
 * Every half pair (i, j, S) is written twice, as i→j (S, D) into centre i's block and as
 * j→i (−S, −D) into centre j's block, each slot recording the other's index as `reverse`.
 * Within a block, pairs keep the order in which the traversal found them.
 *
 * @module
 */
import type { HalfPairs } from './search.js';
import type { NeighborList } from './types.js';

/** Build the full list from half pairs (internal). `order` maps sorted to original atom indices. */
export function assembleFullList(half: HalfPairs, order: Int32Array, n: number, cutoff: number): NeighborList {
  const { count: h, a: A, b: B, code: C, perAtom, sortedPos: pos, sortedImage: img } = half;
  const { shift: shiftTable, vector: vectorTable } = half.images;
  const total = 2 * h;
  if (total > 2 ** 31 - 1) throw new RangeError(`neighbour list of ${total} pairs exceeds Int32 indexing`);
  const offsets = new Int32Array(n + 1);
  for (let s = 0; s < n; s++) offsets[order[s] + 1] = perAtom[s];
  for (let i = 0; i < n; i++) offsets[i + 1] += offsets[i];
  const cursor = offsets.slice(0, n);

  const centers = new Int32Array(total);
  const neighbors = new Int32Array(total);
  const shifts = new Int32Array(3 * total);
  const vectors = new Float64Array(3 * total);
  const distances = new Float64Array(total);
  const reverse = new Int32Array(total);

  for (let p = 0; p < h; p++) {
    const a = A[p], b = B[p], c = C[p];
    const i = order[a], j = order[b];
    const vx = vectorTable[3 * c], vy = vectorTable[3 * c + 1], vz = vectorTable[3 * c + 2];
    // Same expression as the search, so distances are bit-identical to what passed the cutoff test.
    const dx = pos[3 * b] - (pos[3 * a] - vx);
    const dy = pos[3 * b + 1] - (pos[3 * a + 1] - vy);
    const dz = pos[3 * b + 2] - (pos[3 * a + 2] - vz);
    const d = Math.sqrt(dx * dx + dy * dy + dz * dz);
    // Shift relative to the caller's (unwrapped) positions: S = S' − K_j + K_i.
    const Sx = shiftTable[3 * c] - img[3 * b] + img[3 * a];
    const Sy = shiftTable[3 * c + 1] - img[3 * b + 1] + img[3 * a + 1];
    const Sz = shiftTable[3 * c + 2] - img[3 * b + 2] + img[3 * a + 2];
    const pi = cursor[i]++;
    const pj = cursor[j]++;
    neighbors[pi] = j;
    reverse[pi] = pj;
    distances[pi] = d;
    shifts[3 * pi] = Sx; shifts[3 * pi + 1] = Sy; shifts[3 * pi + 2] = Sz;
    vectors[3 * pi] = dx; vectors[3 * pi + 1] = dy; vectors[3 * pi + 2] = dz;
    neighbors[pj] = i;
    reverse[pj] = pi;
    distances[pj] = d;
    shifts[3 * pj] = -Sx; shifts[3 * pj + 1] = -Sy; shifts[3 * pj + 2] = -Sz;
    vectors[3 * pj] = -dx; vectors[3 * pj + 1] = -dy; vectors[3 * pj + 2] = -dz;
  }
  // Centres last, sequentially (cheaper than scattering them).
  for (let i = 0; i < n; i++) {
    for (let p = offsets[i], e = offsets[i + 1]; p < e; p++) centers[p] = i;
  }
  return { nAtoms: n, cutoff, count: total, centers, neighbors, shifts, vectors, distances, offsets, reverse };
}
