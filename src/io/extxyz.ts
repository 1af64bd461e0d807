/**
 * Extended XYZ reading and writing, compatible with ASE's `ase.io.extxyz`.
 *
 * A frame is: a line with the atom count N, a comment line of `key=value` pairs
 * (`Lattice="ax ay az bx by bz cx cy cz"`, `Properties=species:S:1:pos:R:3:...`,
 * `pbc="T T F"`, `energy=...`, ...), then N atom lines whose columns follow
 * `Properties` (types R real, I integer, S string, L logical T/F).
 *
 * Mapping to {@link Structure}: `species` (or `Z`) → `numbers`, `pos` → `positions`,
 * `Lattice` → `cell` (rows a, b, c; ASE writes it in this order), `pbc` → `pbc`
 * (all true when absent but `Lattice` is present, like ASE), integer `charge` and
 * `spin` info keys → `charge` and `spin`, every other per-atom column → `arrays`
 * under its file name (`forces`, `velocities`, `charge`, ...), every other key →
 * `info` (`energy` in eV, `stress` as 9 or 6 numbers in eV/Å³, strings, booleans).
 * Number lists are kept flat and in file order: a 9-number `stress` or `virial` is
 * what ASE reads column-major (M[i][j] = flat[i + 3j]), which only matters for
 * non-symmetric tensors; a 6-number stress is Voigt order xx yy zz yz xz xy.
 * A comment line without any `=` (plain XYZ) is kept as `info.comment`.
 *
 * Numbers are written in shortest round-trip form by default, so writing and reading
 * back reproduces every double exactly.
 *
 * @module
 */
import { closeSync, createReadStream, openSync, readFileSync, writeFileSync, writeSync } from 'node:fs';
import { ArgumentError, EquiforceError, ParseError, StructureError } from '../errors.js';
import { symbolOf, tryAtomicNumberOf } from '../structure/elements.js';
import { Structure, type InfoValue, type PerAtomArray } from '../structure/structure.js';
import { convertValue, formatValue, quoteIfNeeded, splitKeyValues } from './keyvalue.js';
import { formatFloatWith, parseFloatToken, parseIntToken, splitLines, streamLines, tokens } from './text.js';

/** Options of the extended XYZ readers. */
export interface ExtxyzReadOptions {
  /** Name of the source (usually the file path), used in error messages. */
  readonly source?: string;
}

/** One column group of a `Properties` specification. */
interface Column {
  readonly name: string;
  readonly type: 'R' | 'I' | 'S' | 'L';
  readonly count: number;
}

const DEFAULT_PROPERTIES = 'species:S:1:pos:R:3';
// Guard against a corrupted count line allocating gigabytes before the truncation is noticed.
const MAX_ATOMS = 2 ** 27;
// Keys the reader turns into Structure fields; the writer writes them from the fields.
const RESERVED_KEYS = new Set(['Lattice', 'Properties', 'pbc', 'charge', 'spin']);
const RESERVED_COLUMNS = new Set(['species', 'pos', 'Z']);

function parseProperties(spec: string, line: number, source: string | undefined): Column[] {
  const fields = spec.split(':');
  if (fields.length % 3 !== 0 || fields.length === 0) {
    throw new ParseError(
      `Properties=${spec} is not a list of name:type:count triplets`,
      line,
      source,
    );
  }
  const columns: Column[] = [];
  for (let k = 0; k < fields.length; k += 3) {
    const [name, type, countText] = [fields[k], fields[k + 1], fields[k + 2]];
    if (type !== 'R' && type !== 'I' && type !== 'S' && type !== 'L') {
      throw new ParseError(`Properties: column ${name} has unknown type ${JSON.stringify(type)} (expected R, I, S or L)`, line, source);
    }
    const count = parseIntToken(countText);
    if (count === undefined || count < 1) {
      throw new ParseError(`Properties: column ${name} has bad count ${JSON.stringify(countText)}`, line, source);
    }
    if (columns.some((c) => c.name === name)) {
      throw new ParseError(`Properties: column ${name} appears twice`, line, source);
    }
    columns.push({ name, type, count });
  }
  const pos = columns.find((c) => c.name === 'pos');
  if (pos === undefined || pos.type !== 'R' || pos.count !== 3) {
    throw new ParseError(`Properties=${spec} has no pos:R:3 column`, line, source);
  }
  const species = columns.find((c) => c.name === 'species');
  const z = columns.find((c) => c.name === 'Z');
  if (species === undefined && z === undefined) {
    throw new ParseError(`Properties=${spec} has neither a species nor a Z column`, line, source);
  }
  if (species !== undefined && (species.type !== 'S' || species.count !== 1)) {
    throw new ParseError(`Properties: species must be species:S:1`, line, source);
  }
  if (z !== undefined && (z.type !== 'I' || z.count !== 1)) {
    throw new ParseError(`Properties: Z must be Z:I:1`, line, source);
  }
  return columns;
}

/** Per-column storage while the atom lines of one frame are read. */
type Buffer =
  | { type: 'R'; data: Float64Array }
  | { type: 'I'; data: Int32Array }
  | { type: 'S'; data: string[] }
  | { type: 'L'; data: boolean[] };

function makeBuffer(c: Column, n: number): Buffer {
  switch (c.type) {
    case 'R':
      return { type: 'R', data: new Float64Array(n * c.count) };
    case 'I':
      return { type: 'I', data: new Int32Array(n * c.count) };
    case 'S':
      return { type: 'S', data: new Array<string>(n * c.count) };
    case 'L':
      return { type: 'L', data: new Array<boolean>(n * c.count) };
  }
}

interface FrameHeader {
  readonly natoms: number;
  readonly headerLine: number;
  readonly commentLine: number;
  readonly info: Record<string, InfoValue>;
  readonly columns: Column[];
  readonly buffers: Buffer[];
  readonly width: number;
  readonly strictWidth: boolean;
  /** Index of the species column checked per atom line, or -1 (no species, or Z takes precedence). */
  readonly speciesIdx: number;
  cell: number[] | undefined;
  pbc: boolean[] | undefined;
  charge: number;
  spin: number;
}

/**
 * Incremental extended-XYZ parser: feed it lines one at a time with {@link push};
 * it returns each {@link Structure} as soon as its last atom line arrives. The
 * building block of both the synchronous and the streaming readers, so they accept
 * exactly the same files.
 */
export class ExtxyzParser {
  private readonly source: string | undefined;
  private lineNo = 0;
  private frame: FrameHeader | undefined;
  private pendingHeader: { natoms: number; line: number } | undefined;
  private atom = 0;

  /** @param options `source` names the file in error messages. */
  constructor(options: ExtxyzReadOptions = {}) {
    this.source = options.source;
  }

  /** 1-based number of the last line pushed. */
  get line(): number {
    return this.lineNo;
  }

  /**
   * Consume the next line (without its line end).
   * @returns the completed frame when this line was its last atom line.
   * @throws ParseError naming the line for any malformed input.
   */
  push(line: string): Structure | undefined {
    this.lineNo++;
    if (this.frame !== undefined) return this.atomLine(line);
    if (this.pendingHeader !== undefined) {
      const natoms = this.commentLine(line);
      return natoms === 0 ? this.finishFrame() : undefined;
    }
    const t = line.trim();
    if (t === '') return undefined; // blank lines between frames and at the end are tolerated
    const n = parseIntToken(t);
    if (n === undefined || n < 0) {
      throw new ParseError(`expected the atom count of a frame, found ${JSON.stringify(truncate(t))}`, this.lineNo, this.source);
    }
    if (n > MAX_ATOMS) {
      throw new ParseError(`atom count ${n} is implausibly large (more than ${MAX_ATOMS})`, this.lineNo, this.source);
    }
    this.pendingHeader = { natoms: n, line: this.lineNo };
    return undefined;
  }

  /**
   * Signal the end of input.
   * @throws ParseError when the input ended inside a frame (truncated frame).
   */
  end(): void {
    if (this.frame !== undefined) {
      throw new ParseError(
        `truncated frame: expected ${this.frame.natoms} atom lines after line ${this.frame.commentLine}, found ${this.atom}`,
        this.lineNo + 1,
        this.source,
      );
    }
    if (this.pendingHeader !== undefined) {
      throw new ParseError(`truncated frame: missing the comment line after the atom count`, this.lineNo + 1, this.source);
    }
  }

  /** Parse the comment line and start the frame; returns its atom count. */
  private commentLine(line: string): number {
    const header = this.pendingHeader as { natoms: number; line: number };
    this.pendingHeader = undefined;
    const info: Record<string, InfoValue> = {};
    let properties = DEFAULT_PROPERTIES;
    let strictWidth = false;
    let cell: number[] | undefined;
    let pbc: boolean[] | undefined;
    let charge = 0;
    let spin = 0;

    const trimmed = line.trim();
    const pairs = trimmed.includes('=') ? splitKeyValues(trimmed) : [];
    if (typeof pairs === 'string') throw new ParseError(`comment line: ${pairs}`, this.lineNo, this.source);
    if (!trimmed.includes('=')) {
      if (trimmed !== '') info.comment = trimmed;
    }
    for (const { key, value } of pairs) {
      if (key === 'Properties') {
        if (value === undefined) throw new ParseError('Properties has no value', this.lineNo, this.source);
        properties = value;
        strictWidth = true;
        continue;
      }
      const v = convertValue(value);
      if (key === 'Lattice') {
        if (!Array.isArray(v) || v.length !== 9 || !v.every((x) => typeof x === 'number')) {
          throw new ParseError(`Lattice must hold 9 numbers, got ${JSON.stringify(value)}`, this.lineNo, this.source);
        }
        cell = v as number[];
      } else if (key === 'pbc') {
        pbc = this.parsePbc(v, value);
      } else if (key === 'charge') {
        if (typeof v !== 'number' || !Number.isInteger(v)) {
          throw new ParseError(`charge=${value} is not an integer total charge (e)`, this.lineNo, this.source);
        }
        charge = v;
      } else if (key === 'spin') {
        if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) {
          throw new ParseError(`spin=${value} is not a spin multiplicity (integer ≥ 1, or 0 for unset)`, this.lineNo, this.source);
        }
        spin = v;
      } else {
        info[key] = v;
      }
    }
    const columns = parseProperties(properties, this.lineNo, this.source);
    const width = columns.reduce((s, c) => s + c.count, 0);
    this.frame = {
      natoms: header.natoms,
      headerLine: header.line,
      commentLine: this.lineNo,
      info,
      columns,
      buffers: columns.map((c) => makeBuffer(c, header.natoms)),
      width,
      strictWidth,
      speciesIdx: columns.some((c) => c.name === 'Z') ? -1 : columns.findIndex((c) => c.name === 'species'),
      cell,
      pbc,
      charge,
      spin,
    };
    this.atom = 0;
    return header.natoms;
  }

  private parsePbc(v: InfoValue, raw: string | undefined): boolean[] {
    const asBool = (x: InfoValue): boolean | undefined =>
      typeof x === 'boolean' ? x : x === 0 || x === 1 ? x === 1 : undefined;
    if (!Array.isArray(v)) {
      const b = asBool(v);
      if (b !== undefined) return [b, b, b];
    } else if (v.length === 3) {
      const bs = v.map(asBool);
      if (bs.every((b) => b !== undefined)) return bs as boolean[];
    }
    throw new ParseError(`pbc must be three T/F values, got ${JSON.stringify(raw)}`, this.lineNo, this.source);
  }

  private atomLine(line: string): Structure | undefined {
    const f = this.frame as FrameHeader;
    const parts = tokens(line);
    const i = this.atom;
    if (parts.length < f.width || (f.strictWidth && parts.length !== f.width)) {
      // A line that is a bare integer most likely starts the next frame: the frame was cut short.
      const hint =
        parts.length === 1 && parseIntToken(parts[0]) !== undefined
          ? ` (frame has fewer atom lines than the count ${f.natoms} on line ${f.headerLine})`
          : '';
      throw new ParseError(
        `atom ${i + 1} of ${f.natoms}: expected ${f.width} columns, found ${parts.length}${hint}`,
        this.lineNo,
        this.source,
      );
    }
    let p = 0;
    for (let c = 0; c < f.columns.length; c++) {
      const col = f.columns[c];
      const buf = f.buffers[c];
      for (let k = 0; k < col.count; k++, p++) {
        const tok = parts[p];
        const at = i * col.count + k;
        switch (buf.type) {
          case 'R': {
            const x = parseFloatToken(tok);
            if (x === undefined) this.bad(`bad number ${JSON.stringify(tok)} in column ${col.name}`);
            if (col.name === 'pos' && !Number.isFinite(x)) this.bad(`atom ${i}: position is ${tok}`);
            buf.data[at] = x as number;
            break;
          }
          case 'I': {
            const x = parseIntToken(tok);
            if (x === undefined || x < -2147483648 || x > 2147483647) {
              this.bad(`bad integer ${JSON.stringify(tok)} in column ${col.name}`);
            }
            buf.data[at] = x as number;
            break;
          }
          case 'S':
            buf.data[at] = tok;
            break;
          case 'L':
            if (tok === 'T' || tok === 'True') buf.data[at] = true;
            else if (tok === 'F' || tok === 'False') buf.data[at] = false;
            else this.bad(`bad logical ${JSON.stringify(tok)} in column ${col.name} (expected T or F)`);
            break;
        }
      }
    }
    if (f.speciesIdx >= 0) {
      // Check species here, so the error points at the atom's own line.
      const sym = (f.buffers[f.speciesIdx].data as string[])[i];
      if (tryAtomicNumberOf(sym) === undefined) this.bad(`atom ${i}: unknown species ${JSON.stringify(sym)}`);
    }
    this.atom++;
    return this.atom === f.natoms ? this.finishFrame() : undefined;
  }

  private bad(message: string): never {
    throw new ParseError(message, this.lineNo, this.source);
  }

  private finishFrame(): Structure {
    const f = this.frame as FrameHeader;
    this.frame = undefined;
    const n = f.natoms;
    let numbers: ArrayLike<number> | undefined;
    let positions: Float64Array | undefined;
    const arrays: Record<string, PerAtomArray> = {};
    f.columns.forEach((col, c) => {
      const buf = f.buffers[c];
      if (col.name === 'pos') positions = buf.data as Float64Array;
      else if (col.name === 'Z') numbers = buf.data as Int32Array;
      else if (col.name === 'species') {
        if (!f.columns.some((x) => x.name === 'Z')) {
          numbers = (buf.data as string[]).map((s) => tryAtomicNumberOf(s) as number);
        }
      } else {
        arrays[col.name] = toPerAtom(buf, col.count);
      }
    });
    const pbc = f.pbc ?? (f.cell !== undefined ? [true, true, true] : [false, false, false]);
    if (f.cell === undefined && pbc.some((b) => b)) {
      throw new ParseError(`pbc=${pbc.map((b) => (b ? 'T' : 'F')).join(' ')} needs a Lattice, but the frame has none`, f.commentLine, this.source);
    }
    try {
      return new Structure({
        numbers: numbers ?? new Int32Array(n),
        positions: positions ?? new Float64Array(3 * n),
        cell: f.cell,
        pbc,
        charge: f.charge,
        spin: f.spin,
        info: f.info,
        arrays,
      });
    } catch (e) {
      if (e instanceof StructureError) {
        const line = e.code === 'unknown-element' ? f.commentLine + 1 + firstAtomIndex(e.message) : f.commentLine;
        throw new ParseError(e.message, line, this.source);
      }
      throw e;
    }
  }
}

function firstAtomIndex(message: string): number {
  const m = /atom (\d+)/.exec(message);
  return m ? Number(m[1]) : 0;
}

function truncate(s: string): string {
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

function toPerAtom(buf: Buffer, components: number): PerAtomArray {
  switch (buf.type) {
    case 'R':
      return { type: 'float', components, data: buf.data };
    case 'I':
      return { type: 'int', components, data: buf.data };
    case 'S':
      return { type: 'string', components, data: buf.data };
    case 'L':
      return { type: 'bool', components, data: buf.data };
  }
}

/**
 * Parse the text of an extended (or plain) XYZ file into its frames.
 * @throws ParseError with the line number for malformed input.
 */
export function parseExtxyz(text: string, options: ExtxyzReadOptions = {}): Structure[] {
  const parser = new ExtxyzParser(options);
  const frames: Structure[] = [];
  for (const line of splitLines(text)) {
    const s = parser.push(line);
    if (s !== undefined) frames.push(s);
  }
  parser.end();
  return frames;
}

/**
 * Read every frame of an extended XYZ file into memory (use {@link iterExtxyz} for
 * long trajectories).
 * @throws ParseError naming the file and line for malformed input.
 */
export function readExtxyz(path: string): Structure[] {
  return parseExtxyz(readFileSync(path, 'utf8'), { source: path });
}

/**
 * Stream the frames of an extended XYZ file or stream one at a time, reading line by
 * line with constant memory (one frame at a time), for trajectories larger than memory.
 *
 * @param input a file path, or a readable stream / async iterable of text or bytes.
 * @throws ParseError (from the iterator) naming the line for malformed input.
 */
export async function* iterExtxyz(
  input: string | AsyncIterable<string | Uint8Array>,
  options: ExtxyzReadOptions = {},
): AsyncGenerator<Structure, void, undefined> {
  const source = options.source ?? (typeof input === 'string' ? input : undefined);
  const stream = typeof input === 'string' ? createReadStream(input) : input;
  const parser = new ExtxyzParser({ source });
  try {
    for await (const line of streamLines(stream)) {
      const s = parser.push(line);
      if (s !== undefined) yield s;
    }
    parser.end();
  } finally {
    if (typeof input === 'string') (stream as ReturnType<typeof createReadStream>).destroy();
  }
}

/** Options of the extended XYZ writers. */
export interface ExtxyzWriteOptions {
  /**
   * Decimals for real per-atom columns and the lattice (like ASE's `%16.8f` with 8).
   * Default: shortest round-trip form, which reproduces every double exactly on reading.
   */
  readonly decimals?: number;
  /** Write the `info` keys (default true). `charge`, `spin`, `pbc` and `Lattice` come from the structure fields. */
  readonly writeInfo?: boolean;
  /** Names of the per-atom arrays to write, in order (default: all, in insertion order). */
  readonly columns?: readonly string[];
}

function columnType(a: PerAtomArray): 'R' | 'I' | 'S' | 'L' {
  return a.type === 'float' ? 'R' : a.type === 'int' ? 'I' : a.type === 'string' ? 'S' : 'L';
}

function checkColumnName(name: string): void {
  if (RESERVED_COLUMNS.has(name)) {
    throw new ArgumentError(`per-atom array name ${JSON.stringify(name)} is reserved in extended XYZ`);
  }
  if (name === '' || /[\s:"'=]/.test(name)) {
    throw new ArgumentError(`per-atom array name ${JSON.stringify(name)} cannot be written to extended XYZ (empty, or has whitespace, ':', '=' or quotes)`);
  }
}

/** The comment line of one frame (without line end). */
function commentLineOf(s: Structure, columnNames: readonly string[], options: ExtxyzWriteOptions): string {
  const parts: string[] = [];
  if (s.cell.some((x) => x !== 0)) {
    parts.push(`Lattice="${Array.from(s.cell, (x) => formatFloatWith(x, options.decimals)).join(' ')}"`);
  }
  const props = ['species:S:1', 'pos:R:3'];
  for (const name of columnNames) {
    const a = s.arrays[name];
    props.push(`${name}:${columnType(a)}:${a.components}`);
  }
  parts.push(`Properties=${props.join(':')}`);
  if (options.writeInfo ?? true) {
    for (const [key, value] of Object.entries(s.info)) {
      if (RESERVED_KEYS.has(key)) continue;
      if (key === '' || /[\r\n]/.test(key)) {
        throw new ArgumentError(`info key ${JSON.stringify(key)} cannot be written to extended XYZ (empty or has a line break)`);
      }
      parts.push(`${quoteIfNeeded(key)}=${formatValue(value)}`);
    }
  }
  if (s.charge !== 0) parts.push(`charge=${s.charge}`);
  if (s.spin !== 0) parts.push(`spin=${s.spin}`);
  parts.push(`pbc="${s.pbc.map((b) => (b ? 'T' : 'F')).join(' ')}"`);
  return parts.join(' ');
}

/** Format one frame as extended XYZ text (ending with a line end). */
function formatFrame(s: Structure, options: ExtxyzWriteOptions): string {
  const names = options.columns ?? Object.keys(s.arrays);
  for (const name of names) {
    checkColumnName(name);
    if (s.arrays[name] === undefined) throw new ArgumentError(`no per-atom array named ${JSON.stringify(name)} to write`);
  }
  const n = s.length;
  // Build the cells of each text column, then pad every column to a common width.
  const cols: string[][] = [];
  cols.push(Array.from(s.numbers, (z) => symbolOf(z)));
  for (let d = 0; d < 3; d++) {
    const col = new Array<string>(n);
    for (let i = 0; i < n; i++) col[i] = formatFloatWith(s.positions[3 * i + d], options.decimals);
    cols.push(col);
  }
  for (const name of names) {
    const a = s.arrays[name];
    for (let k = 0; k < a.components; k++) {
      const col = new Array<string>(n);
      for (let i = 0; i < n; i++) {
        const v = a.data[i * a.components + k];
        switch (a.type) {
          case 'float':
            col[i] = formatFloatWith(v as number, options.decimals);
            break;
          case 'int':
            col[i] = String(v);
            break;
          case 'bool':
            col[i] = v ? 'T' : 'F';
            break;
          case 'string': {
            const t = v as string;
            if (t === '' || /\s/.test(t)) {
              throw new ArgumentError(`per-atom string array ${name}: atom ${i} value ${JSON.stringify(t)} is empty or has whitespace`);
            }
            col[i] = t;
            break;
          }
        }
      }
      cols.push(col);
    }
  }
  const widths = cols.map((col) => col.reduce((w, x) => Math.max(w, x.length), 0));
  const lines: string[] = [String(n), commentLineOf(s, names, options)];
  for (let i = 0; i < n; i++) {
    let line = cols[0][i].padEnd(widths[0]);
    for (let c = 1; c < cols.length; c++) line += ' ' + cols[c][i].padStart(widths[c]);
    lines.push(line);
  }
  return lines.join('\n') + '\n';
}

/**
 * Format one structure or a list of frames as extended XYZ text, readable by ASE.
 * @throws ArgumentError for per-atom arrays that extended XYZ cannot hold.
 */
export function formatExtxyz(frames: Structure | readonly Structure[], options: ExtxyzWriteOptions = {}): string {
  const list = frames instanceof Structure ? [frames] : frames;
  return list.map((s) => formatFrame(s, options)).join('');
}

/** Write one structure or a list of frames to an extended XYZ file (replacing it). */
export function writeExtxyz(path: string, frames: Structure | readonly Structure[], options: ExtxyzWriteOptions = {}): void {
  writeFileSync(path, formatExtxyz(frames, options));
}

/**
 * Appending trajectory writer: writes one frame at a time (e.g. from molecular
 * dynamics) straight to the file, so nothing accumulates in memory.
 *
 * ```ts
 * const w = new ExtxyzWriter('md.extxyz');
 * for (...) w.write(frame);
 * w.close();
 * ```
 */
export class ExtxyzWriter {
  private fd: number | undefined;
  private readonly options: ExtxyzWriteOptions;
  /** The file this writer appends to. */
  readonly path: string;
  /** Number of frames written so far by this writer. */
  frames = 0;

  /**
   * Open `path` for writing.
   * @param options.append keep existing content and add frames after it (default false: truncate).
   */
  constructor(path: string, options: ExtxyzWriteOptions & { readonly append?: boolean } = {}) {
    this.path = path;
    this.fd = openSync(path, options.append ? 'a' : 'w');
    this.options = options;
  }

  /** Append one frame and hand it to the operating system immediately. */
  write(frame: Structure): void {
    if (this.fd === undefined) throw new EquiforceError('writer-closed', `extxyz writer for ${this.path} is closed`);
    writeSync(this.fd, formatFrame(frame, this.options));
    this.frames++;
  }

  /** Close the file; further writes throw. Safe to call twice. */
  close(): void {
    if (this.fd !== undefined) {
      closeSync(this.fd);
      this.fd = undefined;
    }
  }
}

/** Append frames to an extended XYZ file, creating it when missing. */
export function appendExtxyz(path: string, frames: Structure | readonly Structure[], options: ExtxyzWriteOptions = {}): void {
  const w = new ExtxyzWriter(path, { ...options, append: true });
  try {
    for (const f of frames instanceof Structure ? [frames] : frames) w.write(f);
  } finally {
    w.close();
  }
}
