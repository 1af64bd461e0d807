/**
 * The model folder's `model.json`: typed view and validation (docs/model-format.md).
 *
 * @module
 */
import { ModelError } from '../errors.js';

/** Model metadata format versions this build of equiforce can run. */
export const SUPPORTED_FORMAT_VERSIONS: readonly number[] = [1];

/** One task (dataset head) of a model, e.g. UMA's `omol`, `omat`, `oc20`. */
export interface ModelTask {
  /** Task name as users pass it (`compute(s, { task: 'omol' })`). */
  readonly name: string;
  /** Index fed to the graph's `task` input. */
  readonly index: number;
  /** Energy normaliser: physical energy = scale × raw + shift + Σ references (eV). */
  readonly energyScale: number;
  /** Constant energy shift added per system (eV). */
  readonly energyShift: number;
  /** Per-element reference energies (eV), indexed by atomic number (index 0 unused); zeros if absent. */
  readonly elementReferences: Float64Array;
  /**
   * Whether the task reads the structure's charge and spin multiplicity (UMA: only the molecular
   * task `omol`). Tasks that do not expect charge 0 and are fed spin 0 ("unset"), as fairchem does.
   */
  readonly usesChargeAndSpin: boolean;
}

/** Architecture hyperparameters as written by the converter (informative; the graph is self-contained). */
export interface ModelArchitecture {
  readonly family: string;
  readonly lmax: number;
  readonly mmax: number;
  readonly sphereChannels: number;
  readonly numLayers: number;
  readonly numExperts: number;
  /** Every key of model.json's `architecture`, as written. */
  readonly raw: Readonly<Record<string, unknown>>;
}

/** Validated contents of a model folder's `model.json`. */
export interface ModelMetadata {
  /** Metadata format version (see {@link SUPPORTED_FORMAT_VERSIONS}). */
  readonly formatVersion: number;
  /** Model name. */
  readonly name: string;
  /** Floating-point type of the graph's float inputs and outputs. */
  readonly dtype: 'float32' | 'float64';
  /** Neighbour cutoff radius in Å (pairs with distance < cutoff are edges). */
  readonly cutoff: number;
  /** Maximum neighbours per atom the model was trained with (informative). */
  readonly maxNeighbors: number;
  /** Atomic numbers the model knows. */
  readonly supportedElements: ReadonlySet<number>;
  /** Tasks by name. */
  readonly tasks: ReadonlyMap<string, ModelTask>;
  /** Allowed total charge range [min, max] (e). */
  readonly chargeRange: readonly [number, number];
  /** Allowed spin multiplicity range [min, max]. */
  readonly spinRange: readonly [number, number];
  /** Per-atom embedding shape [(lmax+1)², channels]. */
  readonly embeddingShape: readonly [number, number];
  /** Architecture hyperparameters. */
  readonly architecture: ModelArchitecture;
  /** Provenance block (source checkpoint, converter version, date), as written. */
  readonly provenance: Readonly<Record<string, unknown>>;
  /** The optional graph for large systems (model.json `large_graph`), or undefined. */
  readonly largeGraph?: LargeGraph;
}

/**
 * A second graph of the same network for large systems (model.json `large_graph`): each layer's
 * pairs are processed in `edgeChunks` chunks of centre atoms, so its peak memory stays near the size
 * of the pair features instead of several times it, at about the same speed for large calls (and
 * more per-kernel overhead for small ones). Same contract, same results to rounding.
 */
export interface LargeGraph {
  /** ONNX file, relative to the model folder. */
  readonly file: string;
  /** Chunks of centre atoms per layer. */
  readonly edgeChunks: number;
  /** Pair count from which the calculator runs this graph by default. */
  readonly minPairs: number;
}

/** The graph inputs and outputs of the contract (docs/model-format.md). */
export const CONTRACT_INPUTS = [
  'atomic_numbers',
  'edge_index',
  'edge_vec',
  'system_index',
  'charge',
  'spin',
  'task',
  'offsets',
  'reverse',
] as const;
/** Graph outputs of the contract. */
export const CONTRACT_OUTPUTS = ['energy', 'atom_energy', 'edge_grad', 'node_embedding'] as const;

type Json = Record<string, unknown>;

function fail(file: string, what: string): never {
  throw new ModelError(`${file}: ${what}`, 'invalid-metadata');
}

function field(obj: Json, key: string, file: string, where = ''): unknown {
  if (!(key in obj)) fail(file, `missing field "${where}${key}"`);
  return obj[key];
}

function num(obj: Json, key: string, file: string, where = ''): number {
  const v = field(obj, key, file, where);
  if (typeof v !== 'number' || !Number.isFinite(v)) fail(file, `field "${where}${key}" must be a finite number, got ${JSON.stringify(v)}`);
  return v;
}

function int(obj: Json, key: string, file: string, where = ''): number {
  const v = num(obj, key, file, where);
  if (!Number.isInteger(v)) fail(file, `field "${where}${key}" must be an integer, got ${v}`);
  return v;
}

function range(obj: Json, key: string, file: string, fallback: [number, number]): [number, number] {
  const v = obj[key];
  if (v === undefined) return fallback;
  if (!Array.isArray(v) || v.length !== 2 || !v.every((x) => Number.isInteger(x)) || v[0] > v[1]) {
    fail(file, `field "${key}" must be [min, max] integers`);
  }
  return [v[0] as number, v[1] as number];
}

/** UMA's convention: only the molecular task reads charge and spin. */
function defaultUsesChargeAndSpin(name: string): boolean {
  return name === 'omol' || name === 'mol';
}

function parseTask(t: unknown, i: number, file: string): ModelTask {
  if (typeof t !== 'object' || t === null) fail(file, `tasks[${i}] must be an object`);
  const o = t as Json;
  const where = `tasks[${i}].`;
  const name = field(o, 'name', file, where);
  if (typeof name !== 'string' || name === '') fail(file, `${where}name must be a non-empty string`);
  const refs = new Float64Array(119);
  const raw = o.element_references_eV;
  if (raw !== null && raw !== undefined) {
    if (Array.isArray(raw)) {
      // Indexed by atomic number (index 0 unused), as fairchem stores element references.
      raw.forEach((v, z) => {
        if (typeof v !== 'number' || !Number.isFinite(v)) fail(file, `${where}element_references_eV[${z}] is not a finite number`);
        if (z < refs.length) refs[z] = v;
      });
    } else if (typeof raw === 'object') {
      for (const [k, v] of Object.entries(raw as Json)) {
        const z = Number(k);
        if (!Number.isInteger(z) || z < 1 || z > 118 || typeof v !== 'number' || !Number.isFinite(v)) {
          fail(file, `${where}element_references_eV has an invalid entry ${JSON.stringify(k)}: ${JSON.stringify(v)}`);
        }
        refs[z] = v;
      }
    } else fail(file, `${where}element_references_eV must be an array, an object or null`);
  }
  const uses = o.uses_charge_and_spin;
  if (uses !== undefined && typeof uses !== 'boolean') fail(file, `${where}uses_charge_and_spin must be a boolean`);
  return {
    name,
    index: int(o, 'index', file, where),
    energyScale: o.energy_scale === undefined ? 1 : num(o, 'energy_scale', file, where),
    energyShift: o.energy_shift === undefined ? 0 : num(o, 'energy_shift', file, where),
    elementReferences: refs,
    usesChargeAndSpin: uses === undefined ? defaultUsesChargeAndSpin(name) : uses,
  };
}

/**
 * Validate a parsed `model.json` and return its typed view.
 *
 * @param json - the parsed JSON value.
 * @param file - the file name, used in error messages.
 * @throws ModelError naming the file and the problem (not an equiforce model, unknown format
 *   version, missing or ill-typed fields).
 */
export function parseModelMetadata(json: unknown, file: string): ModelMetadata {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) fail(file, 'must contain a JSON object');
  const o = json as Json;
  if (o.format !== 'equiforce-model') {
    throw new ModelError(`${file}: not an equiforce model description (field "format" is ${JSON.stringify(o.format)}, expected "equiforce-model")`, 'not-equiforce-model');
  }
  const formatVersion = int(o, 'format_version', file);
  if (!SUPPORTED_FORMAT_VERSIONS.includes(formatVersion)) {
    throw new ModelError(
      `${file}: model format version ${formatVersion} is not supported by this equiforce (supports ${SUPPORTED_FORMAT_VERSIONS.join(', ')}); upgrade equiforce or re-convert the model`,
      'unsupported-format-version',
    );
  }
  const dtype = field(o, 'dtype', file);
  if (dtype !== 'float32' && dtype !== 'float64') fail(file, `field "dtype" must be "float32" or "float64", got ${JSON.stringify(dtype)}`);
  const cutoff = num(o, 'cutoff_angstrom', file);
  if (!(cutoff > 0)) fail(file, `field "cutoff_angstrom" must be positive, got ${cutoff}`);

  const elements = field(o, 'supported_elements', file);
  if (!Array.isArray(elements) || elements.length === 0 || !elements.every((z) => Number.isInteger(z) && z >= 1 && z <= 118)) {
    fail(file, 'field "supported_elements" must be a non-empty list of atomic numbers 1..118');
  }
  const tasksRaw = field(o, 'tasks', file);
  if (!Array.isArray(tasksRaw) || tasksRaw.length === 0) fail(file, 'field "tasks" must be a non-empty list');
  const tasks = new Map<string, ModelTask>();
  tasksRaw.forEach((t, i) => {
    const task = parseTask(t, i, file);
    if (tasks.has(task.name)) fail(file, `task "${task.name}" is listed twice`);
    tasks.set(task.name, task);
  });

  const emb = field(o, 'embedding', file);
  const shape = (emb as Json | null)?.shape;
  if (!Array.isArray(shape) || shape.length !== 2 || !shape.every((x) => Number.isInteger(x) && x > 0)) {
    fail(file, 'field "embedding.shape" must be [(lmax+1)^2, channels]');
  }
  const arch = field(o, 'architecture', file);
  if (typeof arch !== 'object' || arch === null) fail(file, 'field "architecture" must be an object');
  const a = arch as Json;
  const provenance = typeof o.provenance === 'object' && o.provenance !== null ? (o.provenance as Json) : {};
  let largeGraph: LargeGraph | undefined;
  if (o.large_graph !== undefined) {
    const lg = o.large_graph as Json | null;
    if (typeof lg !== 'object' || lg === null || typeof lg.file !== 'string' || !/^[\w.-]+\.onnx$/.test(lg.file)) {
      fail(file, 'field "large_graph" must be {file: "<name>.onnx" in the model folder, edge_chunks, min_pairs}');
    }
    const edgeChunks = int(lg, 'edge_chunks', file, 'large_graph.');
    const minPairs = int(lg, 'min_pairs', file, 'large_graph.');
    if (edgeChunks < 1 || minPairs < 0) fail(file, `field "large_graph" needs edge_chunks >= 1 and min_pairs >= 0, got ${edgeChunks} and ${minPairs}`);
    largeGraph = { file: lg.file as string, edgeChunks, minPairs };
  }

  return {
    formatVersion,
    name: typeof o.name === 'string' ? o.name : 'unnamed',
    dtype,
    cutoff,
    maxNeighbors: o.max_neighbors === undefined ? Infinity : int(o, 'max_neighbors', file),
    supportedElements: new Set(elements as number[]),
    tasks,
    chargeRange: range(o, 'charge_range', file, [-100, 100]),
    spinRange: range(o, 'spin_range', file, [0, 100]),
    embeddingShape: [shape[0] as number, shape[1] as number],
    architecture: {
      family: typeof a.family === 'string' ? a.family : 'unknown',
      lmax: int(a, 'lmax', file, 'architecture.'),
      mmax: int(a, 'mmax', file, 'architecture.'),
      sphereChannels: int(a, 'sphere_channels', file, 'architecture.'),
      numLayers: int(a, 'num_layers', file, 'architecture.'),
      numExperts: a.num_experts === undefined ? 0 : int(a, 'num_experts', file, 'architecture.'),
      raw: a,
    },
    provenance,
    ...(largeGraph ? { largeGraph } : {}),
  };
}
