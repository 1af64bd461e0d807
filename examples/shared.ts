/**
 * Helpers shared by the examples: which model to use and where to write output.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { DEFAULT_MODEL_DIR } from '../src/index.js';

/**
 * The model the examples use: $EQUIFORCE_MODEL if set, else the shipped model
 * (models/equiforce-small, the command line's default too).
 * @throws Error naming the folder when the shipped model is missing (a partial checkout).
 */
export function exampleModel(): string {
  if (process.env.EQUIFORCE_MODEL) return process.env.EQUIFORCE_MODEL;
  if (!existsSync(DEFAULT_MODEL_DIR)) throw new Error(`the shipped model ${DEFAULT_MODEL_DIR} is missing; set EQUIFORCE_MODEL to a model folder`);
  return DEFAULT_MODEL_DIR;
}

/** examples/output (created on demand; its content is git-ignored). */
export function outputDir(dir?: string): string {
  const out = dir ?? fileURLToPath(new URL('./output', import.meta.url));
  mkdirSync(out, { recursive: true });
  return out;
}

/** True when `moduleUrl` is the script node was started with (run directly, not imported by a test). */
export function isMain(moduleUrl: string): boolean {
  return process.argv[1] !== undefined && pathToFileURL(process.argv[1]).href === moduleUrl;
}
