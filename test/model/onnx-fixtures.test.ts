/**
 * The committed ONNX models (models/test-*), run by onnxruntime-node, must reproduce fairchem's own
 * outputs (test/fixtures/uma, random float64 weights): energies, per-atom energies, dE/d(edge_vec),
 * node embeddings, and forces/stress reduced from edge_grad. Plus edge cases (no edges, isolated
 * atoms), batching (mixed tasks and compositions == one system per call) and determinism.
 */
import { describe, expect, it } from 'vitest';
import type * as ort from 'onnxruntime-node';
import {
  type FixtureSystem,
  type GraphSystem,
  ISOLATED_ATOMS,
  SYSTEM_NAMES,
  forcesFromEdgeGrad,
  loadSystem,
  makeFeeds,
  openModel,
  relErr,
  runModel,
  stressFromEdgeGrad,
} from './fixture-data.js';

const systems: FixtureSystem[] = SYSTEM_NAMES.map(loadSystem);
const byName = (n: string): FixtureSystem => systems.find((s) => s.name === n) as FixtureSystem;

const CONFIGS = [
  { tag: 'dense' as const, f64: 'test-dense-f64', f32: 'test-dense-f32' },
  { tag: 'mole' as const, f64: 'test-mole-f64', f32: 'test-mole-f32' },
];

function emptySystem(z: number, task: number): GraphSystem {
  return {
    atomicNumbers: Int32Array.from([z]),
    edgeIndex: new Int32Array(0),
    edgeVec: new Float64Array(0),
    offsets: Int32Array.from([0, 0]),
    reverse: new Int32Array(0),
    charge: 0,
    spin: 0,
    task,
  };
}

/** Appends atoms without neighbours to a system (their CSR rows are empty). */
function withIsolatedAtoms(s: GraphSystem, zs: number[]): GraphSystem {
  const n = s.atomicNumbers.length;
  const Z = new Int32Array(n + zs.length);
  Z.set(s.atomicNumbers);
  Z.set(zs, n);
  const off = new Int32Array(n + zs.length + 1);
  off.set(s.offsets);
  off.fill(s.offsets[n], n + 1);
  return { ...s, atomicNumbers: Z, offsets: off };
}

function allFinite(a: ArrayLike<number>): boolean {
  for (let k = 0; k < a.length; k++) if (!Number.isFinite(a[k])) return false;
  return true;
}

function bitwiseEqual(a: Float32Array | Float64Array, b: Float32Array | Float64Array): boolean {
  if (a.length !== b.length) return false;
  const ua = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  const ub = new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
  for (let k = 0; k < ua.length; k++) if (ua[k] !== ub[k]) return false;
  return true;
}

for (const cfg of CONFIGS) {
  describe(`${cfg.f64} (float64) vs fairchem`, () => {
    let session: ort.InferenceSession;

    it.each(SYSTEM_NAMES)('%s: energy, atom energies, edge_grad, embeddings, forces, stress', async (name) => {
      session ??= await openModel(cfg.f64);
      const s = byName(name);
      const ref = s.ref[cfg.tag];
      const out = await runModel(session, makeFeeds([s], 'float64'));
      expect(relErr(out.energy, [ref.energy])).toBeLessThanOrEqual(1e-9);
      expect(relErr(out.atomEnergy, ref.atomEnergy)).toBeLessThanOrEqual(1e-9);
      expect(relErr(out.edgeGrad, ref.edgeGrad)).toBeLessThanOrEqual(1e-9);
      expect(relErr(out.nodeEmbedding, ref.nodeEmbedding)).toBeLessThanOrEqual(1e-9);
      const F = forcesFromEdgeGrad(s.edgeIndex, out.edgeGrad, s.atomicNumbers.length);
      expect(relErr(F, ref.forces)).toBeLessThanOrEqual(1e-9);
      if (s.periodic && ref.stress) {
        expect(relErr(stressFromEdgeGrad(out.edgeGrad, s.edgeVec, s.cell), ref.stress)).toBeLessThanOrEqual(1e-9);
      }
    });

    it('one batch of mixed tasks, charges, spins and compositions equals one system per call', async () => {
      session ??= await openModel(cfg.f64);
      const batch = ['water', 'cu_fcc_2x2x2', 'co2_cation_linear_y', 'nakcl_triclinic', 'ethanol'].map(byName);
      const out = await runModel(session, makeFeeds(batch, 'float64'));
      let e0 = 0;
      batch.forEach((s, b) => {
        const ref = s.ref[cfg.tag];
        expect(relErr([out.energy[b]], [ref.energy])).toBeLessThanOrEqual(1e-9);
        const E = s.reverse.length;
        expect(relErr(out.edgeGrad.subarray(3 * e0, 3 * (e0 + E)), ref.edgeGrad)).toBeLessThanOrEqual(1e-9);
        e0 += E;
      });
    });

    it.each(ISOLATED_ATOMS.map((a) => [a.z, a.task, a] as const))(
      'a single atom without edges (Z=%i, %s) matches the PyTorch port',
      async (_z, _task, atom) => {
        session ??= await openModel(cfg.f64);
        const sys = { ...emptySystem(atom.z, atom.task_index), charge: atom.charge, spin: atom.spin };
        const out = await runModel(session, makeFeeds([sys], 'float64'));
        expect(out.edgeGrad.length).toBe(0);
        expect(out.atomEnergy[0]).toBe(out.energy[0]);
        expect(relErr(out.energy, [atom[cfg.tag].energy])).toBeLessThanOrEqual(1e-9);
        expect(relErr(out.nodeEmbedding, atom[cfg.tag].node_embedding)).toBeLessThanOrEqual(1e-9);
      },
    );

    it('a molecule with an isolated atom: the isolated atom gets no force, others are finite', async () => {
      session ??= await openModel(cfg.f64);
      const water = byName('water');
      const withAtom = withIsolatedAtoms(water, [8]);
      const out = await runModel(session, makeFeeds([withAtom], 'float64'));
      const F = forcesFromEdgeGrad(water.edgeIndex, out.edgeGrad, 4);
      expect(Array.from(F.subarray(9, 12))).toEqual([0, 0, 0]);
      expect(allFinite(out.energy) && allFinite(F)).toBe(true);
      if (cfg.tag === 'dense') {
        // Without MoLE routing the energy is local: the far atom adds exactly its own isolated energy.
        const alone = await runModel(session, makeFeeds([{ ...emptySystem(8, water.task), charge: water.charge, spin: water.spin }], 'float64'));
        expect(relErr([out.energy[0]], [water.ref.dense.energy + alone.energy[0]])).toBeLessThanOrEqual(1e-12);
        expect(relErr(out.edgeGrad, water.ref.dense.edgeGrad)).toBeLessThanOrEqual(1e-9);
      }
      // Batched with an empty system and an ordinary one, the results do not change.
      const batch = await runModel(session, makeFeeds([emptySystem(1, 1), withAtom, byName('ethanol')], 'float64'));
      expect(relErr([batch.energy[1]], [out.energy[0]])).toBeLessThanOrEqual(1e-12);
      expect(relErr([batch.energy[2]], [byName('ethanol').ref[cfg.tag].energy])).toBeLessThanOrEqual(1e-9);
    });
  });

  describe(`${cfg.f32} (float32) vs fairchem`, () => {
    it.each(SYSTEM_NAMES)('%s: energy within 1e-5, forces within 1e-4', async (name) => {
      const session = await openModel(cfg.f32);
      const s = byName(name);
      const ref = s.ref[cfg.tag];
      const out = await runModel(session, makeFeeds([s], 'float32'));
      expect(relErr(out.energy, [ref.energy])).toBeLessThanOrEqual(1e-5);
      const F = forcesFromEdgeGrad(s.edgeIndex, out.edgeGrad, s.atomicNumbers.length);
      expect(relErr(F, ref.forces)).toBeLessThanOrEqual(1e-4);
      if (s.periodic && ref.stress) {
        expect(relErr(stressFromEdgeGrad(out.edgeGrad, s.edgeVec, s.cell), ref.stress)).toBeLessThanOrEqual(1e-4);
      }
    });
  });
}

describe('determinism', () => {
  it.each([
    ['test-mole-f32', 'float32'],
    ['test-dense-f64', 'float64'],
  ] as const)('%s: 10 repeated runs are bitwise identical with 1 and 2 threads (and across them)', async (model, dtype) => {
    const feeds = makeFeeds(['cu_fcc_2x2x2', 'water', 'nakcl_triclinic'].map(byName), dtype);
    const firsts = [];
    for (const threads of [1, 2]) {
      const session = await openModel(model, threads);
      const first = await runModel(session, feeds);
      for (let r = 1; r < 10; r++) {
        const again = await runModel(session, feeds);
        for (const k of Object.keys(first.raw)) expect(bitwiseEqual(again.raw[k], first.raw[k])).toBe(true);
      }
      firsts.push(first);
    }
    // No scatters and no split reductions: the thread count does not change a single bit either.
    for (const k of Object.keys(firsts[0].raw)) expect(bitwiseEqual(firsts[1].raw[k], firsts[0].raw[k])).toBe(true);
  });
});
