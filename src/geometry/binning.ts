/**
 * Bin grid and counting sort of atoms into bins (the "cell" of the cell list).
 *
 * Bins are slabs of fractional coordinates of the working cell. Along a periodic axis the
 * cell [0, 1) is cut into `counts[k]` bins; along an open axis only the atoms' extent is binned,
 * so vacuum costs nothing. A bin is at least `cutoff / binsPerCutoff` thick (measured
 * perpendicular to its faces), so a pair closer than the cutoff is at most `reach[k]` bins apart
 * along axis k. When the cutoff exceeds the cell height, a periodic axis has a single bin and
 * `reach` counts the periodic images to visit.
 *
 * @module
 */
import type { PreparedSystem } from './prepare.js';
import { Workspace } from './workspace.js';

/** Bin grid of one search (internal). */
export interface BinGrid {
  /** Bins per axis. */
  counts: [number, number, number];
  /** How many bins away a neighbour can be, per axis. */
  reach: [number, number, number];
  /** First fractional coordinate of the grid, per axis. */
  lo: Float64Array;
  /** Bins per unit fractional coordinate, per axis. */
  scale: Float64Array;
  /** Total number of bins. */
  nBins: number;
  /** CSR over bins: sorted atoms of bin b are `start[b]..start[b+1]`. */
  start: Int32Array;
  /** Original index of each sorted atom. */
  order: Int32Array;
  /** Bin of each atom (original index). */
  binOf: Int32Array;
}

/**
 * Margin that keeps bins strictly thicker than the cutoff, so rounding in fractional
 * coordinates can never push a pair closer than the cutoff two bins apart.
 */
const BIN_MARGIN = 1 + 1e-9;

/** Choose the grid for a prepared system. `binsPerCutoff` (1 or 2) trades candidates for loop overhead. */
export function makeGrid(sys: PreparedSystem, binsPerCutoff: number): Omit<BinGrid, 'start' | 'order' | 'binOf'> {
  const { n, cutoff, pbc, heights, frac } = sys;
  const counts: [number, number, number] = [1, 1, 1];
  const lo = new Float64Array(3);
  const scale = new Float64Array(3);
  const extent = new Float64Array(3); // Å, perpendicular
  const range = new Float64Array(3); // fractional
  for (let k = 0; k < 3; k++) {
    if (pbc[k]) {
      lo[k] = 0;
      range[k] = 1;
      extent[k] = heights[k];
    } else {
      let mn = Infinity;
      let mx = -Infinity;
      for (let i = 0; i < n; i++) {
        const s = frac[3 * i + k];
        if (s < mn) mn = s;
        if (s > mx) mx = s;
      }
      if (n === 0) mn = mx = 0;
      lo[k] = mn;
      range[k] = mx - mn;
      extent[k] = range[k] * heights[k];
    }
  }
  const binWidth = cutoff / binsPerCutoff;
  for (let k = 0; k < 3; k++) {
    const c = binWidth > 0 ? Math.floor(extent[k] / (binWidth * BIN_MARGIN)) : 1;
    counts[k] = Math.max(1, Math.min(c, 1 << 20));
  }
  // Memory guard: never more than a few bins per atom (tiny cutoffs in large cells).
  const maxBins = Math.max(64, 2 * n);
  while (counts[0] * counts[1] * counts[2] > maxBins) {
    const k = counts.indexOf(Math.max(...counts));
    counts[k] = Math.max(1, Math.floor(counts[k] / 2));
  }
  const reach: [number, number, number] = [0, 0, 0];
  for (let k = 0; k < 3; k++) {
    scale[k] = range[k] > 0 ? counts[k] / range[k] : 0;
    if (pbc[k]) {
      // Bins of thickness h/counts; a pair closer than the cutoff spans at most ceil(cutoff·counts/h) bins.
      reach[k] = cutoff > 0 ? Math.ceil((cutoff * counts[k]) / heights[k]) : 0;
    } else {
      reach[k] = counts[k] > 1 ? Math.ceil((cutoff * counts[k]) / extent[k]) : 0;
    }
  }
  return { counts, reach, lo, scale, nBins: counts[0] * counts[1] * counts[2] };
}

/** Sort atoms into bins with a counting sort (stable: ascending original index within a bin). */
export function binAtoms(sys: PreparedSystem, binsPerCutoff: number, ws: Workspace = new Workspace()): BinGrid {
  const g = makeGrid(sys, binsPerCutoff);
  const { n, frac } = sys;
  const [n0, n1, n2] = g.counts;
  const lo0 = g.lo[0], lo1 = g.lo[1], lo2 = g.lo[2];
  const sc0 = g.scale[0], sc1 = g.scale[1], sc2 = g.scale[2];
  const binOf = ws.int32('binOf', n);
  const start = ws.int32('binStart', g.nBins + 1).fill(0);
  for (let i = 0; i < n; i++) {
    const o = 3 * i;
    let b0 = Math.floor((frac[o] - lo0) * sc0);
    let b1 = Math.floor((frac[o + 1] - lo1) * sc1);
    let b2 = Math.floor((frac[o + 2] - lo2) * sc2);
    // Clamp: the top of an open axis' range and wrapped coordinates that round to 1.0.
    b0 = b0 < 0 ? 0 : b0 >= n0 ? n0 - 1 : b0;
    b1 = b1 < 0 ? 0 : b1 >= n1 ? n1 - 1 : b1;
    b2 = b2 < 0 ? 0 : b2 >= n2 ? n2 - 1 : b2;
    const b = b0 + n0 * (b1 + n1 * b2);
    binOf[i] = b;
    start[b + 1]++;
  }
  for (let b = 0; b < g.nBins; b++) start[b + 1] += start[b];
  const cursor = ws.int32('binCursor', g.nBins);
  cursor.set(start.subarray(0, g.nBins));
  const order = ws.int32('order', n);
  for (let i = 0; i < n; i++) order[cursor[binOf[i]]++] = i;
  return { ...g, start, order, binOf };
}
