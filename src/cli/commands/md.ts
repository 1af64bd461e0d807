/**
 * `equiforce md FILE`: molecular dynamics (NVE, NVT Langevin, NPT Langevin + Berendsen) with an
 * extended XYZ trajectory, an optional log and a progress bar; Ctrl-C stops cleanly and writes
 * the last frame.
 *
 * @module
 */
import { BerendsenNPT, Langevin, StochasticCellRescaling, VelocityVerlet, maxwellBoltzmannVelocities } from '../../dynamics/integrators.js';
import type { MolecularDynamics } from '../../dynamics/md.js';
import { MDLogger, TrajectoryWriter } from '../../dynamics/observers.js';
import { potentialProvider } from '../../dynamics/provider.js';
import { gpaToEvPerA3 } from '../../dynamics/units.js';
import { ArgumentError } from '../../errors.js';
import type { CommandSpec, ParsedArgs } from '../args.js';
import { MODEL_OPTIONS, checkOutputPath, modelAndTask, readInput, type CliContext } from '../context.js';
import { ProgressBar, formatDuration } from '../progress.js';

/** Command declaration. */
export const mdSpec: CommandSpec = {
  name: 'md',
  summary: 'molecular dynamics with a trajectory, log and progress bar',
  positionals: ['FILE'],
  options: {
    ...MODEL_OPTIONS,
    steps: { type: 'integer', metavar: 'N', help: 'number of steps (required)' },
    dt: { type: 'number', metavar: 'FS', default: 1, help: 'time step, fs (0.5 with light atoms)' },
    temperature: { type: 'number', metavar: 'K', help: 'thermostat target and initial Maxwell-Boltzmann temperature, K (default 300; with nve and a FILE that has velocities, those are kept unless given)' },
    ensemble: { type: 'string', choices: ['nve', 'nvt', 'npt'], default: 'nvt', help: 'velocity Verlet, Langevin, or Langevin + barostat' },
    barostat: { type: 'string', choices: ['crescale', 'berendsen'], default: 'crescale', help: 'NPT barostat: stochastic cell rescaling (correct volume fluctuations) or Berendsen' },
    friction: { type: 'number', metavar: 'PER_FS', default: 0.01, help: 'Langevin friction, 1/fs' },
    pressure: { type: 'number', metavar: 'GPA', default: 0, help: 'NPT target pressure, GPa' },
    'barostat-time': { type: 'number', metavar: 'FS', default: 1000, help: 'NPT barostat relaxation time, fs' },
    anisotropic: { type: 'boolean', help: 'NPT with --barostat berendsen: scale x, y, z independently from the diagonal pressure components' },
    seed: { type: 'integer', default: 42, help: 'random seed (initial velocities, Langevin noise)' },
    out: { type: 'string', metavar: 'FILE', default: 'md.extxyz', help: 'trajectory (extended XYZ)' },
    interval: { type: 'integer', metavar: 'N', default: 10, help: 'write a frame (and log line) every N steps' },
    log: { type: 'string', metavar: 'FILE', help: 'also write a text log (step, time, energies, T, P)' },
    quiet: { type: 'boolean', help: 'no progress bar' },
  },
  details: 'example: equiforce md ethanol.xyz --steps 1000 --dt 0.5 --temperature 300 --out md.extxyz --model models/test-dense-f32\nCtrl-C stops the run after the current step and writes the last frame.',
};

/** Run the command. */
export async function mdCommand(args: ParsedArgs, ctx: CliContext): Promise<number> {
  const o = args.options;
  if (o.steps === undefined) throw new ArgumentError('--steps N is required (number of MD steps)', 'missing-option');
  const steps = o.steps as number;
  const interval = o.interval as number;
  if (steps < 0) throw new ArgumentError(`--steps must be ≥ 0, got ${steps}`, 'bad-option');
  if (interval < 1) throw new ArgumentError(`--interval must be ≥ 1, got ${interval}`, 'bad-option');
  checkOutputPath(o.out as string, '--out');
  if (o.log) checkOutputPath(o.log as string, '--log');
  const frames = readInput(args.positionals[0]);
  const structure = frames[frames.length - 1];
  const ensemble = o.ensemble as 'nve' | 'nvt' | 'npt';
  if (ensemble === 'npt' && !(structure.pbc[0] && structure.pbc[1] && structure.pbc[2])) {
    throw new ArgumentError('--ensemble npt needs a structure periodic along all three axes (a cell whose volume can change)', 'npt-without-cell');
  }
  const temperature = (o.temperature as number | undefined) ?? 300;
  const hasVelocities = structure.arrays.velocities !== undefined;
  const { potential, task } = await modelAndTask(args, structure, ctx);
  const provider = potentialProvider(potential, task);
  const velocities = ensemble === 'nve' && hasVelocities && o.temperature === undefined ? undefined : maxwellBoltzmannVelocities(structure.masses, temperature, { seed: o.seed as number });
  const base = { timestepFs: o.dt as number, ...(velocities ? { velocities } : {}) };
  const thermo = { ...base, temperatureK: temperature, frictionPerFs: o.friction as number, seed: (o.seed as number) + 1 };
  let md: MolecularDynamics;
  if (ensemble === 'nve') md = new VelocityVerlet(provider, structure, base);
  else if (ensemble === 'nvt') md = new Langevin(provider, structure, thermo);
  else {
    const npt = { ...thermo, pressure: gpaToEvPerA3(o.pressure as number), barostatTimeFs: o['barostat-time'] as number };
    if (o.barostat === 'berendsen') md = new BerendsenNPT(provider, structure, { ...npt, anisotropic: Boolean(o.anisotropic) });
    else if (o.anisotropic) throw new ArgumentError('--anisotropic needs --barostat berendsen (stochastic cell rescaling is isotropic)', 'bad-option');
    else md = new StochasticCellRescaling(provider, structure, npt);
  }

  const traj = new TrajectoryWriter(o.out as string);
  const log = o.log ? new MDLogger(o.log as string) : undefined;
  const bar = o.quiet ? undefined : new ProgressBar(steps, ctx.progressStream);
  let tSum = 0;
  let tCount = 0;
  md.attach(traj.observer, interval);
  if (log) md.attach(log.observer, interval);
  md.attach((d) => {
    tSum += d.temperature;
    tCount++;
    bar?.update(d.steps, `T=${d.temperature.toFixed(1)} K  Etot=${d.totalEnergy.toFixed(4)} eV`);
  });
  ctx.err(`${ensemble.toUpperCase()} MD of ${structure.formula} (${structure.length} atoms): ${steps} steps of ${o.dt} fs${ensemble === 'nve' ? '' : ` at ${temperature} K`}${ensemble === 'npt' ? ` and ${o.pressure} GPa` : ''}`);
  const t0 = performance.now();
  let summary;
  try {
    summary = await md.run(steps, { signal: ctx.signal });
  } finally {
    traj.write(md); // the last frame, also after Ctrl-C (skipped when already written)
    traj.close();
    log?.close();
    await potential.dispose();
  }
  const wall = (performance.now() - t0) / 1000;
  if (summary.aborted) bar?.finish();
  ctx.err(
    `${summary.aborted ? `interrupted after ${summary.steps} of ${steps} steps` : `done: ${summary.steps} steps`} (${(md.timeFs).toFixed(1)} fs) in ${formatDuration(wall)}, ` +
      `${(summary.steps / Math.max(wall, 1e-9)).toFixed(1)} steps/s; mean T ${(tSum / Math.max(1, tCount)).toFixed(1)} K; ` +
      `final Epot ${md.potentialEnergy.toFixed(6)} eV, Etot ${md.totalEnergy.toFixed(6)} eV; ${traj.frames} frames written to ${traj.path}`,
  );
  return summary.aborted ? 130 : 0;
}
