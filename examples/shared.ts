/**
 * Helpers shared by the examples: which model to use and where to write output.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { DEFAULT_MODEL_DIR } from '../src/index.js';

/**
 * The model the examples use: $EQUIFORCE_MODEL if set, else the shipped model once it exists
 * (models/equiforce-small), else the small random-weight test model. With the test model the
 * numbers are not physical (its weights are random); the workflow is the same.
 */
export function exampleModel(): string {
  if (process.env.EQUIFORCE_MODEL) return process.env.EQUIFORCE_MODEL;
  if (existsSync(DEFAULT_MODEL_DIR)) return DEFAULT_MODEL_DIR;
  return fileURLToPath(new URL('../models/test-dense-f32', import.meta.url));
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
