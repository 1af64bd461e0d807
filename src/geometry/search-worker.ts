/**
 * Worker-thread entry of the parallel neighbour search (see parallel.ts): runs the passes of
 * kernel.ts on chunks it claims from the shared control array, then reports done.
 *
 * @module
 */
import { parentPort, workerData } from 'node:worker_threads';
import { CTL_DONE, CTL_ERROR, CTL_READY, runChunks, type KernelData, type KernelPass } from './kernel.js';

/** A pass request from the main thread. */
interface PassMessage {
  pass: KernelPass;
  data: KernelData;
  binChunks: Int32Array;
  indexChunks: Int32Array;
  candidates: number;
}

const ctl = (workerData as { ctl: Int32Array }).ctl;
let cand = new Int32Array(1024);

parentPort?.on('message', (msg: PassMessage) => {
  try {
    if (cand.length < msg.candidates) cand = new Int32Array(msg.candidates);
    runChunks(msg.data, msg.pass, msg.binChunks, msg.indexChunks, ctl, cand);
  } catch {
    Atomics.store(ctl, CTL_ERROR, 1);
  } finally {
    Atomics.add(ctl, CTL_DONE, 1);
    Atomics.notify(ctl, CTL_DONE);
  }
});

Atomics.add(ctl, CTL_READY, 1);
Atomics.notify(ctl, CTL_READY);
