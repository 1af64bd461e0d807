/**
 * A small, strict command-line parser: positionals plus `--name value`, `--name=value` and
 * boolean `--flag` options, each declared with a type and help text. Unknown options, missing
 * values and malformed numbers are user errors ({@link ArgumentError}), never stack traces.
 *
 * @module
 */
import { ArgumentError } from '../errors.js';

/** Type of an option's value. */
export type OptionType = 'string' | 'number' | 'integer' | 'boolean';

/** Declaration of one `--option`. */
export interface OptionSpec {
  /** Value type; booleans take no value. */
  readonly type: OptionType;
  /** One-line help text (with units). */
  readonly help: string;
  /** Default shown in the help and used when absent. */
  readonly default?: string | number | boolean;
  /** Allowed values for strings. */
  readonly choices?: readonly string[];
  /** Placeholder in the usage line, e.g. 'FS'. */
  readonly metavar?: string;
}

/** Declaration of a subcommand. */
export interface CommandSpec {
  /** Subcommand name. */
  readonly name: string;
  /** One-line summary. */
  readonly summary: string;
  /** Positional argument names, e.g. ['FILE']. */
  readonly positionals: readonly string[];
  /** Options by name (without the leading dashes). */
  readonly options: Readonly<Record<string, OptionSpec>>;
  /** Extra help text (examples). */
  readonly details?: string;
}

/** Parsed arguments. */
export interface ParsedArgs {
  /** Positional values in order. */
  readonly positionals: string[];
  /** Option values (defaults filled in), by option name. */
  readonly options: Record<string, string | number | boolean | undefined>;
  /** True when --help / -h was given. */
  readonly help: boolean;
}

/**
 * Parse `argv` (the arguments after the subcommand) against a command spec.
 * @throws ArgumentError naming the problem (unknown option, missing value, bad number, wrong count of positionals).
 */
export function parseArgs(spec: CommandSpec, argv: readonly string[]): ParsedArgs {
  const positionals: string[] = [];
  const options: Record<string, string | number | boolean | undefined> = {};
  for (const [name, o] of Object.entries(spec.options)) options[name] = o.default;
  let help = false;
  for (let k = 0; k < argv.length; k++) {
    const arg = argv[k];
    if (arg === '--help' || arg === '-h') {
      help = true;
      continue;
    }
    if (!arg.startsWith('--') || arg === '--') {
      positionals.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const name = arg.slice(2, eq >= 0 ? eq : undefined);
    const o = spec.options[name];
    if (!o) {
      throw new ArgumentError(`unknown option --${name} for "equiforce ${spec.name}" (see equiforce ${spec.name} --help)`, 'unknown-option');
    }
    if (o.type === 'boolean') {
      if (eq >= 0) throw new ArgumentError(`--${name} is a flag and takes no value`, 'bad-option');
      options[name] = true;
      continue;
    }
    let raw: string;
    if (eq >= 0) raw = arg.slice(eq + 1);
    else {
      if (k + 1 >= argv.length) throw new ArgumentError(`--${name} needs a value (${o.help})`, 'missing-value');
      raw = argv[++k];
    }
    options[name] = convert(name, o, raw);
  }
  if (!help && positionals.length !== spec.positionals.length) {
    throw new ArgumentError(
      `"equiforce ${spec.name}" expects ${spec.positionals.length === 0 ? 'no file argument' : spec.positionals.join(' ')}, got ${positionals.length === 0 ? 'none' : positionals.map((p) => JSON.stringify(p)).join(' ')} (see equiforce ${spec.name} --help)`,
      'bad-positionals',
    );
  }
  return { positionals, options, help };
}

function convert(name: string, o: OptionSpec, raw: string): string | number {
  if (o.type === 'string') {
    if (o.choices && !o.choices.includes(raw)) throw new ArgumentError(`--${name} must be one of ${o.choices.join(', ')}, got ${JSON.stringify(raw)}`, 'bad-option');
    return raw;
  }
  const v = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(v)) throw new ArgumentError(`--${name} needs a number, got ${JSON.stringify(raw)}`, 'bad-option');
  if (o.type === 'integer' && !Number.isInteger(v)) throw new ArgumentError(`--${name} needs a whole number, got ${JSON.stringify(raw)}`, 'bad-option');
  return v;
}

/** The `--help` text of a command. */
export function formatHelp(spec: CommandSpec): string {
  const lines = [`equiforce ${spec.name} — ${spec.summary}`, '', `usage: equiforce ${spec.name} ${spec.positionals.join(' ')} [options]`, '', 'options:'];
  const entries = Object.entries(spec.options).map(([name, o]) => {
    const left = `  --${name}${o.type === 'boolean' ? '' : ` ${o.metavar ?? (o.type === 'string' ? 'VALUE' : 'N')}`}`;
    const def = o.default === undefined || o.type === 'boolean' ? '' : ` (default ${o.default})`;
    const choices = o.choices ? ` [${o.choices.join('|')}]` : '';
    return [left, `${o.help}${choices}${def}`] as const;
  });
  entries.push(['  -h, --help', 'show this help']);
  const width = Math.max(...entries.map(([l]) => l.length)) + 2;
  for (const [l, r] of entries) lines.push(l.padEnd(width) + r);
  if (spec.details) lines.push('', spec.details);
  return lines.join('\n');
}
