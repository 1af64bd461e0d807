/**
 * Test helpers: the fairchem reference fixtures extracted by python/tools/extract_ts_fixtures.py,
 * batching of systems into the ONNX model's inputs (docs/model-format.md), and reductions of
 * edge_grad into forces and stress.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';

export const REPO = join(__dirname, '..', '..');
const DIR = join(REPO, 'test', 'fixtures', 'uma');

interface ArrayEntry {
  dtype: 'int32' | 'float64';
  shape: number[];
  offset: number;
}

interface SystemEntry {
  file: string;
  charge: number;
  spin: number;
  task: string;
  task_index: number;
  arrays: Record<string, ArrayEntry>;
}

/** A single atom without edges, with reference values from the PyTorch port of fairchem. */
export interface IsolatedAtom {
  z: number;
  task: string;
  task_index: number;
  charge: number;
  spin: number;
  dense: { energy: number; node_embedding: number[] };
  mole: { energy: number; node_embedding: number[] };
}

interface Manifest {
  tasks: string[];
  systems: Record<string, SystemEntry>;
  isolated_atoms: IsolatedAtom[];
}

/** Reference results of one model configuration for one system (float64, raw model units). */
export interface Reference {
  energy: number;
  atomEnergy: Float64Array;
  forces: Float64Array;
  stress?: Float64Array;
  edgeGrad: Float64Array;
  nodeEmbedding: Float64Array;
}

/** One fixture system with its edge list in the model's layout. */
export interface FixtureSystem {
  name: string;
  atomicNumbers: Int32Array;
  cell: Float64Array;
  periodic: boolean;
  edgeIndex: Int32Array; // [2, E] row-major
  edgeVec: Float64Array; // [E, 3]
  offsets: Int32Array; // [N + 1]
  reverse: Int32Array; // [E]
  charge: number;
  spin: number;
  task: number;
  ref: Record<'dense' | 'mole', Reference>;
}

const manifest = JSON.parse(readFileSync(join(DIR, 'manifest.json'), 'utf8')) as Manifest;

export const SYSTEM_NAMES = Object.keys(manifest.systems);

/** Isolated-atom cases (N = 1, E = 0). */
export const ISOLATED_ATOMS: IsolatedAtom[] = manifest.isolated_atoms;

function view(buf: Buffer, e: ArrayEntry): Int32Array | Float64Array {
  const n = e.shape.reduce((a, b) => a * b, 1);
  const copy = buf.buffer.slice(buf.byteOffset + e.offset, buf.byteOffset + e.offset + n * (e.dtype === 'int32' ? 4 : 8));
  return e.dtype === 'int32' ? new Int32Array(copy) : new Float64Array(copy);
}

/** Loads one system of the extracted fixtures. */
export function loadSystem(name: string): FixtureSystem {
  const s = manifest.systems[name];
  const buf = readFileSync(join(DIR, s.file));
  const f64 = (k: string): Float64Array => view(buf, s.arrays[k]) as Float64Array;
  const i32 = (k: string): Int32Array => view(buf, s.arrays[k]) as Int32Array;
  const ref = (tag: 'dense' | 'mole'): Reference => ({
    energy: f64(`${tag}.energy`)[0],
    atomEnergy: f64(`${tag}.atom_energy`),
    forces: f64(`${tag}.forces`),
    stress: s.arrays[`${tag}.stress`] ? f64(`${tag}.stress`) : undefined,
    edgeGrad: f64(`${tag}.edge_grad`),
    nodeEmbedding: f64(`${tag}.node_embedding`),
  });
  const pbc = i32('pbc');
  return {
    name,
    atomicNumbers: i32('atomic_numbers'),
    cell: f64('cell'),
    periodic: pbc.some((p) => p !== 0),
    edgeIndex: i32('edge_index'),
    edgeVec: f64('edge_vec'),
    offsets: i32('offsets'),
    reverse: i32('reverse'),
    charge: s.charge,
    spin: s.spin,
    task: s.task_index,
    ref: { dense: ref('dense'), mole: ref('mole') },
  };
}

/** The minimal description of a system the model needs. */
export interface GraphSystem {
  atomicNumbers: Int32Array;
  edgeIndex: Int32Array;
  edgeVec: Float64Array;
  offsets: Int32Array;
  reverse: Int32Array;
  charge: number;
  spin: number;
  task: number;
}

/** Concatenates systems into one batched call (atoms sorted by system, edges grouped by centre). */
export function makeFeeds(systems: GraphSystem[], dtype: 'float32' | 'float64'): Record<string, ort.Tensor> {
  const N = systems.reduce((a, s) => a + s.atomicNumbers.length, 0);
  const E = systems.reduce((a, s) => a + s.reverse.length, 0);
  const Z = new Int32Array(N);
  const sys = new Int32Array(N);
  const ei = new Int32Array(2 * E);
  const vec = dtype === 'float64' ? new Float64Array(3 * E) : new Float32Array(3 * E);
  const off = new Int32Array(N + 1);
  const rev = new Int32Array(E);
  let n0 = 0;
  let e0 = 0;
  systems.forEach((s, b) => {
    const n = s.atomicNumbers.length;
    const e = s.reverse.length;
    Z.set(s.atomicNumbers, n0);
    sys.fill(b, n0, n0 + n);
    for (let k = 0; k < e; k++) {
      ei[e0 + k] = s.edgeIndex[k] + n0;
      ei[E + e0 + k] = s.edgeIndex[e + k] + n0;
      rev[e0 + k] = s.reverse[k] + e0;
    }
    for (let k = 0; k < 3 * e; k++) vec[3 * e0 + k] = s.edgeVec[k];
    for (let k = 0; k <= n; k++) off[n0 + k] = s.offsets[k] + e0;
    n0 += n;
    e0 += e;
  });
  const ints = (a: number[]): Int32Array => Int32Array.from(a);
  return {
    atomic_numbers: new ort.Tensor('int32', Z, [N]),
    edge_index: new ort.Tensor('int32', ei, [2, E]),
    edge_vec: new ort.Tensor(dtype, vec, [E, 3]),
    system_index: new ort.Tensor('int32', sys, [N]),
    charge: new ort.Tensor('int32', ints(systems.map((s) => s.charge)), [systems.length]),
    spin: new ort.Tensor('int32', ints(systems.map((s) => s.spin)), [systems.length]),
    task: new ort.Tensor('int32', ints(systems.map((s) => s.task)), [systems.length]),
    offsets: new ort.Tensor('int32', off, [N + 1]),
    reverse: new ort.Tensor('int32', rev, [E]),
  };
}

/** Forces (eV/Å in raw units): F_i = Σ_{pairs with centre i} g − Σ_{pairs with neighbour i} g. */
export function forcesFromEdgeGrad(edgeIndex: Int32Array, g: ArrayLike<number>, nAtoms: number): Float64Array {
  const E = edgeIndex.length / 2;
  const F = new Float64Array(3 * nAtoms);
  for (let e = 0; e < E; e++) {
    const j = edgeIndex[e];
    const i = edgeIndex[E + e];
    for (let a = 0; a < 3; a++) {
      F[3 * i + a] += g[3 * e + a];
      F[3 * j + a] -= g[3 * e + a];
    }
  }
  return F;
}

/** Stress (raw energy / Å³): σ = sym(Σ_e g_e ⊗ vec_e) / V, row-major 3×3. */
export function stressFromEdgeGrad(g: ArrayLike<number>, vec: ArrayLike<number>, cell: ArrayLike<number>): Float64Array {
  const W = new Float64Array(9);
  const E = vec.length / 3;
  for (let e = 0; e < E; e++) {
    for (let a = 0; a < 3; a++) for (let b = 0; b < 3; b++) W[3 * a + b] += g[3 * e + a] * vec[3 * e + b];
  }
  const c = cell;
  const V = Math.abs(
    c[0] * (c[4] * c[8] - c[5] * c[7]) - c[1] * (c[3] * c[8] - c[5] * c[6]) + c[2] * (c[3] * c[7] - c[4] * c[6]),
  );
  const S = new Float64Array(9);
  for (let a = 0; a < 3; a++) for (let b = 0; b < 3; b++) S[3 * a + b] = (W[3 * a + b] + W[3 * b + a]) / (2 * V);
  return S;
}

/** max |a − b| / max |b| (0/0 counts as 0). */
export function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Infinity;
  let num = 0;
  let den = 0;
  for (let k = 0; k < b.length; k++) {
    num = Math.max(num, Math.abs(Number(a[k]) - Number(b[k])));
    den = Math.max(den, Math.abs(Number(b[k])));
  }
  return den === 0 ? num : num / den;
}

/** Opens a committed model with deterministic session options. */
export async function openModel(name: string, threads = 1): Promise<ort.InferenceSession> {
  return ort.InferenceSession.create(join(REPO, 'models', name, 'model.onnx'), {
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
  });
}

/** Output arrays of one run. */
export interface ModelOutputs {
  energy: Float64Array;
  atomEnergy: Float64Array;
  edgeGrad: Float64Array;
  nodeEmbedding: Float64Array;
  raw: Record<string, Float32Array | Float64Array>;
}

export async function runModel(session: ort.InferenceSession, feeds: Record<string, ort.Tensor>): Promise<ModelOutputs> {
  const out = await session.run(feeds);
  const raw: Record<string, Float32Array | Float64Array> = {};
  for (const [k, t] of Object.entries(out)) raw[k] = t.data as Float32Array | Float64Array;
  const f = (k: string): Float64Array => Float64Array.from(raw[k]);
  return { energy: f('energy'), atomEnergy: f('atom_energy'), edgeGrad: f('edge_grad'), nodeEmbedding: f('node_embedding'), raw };
}
