/**
 * The `equiforce` command line: subcommand dispatch, help, and the error policy (user mistakes
 * print one line and exit with status 2; unexpected failures print the stack and exit 1).
 *
 * @module
 */
import { EquiforceError } from '../errors.js';
import { formatHelp, parseArgs, type CommandSpec, type ParsedArgs } from './args.js';
import { embedCommand, embedSpec } from './commands/embed.js';
import { energyCommand, energySpec } from './commands/energy.js';
import { mdCommand, mdSpec } from './commands/md.js';
import { plotCommand, plotSpec } from './commands/plot.js';
import { relaxCommand, relaxSpec } from './commands/relax.js';
import type { CliContext } from './context.js';
import { DEFAULT_MODEL_DIR } from './model.js';

const COMMANDS: readonly { spec: CommandSpec; run: (args: ParsedArgs, ctx: CliContext) => Promise<number> }[] = [
  { spec: energySpec, run: energyCommand },
  { spec: mdSpec, run: mdCommand },
  { spec: relaxSpec, run: relaxCommand },
  { spec: embedSpec, run: embedCommand },
  { spec: plotSpec, run: plotCommand },
];

/** The top-level `--help` text. */
export function mainHelp(): string {
  const width = Math.max(...COMMANDS.map((c) => c.spec.name.length)) + 4;
  return [
    'equiforce — machine-learning interatomic potentials (eSEN / UMA) from the command line',
    '',
    'usage: equiforce <command> [FILE] [options]      (equiforce <command> --help for its options)',
    '',
    'commands:',
    ...COMMANDS.map((c) => `  ${c.spec.name.padEnd(width)}${c.spec.summary}`),
    '',
    `model: --model DIR (a folder with model.onnx + model.json); default ${DEFAULT_MODEL_DIR}`,
    'units: Å, fs, K, amu, eV, eV/Å, eV/Å³ (GPa where noted)',
  ].join('\n');
}

/**
 * Run the command line with `argv` (without `node` and the script) and return the exit status.
 * @param ctx output functions and the abort signal (Ctrl-C).
 */
export async function runCli(argv: readonly string[], ctx: CliContext): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    ctx.out(mainHelp());
    return name === undefined ? 2 : 0;
  }
  if (name === '--version' || name === '-V') {
    ctx.out('equiforce 0.1.0');
    return 0;
  }
  const command = COMMANDS.find((c) => c.spec.name === name);
  try {
    if (!command) throw new EquiforceError('unknown-command', `unknown command "${name}" (commands: ${COMMANDS.map((c) => c.spec.name).join(', ')}; see equiforce --help)`);
    const args = parseArgs(command.spec, rest);
    if (args.help) {
      ctx.out(formatHelp(command.spec));
      return 0;
    }
    return await command.run(args, ctx);
  } catch (e) {
    if (e instanceof EquiforceError) {
      ctx.err(`equiforce: error: ${e.message}`);
      return 2;
    }
    throw e;
  }
}
