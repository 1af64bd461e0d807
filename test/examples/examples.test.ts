import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { runEmbeddingsPca, MOLECULES } from '../../examples/embeddings-pca.js';
import { runMoleculeMd } from '../../examples/md-molecule.js';
import { runSlabRelaxation } from '../../examples/relax-slab.js';
import { readExtxyz, readStructure } from '../../src/io/index.js';

const model = fileURLToPath(new URL('../../models/test-dense-f32', import.meta.url));
const outDir = mkdtempSync(join(tmpdir(), 'ef-examples-'));
afterAll(() => rmSync(outDir, { recursive: true, force: true }));

function wellFormed(path: string): void {
  try {
    execFileSync('/usr/bin/python3', ['-c', 'import sys, xml.etree.ElementTree as E; E.parse(sys.argv[1])', path]);
  } catch (e) {
    if (!/ENOENT/.test(String(e))) throw e;
  }
}

describe('examples', () => {
  it('md-molecule: Langevin MD of ethanol writes a trajectory, log and plot', async () => {
    const r = await runMoleculeMd({ steps: 40, interval: 10, outDir, model });
    const frames = readExtxyz(r.trajectory);
    expect(frames.length).toBe(5);
    expect(frames[0].formula).toBe('C2OH6');
    expect(frames[4].info.time_fs).toBe(20);
    expect(readFileSync(r.log, 'utf8').trim().split('\n').length).toBe(6);
    const svg = readFileSync(r.plot, 'utf8');
    expect((svg.match(/<polyline/g) ?? []).length).toBe(3);
    wellFormed(r.plot);
    expect(r.meanTemperatureK).toBeGreaterThan(100);
    expect(r.meanTemperatureK).toBeLessThan(700);
  }, 30_000);

  it('relax-slab: the in-plane cell relaxes, the vacuum axis is kept, the energy goes down', async () => {
    const r = await runSlabRelaxation({ maxSteps: 25, outDir, model });
    expect(r.finalEnergy).toBeLessThan(r.initialEnergy);
    const c0 = Array.from(r.initial.cell.subarray(6, 9));
    const c1 = Array.from(r.relaxed.cell.subarray(6, 9));
    c1.forEach((x, k) => expect(x).toBeCloseTo(c0[k], 10)); // zz, yz, xz masked
    expect(Math.abs(r.relaxed.cell[0] - r.initial.cell[0])).toBeGreaterThan(1e-4); // xx relaxed
    const back = readStructure(r.output);
    expect(back.length).toBe(16);
    expect(back.info.energy).toBeCloseTo(r.finalEnergy, 8); // zero pressure: enthalpy = energy
  }, 60_000);

  it('embeddings-pca: PCA axes are orthonormal covariance eigenvectors; the SVG has one point per atom', async () => {
    const r = await runEmbeddingsPca({ outDir, model });
    const atoms = MOLECULES.reduce((a, m) => a + m[1].length, 0);
    expect(r.atoms).toBe(atoms);
    const { components, variances } = r.result;
    const c = r.channels;
    // independent covariance, then check C·v = λ·v and orthonormality
    const mean = new Float64Array(c);
    for (let i = 0; i < atoms; i++) for (let j = 0; j < c; j++) mean[j] += r.embeddings[i * c + j] / atoms;
    for (let m = 0; m < 2; m++) {
      const v = components.subarray(m * c, (m + 1) * c);
      const cv = new Float64Array(c);
      for (let i = 0; i < atoms; i++) {
        let proj = 0;
        for (let j = 0; j < c; j++) proj += (r.embeddings[i * c + j] - mean[j]) * v[j];
        for (let j = 0; j < c; j++) cv[j] += ((r.embeddings[i * c + j] - mean[j]) * proj) / (atoms - 1);
      }
      for (let j = 0; j < c; j++) expect(cv[j]).toBeCloseTo(variances[m] * v[j], 6);
      expect(Math.hypot(...v)).toBeCloseTo(1, 12);
    }
    let dot = 0;
    for (let j = 0; j < c; j++) dot += components[j] * components[c + j];
    expect(Math.abs(dot)).toBeLessThan(1e-6);
    expect(variances[0]).toBeGreaterThanOrEqual(variances[1]);
    const svg = readFileSync(r.plot, 'utf8');
    const elements = new Set(r.symbols).size;
    expect((svg.match(/<circle/g) ?? []).length).toBe(atoms + elements);
    expect(svg).toContain('<title>O0 in water</title>');
    wellFormed(r.plot);
  }, 30_000);
});
