/**
 * End-to-end check of an exported equiforce model in Node: loads the folder with Potential.load and
 * compares energies, forces and stress with the PyTorch predictions that `python -m equiforce.train
 * --export` wrote to `<run>/check_frames.json`.
 *
 *   npx tsx python/scripts/check_model_node.ts models/equiforce-small runs/equiforce-small/check_frames.json
 */
import { readFileSync } from 'node:fs';
import { Potential } from '../../src/calculator/potential.js';
import { Structure } from '../../src/structure/structure.js';

interface CheckFrame {
  task: string;
  numbers: number[];
  positions: number[];
  cell: number[];
  pbc: boolean;
  charge: number;
  spin: number;
  energy_label: number;
  energy: number;
  forces: number[];
  stress: number[] | null;
}

async function main(): Promise<void> {
  const [modelDir, checkPath] = process.argv.slice(2);
  if (!modelDir || !checkPath) throw new Error('usage: check_model_node.ts MODEL_DIR CHECK_FRAMES.json');
  const frames = JSON.parse(readFileSync(checkPath, 'utf8')) as CheckFrame[];
  const potential = await Potential.load(modelDir, { threads: 1 });
  let worstE = 0;
  let worstF = 0;
  for (const f of frames) {
    const s = Structure.fromArrays({
      numbers: f.numbers, positions: f.positions, cell: f.cell, pbc: [f.pbc, f.pbc, f.pbc], charge: f.charge, spin: f.spin,
    });
    const r = await potential.compute(s, { task: f.task, stress: f.pbc });
    const dE = Math.abs(r.energy - f.energy) / f.numbers.length;
    let dF = 0;
    const forces = r.forces ?? new Float64Array(0);
    for (let i = 0; i < f.forces.length; i++) dF = Math.max(dF, Math.abs(forces[i] - f.forces[i]));
    worstE = Math.max(worstE, dE);
    worstF = Math.max(worstF, dF);
    console.log(`${f.task} N=${f.numbers.length}: E onnx ${r.energy.toFixed(6)} torch ${f.energy.toFixed(6)} label ${f.energy_label.toFixed(6)} eV; ` +
      `|dE|/N ${(1000 * dE).toExponential(2)} meV, max|dF| ${(1000 * dF).toExponential(2)} meV/Å`);
  }
  console.log(`worst |dE|/N ${(1000 * worstE).toExponential(2)} meV/atom, worst |dF| ${(1000 * worstF).toExponential(2)} meV/Å`);
  await potential.dispose();
  if (!(worstE < 1e-3 && worstF < 1e-2)) process.exit(1);
}

void main();
