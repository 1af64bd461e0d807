/**
 * NVE energy-conservation check of a model: velocity Verlet on a 20-atom molecule
 * (cyclohexylamine, a test-split molecule of the shipped model's data) and on 108-atom fcc Cu,
 * reporting the drift of the total energy per atom.
 *
 *   npx tsx bench/nve.ts [modelDir] [--ps 10] [--dt 0.5] [--system molecule|cu|both] [--threads 1] [--max-minutes M] [--resume] [--out DIR]
 *
 * Default model: models/equiforce-small/float64 (the issue asks for the float64 model). The run
 * writes bench/results/nve.json and bench/results/nve.md (rows of earlier runs of other systems
 * are kept, so the two systems can run in separate processes, e.g. one per core). `--out DIR` writes the
 * results and the resumable state there instead (to try a candidate model without touching the shipped
 * model's figures).
 *
 * Long runs are resumable: every couple of minutes and at the end the run saves its state
 * (positions, velocities, step, the energy series) to bench/results/nve-state/<system>.json;
 * `--resume` continues from there (same model, time step and system), so a 10 ps run can be
 * spread over several sessions with `--max-minutes`. A signal sent to the node process itself stops the
 * run after the current step and saves; through `npx tsx` the launchers may end it first, and then only
 * the last periodic save remains.
 *
 * Drift figures, all per atom: the largest |E(t) − E(0)| over the run, the end-to-end change, and
 * the slope of a least-squares line through E(t) times the run length (a systematic drift, as
 * opposed to the bounded fluctuation of a symplectic integrator).
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { Potential } from '../src/calculator/potential.js';
import { VelocityVerlet, maxwellBoltzmannVelocities, potentialProvider } from '../src/dynamics/index.js';
import { readStructure } from '../src/io/index.js';
import { Structure } from '../src/structure/structure.js';
import { markdownTable, writeJson, writeText } from './lib/report.js';
import { fccCu } from './lib/systems.js';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    ps: { type: 'string', default: '10' },
    dt: { type: 'string', default: '0.5' },
    system: { type: 'string', default: 'both' },
    threads: { type: 'string', default: '1' },
    every: { type: 'string', default: '10' },
    'max-minutes': { type: 'string', default: '0' },
    resume: { type: 'boolean', default: false },
    out: { type: 'string' },
  },
});
const MODEL = resolve(positionals[0] ?? 'models/equiforce-small/float64');
const PS = Number(values.ps);
const DT = Number(values.dt);
const EVERY = Number(values.every);
/** Wall-clock limit per system, minutes (0 = none): the run stops there and reports the length it reached. */
const MAX_MINUTES = Number(values['max-minutes']);
const OUT = values.out !== undefined ? resolve(values.out) : join(import.meta.dirname, 'results');
const STATE_DIR = join(OUT, 'nve-state');
/** Seconds between state saves. */
const SAVE_EVERY_S = 120;

/** What a resumable run saves (all in the units of the dynamics: Å, Å/fs, fs, eV). */
interface SavedState {
  system: string;
  model: string;
  dtFs: number;
  steps: number;
  positions: number[];
  velocities: number[];
  /** Sampled times (fs) and total energies (eV), and the running sum of sampled temperatures (K). */
  t: number[];
  e: number[];
  tempSum: number;
  /** Wall-clock seconds spent in earlier sessions of this run. */
  seconds: number;
}

function statePath(name: string): string {
  return join(STATE_DIR, `${name.replace(/[^A-Za-z0-9]+/g, '-').replace(/^-|-$/g, '')}.json`);
}

function loadState(name: string): SavedState | undefined {
  const path = statePath(name);
  if (!values.resume || !existsSync(path)) return undefined;
  const state = JSON.parse(readFileSync(path, 'utf8')) as SavedState;
  if (state.dtFs !== DT || resolve(state.model) !== MODEL) {
    throw new Error(`${path} is a run with model ${state.model} and dt ${state.dtFs} fs, not ${MODEL} and ${DT} fs; remove it or drop --resume`);
  }
  return state;
}

/** 3×3×3 conventional cells of fcc Cu (a = 3.59 Å, EMT's lattice constant), rattled by ±0.05 Å with a fixed seed. */
function copper108(): Structure {
  const { positions, cell, pbc } = fccCu(3, 3.59);
  // The generator of bench/results/nve.md's run (a small LCG), kept so that run reproduces.
  let s = 12345;
  const uniform = (): number => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32);
  return new Structure({ numbers: new Array(108).fill(29), positions: positions.map((x) => x + 0.1 * (uniform() - 0.5)), cell: cell!, pbc });
}

interface Row {
  system: string;
  model: string;
  atoms: number;
  task: string;
  dtFs: number;
  durationPs: number;
  steps: number;
  initialTemperatureK: number;
  meanTemperatureK: number;
  maxDeviationMeVPerAtom: number;
  endChangeMeVPerAtom: number;
  fittedDriftMeVPerAtom: number;
  secondsPerStep: number;
  date: string;
  load: number[];
}

async function runOne(potential: Potential, name: string, structure: Structure, temperatureK: number): Promise<Row> {
  const task = potential.defaultTask(structure);
  if (task === undefined) throw new Error(`model ${potential.metadata.name} has no default task for ${name}; its tasks: ${potential.tasks.join(', ')}`);
  const steps = Math.round((PS * 1000) / DT);
  const saved = loadState(name);
  const start = saved ? structure.with({ positions: saved.positions }) : structure;
  const velocities = saved ? saved.velocities : maxwellBoltzmannVelocities(structure.masses, temperatureK, { seed: 7 });
  const md = new VelocityVerlet(potentialProvider(potential, task), start, { timestepFs: DT, velocities });
  md.steps = saved?.steps ?? 0;
  if (saved) process.stderr.write(`${name}: resuming at step ${saved.steps} (${((saved.steps * DT) / 1000).toFixed(2)} ps) from ${statePath(name)}\n`);
  const t: number[] = saved ? saved.t : [];
  const e: number[] = saved ? saved.e : [];
  let tempSum = saved ? saved.tempSum : 0;
  md.attach((d) => {
    // A resumed run is observed once at its first step, which the saved series already holds.
    if (t.length > 0 && t[t.length - 1] === d.timeFs) return;
    t.push(d.timeFs);
    e.push(d.totalEnergy);
    tempSum += d.temperature;
  }, EVERY);
  const t0 = performance.now();
  const earlierSeconds = saved?.seconds ?? 0;
  const firstStep = md.steps;
  const save = (): void => {
    mkdirSync(STATE_DIR, { recursive: true });
    const state: SavedState = {
      system: name, model: MODEL, dtFs: DT, steps: md.steps, positions: Array.from(md.positions), velocities: Array.from(md.velocities),
      t, e, tempSum, seconds: earlierSeconds + (performance.now() - t0) / 1000,
    };
    writeFileSync(statePath(name), JSON.stringify(state));
  };
  let last = t0;
  let lastSave = t0;
  md.attach((d) => {
    const now = performance.now();
    // Save only at sampled steps, so the saved series ends at the saved step.
    if (d.steps % EVERY === 0 && now - lastSave > SAVE_EVERY_S * 1000) { save(); lastSave = now; }
    if (now - last < 5000 && d.steps < steps) return;
    last = now;
    const rate = (d.steps - firstStep) / ((now - t0) / 1000);
    const dev = (1000 * Math.abs(d.totalEnergy - e[0])) / structure.length;
    process.stderr.write(`\r${name}: step ${d.steps}/${steps} (${(d.timeFs / 1000).toFixed(2)} ps), ${rate.toFixed(1)} steps/s, ` +
      `ETA ${((steps - d.steps) / rate / 60).toFixed(1)} min, T ${d.temperature.toFixed(0)} K, |ΔE| ${dev.toFixed(3)} meV/atom   `);
  }, 10);
  const stop = new AbortController();
  // The time limit stops the run at a sampled step, so the saved energy series ends where the state does.
  // SIGINT or SIGTERM reaching this process stops it after the current step, which also saves and reports
  // (the launchers npx/tsx may pass the signal on again or end the process themselves; see the header).
  let interrupted = false;
  const onSignal = (): void => { interrupted = true; };
  process.on('SIGINT', onSignal).on('SIGTERM', onSignal);
  md.attach((d) => {
    if (interrupted || (d.steps % EVERY === 0 && MAX_MINUTES > 0 && performance.now() - t0 > MAX_MINUTES * 60_000)) stop.abort();
  }, 1);
  await md.run(Math.max(0, steps - md.steps), { signal: stop.signal });
  process.off('SIGINT', onSignal).off('SIGTERM', onSignal);
  process.stderr.write('\n');
  save();
  const seconds = earlierSeconds + (performance.now() - t0) / 1000;
  const n = structure.length;
  const e0 = e[0];
  const maxDev = Math.max(...e.map((x) => Math.abs(x - e0)));
  // least-squares slope of E(t)
  const mt = t.reduce((a, b) => a + b, 0) / t.length;
  const me = e.reduce((a, b) => a + b, 0) / e.length;
  let sxy = 0, sxx = 0;
  for (let k = 0; k < t.length; k++) { sxy += (t[k] - mt) * (e[k] - me); sxx += (t[k] - mt) ** 2; }
  const slope = sxy / sxx; // eV/fs
  return {
    system: name, model: MODEL, atoms: n, task, dtFs: DT, durationPs: (md.steps * DT) / 1000, steps: md.steps,
    initialTemperatureK: temperatureK, meanTemperatureK: tempSum / t.length,
    maxDeviationMeVPerAtom: (1000 * maxDev) / n,
    endChangeMeVPerAtom: (1000 * (e[e.length - 1] - e0)) / n,
    fittedDriftMeVPerAtom: (1000 * slope * md.steps * DT) / n,
    secondsPerStep: seconds / md.steps, date: new Date().toISOString(), load: loadavg(),
  };
}

async function main(): Promise<void> {
  const potential = await Potential.load(MODEL, { threads: Number(values.threads) });
  const rows: Row[] = [];
  try {
    const which = values.system;
    if (which === 'molecule' || which === 'both') {
      const mol = readStructure(join(import.meta.dirname, 'data', 'cyclohexylamine.xyz'));
      rows.push(await runOne(potential, 'cyclohexylamine (20 atoms)', mol, 300));
    }
    if (which === 'cu' || which === 'both') {
      // 600 K initial: equipartition with the potential energy brings a crystal near 300 K.
      rows.push(await runOne(potential, 'fcc Cu (108 atoms)', copper108(), 600));
    }
  } finally {
    potential.dispose();
  }
  mkdirSync(OUT, { recursive: true });
  const jsonPath = join(OUT, 'nve.json');
  const earlier: Row[] = existsSync(jsonPath) ? (JSON.parse(readFileSync(jsonPath, 'utf8')) as { rows: Row[] }).rows : [];
  const merged = [...earlier.filter((r) => !rows.some((x) => x.system === r.system && x.model === r.model)), ...rows];
  writeJson(jsonPath, { rows: merged });
  const table = markdownTable(
    ['system', 'model', 'task', 'dt (fs)', 'length (ps)', 'T start / mean (K)', 'max |E(t)−E(0)| (meV/atom)', 'end change (meV/atom)', 'fitted drift over the run (meV/atom)', 's/step', 'load'],
    merged.map((r) => [r.system, r.model.replace(`${process.cwd()}/`, ''), r.task, r.dtFs, r.durationPs, `${r.initialTemperatureK} / ${r.meanTemperatureK.toFixed(0)}`,
      r.maxDeviationMeVPerAtom.toFixed(4), r.endChangeMeVPerAtom.toFixed(4), r.fittedDriftMeVPerAtom.toFixed(4), r.secondsPerStep.toFixed(4), r.load.map((x) => x.toFixed(1)).join(' ')]),
  );
  writeText(join(OUT, 'nve.md'), `# NVE energy conservation\n\nCommand: \`npx tsx bench/nve.ts [modelDir] --ps ${PS} --dt ${DT} --system molecule|cu|both\`. ` +
    'Velocity Verlet, Maxwell–Boltzmann start (seed 7, zero momentum), total energy sampled every ' +
    `${EVERY} steps. Drift per atom: largest deviation from the start, end-to-end change, and least-squares slope × run length.\n\n${table}\n`);
  for (const r of rows) console.log(`${r.system}: max |ΔE| ${r.maxDeviationMeVPerAtom.toFixed(4)} meV/atom, fitted drift ${r.fittedDriftMeVPerAtom.toFixed(4)} meV/atom over ${r.durationPs} ps, ${r.secondsPerStep.toFixed(4)} s/step`);
}

await main();
