/**
 * Minimal SVG chart writers (no dependencies): stacked line-plot panels sharing an x axis, and a
 * scatter plot with a legend. Used by `equiforce plot` and the examples.
 *
 * @module
 */

/** One line in a panel. */
export interface LineSeries {
  /** Legend text. */
  readonly label: string;
  /** CSS colour. */
  readonly color: string;
  /** x values. */
  readonly x: ArrayLike<number>;
  /** y values (same length as x). */
  readonly y: ArrayLike<number>;
}

/** One panel (its own y axis) of a {@link linePlotSvg}. */
export interface LinePanel {
  /** y-axis label with units, e.g. 'Energy (eV)'. */
  readonly yLabel: string;
  /** The lines drawn in this panel. */
  readonly series: readonly LineSeries[];
}

/** Options of {@link linePlotSvg}. */
export interface LinePlotOptions {
  /** Title above the first panel. */
  readonly title: string;
  /** x-axis label with units, e.g. 'Time (fs)'. */
  readonly xLabel: string;
  /** Panels from top to bottom. */
  readonly panels: readonly LinePanel[];
  /** Width in px (default 800). */
  readonly width?: number;
  /** Height of one panel in px (default 260). */
  readonly panelHeight?: number;
}

/** Escape text for use in SVG/XML content and attributes. */
export function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;');
}

/** About `count` round tick values (1, 2, 5 × 10^k steps) covering [min, max]. */
export function niceTicks(min: number, max: number, count = 5): number[] {
  if (!(max > min)) {
    const pad = Math.abs(min) > 0 ? Math.abs(min) * 1e-3 : 1;
    min -= pad;
    max += pad;
  }
  const raw = (max - min) / Math.max(1, count);
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const ticks: number[] = [];
  for (let t = Math.ceil(min / step - 1e-9) * step; t <= max + step * 1e-9; t += step) ticks.push(Math.abs(t) < step * 1e-9 ? 0 : t);
  return ticks;
}

function fmtTick(v: number, ticks: readonly number[]): string {
  const step = ticks.length > 1 ? Math.abs(ticks[1] - ticks[0]) : Math.abs(v) || 1;
  const decimals = Math.max(0, Math.min(8, -Math.floor(Math.log10(step) + 1e-9)));
  return v.toFixed(decimals);
}

function extent(values: ArrayLike<number>[]): [number, number] {
  let lo = Infinity;
  let hi = -Infinity;
  for (const arr of values) for (let k = 0; k < arr.length; k++) if (Number.isFinite(arr[k])) {
    lo = Math.min(lo, arr[k]);
    hi = Math.max(hi, arr[k]);
  }
  if (!Number.isFinite(lo)) return [0, 1];
  if (hi === lo) return [lo - (Math.abs(lo) * 1e-3 || 1), hi + (Math.abs(hi) * 1e-3 || 1)];
  const pad = 0.05 * (hi - lo);
  return [lo - pad, hi + pad];
}

interface Frame {
  readonly left: number;
  readonly top: number;
  readonly width: number;
  readonly height: number;
  readonly x0: number;
  readonly x1: number;
  readonly y0: number;
  readonly y1: number;
}

const px = (f: Frame, x: number): number => f.left + ((x - f.x0) / (f.x1 - f.x0)) * f.width;
const py = (f: Frame, y: number): number => f.top + f.height - ((y - f.y0) / (f.y1 - f.y0)) * f.height;
const r2 = (v: number): string => (Math.round(v * 100) / 100).toString();

/** Axes, grid, ticks and labels of one panel. */
function axes(f: Frame, xLabel: string | undefined, yLabel: string): string[] {
  const out: string[] = [];
  const xt = niceTicks(f.x0, f.x1, 6).filter((t) => t >= f.x0 && t <= f.x1);
  const yt = niceTicks(f.y0, f.y1, 5).filter((t) => t >= f.y0 && t <= f.y1);
  out.push(`<rect x="${f.left}" y="${f.top}" width="${f.width}" height="${f.height}" fill="#ffffff" stroke="#333333" stroke-width="1"/>`);
  for (const t of xt) {
    const x = r2(px(f, t));
    out.push(`<line x1="${x}" y1="${f.top}" x2="${x}" y2="${f.top + f.height}" stroke="#e5e5e5" stroke-width="1"/>`);
    out.push(`<text x="${x}" y="${f.top + f.height + 16}" text-anchor="middle" font-size="12">${escapeXml(fmtTick(t, xt))}</text>`);
  }
  for (const t of yt) {
    const y = r2(py(f, t));
    out.push(`<line x1="${f.left}" y1="${y}" x2="${f.left + f.width}" y2="${y}" stroke="#e5e5e5" stroke-width="1"/>`);
    out.push(`<text x="${f.left - 6}" y="${y}" text-anchor="end" dominant-baseline="middle" font-size="12">${escapeXml(fmtTick(t, yt))}</text>`);
  }
  const cy = f.top + f.height / 2;
  out.push(`<text x="${f.left - 70}" y="${cy}" text-anchor="middle" font-size="13" transform="rotate(-90 ${f.left - 70} ${cy})">${escapeXml(yLabel)}</text>`);
  if (xLabel) out.push(`<text x="${f.left + f.width / 2}" y="${f.top + f.height + 36}" text-anchor="middle" font-size="13">${escapeXml(xLabel)}</text>`);
  return out;
}

function legend(items: readonly { label: string; color: string }[], right: number, top: number, marker: 'line' | 'dot'): string[] {
  const out: string[] = [];
  const w = Math.max(...items.map((i) => i.label.length)) * 7 + 40;
  out.push(`<rect x="${right - w - 8}" y="${top + 8}" width="${w}" height="${items.length * 18 + 8}" fill="#ffffff" fill-opacity="0.85" stroke="#999999"/>`);
  items.forEach((item, k) => {
    const y = top + 22 + 18 * k;
    const x = right - w;
    out.push(
      marker === 'line'
        ? `<line x1="${x}" y1="${y}" x2="${x + 20}" y2="${y}" stroke="${escapeXml(item.color)}" stroke-width="2"/>`
        : `<circle cx="${x + 10}" cy="${y}" r="5" fill="${escapeXml(item.color)}"/>`,
    );
    out.push(`<text x="${x + 26}" y="${y}" dominant-baseline="middle" font-size="12">${escapeXml(item.label)}</text>`);
  });
  return out;
}

/** Stacked line plots sharing one x axis, as a standalone SVG document. */
export function linePlotSvg(options: LinePlotOptions): string {
  const width = options.width ?? 800;
  const ph = options.panelHeight ?? 260;
  const left = 100;
  const right = 24;
  const gap = 30;
  const top0 = 44;
  const height = top0 + options.panels.length * (ph + gap) + 30;
  // the x axis spans the data exactly (time series start and end at the frame edges)
  let x0 = Infinity;
  let x1 = -Infinity;
  for (const p of options.panels) for (const s of p.series) for (let i = 0; i < s.x.length; i++) {
    x0 = Math.min(x0, s.x[i]);
    x1 = Math.max(x1, s.x[i]);
  }
  if (!Number.isFinite(x0)) [x0, x1] = [0, 1];
  const out: string[] = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="Helvetica, Arial, sans-serif">`,
    `<rect width="${width}" height="${height}" fill="#fafafa"/>`,
    `<text x="${width / 2}" y="26" text-anchor="middle" font-size="16" font-weight="bold">${escapeXml(options.title)}</text>`,
  ];
  options.panels.forEach((panel, k) => {
    const [y0, y1] = extent(panel.series.map((s) => s.y));
    const f: Frame = { left, top: top0 + k * (ph + gap), width: width - left - right, height: ph - 20, x0, x1: x1 > x0 ? x1 : x0 + 1, y0, y1 };
    const last = k === options.panels.length - 1;
    out.push(...axes(f, last ? options.xLabel : undefined, panel.yLabel));
    for (const s of panel.series) {
      const pts: string[] = [];
      for (let i = 0; i < s.x.length; i++) if (Number.isFinite(s.y[i])) pts.push(`${r2(px(f, s.x[i]))},${r2(py(f, s.y[i]))}`);
      out.push(`<polyline fill="none" stroke="${escapeXml(s.color)}" stroke-width="1.8" stroke-linejoin="round" points="${pts.join(' ')}"/>`);
    }
    out.push(...legend(panel.series, f.left + f.width, f.top, 'line'));
  });
  out.push('</svg>');
  return out.join('\n') + '\n';
}

/** One point of a {@link scatterSvg}. */
export interface ScatterPoint {
  /** Horizontal data coordinate. */
  readonly x: number;
  /** Vertical data coordinate. */
  readonly y: number;
  /** CSS colour. */
  readonly color: string;
  /** Tooltip text. */
  readonly title?: string;
}

/** Options of {@link scatterSvg}. */
export interface ScatterOptions {
  /** Title above the plot. */
  readonly title: string;
  /** x-axis label. */
  readonly xLabel: string;
  /** y-axis label. */
  readonly yLabel: string;
  /** The points. */
  readonly points: readonly ScatterPoint[];
  /** Legend entries (colour → label). */
  readonly legend: readonly { label: string; color: string }[];
  /** Width in px (default 800). */
  readonly width?: number;
  /** Height in px (default 600). */
  readonly height?: number;
}

/** A scatter plot with a legend, as a standalone SVG document. */
export function scatterSvg(options: ScatterOptions): string {
  const width = options.width ?? 800;
  const height = options.height ?? 600;
  const [x0, x1] = extent([options.points.map((p) => p.x)]);
  const [y0, y1] = extent([options.points.map((p) => p.y)]);
  // the legend sits right of the plot area so it never hides points
  const f: Frame = { left: 100, top: 44, width: width - 210, height: height - 104, x0, x1, y0, y1 };
  const out: string[] = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="Helvetica, Arial, sans-serif">`,
    `<rect width="${width}" height="${height}" fill="#fafafa"/>`,
    `<text x="${width / 2}" y="26" text-anchor="middle" font-size="16" font-weight="bold">${escapeXml(options.title)}</text>`,
    ...axes(f, options.xLabel, options.yLabel),
  ];
  for (const p of options.points) {
    const tip = p.title ? `<title>${escapeXml(p.title)}</title>` : '';
    out.push(`<circle cx="${r2(px(f, p.x))}" cy="${r2(py(f, p.y))}" r="4.5" fill="${escapeXml(p.color)}" fill-opacity="0.8" stroke="#333333" stroke-width="0.5">${tip}</circle>`);
  }
  out.push(...legend(options.legend, width - 8, f.top - 8, 'dot'));
  out.push('</svg>');
  return out.join('\n') + '\n';
}
