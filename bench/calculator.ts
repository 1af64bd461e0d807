/**
 * Calculator benchmark: MD-step throughput with the time split into neighbour list, tensor
 * preparation, ONNX run and reduction, next to the bare ONNX run on identical inputs; and batched
 * small molecules against one-at-a-time calls.
 *
 *   npx tsx bench/calculator.ts [modelDir ...]        (default: models/test-dense-f32 and, when
 *                                                      generated, bench/models/c64-float32)
 *   EQUIFORCE_BENCH_THREADS=2  EQUIFORCE_BENCH_MAX_ATOMS=2048
 *
 * Writes bench/results/calculator.json and bench/results/calculator.md.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { Potential } from '../src/calculator/potential.js';
import { InputBuffers } from '../src/calculator/inputs.js';
import { Structure } from '../src/structure/structure.js';
import { fccCu, rng } from './lib/systems.js';

const THREADS = Number(process.env.EQUIFORCE_BENCH_THREADS ?? 2);
const MAX_ATOMS = Number(process.env.EQUIFORCE_BENCH_MAX_ATOMS ?? 2048);
const OUT = join(import.meta.dirname, 'results');

/** A random organic-looking molecule: H/C/N/O at liquid density with a 1 Å closest approach. */
function molecule(n: number, seed: number): Structure {
  const r = rng(seed);
  const radius = Math.cbrt((3 * n) / (4 * Math.PI * 0.1));
  const pos: number[][] = [];
  while (pos.length < n) {
    const p = [0, 1, 2].map(() => (2 * r() - 1) * radius);
    if (Math.hypot(...p) > radius) continue;
    if (pos.every((q) => Math.hypot(p[0] - q[0], p[1] - q[1], p[2] - q[2]) > 1.0)) pos.push(p);
  }
  const symbols = pos.map((_, i) => ['C', 'H', 'H', 'O', 'C', 'H', 'N', 'H'][i % 8]);
  return Structure.fromArrays({ symbols, positions: pos, spin: 1 });
}

function copper(reps: [number, number, number]): Structure {
  const base = fccCu(1);
  const a = base.cell![0];
  const pos: number[] = [];
  for (let i = 0; i < reps[0]; i++) for (let j = 0; j < reps[1]; j++) for (let k = 0; k < reps[2]; k++) {
    for (let b = 0; b < 4; b++) pos.push(base.positions[3 * b] + i * a, base.positions[3 * b + 1] + j * a, base.positions[3 * b + 2] + k * a);
  }
  const r = rng(5);
  const rattled = pos.map((x) => x + 0.05 * (r() - 0.5));
  return Structure.fromArrays({ numbers: new Array(pos.length / 3).fill(29), positions: rattled, cell: [reps[0] * a, reps[1] * a, reps[2] * a], pbc: true });
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

interface Row {
  model: string;
  system: string;
  atoms: number;
  pairs: number;
  stepMs: number;
  neighborsMs: number;
  prepareMs: number;
  onnxMs: number;
  reduceMs: number;
  bareOnnxMs: number;
  outsideOnnxShare: number;
  stepsPerSecond: number;
}

async function mdSteps(modelDir: string, name: string, structure: Structure, preferredTask: string): Promise<Row> {
  const potential = await Potential.load(modelDir, { threads: THREADS });
  // UMA-style heads by name; other models (equiforce's own: mol/metal) by structure.
  const task = potential.tasks.includes(preferredTask) ? preferredTask : (potential.defaultTask(structure) ?? preferredTask);
  const calc = potential.calculator({ task, skin: 1.0 });
  const r = rng(11);
  let s = structure;
  const steps = structure.length >= 1000 ? 3 : structure.length >= 400 ? 5 : 10;
  await calc.calculate(s); // warm-up (first search, session warm-up)
  potential.resetTimings();
  const stepTimes: number[] = [];
  for (let k = 0; k < steps; k++) {
    // An MD-like step: every atom moves a little (a new Structure, as an integrator makes one).
    s = s.withPositions(Float64Array.from(s.positions, (x) => x + 0.01 * (r() - 0.5)));
    const t = performance.now();
    await calc.calculate(s);
    stepTimes.push(performance.now() - t);
  }
  const T = potential.timings;
  // The bare ONNX run on the same inputs, through its own session with the same options.
  const list = potential.buildNeighborList(s);
  const buffers = new InputBuffers(potential.metadata.dtype);
  const { feeds } = buffers.pack([{ numbers: s.numbers, list, charge: 0, spin: structure.pbc.some((p) => p) ? 0 : 1, task: potential.metadata.tasks.get(task)!.index }]);
  const session = await ort.InferenceSession.create(join(modelDir, 'model.onnx'), { intraOpNumThreads: THREADS, interOpNumThreads: 1, graphOptimizationLevel: 'all', enableCpuMemArena: false });
  await session.run(feeds, ['energy', 'edge_grad']);
  const bare: number[] = [];
  for (let k = 0; k < steps; k++) {
    const t = performance.now();
    await session.run(feeds, ['energy', 'edge_grad']);
    bare.push(performance.now() - t);
  }
  await session.release();
  await potential.dispose();
  const stepMs = median(stepTimes);
  const row: Row = {
    model: potential.metadata.name,
    system: name,
    atoms: s.length,
    pairs: list.count,
    stepMs,
    neighborsMs: T.neighbors / steps,
    prepareMs: T.prepare / steps,
    onnxMs: T.onnx / steps,
    reduceMs: T.reduce / steps,
    bareOnnxMs: median(bare),
    outsideOnnxShare: (T.neighbors + T.prepare + T.reduce) / (T.neighbors + T.prepare + T.onnx + T.reduce),
    stepsPerSecond: 1000 / stepMs,
  };
  console.error(`${row.model} ${name}: ${stepMs.toFixed(1)} ms/step, outside ONNX ${(100 * row.outsideOnnxShare).toFixed(2)}%`);
  return row;
}

async function batching(modelDir: string): Promise<Record<string, number | string>> {
  const potential = await Potential.load(modelDir, { threads: THREADS });
  // The same model with every batch in one ONNX call, to show why 'auto' packs less on CPU.
  const oneCall = await Potential.load(modelDir, { threads: THREADS, pairsPerBatchCall: 100_000_000 });
  // Two worker sessions of one thread each running the batch's calls side by side.
  const pooled = await Potential.load(modelDir, { threads: 1, workers: 2 });
  const mols = Array.from({ length: 64 }, (_, k) => molecule(30, 100 + k));
  const task = potential.defaultTask(mols[0]);
  await potential.computeBatch(mols.slice(0, 4), { task });
  await oneCall.computeBatch(mols.slice(0, 4), { task });
  await pooled.computeBatch(mols.slice(0, 8), { task });
  // The fixed cost of a call: a lone atom (no pairs) still runs every node of the graph, the
  // neighbour search, tensor preparation and reduction. Batching can save at most this per
  // molecule; the per-pair work stays. So seq / (seq − 64 × fixed) bounds its gain.
  const lone = Structure.fromArrays({ symbols: ['C'], positions: [[0, 0, 0]] });
  for (let k = 0; k < 5; k++) await potential.compute(lone, { task });
  const fixed: number[] = [];
  for (let k = 0; k < 31; k++) {
    const t = performance.now();
    await potential.compute(lone, { task });
    fixed.push(performance.now() - t);
  }
  const seq: number[] = [];
  const bat: number[] = [];
  const one: number[] = [];
  const two: number[] = [];
  let calls = 0;
  for (let rep = 0; rep < 3; rep++) {
    let t = performance.now();
    for (const m of mols) await potential.compute(m, { task });
    seq.push(performance.now() - t);
    potential.resetTimings();
    t = performance.now();
    await potential.computeBatch(mols, { task });
    bat.push(performance.now() - t);
    calls = potential.timings.calls;
    t = performance.now();
    await oneCall.computeBatch(mols, { task });
    one.push(performance.now() - t);
    t = performance.now();
    await pooled.computeBatch(mols, { task });
    two.push(performance.now() - t);
  }
  await potential.dispose();
  await oneCall.dispose();
  await pooled.dispose();
  const result = {
    model: potential.metadata.name,
    molecules: 64,
    atomsEach: 30,
    sequentialMs: median(seq),
    batchedMs: median(bat),
    batchedCalls: calls,
    oneCallMs: median(one),
    speedup: median(seq) / median(bat),
    oneCallSpeedup: median(seq) / median(one),
    workersMs: median(two),
    workersSpeedup: median(seq) / median(two),
    fixedCallMs: median(fixed),
    batchingBound: median(seq) / (median(seq) - 64 * median(fixed)),
  };
  console.error(`${result.model} batching 64×30: ${result.speedup.toFixed(2)}× (${result.sequentialMs.toFixed(0)} → ${result.batchedMs.toFixed(0)} ms in ${calls} calls; one call ${result.oneCallMs.toFixed(0)} ms; fixed cost ${result.fixedCallMs.toFixed(2)} ms per call, bound ${result.batchingBound.toFixed(2)}×)`);
  return result;
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const models = args.length > 0 ? args : ['models/test-dense-f32', 'bench/models/c64-float32'].filter((m) => existsSync(join(m, 'model.json')));
  const systems: [string, Structure, string][] = [
    ['molecule-20', molecule(20, 1), 'omol'],
    ['molecule-50', molecule(50, 2), 'omol'],
    ['molecule-100', molecule(100, 3), 'omol'],
    ['cu-108', copper([3, 3, 3]), 'omat'],
    ['cu-500', copper([5, 5, 5]), 'omat'],
    ['cu-1000', copper([10, 5, 5]), 'omat'],
    ['cu-2048', copper([8, 8, 8]), 'omat'],
  ];
  // EQUIFORCE_BENCH_ONLY=batching reruns only the batching table and keeps the MD rows of the last full run.
  const onlyBatching = process.env.EQUIFORCE_BENCH_ONLY === 'batching';
  const previous = join(OUT, 'calculator.json');
  const rows: Row[] = onlyBatching && existsSync(previous) ? (JSON.parse(readFileSync(previous, 'utf8')) as { md: Row[] }).md : [];
  const batches: Record<string, number | string>[] = [];
  for (const m of models) {
    if (!onlyBatching) for (const [name, s, task] of systems) if (s.length <= MAX_ATOMS) rows.push(await mdSteps(m, name, s, task));
    batches.push(await batching(m));
  }
  const env = { date: new Date().toISOString(), node: process.version, cpus: cpus().length, cpu: cpus()[0]?.model, threads: THREADS, ort: ort.env.versions };
  mkdirSync(OUT, { recursive: true });
  writeFileSync(join(OUT, 'calculator.json'), JSON.stringify({ env, md: rows, batching: batches }, null, 1) + '\n');
  const f = (x: number, d = 1): string => x.toFixed(d);
  const md = [
    `# Calculator benchmark`,
    ``,
    `${env.date}, Node ${env.node}, ${env.cpus} × ${env.cpu}, ONNX Runtime ${ort.env.versions.common}, ${THREADS} intra-op threads. Command: \`npx tsx bench/calculator.ts\`.`,
    ...(onlyBatching ? [``, `Only the batching table was rerun at this date (\`EQUIFORCE_BENCH_ONLY=batching\`, models: ${models.join(', ')}); the MD rows are those of the previous full run.`] : []),
    ``,
    `MD-like steps through \`potential.calculator()\` (Verlet skin 1 Å, every atom moved 0.005 Å per step); time per step split into stages (mean), next to the bare ONNX run on identical inputs (median).`,
    ``,
    `| model | system | atoms | pairs | step (ms) | neighbours | prepare | ONNX | reduce | bare ONNX (ms) | outside ONNX | steps/s |`,
    `|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|`,
    ...rows.map((r) => `| ${r.model} | ${r.system} | ${r.atoms} | ${r.pairs} | ${f(r.stepMs)} | ${f(r.neighborsMs, 2)} | ${f(r.prepareMs, 2)} | ${f(r.onnxMs)} | ${f(r.reduceMs, 2)} | ${f(r.bareOnnxMs)} | ${f(100 * r.outsideOnnxShare, 2)}% | ${f(r.stepsPerSecond, 2)} |`),
    ``,
    `Batched small molecules (64 molecules × 30 atoms, molecular task): \`computeBatch\` (default \`pairsPerBatchCall: 'auto'\`, ~1 MiB of edge features per call on CPU), the same batch forced into one ONNX call, and \`computeBatch\` on two worker sessions (\`workers: 2\`, 1 thread each), vs 64 \`compute\` calls. "Fixed cost" is one \`compute\` of a lone atom (no pairs: every graph node still runs, plus the neighbour search, tensor preparation and reduction), the most a batch can save per molecule; "bound" = sequential / (sequential − 64 × fixed cost) is then the most any batching can gain over one-at-a-time calls on this machine, since the per-pair work does not shrink.`,
    ``,
    `| model | sequential (ms) | computeBatch (ms) | its calls | ratio | one call (ms) | ratio | 2 workers (ms) | ratio | fixed cost per call (ms) | bound |`,
    `|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|`,
    ...batches.map((b) => `| ${b.model} | ${f(b.sequentialMs as number, 0)} | ${f(b.batchedMs as number, 0)} | ${b.batchedCalls} | ${f(b.speedup as number, 2)}× | ${f(b.oneCallMs as number, 0)} | ${f(b.oneCallSpeedup as number, 2)}× | ${f(b.workersMs as number, 0)} | ${f(b.workersSpeedup as number, 2)}× | ${b.fixedCallMs === undefined ? '–' : f(b.fixedCallMs as number, 2)} | ${b.batchingBound === undefined ? '–' : `${f(b.batchingBound as number, 2)}×`} |`),
    ``,
  ].join('\n');
  writeFileSync(join(OUT, 'calculator.md'), md);
  console.log(md);
}

await main();
