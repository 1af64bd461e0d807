/**
 * End to end against fairchem's own UMA code: Structure → our neighbour list → committed ONNX
 * model → forces/stress reduced in TypeScript, compared with the reference fixtures.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { Potential } from '../../src/calculator/potential.js';
import { Structure } from '../../src/structure/structure.js';
import { readFileSync } from 'node:fs';
import { loadSystem, relErr, REPO, SYSTEM_NAMES } from '../model/fixture-data.js';

/** Positions (Å) of a fixture system, from the extracted fixture files. */
function positionsOf(name: string): Float64Array {
  const dir = join(REPO, 'test', 'fixtures', 'uma');
  const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'));
  const entry = manifest.systems[name];
  const { offset, shape } = entry.arrays.positions as { offset: number; shape: number[] };
  const buf = readFileSync(join(dir, entry.file));
  const n = shape[0] * shape[1];
  return new Float64Array(buf.buffer.slice(buf.byteOffset + offset, buf.byteOffset + offset + 8 * n));
}

const TASKS = ['oc20', 'omol', 'omat', 'odac', 'omc'];

function structureOf(name: string): Structure {
  const s = loadSystem(name);
  return new Structure({
    numbers: s.atomicNumbers,
    positions: positionsOf(name),
    cell: s.periodic ? s.cell : new Float64Array(9),
    pbc: [s.periodic, s.periodic, s.periodic],
    charge: s.charge,
    spin: s.spin,
  });
}

const voigtOf = (m: ArrayLike<number>): number[] => [m[0], m[4], m[8], m[5], m[2], m[1]];

for (const [tag, dtype, tolE, tolF] of [
  ['dense', 'f64', 1e-9, 1e-9],
  ['mole', 'f64', 1e-9, 1e-9],
  ['dense', 'f32', 1e-5, 1e-4],
  ['mole', 'f32', 1e-5, 1e-4],
] as const) {
  describe(`Potential(test-${tag}-${dtype}) vs fairchem fixtures`, () => {
    let potential: Potential;
    beforeAll(async () => {
      potential = await Potential.load(join(REPO, 'models', `test-${tag}-${dtype}`), { threads: 1 });
    });
    afterAll(async () => potential.dispose());

    for (const name of SYSTEM_NAMES) {
      it(name, async () => {
        const sys = loadSystem(name);
        const structure = structureOf(name);
        const ref = sys.ref[tag];
        const r = await potential.compute(structure, {
          task: TASKS[sys.task],
          atomEnergies: true,
          embeddings: 'equivariant',
        });
        expect(Math.abs(r.energy - ref.energy) / Math.abs(ref.energy)).toBeLessThan(tolE);
        expect(relErr(r.forces!, ref.forces)).toBeLessThan(tolF);
        expect(relErr(r.atomEnergies!, ref.atomEnergy)).toBeLessThan(tolF);
        expect(relErr(r.embeddings!.equivariant!.data, ref.nodeEmbedding)).toBeLessThan(tolF);
        if (ref.stress) expect(relErr(r.stress!, voigtOf(ref.stress))).toBeLessThan(tolF);
        else expect(r.stress).toBeUndefined();
      });
    }
  });
}
