import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { VerletNeighborList, type NeighborList } from '../../src/geometry/index.js';
import { VERLET_REFRESH_SOURCE_SHA256 } from '../../src/geometry/refresh-wasm.generated.js';
import { checkInvariants, expectMatchesBruteForce } from './check.js';
import { randomSystem, rng } from './random-systems.js';

function displaced(positions: Float64Array, maxStep: number, r: () => number): Float64Array {
  const out = Float64Array.from(positions);
  for (let i = 0; i < out.length / 3; i++) {
    // Uniform direction, length up to maxStep.
    const z = 2 * r() - 1, phi = 2 * Math.PI * r(), len = maxStep * r();
    const s = Math.sqrt(1 - z * z);
    out[3 * i] += len * s * Math.cos(phi);
    out[3 * i + 1] += len * s * Math.sin(phi);
    out[3 * i + 2] += len * z;
  }
  return out;
}

describe.each(['wasm', 'js'] as const)('VerletNeighborList (refresh engine %s)', (refreshEngine) => {
  it('equals a fresh list after small and large displacements and cell changes', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 31 - 1 }), (seed) => {
        const sys = randomSystem(seed, 30);
        const r = rng(seed ^ 0x5bd1e995);
        const cutoff = Math.min(sys.cutoff, 4);
        const skin = 0.2 + r() * 1.2;
        const verlet = new VerletNeighborList(sys, { cutoff, skin, traversal: seed % 2 ? 'bin' : 'index', refreshEngine });
        expect(verlet.rebuildCount).toBe(1);
        expect(verlet.activeRefreshEngine).toBe(refreshEngine);
        let positions = sys.positions;
        let cell = sys.cell;
        let expectedRebuilds = 1;
        for (let step = 0; step < 6; step++) {
          const kind = step % 3;
          if (kind === 0) {
            // Below skin/2: must be served from the stored list.
            positions = displaced(positions, 0.49 * (skin / 2), r);
          } else if (kind === 1) {
            // At least one atom moves more than skin/2: must rebuild.
            positions = displaced(positions, 0.3 * skin, r);
            positions[0] += 1.2 * skin; // ≥ skin/2 from the last build whatever the random part
            expectedRebuilds++;
          } else if (cell !== null && sys.pbc.some((p) => p)) {
            // Strain the cell (and the atoms with it): must rebuild.
            const f = 1 + 0.05 * (r() - 0.5);
            cell = cell.map((v) => v * f);
            positions = positions.map((v) => v * f);
            // A strain can move atoms by more than skin/2 as well; either way one rebuild.
            expectedRebuilds++;
          } else {
            positions = displaced(positions, 0.49 * (skin / 2), r);
          }
          const nl = kind === 2 && cell !== null ? verlet.update(positions, cell) : verlet.update(positions);
          const now = { positions, cell, pbc: sys.pbc };
          if (verlet.rebuildCount !== expectedRebuilds) {
            throw new Error(`${sys.label} step ${step} (kind ${kind}): ${verlet.rebuildCount} rebuilds, expected ${expectedRebuilds}; pbc ${sys.pbc} cell ${cell}`);
          }
          checkInvariants(nl, now);
          expectMatchesBruteForce(nl, now, cutoff, `${sys.label} step ${step}`);
        }
        expect(verlet.refreshCount + verlet.rebuildCount).toBe(7);
      }),
      { numRuns: 60, seed: 99 },
    );
  });

  it('keeps pairs that enter the cutoff from the edge of the skin, along a trajectory of refreshes', () => {
    // A refresh skips stored pairs that were further than cutoff + 2 × (largest displacement since
    // the build) apart; pairs from the outer shell that do come within the cutoff must still appear.
    const cutoff = 3, skin = 1;
    // Two atoms at cutoff + 0.9 skin, approaching each other by 0.46 skin each: cutoff − 0.02 skin.
    const pair = { positions: new Float64Array([0, 0, 0, cutoff + 0.9 * skin, 0, 0]) };
    const v = new VerletNeighborList(pair, { cutoff, skin, refreshEngine });
    expect(v.list.count).toBe(0);
    for (const f of [0.1, 0.2, 0.3, 0.4, 0.46]) {
      const x = f * skin;
      const nl = v.update([x, 0, 0, cutoff + 0.9 * skin - x, 0, 0]);
      expect(nl.count).toBe(f === 0.46 ? 2 : 0);
    }
    expect(v.rebuildCount).toBe(1);
    // Random walks of many small steps between builds (displacements accumulate), periodic and open.
    for (let seed = 1; seed <= 12; seed++) {
      const sys = randomSystem(seed, 40);
      const r = rng(seed * 7919);
      const c = Math.min(sys.cutoff, 4);
      const verlet = new VerletNeighborList(sys, { cutoff: c, skin: 0.8, refreshEngine });
      let positions = sys.positions;
      for (let step = 0; step < 12; step++) {
        positions = displaced(positions, 0.07, r);
        const nl = verlet.update(positions);
        const now = { positions, cell: sys.cell, pbc: sys.pbc };
        checkInvariants(nl, now);
        expectMatchesBruteForce(nl, now, c, `${sys.label} walk step ${step}`);
      }
      expect(verlet.refreshCount).toBeGreaterThan(3);
    }
  });

  it('rejects a different atom count and a bad skin', () => {
    const sys = { positions: new Float64Array([0, 0, 0, 1, 0, 0]) };
    const v = new VerletNeighborList(sys, { cutoff: 2, skin: 0.5, refreshEngine });
    expect(v.list.count).toBe(2);
    expect(() => v.update(new Float64Array(3))).toThrow(/expected 6 coordinates/);
    expect(() => new VerletNeighborList(sys, { cutoff: 2, skin: -1 })).toThrow(/skin/);
    expect(() => new VerletNeighborList(sys, { cutoff: 2, skin: 0.5, refreshEngine: 'gpu' as 'js' })).toThrow(/refreshEngine/);
  });
});

describe('Verlet refresh engines', () => {
  /** Every column of two lists, bit for bit (Object.is also tells −0 from 0 and compares NaN). */
  function expectIdentical(a: NeighborList, b: NeighborList, label: string): void {
    expect(a.count, label).toBe(b.count);
    for (const key of ['centers', 'neighbors', 'shifts', 'vectors', 'distances', 'offsets', 'reverse'] as const) {
      const x = a[key], y = b[key];
      expect(x.length, `${label} ${key}`).toBe(y.length);
      for (let k = 0; k < x.length; k++) {
        if (!Object.is(x[k], y[k])) throw new Error(`${label}: ${key}[${k}] ${x[k]} (wasm) vs ${y[k]} (js)`);
      }
    }
  }

  it('give the same list bit for bit along random walks, with and without image codes', () => {
    let uncoded = 0;
    for (let seed = 1; seed <= 16; seed++) {
      const sys = randomSystem(seed, 60);
      const r = rng(seed * 104729);
      const cutoff = Math.min(sys.cutoff, 4);
      // Every other system: atoms moved by tens of thousands of cell vectors along the periodic
      // axes (the same crystal), so shifts exceed the 16-bit image codes: the uncoded path.
      const start = Float64Array.from(sys.positions);
      const far = seed % 2 === 0 && sys.cell !== null && sys.pbc.some((p) => p);
      for (let i = 0; far && i < start.length / 3; i++) {
        for (let a = 0; a < 3; a++) {
          if (!sys.pbc[a]) continue;
          const m = Math.round((2 * r() - 1) * 40000);
          for (let c = 0; c < 3; c++) start[3 * i + c] += m * sys.cell![3 * a + c];
        }
      }
      const wasm = new VerletNeighborList({ ...sys, positions: start }, { cutoff, skin: 0.6, refreshEngine: 'wasm' });
      const js = new VerletNeighborList({ ...sys, positions: start }, { cutoff, skin: 0.6, refreshEngine: 'js' });
      expect(wasm.activeRefreshEngine).toBe('wasm');
      if (far && start.length > 3) uncoded++;
      expectIdentical(wasm.list, js.list, `seed ${seed} build`);
      let positions: Float64Array = start;
      for (let step = 0; step < 8; step++) {
        positions = displaced(positions, step === 5 ? 0.5 : 0.05, r);
        // A plain array on odd steps: the kernel copies any ArrayLike.
        const input = step % 2 ? Array.from(positions) : positions;
        expectIdentical(wasm.update(input), js.update(input), `seed ${seed} step ${step}`);
      }
      expect(wasm.rebuildCount).toBe(js.rebuildCount);
      expect(wasm.refreshCount).toBeGreaterThan(3);
    }
    expect(uncoded).toBeGreaterThan(2);
  });

  it('keep a returned list valid until the next update, across a re-layout of the kernel memory', () => {
    // Small system first, then a rebuild with many more pairs (cell shrunk): the kernel moves to
    // a new memory; the list returned before must still read the same.
    const sys = randomSystem(7, 80);
    const v = new VerletNeighborList(sys, { cutoff: 2.5, skin: 0.5 });
    const before = v.list;
    const copy = before.distances.slice();
    const cell = sys.cell === null ? null : sys.cell.map((x) => x * 0.7);
    const after = v.update(sys.positions.map((x) => x * 0.7), cell);
    expect(after.count).toBeGreaterThan(before.count);
    expect(Array.from(before.distances)).toEqual(Array.from(copy));
  });
});

describe('native kernels', () => {
  it('the embedded WebAssembly was generated from the committed C source (bash native/build.sh)', () => {
    const source = readFileSync(new URL('../../native/verlet_refresh.c', import.meta.url));
    expect(createHash('sha256').update(source).digest('hex')).toBe(VERLET_REFRESH_SOURCE_SHA256);
  });
});
