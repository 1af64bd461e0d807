/**
 * Shared plumbing of the subcommands: output streams, input reading with friendly errors,
 * model/task selection.
 *
 * @module
 */
import { existsSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { Potential } from '../calculator/potential.js';
import { EquiforceError } from '../errors.js';
import { readFrames } from '../io/detect.js';
import type { Structure } from '../structure/structure.js';
import type { ParsedArgs } from './args.js';
import { chooseTask, loadModel } from './model.js';

/** Where a command writes, and the signal that Ctrl-C aborts. */
export interface CliContext {
  /** Results (tables, JSON). */
  readonly out: (text: string) => void;
  /** Messages, progress, notes. */
  readonly err: (text: string) => void;
  /** Aborted on Ctrl-C. */
  readonly signal: AbortSignal;
  /** Stream for the progress bar. */
  readonly progressStream: NodeJS.WriteStream;
}

/**
 * Read every frame of an input file.
 * @throws EquiforceError('file-not-found') when the file is missing; ParseError/ArgumentError from the readers.
 */
export function readInput(path: string): Structure[] {
  if (!existsSync(path)) throw new EquiforceError('file-not-found', `input file not found: ${path}`);
  if (statSync(path).isDirectory()) throw new EquiforceError('file-not-found', `${path} is a folder, expected a structure file`);
  const frames = readFrames(path);
  if (frames.length === 0) throw new EquiforceError('empty-file', `${path} holds no structure`);
  return frames;
}

/**
 * Check that an output file can be created: its folder exists and it is not a folder itself.
 * Done before any computing, so a typo does not cost a long run.
 * @throws EquiforceError('bad-output') naming the path.
 */
export function checkOutputPath(path: string, option: string): void {
  const dir = dirname(resolve(path));
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new EquiforceError('bad-output', `${option} ${path}: folder ${dir} does not exist`);
  if (existsSync(path) && statSync(path).isDirectory()) throw new EquiforceError('bad-output', `${option} ${path} is a folder, expected a file name`);
}

/** Options every model-using command accepts. */
export const MODEL_OPTIONS = {
  model: { type: 'string', metavar: 'DIR', help: 'model folder (model.onnx + model.json); default: the shipped model' },
  task: { type: 'string', metavar: 'NAME', help: 'task head, e.g. omol, omat, oc20 (default: chosen from the structure)' },
  device: { type: 'string', choices: ['cpu', 'cuda'], default: 'cpu', help: 'where the model runs' },
  threads: { type: 'integer', help: 'ONNX Runtime threads (default: ONNX Runtime decides)' },
} as const;

/** Load the model from parsed options and choose the task for `structure`, printing the choice. */
export async function modelAndTask(args: ParsedArgs, structure: Structure, ctx: CliContext): Promise<{ potential: Potential; task: string | undefined }> {
  const potential = await loadModel({
    model: args.options.model as string | undefined,
    device: args.options.device as 'cpu' | 'cuda',
    threads: args.options.threads as number | undefined,
    onNotice: ctx.err,
  });
  try {
    const choice = chooseTask(potential, structure, args.options.task as string | undefined);
    if (choice.task !== undefined && !potential.tasks.includes(choice.task)) {
      throw new EquiforceError('unknown-task', `unknown task "${choice.task}"; model ${potential.metadata.name} knows ${potential.tasks.join(', ')}`);
    }
    if (choice.note) ctx.err(choice.note);
    return { potential, task: choice.task };
  } catch (e) {
    await potential.dispose();
    throw e;
  }
}
