/**
 * Memory measurements for the benchmarks.
 */

/** Current resident set size and V8 heap/ArrayBuffer usage, MiB. */
export interface MemorySample {
  rssMiB: number;
  heapUsedMiB: number;
  arrayBuffersMiB: number;
  /** Peak RSS of the whole process so far, MiB. */
  maxRssMiB: number;
}

const MiB = 1024 * 1024;

/** Run a full garbage collection when node was started with --expose-gc; returns whether it ran. */
export function tryGc(): boolean {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (typeof gc === 'function') {
    gc();
    return true;
  }
  return false;
}

/** Take a memory sample. */
export function sampleMemory(): MemorySample {
  const m = process.memoryUsage();
  return {
    rssMiB: m.rss / MiB,
    heapUsedMiB: m.heapUsed / MiB,
    arrayBuffersMiB: m.arrayBuffers / MiB,
    maxRssMiB: (process.resourceUsage().maxRSS * 1024) / MiB,
  };
}

/** Bytes held by a set of typed arrays (their views, not their whole buffers). */
export function viewBytes(arrays: readonly ArrayBufferView[]): number {
  let total = 0;
  for (const a of arrays) total += a.byteLength;
  return total;
}
