/**
 * Neighbour-search benchmark: `npx tsx bench/neighbors.ts` (or `npm run bench:neighbors`).
 *
 * Times equiforce's cell-list search (cutoff 6 Å, full list with i, j, S, D, d, offsets and
 * reverse) on standard systems: FCC Cu and a liquid-like random box at the same density from
 * 500 to 256,000 atoms, a strongly skewed triclinic cell, a slab with vacuum and a 10,000-atom
 * open cluster. For each it reports the median time and pairs/s of a one-shot `neighborList`
 * (fresh output arrays every call) and of a reused `NeighborSearch` (warm buffers), memory,
 * first call vs warm call (in a fresh process), Verlet-skin refresh vs rebuild, and baselines
 * measured in the same run: ASE's primitive_neighbor_list (timed inside /usr/bin/python3,
 * skipped when ASE is not importable) and kd-tree-javascript for the open cluster.
 *
 * Options: --quick (systems up to 32,000 atoms), --no-ase, --first-call <name> (internal).
 * Writes bench/results/neighbors.json and bench/results/neighbors.md.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import kdTreeModule from 'kd-tree-javascript';
import { disposeNeighborWorkers, neighborList, NeighborSearch, startNeighborWorkers, VerletNeighborList, type NeighborList } from '../src/geometry/index.js';
import { sampleMemory, tryGc, viewBytes } from './lib/memory.js';
import { markdownTable, writeJson, writeText } from './lib/report.js';
import { cluster, fccCu, randomBox, rng, skewedBox, slab, type BenchSystem } from './lib/systems.js';
import { median, repeatsFor, timeOnce, timeRepeated, timeRepeatedCpu } from './lib/timing.js';

const { kdTree } = kdTreeModule;
const CUTOFF = 6;
const SKIN = 1;
const here = dirname(fileURLToPath(import.meta.url));
const argv = process.argv.slice(2);
const quick = argv.includes('--quick');
const noAse = argv.includes('--no-ase');

function systemByName(name: string): BenchSystem {
  const [kind, sizeText] = [name.replace(/-\d+$/, ''), name.match(/(\d+)$/)?.[1] ?? '0'];
  const n = Number(sizeText);
  switch (kind) {
    case 'fcc-cu': return fccCu(Math.round(Math.cbrt(n / 4)));
    case 'random-box': return randomBox(n);
    case 'skewed-triclinic': return skewedBox(n);
    case 'slab': return slab(Math.round(Math.sqrt(n / 20)), 5);
    case 'cluster': return cluster(n);
    default: throw new Error(`unknown system ${name}`);
  }
}

function listBytes(nl: NeighborList): number {
  return viewBytes([nl.centers, nl.neighbors, nl.shifts, nl.vectors, nl.distances, nl.offsets, nl.reverse]);
}

/** Child mode: first call in a fresh process vs the following warm calls (wall and CPU time). */
function firstCallChild(name: string): void {
  const sys = systemByName(name);
  const first = timeRepeatedCpu(() => neighborList(sys, { cutoff: CUTOFF, threads: 1 }), 1);
  const warm = timeRepeatedCpu(() => neighborList(sys, { cutoff: CUTOFF, threads: 1 }), sys.positions.length > 3 * 100_000 ? 3 : 5);
  const search = new NeighborSearch({ cutoff: CUTOFF, threads: 1 });
  const sFirst = timeRepeatedCpu(() => search.search(sys), 1);
  const sWarm = timeRepeatedCpu(() => search.search(sys), 5);
  process.stdout.write(JSON.stringify({
    firstMs: first.times[0], warmMs: median(warm.times), firstCpuMs: first.cpuTimes[0], warmCpuMs: median(warm.cpuTimes),
    searchFirstMs: sFirst.times[0], searchWarmMs: median(sWarm.times),
    searchFirstCpuMs: sFirst.cpuTimes[0], searchWarmCpuMs: median(sWarm.cpuTimes),
    count: first.result.count,
  }));
}

interface AseResult { count?: number; times_ms?: number[]; error?: string; ase_version?: string }

function runAse(sys: BenchSystem, repeats: number): AseResult {
  const dir = mkdtempSync(join(tmpdir(), 'equiforce-bench-'));
  try {
    const posFile = join(dir, 'positions.f64');
    writeFileSync(posFile, Buffer.from(sys.positions.buffer, sys.positions.byteOffset, sys.positions.byteLength));
    // ASE wants a non-singular cell even for open axes: use the bounding box there.
    const cell = sys.cell ? Array.from(sys.cell) : [0, 0, 0, 0, 0, 0, 0, 0, 0];
    for (let k = 0; k < 3; k++) {
      const zero = cell[3 * k] === 0 && cell[3 * k + 1] === 0 && cell[3 * k + 2] === 0;
      if (zero) {
        let lo = Infinity, hi = -Infinity;
        for (let i = 0; i < sys.positions.length / 3; i++) { lo = Math.min(lo, sys.positions[3 * i + k]); hi = Math.max(hi, sys.positions[3 * i + k]); }
        cell[3 * k + k] = hi - lo + 1;
      }
    }
    const req = join(dir, 'request.json');
    writeFileSync(req, JSON.stringify({ positions_file: posFile, cell, pbc: sys.pbc, cutoff: CUTOFF, repeats }));
    const res = spawnSync('/usr/bin/python3', [join(here, 'lib', 'ase_neighbors.py'), req], { encoding: 'utf8', timeout: 600_000, maxBuffer: 1 << 20 });
    if (res.error) return { error: String(res.error) };
    if (res.status !== 0) return { error: res.stderr.trim().split('\n').slice(-1)[0] ?? `exit ${res.status}` };
    return JSON.parse(res.stdout.trim().split('\n').slice(-1)[0]) as AseResult;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** kd-tree-javascript baseline: the full list (i, j, d) from radius queries. */
function kdTreePairs(sys: BenchSystem): number {
  type P = { x: number; y: number; z: number; i: number };
  const pts: P[] = [];
  const n = sys.positions.length / 3;
  for (let i = 0; i < n; i++) pts.push({ x: sys.positions[3 * i], y: sys.positions[3 * i + 1], z: sys.positions[3 * i + 2], i });
  const metric = (a: P, b: P) => (a.x - b.x) ** 2 + (a.y - b.y) ** 2 + (a.z - b.z) ** 2;
  const tree = new kdTree(pts.slice(), metric, ['x', 'y', 'z']);
  let count = 0;
  const c2 = CUTOFF * CUTOFF;
  for (const p of pts) {
    // maxNodes bounds the result heap: far above the ~80 neighbours at this density.
    for (const [node, d2] of tree.nearest(p, 400, c2)) if (d2 < c2 && node.i !== p.i) count++;
  }
  return count;
}

function displaced(positions: Float64Array, step: number, seed: number): Float64Array {
  const r = rng(seed);
  const out = Float64Array.from(positions);
  for (let k = 0; k < out.length; k++) out[k] += step * (2 * r() - 1);
  return out;
}

interface Row {
  system: string; atoms: number; pbc: string; pairs: number; pairsPerAtom: number;
  oneShotMs: number; oneShotMPairsPerS: number; reuseMs: number; reuseMPairsPerS: number; repeats: number;
  /** Median process CPU time of the reused search (less sensitive to other jobs than wall time). */
  reuseCpuMs: number; reuseCpuMPairsPerS: number;
  listMiB: number; maxRssMiB: number;
  skinRebuildMs?: number; skinRefreshMs?: number; skinRefreshOverRebuild?: number;
  skinRebuildCpuMs?: number; skinRefreshCpuMs?: number; skinRefreshOverRebuildCpu?: number;
  /** The same refreshes with `refreshEngine: 'js'` (the baseline of the WebAssembly kernel). */
  skinRefreshJsMs?: number; skinRefreshJsCpuMs?: number; skinRefreshJsOverRebuild?: number;
  aseMs?: number; aseNote?: string; speedupVsAse?: number;
  kdTreeMs?: number; speedupVsKdTree?: number;
}

function benchSystem(sys: BenchSystem, withSkin: boolean, aseRepeats: number): Row {
  const n = sys.positions.length / 3;
  tryGc();
  // One-shot: fresh arrays each call (page faults included).
  const probe = timeOnce(() => neighborList(sys, { cutoff: CUTOFF, threads: 1 }));
  const repeats = repeatsFor(probe.ms, 2500, 3, 25);
  const one = timeRepeated(() => neighborList(sys, { cutoff: CUTOFF, threads: 1 }), repeats);
  const count = one.result.count;
  const bytes = listBytes(one.result);
  // Reused buffers.
  const search = new NeighborSearch({ cutoff: CUTOFF, threads: 1 });
  search.search(sys);
  const reuse = timeRepeatedCpu(() => search.search(sys), repeats);
  if (reuse.result.count !== count) throw new Error(`${sys.name}: NeighborSearch found ${reuse.result.count} pairs, neighborList ${count}`);
  search.release();
  const row: Row = {
    system: sys.name, atoms: n, pbc: sys.pbc.map((p) => (p ? 'T' : 'F')).join(''), pairs: count, pairsPerAtom: count / n,
    oneShotMs: median(one.times), oneShotMPairsPerS: count / median(one.times) / 1e3,
    reuseMs: median(reuse.times), reuseMPairsPerS: count / median(reuse.times) / 1e3, repeats,
    reuseCpuMs: median(reuse.cpuTimes), reuseCpuMPairsPerS: count / median(reuse.cpuTimes) / 1e3,
    listMiB: bytes / 2 ** 20, maxRssMiB: sampleMemory().maxRssMiB,
  };
  if (withSkin) {
    // Both refresh engines on the same displacements, interleaved; rebuilds timed on the wasm list.
    const verlet = new VerletNeighborList(sys, { cutoff: CUTOFF, skin: SKIN, threads: 1, refreshEngine: 'wasm' });
    const verletJs = new VerletNeighborList(sys, { cutoff: CUTOFF, skin: SKIN, threads: 1, refreshEngine: 'js' });
    if (verlet.activeRefreshEngine !== 'wasm') throw new Error(`${sys.name}: the wasm refresh engine is not in use`);
    const kick = Float64Array.from(sys.positions);
    const rebuildTimes: number[] = [];
    const refreshTimes: number[] = [];
    const refreshJsTimes: number[] = [];
    const rebuildCpu: number[] = [];
    const refreshCpu: number[] = [];
    const refreshJsCpu: number[] = [];
    const skinRepeats = n > 100_000 ? 3 : 5;
    for (let r = 0; r < skinRepeats; r++) {
      // Refresh: every atom moves a little (< skin/2) from the positions of the last build.
      const small = displaced(kick, 0.05, 100 + r);
      const before = verlet.rebuildCount;
      const refresh = timeRepeatedCpu(() => verlet.update(small), 1);
      refreshTimes.push(refresh.times[0]);
      refreshCpu.push(refresh.cpuTimes[0]);
      const refreshJs = timeRepeatedCpu(() => verletJs.update(small), 1);
      refreshJsTimes.push(refreshJs.times[0]);
      refreshJsCpu.push(refreshJs.cpuTimes[0]);
      if (verlet.rebuildCount !== before || verletJs.refreshCount !== verlet.refreshCount) throw new Error('refresh rebuilt');
      if (refresh.result.count !== refreshJs.result.count) throw new Error(`${sys.name}: refresh engines disagree`);
      // Rebuild: one atom jumps by more than skin/2.
      kick[0] = sys.positions[0] + (r % 2 ? 0.8 : -0.8) * SKIN;
      const rebuild = timeRepeatedCpu(() => verlet.update(kick), 1);
      rebuildTimes.push(rebuild.times[0]);
      rebuildCpu.push(rebuild.cpuTimes[0]);
      verletJs.update(kick);
      if (verlet.rebuildCount !== before + 1) throw new Error('rebuild not triggered');
    }
    row.skinRebuildMs = median(rebuildTimes);
    row.skinRefreshMs = median(refreshTimes);
    row.skinRefreshOverRebuild = row.skinRefreshMs / row.skinRebuildMs;
    row.skinRebuildCpuMs = median(rebuildCpu);
    row.skinRefreshCpuMs = median(refreshCpu);
    row.skinRefreshOverRebuildCpu = row.skinRefreshCpuMs / row.skinRebuildCpuMs;
    row.skinRefreshJsMs = median(refreshJsTimes);
    row.skinRefreshJsCpuMs = median(refreshJsCpu);
    row.skinRefreshJsOverRebuild = row.skinRefreshJsMs / row.skinRebuildMs;
  }
  if (aseRepeats > 0 && !noAse) {
    const ase = runAse(sys, aseRepeats);
    if (ase.error) row.aseNote = ase.error;
    else if (ase.times_ms) {
      row.aseMs = median(ase.times_ms);
      row.speedupVsAse = row.aseMs / row.oneShotMs;
      if (ase.count !== count) row.aseNote = `ASE found ${ase.count} pairs vs ${count}`;
    }
  }
  return row;
}

interface ThreadRow {
  system: string; atoms: number; pairs: number;
  /** One thread, default traversal; one thread, bin-order passes (what each thread runs); two threads. */
  oneMs: number; oneCpuMs: number; oneBinMs: number; oneBinCpuMs: number; twoMs: number; twoCpuMs: number;
  twoThreadsUsed: number; speedup: number; mPairsPerSTwo: number;
}

/** NeighborSearch on 1 vs 2 threads (same result, checked bit for bit on the pair count and reverse). */
function benchThreads(sys: BenchSystem): ThreadRow {
  const repeats = sys.positions.length > 3 * 100_000 ? 3 : 7;
  const run = (threads: number, traversal: 'auto' | 'bin') => {
    const s = new NeighborSearch({ cutoff: CUTOFF, threads, traversal });
    s.search(sys);
    const t = timeRepeatedCpu(() => s.search(sys), repeats);
    const used = s.lastThreads;
    const rev = t.result.reverse.slice();
    s.release();
    return { ms: median(t.times), cpuMs: median(t.cpuTimes), used, count: t.result.count, rev };
  };
  tryGc();
  const one = run(1, 'auto');
  const oneBin = run(1, 'bin');
  const two = run(2, 'auto');
  if (two.count !== one.count || Buffer.compare(Buffer.from(two.rev.buffer), Buffer.from(one.rev.buffer)) !== 0) throw new Error(`${sys.name}: 2-thread list differs`);
  return {
    system: sys.name, atoms: sys.positions.length / 3, pairs: one.count,
    oneMs: one.ms, oneCpuMs: one.cpuMs, oneBinMs: oneBin.ms, oneBinCpuMs: oneBin.cpuMs, twoMs: two.ms, twoCpuMs: two.cpuMs,
    twoThreadsUsed: two.used, speedup: one.ms / two.ms, mPairsPerSTwo: one.count / two.ms / 1e3,
  };
}

async function main(): Promise<void> {
  const fcIndex = argv.indexOf('--first-call');
  if (fcIndex >= 0) {
    firstCallChild(argv[fcIndex + 1]);
    return;
  }
  const started = new Date();
  const load0 = loadavg();
  const sizes = quick ? [500, 4000, 32000] : [500, 4000, 32000, 256000];
  const systems: { sys: BenchSystem; skin: boolean; ase: number }[] = [];
  for (const n of sizes) {
    systems.push({ sys: fccCu(Math.round(Math.cbrt(n / 4))), skin: n >= 4000, ase: n <= 32000 ? (n <= 4000 ? 3 : 1) : 0 });
    systems.push({ sys: randomBox(n), skin: n >= 4000, ase: n <= 32000 ? (n <= 4000 ? 3 : 1) : 0 });
  }
  systems.push({ sys: skewedBox(32000), skin: false, ase: 1 });
  systems.push({ sys: slab(20, 5), skin: false, ase: 1 });
  systems.push({ sys: cluster(10000), skin: false, ase: 1 });

  // Warm the JIT on small systems first, so the first measured system is not penalised
  // (first-call cost is measured separately, in fresh processes, below).
  for (const warm of [randomBox(2000, 9), fccCu(4), slab(4, 3), cluster(500)]) {
    for (let r = 0; r < 3; r++) neighborList(warm, { cutoff: CUTOFF, threads: 1 });
    new VerletNeighborList(warm, { cutoff: CUTOFF, skin: SKIN, threads: 1 }).update(displaced(warm.positions, 0.01, 1));
  }

  const rows: Row[] = [];
  for (const { sys, skin, ase } of systems) {
    const row = benchSystem(sys, skin, ase);
    if (sys.name.startsWith('cluster')) {
      const kd = timeOnce(() => kdTreePairs(sys));
      if (kd.result !== row.pairs) throw new Error(`kd-tree found ${kd.result} pairs, cell list ${row.pairs}`);
      row.kdTreeMs = kd.ms;
      row.speedupVsKdTree = kd.ms / row.oneShotMs;
    }
    rows.push(row);
    console.log(
      `${row.system.padEnd(24)} ${String(row.atoms).padStart(7)} atoms ${String(row.pairs).padStart(9)} pairs  ` +
        `one-shot ${row.oneShotMs.toFixed(1)} ms (${row.oneShotMPairsPerS.toFixed(1)} M/s)  reuse ${row.reuseMs.toFixed(1)} ms (${row.reuseMPairsPerS.toFixed(1)} M/s, CPU ${row.reuseCpuMs.toFixed(1)} ms = ${row.reuseCpuMPairsPerS.toFixed(1)} M/s)` +
        (row.skinRefreshOverRebuild !== undefined ? `  skin refresh/rebuild ${(100 * row.skinRefreshOverRebuild).toFixed(1)}% (CPU ${(100 * row.skinRefreshOverRebuildCpu!).toFixed(1)}%; js engine ${(100 * row.skinRefreshJsOverRebuild!).toFixed(1)}%)` : '') +
        (row.aseMs !== undefined ? `  ASE ${row.aseMs.toFixed(0)} ms (×${row.speedupVsAse!.toFixed(1)})` : row.aseNote ? `  ASE: ${row.aseNote}` : '') +
        (row.kdTreeMs !== undefined ? `  kd-tree ${row.kdTreeMs.toFixed(0)} ms (×${row.speedupVsKdTree!.toFixed(1)})` : ''),
    );
  }

  // One vs two threads (worker pool started first; its start-up is not part of a search).
  const poolUp = await startNeighborWorkers(2);
  const threadRows: ThreadRow[] = [];
  if (poolUp) {
    const threadSystems = quick ? [randomBox(8000), randomBox(32000)] : [randomBox(8000), randomBox(16000), randomBox(32000), fccCu(20), randomBox(256000)];
    for (const sys of threadSystems) {
      const t = benchThreads(sys);
      threadRows.push(t);
      console.log(`${t.system.padEnd(24)} 1 thread ${t.oneMs.toFixed(1)} ms (CPU ${t.oneCpuMs.toFixed(1)}), 1 thread bin-order ${t.oneBinMs.toFixed(1)} ms, 2 threads ${t.twoMs.toFixed(1)} ms (CPU ${t.twoCpuMs.toFixed(1)}, ran on ${t.twoThreadsUsed}): ×${t.speedup.toFixed(2)}, ${t.mPairsPerSTwo.toFixed(1)} M pairs/s`);
    }
  } else {
    console.log('worker threads unavailable: 1 vs 2 threads skipped');
  }
  await disposeNeighborWorkers();

  // First call vs warm call, each in a fresh process so the JIT starts cold; several processes
  // per system and the median ratio, since single wall-clock samples swing with other jobs.
  type Child = { firstMs: number; warmMs: number; firstCpuMs: number; warmCpuMs: number; searchFirstMs: number; searchWarmMs: number; searchFirstCpuMs: number; searchWarmCpuMs: number; count: number };
  const firstCall: Record<string, unknown>[] = [];
  const firstCallSystems: [string, number][] = quick ? [['random-box-32000', 3]] : [['random-box-32000', 3], ['fcc-cu-32000', 3], ['random-box-256000', 2]];
  for (const [name, processes] of firstCallSystems) {
    const runs: Child[] = [];
    for (let k = 0; k < processes; k++) {
      const res = spawnSync(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), '--first-call', name], { encoding: 'utf8', timeout: 600_000 });
      if (res.status !== 0) throw new Error(`first-call child failed: ${res.stderr}`);
      runs.push(JSON.parse(res.stdout) as Child);
    }
    const ratio = median(runs.map((r) => r.firstMs / r.warmMs));
    const cpuRatio = median(runs.map((r) => r.firstCpuMs / r.warmCpuMs));
    const entry = {
      system: name, processes,
      firstMs: median(runs.map((r) => r.firstMs)), warmMs: median(runs.map((r) => r.warmMs)), firstOverWarm: ratio,
      firstCpuMs: median(runs.map((r) => r.firstCpuMs)), warmCpuMs: median(runs.map((r) => r.warmCpuMs)), firstOverWarmCpu: cpuRatio,
      searchFirstMs: median(runs.map((r) => r.searchFirstMs)), searchWarmMs: median(runs.map((r) => r.searchWarmMs)),
      searchFirstCpuMs: median(runs.map((r) => r.searchFirstCpuMs)), searchWarmCpuMs: median(runs.map((r) => r.searchWarmCpuMs)),
      runs,
    };
    firstCall.push(entry);
    console.log(`${name}: first call ${entry.firstMs.toFixed(1)} ms, warm ${entry.warmMs.toFixed(1)} ms (median ratio ×${ratio.toFixed(2)}; CPU ×${cpuRatio.toFixed(2)}); NeighborSearch first ${entry.searchFirstMs.toFixed(1)} ms, warm ${entry.searchWarmMs.toFixed(1)} ms`);
  }

  const meta = {
    date: started.toISOString(), node: process.version, cpu: cpus()[0]?.model, cores: cpus().length,
    loadAverageAtStart: load0, loadAverageAtEnd: loadavg(), cutoffA: CUTOFF, skinA: SKIN,
    note: 'Single thread except the "1 vs 2 threads" table. Wall-clock times include whatever else ran on the machine (2 cores) meanwhile: see the load averages.',
  };
  writeJson(join(here, 'results', 'neighbors.json'), { meta, rows, threadRows, firstCall });

  const md = [
    '# Neighbour search benchmark',
    '',
    `Run ${meta.date} on ${meta.cpu} (${meta.cores} cores), Node ${meta.node}, cutoff ${CUTOFF} Å, full list (i, j, S, D, d, offsets, reverse).`,
    `Load average at start ${load0.map((x) => x.toFixed(2)).join(' / ')}, at end ${meta.loadAverageAtEnd.map((x) => x.toFixed(2)).join(' / ')}. ${meta.note}`,
    '',
    'one-shot = `neighborList()` (fresh output arrays each call, page faults included); reuse = `NeighborSearch.search()` with warm buffers. Times are medians of wall-clock time; the CPU columns are the process CPU time of the same calls, which other jobs on the machine inflate less. Peak RSS is the process-wide maximum so far (monotone down the table). ASE failing on the open cluster is ASE running out of memory in its bin table (reported as skipped).',
    '',
    markdownTable(
      ['system', 'atoms', 'pbc', 'pairs', 'pairs/atom', 'one-shot ms', 'M pairs/s', 'reuse ms', 'M pairs/s (reuse)', 'reuse CPU ms', 'M pairs/CPU-s (reuse)', 'list MiB', 'peak RSS MiB', 'ASE ms', '× vs ASE (one-shot)', 'kd-tree ms', '× vs kd-tree (one-shot)'],
      rows.map((r) => [r.system, r.atoms, r.pbc, r.pairs, r.pairsPerAtom, r.oneShotMs, r.oneShotMPairsPerS, r.reuseMs, r.reuseMPairsPerS, r.reuseCpuMs, r.reuseCpuMPairsPerS, r.listMiB, r.maxRssMiB,
        r.aseMs ?? (r.aseNote ? 'skipped' : NaN), r.speedupVsAse ?? NaN, r.kdTreeMs ?? NaN, r.speedupVsKdTree ?? NaN]),
    ),
    '',
    `## Verlet skin list (cutoff ${CUTOFF} Å, skin ${SKIN} Å)`,
    '',
    "Refresh = every atom moved up to 0.05 Å per coordinate from the last build. Pairs cross the cutoff on every such step (measured on the random box: 40,566 directed pairs at ±0.05 Å and 4,168 at ±0.005 Å per coordinate at 32,000 atoms; still 64 at 500 atoms and ±0.005 Å), so a kept set unchanged between steps is rare and a refresh must rewrite every column of the compacted list (i, j, S, D, d, reverse: about 56 bytes per kept pair) besides re-evaluating the stored pairs that can have entered the cutoff (it skips those that were beyond cutoff + 2 × the largest displacement at the build, about a third of the skin list here).",
    '',
    "Engines: `refreshEngine: 'wasm'` (default since session 8) is native/verlet_refresh.c compiled to WebAssembly; `'js'` is the same loop in JavaScript (the refresh of sessions 2-7), timed on the same displacements in the same run as the baseline. Both give the same list bit for bit (test/neighbors/verlet.test.ts). The rebuild (search with cutoff + skin, segment bookkeeping, first refresh) is the JavaScript search in both cases.",
    '',
    markdownTable(
      ['system', 'rebuild ms', 'refresh ms (wasm)', 'refresh / rebuild', 'refresh ms (js)', 'js refresh / rebuild', 'js ÷ wasm', 'rebuild CPU ms', 'refresh CPU ms (wasm)', 'refresh / rebuild (CPU)', 'refresh CPU ms (js)'],
      rows.filter((r) => r.skinRebuildMs !== undefined).map((r) => [r.system, r.skinRebuildMs!, r.skinRefreshMs!, `${(100 * r.skinRefreshOverRebuild!).toFixed(1)} %`,
        r.skinRefreshJsMs!, `${(100 * r.skinRefreshJsOverRebuild!).toFixed(1)} %`, r.skinRefreshJsMs! / r.skinRefreshMs!,
        r.skinRebuildCpuMs!, r.skinRefreshCpuMs!, `${(100 * r.skinRefreshOverRebuildCpu!).toFixed(1)} %`, r.skinRefreshJsCpuMs!]),
    ),
    '',
    '## 1 vs 2 threads (NeighborSearch, reused buffers)',
    '',
    'Two threads = the caller plus one worker thread of the pool; both run the bin-order passes (count, write, reverse) on bin-aligned chunks they claim from a shared counter, so the lists are bit-identical (checked). "1 thread bin-order" is the same passes on one thread. Process CPU time counts both threads. On a machine whose cores are busy with other work the two threads mostly take turns, which is why `threads: \'auto\'` only uses the second one when the load average leaves a core spare.',
    '',
    threadRows.length > 0
      ? markdownTable(
          ['system', 'atoms', 'pairs', '1 thread ms', '1 thread CPU ms', '1 thread bin-order ms', '2 threads ms', '2 threads CPU ms', 'threads used', 'speed-up (wall)', 'M pairs/s (2 threads)'],
          threadRows.map((t) => [t.system, t.atoms, t.pairs, t.oneMs, t.oneCpuMs, t.oneBinMs, t.twoMs, t.twoCpuMs, t.twoThreadsUsed, t.speedup, t.mPairsPerSTwo]),
        )
      : 'Worker threads unavailable in this run.',
    '',
    '## First call (fresh process) vs warm call',
    '',
    'one-shot `neighborList()`, first call in a fresh process vs the median of the following calls; medians over several processes. NeighborSearch warm = reused buffers.',
    '',
    markdownTable(
      ['system', 'processes', 'first ms', 'warm ms', 'first / warm', 'first / warm (CPU)', 'NeighborSearch first ms', 'NeighborSearch warm ms'],
      firstCall.map((f) => [f.system as string, f.processes as number, f.firstMs as number, f.warmMs as number, f.firstOverWarm as number, f.firstOverWarmCpu as number, f.searchFirstMs as number, f.searchWarmMs as number]),
    ),
    '',
  ].join('\n');
  writeText(join(here, 'results', 'neighbors.md'), md);
  console.log('wrote bench/results/neighbors.json and bench/results/neighbors.md');
}

await main();
