/**
 * `equiforce energy FILE`: energy, forces and stress of every frame, as a table or JSON.
 *
 * @module
 */
import { potentialProvider } from '../../dynamics/provider.js';
import { EV_PER_A3_IN_GPA } from '../../dynamics/units.js';
import type { CommandSpec, ParsedArgs } from '../args.js';
import { MODEL_OPTIONS, modelAndTask, readInput, type CliContext } from '../context.js';

/** Command declaration. */
export const energySpec: CommandSpec = {
  name: 'energy',
  summary: 'energy (eV), forces (eV/Å) and stress (eV/Å³) of a structure',
  positionals: ['FILE'],
  options: { ...MODEL_OPTIONS, json: { type: 'boolean', help: 'print JSON instead of tables' } },
  details: 'FILE: .xyz/.extxyz (every frame is evaluated) or POSCAR/.vasp.\nexample: equiforce energy water.xyz --model models/test-dense-f64 --json',
};

/** Run the command. */
export async function energyCommand(args: ParsedArgs, ctx: CliContext): Promise<number> {
  const frames = readInput(args.positionals[0]);
  const { potential, task } = await modelAndTask(args, frames[0], ctx);
  try {
    const provider = potentialProvider(potential, task);
    const results = [];
    for (const s of frames) {
      const periodic = s.pbc[0] && s.pbc[1] && s.pbc[2];
      const r = await provider.compute(s, { forces: true, stress: periodic });
      results.push({ s, r });
    }
    if (args.options.json) {
      const json = results.map(({ s, r }) => ({
        model: potential.metadata.name,
        task: task ?? null,
        formula: s.formula,
        natoms: s.length,
        energy_eV: r.energy,
        forces_eV_per_A: chunk(r.forces as Float64Array, 3),
        stress_eV_per_A3: r.stress ? Array.from(r.stress) : null,
      }));
      ctx.out(compactJson(json.length === 1 ? json[0] : json));
      return 0;
    }
    results.forEach(({ s, r }, k) => {
      const lines: string[] = [];
      if (results.length > 1) lines.push(`frame ${k}`);
      lines.push(`model ${potential.metadata.name}${task ? `, task ${task}` : ''}: ${s.formula} (${s.length} atoms)`);
      lines.push(`energy: ${r.energy.toFixed(6)} eV  (${(r.energy / s.length).toFixed(6)} eV/atom)`);
      lines.push('forces (eV/Å):');
      lines.push('     #  el           Fx           Fy           Fz          |F|');
      const f = r.forces as Float64Array;
      const symbols = s.symbols;
      for (let i = 0; i < s.length; i++) {
        const [x, y, z] = [f[3 * i], f[3 * i + 1], f[3 * i + 2]];
        lines.push(`${String(i).padStart(6)}  ${symbols[i].padEnd(2)} ${[x, y, z, Math.hypot(x, y, z)].map((v) => v.toFixed(6).padStart(12)).join(' ')}`);
      }
      if (r.stress) {
        lines.push('stress (Voigt xx yy zz yz xz xy):');
        lines.push('  eV/Å³: ' + Array.from(r.stress, (v) => v.toExponential(5).padStart(13)).join(' '));
        lines.push('  GPa:   ' + Array.from(r.stress, (v) => (v * EV_PER_A3_IN_GPA).toFixed(5).padStart(13)).join(' '));
        lines.push(`  pressure: ${((-(r.stress[0] + r.stress[1] + r.stress[2]) / 3) * EV_PER_A3_IN_GPA).toFixed(5)} GPa`);
      }
      ctx.out(lines.join('\n'));
    });
    return 0;
  } finally {
    await potential.dispose();
  }
}

function chunk(a: Float64Array, n: number): number[][] {
  const out: number[][] = [];
  for (let k = 0; k < a.length; k += n) out.push(Array.from(a.subarray(k, k + n)));
  return out;
}

/** Indented JSON with every innermost array of numbers on one line (one atom per line). */
export function compactJson(value: unknown): string {
  return JSON.stringify(value, null, 1).replace(/\[\s*(-?[\d.eE+-]+(?:,\s*-?[\d.eE+-]+)*)\s*\]/g, (_, body: string) => `[${body.split(/,\s*/).join(', ')}]`);
}
