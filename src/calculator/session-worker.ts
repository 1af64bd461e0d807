/**
 * Worker-thread entry of {@link SessionPool}: one ONNX Runtime session per worker, running the
 * calls the main thread posts. Inputs and outputs travel as plain typed arrays (transferred, not
 * copied, on the way back).
 *
 * @module
 */
import { parentPort, workerData } from 'node:worker_threads';
import * as ort from 'onnxruntime-node';
import type { PoolRequest, PoolResponse, PoolTensor, PoolWorkerData } from './session-pool.js';

const { path, options } = workerData as PoolWorkerData;
const ready = ort.InferenceSession.create(path, options);
// Report a failed start once, so the pool stops using this worker.
ready.catch((e: unknown) => parentPort?.postMessage({ id: -1, error: e instanceof Error ? e.message : String(e) } satisfies PoolResponse));

parentPort?.on('message', (msg: PoolRequest) => {
  void (async () => {
    try {
      const session = await ready;
      const feeds: Record<string, ort.Tensor> = {};
      for (const [name, t] of Object.entries(msg.feeds)) feeds[name] = new ort.Tensor(t.type as 'float32', t.data as Float32Array, t.dims);
      const out = await session.run(feeds, msg.fetches);
      const outputs: Record<string, PoolTensor> = {};
      const transfer: ArrayBuffer[] = [];
      for (const name of msg.fetches) {
        const t = out[name];
        const data = (t.data as Float32Array | Float64Array | Int32Array).slice();
        outputs[name] = { type: t.type, dims: [...t.dims], data };
        transfer.push(data.buffer as ArrayBuffer);
        t.dispose?.();
      }
      parentPort?.postMessage({ id: msg.id, outputs } satisfies PoolResponse, transfer);
    } catch (e) {
      parentPort?.postMessage({ id: msg.id, error: e instanceof Error ? e.message : String(e) } satisfies PoolResponse);
    }
  })();
});
