/**
 * Example: Langevin molecular dynamics of ethanol at 300 K.
 *
 *   npx tsx examples/md-molecule.ts            (writes examples/output/ethanol-md.extxyz, .log, .svg)
 *
 * Steps: load a model, build the molecule, draw Maxwell–Boltzmann velocities, run Langevin
 * dynamics with a trajectory writer and a log attached, then plot energy and temperature.
 * Uses the shipped model, or $EQUIFORCE_MODEL (see shared.ts).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  Langevin,
  MDLogger,
  Potential,
  Structure,
  TrajectoryWriter,
  linePlotSvg,
  maxwellBoltzmannVelocities,
  potentialProvider,
} from '../src/index.js';
import { exampleModel, isMain, outputDir } from './shared.js';

/** Ethanol (Å). */
export const ETHANOL = Structure.fromArrays({
  symbols: ['C', 'C', 'O', 'H', 'H', 'H', 'H', 'H', 'H'],
  positions: [
    [-0.0017, 0.5535, 0.0], [-1.2355, -0.3285, 0.0], [1.1755, -0.2555, 0.0], [1.9335, 0.3465, 0.0], [-0.0417, 1.1925, 0.8845],
    [-0.0417, 1.1925, -0.8845], [-2.1425, 0.2805, 0.0], [-1.2255, -0.9625, 0.8875], [-1.2255, -0.9625, -0.8875],
  ],
});

/** Options of {@link runMoleculeMd}. */
export interface MoleculeMdOptions {
  readonly steps?: number;
  readonly timestepFs?: number;
  readonly temperatureK?: number;
  readonly interval?: number;
  readonly outDir?: string;
  readonly model?: string;
}

/** Run the example; returns the output paths and the mean temperature. */
export async function runMoleculeMd(options: MoleculeMdOptions = {}): Promise<{ trajectory: string; log: string; plot: string; meanTemperatureK: number; frames: number }> {
  const steps = options.steps ?? 2000;
  const interval = options.interval ?? 10;
  const temperatureK = options.temperatureK ?? 300;
  const out = outputDir(options.outDir);
  const potential = await Potential.load(options.model ?? exampleModel());
  try {
    // The molecular task ('omol' for UMA, 'mol' for equiforce's model) when the model has several heads.
    const task = potential.defaultTask(ETHANOL);
    const velocities = maxwellBoltzmannVelocities(ETHANOL.masses, temperatureK, { seed: 1 });
    const md = new Langevin(potentialProvider(potential, task), ETHANOL, {
      timestepFs: options.timestepFs ?? 0.5, // 0.5 fs resolves the C–H/O–H stretches
      temperatureK,
      frictionPerFs: 0.01,
      velocities,
      seed: 2,
    });
    const trajectory = join(out, 'ethanol-md.extxyz');
    const log = join(out, 'ethanol-md.log');
    const traj = new TrajectoryWriter(trajectory);
    const logger = new MDLogger(log);
    md.attach(traj.observer, interval);
    md.attach(logger.observer, interval);
    const time: number[] = [];
    const epot: number[] = [];
    const etot: number[] = [];
    const temp: number[] = [];
    md.attach((d) => {
      time.push(d.timeFs);
      epot.push(d.potentialEnergy);
      etot.push(d.totalEnergy);
      temp.push(d.temperature);
    }, interval);
    await md.run(steps);
    traj.close();
    logger.close();
    const plot = join(out, 'ethanol-md.svg');
    writeFileSync(
      plot,
      linePlotSvg({
        title: `Ethanol, Langevin MD at ${temperatureK} K (${potential.metadata.name})`,
        xLabel: 'Time (fs)',
        panels: [
          { yLabel: 'Energy (eV)', series: [{ label: 'potential', color: '#1f77b4', x: time, y: epot }, { label: 'total', color: '#d62728', x: time, y: etot }] },
          { yLabel: 'Temperature (K)', series: [{ label: 'kinetic temperature', color: '#2ca02c', x: time, y: temp }] },
        ],
      }),
    );
    const meanTemperatureK = temp.reduce((a, b) => a + b, 0) / temp.length;
    return { trajectory, log, plot, meanTemperatureK, frames: traj.frames };
  } finally {
    await potential.dispose();
  }
}

if (isMain(import.meta.url)) {
  const r = await runMoleculeMd();
  console.log(`wrote ${r.trajectory} (${r.frames} frames), ${r.log}, ${r.plot}; mean temperature ${r.meanTemperatureK.toFixed(1)} K`);
}
