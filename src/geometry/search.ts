/**
 * The cell-list traversal: finds every unordered pair {i→j with shift S, j→i with shift −S}
 * exactly once ("half pairs"), so the full list and its `reverse` index follow by mirroring,
 * without hashing or searching.
 *
 * Each bin visits a half stencil of neighbour bins: the offsets (dx, dy, dz) within `reach`
 * whose first non-zero component of (dz, dy, dx) is positive, plus the bin itself (offset zero,
 * pairs a < b only). Offset d and −d reach the same bin pairs with opposite shifts, so keeping
 * one of them loses nothing; different offsets give different (bin, image) combinations, so
 * nothing is found twice, even when the stencil wraps around a small periodic cell several times.
 *
 * @module
 */
import type { BinGrid } from './binning.js';
import type { PreparedSystem } from './prepare.js';

/** Half pairs found by {@link searchHalfPairs} (internal). Indices are *sorted* atom indices. */
export interface HalfPairs {
  count: number;
  /** First atom (sorted index). */
  a: Int32Array;
  /** Second atom (sorted index). */
  b: Int32Array;
  /** Image code, see {@link ImageTable}. */
  code: Int32Array;
  /** Pairs per sorted atom, counting both directions. */
  perAtom: Int32Array;
  /** Wrapped positions in sorted order, 3N, Å. */
  sortedPos: Float64Array;
  /** Images K of the wrap in sorted order, 3N. */
  sortedImage: Int32Array;
  images: ImageTable;
}

/** Integer image shifts S' and their Cartesian vectors S'·W, indexed by a small code (internal). */
export interface ImageTable {
  /** 3 integers per code. */
  shift: Int32Array;
  /** 3 floats per code, Å. */
  vector: Float64Array;
}

interface AxisMap {
  /** Neighbour bin coordinate for t + reach (t from −reach to counts − 1 + reach); −1 = outside an open axis. */
  bin: Int32Array;
  /** Image along this axis for t + reach. */
  img: Int32Array;
  imgMin: number;
  imgSpan: number;
}

function axisMap(count: number, reach: number, periodic: boolean): AxisMap {
  const len = count + 2 * reach;
  const bin = new Int32Array(len);
  const img = new Int32Array(len);
  let imgMin = 0;
  let imgMax = 0;
  for (let u = 0; u < len; u++) {
    const t = u - reach;
    if (periodic) {
      const im = Math.floor(t / count);
      bin[u] = t - im * count;
      img[u] = im;
      if (im < imgMin) imgMin = im;
      if (im > imgMax) imgMax = im;
    } else {
      bin[u] = t >= 0 && t < count ? t : -1;
      img[u] = 0;
    }
  }
  return { bin, img, imgMin, imgSpan: imgMax - imgMin + 1 };
}

/** Starting capacity of the half-pair buffers: the expected pair count plus a margin. */
function estimateHalfPairs(sys: PreparedSystem, grid: Omit<BinGrid, 'start' | 'order'>): number {
  // Density from the binned volume; the sphere of the cutoff around each atom, halved.
  let vol = 1;
  for (let k = 0; k < 3; k++) {
    const thick = sys.pbc[k] ? sys.heights[k] : Math.max(grid.scale[k] > 0 ? (grid.counts[k] / grid.scale[k]) * sys.heights[k] : 0, sys.cutoff);
    vol *= Math.max(thick, 1e-3);
  }
  const rho = sys.n / vol;
  const est = 0.5 * sys.n * rho * (4 / 3) * Math.PI * sys.cutoff ** 3;
  return Math.min(Math.max(1024, Math.ceil(est * 1.15)), 2 ** 30);
}

function grow(arr: Int32Array, size: number): Int32Array {
  const out = new Int32Array(size);
  out.set(arr);
  return out;
}

/** Find all half pairs closer than the cutoff (strictly). */
export function searchHalfPairs(sys: PreparedSystem, grid: BinGrid): HalfPairs {
  const { n, cutoff, pbc, work, wrapped, image } = sys;
  const { counts, reach, start, order } = grid;
  const [n0, n1, n2] = counts;
  const [r0, r1, r2] = reach;
  const m0 = axisMap(n0, r0, pbc[0]);
  const m1 = axisMap(n1, r1, pbc[1]);
  const m2 = axisMap(n2, r2, pbc[2]);

  // Image table: every (ix, iy, iz) the stencil can produce.
  const nCodes = m0.imgSpan * m1.imgSpan * m2.imgSpan;
  const shift = new Int32Array(3 * nCodes);
  const vector = new Float64Array(3 * nCodes);
  for (let c = 0; c < nCodes; c++) {
    const ix = (c % m0.imgSpan) + m0.imgMin;
    const iy = (Math.floor(c / m0.imgSpan) % m1.imgSpan) + m1.imgMin;
    const iz = Math.floor(c / (m0.imgSpan * m1.imgSpan)) + m2.imgMin;
    shift[3 * c] = ix; shift[3 * c + 1] = iy; shift[3 * c + 2] = iz;
    vector[3 * c] = ix * work[0] + iy * work[3] + iz * work[6];
    vector[3 * c + 1] = ix * work[1] + iy * work[4] + iz * work[7];
    vector[3 * c + 2] = ix * work[2] + iy * work[5] + iz * work[8];
  }

  // Half stencil, in a fixed order (this order fixes the order of pairs in the output).
  const sx: number[] = [];
  const sy: number[] = [];
  const sz: number[] = [];
  for (let dz = 0; dz <= r2; dz++) {
    for (let dy = dz === 0 ? 0 : -r1; dy <= r1; dy++) {
      for (let dx = dz === 0 && dy === 0 ? 1 : -r0; dx <= r0; dx++) {
        sx.push(dx); sy.push(dy); sz.push(dz);
      }
    }
  }
  const nSt = sx.length;

  // Sorted copies of positions and images, so a bin's atoms are contiguous in memory.
  const pos = new Float64Array(3 * n);
  const img = new Int32Array(3 * n);
  for (let s = 0; s < n; s++) {
    const i = order[s];
    pos[3 * s] = wrapped[3 * i]; pos[3 * s + 1] = wrapped[3 * i + 1]; pos[3 * s + 2] = wrapped[3 * i + 2];
    img[3 * s] = image[3 * i]; img[3 * s + 1] = image[3 * i + 1]; img[3 * s + 2] = image[3 * i + 2];
  }

  const perAtom = new Int32Array(n);
  let cap = estimateHalfPairs(sys, grid);
  let A: Int32Array = new Int32Array(cap);
  let B: Int32Array = new Int32Array(cap);
  let C: Int32Array = new Int32Array(cap);
  let h = 0;
  const c2 = cutoff * cutoff;
  const span0 = m0.imgSpan, span01 = m0.imgSpan * m1.imgSpan;
  const zeroCode = -m0.imgMin - span0 * m1.imgMin - span01 * m2.imgMin;
  const mb0 = m0.bin, mb1 = m1.bin, mb2 = m2.bin, mi0 = m0.img, mi1 = m1.img, mi2 = m2.img;
  const off0 = m0.imgMin, off1 = m1.imgMin, off2 = m2.imgMin;

  for (let z = 0; z < n2; z++) {
    for (let y = 0; y < n1; y++) {
      for (let x = 0; x < n0; x++) {
        const bin = x + n0 * (y + n1 * z);
        const a0 = start[bin];
        const a1 = start[bin + 1];
        if (a0 === a1) continue;
        // Pairs inside the bin itself, zero image.
        for (let a = a0; a < a1 - 1; a++) {
          const ax = pos[3 * a], ay = pos[3 * a + 1], az = pos[3 * a + 2];
          for (let b = a + 1; b < a1; b++) {
            const dx = pos[3 * b] - ax;
            const dy = pos[3 * b + 1] - ay;
            const dz = pos[3 * b + 2] - az;
            if (dx * dx + dy * dy + dz * dz < c2) {
              if (h === cap) { cap *= 2; A = grow(A, cap); B = grow(B, cap); C = grow(C, cap); }
              A[h] = a; B[h] = b; C[h] = zeroCode; h++;
              perAtom[a]++; perAtom[b]++;
            }
          }
        }
        for (let s = 0; s < nSt; s++) {
          const u0 = x + sx[s] + r0, u1 = y + sy[s] + r1, u2 = z + sz[s] + r2;
          const t0 = mb0[u0], t1 = mb1[u1], t2 = mb2[u2];
          if (t0 < 0 || t1 < 0 || t2 < 0) continue;
          const nbin = t0 + n0 * (t1 + n1 * t2);
          const b0 = start[nbin];
          const b1 = start[nbin + 1];
          if (b0 === b1) continue;
          const code = mi0[u0] - off0 + span0 * (mi1[u1] - off1) + span01 * (mi2[u2] - off2);
          const vx = vector[3 * code], vy = vector[3 * code + 1], vz = vector[3 * code + 2];
          for (let a = a0; a < a1; a++) {
            // Same expression as in assembly (bit-identical vectors): d = pos_b − (pos_a − v).
            const ax = pos[3 * a] - vx, ay = pos[3 * a + 1] - vy, az = pos[3 * a + 2] - vz;
            for (let b = b0; b < b1; b++) {
              const dx = pos[3 * b] - ax;
              const dy = pos[3 * b + 1] - ay;
              const dz = pos[3 * b + 2] - az;
              if (dx * dx + dy * dy + dz * dz < c2) {
                if (h === cap) { cap *= 2; A = grow(A, cap); B = grow(B, cap); C = grow(C, cap); }
                A[h] = a; B[h] = b; C[h] = code; h++;
                perAtom[a]++; perAtom[b]++;
              }
            }
          }
        }
      }
    }
  }
  return { count: h, a: A, b: B, code: C, perAtom, sortedPos: pos, sortedImage: img, images: { shift, vector } };
}
