/**
 * How to start a worker thread whose entry module sits next to the calling module.
 *
 * @module
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** Arguments for `new Worker(script, { eval })`. */
export interface WorkerSpec {
  readonly script: string | URL;
  readonly eval: boolean;
}

/**
 * The compiled entry `<name>.js` next to `moduleUrl`, or, when the caller runs from TypeScript
 * sources (tsx, test runners), a bootstrap that registers tsx in the worker first: a worker does
 * not inherit the parent's loader hooks.
 *
 * @param moduleUrl `import.meta.url` of the module that starts the worker.
 * @param name the entry module's file name without extension, in the same folder.
 */
export function workerSpec(moduleUrl: string, name: string): WorkerSpec {
  if (!moduleUrl.endsWith('.ts')) return { script: new URL(`./${name}.js`, moduleUrl), eval: false };
  const tsxDir = dirname(createRequire(fileURLToPath(moduleUrl)).resolve('tsx/package.json'));
  const api = pathToFileURL(join(tsxDir, 'dist', 'esm', 'api', 'index.mjs')).href;
  const entry = new URL(`./${name}.ts`, moduleUrl).href;
  return { script: `import(${JSON.stringify(api)}).then((t) => { t.register(); return import(${JSON.stringify(entry)}); })`, eval: true };
}
