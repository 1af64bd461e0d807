/**
 * Typed errors. Every error equiforce throws for bad input is an {@link EquiforceError}
 * with a stable machine-readable `code`, so callers can branch on the problem without
 * parsing messages, and a message that names the problem for people.
 *
 * @module
 */

/** Base class of every error equiforce throws on purpose. */
export class EquiforceError extends Error {
  /** Stable identifier of the problem, e.g. `'non-finite-position'`. */
  readonly code: string;

  constructor(code: string, message: string) {
    super(message);
    this.name = new.target.name;
    this.code = code;
  }
}

/** Problem codes of {@link StructureError}. */
export type StructureErrorCode =
  | 'length-mismatch'
  | 'non-finite-position'
  | 'non-finite-cell'
  | 'unknown-element'
  | 'pbc-without-cell'
  | 'singular-cell'
  | 'invalid-charge'
  | 'invalid-spin'
  | 'empty-structure';

/** A structure (atoms, positions, cell, pbc, charge, spin) that is not physically valid. */
export class StructureError extends EquiforceError {
  declare readonly code: StructureErrorCode;
  constructor(code: StructureErrorCode, message: string) {
    super(code, message);
  }
}

/** An option or argument outside its allowed range (e.g. a negative cutoff). */
export class ArgumentError extends EquiforceError {
  constructor(message: string, code = 'invalid-argument') {
    super(code, message);
  }
}

/** A structure or trajectory file that cannot be parsed; names the file (if known) and line. */
export class ParseError extends EquiforceError {
  /** 1-based line number where the problem was found. */
  readonly line: number;
  /** File name or description of the source, when known. */
  readonly source: string | undefined;

  constructor(message: string, line: number, source?: string) {
    super('parse-error', `${source ? `${source}:` : ''}line ${line}: ${message}`);
    this.line = line;
    this.source = source;
  }
}

/** A model folder, model file or model metadata that is missing, malformed or not ours. */
export class ModelError extends EquiforceError {
  constructor(message: string, code = 'invalid-model') {
    super(code, message);
  }
}
