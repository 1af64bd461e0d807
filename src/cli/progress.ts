/**
 * A progress bar for long runs on stderr: percentage, steps/s, ETA and a status text
 * (temperature, energy). On a terminal it redraws one line at most ten times a second; when
 * stderr is a file or pipe it prints a plain line every 10% instead.
 *
 * @module
 */

/** Format seconds as h:mm:ss or m:ss. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '--:--';
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const r = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${r}` : `${m}:${r}`;
}

/** A progress display for a run of known length. */
export class ProgressBar {
  private readonly start = performance.now();
  private lastDraw = 0;
  private lastDecile = -1;
  private readonly tty: boolean;

  /**
   * @param total number of steps.
   * @param stream where to draw (default process.stderr).
   */
  constructor(
    private readonly total: number,
    private readonly stream: NodeJS.WriteStream = process.stderr,
  ) {
    this.tty = Boolean(stream.isTTY);
  }

  /** Report that `done` steps are finished; `status` is appended (e.g. 'T=301 K'). */
  update(done: number, status = ''): void {
    const now = performance.now();
    const finished = done >= this.total;
    const decile = Math.floor((10 * done) / Math.max(1, this.total));
    if (this.tty) {
      if (!finished && now - this.lastDraw < 100) return;
    } else if (decile === this.lastDecile && !finished) {
      return;
    }
    this.lastDraw = now;
    this.lastDecile = decile;
    const elapsed = (now - this.start) / 1000;
    const rate = done / Math.max(elapsed, 1e-9);
    const eta = rate > 0 ? (this.total - done) / rate : Infinity;
    const frac = Math.min(1, done / Math.max(1, this.total));
    const width = 24;
    const filled = Math.round(frac * width);
    const bar = '#'.repeat(filled) + '-'.repeat(width - filled);
    const line = `[${bar}] ${(100 * frac).toFixed(0).padStart(3)}% ${done}/${this.total} steps  ${rate.toFixed(1)} steps/s  ETA ${formatDuration(eta)}  ${status}`;
    if (this.tty) this.stream.write(`\r${line}\x1b[K${finished ? '\n' : ''}`);
    else this.stream.write(line + '\n');
  }

  /** End the line on a terminal (after an interruption). */
  finish(): void {
    if (this.tty) this.stream.write('\n');
  }
}
