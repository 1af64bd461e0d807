// Runs an ONNX model in onnxruntime-node for the Python tests and tools.
// usage: node run_ort.mjs MODEL.onnx DIR [threads=1] [repeats=1]
// DIR/inputs.json: {name: {dtype, shape, file}} with raw little-endian files in DIR.
// Writes DIR/out_<rep>_<name>.bin and DIR/outputs.json ({name: {dtype, shape}}).
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createRequire } from 'node:module';

const require = createRequire(join(process.cwd(), 'package.json'));
let ort;
try {
  ort = require('onnxruntime-node');
} catch {
  ort = require('/work/main/node_modules/onnxruntime-node');
}

const [model, dir, threadsArg, repeatsArg] = process.argv.slice(2);
const threads = Number(threadsArg ?? 1);
const repeats = Number(repeatsArg ?? 1);
const spec = JSON.parse(readFileSync(join(dir, 'inputs.json'), 'utf8'));
const ctors = { float32: Float32Array, float64: Float64Array, int32: Int32Array, int64: BigInt64Array };
const feeds = {};
for (const [name, s] of Object.entries(spec)) {
  const buf = readFileSync(join(dir, s.file));
  const C = ctors[s.dtype];
  const arr = new C(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
  feeds[name] = new ort.Tensor(s.dtype, arr, s.shape);
}
const session = await ort.InferenceSession.create(model, {
  intraOpNumThreads: threads,
  interOpNumThreads: 1,
  executionMode: 'sequential',
  graphOptimizationLevel: 'all',
});
const meta = {};
const times = [];
for (let r = 0; r < repeats; r++) {
  const t0 = process.hrtime.bigint();
  const out = await session.run(feeds);
  times.push(Number(process.hrtime.bigint() - t0) / 1e6);
  for (const [name, t] of Object.entries(out)) {
    meta[name] = { dtype: t.type, shape: t.dims };
    writeFileSync(join(dir, `out_${r}_${name}.bin`), Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength));
  }
}
writeFileSync(join(dir, 'outputs.json'), JSON.stringify({ outputs: meta, times_ms: times }));
