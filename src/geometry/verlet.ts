/**
 * Verlet-skin neighbour list for molecular dynamics.
 *
 * A list built with radius cutoff + skin stays complete for the cutoff as long as no atom has
 * moved more than skin/2 since the build (two atoms approaching each other by at most `skin`
 * in total). Until then each step only re-evaluates the stored pairs that can have come within
 * the cutoff and keeps those that did; the cell-list search runs again when an atom moved
 * further or the cell changed.
 *
 * @module
 */
import { ArgumentError, StructureError } from '../errors.js';
import { binAtoms } from './binning.js';
import { NeighborSearch, PARALLEL_MIN_ATOMS, resolveThreads, useBinOrder, type NeighborListOptions } from './neighbors.js';
import { checkCutoff, checkSystem, prepareSystem, type NeighborSystem } from './prepare.js';
import { RefreshKernel, RefreshKernelCapacityError } from './refresh-kernel.js';
import { searchPairs, type SearchOutput } from './search.js';
import type { NeighborList } from './types.js';
import { Workspace } from './workspace.js';

/** Options of {@link VerletNeighborList}. */
export interface VerletNeighborListOptions {
  /** Cutoff of the returned lists, Å. */
  readonly cutoff: number;
  /** Skin, Å (≥ 0): the stored list uses cutoff + skin. Typical MD values 0.5–2 Å. */
  readonly skin: number;
  /** Bins per cutoff of the underlying search (see {@link NeighborSearch}). */
  readonly binsPerCutoff?: 1 | 2;
  /** Centre traversal of the underlying search (see {@link NeighborListOptions.traversal}). */
  readonly traversal?: NeighborListOptions['traversal'];
  /** Threads of the rebuild searches (see {@link NeighborListOptions.threads}); refreshes run on the caller's thread. */
  readonly threads?: NeighborListOptions['threads'];
  /**
   * What runs the refresh between searches (same result bit for bit): `'wasm'` (default) a
   * compiled WebAssembly kernel, about 1.7× faster; `'js'` plain JavaScript. A list too large
   * for WebAssembly's 4 GiB memory (hundreds of thousands of atoms) is refreshed in JavaScript
   * whatever this says; see {@link VerletNeighborList.activeRefreshEngine}.
   */
  readonly refreshEngine?: 'wasm' | 'js';
}

/**
 * A neighbour list kept up to date along a trajectory with a Verlet skin.
 *
 * ```ts
 * const verlet = new VerletNeighborList(structure, { cutoff: 6, skin: 1 });
 * for (const step of steps) {
 *   const nl = verlet.update(step.positions); // same pairs as neighborList(..., { cutoff: 6 })
 * }
 * ```
 *
 * The arrays of a returned list are views of buffers owned by this object and stay valid until
 * the next `update` (copy them to keep them). The pair order within a centre's block follows
 * the stored skin list, so it can differ from a fresh {@link neighborList}; the pair set,
 * vectors and distances are the same.
 */
export class VerletNeighborList {
  /** Cutoff of the returned lists, Å. */
  readonly cutoff: number;
  /** Skin, Å. */
  readonly skin: number;
  /** Number of cell-list searches so far (the first build included). */
  rebuildCount = 0;
  /** Number of `update` calls served from the stored list without a search. */
  refreshCount = 0;
  /** Threads the last rebuild search ran on. */
  lastRebuildThreads = 0;
  /** Refresh engine asked for (see {@link VerletNeighborListOptions.refreshEngine}). */
  readonly refreshEngine: 'wasm' | 'js';
  /** Engine the refreshes since the last search run on: `'js'` also when the list did not fit the WebAssembly memory. */
  get activeRefreshEngine(): 'wasm' | 'js' {
    return this.kernel !== null ? 'wasm' : 'js';
  }

  private readonly binsPerCutoff: 1 | 2;
  private readonly traversal: NeighborListOptions['traversal'];
  private readonly threads: NeighborListOptions['threads'];
  /** Buffers of the skin list (cutoff + skin) and of its search (shared when it may run on several threads). */
  private readonly skinOut: Workspace;
  private readonly skinScratch: Workspace;
  /** Buffers of the returned (compacted) list and of the compaction. */
  private readonly out = new Workspace();
  private readonly scratch = new Workspace();
  private readonly pbc: [boolean, boolean, boolean];
  private readonly n: number;
  private skin_!: SearchOutput;
  /** Bin order of the atoms at the last build (original index per sorted position). */
  private binOrder!: Int32Array;
  private refPositions!: Float64Array;
  private refCell!: Float64Array;
  private current!: NeighborList;
  /** Non-empty segments of the skin list: first segment of each centre, segment id and end pair. */
  private segFirst!: Int32Array;
  private segId!: Int32Array;
  private segEnd!: Int32Array;
  /** Per stored pair: index into the shift tables (null: shifts read directly). */
  private shiftCode: Uint16Array | null = null;
  private shiftTable = new Int32Array(48);
  private shiftVectors = new Float64Array(48);
  /** Per stored pair: lower bound of (build distance − cutoff) in units of skin/255 (see indexSegments). */
  private shellClass!: Uint8Array;
  /** Most pairs of one centre in the skin list (bounds a segment's candidates). */
  private maxBlock = 1;
  /** The WebAssembly refresh holding the current build (null: refreshes run in JavaScript). */
  private kernel: RefreshKernel | null = null;

  /**
   * Build the list for `system` (positions, cell, pbc as for {@link neighborList}).
   *
   * @throws ArgumentError `'invalid-cutoff'` for a bad cutoff or skin.
   * @throws StructureError as {@link neighborList}.
   */
  constructor(system: NeighborSystem, options: VerletNeighborListOptions) {
    checkCutoff(options?.cutoff);
    checkCutoff(options.skin, 'skin');
    const engine = options.refreshEngine ?? 'wasm';
    if (engine !== 'wasm' && engine !== 'js') throw new ArgumentError(`refreshEngine must be 'wasm' or 'js', got ${String(engine)}`);
    this.refreshEngine = engine;
    this.cutoff = options.cutoff;
    this.skin = options.skin;
    // Same option checks as the one-shot search (throws ArgumentError on bad values).
    this.binsPerCutoff = new NeighborSearch({ cutoff: options.cutoff, binsPerCutoff: options.binsPerCutoff, traversal: options.traversal, threads: options.threads }).binsPerCutoff;
    this.traversal = options.traversal;
    this.threads = options.threads;
    const { n, cell, pbc } = checkSystem(system);
    // 'auto' may switch to several threads with the load; buffers are shared from the start then.
    const shared = this.threads === undefined || this.threads === 'auto' ? n >= PARALLEL_MIN_ATOMS : this.threads > 1;
    this.skinOut = new Workspace(shared);
    this.skinScratch = new Workspace(shared);
    this.n = n;
    this.pbc = pbc;
    this.rebuild(Float64Array.from(system.positions), cell);
  }

  /** The list for the latest positions (within `cutoff`). */
  get list(): NeighborList {
    return this.current;
  }

  /**
   * Move to new positions (3N, Å) and optionally a new cell (9 numbers, Å; omitted = unchanged).
   * Refreshes the stored pairs, or searches again when an atom moved more than skin/2 since the
   * last search or the cell changed.
   *
   * @returns The list of pairs within `cutoff` for the new geometry.
   * @throws StructureError `'length-mismatch'` for a different atom count, `'non-finite-position'`,
   *   and the cell errors of {@link neighborList} when a new cell is given.
   */
  update(positions: ArrayLike<number>, cell?: ArrayLike<number> | null): NeighborList {
    if (positions.length !== 3 * this.n) {
      throw new StructureError('length-mismatch', `expected ${3 * this.n} coordinates, got ${positions.length}`);
    }
    let newCell = this.refCell;
    if (cell != null) {
      newCell = checkSystem({ positions: [], cell, pbc: this.pbc }).cell;
    }
    let cellChanged = false;
    for (let k = 0; k < 9; k++) if (newCell[k] !== this.refCell[k]) cellChanged = true;
    const limit2 = (this.skin / 2) ** 2;
    const ref = this.refPositions;
    let moved = false;
    let max2 = 0;
    for (let k = 0; k < this.n; k++) {
      const dx = positions[3 * k] - ref[3 * k];
      const dy = positions[3 * k + 1] - ref[3 * k + 1];
      const dz = positions[3 * k + 2] - ref[3 * k + 2];
      const d2 = dx * dx + dy * dy + dz * dz;
      if (!(d2 <= limit2)) {
        moved = true; // also catches NaN, which the rebuild then reports
        break;
      }
      if (d2 > max2) max2 = d2;
    }
    if (moved || cellChanged) {
      this.rebuild(Float64Array.from(positions), newCell);
    } else {
      this.refreshCount++;
      this.current = this.compact(positions, this.refCell, Math.sqrt(max2));
    }
    return this.current;
  }

  private rebuild(positions: Float64Array, cell: Float64Array): void {
    const sys = prepareSystem({ positions, cell, pbc: this.pbc }, this.cutoff + this.skin, this.skinScratch);
    const grid = binAtoms(sys, this.binsPerCutoff, this.skinScratch);
    const { threads, waitMs } = resolveThreads(this.threads, sys.n);
    this.skin_ = searchPairs(sys, grid, this.skinScratch, this.skinOut, true, useBinOrder(this.traversal, sys.n), threads, waitMs);
    this.lastRebuildThreads = this.skin_.threads;
    this.binOrder = grid.order;
    this.indexSegments(cell);
    this.loadKernel(cell);
    this.refPositions = positions;
    this.refCell = Float64Array.from(cell);
    this.rebuildCount++;
    this.current = this.compact(positions, this.refCell, 0);
  }

  /**
   * Per-build preparation of the refresh (O(pairs), once per search):
   * - the skin list's non-empty segments (first segment per centre, segment id, end pair), so a
   *   refresh sets a segment's cursor once per segment instead of testing every pair, and
   *   derives each pair's reverse key from the segment instead of reading it;
   * - a 16-bit image code per pair into a table of the distinct shifts S and vectors S·cell,
   *   so a refresh reads 2 bytes per pair instead of 12 (shifts) and multiplies nothing.
   * The refresh is memory-bound: these cut the bytes it reads per stored pair from 24 to 6.
   */
  private indexSegments(cell: Float64Array): void {
    const { list: L, ownSegment } = this.skin_;
    const n = this.n, m = L.count, off = L.offsets, sSh = L.shifts;
    const first = this.skinScratch.int32('segFirst', n + 1);
    const id = this.skinScratch.int32('segId', Math.max(m, 1));
    const end = this.skinScratch.int32('segEnd', Math.max(m, 1));
    let g = 0;
    for (let i = 0; i < n; i++) {
      first[i] = g;
      let last = -1;
      for (let p = off[i], e = off[i + 1]; p < e; p++) {
        const seg = ownSegment[p];
        if (seg !== last) {
          if (g > first[i]) end[g - 1] = p;
          id[g++] = seg;
          last = seg;
        }
      }
      if (g > first[i]) end[g - 1] = off[i + 1];
    }
    first[n] = g;
    this.segFirst = first;
    this.segId = id;
    this.segEnd = end;
    // Shell class per pair: how far beyond the cutoff it was at the build, in 1/255 of the skin
    // (rounded down, so a lower bound). A refresh skips a pair whose bound exceeds twice the
    // largest displacement since the build: it cannot have come within the cutoff.
    const shell = new Uint8Array(this.skinScratch.int32('shellClass', Math.max(1, (m + 3) >> 2)).buffer, 0, m);
    const dist = L.distances, cutoff = this.cutoff, perSkin = this.skin > 0 ? 255 / this.skin : 0;
    for (let p = 0; p < m; p++) {
      const q = Math.floor((dist[p] - cutoff) * perSkin);
      shell[p] = q < 0 ? 0 : q > 255 ? 255 : q;
    }
    this.shellClass = shell;
    let longest = 1;
    for (let i = 0; i < n; i++) longest = Math.max(longest, off[i + 1] - off[i]);
    this.maxBlock = longest;
    // Shift code: mixed radix over the shifts' bounding box, when it has at most 2^16 entries
    // (always, unless atoms lie very far outside the cell or the cutoff spans many cells).
    let lo0 = 0, lo1 = 0, lo2 = 0, hi0 = 0, hi1 = 0, hi2 = 0;
    for (let p = 0; p < m; p++) {
      const a = sSh[3 * p], b = sSh[3 * p + 1], c = sSh[3 * p + 2];
      if (a < lo0) lo0 = a; if (a > hi0) hi0 = a;
      if (b < lo1) lo1 = b; if (b > hi1) hi1 = b;
      if (c < lo2) lo2 = c; if (c > hi2) hi2 = c;
    }
    const s0 = hi0 - lo0 + 1, s1 = hi1 - lo1 + 1, s2 = hi2 - lo2 + 1;
    const size = s0 * s1 * s2;
    if (size > 65536) {
      this.shiftCode = null;
      return;
    }
    const code = new Uint16Array(this.skinScratch.int32('shiftCode', Math.max(1, (m + 1) >> 1)).buffer, 0, m);
    for (let p = 0; p < m; p++) code[p] = sSh[3 * p] - lo0 + s0 * (sSh[3 * p + 1] - lo1 + s1 * (sSh[3 * p + 2] - lo2));
    const shTab = new Int32Array(3 * Math.max(size, 16));
    const vTab = new Float64Array(3 * Math.max(size, 16));
    for (let c = 0; c < size; c++) {
      const sx = (c % s0) + lo0, sy = (Math.floor(c / s0) % s1) + lo1, sz = Math.floor(c / (s0 * s1)) + lo2;
      shTab[3 * c] = sx; shTab[3 * c + 1] = sy; shTab[3 * c + 2] = sz;
      // The same expressions as the uncoded path, so the vectors are bit for bit the same.
      vTab[3 * c] = sx * cell[0] + sy * cell[3] + sz * cell[6];
      vTab[3 * c + 1] = sx * cell[1] + sy * cell[4] + sz * cell[7];
      vTab[3 * c + 2] = sx * cell[2] + sy * cell[5] + sz * cell[8];
    }
    this.shiftCode = code;
    this.shiftTable = shTab;
    this.shiftVectors = vTab;
  }

  /**
   * Hand the new build's refresh data to the WebAssembly kernel (with that engine), or fall
   * back to JavaScript for this build when the list does not fit its memory.
   */
  private loadKernel(cell: Float64Array): void {
    if (this.refreshEngine !== 'wasm') return;
    const { list: L, neighborSorted, segmentCount, segmentsPerAtom } = this.skin_;
    try {
      this.kernel ??= new RefreshKernel();
      this.kernel.load({
        n: this.n, pairs: L.count, segmentsPerAtom, segmentCount, order: this.binOrder,
        segFirst: this.segFirst, segId: this.segId, segEnd: this.segEnd, shell: this.shellClass, code: this.shiftCode,
        shifts: L.shifts, neighborSorted, shiftTable: this.shiftTable, shiftVectors: this.shiftVectors, cell,
        longestBlock: this.maxBlock,
      });
    } catch (e) {
      // Too large for one WebAssembly memory, or the process cannot get that much at once.
      if (!(e instanceof RefreshKernelCapacityError || e instanceof RangeError)) throw e;
      this.kernel = null;
    }
  }

  /**
   * Keep the stored pairs closer than the cutoff at `positions`. Vectors are
   * positions[j] − positions[i] + S·cell, evaluated so that j→i is exactly −(i→j): both
   * directions are kept or dropped together and `reverse` stays an involution.
   *
   * `reverse` is re-derived like in the search (see search.ts): dropping pairs in mirrored
   * couples keeps every segment in ascending centre order, so per-segment cursors over the
   * compacted list hand out reverse indices in one pass, with memory access local in space
   * (segments are indexed by bin-sorted atom) instead of a random gather.
   *
   * One streaming pass over the skin pairs writes every output column branch-free (slot k is
   * always written, k advances only for kept pairs), including the centre and the reverse
   * segment key, so the second pass reads one sequential column instead of gathering.
   *
   * Pairs that were further than cutoff + 2 × `maxDisplacement` apart at the build (Å; the
   * largest displacement of any atom since then) cannot be within the cutoff now and are not
   * evaluated at all: right after a build that is about a third of the skin list (the outer
   * shell), fewer as atoms drift.
   */
  private compact(positions: ArrayLike<number>, cell: Float64Array, maxDisplacement: number): NeighborList {
    // Pairs of shell class above `skip` are at least cutoff + 2 × maxDisplacement apart now (the
    // margin absorbs rounding; both directions of a pair share the class, so they stay mirrored).
    const skip = this.skin > 0 ? Math.ceil(((2 * maxDisplacement + 1e-9 * (this.cutoff + this.skin)) * 255) / this.skin) : 256;
    if (this.kernel === null) return this.compactJs(positions, cell, skip);
    const out = this.kernel.refresh(positions, this.cutoff * this.cutoff, skip);
    return { nAtoms: this.n, cutoff: this.cutoff, ...out };
  }

  /** {@link compact} in JavaScript: the same arithmetic as native/verlet_refresh.c. */
  private compactJs(positions: ArrayLike<number>, cell: Float64Array, skip: number): NeighborList {
    const { list: L, neighborSorted, segmentCount, segmentsPerAtom: nSt } = this.skin_;
    const n = this.n;
    const m = L.count;
    const sSh = L.shifts;
    const segFirst = this.segFirst, segId = this.segId, segEnd = this.segEnd;
    const key = this.scratch.int32('reverseKey', Math.max(m, 1));
    const cursor = this.scratch.int32('segmentCursor', segmentCount);
    const cen = this.out.int32('centers', Math.max(m, 1));
    const nbr = this.out.int32('neighbors', Math.max(m, 1));
    const sh = this.out.int32('shifts', 3 * Math.max(m, 1));
    const vec = this.out.float64('vectors', 3 * Math.max(m, 1));
    const dist = this.out.float64('distances', Math.max(m, 1));
    const offsets = this.out.int32('offsets', n + 1);
    const c0 = cell[0], c1 = cell[1], c2 = cell[2], c3 = cell[3], c4 = cell[4], c5 = cell[5], c6 = cell[6], c7 = cell[7], c8 = cell[8];
    const cut2 = this.cutoff * this.cutoff;
    // Positions in bin order: a centre's neighbours then sit in a few contiguous stretches of
    // memory instead of at scattered indices (same numbers, so the vectors are unchanged).
    const order = this.binOrder;
    const ps = this.scratch.float64('sortedPositions', 3 * n);
    for (let s = 0; s < n; s++) {
      const i = order[s];
      ps[3 * s] = +positions[3 * i]; ps[3 * s + 1] = +positions[3 * i + 1]; ps[3 * s + 2] = +positions[3 * i + 2];
    }
    const code = this.shiftCode;
    const shell = this.shellClass;
    const cand = this.scratch.int32('candidates', this.maxBlock);
    let k = 0;
    let p = 0;
    for (let i = 0; i < n; i++) {
      offsets[i] = k;
      const xi = +positions[3 * i], yi = +positions[3 * i + 1], zi = +positions[3 * i + 2];
      for (let g = segFirst[i], ge = segFirst[i + 1]; g < ge; g++) {
        // The segment's kept pairs (if any) start at the current compacted index.
        const seg = segId[g];
        cursor[seg] = k;
        // Its pairs' reverses lie in segment (neighbour, opposite offset).
        const keyBase = nSt - 1 - (seg % nSt);
        const e = segEnd[g];
        // Candidates first (branch-free), so the skip costs no mispredicted branches.
        let t = 0;
        for (; p < e; p++) { cand[t] = p; t += +(shell[p] <= skip); }
        if (code !== null) {
          const shTab = this.shiftTable, vTab = this.shiftVectors;
          for (let u = 0; u < t; u++) {
            const p = cand[u];
            const b = neighborSorted[p];
            const c = 3 * code[p];
            const dx = ps[3 * b] - xi + vTab[c];
            const dy = ps[3 * b + 1] - yi + vTab[c + 1];
            const dz = ps[3 * b + 2] - zi + vTab[c + 2];
            const d2 = dx * dx + dy * dy + dz * dz;
            // Branch-free compaction: always write slot k, advance only when the pair is kept.
            cen[k] = i;
            nbr[k] = order[b];
            sh[3 * k] = shTab[c]; sh[3 * k + 1] = shTab[c + 1]; sh[3 * k + 2] = shTab[c + 2];
            vec[3 * k] = dx; vec[3 * k + 1] = dy; vec[3 * k + 2] = dz;
            dist[k] = Math.sqrt(d2);
            key[k] = b * nSt + keyBase;
            k += +(d2 < cut2);
          }
        } else {
          for (let u = 0; u < t; u++) {
            const p = cand[u];
            const b = neighborSorted[p];
            const sx = sSh[3 * p], sy = sSh[3 * p + 1], sz = sSh[3 * p + 2];
            const dx = ps[3 * b] - xi + (sx * c0 + sy * c3 + sz * c6);
            const dy = ps[3 * b + 1] - yi + (sx * c1 + sy * c4 + sz * c7);
            const dz = ps[3 * b + 2] - zi + (sx * c2 + sy * c5 + sz * c8);
            const d2 = dx * dx + dy * dy + dz * dz;
            cen[k] = i;
            nbr[k] = order[b];
            sh[3 * k] = sx; sh[3 * k + 1] = sy; sh[3 * k + 2] = sz;
            vec[3 * k] = dx; vec[3 * k + 1] = dy; vec[3 * k + 2] = dz;
            dist[k] = Math.sqrt(d2);
            key[k] = b * nSt + keyBase;
            k += +(d2 < cut2);
          }
        }
      }
    }
    offsets[n] = k;
    const rev = this.out.int32('reverse', Math.max(k, 1)).subarray(0, k);
    // Centres in bin order, so the cursors (indexed by bin-sorted atom) are touched locally.
    for (let s = 0; s < n; s++) {
      const i = order[s];
      for (let q = offsets[i], e = offsets[i + 1]; q < e; q++) rev[q] = cursor[key[q]]++;
    }
    return {
      nAtoms: n,
      cutoff: this.cutoff,
      count: k,
      centers: cen.subarray(0, k),
      neighbors: nbr.subarray(0, k),
      shifts: sh.subarray(0, 3 * k),
      vectors: vec.subarray(0, 3 * k),
      distances: dist.subarray(0, k),
      offsets,
      reverse: rev,
    };
  }
}
