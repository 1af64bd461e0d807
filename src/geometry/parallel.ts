/**
 * A small pool of worker threads for the neighbour search, with a synchronous interface.
 *
 * The main thread posts a pass to every worker, works on the same pass itself, then blocks in
 * `Atomics.wait` until every worker reported done: the search stays a plain synchronous call.
 * All arrays the passes touch live in SharedArrayBuffers (see {@link Workspace}), chunks are
 * claimed from a shared counter, and the passes write disjoint ranges (see kernel.ts), so the
 * result is bit for bit that of one thread.
 *
 * The pool is created lazily on the first large search, reused by every later one, `unref`ed
 * (it never keeps the process alive) and ended by {@link disposeNeighborWorkers}. A search
 * never waits for workers to start: until they are up, it runs on the calling thread alone.
 *
 * @module
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { workerSpec } from '../util/worker-spec.js';
import { CTL_DONE, CTL_ERROR, CTL_LENGTH, CTL_NEXT, CTL_READY, runChunks, type KernelData, type KernelPass } from './kernel.js';

/** Longest a search waits for a worker to finish one pass before giving up on the pool, ms. */
const PASS_TIMEOUT_MS = 120_000;

class SearchPool {
  readonly size: number;
  private readonly workers: Worker[] = [];
  private readonly ctl = new Int32Array(new SharedArrayBuffer(4 * CTL_LENGTH));
  private broken = false;
  /** Set once a blocking wait for start-up timed out: later searches do not block again. */
  waitedOut = false;

  constructor(size: number) {
    this.size = size;
    const spec = workerSpec(import.meta.url, 'search-worker');
    for (let k = 0; k < size; k++) {
      const w = new Worker(spec.script, { eval: spec.eval, workerData: { ctl: this.ctl }, execArgv: spec.eval ? [] : undefined });
      w.unref();
      // A worker that fails to start or dies leaves the pool unusable; searches fall back to one thread.
      w.on('error', () => { this.broken = true; });
      w.on('exit', () => { this.broken = true; });
      this.workers.push(w);
    }
  }

  /** Whether every worker is up (never blocks). */
  get ready(): boolean {
    return !this.broken && Atomics.load(this.ctl, CTL_READY) === this.size;
  }

  /** Wait (blocking) up to `ms` for the workers to start; returns whether they are ready. */
  waitReady(ms: number): boolean {
    const t0 = Date.now();
    for (;;) {
      const up = Atomics.load(this.ctl, CTL_READY);
      if (this.broken) return false;
      if (up === this.size) return true;
      const left = ms - (Date.now() - t0);
      if (left <= 0) return false;
      Atomics.wait(this.ctl, CTL_READY, up, Math.min(left, 50));
    }
  }

  /**
   * Run one pass on the calling thread and every worker; returns false (pool then unusable)
   * if a worker failed, in which case the caller redoes the search on one thread.
   */
  run(pass: KernelPass, data: KernelData, binChunks: Int32Array, indexChunks: Int32Array, cand: Int32Array): boolean {
    const ctl = this.ctl;
    Atomics.store(ctl, CTL_NEXT, 0);
    Atomics.store(ctl, CTL_DONE, 0);
    for (const w of this.workers) w.postMessage({ pass, data, binChunks, indexChunks, candidates: cand.length });
    runChunks(data, pass, binChunks, indexChunks, ctl, cand);
    const t0 = Date.now();
    for (;;) {
      const done = Atomics.load(ctl, CTL_DONE);
      if (done === this.size) break;
      if (this.broken || Date.now() - t0 > PASS_TIMEOUT_MS) {
        this.broken = true;
        return false;
      }
      Atomics.wait(ctl, CTL_DONE, done, 100);
    }
    if (Atomics.load(ctl, CTL_ERROR) !== 0) {
      this.broken = true;
      return false;
    }
    return true;
  }

  get usable(): boolean {
    return !this.broken;
  }

  async terminate(): Promise<void> {
    this.broken = true;
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}

let pool: SearchPool | null = null;

/** Threads the machine offers (at least 1). */
export function hardwareThreads(): number {
  return Math.max(1, availableParallelism());
}

/**
 * The pool with `threads − 1` workers if it is up; otherwise starts it (in the background,
 * or waiting up to `waitMs`) and returns null so the caller searches on one thread.
 */
export function searchPool(threads: number, waitMs = 0): SearchPool | null {
  if (threads < 2) return null;
  if (pool !== null && (!pool.usable || pool.size !== threads - 1)) {
    void pool.terminate();
    pool = null;
  }
  try {
    pool ??= new SearchPool(threads - 1);
  } catch {
    return null; // no worker threads here (e.g. a restricted runtime): one thread
  }
  if (pool.ready) return pool;
  // Worker events are not delivered while the caller blocks, so a worker that cannot start
  // shows only as a timeout: block at most once, later searches run on one thread meanwhile.
  if (waitMs > 0 && !pool.waitedOut) {
    if (pool.waitReady(waitMs)) return pool;
    pool.waitedOut = true;
  }
  return null;
}

export type { SearchPool };

/**
 * Start the neighbour-search worker threads now and wait until they are up (optional: the
 * first large search starts them in the background anyway). Returns whether they are usable.
 *
 * @param threads Total threads of a parallel search, the caller's included (default: the
 *   machine's, at most 2 unless given).
 */
export async function startNeighborWorkers(threads = Math.min(2, hardwareThreads())): Promise<boolean> {
  if (threads < 2) return false;
  const p = searchPool(threads);
  if (p !== null) return true;
  const t0 = Date.now();
  while (Date.now() - t0 < 30_000) {
    await new Promise((r) => setTimeout(r, 10));
    if (pool === null || !pool.usable) return false;
    if (pool.ready) return true;
  }
  return false;
}

/** Terminate the neighbour-search worker threads (a later parallel search starts new ones). */
export async function disposeNeighborWorkers(): Promise<void> {
  const p = pool;
  pool = null;
  if (p !== null) await p.terminate();
}
