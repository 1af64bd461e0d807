/**
 * Several ONNX Runtime sessions of one model, each in its own worker thread, so that independent
 * calls (the parts of a large batch) run on several cores at once. onnxruntime-node's `run` does
 * not overlap with another `run` of the same process (measured: two concurrent runs took 0.93×
 * the time of the same two one after the other), so a second core needs a second thread.
 *
 * @module
 */
import { Worker } from 'node:worker_threads';
import type * as ort from 'onnxruntime-node';
import { ModelError } from '../errors.js';
import { workerSpec } from '../util/worker-spec.js';

/** A tensor as it crosses the thread boundary (internal). */
export interface PoolTensor {
  readonly type: string;
  readonly dims: readonly number[];
  readonly data: Float32Array | Float64Array | Int32Array;
}

/** What a worker is started with (internal). */
export interface PoolWorkerData {
  readonly path: string;
  readonly options: ort.InferenceSession.SessionOptions;
}

/** One call posted to a worker (internal). */
export interface PoolRequest {
  readonly id: number;
  readonly feeds: Record<string, PoolTensor>;
  readonly fetches: string[];
}

/** A worker's answer: outputs, or an error message; id −1 reports a failed session start (internal). */
export interface PoolResponse {
  readonly id: number;
  readonly outputs?: Record<string, PoolTensor>;
  readonly error?: string;
}

interface Slot {
  readonly worker: Worker;
  busy: boolean;
  pending: Map<number, { resolve: (r: Record<string, PoolTensor>) => void; reject: (e: Error) => void }>;
}

/** A fixed set of worker threads, each holding a session of the same model file. */
export class SessionPool {
  /** Number of workers. */
  readonly size: number;
  private readonly slots: Slot[] = [];
  private readonly waiting: ((slot: Slot) => void)[] = [];
  private nextId = 0;
  private failure: string | undefined;

  /**
   * @param path the model.onnx file.
   * @param options session options of every worker's session (threads per worker included).
   * @param size number of workers (≥ 1).
   */
  constructor(path: string, options: ort.InferenceSession.SessionOptions, size: number) {
    this.size = size;
    const spec = workerSpec(import.meta.url, 'session-worker');
    for (let k = 0; k < size; k++) {
      const worker = new Worker(spec.script, { eval: spec.eval, workerData: { path, options } satisfies PoolWorkerData });
      worker.unref();
      const slot: Slot = { worker, busy: false, pending: new Map() };
      worker.on('message', (msg: PoolResponse) => {
        if (msg.id === -1) return this.fail(`an ONNX Runtime worker could not create its session: ${msg.error}`);
        const p = slot.pending.get(msg.id);
        if (!p) return;
        slot.pending.delete(msg.id);
        if (msg.error !== undefined) p.reject(new ModelError(`ONNX Runtime (worker): ${msg.error}`, 'onnx-run-failed'));
        else p.resolve(msg.outputs!);
      });
      worker.on('error', (e) => this.fail(`an ONNX Runtime worker failed: ${e.message}`));
      worker.on('exit', (code) => { if (code !== 0) this.fail(`an ONNX Runtime worker exited with code ${code}`); });
      this.slots.push(slot);
    }
  }

  /** Whether a worker has failed (the pool is then unusable and callers should use their own session). */
  get broken(): boolean {
    return this.failure !== undefined;
  }

  /**
   * Run one call on the next free worker. The feeds' data are copied (the caller may reuse its
   * buffers as soon as this returns a promise); the outputs are the worker's own arrays.
   */
  async run(feeds: Record<string, ort.Tensor>, fetches: string[]): Promise<Record<string, PoolTensor>> {
    if (this.failure !== undefined) throw new ModelError(this.failure, 'onnx-run-failed');
    const plain: Record<string, PoolTensor> = {};
    const transfer: ArrayBuffer[] = [];
    for (const [name, t] of Object.entries(feeds)) {
      const data = (t.data as Float32Array | Float64Array | Int32Array).slice();
      plain[name] = { type: t.type, dims: [...t.dims], data };
      transfer.push(data.buffer as ArrayBuffer);
    }
    const slot = await this.acquire();
    try {
      const id = this.nextId++;
      return await new Promise<Record<string, PoolTensor>>((resolve, reject) => {
        slot.pending.set(id, { resolve, reject });
        slot.worker.postMessage({ id, feeds: plain, fetches } satisfies PoolRequest, transfer);
      });
    } finally {
      this.release(slot);
    }
  }

  /** Stop every worker. */
  async close(): Promise<void> {
    this.fail('the session pool was closed');
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
  }

  private acquire(): Promise<Slot> {
    const free = this.slots.find((s) => !s.busy);
    if (free) {
      free.busy = true;
      return Promise.resolve(free);
    }
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  private release(slot: Slot): void {
    const next = this.waiting.shift();
    if (next) next(slot);
    else slot.busy = false;
  }

  private fail(message: string): void {
    if (this.failure === undefined) this.failure = message;
    for (const s of this.slots) {
      for (const p of s.pending.values()) p.reject(new ModelError(message, 'onnx-run-failed'));
      s.pending.clear();
    }
  }
}
