/**
 * The Verlet-skin refresh as a WebAssembly kernel (source: native/verlet_refresh.c, compiled
 * by native/build.sh into refresh-wasm.generated.ts).
 *
 * The refresh streams over every stored pair on every MD step, and V8's JIT output for that
 * loop runs at about 60 % of the speed of the same loop compiled ahead of time (measured in
 * bench/results/neighbors.md). The kernel does the same arithmetic in the same order as the
 * JavaScript refresh in verlet.ts, so either gives the same list bit for bit.
 *
 * Memory: the kernel runs in one WebAssembly memory per {@link RefreshKernel} holding the skin
 * list's refresh data (copied in at each build), the scratch, and the output columns that the
 * returned list views. The memory never grows in place (growing would detach the views handed
 * out); when a build needs more room, a new memory and instance replace the old ones, and
 * views of the old memory stay valid until the caller drops them.
 *
 * @module
 */
import { VERLET_REFRESH_WASM_BASE64 } from './refresh-wasm.generated.js';

/** Largest memory a 32-bit WebAssembly instance can address, bytes. */
const MAX_MEMORY_BYTES = 65536 * 65536;
/** Headroom factor of a new layout, so slowly growing lists re-layout rarely. */
const GROWTH = 1.25;
/** Alignment of every region, bytes (a cache line). */
const ALIGN = 64;
/** Size of the `Refresh` struct of verlet_refresh.c, bytes (asserted there). */
const PARAMS_BYTES = 184;

/** Thrown when the list does not fit one WebAssembly memory; the caller then refreshes in JavaScript. */
export class RefreshKernelCapacityError extends Error {
  constructor(bytes: number) {
    super(`the Verlet refresh kernel would need ${(bytes / 2 ** 30).toFixed(2)} GiB of WebAssembly memory (at most 4 GiB)`);
    this.name = 'RefreshKernelCapacityError';
  }
}

let compiled: WebAssembly.Module | null = null;
let heapBase = 0;

/** The compiled module (once per process) and the first free byte of its memory. */
function kernelModule(): { module: WebAssembly.Module; heapBase: number } {
  if (compiled === null) {
    const module = new WebAssembly.Module(Buffer.from(VERLET_REFRESH_WASM_BASE64, 'base64'));
    // The linker places the stack below __heap_base; read it from a throw-away instance.
    const probe = new WebAssembly.Instance(module, { env: { memory: new WebAssembly.Memory({ initial: 4 }) } });
    heapBase = (probe.exports.__heap_base as WebAssembly.Global).value as number;
    compiled = module;
  }
  return { module: compiled, heapBase };
}

/** What a build hands to the kernel: the skin list's refresh data (see VerletNeighborList). */
export interface RefreshBuild {
  /** Atoms. */
  n: number;
  /** Stored (skin) pairs. */
  pairs: number;
  /** Stencil offsets per atom, and segment slots in all (atoms × offsets). */
  segmentsPerAtom: number;
  segmentCount: number;
  /** Original index of each bin-sorted atom [n]. */
  order: Int32Array;
  /** Non-empty segments: first per centre [n + 1], id and end pair per segment. */
  segFirst: Int32Array;
  segId: Int32Array;
  segEnd: Int32Array;
  /** Shell class per stored pair [pairs]. */
  shell: Uint8Array;
  /** Image code per stored pair [pairs], or null to read `shifts` and multiply by `cell`. */
  code: Uint16Array | null;
  /** Stored shifts S [3 · pairs] (read only without codes). */
  shifts: Int32Array;
  /** Neighbour's bin-sorted index per stored pair [pairs]. */
  neighborSorted: Int32Array;
  /** Shifts S and vectors S·cell (Å) per image code (only with codes). */
  shiftTable: Int32Array;
  shiftVectors: Float64Array;
  /** Cell rows, Å (9). */
  cell: Float64Array;
  /** Most stored pairs of one centre. */
  longestBlock: number;
}

/** Output columns of one refresh: views of the kernel's memory, `count` pairs. */
export interface RefreshOutput {
  count: number;
  centers: Int32Array;
  neighbors: Int32Array;
  shifts: Int32Array;
  vectors: Float64Array;
  distances: Float64Array;
  offsets: Int32Array;
  reverse: Int32Array;
}

/** Capacities a layout was made for (elements). */
interface Capacity {
  n: number;
  pairs: number;
  segments: number;
  segmentCount: number;
  codes: number;
  candidates: number;
  coded: boolean;
}

/** Region names in struct order after the scalars (verlet_refresh.c `Refresh`, from byte 96). */
const POINTERS = [
  'positions', 'order', 'sorted', 'segFirst', 'segId', 'segEnd', 'shell', 'code', 'shifts', 'neighborSorted',
  'shiftTable', 'shiftVectors', 'candidates', 'reverseKey', 'cursor', 'centers', 'neighbors', 'outShifts',
  'vectors', 'distances', 'offsets', 'reverse',
] as const;
type Region = (typeof POINTERS)[number];

/** Bytes of each region for the given capacities (0 = unused: a null pointer). */
function regionBytes(c: Capacity): Record<Region, number> {
  const m = c.pairs;
  return {
    positions: 24 * c.n, order: 4 * c.n, sorted: 24 * c.n, segFirst: 4 * (c.n + 1), segId: 4 * c.segments,
    segEnd: 4 * c.segments, shell: m, code: c.coded ? 2 * m : 0, shifts: c.coded ? 0 : 12 * m,
    neighborSorted: 4 * m, shiftTable: 12 * c.codes, shiftVectors: 24 * c.codes, candidates: 4 * c.candidates,
    reverseKey: 4 * m, cursor: 4 * c.segmentCount, centers: 4 * m, neighbors: 4 * m, outShifts: 12 * m,
    vectors: 24 * m, distances: 8 * m, offsets: 4 * (c.n + 1), reverse: 4 * m,
  };
}

/** A Verlet refresh kernel instance with its own memory (internal to VerletNeighborList). */
export class RefreshKernel {
  private capacity: Capacity | null = null;
  private memory: WebAssembly.Memory | null = null;
  private run: ((params: number) => number) | null = null;
  private at = {} as Record<Region, number>;
  /** The `Refresh` struct as doubles and as 32-bit integers (views of the current memory). */
  private paramsF64 = new Float64Array(0);
  private paramsI32 = new Int32Array(0);
  private params = 0;
  private build: RefreshBuild | null = null;

  /**
   * Take the data of a new build (copied into the kernel's memory).
   *
   * @throws RefreshKernelCapacityError when the list does not fit 4 GiB; the `RangeError` of
   *   `WebAssembly.Memory` when the process cannot get the memory.
   */
  load(build: RefreshBuild): void {
    const need: Capacity = {
      n: build.n, pairs: build.pairs, segments: build.segFirst[build.n], segmentCount: build.segmentCount,
      codes: build.shiftTable.length / 3, candidates: build.longestBlock, coded: build.code !== null,
    };
    const cap = this.capacity;
    const fits = cap !== null && cap.coded === need.coded && need.n <= cap.n && need.pairs <= cap.pairs &&
      need.segments <= cap.segments && need.segmentCount <= cap.segmentCount && need.codes <= cap.codes &&
      need.candidates <= cap.candidates;
    if (!fits) this.layout(need);
    this.build = build;
    const mem = this.memory!.buffer;
    const at = this.at;
    new Int32Array(mem, at.order, build.n).set(build.order.subarray(0, build.n));
    new Int32Array(mem, at.segFirst, build.n + 1).set(build.segFirst.subarray(0, build.n + 1));
    new Int32Array(mem, at.segId, need.segments).set(build.segId.subarray(0, need.segments));
    new Int32Array(mem, at.segEnd, need.segments).set(build.segEnd.subarray(0, need.segments));
    new Uint8Array(mem, at.shell, build.pairs).set(build.shell.subarray(0, build.pairs));
    new Int32Array(mem, at.neighborSorted, build.pairs).set(build.neighborSorted.subarray(0, build.pairs));
    if (build.code !== null) {
      new Uint16Array(mem, at.code, build.pairs).set(build.code.subarray(0, build.pairs));
      new Int32Array(mem, at.shiftTable, build.shiftTable.length).set(build.shiftTable);
      new Float64Array(mem, at.shiftVectors, build.shiftVectors.length).set(build.shiftVectors);
    } else {
      new Int32Array(mem, at.shifts, 3 * build.pairs).set(build.shifts.subarray(0, 3 * build.pairs));
    }
    this.paramsF64.set(build.cell.subarray(0, 9), 1);
    const i32 = this.paramsI32;
    i32[20] = build.n;
    i32[21] = build.segmentsPerAtom;
    POINTERS.forEach((name, q) => {
      const used = name === 'code' ? build.code !== null : name === 'shifts' ? build.code === null : true;
      i32[24 + q] = used ? at[name] : 0;
    });
  }

  /** Memory and regions for at least `need` (with headroom), in a new memory and instance. */
  private layout(need: Capacity): void {
    const old = this.capacity;
    const grow = (k: Exclude<keyof Capacity, 'coded'>): number => Math.max(Math.ceil(need[k] * GROWTH), old?.[k] ?? 0, 1);
    const cap: Capacity = {
      n: grow('n'), pairs: grow('pairs'), segments: grow('segments'), segmentCount: grow('segmentCount'),
      codes: grow('codes'), candidates: grow('candidates'), coded: need.coded,
    };
    const { module, heapBase: base } = kernelModule();
    const bytes = regionBytes(cap);
    const round = (x: number): number => Math.ceil(x / ALIGN) * ALIGN;
    let at = round(base);
    const params = at;
    at += round(PARAMS_BYTES);
    const place = {} as Record<Region, number>;
    for (const name of POINTERS) {
      place[name] = at;
      at += round(Math.max(bytes[name], 8));
    }
    if (at > MAX_MEMORY_BYTES) throw new RefreshKernelCapacityError(at);
    // Drop the old memory first, so both are never held at once by this object.
    this.memory = null;
    this.run = null;
    this.capacity = null;
    const memory = new WebAssembly.Memory({ initial: Math.ceil(at / 65536) });
    const instance = new WebAssembly.Instance(module, { env: { memory } });
    this.run = instance.exports.refresh as (params: number) => number;
    this.memory = memory;
    this.at = place;
    this.params = params;
    this.paramsF64 = new Float64Array(memory.buffer, params, 10);
    this.paramsI32 = new Int32Array(memory.buffer, params, PARAMS_BYTES / 4);
    this.capacity = cap;
  }

  /**
   * Refresh at `positions` (3N, Å): keep the stored pairs within the cutoff (`cutoff2`, Å²)
   * that can have come there (shell class ≤ `skip`).
   */
  refresh(positions: ArrayLike<number>, cutoff2: number, skip: number): RefreshOutput {
    const build = this.build;
    if (build === null || this.memory === null || this.run === null) throw new Error('refresh kernel used before a build');
    const mem = this.memory.buffer;
    const n = build.n;
    const pos = new Float64Array(mem, this.at.positions, 3 * n);
    if (positions instanceof Float64Array) pos.set(positions.subarray(0, 3 * n));
    else for (let k = 0; k < 3 * n; k++) pos[k] = +positions[k];
    this.paramsF64[0] = cutoff2;
    this.paramsI32[22] = skip;
    const count = this.run(this.params);
    const at = this.at;
    return {
      count,
      centers: new Int32Array(mem, at.centers, count),
      neighbors: new Int32Array(mem, at.neighbors, count),
      shifts: new Int32Array(mem, at.outShifts, 3 * count),
      vectors: new Float64Array(mem, at.vectors, 3 * count),
      distances: new Float64Array(mem, at.distances, count),
      offsets: new Int32Array(mem, at.offsets, n + 1),
      reverse: new Int32Array(mem, at.reverse, count),
    };
  }
}
