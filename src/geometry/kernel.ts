/**
 * The bin-order cell-list traversal as three passes over ranges of bin-sorted centres, shared
 * by the single-threaded search and the worker threads (see `parallel.ts`).
 *
 * 1. {@link countRange}: each centre's number of pairs (→ `offsets[i + 1]`).
 * 2. {@link writeRange}: after the prefix sum, each centre's block at its final place, the
 *    segment starts (`cursor`) and reverse keys.
 * 3. {@link reverseRange}: reverse indices, handed out by the per-segment cursors.
 *
 * A range of centres touches only its own blocks and its own segments' cursors in passes 1 and
 * 2. In pass 3 the cursor of segment (b, o') is consumed by the centres of a single bin (the
 * bin o' away from b's), in bin order: ranges aligned to bin boundaries, each run in ascending
 * order, therefore hand out exactly the indices of one sequential run over all centres. So the
 * passes can run on disjoint bin-aligned ranges in any order or on any thread, and the result
 * is bit for bit the same. See search.ts for the traversal itself and the reverse bookkeeping.
 *
 * This module must stay free of imports with side effects: worker threads load it directly.
 *
 * @module
 */

/** Everything the passes read and write (internal). Arrays may live in SharedArrayBuffers. */
export interface KernelData {
  /** Bins per axis. */
  n0: number; n1: number; n2: number;
  /** Stencil widths per axis (2·reach + 1). */
  w0: number; w1: number; w2: number;
  /** Reach along x. */
  r0: number;
  /** Image-code strides and offsets (see search.ts). */
  span0: number; span01: number; off0: number; off1: number; off2: number; zeroCode: number;
  /** Squared cutoff, Å². */
  c2: number;
  /** Stencil offsets (segments) per atom. */
  nSt: number;
  /** Whether to record each pair's own segment and neighbour's sorted index (Verlet list). */
  track: boolean;
  /**
   * Centre order of the count and write passes: true = ranges of original indices, in index
   * order (output written sequentially; best while the positions fit in cache), false = ranges
   * of bin-sorted atoms (input read locally; best for large systems). The reverse pass always
   * runs over bin-aligned ranges of sorted atoms.
   */
  byIndex: boolean;
  /** Bin-sorted index of each original atom. */
  rank: Int32Array;
  /** Axis maps: neighbour bin coordinate (−1 outside an open axis) and image, per axis. */
  mb0: Int32Array; mb1: Int32Array; mb2: Int32Array; mi1: Int32Array; mi2: Int32Array;
  /** Image table: shifts S (3 per code) and vectors S'·W (3 per code). */
  shiftTab: Int32Array; vecTab: Float64Array;
  /** Runs along x (see search.ts). */
  runOff: Int32Array; rDx: Int32Array; rLen: Int32Array; rBin: Int32Array; rImg: Int32Array;
  /** CSR over bins of the sorted atoms. */
  start: Int32Array;
  /** Original index of each sorted atom, bin of each original atom. */
  order: Int32Array; binOf: Int32Array;
  /** Sorted wrapped positions (3 per atom, Å) and wrap images K (3 per atom). */
  pos: Float64Array; img: Int32Array;
  /** CSR offsets by original centre index (n + 1). */
  offsets: Int32Array;
  /** Output columns. */
  cen: Int32Array; nbr: Int32Array; sh: Int32Array; vec: Float64Array; dist: Float64Array; rev: Int32Array;
  /** Reverse key per pair, segment cursors (n·nSt), own segment and neighbour's sorted index per pair. */
  key: Int32Array; cursor: Int32Array; own: Int32Array; nbs: Int32Array;
}

/** Pass 1: pair counts of the centres t0..t1−1 (see {@link KernelData.byIndex}), stored as `offsets[i + 1]`. */
export function countRange(d: KernelData, t0: number, t1: number): void {
  const { n0, n1, w1, w2, span0, span01, off0, off1, off2, c2, mb1, mb2, mi1, mi2, vecTab, runOff, rLen, rBin, rImg, start, order, rank, binOf, pos, offsets, byIndex } = d;
  for (let t = t0; t < t1; t++) {
    const i = byIndex ? t : order[t];
    const a = byIndex ? rank[t] : t;
    const bin = binOf[i];
    const x = bin % n0, y = Math.floor(bin / n0) % n1, z = Math.floor(bin / (n0 * n1));
    const pax = pos[3 * a], pay = pos[3 * a + 1], paz = pos[3 * a + 2];
    let count = 0;
    for (let dzi = 0; dzi < w2; dzi++) {
      const u2 = z + dzi;
      const t2 = mb2[u2];
      if (t2 < 0) continue;
      for (let dyi = 0; dyi < w1; dyi++) {
        const u1 = y + dyi;
        const t1 = mb1[u1];
        if (t1 < 0) continue;
        const rowBin = n0 * (t1 + n1 * t2);
        const codeYZ = span0 * (mi1[u1] - off1) + span01 * (mi2[u2] - off2);
        for (let r = runOff[x]; r < runOff[x + 1]; r++) {
          const binLo = rowBin + rBin[r];
          const lo = start[binLo];
          const hi = start[binLo + rLen[r]];
          const code = rImg[r] - off0 + codeYZ;
          const vx = vecTab[3 * code], vy = vecTab[3 * code + 1], vz = vecTab[3 * code + 2];
          // Same expressions as the writing pass, so the same pairs pass the test.
          const e1 = hi < a ? hi : a;
          for (let b = lo; b < e1; b++) {
            const dx = pos[3 * b] + vx - pax;
            const dy = pos[3 * b + 1] + vy - pay;
            const dz = pos[3 * b + 2] + vz - paz;
            count += +(dx * dx + dy * dy + dz * dz < c2);
          }
          if (a >= lo && a < hi && code !== d.zeroCode) count += +(vx * vx + vy * vy + vz * vz < c2);
          const tx = pax - vx, ty = pay - vy, tz = paz - vz;
          for (let b = lo > a ? lo : a + 1; b < hi; b++) {
            const dx = pos[3 * b] - tx;
            const dy = pos[3 * b + 1] - ty;
            const dz = pos[3 * b + 2] - tz;
            count += +(dx * dx + dy * dy + dz * dz < c2);
          }
        }
      }
    }
    offsets[i + 1] = count;
  }
}

/**
 * Pass 2: the pairs of the centres t0..t1−1 (see {@link KernelData.byIndex}), each block
 * written at `offsets[i]` (the prefix sums of pass 1), with centre column, reverse keys and
 * segment starts. `cand` is scratch for candidate indices, at least as long as the fullest run
 * of bins.
 *
 * Append mode (`append` ≥ 0, index order only): no counting pass ran; the blocks are written one
 * after the other from pair `append` on, `offsets[i]` is set to each block's start, and the
 * caller guarantees the capacity (e.g. with per-bin upper bounds). Returns the pair index after
 * the last block written.
 */
export function writeRange(d: KernelData, t0: number, t1: number, cand: Int32Array, append = -1): number {
  const { n0, n1, w0, w1, w2, r0, span0, span01, off0, off1, off2, zeroCode, c2, nSt, track, byIndex } = d;
  const { mb1, mb2, mi1, mi2, shiftTab, vecTab, runOff, rDx, rLen, rBin, rImg, start, order, rank, binOf, pos, img, offsets } = d;
  const { cen, nbr, sh, vec, dist, key, cursor, own, nbs } = d;
  const sqrt = Math.sqrt;
  const appending = append >= 0;
  let next = append;
  for (let t = t0; t < t1; t++) {
    const i = byIndex ? t : order[t];
    const a = byIndex ? rank[t] : t;
    let p = appending ? next : offsets[i];
    if (appending) offsets[i] = p;
    const bin = binOf[i];
    const x = bin % n0;
    const y = Math.floor(bin / n0) % n1;
    const z = Math.floor(bin / (n0 * n1));
    const pax = pos[3 * a], pay = pos[3 * a + 1], paz = pos[3 * a + 2];
    const kix = img[3 * a], kiy = img[3 * a + 1], kiz = img[3 * a + 2];
    const segRow = a * nSt; // segment cursors are indexed by bin-sorted atom, for locality
    const runA = runOff[x], runB = runOff[x + 1];
    for (let dzi = 0; dzi < w2; dzi++) {
      const u2 = z + dzi;
      const t2 = mb2[u2];
      if (t2 < 0) continue;
      for (let dyi = 0; dyi < w1; dyi++) {
        const u1 = y + dyi;
        const t1 = mb1[u1];
        if (t1 < 0) continue;
        const rowBin = n0 * (t1 + n1 * t2);
        const codeYZ = span0 * (mi1[u1] - off1) + span01 * (mi2[u2] - off2);
        const oRow = (dzi * w1 + dyi) * w0 + r0; // segment index of dx = 0 in this row
        for (let r = runA; r < runB; r++) {
          const binLo = rowBin + rBin[r];
          const lo = start[binLo];
          const hi = start[binLo + rLen[r]];
          const code = rImg[r] - off0 + codeYZ;
          const vx = vecTab[3 * code], vy = vecTab[3 * code + 1], vz = vecTab[3 * code + 2];
          // S = S' − K_j + K_i; the centre's part is constant over the run.
          const sx = shiftTab[3 * code] + kix, sy = shiftTab[3 * code + 1] + kiy, sz = shiftTab[3 * code + 2] + kiz;
          // Segment bookkeeping: o is the segment (bin) of the run the next pair falls in.
          const oFirst = oRow + rDx[r];
          let o = oFirst;
          let segEnd = start[binLo + 1];
          cursor[segRow + o] = p;
          // Neighbours earlier in bin order (b < a): D = (p_b + v) − p_a. Branch-free
          // candidate collection (a branch per candidate mispredicts on random geometry).
          const e1 = hi < a ? hi : a;
          let k = 0;
          for (let b = lo; b < e1; b++) {
            const dx = pos[3 * b] + vx - pax;
            const dy = pos[3 * b + 1] + vy - pay;
            const dz = pos[3 * b + 2] + vz - paz;
            cand[k] = b;
            k += +(dx * dx + dy * dy + dz * dz < c2);
          }
          for (let c = 0; c < k; c++) {
            const b = cand[c];
            while (b >= segEnd) { o++; segEnd = start[binLo + o - oFirst + 1]; cursor[segRow + o] = p; }
            const dx = pos[3 * b] + vx - pax;
            const dy = pos[3 * b + 1] + vy - pay;
            const dz = pos[3 * b + 2] + vz - paz;
            cen[p] = i;
            nbr[p] = order[b];
            sh[3 * p] = sx - img[3 * b]; sh[3 * p + 1] = sy - img[3 * b + 1]; sh[3 * p + 2] = sz - img[3 * b + 2];
            vec[3 * p] = dx; vec[3 * p + 1] = dy; vec[3 * p + 2] = dz;
            dist[p] = sqrt(dx * dx + dy * dy + dz * dz);
            key[p] = b * nSt + (nSt - 1 - o);
            if (track) { own[p] = segRow + o; nbs[p] = b; }
            p++;
          }
          // The centre's own image (own bin, non-zero image): D = v exactly.
          if (a >= lo && a < hi && code !== zeroCode) {
            const d2 = vx * vx + vy * vy + vz * vz;
            if (d2 < c2) {
              while (a >= segEnd) { o++; segEnd = start[binLo + o - oFirst + 1]; cursor[segRow + o] = p; }
              cen[p] = i;
              nbr[p] = i;
              sh[3 * p] = sx - kix; sh[3 * p + 1] = sy - kiy; sh[3 * p + 2] = sz - kiz;
              vec[3 * p] = vx; vec[3 * p + 1] = vy; vec[3 * p + 2] = vz;
              dist[p] = sqrt(d2);
              key[p] = segRow + (nSt - 1 - o);
              if (track) { own[p] = segRow + o; nbs[p] = a; }
              p++;
            }
          }
          // Neighbours later in bin order (b > a): D = p_b − (p_a − v).
          const tx = pax - vx, ty = pay - vy, tz = paz - vz;
          k = 0;
          for (let b = lo > a ? lo : a + 1; b < hi; b++) {
            const dx = pos[3 * b] - tx;
            const dy = pos[3 * b + 1] - ty;
            const dz = pos[3 * b + 2] - tz;
            cand[k] = b;
            k += +(dx * dx + dy * dy + dz * dz < c2);
          }
          for (let c = 0; c < k; c++) {
            const b = cand[c];
            while (b >= segEnd) { o++; segEnd = start[binLo + o - oFirst + 1]; cursor[segRow + o] = p; }
            const dx = pos[3 * b] - tx;
            const dy = pos[3 * b + 1] - ty;
            const dz = pos[3 * b + 2] - tz;
            cen[p] = i;
            nbr[p] = order[b];
            sh[3 * p] = sx - img[3 * b]; sh[3 * p + 1] = sy - img[3 * b + 1]; sh[3 * p + 2] = sz - img[3 * b + 2];
            vec[3 * p] = dx; vec[3 * p + 1] = dy; vec[3 * p + 2] = dz;
            dist[p] = sqrt(dx * dx + dy * dy + dz * dz);
            key[p] = b * nSt + (nSt - 1 - o);
            if (track) { own[p] = segRow + o; nbs[p] = b; }
            p++;
          }
          // Segments of the run's remaining bins start (empty) here.
          const oLast = oFirst + rLen[r] - 1;
          while (o < oLast) { o++; cursor[segRow + o] = p; }
        }
      }
    }
    next = p;
  }
  return next;
}

/** Pass 3: reverse indices of the blocks of sorted centres a0..a1−1 (ranges aligned to bins). */
export function reverseRange(d: KernelData, a0: number, a1: number): void {
  const { order, offsets, rev, key, cursor } = d;
  for (let a = a0; a < a1; a++) {
    const i = order[a];
    for (let q = offsets[i], e = offsets[i + 1]; q < e; q++) rev[q] = cursor[key[q]]++;
  }
}

/** Slots of the control array shared with the worker threads. */
export const CTL_NEXT = 0;
export const CTL_DONE = 1;
export const CTL_ERROR = 2;
export const CTL_READY = 3;
/** Length of the control array. */
export const CTL_LENGTH = 8;

/** Pass names, as posted to workers. */
export type KernelPass = 'count' | 'write' | 'reverse';

/**
 * Run one pass over chunks of centres: bin-aligned ranges of sorted atoms (`binChunks`) for
 * the reverse pass and for bin order, ranges of indices (`indexChunks`) otherwise; claiming
 * chunks from the shared counter `ctl[CTL_NEXT]` until none is left. Called by the main thread
 * and every worker at once; dynamic claiming balances the load when a core is busy elsewhere.
 * Returns the number of chunks this thread ran.
 */
export function runChunks(d: KernelData, pass: KernelPass, binChunks: Int32Array, indexChunks: Int32Array, ctl: Int32Array, cand: Int32Array): number {
  const chunks = pass === 'reverse' || !d.byIndex ? binChunks : indexChunks;
  const nChunks = chunks.length - 1;
  for (let done = 0; ; done++) {
    const c = Atomics.add(ctl, CTL_NEXT, 1);
    if (c >= nChunks) return done;
    const a0 = chunks[c], a1 = chunks[c + 1];
    if (pass === 'count') countRange(d, a0, a1);
    else if (pass === 'write') writeRange(d, a0, a1, cand);
    else reverseRange(d, a0, a1);
  }
}
