/**
 * The large-system graph (model.json `large_graph`, `model.large.onnx`: the same network with each
 * layer's pairs processed in chunks of centre atoms, each chunk building its own pair geometry): it
 * must give the default graph's results to rounding, be chosen by pair count, and a model folder
 * that lists it without the file must be refused at load.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Potential, type ComputeResult } from '../../src/calculator/potential.js';
import { DEFAULT_MODEL_DIR } from '../../src/cli/model.js';
import { readFrames } from '../../src/io/index.js';
import { Structure } from '../../src/structure/structure.js';
import { REPO } from './fixture-data.js';

const F64 = join(DEFAULT_MODEL_DIR, 'float64');
const FRAMES = readFrames(join(REPO, 'test', 'fixtures', 'shipped', 'test-frames.extxyz'));

/** Largest |a − b| over two arrays. */
function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let k = 0; k < a.length; k++) m = Math.max(m, Math.abs(a[k] - b[k]));
  return m;
}

let usual: Potential;
let large: Potential;
const notices: string[] = [];
beforeAll(async () => {
  usual = await Potential.load(F64, { threads: 1, largeGraphMinPairs: Infinity, onNotice: (m) => notices.push(`usual: ${m}`) });
  large = await Potential.load(F64, { threads: 1, largeGraphMinPairs: 0, onNotice: (m) => notices.push(m) });
});
afterAll(async () => {
  await usual.dispose();
  await large.dispose();
});

describe('large-system graph', () => {
  it('is listed by the shipped model', () => {
    expect(usual.metadata.largeGraph).toEqual({ file: 'model.large.onnx', edgeChunks: 8, minPairs: 32768 });
  });

  it('gives the default graph\'s energy, forces, stress and embeddings (float64, metal and a charged molecule)', async () => {
    const metal = FRAMES.find((s) => s.info.task === 'metal' && s.pbc.every(Boolean))!;
    const molecule = FRAMES.find((s) => s.info.task === 'mol' && s.charge !== 0 && s.length >= 10)!;
    expect(metal).toBeDefined();
    expect(molecule).toBeDefined();
    for (const s of [metal, molecule]) {
      const opts = { task: usual.defaultTask(s), atomEnergies: true, embeddings: 'equivariant' as const };
      const a: ComputeResult = await usual.compute(s, opts);
      const b: ComputeResult = await large.compute(s, opts);
      expect(Math.abs(a.energy - b.energy) / s.length).toBeLessThan(1e-11);
      expect(maxDiff(a.forces!, b.forces!)).toBeLessThan(1e-10);
      if (a.stress) expect(maxDiff(a.stress, b.stress!)).toBeLessThan(1e-11);
      expect(maxDiff(a.atomEnergies!, b.atomEnergies!)).toBeLessThan(1e-10);
      expect(maxDiff(a.embeddings!.equivariant!.data, b.embeddings!.equivariant!.data)).toBeLessThan(1e-10);
    }
    // the one-time session creation was announced, once, and only by the potential that used it
    expect(notices).toHaveLength(2);
    expect(notices[0]).toMatch(/preparing the large-system graph model\.large\.onnx/);
    expect(notices[1]).toMatch(/large-system graph ready after [0-9.]+ s/);
  });

  it('batches on the large graph equal single calls on the default one', async () => {
    const metals = FRAMES.filter((s) => s.info.task === 'metal').slice(0, 3);
    const batch = await large.computeBatch(metals, { task: 'metal' });
    for (let k = 0; k < metals.length; k++) {
      const one = await usual.compute(metals[k], { task: 'metal' });
      expect(Math.abs(batch[k].energy - one.energy) / metals[k].length).toBeLessThan(1e-11);
      expect(maxDiff(batch[k].forces!, one.forces!)).toBeLessThan(1e-10);
    }
  });

  it('runs a structure with no pairs and an isolated atom', async () => {
    const s = Structure.fromArrays({ numbers: [6, 1, 8], positions: [0, 0, 0, 1.09, 0, 0, 20, 0, 0] });
    const a = await usual.compute(s, { task: 'mol' });
    const b = await large.compute(s, { task: 'mol' });
    expect(Math.abs(a.energy - b.energy)).toBeLessThan(1e-10);
    expect(maxDiff(a.forces!, b.forces!)).toBeLessThan(1e-10);
    const single = Structure.fromArrays({ numbers: [8], positions: [0, 0, 0] });
    expect((await large.compute(single, { task: 'mol' })).energy).toBeCloseTo((await usual.compute(single, { task: 'mol' })).energy, 10);
  });

  it('refuses a model folder that lists it without the file, and a malformed entry', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'equiforce-large-'));
    try {
      copyFileSync(join(F64, 'model.onnx'), join(dir, 'model.onnx'));
      copyFileSync(join(F64, 'model.json'), join(dir, 'model.json'));
      await expect(Potential.load(dir)).rejects.toThrow(/model\.large\.onnx: missing/);
      const meta = JSON.parse(readFileSync(join(F64, 'model.json'), 'utf8')) as Record<string, unknown>;
      writeFileSync(join(dir, 'model.json'), JSON.stringify({ ...meta, large_graph: { file: '../elsewhere.onnx', edge_chunks: 8, min_pairs: 1 } }));
      await expect(Potential.load(dir)).rejects.toThrow(/large_graph/);
      writeFileSync(join(dir, 'model.json'), JSON.stringify({ ...meta, large_graph: { file: 'model.large.onnx', edge_chunks: 0, min_pairs: 1 } }));
      await expect(Potential.load(dir)).rejects.toThrow(/edge_chunks >= 1/);
      const { large_graph: _dropped, ...without } = meta;
      writeFileSync(join(dir, 'model.json'), JSON.stringify(without));
      const p = await Potential.load(dir, { largeGraphMinPairs: 0 });
      expect(p.metadata.largeGraph).toBeUndefined();
      await p.dispose();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('rejects a negative threshold', async () => {
    await expect(Potential.load(F64, { largeGraphMinPairs: -1 })).rejects.toThrow(/largeGraphMinPairs/);
  });
});
