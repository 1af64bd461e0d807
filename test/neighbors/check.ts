/** Shared assertions for neighbour-list tests. */
import { expect } from 'vitest';
import type { NeighborList } from '../../src/geometry/index.js';
import { bruteForceNeighbors, pairKey, type BruteSystem } from '../helpers/bruteforce.js';

/** The CSR / reverse / vector invariants every list must satisfy. */
export function checkInvariants(nl: NeighborList, system: BruteSystem): void {
  const n = system.positions.length / 3;
  const cell = system.cell ?? new Float64Array(9);
  expect(nl.nAtoms).toBe(n);
  expect(nl.offsets.length).toBe(n + 1);
  expect(nl.offsets[0]).toBe(0);
  expect(nl.offsets[n]).toBe(nl.count);
  for (const arr of [nl.centers, nl.neighbors, nl.distances, nl.reverse]) expect(arr.length).toBe(nl.count);
  expect(nl.shifts.length).toBe(3 * nl.count);
  expect(nl.vectors.length).toBe(3 * nl.count);
  const seen = new Set<string>();
  for (let i = 0; i < n; i++) {
    if (nl.offsets[i + 1] < nl.offsets[i]) throw new Error(`offsets decrease at atom ${i}`);
    for (let p = nl.offsets[i]; p < nl.offsets[i + 1]; p++) {
      if (nl.centers[p] !== i) expect(nl.centers[p]).toBe(i);
    }
  }
  const pos = system.positions;
  for (let p = 0; p < nl.count; p++) {
    const i = nl.centers[p], j = nl.neighbors[p], q = nl.reverse[p];
    const S = nl.shifts.subarray(3 * p, 3 * p + 3);
    const key = pairKey(i, j, S);
    if (seen.has(key)) throw new Error(`duplicate pair ${key}`);
    seen.add(key);
    if (i === j && S[0] === 0 && S[1] === 0 && S[2] === 0) throw new Error(`self pair at zero shift for atom ${i}`);
    if (q < 0 || q >= nl.count || nl.reverse[q] !== p || nl.centers[q] !== j || nl.neighbors[q] !== i) {
      throw new Error(`bad reverse for pair ${p} (${key}): ${q}`);
    }
    for (let c = 0; c < 3; c++) {
      if (nl.shifts[3 * q + c] !== -S[c]) throw new Error(`reverse shift mismatch at pair ${p}`);
      if (nl.vectors[3 * q + c] !== -nl.vectors[3 * p + c]) throw new Error(`reverse vector mismatch at pair ${p}`);
      const expected = pos[3 * j + c] - pos[3 * i + c] + S[0] * cell[c] + S[1] * cell[3 + c] + S[2] * cell[6 + c];
      const scale = 1 + Math.abs(pos[3 * j + c]) + Math.abs(pos[3 * i + c]) + Math.abs(expected);
      if (Math.abs(nl.vectors[3 * p + c] - expected) > 1e-12 * scale * 10) {
        throw new Error(`vector of pair ${p} (${key}) is ${nl.vectors[3 * p + c]}, expected ${expected}`);
      }
    }
    const dv = Math.hypot(nl.vectors[3 * p], nl.vectors[3 * p + 1], nl.vectors[3 * p + 2]);
    if (!(Math.abs(nl.distances[p] - dv) < 1e-12 * (1 + dv))) throw new Error(`distance of pair ${p} is not |vector|`);
    if (!(nl.distances[p] < nl.cutoff)) throw new Error(`distance ${nl.distances[p]} ≥ cutoff ${nl.cutoff}`);
    if (nl.distances[q] !== nl.distances[p]) throw new Error(`reverse distance mismatch at pair ${p}`);
  }
}

/** Compare a list with the brute-force oracle: same (i, j, S) set, same D and d. */
export function expectMatchesBruteForce(nl: NeighborList, system: BruteSystem, cutoff: number, label = ''): void {
  const ref = bruteForceNeighbors(system, cutoff);
  const got = new Map<string, number>();
  for (let p = 0; p < nl.count; p++) got.set(pairKey(nl.centers[p], nl.neighbors[p], nl.shifts.subarray(3 * p, 3 * p + 3)), p);
  const missing: string[] = [];
  for (const pr of ref) {
    const key = pairKey(pr.i, pr.j, pr.S);
    const p = got.get(key);
    if (p === undefined) {
      missing.push(`${key} (d=${pr.d})`);
      continue;
    }
    for (let c = 0; c < 3; c++) {
      if (Math.abs(nl.vectors[3 * p + c] - pr.D[c]) > 1e-9) throw new Error(`${label}: vector mismatch for ${key}`);
    }
    if (Math.abs(nl.distances[p] - pr.d) > 1e-9) throw new Error(`${label}: distance mismatch for ${key}`);
  }
  if (missing.length > 0 || ref.length !== nl.count) {
    const refKeys = new Set(ref.map((pr) => pairKey(pr.i, pr.j, pr.S)));
    const extra = [...got.keys()].filter((k) => !refKeys.has(k));
    throw new Error(
      `${label}: ${nl.count} pairs vs ${ref.length} brute force; missing ${missing.slice(0, 5).join('; ')}; extra ${extra.slice(0, 5).join('; ')}`,
    );
  }
}
