/** Bad inputs give typed errors that name the problem, before ONNX runs; the potential stays usable. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync, readFileSync, copyFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Potential } from '../../src/calculator/potential.js';
import { ArgumentError, ModelError, StructureError } from '../../src/errors.js';
import { Structure } from '../../src/structure/structure.js';
import { REPO } from '../model/fixture-data.js';

const MODEL = join(REPO, 'models', 'test-dense-f64');
let potential: Potential;
beforeAll(async () => {
  potential = await Potential.load(MODEL, { threads: 1 });
});
afterAll(async () => potential.dispose());

const water = (): Structure => Structure.fromArrays({ symbols: ['O', 'H', 'H'], positions: [[0, 0, 0], [0.96, 0, 0], [-0.24, 0.93, 0]] });

async function expectStillWorks(): Promise<void> {
  const r = await potential.compute(water(), { task: 'omol' });
  expect(Number.isFinite(r.energy)).toBe(true);
}

describe('structure and option errors', () => {
  it('element the model does not know', async () => {
    const s = Structure.fromArrays({ numbers: [8, 1, 105], positions: [[0, 0, 0], [0.96, 0, 0], [-0.24, 0.93, 0]] });
    await expect(potential.compute(s, { task: 'omol' })).rejects.toThrow(/atomic number 105/);
    await expect(potential.compute(s, { task: 'omol' })).rejects.toBeInstanceOf(StructureError);
    await expectStillWorks();
  });

  it('NaN coordinates written into a structure after construction', async () => {
    const s = water();
    (s.positions as Float64Array)[4] = Number.NaN;
    await expect(potential.compute(s, { task: 'omol' })).rejects.toThrow(/atom 1 has a non-finite coordinate/);
    await expectStillWorks();
  });

  it('charge and spin out of range, charge on a task that ignores it', async () => {
    await expect(potential.compute(water().with({ charge: 500 }), { task: 'omol' })).rejects.toThrow(/charge 500/);
    await expect(potential.compute(water().with({ spin: 400 }), { task: 'omol' })).rejects.toThrow(/spin multiplicity 400/);
    await expect(potential.compute(water().with({ charge: 1 }), { task: 'omat' })).rejects.toThrow(/expects charge 0/);
    await expectStillWorks();
  });

  it('missing and unknown task', async () => {
    await expect(potential.compute(water())).rejects.toThrow(/several tasks/);
    await expect(potential.compute(water(), { task: 'nope' })).rejects.toBeInstanceOf(ArgumentError);
    await expectStillWorks();
  });

  it('a plain object instead of a Structure (JavaScript callers)', async () => {
    const lookalike = { numbers: [8, 1, 1], positions: [0, 0, 0, 0.96, 0, 0, -0.24, 0.93, 0] } as unknown as Structure;
    await expect(potential.compute(lookalike, { task: 'omol' })).rejects.toThrow(/structure 0 is not a Structure \(got an object with keys numbers, positions\)/);
    await expect(potential.computeBatch([water(), lookalike], { task: 'omol' })).rejects.toBeInstanceOf(ArgumentError);
    await expect(potential.computeBatch([water(), null as unknown as Structure], { task: 'omol' })).rejects.toThrow(/structure 1 is not a Structure \(got null\)/);
    await expectStillWorks();
  });

  it('pbc with a zero cell is rejected when the structure is made', () => {
    expect(() => Structure.fromArrays({ symbols: ['Cu'], positions: [[0, 0, 0]], pbc: true })).toThrow(StructureError);
  });

  it('stress of a molecule', async () => {
    await expect(potential.compute(water(), { task: 'omol', stress: true })).rejects.toThrow(/periodic/);
    await expectStillWorks();
  });

  it('a structure above the size limit', async () => {
    const small = await Potential.load(MODEL, { threads: 1, maxPairsPerCall: 4 });
    try {
      await expect(small.compute(water(), { task: 'omol' })).rejects.toThrow(/exceed this potential's limit/);
      const single = Structure.fromArrays({ symbols: ['O', 'H'], positions: [[0, 0, 0], [0.96, 0, 0]] });
      expect(Number.isFinite((await small.compute(single, { task: 'omol' })).energy)).toBe(true);
    } finally {
      await small.dispose();
    }
  });

  it('a disposed potential says so', async () => {
    const p = await Potential.load(MODEL);
    await p.dispose();
    await expect(p.compute(water(), { task: 'omol' })).rejects.toThrow(/disposed/);
  });
});

describe('model folder errors', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'equiforce-model-'));
  const folder = (name: string, json?: string, onnx?: string): string => {
    const dir = join(tmp, name);
    mkdirSync(dir, { recursive: true });
    if (json !== undefined) writeFileSync(join(dir, 'model.json'), json);
    if (onnx !== undefined) copyFileSync(onnx, join(dir, 'model.onnx'));
    return dir;
  };
  const goodJson = readFileSync(join(MODEL, 'model.json'), 'utf8');

  it('missing folder, missing model.json, missing model.onnx', async () => {
    await expect(Potential.load(join(tmp, 'nowhere'))).rejects.toThrow(/model folder not found/);
    await expect(Potential.load(folder('no-json'))).rejects.toThrow(/model\.json: missing/);
    await expect(Potential.load(folder('no-onnx', goodJson))).rejects.toThrow(/model\.onnx: missing/);
  });

  it('malformed or foreign model.json, unknown format version', async () => {
    await expect(Potential.load(folder('bad-json', '{ nope'))).rejects.toThrow(/malformed JSON/);
    await expect(Potential.load(folder('foreign', '{"format": "something-else"}'))).rejects.toThrow(/not an equiforce model/);
    const future = JSON.stringify({ ...JSON.parse(goodJson), format_version: 99 });
    await expect(Potential.load(folder('future', future))).rejects.toThrow(/format version 99 is not supported/);
    const noCutoff = JSON.parse(goodJson);
    delete noCutoff.cutoff_angstrom;
    await expect(Potential.load(folder('no-cutoff', JSON.stringify(noCutoff)))).rejects.toThrow(/cutoff_angstrom/);
  });

  it('an ONNX file that is not ours, or not ONNX at all', async () => {
    const notOurs = join(REPO, 'test', 'fixtures', 'models', 'not-ours', 'model.onnx');
    await expect(Potential.load(folder('not-ours', goodJson, notOurs))).rejects.toThrow(/not an equiforce model graph \(missing input "atomic_numbers"/);
    const garbage = join(tmp, 'garbage.onnx');
    writeFileSync(garbage, 'this is not a protobuf');
    await expect(Potential.load(folder('garbage', goodJson, garbage))).rejects.toBeInstanceOf(ModelError);
  });

  it('cuda without the CUDA provider fails with install instructions (no silent fallback)', async () => {
    await expect(Potential.load(MODEL, { device: 'cuda' })).rejects.toThrow(/onnxruntime-node-install=cuda12/);
    const fallback = await Potential.load(MODEL, { device: 'cuda', allowCpuFallback: true });
    expect(fallback.device).toBe('cpu');
    await fallback.dispose();
  });
});
