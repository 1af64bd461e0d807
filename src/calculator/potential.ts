/**
 * `Potential`: a loaded equiforce model that computes energies (eV), forces (eV/Å), stress
 * (eV/Å³) and per-atom embeddings for structures, one at a time or batched.
 *
 * @module
 */
import { readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import ndarray from 'ndarray';
import type { NdArray } from 'ndarray';
import type * as ort from 'onnxruntime-node';
import { ArgumentError, ModelError, StructureError } from '../errors.js';
import { neighborList } from '../geometry/neighbors.js';
import type { NeighborList } from '../geometry/types.js';
import { Structure } from '../structure/structure.js';
import { Calculator, type CalculatorOptions } from './calculator.js';
import { InputBuffers, type BatchLayout, type SystemInput } from './inputs.js';
import { type ModelMetadata, type ModelTask, parseModelMetadata } from './metadata.js';
import { forcesFromEdgeGradient, stressFromEdgeGradient } from './reduce.js';
import { cpuSessionOptions, createModelSession, type Device, type RuntimeOptions } from './runtime.js';
import { SessionPool } from './session-pool.js';

/** Options of {@link Potential.load}. */
export interface LoadOptions extends RuntimeOptions {
  /**
   * Largest number of neighbour pairs (edges) one ONNX call may hold; a larger structure is
   * rejected before ONNX runs and batches are split to stay below it. Default 4,000,000 pairs
   * (a few GB of activations for a UMA-S-sized model).
   */
  readonly maxPairsPerCall?: number;
  /** Largest number of atoms one ONNX call may hold (default 500,000). */
  readonly maxAtomsPerCall?: number;
  /**
   * How many pairs `computeBatch` packs into one ONNX call (whole structures; a structure larger
   * than this still goes alone). 'auto' (default): on CPU, as many as keep one call's edge
   * features ((lmax+1)² · C numbers per pair) within {@link CPU_BATCH_BYTES}; on CUDA, up to
   * `maxPairsPerCall`. Why: on CPU the graph's edge-sized intermediates stream through cache, and
   * measured per pair, calls holding one 30-atom molecule were 1.4–1.7× faster than one call
   * holding 64 of them (bench/results/calculator.md); on a GPU large calls are what pays.
   */
  readonly pairsPerBatchCall?: number | 'auto';
  /**
   * CPU only: worker threads, each with its own ONNX Runtime session (`threads` intra-op threads
   * each, default 1), that run the calls of one `computeBatch` side by side (default 1: no workers,
   * every call on the main session). Single-structure calls (`compute`, MD) always use the main
   * session. Worth it for batches of many structures on a machine with idle cores.
   */
  readonly workers?: number;
  /**
   * Pair count from which a call runs on the model's large-system graph (model.json `large_graph`,
   * the same network processed in chunks of atoms: a fraction of the default graph's peak memory,
   * about the same speed for large calls). Default: the model's own `min_pairs`; `Infinity` never
   * uses it, 0 always. Ignored for models without one. Its session is created on first use.
   */
  readonly largeGraphMinPairs?: number;
  /**
   * Receives one-line notices about slow one-time work the potential does on its own, such as
   * creating the large-system graph's session (tens of seconds on a small CPU), so that a command-line
   * tool can tell its user why the first large call takes long. Default: none.
   */
  readonly onNotice?: (message: string) => void;
}

/** Edge-feature bytes per batched CPU call under `pairsPerBatchCall: 'auto'` (about one core's L2 cache). */
export const CPU_BATCH_BYTES = 1 << 20;

/** What to compute; energy is always computed. */
export interface ComputeOptions {
  /** Task (dataset head) name; required when the model has several tasks (e.g. UMA: 'omol', 'omat', 'oc20', 'odac', 'omc'). */
  readonly task?: string;
  /** Forces in eV/Å (default true). */
  readonly forces?: boolean;
  /** Stress in eV/Å³, Voigt order (default: true when all three axes are periodic). */
  readonly stress?: boolean;
  /** Per-atom energies in eV (default false). */
  readonly atomEnergies?: boolean;
  /**
   * Per-atom embeddings after the backbone's final norm (default false): `true` or `'invariant'`
   * gives the l = 0 block [N, C]; `'equivariant'` adds the full [N, (lmax+1)², C] block.
   */
  readonly embeddings?: boolean | 'invariant' | 'equivariant';
}

/** Per-atom embeddings, as shaped views (ndarray) over float64 storage. */
export interface AtomEmbeddings {
  /** The rotation-invariant l = 0 channels, shape [N, C]. */
  readonly invariant: NdArray<Float64Array>;
  /** The full equivariant block, shape [N, (lmax+1)², C] (l-major real spherical harmonics, polar axis y). */
  readonly equivariant?: NdArray<Float64Array>;
}

/** Results for one structure. */
export interface ComputeResult {
  /** Total energy, eV (normaliser and element references applied). */
  readonly energy: number;
  /** Forces, eV/Å, 3 per atom. */
  readonly forces?: Float64Array;
  /** Stress, eV/Å³, Voigt order xx yy zz yz xz xy, ASE sign (+(1/V) dE/dstrain; negative under tension… positive means the cell wants to shrink). */
  readonly stress?: Float64Array;
  /** Per-atom energies, eV (they sum to `energy`). */
  readonly atomEnergies?: Float64Array;
  /** Per-atom embeddings. */
  readonly embeddings?: AtomEmbeddings;
}

/** A structure together with a neighbour list already built for it (cutoff ≥ the model's cutoff, exact pairs < cutoff). */
export interface PreparedSystem {
  readonly structure: Structure;
  readonly list: NeighborList;
}

/** Cumulative wall time (ms) spent in each stage of evaluation, for profiling (see {@link Potential.timings}). */
export interface StageTimings {
  /** Neighbour-list search or skin-list refresh. */
  neighbors: number;
  /** Validation and packing of the input tensors. */
  prepare: number;
  /** The ONNX Runtime call. */
  onnx: number;
  /** Forces/stress reduction and result assembly. */
  reduce: number;
  /** Number of ONNX calls. */
  calls: number;
}

const DEFAULT_MAX_PAIRS = 4_000_000;
const DEFAULT_MAX_ATOMS = 500_000;

/** Float output data of one ONNX call. */
type OutputArray = Float64Array | Float32Array;

/** Task names tried, in order, for periodic structures by {@link Potential.defaultTask}. */
export const PERIODIC_TASKS: readonly string[] = ['omat', 'metal', 'oc20', 'omc', 'odac'];

/** Task names tried, in order, for molecules by {@link Potential.defaultTask}. */
export const MOLECULAR_TASKS: readonly string[] = ['omol', 'mol'];

/**
 * A loaded model. Create with {@link Potential.load}; free native memory with {@link Potential.dispose}.
 *
 * ```ts
 * const potential = await Potential.load('models/test-dense-f64');
 * const { energy, forces } = await potential.compute(structure, { task: 'omol' });
 * ```
 */
export class Potential {
  /** Validated model metadata (cutoff, elements, tasks, dtype, provenance). */
  readonly metadata: ModelMetadata;
  /** Where the model runs. */
  readonly device: Device;
  /** The model folder. */
  readonly path: string;
  private session: ort.InferenceSession | null;
  private readonly buffers: InputBuffers;
  private readonly maxPairs: number;
  private readonly maxAtoms: number;
  /** Pairs per batched call (see {@link LoadOptions.pairsPerBatchCall}). */
  private readonly batchPairs: number;
  /** Worker sessions for batches (see {@link LoadOptions.workers}), or null. */
  private pool: SessionPool | null;
  /** Cumulative time per stage since load or the last {@link Potential.resetTimings}. */
  readonly timings: StageTimings = { neighbors: 0, prepare: 0, onnx: 0, reduce: 0, calls: 0 };
  /** Options the potential was loaded with (the large-graph session is created from them). */
  private readonly options: LoadOptions;
  /** Pair count from which calls use the large-system graph (Infinity: never). */
  private readonly largeMinPairs: number;
  /** The large-system graph's session, created on the first call that needs it. */
  private largeSession: Promise<ort.InferenceSession> | null = null;
  /** Serialises ONNX calls: the input buffers are shared, so two runs must not overlap. */
  private queue: Promise<unknown> = Promise.resolve();

  private constructor(path: string, metadata: ModelMetadata, session: ort.InferenceSession, device: Device, options: LoadOptions, pool: SessionPool | null) {
    this.pool = pool;
    this.options = options;
    this.largeMinPairs = metadata.largeGraph ? (options.largeGraphMinPairs ?? metadata.largeGraph.minPairs) : Infinity;
    this.path = path;
    this.metadata = metadata;
    this.session = session;
    this.device = device;
    this.buffers = new InputBuffers(metadata.dtype);
    this.maxPairs = options.maxPairsPerCall ?? DEFAULT_MAX_PAIRS;
    this.maxAtoms = options.maxAtomsPerCall ?? DEFAULT_MAX_ATOMS;
    if (!(this.maxPairs >= 1) || !(this.maxAtoms >= 1)) throw new ArgumentError('maxPairsPerCall and maxAtomsPerCall must be positive');
    const perCall = options.pairsPerBatchCall ?? 'auto';
    if (perCall !== 'auto' && !(Number.isInteger(perCall) && perCall >= 1)) {
      throw new ArgumentError(`pairsPerBatchCall must be 'auto' or a positive integer, got ${String(perCall)}`, 'invalid-option');
    }
    const { lmax, sphereChannels } = metadata.architecture;
    const bytesPerPair = (lmax + 1) ** 2 * sphereChannels * (metadata.dtype === 'float64' ? 8 : 4);
    this.batchPairs = Math.min(this.maxPairs, perCall !== 'auto' ? perCall : device === 'cpu' ? Math.max(1, Math.floor(CPU_BATCH_BYTES / bytesPerPair)) : this.maxPairs);
  }

  /**
   * Load a model folder holding `model.onnx` and `model.json` (docs/model-format.md).
   *
   * @throws ModelError naming the file when the folder or a file is missing, `model.json` is
   *   malformed or of an unknown format version, the ONNX file is not a model of this contract,
   *   or CUDA was requested but is not installed.
   */
  static async load(path: string, options: LoadOptions = {}): Promise<Potential> {
    const dir = resolve(path);
    let isDir = false;
    try {
      isDir = statSync(dir).isDirectory();
    } catch {
      throw new ModelError(`model folder not found: ${dir}`, 'model-not-found');
    }
    if (!isDir) throw new ModelError(`${dir} is not a folder (a model is a folder with model.onnx and model.json)`, 'model-not-found');
    const jsonPath = join(dir, 'model.json');
    const onnxPath = join(dir, 'model.onnx');
    let text: string;
    try {
      text = readFileSync(jsonPath, 'utf8');
    } catch {
      throw new ModelError(`${jsonPath}: missing (every model folder needs model.json next to model.onnx)`, 'model-not-found');
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (e) {
      throw new ModelError(`${jsonPath}: malformed JSON (${(e as Error).message})`, 'invalid-metadata');
    }
    const metadata = parseModelMetadata(json, jsonPath);
    try {
      statSync(onnxPath);
    } catch {
      throw new ModelError(`${onnxPath}: missing`, 'model-not-found');
    }
    const minPairs = options.largeGraphMinPairs;
    if (minPairs !== undefined && !(minPairs >= 0)) {
      throw new ArgumentError(`largeGraphMinPairs must be a non-negative number, got ${String(minPairs)}`, 'invalid-option');
    }
    if (metadata.largeGraph) {
      const largePath = join(dir, metadata.largeGraph.file);
      try {
        statSync(largePath);
      } catch {
        throw new ModelError(`${largePath}: missing (model.json lists it as the large-system graph)`, 'model-not-found');
      }
    }
    const { session, device } = await createModelSession(onnxPath, options);
    const workers = options.workers ?? 1;
    if (!(Number.isInteger(workers) && workers >= 1)) {
      await session.release();
      throw new ArgumentError(`workers must be a positive integer, got ${String(workers)}`, 'invalid-option');
    }
    const pool = workers > 1 && device === 'cpu' ? new SessionPool(onnxPath, cpuSessionOptions(options.threads ?? 1), workers) : null;
    return new Potential(dir, metadata, session, device, options, pool);
  }

  /** Model cutoff radius, Å. */
  get cutoff(): number {
    return this.metadata.cutoff;
  }

  /** Task names the model knows. */
  get tasks(): string[] {
    return [...this.metadata.tasks.keys()];
  }

  /**
   * The task to use for `structure` when the caller names none: the model's only task; else, for
   * a structure periodic along any axis, the first of {@link PERIODIC_TASKS} the model has, and
   * for a molecule the first of {@link MOLECULAR_TASKS}; else undefined (the caller must choose).
   * UMA names its heads omol/omat/oc20/omc/odac, equiforce's own model mol/metal.
   */
  defaultTask(structure: Pick<Structure, 'pbc'>): string | undefined {
    const tasks = this.tasks;
    if (tasks.length <= 1) return tasks[0];
    const preference = structure.pbc.some((p) => p) ? PERIODIC_TASKS : MOLECULAR_TASKS;
    return preference.find((t) => tasks.includes(t));
  }

  /**
   * Energy, forces, stress, per-atom energies and embeddings of one structure.
   *
   * @throws StructureError / ArgumentError before ONNX runs for elements the model does not know,
   *   charge or spin out of range, a missing or unknown task, or a structure above the size limit;
   *   the potential stays usable.
   */
  async compute(structure: Structure, options: ComputeOptions = {}): Promise<ComputeResult> {
    const [result] = await this.computeBatch([structure], options);
    return result;
  }

  /**
   * Evaluate many structures, packed into ONNX calls of up to {@link LoadOptions.pairsPerBatchCall}
   * pairs (on CPU by default about 1 MiB of edge features per call, where that is fastest; on CUDA
   * as many as `maxPairsPerCall` allows); equals calling {@link Potential.compute} on each (to rounding).
   */
  async computeBatch(structures: readonly Structure[], options: ComputeOptions = {}): Promise<ComputeResult[]> {
    const t0 = performance.now();
    const prepared = structures.map((structure, k) => ({ structure: checkedStructure(structure, k), list: this.buildNeighborList(structure) }));
    this.timings.neighbors += performance.now() - t0;
    return this.computePrepared(prepared, options);
  }

  /**
   * Like {@link Potential.computeBatch}, with neighbour lists the caller already has (e.g. from a
   * Verlet skin list in MD). Each list must hold exactly the pairs closer than the model cutoff.
   */
  async computePrepared(systems: readonly PreparedSystem[], options: ComputeOptions = {}): Promise<ComputeResult[]> {
    this.ensureOpen();
    const t0 = performance.now();
    const task = this.resolveTask(options.task);
    const inputs = systems.map(({ structure, list }, k) => this.systemInput(checkedStructure(structure, k), list, task, systems.length > 1 ? k : -1));
    this.timings.prepare += performance.now() - t0;
    // Greedy split under the pair/atom limits (each structure alone already fits: checked above).
    const bounds: [number, number][] = [];
    for (let start = 0; start < inputs.length;) {
      let end = start;
      let pairs = 0;
      let atoms = 0;
      while (end < inputs.length && (end === start || (pairs + inputs[end].list.count <= this.batchPairs && atoms + inputs[end].numbers.length <= this.maxAtoms))) {
        pairs += inputs[end].list.count;
        atoms += inputs[end].numbers.length;
        end++;
      }
      bounds.push([start, end]);
      start = end;
    }
    const structures = systems.map((s) => s.structure);
    const results: ComputeResult[] = new Array(inputs.length);
    const pool = this.pool;
    if (pool !== null && !pool.broken && bounds.length > 1) {
      // Calls side by side on the workers, one input-buffer set per call in flight.
      let next = 0;
      await Promise.all(Array.from({ length: Math.min(pool.size, bounds.length) }, async () => {
        const buffers = new InputBuffers(this.metadata.dtype);
        while (next < bounds.length) {
          const [a, b] = bounds[next++];
          const chunk = await this.runOn(pool, buffers, inputs.slice(a, b), structures.slice(a, b), task, options);
          for (let k = a; k < b; k++) results[k] = chunk[k - a];
        }
      }));
      return results;
    }
    for (const [a, b] of bounds) {
      const chunk = await this.run(inputs.slice(a, b), structures.slice(a, b), task, options);
      for (let k = a; k < b; k++) results[k] = chunk[k - a];
    }
    return results;
  }

  /** Zero the cumulative {@link Potential.timings}. */
  resetTimings(): void {
    Object.assign(this.timings, { neighbors: 0, prepare: 0, onnx: 0, reduce: 0, calls: 0 });
  }

  /**
   * An ASE-style calculator bound to this potential, for one trajectory at a time (MD,
   * optimisation): it keeps a Verlet-skin neighbour list across steps and caches the last result.
   */
  calculator(options: CalculatorOptions = {}): Calculator {
    return new Calculator(this, options);
  }

  /** Free the ONNX session's native memory; the potential cannot be used afterwards. */
  async dispose(): Promise<void> {
    const s = this.session;
    this.session = null;
    const large = this.largeSession;
    this.largeSession = null;
    if (large) await large.then((l) => l.release(), () => undefined);
    const pool = this.pool;
    this.pool = null;
    if (pool) await pool.close();
    if (s) await s.release();
  }

  /** Build the exact neighbour list (pairs closer than the model cutoff) for a structure. */
  buildNeighborList(structure: Structure): NeighborList {
    return neighborList(structure, { cutoff: this.metadata.cutoff });
  }

  private ensureOpen(): void {
    if (!this.session) throw new ModelError(`the potential for ${this.path} was disposed`, 'disposed');
  }

  private resolveTask(name: string | undefined): ModelTask {
    const { tasks } = this.metadata;
    if (name === undefined) {
      if (tasks.size === 1) return tasks.values().next().value as ModelTask;
      throw new ArgumentError(`this model has several tasks; pass one with { task } (${[...tasks.keys()].join(', ')})`, 'missing-task');
    }
    const task = tasks.get(name);
    if (!task) throw new ArgumentError(`unknown task "${name}"; this model knows ${[...tasks.keys()].join(', ')}`, 'unknown-task');
    return task;
  }

  private systemInput(structure: Structure, list: NeighborList, task: ModelTask, batchIndex: number): SystemInput {
    const where = batchIndex >= 0 ? `structure ${batchIndex}: ` : '';
    const { numbers, positions } = structure;
    const n = numbers.length;
    if (n === 0) throw new StructureError('empty-structure', `${where}a structure needs at least one atom`);
    if (positions.length !== 3 * n || list.nAtoms !== n) {
      throw new StructureError('length-mismatch', `${where}${n} atomic numbers but ${positions.length / 3} positions / ${list.nAtoms} atoms in the neighbour list`);
    }
    for (let k = 0; k < 3 * n; k++) {
      // The arrays of a Structure are writable, so re-check: NaN must never reach ONNX.
      if (!Number.isFinite(positions[k])) {
        throw new StructureError('non-finite-position', `${where}atom ${Math.floor(k / 3)} has a non-finite coordinate (${positions[k]})`);
      }
    }
    const known = this.metadata.supportedElements;
    for (let i = 0; i < n; i++) {
      if (!known.has(numbers[i])) {
        throw new StructureError('unknown-element', `${where}atom ${i} has atomic number ${numbers[i]}, which model "${this.metadata.name}" does not support`);
      }
    }
    if (list.count > this.maxPairs || n > this.maxAtoms) {
      throw new ArgumentError(
        `${where}${n} atoms and ${list.count} neighbour pairs exceed this potential's limit of ${this.maxAtoms} atoms / ${this.maxPairs} pairs per call (raise maxPairsPerCall / maxAtomsPerCall in Potential.load if the machine has the memory)`,
        'too-large',
      );
    }
    const [cmin, cmax] = this.metadata.chargeRange;
    const [smin, smax] = this.metadata.spinRange;
    let charge = structure.charge;
    let spin = structure.spin;
    if (task.usesChargeAndSpin) {
      if (spin === 0) spin = 1; // "unset" multiplicity means singlet, as fairchem's calculator does
      if (charge < cmin || charge > cmax) throw new StructureError('invalid-charge', `${where}charge ${charge} is outside the model's range [${cmin}, ${cmax}]`);
      if (spin < Math.max(1, smin) || spin > smax) throw new StructureError('invalid-spin', `${where}spin multiplicity ${spin} is outside the model's range [${Math.max(1, smin)}, ${smax}]`);
    } else {
      if (charge !== 0) {
        throw new StructureError('invalid-charge', `${where}task "${task.name}" does not use charge and expects charge 0, got ${charge} (use a molecular task for charged systems)`);
      }
      charge = 0;
      spin = 0;
    }
    return { numbers, list, charge, spin, task: task.index };
  }

  private async run(inputs: SystemInput[], structures: Structure[], task: ModelTask, options: ComputeOptions): Promise<ComputeResult[]> {
    const job = this.queue.then(() => this.runNow(inputs, structures, task, options));
    this.queue = job.catch(() => undefined);
    return job;
  }

  /** The session for a call of `pairs` pairs: the large-system graph's from its threshold on. */
  private async sessionFor(pairs: number): Promise<ort.InferenceSession> {
    const session = this.session;
    if (!session) throw new ModelError(`the potential for ${this.path} was disposed`, 'disposed');
    if (pairs < this.largeMinPairs || !this.metadata.largeGraph) return session;
    if (!this.largeSession) {
      const path = join(this.path, this.metadata.largeGraph.file);
      const notice = this.options.onNotice;
      const started = performance.now();
      notice?.(`${pairs} neighbour pairs: preparing the large-system graph ${this.metadata.largeGraph.file} (once per potential; can take a minute)`);
      const opening = createModelSession(path, { ...this.options, device: this.device }, 'arena').then((m) => {
        notice?.(`large-system graph ready after ${((performance.now() - started) / 1000).toFixed(1)} s`);
        return m.session;
      });
      this.largeSession = opening;
      opening.catch(() => {
        if (this.largeSession === opening) this.largeSession = null; // let a later call retry
      });
    }
    return this.largeSession;
  }

  private async runNow(inputs: SystemInput[], structures: Structure[], task: ModelTask, options: ComputeOptions): Promise<ComputeResult[]> {
    let pairs = 0;
    for (const input of inputs) pairs += input.list.count;
    const session = await this.sessionFor(pairs);
    return this.call(this.buffers, inputs, structures, task, options, async (feeds, fetches) => {
      const out = await session.run(feeds, fetches);
      const arrays: Record<string, OutputArray> = {};
      for (const [name, t] of Object.entries(out)) {
        arrays[name] = t.data as OutputArray;
        t.dispose?.();
      }
      return arrays;
    });
  }

  /** One call on a worker session of `pool`, packed into the caller's own `buffers`. */
  private async runOn(pool: SessionPool, buffers: InputBuffers, inputs: SystemInput[], structures: Structure[], task: ModelTask, options: ComputeOptions): Promise<ComputeResult[]> {
    this.ensureOpen();
    return this.call(buffers, inputs, structures, task, options, async (feeds, fetches) => {
      const out = await pool.run(feeds, fetches);
      return Object.fromEntries(Object.entries(out).map(([name, t]) => [name, t.data as OutputArray]));
    });
  }

  /**
   * Pack `inputs` into `buffers`, evaluate them with `execute` (the main session or a worker) and
   * assemble the results, adding to {@link Potential.timings}. With workers, calls overlap, so
   * the summed ONNX time can exceed the elapsed time.
   */
  private async call(
    buffers: InputBuffers,
    inputs: SystemInput[],
    structures: Structure[],
    task: ModelTask,
    options: ComputeOptions,
    execute: (feeds: Record<string, ort.Tensor>, fetches: string[]) => Promise<Record<string, OutputArray>>,
  ): Promise<ComputeResult[]> {
    const t0 = performance.now();
    const { feeds, layout } = buffers.pack(inputs);
    const fetches = ['energy', 'edge_grad', ...(options.atomEnergies ? ['atom_energy'] : []), ...(options.embeddings ? ['node_embedding'] : [])];
    const t1 = performance.now();
    const out = await execute(feeds, fetches);
    const t2 = performance.now();
    const results = inputs.map((input, b) => this.assemble(b, input, structures[b], layout, task, options, out.energy, out.edge_grad, out.atom_energy, out.node_embedding));
    this.timings.prepare += t1 - t0;
    this.timings.onnx += t2 - t1;
    this.timings.reduce += performance.now() - t2;
    this.timings.calls++;
    return results;
  }

  private assemble(
    b: number,
    input: SystemInput,
    structure: Structure,
    layout: BatchLayout,
    task: ModelTask,
    options: ComputeOptions,
    energy: Float64Array | Float32Array,
    edgeGrad: Float64Array | Float32Array,
    atomEnergy: Float64Array | Float32Array | undefined,
    emb: Float64Array | Float32Array | undefined,
  ): ComputeResult {
    const n = input.numbers.length;
    const a0 = layout.atomStart[b];
    const scale = task.energyScale;
    const refs = task.elementReferences;
    let refSum = 0;
    for (let i = 0; i < n; i++) refSum += refs[input.numbers[i]];
    const result: { -readonly [K in keyof ComputeResult]: ComputeResult[K] } = {
      energy: scale * energy[b] + task.energyShift + refSum,
    };
    if (options.forces ?? true) {
      const f = forcesFromEdgeGradient(layout, edgeGrad, n, a0);
      if (scale !== 1) for (let k = 0; k < f.length; k++) f[k] *= scale;
      result.forces = f;
    }
    const periodic = structure.pbc[0] && structure.pbc[1] && structure.pbc[2];
    if (options.stress ?? periodic) {
      if (!periodic) throw new ArgumentError('stress needs a cell that is periodic along all three axes', 'stress-without-cell');
      const s = stressFromEdgeGradient(layout.vectors, edgeGrad, layout.pairStart[b], layout.pairStart[b + 1], structure.volume);
      if (scale !== 1) for (let k = 0; k < 6; k++) s[k] *= scale;
      result.stress = s;
    }
    if (options.atomEnergies && atomEnergy) {
      // The per-system shift is spread evenly so per-atom energies still sum to the total.
      const e = new Float64Array(n);
      const share = task.energyShift / n;
      for (let i = 0; i < n; i++) e[i] = scale * atomEnergy[a0 + i] + refs[input.numbers[i]] + share;
      result.atomEnergies = e;
    }
    if (options.embeddings && emb) {
      const [coeffs, channels] = this.metadata.embeddingShape;
      const stride = coeffs * channels;
      const full = Float64Array.from(emb.subarray(a0 * stride, (a0 + n) * stride));
      const inv = new Float64Array(n * channels);
      for (let i = 0; i < n; i++) inv.set(full.subarray(i * stride, i * stride + channels), i * channels);
      result.embeddings = {
        invariant: ndarray(inv, [n, channels]),
        ...(options.embeddings === 'equivariant' ? { equivariant: ndarray(full, [n, coeffs, channels]) } : {}),
      };
    }
    return result;
  }
}

/**
 * Plain JavaScript callers can pass anything: a look-alike object (say `{ numbers, positions }`) would
 * otherwise fail deep inside the input packing with an unrelated TypeError. Only a {@link Structure}
 * carries validated, consistent arrays.
 */
function checkedStructure(s: unknown, index: number): Structure {
  if (s instanceof Structure) return s;
  const what = s === null ? 'null' : typeof s === 'object' ? `an object with keys ${Object.keys(s as object).join(', ') || '(none)'}` : typeof s;
  throw new ArgumentError(`structure ${index} is not a Structure (got ${what}); build one with new Structure({...}) or Structure.fromArrays({...})`);
}
