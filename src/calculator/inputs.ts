/**
 * Packing structures and their neighbour lists into the graph's input tensors, with buffers that
 * are reused (and grown geometrically) from call to call, so an MD step allocates no input arrays.
 *
 * @module
 */
import * as ort from 'onnxruntime-node';
import type { NeighborList } from '../geometry/types.js';

/** One system of a batch, already validated, with its model-level charge, spin and task index. */
export interface SystemInput {
  readonly numbers: Int32Array;
  readonly list: NeighborList;
  readonly charge: number;
  readonly spin: number;
  readonly task: number;
}

/** Where each system's atoms and pairs sit inside the packed batch. */
export interface BatchLayout {
  /** First atom of system b; length B + 1. */
  readonly atomStart: Int32Array;
  /** First pair of system b; length B + 1. */
  readonly pairStart: Int32Array;
  /** Batched CSR offsets (length N + 1) and reverse indices, absolute in the batch. */
  readonly offsets: Int32Array;
  readonly reverse: Int32Array;
  /** Batched pair vectors, float64, 3 per pair (Å). */
  readonly vectors: Float64Array;
}

function grow<T extends Int32Array | Float64Array | Float32Array>(buf: T, n: number, make: (n: number) => T): T {
  if (buf.length >= n) return buf;
  return make(Math.max(n, Math.ceil(buf.length * 1.5), 16));
}

/** Reusable input buffers for one model. */
export class InputBuffers {
  private numbers = new Int32Array(16);
  private edgeIndex = new Int32Array(16);
  private edgeVec: Float64Array | Float32Array;
  private vectors64 = new Float64Array(16);
  private systemIndex = new Int32Array(16);
  private offsets = new Int32Array(16);
  private reverse = new Int32Array(16);
  private readonly float64: boolean;

  constructor(dtype: 'float32' | 'float64') {
    this.float64 = dtype === 'float64';
    this.edgeVec = this.float64 ? new Float64Array(16) : new Float32Array(16);
  }

  /**
   * Pack a batch into the contract's feeds (docs/model-format.md). The returned tensors view this
   * object's buffers: they are valid until the next call to `pack`.
   */
  pack(systems: readonly SystemInput[]): { feeds: Record<string, ort.Tensor>; layout: BatchLayout } {
    const B = systems.length;
    const atomStart = new Int32Array(B + 1);
    const pairStart = new Int32Array(B + 1);
    for (let b = 0; b < B; b++) {
      atomStart[b + 1] = atomStart[b] + systems[b].numbers.length;
      pairStart[b + 1] = pairStart[b] + systems[b].list.count;
    }
    const N = atomStart[B];
    const E = pairStart[B];
    this.numbers = grow(this.numbers, N, (n) => new Int32Array(n));
    this.systemIndex = grow(this.systemIndex, N, (n) => new Int32Array(n));
    this.offsets = grow(this.offsets, N + 1, (n) => new Int32Array(n));
    this.edgeIndex = grow(this.edgeIndex, 2 * E, (n) => new Int32Array(n));
    this.reverse = grow(this.reverse, E, (n) => new Int32Array(n));
    this.vectors64 = grow(this.vectors64, 3 * E, (n) => new Float64Array(n));
    this.edgeVec = this.float64
      ? grow(this.edgeVec as Float64Array, 3 * E, (n) => new Float64Array(n))
      : grow(this.edgeVec as Float32Array, 3 * E, (n) => new Float32Array(n));

    const charge = new Int32Array(B);
    const spin = new Int32Array(B);
    const task = new Int32Array(B);
    for (let b = 0; b < B; b++) {
      const s = systems[b];
      const a0 = atomStart[b];
      const p0 = pairStart[b];
      const n = s.numbers.length;
      const { list } = s;
      this.numbers.set(s.numbers, a0);
      this.systemIndex.fill(b, a0, a0 + n);
      for (let i = 0; i < n; i++) this.offsets[a0 + i] = list.offsets[i] + p0;
      for (let p = 0; p < list.count; p++) {
        this.edgeIndex[p0 + p] = list.neighbors[p] + a0; // row 0: neighbour j
        this.edgeIndex[E + p0 + p] = list.centers[p] + a0; // row 1: centre i
        this.reverse[p0 + p] = list.reverse[p] + p0;
      }
      this.vectors64.set(list.vectors.subarray(0, 3 * list.count), 3 * p0);
      charge[b] = s.charge;
      spin[b] = s.spin;
      task[b] = s.task;
    }
    this.offsets[N] = E;
    this.edgeVec.set(this.vectors64.subarray(0, 3 * E));

    const feeds: Record<string, ort.Tensor> = {
      atomic_numbers: new ort.Tensor('int32', this.numbers.subarray(0, N), [N]),
      edge_index: new ort.Tensor('int32', this.edgeIndex.subarray(0, 2 * E), [2, E]),
      edge_vec: this.float64
        ? new ort.Tensor('float64', (this.edgeVec as Float64Array).subarray(0, 3 * E), [E, 3])
        : new ort.Tensor('float32', (this.edgeVec as Float32Array).subarray(0, 3 * E), [E, 3]),
      system_index: new ort.Tensor('int32', this.systemIndex.subarray(0, N), [N]),
      charge: new ort.Tensor('int32', charge, [B]),
      spin: new ort.Tensor('int32', spin, [B]),
      task: new ort.Tensor('int32', task, [B]),
      offsets: new ort.Tensor('int32', this.offsets.subarray(0, N + 1), [N + 1]),
      reverse: new ort.Tensor('int32', this.reverse.subarray(0, E), [E]),
    };
    return {
      feeds,
      layout: {
        atomStart,
        pairStart,
        offsets: this.offsets.subarray(0, N + 1),
        reverse: this.reverse.subarray(0, E),
        vectors: this.vectors64.subarray(0, 3 * E),
      },
    };
  }
}
