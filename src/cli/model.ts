/**
 * Where the command line finds its model and how it picks a task.
 *
 * @module
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Potential } from '../calculator/potential.js';
import type { Device } from '../calculator/runtime.js';
import { EquiforceError, ModelError } from '../errors.js';
import type { Structure } from '../structure/structure.js';

/**
 * The model folder used when no `--model` is given: the shipped model, relative to the
 * package root (this file lives in src/cli or dist/cli). The single place to change it.
 */
export const DEFAULT_MODEL_DIR: string = fileURLToPath(new URL('../../models/equiforce-small', import.meta.url));

/** Options of {@link loadModel}. */
export interface ModelChoice {
  /** Model folder; default {@link DEFAULT_MODEL_DIR}. */
  readonly model?: string;
  /** 'cpu' (default) or 'cuda'. */
  readonly device?: Device;
  /** Intra-op threads for ONNX Runtime. */
  readonly threads?: number;
  /** Where to say what slow one-time work the potential is doing (see `LoadOptions.onNotice` of the calculator). */
  readonly onNotice?: (message: string) => void;
}

/**
 * Load the model named on the command line, or the shipped default.
 * @throws ModelError with a hint to pass `--model DIR` when the default model is not installed.
 */
export async function loadModel(choice: ModelChoice): Promise<Potential> {
  const dir = choice.model ?? DEFAULT_MODEL_DIR;
  if (choice.model === undefined && !existsSync(dir)) {
    throw new ModelError(
      `the default model is not installed (${dir} does not exist); pass a model folder with --model DIR, e.g. --model models/test-dense-f64`,
      'model-not-found',
    );
  }
  return Potential.load(dir, {
    device: choice.device ?? 'cpu',
    ...(choice.threads ? { threads: choice.threads } : {}),
    ...(choice.onNotice ? { onNotice: choice.onNotice } : {}),
  });
}

/** A chosen task and why. */
export interface TaskChoice {
  /** Task name, or undefined for single-task models. */
  readonly task: string | undefined;
  /** Human-readable reason, printed to stderr when the task was not given. */
  readonly note?: string;
}

/**
 * The task to evaluate: the one asked for; else {@link Potential.defaultTask} (the model's only
 * task, or by structure: periodic → 'omat'/'metal'/'oc20'…, molecule → 'omol'/'mol').
 * @throws EquiforceError when no rule applies (the message lists the model's tasks).
 */
export function chooseTask(potential: Potential, structure: Structure, asked: string | undefined): TaskChoice {
  const tasks = potential.tasks;
  if (asked !== undefined) return { task: asked };
  if (tasks.length <= 1) return { task: tasks[0] };
  const task = potential.defaultTask(structure);
  if (!task) throw new EquiforceError('missing-task', `this model has several tasks (${tasks.join(', ')}); choose one with --task`);
  const why = structure.isPeriodic ? 'periodic structure' : 'molecule (no periodic axes)';
  return { task, note: `task: ${task} (chosen for a ${why}; pass --task to change; model tasks: ${tasks.join(', ')})` };
}
