/**
 * Example: per-atom embeddings of a set of small molecules, reduced to 2D by PCA and drawn as
 * an SVG scatter plot coloured by element.
 *
 *   npx tsx examples/embeddings-pca.ts        (writes examples/output/embeddings-pca.svg)
 *
 * Each atom's invariant (l = 0) embedding is a C-dimensional vector describing the atom in its
 * environment; with a trained model, atoms of the same element in similar bonding situations
 * cluster together. Uses the shipped model, or $EQUIFORCE_MODEL (see shared.ts).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Potential, Structure, scatterSvg } from '../src/index.js';
import { exampleModel, isMain, outputDir } from './shared.js';

type Mol = [name: string, symbols: string[], positions: number[][]];

/** Approximate geometries (Å) of small molecules. */
export const MOLECULES: readonly Mol[] = [
  ['water', ['O', 'H', 'H'], [[0, 0, 0.1173], [0, 0.7572, -0.4692], [0, -0.7572, -0.4692]]],
  ['ammonia', ['N', 'H', 'H', 'H'], [[0, 0, 0.1], [0.94, 0, -0.27], [-0.47, 0.814, -0.27], [-0.47, -0.814, -0.27]]],
  ['methane', ['C', 'H', 'H', 'H', 'H'], [[0, 0, 0], [0.629, 0.629, 0.629], [-0.629, -0.629, 0.629], [-0.629, 0.629, -0.629], [0.629, -0.629, -0.629]]],
  ['methanol', ['C', 'O', 'H', 'H', 'H', 'H'], [[-0.046, 0.663, 0], [-0.046, -0.757, 0], [-1.086, 0.975, 0], [0.44, 1.07, 0.89], [0.44, 1.07, -0.89], [0.86, -1.09, 0]]],
  ['formaldehyde', ['C', 'O', 'H', 'H'], [[0, 0, -0.53], [0, 0, 0.68], [0, 0.94, -1.11], [0, -0.94, -1.11]]],
  ['hydrogen cyanide', ['H', 'C', 'N'], [[0, 0, -1.63], [0, 0, -0.57], [0, 0, 0.59]]],
  ['hydrogen sulfide', ['S', 'H', 'H'], [[0, 0, 0.1], [0, 0.96, -0.83], [0, -0.96, -0.83]]],
  ['hydrogen fluoride', ['F', 'H'], [[0, 0, 0], [0, 0, 0.92]]],
  [
    'ethanol',
    ['C', 'C', 'O', 'H', 'H', 'H', 'H', 'H', 'H'],
    [[-0.0017, 0.5535, 0], [-1.2355, -0.3285, 0], [1.1755, -0.2555, 0], [1.9335, 0.3465, 0], [-0.0417, 1.1925, 0.8845], [-0.0417, 1.1925, -0.8845], [-2.1425, 0.2805, 0], [-1.2255, -0.9625, 0.8875], [-1.2255, -0.9625, -0.8875]],
  ],
  [
    'benzene',
    ['C', 'C', 'C', 'C', 'C', 'C', 'H', 'H', 'H', 'H', 'H', 'H'],
    [...Array.from({ length: 6 }, (_, k) => [1.39 * Math.cos((k * Math.PI) / 3), 1.39 * Math.sin((k * Math.PI) / 3), 0]), ...Array.from({ length: 6 }, (_, k) => [2.47 * Math.cos((k * Math.PI) / 3), 2.47 * Math.sin((k * Math.PI) / 3), 0])],
  ],
];

/** CPK-like element colours. */
const COLORS: Record<string, string> = { H: '#9e9e9e', C: '#303030', N: '#3050f8', O: '#ff0d0d', F: '#38b000', S: '#e6b800' };

/** Result of {@link pca}. */
export interface PcaResult {
  /** Projections on the principal axes, [N, k] row-major. */
  readonly scores: Float64Array;
  /** Principal axes, [k, C] row-major (unit vectors). */
  readonly components: Float64Array;
  /** Variance along each axis. */
  readonly variances: Float64Array;
}

/**
 * Principal component analysis of N rows of C values: centre the columns, form the C×C
 * covariance, and find its top `k` eigenvectors by power iteration with deflation.
 */
export function pca(data: Float64Array, n: number, c: number, k = 2): PcaResult {
  const mean = new Float64Array(c);
  for (let i = 0; i < n; i++) for (let j = 0; j < c; j++) mean[j] += data[i * c + j] / n;
  const cov = new Float64Array(c * c);
  for (let i = 0; i < n; i++) {
    for (let a = 0; a < c; a++) {
      const da = data[i * c + a] - mean[a];
      for (let b = 0; b < c; b++) cov[a * c + b] += (da * (data[i * c + b] - mean[b])) / Math.max(1, n - 1);
    }
  }
  const components = new Float64Array(k * c);
  const variances = new Float64Array(k);
  for (let m = 0; m < k; m++) {
    let v = Float64Array.from({ length: c }, (_, j) => 1 + 0.1 * Math.sin(7 * j + m)); // deterministic start
    let lambda = 0;
    for (let it = 0; it < 5000; it++) {
      const w = new Float64Array(c);
      for (let a = 0; a < c; a++) for (let b = 0; b < c; b++) w[a] += cov[a * c + b] * v[b];
      const norm = Math.hypot(...w);
      if (norm === 0) break;
      for (let a = 0; a < c; a++) w[a] /= norm;
      let diff = 0;
      for (let a = 0; a < c; a++) diff = Math.max(diff, Math.abs(w[a] - v[a]));
      v = w;
      lambda = norm;
      if (diff < 1e-12) break;
    }
    components.set(v, m * c);
    variances[m] = lambda;
    // deflate: remove this direction from the covariance
    for (let a = 0; a < c; a++) for (let b = 0; b < c; b++) cov[a * c + b] -= lambda * v[a] * v[b];
  }
  const scores = new Float64Array(n * k);
  for (let i = 0; i < n; i++) {
    for (let m = 0; m < k; m++) {
      let s = 0;
      for (let j = 0; j < c; j++) s += (data[i * c + j] - mean[j]) * components[m * c + j];
      scores[i * k + m] = s;
    }
  }
  return { scores, components, variances };
}

/** Run the example. */
export async function runEmbeddingsPca(options: { outDir?: string; model?: string } = {}): Promise<{ plot: string; atoms: number; symbols: string[]; labels: string[]; result: PcaResult; embeddings: Float64Array; channels: number }> {
  const potential = await Potential.load(options.model ?? exampleModel());
  try {
    const structures = MOLECULES.map(([, symbols, positions]) => Structure.fromArrays({ symbols, positions }));
    // The molecular task ('omol' for UMA, 'mol' for equiforce's model) when the model has several heads.
    const task = potential.defaultTask(structures[0]);
    // All molecules at once (packed into as few ONNX calls as is fastest on this device).
    const results = await potential.computeBatch(structures, { task, forces: false, embeddings: true });
    const channels = potential.metadata.embeddingShape[1];
    const atoms = structures.reduce((a, s) => a + s.length, 0);
    const embeddings = new Float64Array(atoms * channels);
    const symbols: string[] = [];
    const labels: string[] = [];
    let row = 0;
    results.forEach((r, m) => {
      const inv = r.embeddings?.invariant;
      if (!inv) throw new Error('the model returned no embeddings');
      embeddings.set(inv.data, row * channels);
      structures[m].symbols.forEach((s, i) => {
        symbols.push(s);
        labels.push(`${s}${i} in ${MOLECULES[m][0]}`);
      });
      row += structures[m].length;
    });
    const result = pca(embeddings, atoms, channels, 2);
    const elements = [...new Set(symbols)];
    const plot = join(outputDir(options.outDir), 'embeddings-pca.svg');
    writeFileSync(
      plot,
      scatterSvg({
        title: `Atom embeddings of ${MOLECULES.length} molecules, PCA (${potential.metadata.name})`,
        xLabel: `PC 1 (variance ${result.variances[0].toPrecision(3)})`,
        yLabel: `PC 2 (variance ${result.variances[1].toPrecision(3)})`,
        points: symbols.map((s, i) => ({ x: result.scores[2 * i], y: result.scores[2 * i + 1], color: COLORS[s] ?? '#ff66cc', title: labels[i] })),
        legend: elements.map((e) => ({ label: e, color: COLORS[e] ?? '#ff66cc' })),
      }),
    );
    return { plot, atoms, symbols, labels, result, embeddings, channels };
  } finally {
    await potential.dispose();
  }
}

if (isMain(import.meta.url)) {
  const r = await runEmbeddingsPca();
  console.log(`wrote ${r.plot}: ${r.atoms} atoms, ${r.channels} channels → 2D (variances ${Array.from(r.result.variances, (v) => v.toPrecision(3)).join(', ')})`);
}
