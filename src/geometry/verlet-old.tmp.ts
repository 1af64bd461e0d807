/**
 * Verlet-skin neighbour list for molecular dynamics.
 *
 * A list built with radius cutoff + skin stays complete for the cutoff as long as no atom has
 * moved more than skin/2 since the build (two atoms approaching each other by at most `skin`
 * in total). Until then each step only re-evaluates the stored pairs and keeps those within the
 * cutoff; the cell-list search runs again when an atom moved further or the cell changed.
 *
 * @module
 */
import { StructureError } from '../errors.js';
import { binAtoms } from './binning.js';
import { NeighborSearch, useBinOrder, type NeighborListOptions } from './neighbors.js';
import { checkCutoff, checkSystem, prepareSystem, type NeighborSystem } from './prepare.js';
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
export class VerletOld {
  /** Cutoff of the returned lists, Å. */
  readonly cutoff: number;
  /** Skin, Å. */
  readonly skin: number;
  /** Number of cell-list searches so far (the first build included). */
  rebuildCount = 0;
  /** Number of `update` calls served from the stored list without a search. */
  refreshCount = 0;

  private readonly binsPerCutoff: 1 | 2;
  private readonly traversal: NeighborListOptions['traversal'];
  /** Buffers of the skin list (cutoff + skin) and of its search. */
  private readonly skinOut = new Workspace();
  private readonly skinScratch = new Workspace();
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

  /**
   * Build the list for `system` (positions, cell, pbc as for {@link neighborList}).
   *
   * @throws ArgumentError `'invalid-cutoff'` for a bad cutoff or skin.
   * @throws StructureError as {@link neighborList}.
   */
  constructor(system: NeighborSystem, options: VerletNeighborListOptions) {
    checkCutoff(options?.cutoff);
    checkCutoff(options.skin, 'skin');
    this.cutoff = options.cutoff;
    this.skin = options.skin;
    // Same option checks as the one-shot search (throws ArgumentError on bad values).
    this.binsPerCutoff = new NeighborSearch({ cutoff: options.cutoff, binsPerCutoff: options.binsPerCutoff, traversal: options.traversal }).binsPerCutoff;
    this.traversal = options.traversal;
    const { n, cell, pbc } = checkSystem(system);
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
    for (let k = 0; k < this.n; k++) {
      const dx = positions[3 * k] - ref[3 * k];
      const dy = positions[3 * k + 1] - ref[3 * k + 1];
      const dz = positions[3 * k + 2] - ref[3 * k + 2];
      const d2 = dx * dx + dy * dy + dz * dz;
      if (!(d2 <= limit2)) {
        moved = true; // also catches NaN, which the rebuild then reports
        break;
      }
    }
    if (moved || cellChanged) {
      this.rebuild(Float64Array.from(positions), newCell);
    } else {
      this.refreshCount++;
      this.current = this.compact(positions, this.refCell);
    }
    return this.current;
  }

  private rebuild(positions: Float64Array, cell: Float64Array): void {
    const sys = prepareSystem({ positions, cell, pbc: this.pbc }, this.cutoff + this.skin, this.skinScratch);
    const grid = binAtoms(sys, this.binsPerCutoff, this.skinScratch);
    this.skin_ = searchPairs(sys, grid, this.skinScratch, this.skinOut, true, useBinOrder(this.traversal, sys.n));
    this.binOrder = grid.order;
    this.refPositions = positions;
    this.refCell = Float64Array.from(cell);
    this.rebuildCount++;
    this.current = this.compact(positions, this.refCell);
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
   */
  private compact(positions: ArrayLike<number>, cell: Float64Array): NeighborList {
    const { list: L, reverseSegment, ownSegment, neighborSorted, segmentCount } = this.skin_;
    const n = this.n;
    const m = L.count;
    const sNbr = L.neighbors, sSh = L.shifts, sOff = L.offsets;
    const oldIndex = this.scratch.int32('oldIndex', m);
    const cursor = this.scratch.int32('segmentCursor', segmentCount);
    const cen = this.out.int32('centers', m);
    const nbr = this.out.int32('neighbors', m);
    const sh = this.out.int32('shifts', 3 * m);
    const vec = this.out.float64('vectors', 3 * m);
    const dist = this.out.float64('distances', m);
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
    let k = 0;
    let lastSeg = -1;
    for (let i = 0; i < n; i++) {
      offsets[i] = k;
      const xi = +positions[3 * i], yi = +positions[3 * i + 1], zi = +positions[3 * i + 2];
      for (let p = sOff[i], e = sOff[i + 1]; p < e; p++) {
        const seg = ownSegment[p];
        if (seg !== lastSeg) {
          // The segment's kept pairs (if any) start at the current compacted index.
          cursor[seg] = k;
          lastSeg = seg;
        }
        const j = sNbr[p];
        const b = neighborSorted[p];
        const sx = sSh[3 * p], sy = sSh[3 * p + 1], sz = sSh[3 * p + 2];
        const dx = ps[3 * b] - xi + (sx * c0 + sy * c3 + sz * c6);
        const dy = ps[3 * b + 1] - yi + (sx * c1 + sy * c4 + sz * c7);
        const dz = ps[3 * b + 2] - zi + (sx * c2 + sy * c5 + sz * c8);
        const d2 = dx * dx + dy * dy + dz * dz;
        // Branch-free compaction: always write slot k, advance only when the pair is kept.
        nbr[k] = j;
        sh[3 * k] = sx; sh[3 * k + 1] = sy; sh[3 * k + 2] = sz;
        vec[3 * k] = dx; vec[3 * k + 1] = dy; vec[3 * k + 2] = dz;
        dist[k] = Math.sqrt(d2);
        oldIndex[k] = p;
        k += +(d2 < cut2);
      }
    }
    offsets[n] = k;
    for (let i = 0; i < n; i++) {
      for (let q = offsets[i], e = offsets[i + 1]; q < e; q++) cen[q] = i;
    }
    const rev = this.out.int32('reverse', Math.max(k, 1)).subarray(0, k);
    // Centres in bin order, so the cursors (indexed by bin-sorted atom) are touched locally.
    for (let s = 0; s < n; s++) {
      const i = order[s];
      for (let q = offsets[i], e = offsets[i + 1]; q < e; q++) rev[q] = cursor[reverseSegment[oldIndex[q]]]++;
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
