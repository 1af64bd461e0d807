/**
 * Small timing helpers shared by the benchmarks.
 */

/** Median of a list of numbers (mean of the two middle values for an even count). */
export function median(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  const s = [...values].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : 0.5 * (s[m - 1] + s[m]);
}

/** Wall-clock milliseconds of one call, with its result. */
export function timeOnce<T>(fn: () => T): { ms: number; result: T } {
  const t0 = performance.now();
  const result = fn();
  return { ms: performance.now() - t0, result };
}

/** Run `fn` `repeats` times; returns every time (ms) and the last result. */
export function timeRepeated<T>(fn: () => T, repeats: number): { times: number[]; result: T } {
  const times: number[] = [];
  let result!: T;
  for (let r = 0; r < repeats; r++) {
    const t = timeOnce(fn);
    times.push(t.ms);
    result = t.result;
  }
  return { times, result };
}

/** Repeats that keep a benchmark near `budgetMs` given one call's cost, clamped to [min, max]. */
export function repeatsFor(oneCallMs: number, budgetMs: number, min = 3, max = 30): number {
  return Math.max(min, Math.min(max, Math.round(budgetMs / Math.max(oneCallMs, 1e-3))));
}

/** Run `fn` `repeats` times; returns wall-clock and process CPU (user + system) ms per call. */
export function timeRepeatedCpu<T>(fn: () => T, repeats: number): { times: number[]; cpuTimes: number[]; result: T } {
  const times: number[] = [];
  const cpuTimes: number[] = [];
  let result!: T;
  for (let r = 0; r < repeats; r++) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    result = fn();
    times.push(performance.now() - t0);
    const c = process.cpuUsage(c0);
    cpuTimes.push((c.user + c.system) / 1000);
  }
  return { times, cpuTimes, result };
}
