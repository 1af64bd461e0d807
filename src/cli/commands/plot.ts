/**
 * `equiforce plot TRAJ`: energy and temperature against time as an SVG image.
 *
 * @module
 */
import { writeFileSync } from 'node:fs';
import { basename } from 'node:path';
import { AMU_A2_FS2_IN_EV, BOLTZMANN_EV_PER_K } from '../../dynamics/units.js';
import { ArgumentError, EquiforceError } from '../../errors.js';
import { iterFrames } from '../../io/detect.js';
import type { Structure } from '../../structure/structure.js';
import type { CommandSpec, ParsedArgs } from '../args.js';
import { checkOutputPath, readInput, type CliContext } from '../context.js';
import { linePlotSvg, type LinePanel } from '../svg.js';

/** Command declaration. */
export const plotSpec: CommandSpec = {
  name: 'plot',
  summary: 'plot potential/total energy and temperature of a trajectory against time (SVG)',
  positionals: ['TRAJ'],
  options: { out: { type: 'string', metavar: 'FILE', default: 'energy.svg', help: 'SVG image to write' } },
  details: 'TRAJ: an extended XYZ trajectory, e.g. from equiforce md (uses the energy, time_fs, kinetic_energy and temperature_K\nframe keys; temperature and kinetic energy are computed from velocities when those keys are missing).',
};

/** Kinetic energy (eV) of a frame from its velocities column (Å/fs), if any. */
function kinetic(s: Structure): number | undefined {
  const v = s.arrays.velocities;
  if (!v || v.type !== 'float' || v.components !== 3) return undefined;
  const m = s.masses;
  let e = 0;
  for (let i = 0; i < s.length; i++) e += m[i] * (v.data[3 * i] ** 2 + v.data[3 * i + 1] ** 2 + v.data[3 * i + 2] ** 2);
  return 0.5 * e * AMU_A2_FS2_IN_EV;
}

const num = (x: unknown): number | undefined => (typeof x === 'number' && Number.isFinite(x) ? x : undefined);

/** Run the command. */
export async function plotCommand(args: ParsedArgs, ctx: CliContext): Promise<number> {
  const path = args.positionals[0];
  const out = args.options.out as string;
  if (!out.toLowerCase().endsWith('.svg')) throw new ArgumentError(`--out must be an .svg file, got ${JSON.stringify(out)}`, 'bad-option');
  checkOutputPath(out, '--out');
  readInput(path); // existence and format check with friendly errors
  const t: number[] = [];
  const epot: number[] = [];
  const etot: number[] = [];
  const temp: number[] = [];
  let k = 0;
  for await (const s of iterFrames(path)) {
    const e = num(s.info.energy);
    if (e === undefined) throw new EquiforceError('missing-energy', `${path}: frame ${k} has no energy (plot needs trajectories with energies, e.g. from equiforce md)`);
    const ek = num(s.info.kinetic_energy) ?? kinetic(s);
    const dof = s.length > 1 ? 3 * s.length - 3 : 3;
    t.push(num(s.info.time_fs) ?? k);
    epot.push(e);
    etot.push(ek === undefined ? Number.NaN : e + ek);
    temp.push(num(s.info.temperature_K) ?? (ek === undefined ? Number.NaN : (2 * ek) / (dof * BOLTZMANN_EV_PER_K)));
    k++;
  }
  const hasTime = t.length > 0 && t.some((x, i) => x !== i);
  const panels: LinePanel[] = [
    {
      yLabel: 'Energy (eV)',
      series: [
        { label: 'potential energy', color: '#1f77b4', x: t, y: epot },
        ...(etot.some(Number.isFinite) ? [{ label: 'total energy', color: '#d62728', x: t, y: etot }] : []),
      ],
    },
  ];
  if (temp.some(Number.isFinite)) panels.push({ yLabel: 'Temperature (K)', series: [{ label: 'temperature', color: '#2ca02c', x: t, y: temp }] });
  const svg = linePlotSvg({ title: `${basename(path)}: ${k} frames`, xLabel: hasTime ? 'Time (fs)' : 'Frame', panels });
  writeFileSync(out, svg);
  ctx.err(`wrote ${out} (${k} frames, ${panels.length} panel${panels.length > 1 ? 's' : ''})`);
  return 0;
}
