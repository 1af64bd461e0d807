/**
 * ONNX Runtime sessions for equiforce models on CPU or CUDA.
 *
 * @module
 */
import { existsSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { ModelError } from '../errors.js';
import { CONTRACT_INPUTS, CONTRACT_OUTPUTS } from './metadata.js';

/** Where the model runs. */
export type Device = 'cpu' | 'cuda';

/** Session settings. */
export interface RuntimeOptions {
  /** `'cpu'` (default) or `'cuda'` (needs onnxruntime-node installed with CUDA binaries). */
  readonly device?: Device;
  /** Intra-op threads (CPU); default: ONNX Runtime's choice (all cores). */
  readonly threads?: number;
  /** CUDA device id (default 0). */
  readonly deviceId?: number;
  /**
   * Fall back to the CPU when `device: 'cuda'` cannot start (default false: fail loudly, so a
   * missing GPU setup is never silently 50× slower).
   */
  readonly allowCpuFallback?: boolean;
}

const CUDA_HELP =
  "onnxruntime-node's CUDA execution provider is not installed. Reinstall it with CUDA 12 binaries:\n" +
  '  npm install onnxruntime-node --onnxruntime-node-install=cuda12\n' +
  "(and make sure the CUDA 12 / cuDNN 9 runtime libraries are on the library path), or use device: 'cpu'.";

/** Whether onnxruntime-node's CUDA provider library is present next to its native binding. */
export function cudaProviderInstalled(): boolean {
  try {
    const require = createRequire(import.meta.url);
    const root = dirname(require.resolve('onnxruntime-node/package.json'));
    const bin = join(root, 'bin');
    const stack = [bin];
    while (stack.length > 0) {
      const dir = stack.pop()!;
      if (!existsSync(dir)) continue;
      for (const entry of readdirSync(dir, { withFileTypes: true })) {
        if (entry.isDirectory()) stack.push(join(dir, entry.name));
        else if (entry.name.startsWith('libonnxruntime_providers_cuda')) return true;
      }
    }
    return false;
  } catch {
    return false;
  }
}

/** A created session with the device it actually runs on. */
export interface ModelSession {
  readonly session: ort.InferenceSession;
  readonly device: Device;
}

/**
 * How a session manages its activation memory: `'malloc'` for the default graph (every tensor
 * from the system allocator), `'arena'` for the edge-chunked large-system graph (ONNX Runtime's
 * CPU arena, without memory patterns).
 */
export type SessionMemory = 'malloc' | 'arena';

/** The CPU session options equiforce uses (also for the worker sessions of a SessionPool). */
export function cpuSessionOptions(threads: number | undefined, memory: SessionMemory = 'malloc'): ort.InferenceSession.SessionOptions {
  return {
    graphOptimizationLevel: 'all',
    // Default graph: ORT's CPU arena with its memory patterns keeps a planned block per input shape
    // it has seen; MD and batching feed ever-changing shapes, so RSS grew call after call, and its
    // per-layer buffers fragmented it (2.6-3.3 GB instead of 2.1-2.6 at 1,008 Cu atoms, C = 32).
    // The chunked large graph allocates thousands of equal chunk-sized tensors per call: there
    // glibc's heap fragments instead (1.1-2.7 GB, varying run to run, for a 0.4 GB live set at
    // 1,008 atoms) while the arena without patterns reuses its blocks and stays at 0.9 GB call
    // after call, and is the fastest of the three (docs/model-format.md).
    enableCpuMemArena: memory === 'arena',
    ...(memory === 'arena' ? { enableMemPattern: false } : {}),
    ...(threads !== undefined ? { intraOpNumThreads: threads, interOpNumThreads: 1 } : {}),
    // The large graph's calls take seconds, so waking its intra-op threads costs nothing there,
    // while letting them spin-wait between parallel sections made two threads erratic on a
    // virtualised 2-core host: 1,008 Cu (C = 32) ran in 6.2-6.4 s for 12.4 s of CPU per call for
    // minutes at a time, and in 4.1-4.5 s for 7.2-7.9 s of CPU without spinning (session 7,
    // docs/model-format.md). The default graph keeps ORT's spinning: small calls gain from it.
    ...(memory === 'arena' ? { extra: { session: { intra_op: { allow_spinning: '0' } } } } : {}),
  };
}

/**
 * Create an ONNX Runtime session for `onnxPath` and check that the graph follows the contract.
 *
 * @throws ModelError when the file is not a valid ONNX model, lacks the contract's inputs or
 *   outputs, or CUDA was requested and is not available (unless `allowCpuFallback`).
 */
export async function createModelSession(onnxPath: string, options: RuntimeOptions = {}, memory: SessionMemory = 'malloc'): Promise<ModelSession> {
  const device = options.device ?? 'cpu';
  if (device !== 'cpu' && device !== 'cuda') {
    throw new ModelError(`unknown device ${JSON.stringify(device)} (use 'cpu' or 'cuda')`, 'invalid-device');
  }
  const threads = options.threads;
  if (threads !== undefined && !(Number.isInteger(threads) && threads >= 1)) {
    throw new ModelError(`threads must be a positive integer, got ${threads}`, 'invalid-option');
  }
  const base = cpuSessionOptions(threads, memory);

  let session: ort.InferenceSession;
  let actual: Device = device;
  if (device === 'cuda') {
    const tryCuda = async (): Promise<ort.InferenceSession> => {
      if (!cudaProviderInstalled()) throw new ModelError(CUDA_HELP, 'cuda-unavailable');
      try {
        return await ort.InferenceSession.create(onnxPath, {
          ...base,
          executionProviders: [{ name: 'cuda', deviceId: options.deviceId ?? 0 }],
        });
      } catch (e) {
        throw new ModelError(`CUDA execution provider failed to start: ${(e as Error).message}\n${CUDA_HELP}`, 'cuda-unavailable');
      }
    };
    try {
      session = await tryCuda();
    } catch (e) {
      if (!options.allowCpuFallback) throw e;
      session = await openCpu(onnxPath, base);
      actual = 'cpu';
    }
  } else {
    session = await openCpu(onnxPath, base);
  }
  checkContract(session, onnxPath);
  return { session, device: actual };
}

async function openCpu(onnxPath: string, base: ort.InferenceSession.SessionOptions): Promise<ort.InferenceSession> {
  try {
    return await ort.InferenceSession.create(onnxPath, { ...base, executionProviders: ['cpu'] });
  } catch (e) {
    throw new ModelError(`${onnxPath}: not a loadable ONNX model (${(e as Error).message.split('\n')[0]})`, 'invalid-onnx');
  }
}

function checkContract(session: ort.InferenceSession, onnxPath: string): void {
  const missingIn = CONTRACT_INPUTS.filter((n) => !session.inputNames.includes(n));
  const missingOut = CONTRACT_OUTPUTS.filter((n) => !session.outputNames.includes(n));
  if (missingIn.length > 0 || missingOut.length > 0) {
    void session.release();
    throw new ModelError(
      `${onnxPath}: not an equiforce model graph (missing ${[
        ...missingIn.map((n) => `input "${n}"`),
        ...missingOut.map((n) => `output "${n}"`),
      ].join(', ')}; see docs/model-format.md)`,
      'not-equiforce-model',
    );
  }
}
