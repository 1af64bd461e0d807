/**
 * `equiforce relax FILE`: relax atoms (and optionally the cell) with FIRE or L-BFGS.
 *
 * @module
 */
import { potentialProvider } from '../../dynamics/provider.js';
import { gpaToEvPerA3 } from '../../dynamics/units.js';
import { ArgumentError } from '../../errors.js';
import { ExtxyzWriter } from '../../io/extxyz.js';
import { writeStructure } from '../../io/detect.js';
import { relax } from '../../optimize/relax.js';
import type { CommandSpec, ParsedArgs } from '../args.js';
import { MODEL_OPTIONS, checkOutputPath, modelAndTask, readInput, type CliContext } from '../context.js';

/** Command declaration. */
export const relaxSpec: CommandSpec = {
  name: 'relax',
  summary: 'relax atomic positions (and the cell with --cell) to a force threshold',
  positionals: ['FILE'],
  options: {
    ...MODEL_OPTIONS,
    fmax: { type: 'number', metavar: 'EV_PER_A', default: 0.05, help: 'stop when every force is below this, eV/Å' },
    cell: { type: 'boolean', help: 'also relax the cell (Fréchet cell filter; needs a fully periodic structure)' },
    pressure: { type: 'number', metavar: 'GPA', default: 0, help: 'external pressure for --cell, GPa' },
    optimizer: { type: 'string', choices: ['fire', 'lbfgs'], default: 'lbfgs', help: 'optimizer' },
    'max-steps': { type: 'integer', metavar: 'N', default: 1000, help: 'largest number of optimizer steps' },
    'max-step': { type: 'number', metavar: 'A', default: 0.2, help: 'largest displacement per step, Å' },
    out: { type: 'string', metavar: 'FILE', default: 'relaxed.extxyz', help: 'relaxed structure (.extxyz/.xyz or POSCAR/.vasp)' },
    trajectory: { type: 'string', metavar: 'FILE', help: 'also write every step to this extended XYZ file' },
    quiet: { type: 'boolean', help: 'no per-step output' },
  },
  details: 'exit status 1 when the force threshold was not reached within --max-steps.\nexample: equiforce relax slab.vasp --fmax 0.02 --cell --out relaxed.extxyz --model models/test-dense-f64',
};

/** Run the command. */
export async function relaxCommand(args: ParsedArgs, ctx: CliContext): Promise<number> {
  const o = args.options;
  if (!((o.fmax as number) > 0)) throw new ArgumentError(`--fmax must be positive (eV/Å), got ${o.fmax}`, 'bad-option');
  checkOutputPath(o.out as string, '--out');
  if (o.trajectory) checkOutputPath(o.trajectory as string, '--trajectory');
  const frames = readInput(args.positionals[0]);
  const structure = frames[frames.length - 1];
  if (o.cell && !(structure.pbc[0] && structure.pbc[1] && structure.pbc[2])) {
    throw new ArgumentError('--cell needs a structure periodic along all three axes', 'cell-filter-without-cell');
  }
  const { potential, task } = await modelAndTask(args, structure, ctx);
  const traj = o.trajectory ? new ExtxyzWriter(o.trajectory as string) : undefined;
  try {
    if (!o.quiet) ctx.err('  step        energy[eV]      fmax[eV/Å]');
    const result = await relax(potentialProvider(potential, task), structure, {
      optimizer: o.optimizer as 'fire' | 'lbfgs',
      fmax: o.fmax as number,
      maxSteps: o['max-steps'] as number,
      maxStep: o['max-step'] as number,
      cell: o.cell ? { scalarPressure: gpaToEvPerA3(o.pressure as number) } : false,
      signal: ctx.signal,
      observer: ({ step, energy, fmax, optimizer }) => {
        if (!o.quiet) ctx.err(`${String(step).padStart(6)}  ${energy.toFixed(8).padStart(16)}  ${fmax.toExponential(4).padStart(14)}`);
        traj?.write(optimizer.target.structure());
      },
    });
    writeStructure(o.out as string, result.structure);
    const what = result.converged ? 'converged' : result.aborted ? 'interrupted' : `NOT converged (fmax ${result.fmax.toExponential(3)} > ${o.fmax})`;
    ctx.err(`${what} after ${result.steps} steps: energy ${result.energy.toFixed(6)} eV${o.cell ? ` (enthalpy), volume ${result.structure.volume.toFixed(4)} Å³` : ''}; written to ${o.out}`);
    return result.converged ? 0 : result.aborted ? 130 : 1;
  } finally {
    traj?.close();
    await potential.dispose();
  }
}
