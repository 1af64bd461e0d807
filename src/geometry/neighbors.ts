/**
 * Periodic cell-list neighbour search: `neighborList(system, { cutoff })` and the reusable
 * {@link NeighborSearch}.
 *
 * Pipeline (each step O(N) time and memory): validate and wrap atoms into the cell
 * (`prepare`), counting-sort them into bins at least one cutoff thick (`binning`), visit each
 * bin's stencil for each centre in ascending order, appending pairs closer than the cutoff with
 * their reverse index directly in the final CSR layout (`search`). Large systems may split the
 * traversal over worker threads (`kernel`, `parallel`), with a bit-identical result.
 *
 * @module
 */
import { ArgumentError } from '../errors.js';
import { binAtoms } from './binning.js';
import { checkCutoff, prepareSystem, type NeighborSystem } from './prepare.js';
import { loadavg } from 'node:os';
import { hardwareThreads } from './parallel.js';
import { searchPairs, type SearchOutput } from './search.js';
import type { NeighborList } from './types.js';
import { Workspace } from './workspace.js';

/** Options of {@link neighborList} and {@link NeighborSearch}. */
export interface NeighborListOptions {
  /** Cutoff radius, Å (finite, ≥ 0). Pairs with distance strictly below it are listed. */
  readonly cutoff: number;
  /**
   * Bins per cutoff length along each axis (1 or 2; default 1). 2 gives finer bins and fewer
   * distance checks at more loop overhead; the result is the same pair set, in another order.
   */
  readonly binsPerCutoff?: 1 | 2;
  /**
   * Order in which centres are visited (same result either way): `'index'` appends centre
   * after centre; `'bin'` first counts each centre's pairs, then visits centres in bin order,
   * which keeps memory access local when atom indices are scattered in space. `'auto'`
   * (default) uses `'bin'` from {@link BIN_ORDER_MIN_ATOMS} atoms on.
   */
  readonly traversal?: 'auto' | 'index' | 'bin';
  /**
   * Threads of one search, the caller's included: `'auto'` (default) uses 2 from
   * {@link PARALLEL_MIN_ATOMS} atoms on when the machine has a core to spare (1-minute load
   * average at most cores − 1), else 1; a number
   * asks for that many. The result is bit for bit the same whatever the count. Extra threads
   * are worker threads of a shared pool, started on first use and reused (see
   * {@link startNeighborWorkers}, {@link disposeNeighborWorkers}); with `'auto'` a search
   * runs on one thread until the pool is up, with an explicit count it waits for it (≤ 10 s).
   */
  readonly threads?: 'auto' | number;
}

/**
 * Atom count from which `threads: 'auto'` searches on two threads (when a core is spare). Below
 * it, the pool's per-pass hand-off and the extra counting pass outweigh the split work. Not
 * yet measured on an idle 2-core machine: the benchmark machine was saturated by other jobs
 * (see bench/results/neighbors.md, 1 vs 2 threads).
 */
export const PARALLEL_MIN_ATOMS = 20_000;

/** How long an explicit `threads` search waits for the worker pool to start, ms. */
const EXPLICIT_WAIT_MS = 10_000;

/** Resolve the threads option for `n` atoms: the thread count and how long to wait for the pool (internal). */
export function resolveThreads(threads: NeighborListOptions['threads'], n: number): { threads: number; waitMs: number } {
  if (threads === undefined || threads === 'auto') {
    // A second thread only pays with a core to spare: on a machine already busy with other
    // work the two threads mostly take turns (measured: no gain at load 4 on 2 cores).
    const cores = hardwareThreads();
    const spare = cores >= 2 && loadavg()[0] <= cores - 1;
    return { threads: n >= PARALLEL_MIN_ATOMS && spare ? 2 : 1, waitMs: 0 };
  }
  return { threads, waitMs: threads > 1 ? EXPLICIT_WAIT_MS : 0 };
}

/** Validate the search options other than the cutoff; returns bins per cutoff. */
function checkOptions(options: NeighborListOptions): 1 | 2 {
  const bpc = options.binsPerCutoff ?? 1;
  if (bpc !== 1 && bpc !== 2) throw new ArgumentError(`binsPerCutoff must be 1 or 2, got ${String(bpc)}`);
  const t = options.traversal ?? 'auto';
  if (t !== 'auto' && t !== 'index' && t !== 'bin') {
    throw new ArgumentError(`traversal must be 'auto', 'index' or 'bin', got ${String(t)}`);
  }
  const th = options.threads ?? 'auto';
  if (th !== 'auto' && !(Number.isInteger(th) && th >= 1 && th <= 256)) {
    throw new ArgumentError(`threads must be 'auto' or an integer from 1 to 256, got ${String(th)}`);
  }
  return bpc;
}

/** Atom count from which `traversal: 'auto'` visits centres in bin order. */
export const BIN_ORDER_MIN_ATOMS = 65_536;

/** Resolve the traversal option for `n` atoms (internal). */
export function useBinOrder(traversal: NeighborListOptions['traversal'], n: number): boolean {
  return traversal === 'bin' || ((traversal ?? 'auto') === 'auto' && n >= BIN_ORDER_MIN_ATOMS);
}

function search(system: NeighborSystem, options: NeighborListOptions, scratch: Workspace, out: Workspace): SearchOutput {
  const sys = prepareSystem(system, options?.cutoff, scratch);
  const bpc = checkOptions(options);
  const grid = binAtoms(sys, bpc, scratch);
  const { threads, waitMs } = resolveThreads(options.threads, sys.n);
  return searchPairs(sys, grid, scratch, out, false, useBinOrder(options.traversal, sys.n), threads, waitMs);
}

/** Whether a search of `system` may run on several threads (its buffers must then be shared). */
function mayUseThreads(system: NeighborSystem, options: NeighborListOptions): boolean {
  const n = Math.floor((system?.positions?.length ?? 0) / 3);
  return resolveThreads(options?.threads, n).threads > 1;
}

/**
 * Full neighbour list of a structure (molecule, slab, wire or crystal; any triclinic cell;
 * cutoffs larger than the cell; atoms outside the cell) with the cell-list method in O(N).
 * The result owns freshly allocated arrays; for repeated searches, {@link NeighborSearch}
 * reuses its memory and is faster.
 *
 * @param system Positions (3N, Å), optional cell (9 numbers, rows a, b, c, Å), optional pbc
 *   (default all false) and optional atomic numbers. A `Structure` qualifies.
 * @param options `cutoff` in Å.
 * @returns The full list, see {@link NeighborList} for the layout and order.
 * @throws ArgumentError `'invalid-cutoff'` for a negative, NaN or infinite cutoff.
 * @throws StructureError `'length-mismatch'` (positions not 3N, numbers/cell/pbc of the wrong
 *   length), `'non-finite-position'`, `'non-finite-cell'`, `'pbc-without-cell'` (pbc on an axis
 *   whose cell vector is zero), `'singular-cell'` (degenerate periodic cell vectors).
 */
export function neighborList(system: NeighborSystem, options: NeighborListOptions): NeighborList {
  const shared = mayUseThreads(system, options);
  return search(system, options, new Workspace(shared), new Workspace(shared)).list;
}

/**
 * A neighbour search that keeps its scratch and output memory between calls, for loops that
 * search many similar structures (MD, relaxations, batches). Same result as {@link neighborList}.
 *
 * The arrays of the list returned by {@link NeighborSearch.search} are views of this object's
 * buffers: they stay valid until the next `search` call on the same object (copy them, e.g.
 * with `slice()`, to keep them longer).
 */
export class NeighborSearch {
  /** Cutoff, Å. */
  readonly cutoff: number;
  /** Bins per cutoff (1 or 2). */
  readonly binsPerCutoff: 1 | 2;
  /** Centre traversal order, see {@link NeighborListOptions.traversal}. */
  readonly traversal: 'auto' | 'index' | 'bin';
  /** Threads per search, see {@link NeighborListOptions.threads}. */
  readonly threads: 'auto' | number;
  /** Threads the last search ran on (1 until the worker pool is up). */
  lastThreads = 0;
  private scratch = new Workspace();
  private out = new Workspace();

  /** @throws ArgumentError `'invalid-cutoff'` for a negative, NaN or infinite cutoff. */
  constructor(options: NeighborListOptions) {
    checkCutoff(options?.cutoff);
    this.cutoff = options.cutoff;
    this.binsPerCutoff = checkOptions(options);
    this.traversal = options.traversal ?? 'auto';
    this.threads = options.threads ?? 'auto';
  }

  /**
   * Full neighbour list of `system` (see {@link neighborList}); arrays valid until the next call.
   *
   * @throws StructureError as {@link neighborList}.
   */
  search(system: NeighborSystem): NeighborList {
    const options: NeighborListOptions = { cutoff: this.cutoff, binsPerCutoff: this.binsPerCutoff, traversal: this.traversal, threads: this.threads };
    if (mayUseThreads(system, options) && !this.out.shared) {
      this.scratch = new Workspace(true);
      this.out = new Workspace(true);
    }
    const res = search(system, options, this.scratch, this.out);
    this.lastThreads = res.threads;
    return res.list;
  }

  /** Release the retained buffers (they are reallocated on the next call). */
  release(): void {
    this.scratch.clear();
    this.out.clear();
  }
}
