/**
 * Plain XYZ: per frame, the atom count, a free comment line, then one
 * `symbol x y z` line per atom (Å). Reading accepts atomic numbers in place of
 * symbols and ignores extra columns; the comment is kept as `info.comment`.
 * Plain XYZ has no cell, so structures read from it are molecules (pbc all false).
 * Use the extended XYZ functions for cells, energies, forces and other data.
 *
 * @module
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { ArgumentError, ParseError } from '../errors.js';
import { isValidAtomicNumber, symbolOf, tryAtomicNumberOf } from '../structure/elements.js';
import { Structure } from '../structure/structure.js';
import { formatFloatWith, parseFloatToken, parseIntToken, splitLines, tokens } from './text.js';

/** Options of the plain XYZ reader. */
export interface XyzReadOptions {
  /** Name of the source (usually the file path), used in error messages. */
  readonly source?: string;
}

/** Options of the plain XYZ writer. */
export interface XyzWriteOptions {
  /** Comment line for every frame; default: the frame's `info.comment` when it is a string, else empty. */
  readonly comment?: string;
  /** Decimals for coordinates; default: shortest round-trip form (exact on reading). */
  readonly decimals?: number;
}

/**
 * Parse plain XYZ text (one or more frames).
 * @throws ParseError naming the line: bad atom count, unknown element, bad number,
 *   truncated frame.
 */
export function parseXyz(text: string, options: XyzReadOptions = {}): Structure[] {
  const source = options.source;
  const lines = splitLines(text);
  const frames: Structure[] = [];
  let ln = 0;
  while (ln < lines.length) {
    if (lines[ln].trim() === '') {
      ln++;
      continue;
    }
    const headerNo = ln + 1;
    const n = parseIntToken(lines[ln].trim());
    if (n === undefined || n < 0) {
      throw new ParseError(`expected the atom count of a frame, found ${JSON.stringify(lines[ln].trim())}`, headerNo, source);
    }
    if (ln + 1 + n >= lines.length) {
      throw new ParseError(
        `truncated frame: the count on line ${headerNo} announces ${n} atoms but only ${Math.max(0, lines.length - ln - 2)} lines follow the comment`,
        lines.length + 1,
        source,
      );
    }
    const comment = lines[ln + 1].trim();
    ln += 2;
    const numbers = new Int32Array(n);
    const positions = new Float64Array(3 * n);
    for (let i = 0; i < n; i++, ln++) {
      const parts = tokens(lines[ln]);
      if (parts.length < 4) {
        throw new ParseError(`atom ${i + 1} of ${n}: expected "symbol x y z", found ${parts.length} columns`, ln + 1, source);
      }
      const asInt = parseIntToken(parts[0]);
      const z = asInt !== undefined ? (isValidAtomicNumber(asInt) ? asInt : undefined) : tryAtomicNumberOf(parts[0]);
      if (z === undefined) throw new ParseError(`atom ${i + 1}: unknown element ${JSON.stringify(parts[0])}`, ln + 1, source);
      numbers[i] = z;
      for (let d = 0; d < 3; d++) {
        const x = parseFloatToken(parts[1 + d]);
        if (x === undefined || !Number.isFinite(x)) {
          throw new ParseError(`atom ${i + 1}: bad coordinate ${JSON.stringify(parts[1 + d])}`, ln + 1, source);
        }
        positions[3 * i + d] = x;
      }
    }
    frames.push(new Structure({ numbers, positions, info: comment === '' ? {} : { comment } }));
  }
  return frames;
}

/** Read every frame of a plain XYZ file. */
export function readXyz(path: string): Structure[] {
  return parseXyz(readFileSync(path, 'utf8'), { source: path });
}

/**
 * Format frames as plain XYZ (symbols and Cartesian positions only; cell, charge and
 * other data are not representable and are dropped).
 * @throws ArgumentError when the comment contains a line break.
 */
export function formatXyz(frames: Structure | readonly Structure[], options: XyzWriteOptions = {}): string {
  const list = frames instanceof Structure ? [frames] : frames;
  let out = '';
  for (const s of list) {
    const comment = options.comment ?? (typeof s.info.comment === 'string' ? s.info.comment : '');
    if (/[\r\n]/.test(comment)) throw new ArgumentError('XYZ comment line must not contain line breaks');
    out += `${s.length}\n${comment}\n`;
    for (let i = 0; i < s.length; i++) {
      const p = s.positions;
      out +=
        `${symbolOf(s.numbers[i]).padEnd(2)} ${formatFloatWith(p[3 * i], options.decimals)} ` +
        `${formatFloatWith(p[3 * i + 1], options.decimals)} ${formatFloatWith(p[3 * i + 2], options.decimals)}\n`;
    }
  }
  return out;
}

/** Write frames to a plain XYZ file (replacing it). */
export function writeXyz(path: string, frames: Structure | readonly Structure[], options: XyzWriteOptions = {}): void {
  writeFileSync(path, formatXyz(frames, options));
}
