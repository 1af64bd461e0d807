/**
 * The cell-list traversal, writing the full list directly in its final layout.
 *
 * Every centre's pairs are written contiguously at their final place (CSR by construction, no
 * scatter). Centres are visited either in ascending index, appending block after block, or
 * (large systems, `binOrder`) in bin order after a counting pass has fixed every block's place,
 * which keeps the atoms a centre reads hot in cache when indices are scattered in space. The
 * counted variant is split into passes over ranges of centres (kernel.ts), which is also what
 * the worker threads run (parallel.ts): same expressions, same result bit for bit.
 *
 * Each centre scans the full stencil of neighbour bins: the offsets (dx, dy, dz) within
 * `reach`, in lexicographic order of (dz, dy, dx), with consecutive x offsets of equal image
 * merged into one run (one loop). Offset o and its opposite −o = `nSt − 1 − o` reach the same
 * atom pairs with opposite images; distinct offsets give distinct (bin, image) combinations, so
 * no pair is found twice, even when the stencil wraps a small periodic cell several times
 * (cutoff larger than the cell). Within a block, pairs therefore appear by stencil offset, then
 * by the neighbour's position in bin order: deterministic for a given input.
 *
 * Reverse index without hashing or searching: the pairs of centre i through offset o form a
 * *segment* holding neighbours from one bin, in bin order. The reverse of pair (i→j, o) lies
 * in segment (j, −o), whose entries are exactly the centres i' of bin(i) that see j, again in
 * bin order. A second pass that visits the blocks in bin order therefore meets the pairs
 * pointing into segment (j, −o) in the segment's own order, and a per-segment cursor (indexed
 * by bin-sorted atom, so memory access stays local) hands out their reverse indices one by one.
 *
 * That bookkeeping needs the cutoff test to be exactly symmetric, so the pair vector is always
 * evaluated from the atom earlier in bin order: D(a→b, v) = p_b − (p_a − v) for a < b and
 * (p_b + v) − p_a = −D(b→a, −v) for a > b, bit for bit; an atom's own image is D = v.
 *
 * @module
 */
import { ArgumentError } from '../errors.js';
import type { BinGrid } from './binning.js';
import type { PreparedSystem } from './prepare.js';
import type { NeighborList } from './types.js';
import { countRange, reverseRange, writeRange, type KernelData, type KernelPass } from './kernel.js';
import { searchPool } from './parallel.js';
import { Workspace } from './workspace.js';

interface AxisMap {
  /** Neighbour bin coordinate for t + reach (t from −reach to count − 1 + reach); −1 = outside an open axis. */
  bin: Int32Array;
  /** Image along this axis for t + reach. */
  img: Int32Array;
  imgMin: number;
  imgSpan: number;
}

function axisMap(count: number, reach: number, periodic: boolean): AxisMap {
  const len = count + 2 * reach;
  const bin = int32Table(len);
  const img = int32Table(len);
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

/** Expected number of (directed) pairs, from the density in the binned volume; used to size buffers. */
function estimatePairs(sys: PreparedSystem, grid: BinGrid): number {
  let vol = 1;
  for (let k = 0; k < 3; k++) {
    const thick = sys.pbc[k]
      ? sys.heights[k]
      : Math.max(grid.scale[k] > 0 ? (grid.counts[k] / grid.scale[k]) * sys.heights[k] : 0, sys.cutoff);
    vol *= Math.max(thick, 1e-3);
  }
  const rho = sys.n / vol;
  const est = sys.n * rho * (4 / 3) * Math.PI * sys.cutoff ** 3;
  return Math.min(Math.max(1024, Math.ceil(est * 1.1)), 2 ** 31 - 1);
}

/**
 * Typed arrays of at most 64 bytes live on V8's heap, larger ones off it; code optimised for
 * one kind deoptimises on the other. Small tables are padded so they are always off-heap.
 */
function int32Table(len: number): Int32Array {
  return new Int32Array(Math.max(len, 32)).subarray(0, len);
}
function float64Table(len: number): Float64Array {
  return new Float64Array(Math.max(len, 16)).subarray(0, len);
}

/** The list plus its segment bookkeeping (used by the Verlet list to re-derive `reverse`). */
export interface SearchOutput {
  list: NeighborList;
  /** Per pair: the segment (sorted atom · nSegmentsPerAtom + offset) that holds its reverse. */
  reverseSegment: Int32Array;
  /** Per pair: the segment the pair itself belongs to. */
  ownSegment: Int32Array;
  /** Per pair: the neighbour's bin-sorted index (only with segment tracking). */
  neighborSorted: Int32Array;
  /** Original index of each bin-sorted atom. */
  order: Int32Array;
  /** Number of segment slots (atoms × stencil offsets). */
  segmentCount: number;
  /** Stencil offsets per atom: segment id = bin-sorted atom · segmentsPerAtom + offset. */
  segmentsPerAtom: number;
  /** Threads that ran the search (1, or the pool's workers + the caller). */
  threads: number;
}

/** Chunks of about `target` consecutive atom indices, as boundaries 0 = c_0 < c_1 < … = n. */
function rangeChunks(n: number, target: number): Int32Array {
  const count = Math.max(1, Math.ceil(n / target));
  const out = new Int32Array(count + 1);
  for (let c = 0; c <= count; c++) out[c] = Math.round((c * n) / count);
  return out;
}

/**
 * Chunks of sorted atoms for the parallel passes: consecutive whole bins of about `target`
 * atoms (bin-aligned, see kernel.ts), as boundaries 0 = c_0 < c_1 < … = n.
 */
function binChunks(start: Int32Array, nBins: number, n: number, target: number): Int32Array {
  const bounds = [0];
  for (let b = 1; b < nBins; b++) {
    if (start[b] - bounds[bounds.length - 1] >= target) bounds.push(start[b]);
  }
  if (n > bounds[bounds.length - 1]) bounds.push(n);
  return Int32Array.from(bounds);
}

/**
 * Run the traversal. Output arrays come from `out` (reused between calls) and are views of
 * exactly `count` pairs; `scratch` provides temporaries.
 */
export function searchPairs(
  sys: PreparedSystem,
  grid: BinGrid,
  scratch: Workspace,
  out: Workspace,
  trackSegments = false,
  binOrder = false,
  threads = 1,
  waitMs = 0,
): SearchOutput {
  const { n, cutoff, pbc, work, wrapped, image } = sys;
  const { counts, reach, start, order, binOf } = grid;
  const [n0, n1, n2] = counts;
  const [r0, r1, r2] = reach;
  const m0 = axisMap(n0, r0, pbc[0]);
  const m1 = axisMap(n1, r1, pbc[1]);
  const m2 = axisMap(n2, r2, pbc[2]);

  // Image table: integer shifts S' and vectors S'·W for every image the stencil can reach.
  const span0 = m0.imgSpan, span01 = m0.imgSpan * m1.imgSpan;
  const nCodes = span01 * m2.imgSpan;
  const shiftTab = int32Table(3 * nCodes);
  const vecTab = float64Table(3 * nCodes);
  for (let c = 0; c < nCodes; c++) {
    const ix = (c % span0) + m0.imgMin;
    const iy = (Math.floor(c / span0) % m1.imgSpan) + m1.imgMin;
    const iz = Math.floor(c / span01) + m2.imgMin;
    // Integer shifts in the given cell's basis: S = S'·U (U = identity unless the cell was reduced).
    const U = sys.basis;
    shiftTab[3 * c] = ix * U[0] + iy * U[3] + iz * U[6];
    shiftTab[3 * c + 1] = ix * U[1] + iy * U[4] + iz * U[7];
    shiftTab[3 * c + 2] = ix * U[2] + iy * U[5] + iz * U[8];
    vecTab[3 * c] = ix * work[0] + iy * work[3] + iz * work[6];
    vecTab[3 * c + 1] = ix * work[1] + iy * work[4] + iz * work[7];
    vecTab[3 * c + 2] = ix * work[2] + iy * work[5] + iz * work[8];
  }
  const zeroCode = -m0.imgMin - span0 * m1.imgMin - span01 * m2.imgMin;
  const mb0 = m0.bin, mb1 = m1.bin, mb2 = m2.bin, mi0 = m0.img, mi1 = m1.img, mi2 = m2.img;
  const off0 = m0.imgMin, off1 = m1.imgMin, off2 = m2.imgMin;

  // Full stencil in lexicographic (dz, dy, dx) order: the opposite of offset o is nSt − 1 − o.
  const w0 = 2 * r0 + 1, w1 = 2 * r1 + 1, w2 = 2 * r2 + 1;
  const nSt = w0 * w1 * w2;
  if (nSt * n > 2 ** 31 - 1) {
    throw new ArgumentError(
      `neighbour search too large: ${n} atoms × ${nSt} periodic images/bins to visit (cutoff ${cutoff} Å is huge for this cell)`,
      'search-too-large',
    );
  }

  // Bin-sorted copies of positions and wrap images, so each bin's atoms are contiguous.
  const pos = scratch.float64('sortedPos', 3 * n);
  const img = scratch.int32('sortedImage', 3 * n);
  const rank = scratch.int32('rank', n);
  for (let s = 0; s < n; s++) {
    const i = order[s];
    rank[i] = s;
    pos[3 * s] = wrapped[3 * i]; pos[3 * s + 1] = wrapped[3 * i + 1]; pos[3 * s + 2] = wrapped[3 * i + 2];
    img[3 * s] = image[3 * i]; img[3 * s + 1] = image[3 * i + 1]; img[3 * s + 2] = image[3 * i + 2];
  }
  const cursor = scratch.int32('segmentCursor', nSt * n);

  const offsets = out.int32('offsets', n + 1);
  let cap = Math.max(estimatePairs(sys, grid), out.capacityInt32('neighbors'));
  let cen = out.int32('centers', cap);
  let nbr = out.int32('neighbors', cap);
  let sh = out.int32('shifts', 3 * cap);
  let vec = out.float64('vectors', 3 * cap);
  let dist = out.float64('distances', cap);
  let rev = out.int32('reverse', cap);

  const c2 = cutoff * cutoff;
  let p = 0;
  let lastThreads = 1;

  // Runs along x: for each bin column x, the stencil's x offsets grouped into runs of
  // consecutive bins with the same image. A run's atoms are contiguous in bin order, so one
  // loop scans a whole run (3 bins for one bin per cutoff) instead of one loop per bin.
  const runOff = int32Table(n0 + 1);
  const runDx: number[] = []; // first x offset of the run
  const runLen: number[] = []; // bins in the run
  const runBin: number[] = []; // x bin coordinate of the first bin
  const runImg: number[] = []; // x image of the run
  for (let x = 0; x < n0; x++) {
    runOff[x] = runDx.length;
    let prevT = -2, prevIm = 0;
    for (let dx = -r0; dx <= r0; dx++) {
      const u = x + dx + r0;
      const t = mb0[u];
      if (t < 0) { prevT = -2; continue; }
      const im = mi0[u];
      if (t === prevT + 1 && im === prevIm && runDx.length > runOff[x]) {
        runLen[runLen.length - 1]++;
      } else {
        runDx.push(dx); runLen.push(1); runBin.push(t); runImg.push(im);
      }
      prevT = t; prevIm = im;
    }
  }
  runOff[n0] = runDx.length;
  const rDx = Int32Array.from(runDx.length ? runDx : [0]), rLen = Int32Array.from(runLen.length ? runLen : [0]);
  const rBin = Int32Array.from(runBin.length ? runBin : [0]), rImg = Int32Array.from(runImg.length ? runImg : [0]);

  // Upper bound on the pairs of any centre in each bin (its stencil's atoms, own images
  // included), so capacity is checked once per centre instead of once per pair.
  const bound = scratch.int32('binBound', grid.nBins);
  for (let bin = 0; bin < grid.nBins; bin++) {
    const x = bin % n0, y = Math.floor(bin / n0) % n1, z = Math.floor(bin / (n0 * n1));
    let total = 0;
    for (let dzi = 0; dzi < w2; dzi++) {
      const t2 = mb2[z + dzi];
      if (t2 < 0) continue;
      for (let dyi = 0; dyi < w1; dyi++) {
        const t1 = mb1[y + dyi];
        if (t1 < 0) continue;
        const rowBin = n0 * (t1 + n1 * t2);
        for (let r = runOff[x]; r < runOff[x + 1]; r++) total += start[rowBin + rBin[r] + rLen[r]] - start[rowBin + rBin[r]];
      }
    }
    bound[bin] = total;
  }

  // Pass 1: pairs, appended centre by centre. key[p] names the segment holding the reverse pair
  // (neighbour's sorted index, opposite offset); cursor[a·nSt + o] records where segment (a, o)
  // starts. A segment is the part of a run that lies in one bin.
  let key = scratch.int32('reverseKey', cap);
  let own = scratch.int32('ownSegment', trackSegments ? cap : 0);
  let nbs = scratch.int32('neighborSorted', trackSegments ? cap : 0);
  // A run is at most w0 consecutive bins: bound the candidate buffer by the fullest such window.
  let maxRun = 0;
  for (let bin = 0; bin < grid.nBins; bin++) maxRun = Math.max(maxRun, start[Math.min(bin + w0, grid.nBins)] - start[bin]);
  const cand = scratch.int32('candidates', maxRun + 1);

  const d: KernelData = {
    n0, n1, n2, w0, w1, w2, r0, span0, span01, off0, off1, off2, zeroCode, c2, nSt, track: trackSegments, byIndex: !binOrder, rank,
    mb0, mb1, mb2, mi1, mi2, shiftTab, vecTab, runOff, rDx, rLen, rBin, rImg,
    start, order, binOf, pos, img, offsets, cen, nbr, sh, vec, dist, rev, key, cursor, own, nbs,
  };
  /** Make room for `size` pairs, keeping the first `keep` (all columns, scratch included). */
  const grow = (size: number, keep: number): void => {
    cap = size;
    d.cen = cen = out.int32('centers', cap, keep); d.nbr = nbr = out.int32('neighbors', cap, keep);
    d.sh = sh = out.int32('shifts', 3 * cap, 3 * keep); d.vec = vec = out.float64('vectors', 3 * cap, 3 * keep);
    d.dist = dist = out.float64('distances', cap, keep); d.rev = rev = out.int32('reverse', cap, keep);
    d.key = key = scratch.int32('reverseKey', cap, keep);
    if (trackSegments) { d.own = own = scratch.int32('ownSegment', cap, keep); d.nbs = nbs = scratch.int32('neighborSorted', cap, keep); }
  };

  // Bin-order traversal (large systems, and every parallel search): a counting pass fixes
  // every centre's block first, so centres can then be visited in bin order, keeping the atoms
  // they read hot in cache, while each block is still written contiguously at its final place.
  // The passes live in kernel.ts, shared with the worker threads.
  const parallel = threads > 1 && scratch.shared && out.shared ? searchPool(threads, waitMs) : null;
  if (binOrder || parallel !== null) {
    let pool = parallel;
    const target = Math.max(512, Math.ceil(n / (8 * threads)));
    const chunks = pool !== null ? binChunks(start, grid.nBins, n, target) : Int32Array.of(0, n);
    const indexChunks = pool !== null ? rangeChunks(n, target) : Int32Array.of(0, n);
    const run = (pass: KernelPass): boolean => {
      if (pool !== null) return pool.run(pass, d, chunks, indexChunks, cand);
      if (pass === 'count') countRange(d, 0, n);
      else if (pass === 'write') writeRange(d, 0, n, cand);
      else reverseRange(d, 0, n);
      return true;
    };
    for (;;) {
      offsets[0] = 0;
      if (!run('count')) { pool = null; continue; }
      for (let i = 0; i < n; i++) offsets[i + 1] += offsets[i];
      if (offsets[n] > cap) grow(offsets[n], 0);
      if (!run('write')) { pool = null; continue; }
      if (!run('reverse')) { pool = null; continue; }
      break;
    }
    p = offsets[n];
    lastThreads = pool !== null ? pool.size + 1 : 1;
  } else {
    // Index order, one thread: no counting pass. Blocks are appended in index order (the output
    // is written sequentially), in runs of centres whose per-bin upper bounds fit the capacity.
    lastThreads = 1;
    for (let t = 0; t < n;) {
      let t1 = t, need = p;
      while (t1 < n && need + bound[binOf[t1]] <= cap) need += bound[binOf[t1++]];
      if (t1 === t) { grow(Math.max(Math.ceil(cap * 1.5), p + bound[binOf[t]]), p); continue; }
      p = writeRange(d, t, t1, cand, p);
      t = t1;
    }
    offsets[n] = p;
    // Reverse indices: blocks in bin order, so the cursors touched (indexed by bin-sorted atom)
    // stay local in memory; within a bin, bin order is ascending index, which is all it needs.
    reverseRange(d, 0, n);
  }
  offsets[n] = p;
  const list: NeighborList = {
    nAtoms: n,
    cutoff,
    count: p,
    centers: cen.subarray(0, p),
    neighbors: nbr.subarray(0, p),
    shifts: sh.subarray(0, 3 * p),
    vectors: vec.subarray(0, 3 * p),
    distances: dist.subarray(0, p),
    offsets,
    reverse: rev.subarray(0, p),
  };
  return {
    list,
    reverseSegment: key.subarray(0, p),
    ownSegment: trackSegments ? own.subarray(0, p) : own,
    neighborSorted: trackSegments ? nbs.subarray(0, p) : nbs,
    order,
    segmentCount: nSt * n,
    segmentsPerAtom: nSt,
    threads: lastThreads,
  };
}
