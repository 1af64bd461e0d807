/**
 * MD benchmark: Langevin steps per second with a model on a 20-atom and a 100-atom molecule
 * and on 108- and 500-atom fcc Cu, with the time of each step split into the ONNX run, the
 * rest of the compute call (neighbour list, tensor packing, force/stress reduction) and the
 * integrator (everything outside the compute call).
 *
 *   npx tsx bench/md.ts [modelDir]          (default: the shipped model, else models/test-dense-f32)
 *   EQUIFORCE_BENCH_THREADS=2  EQUIFORCE_BENCH_SECONDS=4
 *
 * Writes bench/results/md.json and bench/results/md.md.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { DEFAULT_MODEL_DIR } from '../src/cli/model.js';
import { cpus, loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import type * as ort from 'onnxruntime-node';
import { Potential } from '../src/calculator/potential.js';
import { Langevin, RandomStream, maxwellBoltzmannVelocities, potentialProvider, type ForceProvider } from '../src/dynamics/index.js';
import { readStructure } from '../src/io/index.js';
import { Structure } from '../src/structure/structure.js';

const THREADS = Number(process.env.EQUIFORCE_BENCH_THREADS ?? 2);
const SECONDS = Number(process.env.EQUIFORCE_BENCH_SECONDS ?? 4);
const MODEL = resolve(process.argv[2] ?? (existsSync(DEFAULT_MODEL_DIR) ? DEFAULT_MODEL_DIR : 'models/test-dense-f32'));
const OUT = join(import.meta.dirname, 'results');

/** `copies` copies of a molecule in a row along x, `spacing` Å apart (one non-periodic structure). */
function cluster(molecule: Structure, copies: number, spacing: number): Structure {
  const n = molecule.length;
  const numbers: number[] = [];
  const pos: number[] = [];
  for (let c = 0; c < copies; c++) {
    for (let i = 0; i < n; i++) {
      numbers.push(molecule.numbers[i]);
      pos.push(molecule.positions[3 * i] + c * spacing, molecule.positions[3 * i + 1], molecule.positions[3 * i + 2]);
    }
  }
  return new Structure({ numbers, positions: pos });
}

/** n×n×n conventional cells of fcc Cu (a = 3.61 Å), rattled by ±0.05 Å. */
function copper(n: number): Structure {
  const a = 3.61;
  const rng = new RandomStream(5);
  const pos: number[] = [];
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) for (let k = 0; k < n; k++) {
    for (const b of [[0, 0, 0], [0.5, 0.5, 0], [0.5, 0, 0.5], [0, 0.5, 0.5]]) pos.push((i + b[0]) * a, (j + b[1]) * a, (k + b[2]) * a);
  }
  return new Structure({ numbers: new Array(pos.length / 3).fill(29), positions: pos.map((x) => x + 0.1 * (rng.uniform() - 0.5)), cell: [n * a, 0, 0, 0, n * a, 0, 0, 0, n * a], pbc: [true, true, true] });
}

interface Row {
  system: string;
  atoms: number;
  task: string;
  dtFs: number;
  steps: number;
  stepsPerSecond: number;
  msPerStep: number;
  onnxMs: number;
  computeOtherMs: number;
  integratorMs: number;
  outsideOnnxShare: number;
  integratorShare: number;
}

async function main(): Promise<void> {
  const potential = await Potential.load(MODEL, { threads: THREADS });
  // Time ONNX Runtime's run() itself by wrapping the session (a private field, used only here).
  const session = (potential as unknown as { session: ort.InferenceSession }).session;
  const run = session.run.bind(session);
  let onnxMs = 0;
  (session as { run: unknown }).run = async (...args: Parameters<typeof run>) => {
    const t = performance.now();
    const r = await run(...args);
    onnxMs += performance.now() - t;
    return r;
  };
  // Real molecules (a trained model would blow a random cluster apart): cyclohexylamine, and five
  // copies of it 9 Å apart as a 100-atom molecular cluster.
  const amine = readStructure(join(import.meta.dirname, 'data', 'cyclohexylamine.xyz'));
  const systems: [string, Structure, number][] = [
    ['molecule 20 atoms', amine, 0.5],
    ['molecule 100 atoms', cluster(amine, 5, 9), 0.5],
    ['Cu fcc 108 atoms', copper(3), 2],
    ['Cu fcc 500 atoms', copper(5), 2],
  ];
  const rows: Row[] = [];
  for (const [name, structure, dt] of systems) {
    const task = potential.defaultTask(structure);
    const inner = potentialProvider(potential, { task });
    let computeMs = 0;
    const provider: ForceProvider = {
      async compute(s, request) {
        const t = performance.now();
        const r = await inner.compute(s, request);
        computeMs += performance.now() - t;
        return r;
      },
    };
    const md = new Langevin(provider, structure, { timestepFs: dt, temperatureK: 300, velocities: maxwellBoltzmannVelocities(structure.masses, 300, { seed: 3 }), seed: 4 });
    await md.run(5); // warm-up: JIT, ONNX Runtime arenas, first neighbour list
    onnxMs = 0;
    computeMs = 0;
    let steps = 0;
    const t0 = performance.now();
    while (performance.now() - t0 < SECONDS * 1000 || steps < 5) {
      await md.run(1);
      steps++;
    }
    const total = performance.now() - t0;
    const row: Row = {
      system: name,
      atoms: structure.length,
      task: task ?? '(single)',
      dtFs: dt,
      steps,
      stepsPerSecond: (1000 * steps) / total,
      msPerStep: total / steps,
      onnxMs: onnxMs / steps,
      computeOtherMs: (computeMs - onnxMs) / steps,
      integratorMs: (total - computeMs) / steps,
      outsideOnnxShare: (total - onnxMs) / total,
      integratorShare: (total - computeMs) / total,
    };
    rows.push(row);
    console.log(`${name.padEnd(20)} ${row.stepsPerSecond.toFixed(1).padStart(8)} steps/s  ${row.msPerStep.toFixed(2).padStart(8)} ms/step  ONNX ${row.onnxMs.toFixed(2)} ms  other compute ${row.computeOtherMs.toFixed(2)} ms  integrator ${row.integratorMs.toFixed(3)} ms  outside ONNX ${(100 * row.outsideOnnxShare).toFixed(1)}%`);
  }
  await potential.dispose();
  const meta = {
    model: potential.metadata.name,
    dtype: potential.metadata.dtype,
    device: 'cpu',
    threads: THREADS,
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    node: process.version,
    loadAverage1min: loadavg()[0],
    date: new Date().toISOString(),
    integrator: 'Langevin (BAOAB), 300 K, Verlet-skin neighbour list (skin 1 Å)',
  };
  mkdirSync(OUT, { recursive: true });
  writeFileSync(join(OUT, 'md.json'), JSON.stringify({ meta, rows }, null, 1) + '\n');
  const md = [
    '# MD throughput',
    '',
    `Model \`${meta.model}\` (${meta.dtype}), CPU ${meta.cpu} (${meta.cores} cores, ${THREADS} ONNX threads, 1-min load average ${meta.loadAverage1min.toFixed(1)} at the end: the machine was shared), Node ${meta.node}, ${meta.date.slice(0, 10)}.`,
    `${meta.integrator}; each system runs about ${SECONDS} s after 5 warm-up steps. Generated by \`npm run bench:md\`.`,
    '',
    'Time per step: **ONNX** = `session.run`; **other compute** = the rest of the compute call (neighbour list update, tensor packing, force/stress reduction); **integrator** = everything outside the compute call (velocity/position updates, thermostat, Structure creation).',
    '',
    '| system | atoms | dt (fs) | steps timed | steps/s | ms/step | ONNX ms | other compute ms | integrator ms | outside ONNX | integrator share |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...rows.map((r) => `| ${r.system} | ${r.atoms} | ${r.dtFs} | ${r.steps} | ${r.stepsPerSecond.toFixed(1)} | ${r.msPerStep.toFixed(2)} | ${r.onnxMs.toFixed(2)} | ${r.computeOtherMs.toFixed(2)} | ${r.integratorMs.toFixed(3)} | ${(100 * r.outsideOnnxShare).toFixed(1)}% | ${(100 * r.integratorShare).toFixed(2)}% |`),
    '',
    'Molecules: cyclohexylamine (bench/data, a test-split molecule of the shipped model) and five copies of it 9 Å apart; Cu: rattled fcc cells. The ONNX time depends on the model and the machine load; the time outside ONNX hardly does.',
    '',
  ].join('\n');
  writeFileSync(join(OUT, 'md.md'), md);
}

await main();
