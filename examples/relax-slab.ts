/**
 * Example: relax a Cu(100) slab, positions and in-plane cell together, with a Fréchet cell filter.
 *
 *   npx tsx examples/relax-slab.ts            (writes examples/output/cu100-relaxed.extxyz)
 *
 * The slab is periodic along all three axes with 12 Å of vacuum along c (stress needs a full
 * cell). The cell-filter mask relaxes only the in-plane strains (xx, yy, xy), so the vacuum gap
 * is kept while the surface lattice and the atomic layers relax.
 * Uses the shipped model, or $EQUIFORCE_MODEL (see shared.ts).
 */
import { join } from 'node:path';
import { FIRE, FrechetCellFilter, Potential, Structure, potentialProvider, writeExtxyz } from '../src/index.js';
import { exampleModel, isMain, outputDir } from './shared.js';

/** An fcc(100) slab: `nx`×`ny` surface cells, `layers` atomic layers, lattice constant `a` (Å), `vacuum` (Å). */
export function fcc100Slab(symbol: string, a: number, nx: number, ny: number, layers: number, vacuum: number): Structure {
  const d = a / Math.SQRT2; // surface square lattice spacing
  const dz = a / 2; // interlayer spacing
  const symbols: string[] = [];
  const positions: number[][] = [];
  for (let l = 0; l < layers; l++) {
    const shift = l % 2 === 0 ? 0 : d / 2;
    for (let i = 0; i < nx; i++) for (let j = 0; j < ny; j++) {
      symbols.push(symbol);
      positions.push([i * d + shift, j * d + shift, vacuum / 2 + l * dz]);
    }
  }
  return Structure.fromArrays({ symbols, positions, cell: [[nx * d, 0, 0], [0, ny * d, 0], [0, 0, (layers - 1) * dz + vacuum]], pbc: true });
}

/** Options of {@link runSlabRelaxation}. */
export interface SlabOptions {
  readonly fmax?: number;
  readonly maxSteps?: number;
  readonly outDir?: string;
  readonly model?: string;
}

/** Run the example. */
export async function runSlabRelaxation(options: SlabOptions = {}): Promise<{ output: string; initialEnergy: number; finalEnergy: number; converged: boolean; steps: number; initial: Structure; relaxed: Structure }> {
  // A slightly compressed lattice constant (3.55 Å vs ~3.61 Å for Cu) gives the cell something to do.
  const slab = fcc100Slab('Cu', 3.55, 2, 2, 4, 12);
  const potential = await Potential.load(options.model ?? exampleModel());
  try {
    // The materials task ('omat' for UMA, 'metal' for equiforce's model) when the model has several heads.
    const task = potential.defaultTask(slab) ?? potential.tasks[0];
    const filter = new FrechetCellFilter(potentialProvider(potential, task), slab, { mask: [true, true, false, false, false, true] });
    const optimizer = new FIRE(filter, { maxStep: 0.1 });
    let initialEnergy = Number.NaN;
    optimizer.attach(({ step, energy, fmax }) => {
      if (step === 0) initialEnergy = energy;
      if (step % 10 === 0) console.log(`step ${String(step).padStart(4)}  E = ${energy.toFixed(6)} eV  fmax = ${fmax.toExponential(3)} eV/Å`);
    });
    const result = await optimizer.run({ fmax: options.fmax ?? 0.02, maxSteps: options.maxSteps ?? 300 });
    const output = join(outputDir(options.outDir), 'cu100-relaxed.extxyz');
    writeExtxyz(output, result.structure);
    return { output, initialEnergy, finalEnergy: result.energy, converged: result.converged, steps: result.steps, initial: slab, relaxed: result.structure };
  } finally {
    await potential.dispose();
  }
}

if (isMain(import.meta.url)) {
  const r = await runSlabRelaxation();
  const a0 = Math.hypot(r.initial.cell[0], r.initial.cell[1]) / 2;
  const a1 = Math.hypot(r.relaxed.cell[0], r.relaxed.cell[1]) / 2;
  console.log(`${r.converged ? 'converged' : 'stopped'} after ${r.steps} steps: E ${r.initialEnergy.toFixed(4)} → ${r.finalEnergy.toFixed(4)} eV; surface spacing ${a0.toFixed(4)} → ${a1.toFixed(4)} Å; wrote ${r.output}`);
}
