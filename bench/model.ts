/**
 * Model benchmark (issue 3, "Speed and memory"): time per call and peak RSS of the ONNX graph in
 * onnxruntime-node against the PyTorch port (forward + autograd forces), 1 and 2 intra-op threads,
 * on dense periodic rattled FCC Cu, every measurement in a fresh child process. Also FLOPs per edge
 * (summed from the MatMul/Gemm shapes ORT actually ran, read from its profile) and this machine's
 * float32 GEMM rate through ORT and torch, measured in the same run.
 *
 *   npx tsx bench/model.ts                      (models from bench/make_models.py: small, uma-s)
 *   EQUIFORCE_BENCH_PRESETS=small EQUIFORCE_BENCH_SIZES=108,1008 EQUIFORCE_BENCH_MAX_CALL_S=180
 *   EQUIFORCE_BENCH_THREADS=1 EQUIFORCE_BENCH_ENGINES=onnx   (one thread count; ONNX only, no port)
 *
 * Writes bench/results/model.json and bench/results/model.md; with EQUIFORCE_BENCH_TAG=name, a partial
 * run (fewer presets or sizes) writes bench/results/model-<name>.json/.md instead and leaves the full
 * table alone.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, freemem, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as ort from 'onnxruntime-node';
import { Potential } from '../src/calculator/potential.js';
import { InputBuffers } from '../src/calculator/inputs.js';
import { neighborList } from '../src/geometry/neighbors.js';
import type { NeighborList } from '../src/geometry/types.js';
import { Structure } from '../src/structure/structure.js';
import { markdownTable, formatNumber, writeJson } from './lib/report.js';
import { CU_LATTICE, rng } from './lib/systems.js';
import { median } from './lib/timing.js';

const ROOT = join(import.meta.dirname, '..');
const OUT = join(import.meta.dirname, 'results');
/** Suffix of the result files (EQUIFORCE_BENCH_TAG), so partial runs do not replace the full table. */
const TAG = process.env.EQUIFORCE_BENCH_TAG ? `-${process.env.EQUIFORCE_BENCH_TAG.replace(/[^A-Za-z0-9_.-]/g, '_')}` : '';
const PYTHON = '/usr/bin/python3';
const CUTOFF = 6.0;
/**
 * Model presets of bench/make_models.py; `preset@cS` is the same network converted with
 * `--edge-chunks S` (generated here when missing; ONNX only, its port column is the preset's).
 */
const PRESETS = (process.env.EQUIFORCE_BENCH_PRESETS ?? 'small,small@c8,uma-s').split(',');
const basePreset = (p: string): string => p.split('@')[0];
const chunksOf = (p: string): number => Number(/@c(\d+)$/.exec(p)?.[1] ?? 1);
/** `preset@default`: the preset's model with its large-system graph switched off (`largeGraphMinPairs: Infinity`). */
const defaultGraphOnly = (p: string): boolean => p.endsWith('@default');
const modelDirOf = (p: string): string => join(ROOT, 'bench/models', `${defaultGraphOnly(p) ? basePreset(p) : p.replace('@c', '-c')}-float32`);

/** Convert bench/models/<preset>.pt with edge chunks (the converter's `--edge-chunks`), unless present. */
function ensureVariant(p: string): void {
  const dir = modelDirOf(p);
  if (chunksOf(p) === 1 || existsSync(join(dir, 'model.onnx'))) return;
  const code = [
    'import sys, torch',
    "sys.path.insert(0, 'python')",
    'from equiforce.checkpoint import normalize_state_dict',
    'from equiforce.convert import convert',
    `saved = torch.load('bench/models/${basePreset(p)}.pt')`,
    `convert(normalize_state_dict(saved['state_dict']), saved['kwargs'], ${JSON.stringify(dir)}, dtype='float32', edge_chunks=${chunksOf(p)}, source='random weights, preset ${basePreset(p)}', name='bench-${p}')`,
  ].join('\n');
  const r = spawnSync(PYTHON, ['-c', code], { cwd: ROOT, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`converting ${p} failed: ${r.stderr}`);
}
/** Supercells of the conventional 4-atom cell: 108, 1,008 and 4,000 atoms. */
const SIZES: Record<number, [number, number, number]> = { 108: [3, 3, 3], 1008: [6, 6, 7], 4000: [10, 10, 10] };
const SIZE_LIST = (process.env.EQUIFORCE_BENCH_SIZES ?? '108,1008,4000').split(',').map(Number);
const THREADS = (process.env.EQUIFORCE_BENCH_THREADS ?? '1,2').split(',').map(Number);
const MAX_CALL_S = Number(process.env.EQUIFORCE_BENCH_MAX_CALL_S ?? 180);
/** Which engines to time: `onnx`, `torch` (the PyTorch port) or both (default). */
const ENGINES = (process.env.EQUIFORCE_BENCH_ENGINES ?? 'onnx,torch').split(',');

// ---------------------------------------------------------------------------------------------
// Systems

/** Rattled FCC Cu supercell (±0.05 Å uniform displacements, fixed seed), fully periodic. */
function copper(reps: [number, number, number]): Structure {
  const a = CU_LATTICE;
  const basis = [[0, 0, 0], [0.5, 0.5, 0], [0.5, 0, 0.5], [0, 0.5, 0.5]];
  const r = rng(5);
  const pos: number[] = [];
  for (let i = 0; i < reps[0]; i++) for (let j = 0; j < reps[1]; j++) for (let k = 0; k < reps[2]; k++) {
    for (const b of basis) pos.push((i + b[0]) * a, (j + b[1]) * a, (k + b[2]) * a);
  }
  const rattled = pos.map((x) => x + 0.1 * (r() - 0.5));
  const n = pos.length / 3;
  return Structure.fromArrays({
    numbers: new Array<number>(n).fill(29),
    positions: rattled,
    cell: [reps[0] * a, 0, 0, 0, reps[1] * a, 0, 0, 0, reps[2] * a],
    pbc: true,
  });
}

function pairs(s: Structure): NeighborList {
  return neighborList({ positions: s.positions, cell: s.cell, pbc: [...s.pbc], numbers: s.numbers }, { cutoff: CUTOFF });
}

/** Write the pair list in the layout bench/model_torch.py reads. */
function writeSystem(dir: string, s: Structure, list: NeighborList): void {
  mkdirSync(dir, { recursive: true });
  const ei = new Int32Array(2 * list.count);
  ei.set(list.neighbors, 0);
  ei.set(list.centers, list.count);
  writeFileSync(join(dir, 'numbers.i32'), new Int32Array(s.numbers));
  writeFileSync(join(dir, 'edge_index.i32'), ei);
  writeFileSync(join(dir, 'edge_vec.f64'), list.vectors);
}

// ---------------------------------------------------------------------------------------------
// Children (each runs one measurement and prints one JSON line)

interface OnnxChild {
  engine: 'onnx';
  threads: number;
  atoms: number;
  edges: number;
  warmupS: number;
  /** Seconds inside session.run per call. */
  timesS: number[];
  /** Seconds per potential.compute (neighbour list, packing, run, reduction). */
  computeS: number[];
  energy: number;
  rssAfterLoadBytes: number;
  maxRssBytes: number;
  /** Which of the model's graphs ran: the default one or the large-system graph. */
  graph: string;
}

async function childOnnx(modelDir: string, size: number, threads: number, repeats: number, defaultOnly: boolean): Promise<OnnxChild> {
  const s = copper(SIZES[size]);
  const potential = await Potential.load(modelDir, { threads, ...(defaultOnly ? { largeGraphMinPairs: Infinity } : {}) });
  const rssAfterLoadBytes = process.resourceUsage().maxRSS * 1024;
  let t = performance.now();
  let res = await potential.compute(s, { task: 'omat' });
  const warmupS = (performance.now() - t) / 1000;
  const timesS: number[] = [];
  const computeS: number[] = [];
  for (let r = 0; r < repeats; r++) {
    const before = potential.timings.onnx;
    t = performance.now();
    res = await potential.compute(s, { task: 'omat' });
    computeS.push((performance.now() - t) / 1000);
    timesS.push((potential.timings.onnx - before) / 1000);
  }
  const list = pairs(s);
  const large = potential.metadata.largeGraph;
  return {
    engine: 'onnx', threads, atoms: s.length, edges: list.count, warmupS, timesS, computeS,
    graph: !defaultOnly && large && list.count >= large.minPairs ? `large (${large.edgeChunks} chunks)` : 'default',
    energy: res.energy, rssAfterLoadBytes, maxRssBytes: process.resourceUsage().maxRSS * 1024,
  };
}

/** Per op type: kernel time (µs) and FLOPs of the matrix products, from one profiled run. */
interface ProfileChild {
  engine: 'onnx-profile';
  threads: number;
  atoms: number;
  edges: number;
  matmulFlops: number;
  byOp: Record<string, { us: number; count: number; flops: number }>;
}

interface ProfileEvent {
  cat?: string;
  name?: string;
  dur?: number;
  args?: { op_name?: string; input_type_shape?: Record<string, number[]>[]; output_type_shape?: Record<string, number[]>[] };
}

const prod = (xs: readonly number[]): number => xs.reduce((a, b) => a * b, 1);

/**
 * FLOPs of one MatMul/FusedMatMul/Gemm, 2·|out|·K, from the shapes in ORT's profile. Its fused
 * transposes are not in the profile, so K is read as the one of B's last two dimensions that is
 * not the output's column count N; the profile lists no weight initializer (Gemm's second entry
 * is its bias), and then K is the one of A's last two dimensions that is not the row count M.
 */
function matmulFlops(ev: ProfileEvent): number {
  const shape = (x?: Record<string, number[]>) => Object.values(x ?? {})[0];
  const a = shape(ev.args?.input_type_shape?.[0]);
  const bRaw = shape(ev.args?.input_type_shape?.[1]);
  const b = /Gemm/.test(ev.args?.op_name ?? '') ? undefined : bRaw;
  const out = shape(ev.args?.output_type_shape?.[0]);
  if (!a || !out || prod(out) === 0) return 0;
  const n = out[out.length - 1];
  const m = out.length >= 2 ? out[out.length - 2] : 1;
  let k: number;
  if (b && b.length === 1) k = b[0];
  else if (b) k = b[b.length - 1] === n ? b[b.length - 2] : b[b.length - 1];
  else if (a.length === 1) k = a[0];
  else k = a[a.length - 1] === m ? a[a.length - 2] : a[a.length - 1];
  return 2 * prod(out) * k;
}

async function childProfile(modelDir: string, size: number, threads: number): Promise<ProfileChild> {
  const s = copper(SIZES[size]);
  const list = pairs(s);
  const meta = JSON.parse(readFileSync(join(modelDir, 'model.json'), 'utf8')) as { dtype: 'float32' | 'float64' };
  const dir = mkdtempSync(join(tmpdir(), 'equiforce-prof-'));
  const session = await ort.InferenceSession.create(join(modelDir, 'model.onnx'), {
    graphOptimizationLevel: 'all', enableCpuMemArena: false, intraOpNumThreads: threads, interOpNumThreads: 1,
    enableProfiling: true, profileFilePrefix: join(dir, 'prof'),
    // For the live-set analysis (bench/model_torch.py live): the graph as ORT runs it.
    ...(process.env.EQUIFORCE_OPTIMIZED_MODEL ? { optimizedModelFilePath: process.env.EQUIFORCE_OPTIMIZED_MODEL } : {}),
  });
  const { feeds } = new InputBuffers(meta.dtype).pack([{ numbers: new Int32Array(s.numbers), list, charge: 0, spin: 0, task: 0 }]);
  await session.run(feeds); // warm-up
  await session.run(feeds);
  session.endProfiling();
  await session.release();
  const file = readdirSync(dir).find((f) => f.endsWith('.json'));
  const events = JSON.parse(readFileSync(join(dir, file!), 'utf8')) as ProfileEvent[];
  if (process.env.EQUIFORCE_KEEP_PROFILE) writeFileSync(process.env.EQUIFORCE_KEEP_PROFILE, JSON.stringify(events));
  rmSync(dir, { recursive: true, force: true });
  // Keep the second run only: events after the last "model_run" of the first one.
  const runs = events.filter((e) => e.cat === 'Session' && e.name === 'model_run');
  const kernels = events.filter((e) => e.cat === 'Node' && e.name?.endsWith('_kernel_time'));
  const perRun = kernels.length / Math.max(runs.length, 1);
  const last = kernels.slice(kernels.length - perRun);
  const byOp: ProfileChild['byOp'] = {};
  let total = 0;
  for (const e of last) {
    const op = e.args?.op_name ?? '?';
    const f = /MatMul|Gemm/.test(op) ? matmulFlops(e) : 0;
    const b = (byOp[op] ??= { us: 0, count: 0, flops: 0 });
    b.us += e.dur ?? 0;
    b.count += 1;
    b.flops += f;
    total += f;
  }
  return { engine: 'onnx-profile', threads, atoms: s.length, edges: list.count, matmulFlops: total, byOp };
}

interface GemmChild { engine: 'onnx-gemm'; threads: number; shape: number[]; timesS: number[]; flopsPerS: number }

async function childGemm(onnxPath: string, m: number, k: number, n: number, threads: number): Promise<GemmChild> {
  const session = await ort.InferenceSession.create(onnxPath, {
    graphOptimizationLevel: 'all', enableCpuMemArena: false, intraOpNumThreads: threads, interOpNumThreads: 1,
  });
  const r = rng(1);
  const a = new ort.Tensor('float32', Float32Array.from({ length: m * k }, () => r() - 0.5), [m, k]);
  await session.run({ a });
  const timesS: number[] = [];
  for (let i = 0; i < 5; i++) {
    const t = performance.now();
    await session.run({ a });
    timesS.push((performance.now() - t) / 1000);
  }
  return { engine: 'onnx-gemm', threads, shape: [m, k, n], timesS, flopsPerS: (2 * m * k * n) / Math.min(...timesS) };
}

// ---------------------------------------------------------------------------------------------
// Parent

interface RunResult { ok: boolean; json?: Record<string, unknown>; error?: string; wallS: number }

function runChild(cmd: string, args: string[], timeoutS: number, env: Record<string, string> = {}): RunResult {
  const t = performance.now();
  const r = spawnSync(cmd, args, {
    cwd: ROOT, encoding: 'utf8', timeout: Math.round(timeoutS * 1000), maxBuffer: 64 << 20, env: { ...process.env, ...env },
  });
  const wallS = (performance.now() - t) / 1000;
  const line = (r.stdout ?? '').trim().split('\n').pop() ?? '';
  if (r.status === 0 && line.startsWith('{')) return { ok: true, json: JSON.parse(line) as Record<string, unknown>, wallS };
  const why = r.error ? r.error.message : r.signal ? `killed by ${r.signal}` : `exit ${r.status}`;
  return { ok: false, error: `${why}: ${(r.stderr ?? '').trim().split('\n').slice(-3).join(' | ')}`, wallS };
}

const self = fileURLToPath(import.meta.url);
const nodeChild = (args: string[], timeoutS: number, env: Record<string, string> = {}): RunResult =>
  runChild(process.execPath, [...process.execArgv, self, 'child', ...args], timeoutS, env);

interface Case {
  preset: string;
  atoms: number;
  edges: number;
  engine: 'onnx' | 'torch';
  threads: number;
  status: 'ok' | 'skipped' | 'failed';
  reason?: string;
  /** Median seconds per call (ONNX: inside session.run). */
  callS?: number;
  timesS?: number[];
  warmupS?: number;
  /** ONNX only: median seconds per potential.compute. */
  computeS?: number;
  maxRssBytes?: number;
  rssAfterLoadBytes?: number;
  bytesPerEdge?: number;
  estimatedCallS?: number;
  estimatedRssBytes?: number;
  energy?: number;
  /** ONNX only: which of the model's graphs ran. */
  graph?: string;
  loadavg: number[];
}

function repeatsFor(estS: number): number {
  return estS < 3 ? 5 : estS < 10 ? 3 : estS < 30 ? 2 : 1;
}

async function parent(): Promise<void> {
  const started = new Date().toISOString();
  const load0 = loadavg();
  const data = mkdtempSync(join(tmpdir(), 'equiforce-model-bench-'));
  const cases: Case[] = [];
  const log = (msg: string) => process.stderr.write(`${msg}\n`);

  // GEMM rate: shapes like the edge-sized SO(2) products at C = 32 and C = 128.
  const gemmShapes: Record<string, [number, number, number]> = { small: [65536, 192, 192], 'uma-s': [16384, 768, 768] };
  const gemm: Record<string, { onnx: Record<number, number>; torch: Record<number, number>; shape: number[] }> = {};
  for (const preset of new Set(PRESETS.map(basePreset))) {
    const [m, k, n] = gemmShapes[preset] ?? [32768, 384, 384];
    const onnxPath = join(data, `gemm-${preset}.onnx`);
    gemm[preset] = { onnx: {}, torch: {}, shape: [m, k, n] };
    for (const t of THREADS) {
      const tr = runChild(PYTHON, ['bench/model_torch.py', 'gemm', '--threads', String(t), '--shape', String(m), String(k), String(n), '--onnx', onnxPath], 300);
      if (tr.ok) gemm[preset].torch[t] = tr.json!.flops_per_s as number;
      const or = nodeChild(['gemm', onnxPath, String(m), String(k), String(n), String(t)], 300);
      if (or.ok) gemm[preset].onnx[t] = or.json!.flopsPerS as number;
      log(`gemm ${preset} ${m}x${k}x${n} ${t}t: ORT ${formatNumber((gemm[preset].onnx[t] ?? NaN) / 1e9)} GFLOP/s, torch ${formatNumber((gemm[preset].torch[t] ?? NaN) / 1e9)} GFLOP/s`);
    }
  }

  // FLOPs per edge and per-op kernel time, from ORT's profile on the 108-atom system; with 1
  // thread also the live-set analysis (what is alive at the peak of ORT's schedule).
  const profiles: Record<string, Record<number, ProfileChild>> = {};
  const live: Record<string, LiveSet> = {};
  for (const preset of PRESETS) {
    ensureVariant(preset);
    profiles[preset] = {};
    for (const t of preset.includes('@') ? [1] : THREADS) {
      const env: Record<string, string> = t === 1 ? { EQUIFORCE_KEEP_PROFILE: join(data, 'profile.json'), EQUIFORCE_OPTIMIZED_MODEL: join(data, 'optimized.onnx') } : {};
      const r = nodeChild(['profile', modelDirOf(preset), '108', String(t)], 600, env);
      if (!r.ok) {
        log(`profile ${preset} ${t}t failed: ${r.error}`);
        continue;
      }
      profiles[preset][t] = r.json as unknown as ProfileChild;
      if (t === 1) {
        const l = runChild(PYTHON, ['bench/model_torch.py', 'live', '--model', env.EQUIFORCE_OPTIMIZED_MODEL, '--profile', env.EQUIFORCE_KEEP_PROFILE, '--edges', String(profiles[preset][t].edges), '--top', '12'], 300);
        if (l.ok) live[preset] = l.json as unknown as LiveSet;
        log(`live set ${preset}: ${l.ok ? formatNumber(live[preset].peak_bytes_per_edge / 1000) : 'failed'} KB/edge at the peak (108 atoms)`);
      }
    }
  }

  for (const preset of PRESETS) {
    const modelDir = modelDirOf(preset);
    const weights = join(ROOT, 'bench/models', `${basePreset(preset)}.pt`);
    if (!existsSync(join(ROOT, 'bench/models', `${basePreset(preset)}-float32`, 'model.onnx')) || !existsSync(weights)) {
      throw new Error(`bench/models/${basePreset(preset)}-float32 or ${basePreset(preset)}.pt missing: run /usr/bin/python3 bench/make_models.py ${basePreset(preset)}`);
    }
    ensureVariant(preset);
    // Per engine and thread count: seconds and bytes per edge of the last measured size, for estimates.
    const perEdge = new Map<string, { s: number; bytes: number; base: number }>();
    for (const size of SIZE_LIST) {
      const s = copper(SIZES[size]);
      const list = pairs(s);
      const sysDir = join(data, `cu-${size}`);
      writeSystem(sysDir, s, list);
      for (const threads of THREADS) {
        for (const engine of (preset.includes('@') ? (['onnx'] as const) : (['onnx', 'torch'] as const)).filter((e) => ENGINES.includes(e))) {
          const key = `${engine}-${threads}`;
          const prev = perEdge.get(key);
          const base: Case = { preset, atoms: s.length, edges: list.count, engine, threads, status: 'ok', loadavg: loadavg() };
          let est = 2;
          if (prev) {
            est = prev.s * list.count;
            base.estimatedCallS = est;
            base.estimatedRssBytes = prev.base + prev.bytes * list.count;
            if (est > MAX_CALL_S) {
              cases.push({ ...base, status: 'skipped', reason: `estimated ${formatNumber(est)} s per call > ${MAX_CALL_S} s` });
              log(`${preset} ${size} ${engine} ${threads}t: skipped (est ${formatNumber(est)} s/call)`);
              continue;
            }
            // The machine is shared: leave a wide margin (a PyTorch run at 4,000 atoms once reached
            // 9.6 GiB and was still growing towards its ~18 GiB estimate with 12 GiB available).
            if (base.estimatedRssBytes > 0.6 * freemem()) {
              cases.push({ ...base, status: 'skipped', reason: `estimated peak RSS ${formatNumber(base.estimatedRssBytes / 2 ** 30)} GiB > 60% of free memory (${formatNumber(freemem() / 2 ** 30)} GiB)` });
              log(`${preset} ${size} ${engine} ${threads}t: skipped (memory)`);
              continue;
            }
          }
          const repeats = repeatsFor(est);
          // No smaller size measured before (e.g. EQUIFORCE_BENCH_SIZES=1008 alone): no estimate, so
          // allow each call the per-call limit instead of failing a slow but legitimate case.
          const timeout = prev ? Math.max(120, est * (repeats + 1) * 3 + 60) : MAX_CALL_S * (repeats + 1) + 60;
          const r = engine === 'onnx'
            ? nodeChild(['onnx', modelDir, String(size), String(threads), String(repeats), defaultGraphOnly(preset) ? 'default' : 'auto'], timeout)
            : runChild(PYTHON, ['bench/model_torch.py', 'port', '--weights', weights, '--data', sysDir, '--threads', String(threads), '--repeats', String(repeats)], timeout);
          if (!r.ok) {
            cases.push({ ...base, status: 'failed', reason: r.error });
            log(`${preset} ${size} ${engine} ${threads}t: FAILED ${r.error}`);
            continue;
          }
          const j = r.json!;
          const times = (engine === 'onnx' ? j.timesS : j.times_s) as number[];
          const maxRss = (engine === 'onnx' ? j.maxRssBytes : j.max_rss_bytes) as number;
          const c: Case = {
            ...base, callS: median(times), timesS: times, warmupS: (engine === 'onnx' ? j.warmupS : j.warmup_s) as number,
            maxRssBytes: maxRss, bytesPerEdge: maxRss / list.count, energy: j.energy as number,
            ...(engine === 'onnx' ? { computeS: median(j.computeS as number[]), rssAfterLoadBytes: j.rssAfterLoadBytes as number, graph: j.graph as string } : {}),
          };
          cases.push(c);
          // Memory estimate: the smallest size's RSS is mostly the runtime, so scale the excess.
          const baseRss = prev ? prev.base : Math.min(maxRss, 400 * 2 ** 20);
          // Results so far are written after every case, so an interrupted run still reports them.
          report({ started, finished: `(partial) ${new Date().toISOString()}`, load0, load1: loadavg(), gemm, profiles, live, cases }, false);
          perEdge.set(key, { s: c.callS! / list.count, bytes: Math.max(0, maxRss - baseRss) / list.count, base: baseRss });
          log(`${preset} ${size} ${engine} ${threads}t: ${formatNumber(c.callS!)} s/call, peak RSS ${formatNumber(maxRss / 2 ** 20)} MiB (${formatNumber(c.bytesPerEdge! / 1024)} KB/edge), load ${loadavg()[0].toFixed(2)}`);
        }
      }
    }
  }
  rmSync(data, { recursive: true, force: true });
  report({ started, finished: new Date().toISOString(), load0, load1: loadavg(), gemm, profiles, live, cases });
}

// ---------------------------------------------------------------------------------------------
// Report

interface Report {
  started: string;
  finished: string;
  load0: number[];
  load1: number[];
  gemm: Record<string, { onnx: Record<number, number>; torch: Record<number, number>; shape: number[] }>;
  profiles: Record<string, Record<number, ProfileChild>>;
  live: Record<string, LiveSet>;
  cases: Case[];
}

/** bench/model_torch.py live: activations alive at the peak of ORT's schedule. */
interface LiveSet {
  peak_bytes: number;
  peak_bytes_per_edge: number;
  peak_op: string;
  at_peak: { what: string; count: number; bytes: number; bytes_per_edge: number }[];
}

function report(r: Report, print = true): void {
  const find = (p: string, atoms: number, engine: string, threads: number) =>
    r.cases.find((c) => c.preset === p && c.atoms === atoms && c.engine === engine && c.threads === threads);
  const flopsPerEdge = (p: string): number => {
    const prof = r.profiles[p]?.[1] ?? r.profiles[p]?.[2];
    return prof ? prof.matmulFlops / prof.edges : NaN;
  };
  const rows: (string | number)[][] = [];
  for (const c of r.cases) {
    if (c.engine !== 'onnx') continue;
    const t = find(basePreset(c.preset), c.atoms, 'torch', c.threads);
    const one = find(c.preset, c.atoms, 'onnx', 1);
    const tOne = find(basePreset(c.preset), c.atoms, 'torch', 1);
    const rate = r.gemm[basePreset(c.preset)]?.onnx[c.threads] ?? NaN;
    const fmtCase = (x?: Case) => (x?.status === 'ok' ? formatNumber(x.callS!) : x?.status === 'skipped' ? `skipped (est. ${formatNumber(x.estimatedCallS ?? NaN)} s)` : x ? 'failed' : '–');
    const mem = (x?: Case) => (x?.status === 'ok' ? `${formatNumber(x.maxRssBytes! / 2 ** 20)} MiB / ${formatNumber(x.bytesPerEdge! / 1000)} KB` : '–');
    rows.push([
      c.preset, c.graph ?? '–', c.atoms, c.edges, c.threads,
      fmtCase(c), mem(c),
      fmtCase(t), mem(t),
      c.status === 'ok' && t?.status === 'ok' ? `${formatNumber(t.callS! / c.callS!)}×` : '–',
      c.threads === 2 && one?.status === 'ok' && c.status === 'ok' ? `${formatNumber(one.callS! / c.callS!)}×` : '–',
      c.threads === 2 && tOne?.status === 'ok' && t?.status === 'ok' ? `${formatNumber(tOne.callS! / t.callS!)}×` : '–',
      c.status === 'ok' ? `${formatNumber((100 * flopsPerEdge(basePreset(c.preset)) * c.edges) / c.callS! / rate)}%` : '–',
    ]);
  }
  const table = markdownTable(
    ['model', 'ONNX graph', 'atoms', 'edges', 'threads', 'ONNX s/call', 'ONNX peak RSS / per edge', 'port s/call', 'port peak RSS / per edge', 'port ÷ ONNX', 'ONNX 1t ÷ 2t', 'port 1t ÷ 2t', 'ONNX % of GEMM rate'],
    rows,
  );
  const gemmRows = Object.entries(r.gemm).flatMap(([p, g]) => THREADS.map((t) => [p, g.shape.join('×'), t, formatNumber((g.onnx[t] ?? NaN) / 1e9), formatNumber((g.torch[t] ?? NaN) / 1e9)]));
  const opRows: (string | number)[][] = [];
  for (const [p, byT] of Object.entries(r.profiles)) {
    if (p.includes('@')) continue;
    const one = byT[1]?.byOp ?? {};
    const two = byT[2]?.byOp ?? {};
    const total1 = Object.values(one).reduce((a, b) => a + b.us, 0);
    const total2 = Object.values(two).reduce((a, b) => a + b.us, 0);
    const ops = Object.entries(one).sort((a, b) => b[1].us - a[1].us).slice(0, 10);
    for (const [op, v] of ops) {
      opRows.push([p, op, v.count, formatNumber(v.us / 1000), `${formatNumber((100 * v.us) / total1)}%`, formatNumber((two[op]?.us ?? NaN) / 1000), formatNumber(v.us / (two[op]?.us ?? NaN)), formatNumber(v.flops / byT[1].edges / 1e6)]);
    }
    opRows.push([p, 'all kernels', '', formatNumber(total1 / 1000), '100%', formatNumber(total2 / 1000), formatNumber(total1 / total2), formatNumber(byT[1] ? byT[1].matmulFlops / byT[1].edges / 1e6 : NaN)]);
  }
  const cmd = `${TAG ? `EQUIFORCE_BENCH_TAG=${TAG.slice(1)} ` : ""}npx tsx bench/model.ts${process.env.EQUIFORCE_BENCH_PRESETS ? ` (EQUIFORCE_BENCH_PRESETS=${process.env.EQUIFORCE_BENCH_PRESETS})` : ''}${process.env.EQUIFORCE_BENCH_SIZES ? ` (EQUIFORCE_BENCH_SIZES=${process.env.EQUIFORCE_BENCH_SIZES})` : ''}${process.env.EQUIFORCE_BENCH_THREADS ? ` (EQUIFORCE_BENCH_THREADS=${process.env.EQUIFORCE_BENCH_THREADS})` : ''}${process.env.EQUIFORCE_BENCH_ENGINES ? ` (EQUIFORCE_BENCH_ENGINES=${process.env.EQUIFORCE_BENCH_ENGINES})` : ''} (npm run bench:model), max ${MAX_CALL_S} s per call`;
  const md = `# Model benchmark: ONNX graph vs PyTorch port

Command: \`${cmd}\`. Run ${r.started} → ${r.finished}.
Machine: ${cpus().length} × ${cpus()[0]?.model ?? '?'}, ${formatNumber(totalmem() / 2 ** 30)} GiB RAM, **shared with other jobs**:
load average at start ${r.load0.map((x) => x.toFixed(2)).join(' / ')}, at end ${r.load1.map((x) => x.toFixed(2)).join(' / ')} (1/5/15 min). With a load of ~4 on 2 cores
every figure here is inflated and noisy, 2-thread figures most of all.

Models: random weights from \`bench/make_models.py\`, float32, lmax = mmax = 2, 4 layers, 64 Gaussians, dense;
\`small\` C = 32, \`uma-s\` C = 128. ONNX graphs as converted by default: \`model.onnx\` (per-layer recomputation, no edge
chunks; \`enableCpuMemArena: false\`) and, from \`large_graph.min_pairs\` pairs on, the large-system graph \`model.large.onnx\`
(8 edge chunks, each chunk building its own pair geometry; ORT's CPU arena without memory patterns), as \`Potential\` picks them
(column "ONNX graph"); \`preset@default\`: the default graph at every size (\`largeGraphMinPairs: Infinity\`);
\`preset@cS\`: the network converted with \`--edge-chunks S\` as its only graph. Port columns of variants repeat the preset's.
onnxruntime-node ${ort.env.versions.common ?? ''}, \`graphOptimizationLevel: 'all'\`, through \`Potential.compute\`.
PyTorch port: \`UMAModel\` + \`evaluate\` (forward + autograd forces), float32, \`torch.set_num_threads\`.
System: rattled (±0.05 Å) FCC Cu, periodic, cutoff 6 Å (78 pairs per atom). Every cell is a fresh child process:
one warm-up call, then the median of 1–5 calls (fewer for slow cases; see the JSON). ONNX time is the \`session.run\`
time; peak RSS is the child's \`maxRSS\` (node: \`process.resourceUsage()\`, python: \`ru_maxrss\`), per edge = peak RSS / edges
(it includes the runtime and weights: ~100–400 MB).

${table}

FLOPs per edge are the MatMul/FusedMatMul/Gemm FLOPs ORT ran (2·M·K·N from the shapes in its profile, 108-atom system,
divided by the edge count; per-atom products included): **${Object.keys(r.profiles).map((p) => `${p}: ${formatNumber(flopsPerEdge(p) / 1e6)} MFLOP/edge`).join(', ')}**.
"% of GEMM rate" = FLOPs per call ÷ time ÷ the ORT float32 GEMM rate measured in this run at the same thread count:

${markdownTable(['model', 'GEMM shape M×K×N', 'threads', 'ORT GFLOP/s', 'torch.mm GFLOP/s'], gemmRows)}

Where the time goes (ORT profile, 108-atom system, kernel time summed by op type, top 10; 2-thread column and
speed-up per op type):

${markdownTable(['model', 'op', 'nodes', '1t ms', 'share', '2t ms', '1t ÷ 2t', 'MFLOP/edge'], opRows)}

Live activations at the peak of ORT's schedule (108-atom system, 1 thread; \`bench/model_torch.py live\`: every
tensor freed after its last reader, reshapes alias their input; initializers not counted), largest groups by producer op and shape:

${Object.entries(r.live).map(([p, l]) => `* **${p}**: ${formatNumber(l.peak_bytes / 2 ** 20)} MiB = ${formatNumber(l.peak_bytes_per_edge / 1000)} KB/edge at a ${l.peak_op}; ` + l.at_peak.slice(0, 8).map((x) => `${x.what}${x.count > 1 ? ` ×${x.count}` : ''} ${formatNumber(x.bytes_per_edge / 1000)} KB`).join(', ')).join('\n')}

Skipped / failed cases:

${r.cases.filter((c) => c.status !== 'ok').map((c) => `* ${c.preset}, ${c.atoms} atoms, ${c.engine}, ${c.threads} thread(s): ${c.status} — ${c.reason}`).join('\n') || 'none'}
`;
  writeJson(join(OUT, `model${TAG}.json`), r);
  writeFileSync(join(OUT, `model${TAG}.md`), md);
  if (print) process.stdout.write(md);
}

// ---------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const [mode, ...rest] = process.argv.slice(2);
  if (mode === 'child') {
    const [kind, ...a] = rest;
    let out: unknown;
    if (kind === 'onnx') out = await childOnnx(a[0], Number(a[1]), Number(a[2]), Number(a[3]), a[4] === 'default');
    else if (kind === 'profile') out = await childProfile(a[0], Number(a[1]), Number(a[2]));
    else if (kind === 'gemm') out = await childGemm(a[0], Number(a[1]), Number(a[2]), Number(a[3]), Number(a[4]));
    else throw new Error(`unknown child ${kind}`);
    process.stdout.write(`${JSON.stringify(out)}\n`);
    return;
  }
  await parent();
}

await main();
