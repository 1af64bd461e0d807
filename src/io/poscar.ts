/**
 * VASP POSCAR / CONTCAR reading and POSCAR writing.
 *
 * Reads VASP 5 files (species line before the counts) and VASP 4 files (no species
 * line: the symbols come from `options.symbols`, or, like ASE, from the comment line
 * when it lists exactly one valid symbol per count). The scale line may be one
 * positive factor, a negative number (the target cell volume in Å³, as VASP defines
 * it), or three per-axis factors. Direct and Cartesian coordinates are supported;
 * a "Selective dynamics" line and the per-atom T/F flags are accepted and kept as the
 * boolean per-atom array `selective_dynamics` (3 per atom, true = may move). Anything
 * after the positions (CONTCAR velocities, predictor-corrector data) is ignored.
 *
 * The structure is periodic along all axes.
 *
 * @module
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { ArgumentError, ParseError, StructureError } from '../errors.js';
import { cartesianToFractional, cellDeterminant } from '../geometry/cell.js';
import { symbolOf, tryAtomicNumberOf } from '../structure/elements.js';
import { Structure, type PerAtomArray } from '../structure/structure.js';
import { formatFloatWith, parseFloatToken, parseIntToken, splitLines, tokens } from './text.js';

/** Options of the POSCAR reader. */
export interface PoscarReadOptions {
  /** Name of the source (usually the file path), used in error messages. */
  readonly source?: string;
  /** One chemical symbol per species count, for VASP 4 files without a species line. */
  readonly symbols?: readonly string[];
}

/** Options of the POSCAR writer. */
export interface PoscarWriteOptions {
  /** Write direct (fractional) coordinates instead of Cartesian Å (default false). */
  readonly direct?: boolean;
  /** Comment (first) line; default: `info.comment` if it is a string, else the formula. */
  readonly comment?: string;
  /** Decimals for cell and coordinates; default: shortest round-trip form (exact on reading). */
  readonly decimals?: number;
}

/** Species label → element: VASP 5.4+ may write POTCAR names like 'Fe_pv' or 'Fe/hash'. */
function speciesToZ(label: string): number | undefined {
  const base = label.split(/[_/]/)[0];
  return tryAtomicNumberOf(base);
}

/**
 * Parse the text of a POSCAR/CONTCAR file.
 * @throws ParseError naming the line for malformed input (bad numbers, wrong counts,
 *   unknown species, missing lines).
 */
export function parsePoscar(text: string, options: PoscarReadOptions = {}): Structure {
  const source = options.source;
  const lines = splitLines(text);
  let ln = 0; // index of the next line
  const next = (what: string): string => {
    if (ln >= lines.length) throw new ParseError(`unexpected end of file: expected ${what}`, ln + 1, source);
    return lines[ln++];
  };
  const numbersOn = (line: string, count: number, what: string): number[] => {
    const parts = tokens(line);
    if (parts.length < count) {
      throw new ParseError(`${what}: expected ${count} numbers, found ${parts.length}`, ln, source);
    }
    return parts.slice(0, count).map((t) => {
      const x = parseFloatToken(t);
      if (x === undefined || !Number.isFinite(x)) throw new ParseError(`${what}: bad number ${JSON.stringify(t)}`, ln, source);
      return x;
    });
  };

  const comment = next('the comment line').trim();

  // Scale: one factor, a negative volume, or three per-axis factors.
  const scaleParts = tokens(next('the scale factor'));
  const nScale = scaleParts.length >= 3 && scaleParts.slice(0, 3).every((t) => parseFloatToken(t) !== undefined) ? 3 : 1;
  const scale = numbersOn(scaleParts.join(' '), nScale, 'scale factor');
  if (nScale === 3 && scale.some((s) => s <= 0)) {
    throw new ParseError('per-axis scale factors must be positive', ln, source);
  }
  if (nScale === 1 && scale[0] === 0) throw new ParseError('scale factor is zero', ln, source);

  const lattice: number[] = [];
  for (const axis of ['a', 'b', 'c']) lattice.push(...numbersOn(next(`lattice vector ${axis}`), 3, `lattice vector ${axis}`));

  // Per-axis (Cartesian x, y, z) factors applied to the lattice and to Cartesian coordinates.
  let axisScale: number[];
  if (nScale === 3) {
    axisScale = scale;
  } else if (scale[0] < 0) {
    // Negative scale = desired volume; VASP scales the lattice isotropically to reach it.
    const det = Math.abs(cellDeterminant(lattice));
    if (!(det > 0)) throw new ParseError('negative scale (volume) given but the lattice is singular', ln, source);
    const f = Math.cbrt(-scale[0] / det);
    axisScale = [f, f, f];
  } else {
    axisScale = [scale[0], scale[0], scale[0]];
  }
  const cell = lattice.map((x, k) => x * axisScale[k % 3]);

  // Species line (VASP 5) or counts (VASP 4).
  let line = next('the species or counts line');
  let speciesLine: string[] | undefined;
  let speciesLineNo = 0;
  if (parseIntToken(tokens(line)[0] ?? '') === undefined) {
    speciesLine = tokens(line);
    speciesLineNo = ln;
    line = next('the atom counts line');
  }
  const countsLineNo = ln;
  const countParts = tokens(line);
  const bang = countParts.findIndex((t) => t.includes('!'));
  const countTokens = bang >= 0 ? countParts.slice(0, bang) : countParts;
  const counts = countTokens.map((t) => {
    const c = parseIntToken(t);
    if (c === undefined || c < 0) throw new ParseError(`bad atom count ${JSON.stringify(t)}`, countsLineNo, source);
    return c;
  });
  if (counts.length === 0) throw new ParseError('no atom counts', countsLineNo, source);

  let species: number[];
  if (speciesLine !== undefined) {
    if (speciesLine.length < counts.length) {
      throw new ParseError(`${counts.length} atom counts but only ${speciesLine.length} species`, countsLineNo, source);
    }
    species = speciesLine.slice(0, counts.length).map((label) => {
      const z = speciesToZ(label);
      if (z === undefined) throw new ParseError(`unknown species ${JSON.stringify(label)}`, speciesLineNo, source);
      return z;
    });
  } else if (options.symbols !== undefined) {
    if (options.symbols.length !== counts.length) {
      throw new ParseError(
        `options.symbols has ${options.symbols.length} symbols but the file has ${counts.length} atom counts`,
        countsLineNo,
        source,
      );
    }
    species = options.symbols.map((label) => {
      const z = speciesToZ(label);
      if (z === undefined) throw new ParseError(`options.symbols: unknown species ${JSON.stringify(label)}`, countsLineNo, source);
      return z;
    });
  } else {
    // VASP 4 convention (also ASE's): the comment line lists the species.
    const fromComment = tokens(comment).map(speciesToZ);
    if (fromComment.length >= counts.length && fromComment.slice(0, counts.length).every((z) => z !== undefined)) {
      species = fromComment.slice(0, counts.length) as number[];
    } else {
      throw new ParseError(
        'VASP 4 file without a species line and no symbols on the comment line: pass options.symbols',
        countsLineNo,
        source,
      );
    }
  }

  line = next('the coordinate mode line (Direct or Cartesian)');
  let selective = false;
  if (/^\s*[sS]/.test(line)) {
    selective = true;
    line = next('the coordinate mode line (Direct or Cartesian)');
  }
  const mode = line.trim().charAt(0).toLowerCase();
  const cartesian = mode === 'c' || mode === 'k';

  const n = counts.reduce((a, b) => a + b, 0);
  const numbers = new Int32Array(n);
  let at = 0;
  counts.forEach((c, k) => {
    numbers.fill(species[k], at, at + c);
    at += c;
  });
  const coords = new Float64Array(3 * n);
  const flags: boolean[] = selective ? new Array<boolean>(3 * n) : [];
  for (let i = 0; i < n; i++) {
    const l = next(`coordinates of atom ${i + 1} of ${n}`);
    const xyz = numbersOn(l, 3, `atom ${i + 1} coordinates`);
    coords.set(xyz, 3 * i);
    if (selective) {
      const parts = tokens(l);
      for (let k = 0; k < 3; k++) {
        const f = parts[3 + k];
        if (f !== 'T' && f !== 'F') {
          throw new ParseError(`atom ${i + 1}: selective dynamics flag ${k + 1} is ${JSON.stringify(f ?? '')}, expected T or F`, ln, source);
        }
        flags[3 * i + k] = f === 'T';
      }
    }
  }

  const positions = new Float64Array(3 * n);
  for (let i = 0; i < n; i++) {
    const u = coords[3 * i];
    const v = coords[3 * i + 1];
    const w = coords[3 * i + 2];
    for (let d = 0; d < 3; d++) {
      positions[3 * i + d] = cartesian
        ? coords[3 * i + d] * axisScale[d] // Cartesian coordinates are scaled like the lattice
        : u * cell[d] + v * cell[3 + d] + w * cell[6 + d];
    }
  }

  const arrays: Record<string, PerAtomArray> = {};
  if (selective) arrays.selective_dynamics = { type: 'bool', components: 3, data: flags };
  try {
    return new Structure({
      numbers,
      positions,
      cell,
      pbc: [true, true, true],
      info: comment === '' ? {} : { comment },
      arrays,
    });
  } catch (e) {
    if (e instanceof StructureError) throw new ParseError(e.message, 3, source);
    throw e;
  }
}

/**
 * Read a POSCAR/CONTCAR file.
 * @throws ParseError naming the file and line for malformed input.
 */
export function readPoscar(path: string, options: Omit<PoscarReadOptions, 'source'> = {}): Structure {
  return parsePoscar(readFileSync(path, 'utf8'), { ...options, source: path });
}

/**
 * Format a structure as a VASP 5 POSCAR (scale 1, species and counts lines, Direct or
 * Cartesian). Atoms keep their order: consecutive runs of one element become one
 * species group, so an element may appear in several groups (VASP accepts that).
 * A boolean `selective_dynamics` per-atom array (3 per atom) is written as
 * "Selective dynamics" flags.
 * @throws ArgumentError when the structure has no full 3D cell.
 */
export function formatPoscar(structure: Structure, options: PoscarWriteOptions = {}): string {
  const s = structure;
  if (!(s.volume > 0)) {
    throw new ArgumentError('POSCAR needs a full 3D cell (three nonzero, independent cell vectors)');
  }
  const fmt = (x: number): string => formatFloatWith(x, options.decimals);
  const runs: { z: number; count: number }[] = [];
  for (const z of s.numbers) {
    const last = runs[runs.length - 1];
    if (last !== undefined && last.z === z) last.count++;
    else runs.push({ z, count: 1 });
  }
  const infoComment = typeof s.info.comment === 'string' ? s.info.comment : undefined;
  const comment = (options.comment ?? infoComment ?? s.formula).replace(/[\r\n]+/g, ' ');
  const out: string[] = [comment, '1.0'];
  for (let k = 0; k < 3; k++) out.push(`  ${fmt(s.cell[3 * k])} ${fmt(s.cell[3 * k + 1])} ${fmt(s.cell[3 * k + 2])}`);
  out.push('  ' + runs.map((r) => symbolOf(r.z)).join(' '));
  out.push('  ' + runs.map((r) => String(r.count)).join(' '));
  const sd = s.arrays.selective_dynamics;
  const selective = sd !== undefined && sd.type === 'bool' && sd.components === 3;
  if (selective) out.push('Selective dynamics');
  out.push(options.direct ? 'Direct' : 'Cartesian');
  const coords = options.direct ? cartesianToFractional(s.positions, s.cell) : s.positions;
  for (let i = 0; i < s.length; i++) {
    let line = `  ${fmt(coords[3 * i])} ${fmt(coords[3 * i + 1])} ${fmt(coords[3 * i + 2])}`;
    if (selective) {
      const f = sd.data as readonly boolean[];
      line += ` ${f[3 * i] ? 'T' : 'F'} ${f[3 * i + 1] ? 'T' : 'F'} ${f[3 * i + 2] ? 'T' : 'F'}`;
    }
    out.push(line);
  }
  return out.join('\n') + '\n';
}

/** Write a structure to a POSCAR file (replacing it). */
export function writePoscar(path: string, structure: Structure, options: PoscarWriteOptions = {}): void {
  writeFileSync(path, formatPoscar(structure, options));
}
