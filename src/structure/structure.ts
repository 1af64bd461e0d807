/**
 * The {@link Structure} type: atoms, positions, cell, periodicity, total charge, spin
 * multiplicity, free-form per-frame info and extra per-atom columns.
 *
 * @module
 */
import { StructureError } from '../errors.js';
import { SINGULAR_TOLERANCE, cellInverse, cellVolume, cellVectorIsZero, completeCell } from '../geometry/cell.js';
import { MAX_ATOMIC_NUMBER, isValidAtomicNumber, massOf, symbolOf, tryAtomicNumberOf } from './elements.js';

/** Periodic boundary conditions along the a, b, c cell vectors. */
export type Pbc = readonly [boolean, boolean, boolean];

/**
 * A JSON-like value stored in {@link Structure.info}: numbers, strings, booleans,
 * arrays and objects of them (e.g. `energy` in eV, `stress` in eV/Å³, `comment`).
 */
export type InfoValue =
  | string
  | number
  | boolean
  | null
  | readonly InfoValue[]
  | { readonly [key: string]: InfoValue };

/** Free-form per-structure metadata, e.g. `{ energy: -3.7, config_type: 'bulk' }`. */
export type Info = Readonly<Record<string, InfoValue>>;

/**
 * An extra per-atom column (forces, velocities, tags, labels, ...). `data` holds
 * `components` values per atom, atom-major (atom i's values are
 * `data[i*components .. i*components+components-1]`), so its length is N·components.
 * `type` names the element type and matches extended XYZ's R/I/S/L column types.
 */
export type PerAtomArray = FloatColumn | IntColumn | BoolColumn | StringColumn;

/** Fields shared by every {@link PerAtomArray} variant. */
export interface ColumnBase {
  /** Values per atom (≥ 1), e.g. 3 for forces or velocities. */
  readonly components: number;
}

/** A real-valued per-atom column (extended XYZ type R), e.g. forces in eV/Å. */
export interface FloatColumn extends ColumnBase {
  /** Element type tag. */
  readonly type: 'float';
  /** N·components values, atom-major. */
  readonly data: Float64Array;
}

/** An integer per-atom column (extended XYZ type I), e.g. tags. */
export interface IntColumn extends ColumnBase {
  /** Element type tag. */
  readonly type: 'int';
  /** N·components values, atom-major. */
  readonly data: Int32Array;
}

/** A logical per-atom column (extended XYZ type L), e.g. selective-dynamics flags. */
export interface BoolColumn extends ColumnBase {
  /** Element type tag. */
  readonly type: 'bool';
  /** N·components values, atom-major. */
  readonly data: readonly boolean[];
}

/** A string per-atom column (extended XYZ type S), e.g. site labels (no whitespace when written to files). */
export interface StringColumn extends ColumnBase {
  /** Element type tag. */
  readonly type: 'string';
  /** N·components values, atom-major. */
  readonly data: readonly string[];
}

/** Named per-atom columns of a {@link Structure}. */
export type PerAtomArrays = Readonly<Record<string, PerAtomArray>>;

/**
 * Everything a {@link Structure} is made of, in its canonical typed-array form.
 * Only `numbers` and `positions` are required.
 */
export interface StructureInit {
  /** Atomic numbers (1..118), one per atom. */
  readonly numbers: ArrayLike<number>;
  /** Cartesian positions in Å, length 3N (x0, y0, z0, x1, ...). */
  readonly positions: ArrayLike<number>;
  /** Cell as 9 numbers, row-major, rows = lattice vectors a, b, c in Å; all zeros (default) = no cell. */
  readonly cell?: ArrayLike<number>;
  /** Periodicity per axis (default all false). An axis can only be periodic when its cell vector is nonzero. */
  readonly pbc?: readonly boolean[];
  /** Total charge in units of e (integer, default 0). */
  readonly charge?: number;
  /** Spin multiplicity 2S+1 (integer ≥ 1), or 0 for "unset" (default 0). */
  readonly spin?: number;
  /** Free-form per-structure metadata (default empty). */
  readonly info?: Info;
  /** Extra per-atom columns (default none). */
  readonly arrays?: PerAtomArrays;
}

/** Plain-array input accepted by {@link Structure.fromArrays}. */
export interface StructureArrays {
  /** Atomic numbers; give this or `symbols`. */
  readonly numbers?: ArrayLike<number>;
  /** Chemical symbols (case-tolerant, 'Cu' = 'CU'); give this or `numbers`. */
  readonly symbols?: readonly string[];
  /** Positions in Å: N rows of [x, y, z], or a flat length-3N list. */
  readonly positions: readonly (readonly number[])[] | ArrayLike<number>;
  /** Cell in Å: 3 row vectors [[ax, ay, az], [bx, ...], [cx, ...]], or 9 numbers row-major, or 3 numbers (orthorhombic lengths). */
  readonly cell?: readonly (readonly number[])[] | ArrayLike<number>;
  /** Periodicity: one boolean for all axes, or one per axis (default: all false). */
  readonly pbc?: boolean | readonly boolean[];
  /** Total charge in e (integer, default 0). */
  readonly charge?: number;
  /** Spin multiplicity 2S+1 (integer ≥ 1) or 0 for unset (default 0). */
  readonly spin?: number;
  /** Free-form metadata. */
  readonly info?: Info;
  /** Extra per-atom columns. */
  readonly arrays?: PerAtomArrays;
}

// Cells whose nonzero vectors span less than this fraction of the volume of a box
// with the same edge lengths are singular (same threshold as the cell algebra's
// `isSingularCell`, so every Structure can be inverted there).
const DEGENERATE_CELL_TOLERANCE = SINGULAR_TOLERANCE;

const AXES = ['a', 'b', 'c'] as const;

/**
 * An atomic structure: a molecule (no cell), a slab or wire (some periodic axes) or a
 * bulk crystal (all periodic).
 *
 * Immutable by convention: the constructor copies and validates its inputs, and all
 * "modifiers" (`withPositions`, `with`, `wrapped`) return new structures. The typed
 * arrays it exposes are its own storage; do not write to them (that would bypass
 * validation), use `withPositions` or `with` instead.
 *
 * Units: positions and cell in Å, charge in e, masses in amu, volume in Å³.
 *
 * Charge and spin follow fairchem's `atoms.info['charge']` / `atoms.info['spin']`:
 * `spin` is the spin multiplicity 2S+1 (1 = singlet, 2 = doublet, ...), and 0 means
 * "unset". fairchem feeds 0 for both on the materials/catalysis tasks (omat, oc20,
 * odac, omc), which ignore them; on the molecular task (omol) its calculator replaces
 * an unset multiplicity by 1, so set `spin` explicitly for open-shell molecules.
 */
export class Structure {
  /** Atomic numbers, one per atom. */
  readonly numbers: Int32Array;
  /** Cartesian positions in Å, length 3N. */
  readonly positions: Float64Array;
  /** Cell, 9 numbers row-major (rows = a, b, c) in Å; all zeros when there is no cell. */
  readonly cell: Float64Array;
  /** Periodicity along a, b, c. */
  readonly pbc: Pbc;
  /** Total charge in units of e (integer). */
  readonly charge: number;
  /** Spin multiplicity 2S+1 (integer ≥ 1), or 0 when unset. */
  readonly spin: number;
  /** Free-form per-structure metadata (e.g. `energy` in eV, `stress` in eV/Å³). */
  readonly info: Info;
  /** Extra per-atom columns (e.g. `forces` in eV/Å, `velocities` in Å/fs). */
  readonly arrays: PerAtomArrays;

  /**
   * Build a structure from typed or plain arrays; copies every input.
   * @throws StructureError naming the problem: `length-mismatch`, `non-finite-position`,
   *   `non-finite-cell`, `unknown-element`, `pbc-without-cell`, `singular-cell`,
   *   `invalid-charge`, `invalid-spin`.
   */
  constructor(init: StructureInit) {
    const n = init.numbers.length;
    this.numbers = Int32Array.from(init.numbers);
    for (let i = 0; i < n; i++) {
      const z = init.numbers[i];
      if (!isValidAtomicNumber(z)) {
        throw new StructureError(
          'unknown-element',
          `atom ${i}: unknown atomic number ${z} (expected an integer in 1..${MAX_ATOMIC_NUMBER})`,
        );
      }
    }

    if (init.positions.length !== 3 * n) {
      throw new StructureError(
        'length-mismatch',
        `positions has ${init.positions.length} values but ${n} atoms need ${3 * n} (3 per atom)`,
      );
    }
    this.positions = Float64Array.from(init.positions);
    for (let k = 0; k < 3 * n; k++) {
      if (!Number.isFinite(this.positions[k])) {
        throw new StructureError(
          'non-finite-position',
          `atom ${Math.floor(k / 3)}: position ${'xyz'[k % 3]} is ${this.positions[k]}`,
        );
      }
    }

    this.cell = init.cell === undefined ? new Float64Array(9) : Float64Array.from(init.cell);
    if (this.cell.length !== 9) {
      throw new StructureError('length-mismatch', `cell has ${this.cell.length} values, expected 9 (3 row vectors)`);
    }
    for (let k = 0; k < 9; k++) {
      if (!Number.isFinite(this.cell[k])) {
        throw new StructureError(
          'non-finite-cell',
          `cell vector ${AXES[Math.floor(k / 3)]} component ${'xyz'[k % 3]} is ${this.cell[k]}`,
        );
      }
    }

    const pbc = init.pbc ?? [false, false, false];
    if (pbc.length !== 3) {
      throw new StructureError('length-mismatch', `pbc has ${pbc.length} entries, expected 3`);
    }
    this.pbc = Object.freeze([Boolean(pbc[0]), Boolean(pbc[1]), Boolean(pbc[2])]) as Pbc;
    for (let axis = 0; axis < 3; axis++) {
      if (this.pbc[axis] && cellVectorIsZero(this.cell, axis)) {
        throw new StructureError(
          'pbc-without-cell',
          `axis ${AXES[axis]} is periodic but cell vector ${AXES[axis]} is zero`,
        );
      }
    }
    checkCellNotDegenerate(this.cell);

    const charge = init.charge ?? 0;
    if (!Number.isInteger(charge)) {
      throw new StructureError('invalid-charge', `total charge must be an integer number of e, got ${charge}`);
    }
    this.charge = charge;
    const spin = init.spin ?? 0;
    if (!Number.isInteger(spin) || spin < 0) {
      throw new StructureError(
        'invalid-spin',
        `spin multiplicity must be an integer ≥ 1 (or 0 for unset), got ${spin}`,
      );
    }
    this.spin = spin;

    this.info = Object.freeze(structuredClone({ ...(init.info ?? {}) })) as Info;
    this.arrays = Object.freeze(copyArrays(init.arrays ?? {}, n));
  }

  /**
   * Build a structure from plain JavaScript arrays (symbols or numbers, nested or flat
   * positions, nested or flat cell). Inputs are copied, never modified.
   * @throws StructureError as for the constructor; `length-mismatch` also when both or
   *   neither of `numbers`/`symbols` are given or they disagree in length.
   */
  static fromArrays(input: StructureArrays): Structure {
    let numbers: ArrayLike<number>;
    if (input.symbols !== undefined) {
      if (input.numbers !== undefined && input.numbers.length !== input.symbols.length) {
        throw new StructureError(
          'length-mismatch',
          `numbers has ${input.numbers.length} entries but symbols has ${input.symbols.length}`,
        );
      }
      numbers = input.symbols.map((s, i) => {
        const z = tryAtomicNumberOf(s);
        if (z === undefined) {
          throw new StructureError('unknown-element', `atom ${i}: unknown chemical symbol ${JSON.stringify(s)}`);
        }
        if (input.numbers !== undefined && input.numbers[i] !== z) {
          throw new StructureError(
            'length-mismatch',
            `atom ${i}: symbol ${s} disagrees with atomic number ${input.numbers[i]}`,
          );
        }
        return z;
      });
    } else if (input.numbers !== undefined) {
      numbers = input.numbers;
    } else {
      throw new StructureError('length-mismatch', 'give either numbers or symbols');
    }
    const positions = flattenRows(input.positions, 3, 'positions');
    let cell: ArrayLike<number> | undefined;
    if (input.cell !== undefined) {
      const flat = flattenRows(input.cell, 3, 'cell');
      if (flat.length === 3) {
        cell = [flat[0], 0, 0, 0, flat[1], 0, 0, 0, flat[2]];
      } else {
        cell = flat;
      }
    }
    const pbc = typeof input.pbc === 'boolean' ? [input.pbc, input.pbc, input.pbc] : input.pbc;
    return new Structure({
      numbers,
      positions,
      cell,
      pbc,
      charge: input.charge,
      spin: input.spin,
      info: input.info,
      arrays: input.arrays,
    });
  }

  /** Number of atoms. */
  get length(): number {
    return this.numbers.length;
  }

  /** True when at least one axis is periodic. */
  get isPeriodic(): boolean {
    return this.pbc[0] || this.pbc[1] || this.pbc[2];
  }

  /**
   * Cell volume |det(cell)| in Å³; 0 when any cell vector is zero (molecules, slabs
   * given without a vacuum vector).
   */
  get volume(): number {
    return cellVolume(this.cell);
  }

  /** Chemical symbols, one per atom (a fresh array). */
  get symbols(): string[] {
    return Array.from(this.numbers, (z) => symbolOf(z));
  }

  /** Standard atomic masses in amu, one per atom (a fresh array). */
  get masses(): Float64Array {
    return Float64Array.from(this.numbers, (z) => massOf(z));
  }

  /** Chemical formula in order of first appearance, e.g. 'H2O' or 'CuAu3' (a count of 1 is omitted). */
  get formula(): string {
    const counts = new Map<number, number>();
    for (const z of this.numbers) counts.set(z, (counts.get(z) ?? 0) + 1);
    let out = '';
    for (const [z, k] of counts) out += symbolOf(z) + (k === 1 ? '' : String(k));
    return out;
  }

  /** A deep copy. */
  clone(): Structure {
    return new Structure(this);
  }

  /**
   * A copy with some fields replaced (validated like the constructor). Replacing
   * `numbers` with a different atom count requires replacing `positions` and `arrays` too.
   */
  with(changes: Partial<StructureInit>): Structure {
    return new Structure({ ...this.toInit(), ...changes });
  }

  /**
   * A copy with new Cartesian positions in Å (length 3N); everything else is kept.
   * @throws StructureError('length-mismatch' | 'non-finite-position').
   */
  withPositions(positions: ArrayLike<number>): Structure {
    return new Structure({ ...this.toInit(), positions });
  }

  /**
   * A copy whose positions are wrapped into the cell along the periodic axes: each atom
   * is moved by the integer lattice translation that brings its fractional coordinates
   * along periodic axes into [0, 1) (up to one rounding of the subtraction); coordinates
   * along open axes are untouched.
   */
  wrapped(): Structure {
    if (!this.isPeriodic) return this.clone();
    const full = completeCell(this.cell);
    const inv = cellInverse(full);
    const n = this.length;
    const p = this.positions;
    const out = new Float64Array(3 * n);
    for (let i = 0; i < n; i++) {
      const x = p[3 * i];
      const y = p[3 * i + 1];
      const z = p[3 * i + 2];
      let dx = 0;
      let dy = 0;
      let dz = 0;
      for (let k = 0; k < 3; k++) {
        if (!this.pbc[k]) continue;
        // fractional coordinate k = position · column k of inverse(cell)
        const f = x * inv[k] + y * inv[3 + k] + z * inv[6 + k];
        const s = Math.floor(f);
        if (s === 0) continue;
        dx += s * full[3 * k];
        dy += s * full[3 * k + 1];
        dz += s * full[3 * k + 2];
      }
      out[3 * i] = x - dx;
      out[3 * i + 1] = y - dy;
      out[3 * i + 2] = z - dz;
    }
    return this.withPositions(out);
  }

  /** The constructor input that reproduces this structure. */
  toInit(): StructureInit {
    return {
      numbers: this.numbers,
      positions: this.positions,
      cell: this.cell,
      pbc: this.pbc,
      charge: this.charge,
      spin: this.spin,
      info: this.info,
      arrays: this.arrays,
    };
  }
}

/** Flatten N rows of `width` numbers (or pass a flat list through), checking row widths. */
function flattenRows(
  value: readonly (readonly number[])[] | ArrayLike<number>,
  width: number,
  what: string,
): ArrayLike<number> {
  if (Array.isArray(value) && value.length > 0 && Array.isArray(value[0])) {
    const rows = value as readonly (readonly number[])[];
    const flat = new Array<number>(rows.length * width);
    rows.forEach((row, i) => {
      if (!Array.isArray(row) || row.length !== width) {
        throw new StructureError(
          'length-mismatch',
          `${what} row ${i} has ${Array.isArray(row) ? row.length : 'no'} values, expected ${width}`,
        );
      }
      for (let d = 0; d < width; d++) flat[i * width + d] = row[d];
    });
    return flat;
  }
  return value as ArrayLike<number>;
}

/** Copy and validate per-atom columns against the atom count. */
function copyArrays(arrays: PerAtomArrays, n: number): Record<string, PerAtomArray> {
  const out: Record<string, PerAtomArray> = {};
  for (const [name, col] of Object.entries(arrays)) {
    if (!Number.isInteger(col.components) || col.components < 1) {
      throw new StructureError(
        'length-mismatch',
        `per-atom array ${JSON.stringify(name)}: components must be a positive integer, got ${col.components}`,
      );
    }
    if (col.data.length !== n * col.components) {
      throw new StructureError(
        'length-mismatch',
        `per-atom array ${JSON.stringify(name)} has ${col.data.length} values but ${n} atoms × ` +
          `${col.components} components need ${n * col.components}`,
      );
    }
    switch (col.type) {
      case 'float':
        out[name] = Object.freeze({ type: 'float', components: col.components, data: Float64Array.from(col.data) });
        break;
      case 'int':
        out[name] = Object.freeze({ type: 'int', components: col.components, data: Int32Array.from(col.data) });
        break;
      case 'bool':
        out[name] = Object.freeze({ type: 'bool', components: col.components, data: Object.freeze([...col.data]) });
        break;
      case 'string':
        out[name] = Object.freeze({ type: 'string', components: col.components, data: Object.freeze([...col.data]) });
        break;
      default:
        throw new StructureError(
          'length-mismatch',
          `per-atom array ${JSON.stringify(name)} has unknown type ${JSON.stringify((col as { type: unknown }).type)}`,
        );
    }
  }
  return out;
}

function norm3(c: ArrayLike<number>, o: number): number {
  return Math.hypot(c[o], c[o + 1], c[o + 2]);
}

/**
 * Reject cells whose nonzero vectors are (nearly) linearly dependent. Measured
 * scale-free: the volume (or area) they span divided by the product of their lengths,
 * i.e. |sin| of the angle for two vectors, so a skewed but valid cell passes.
 */
function checkCellNotDegenerate(cell: Float64Array): void {
  const nonzero = [0, 1, 2].filter((k) => !cellVectorIsZero(cell, k));
  if (nonzero.length < 2) return;
  let ratio: number;
  if (nonzero.length === 3) {
    ratio = cellVolume(cell) / (norm3(cell, 0) * norm3(cell, 3) * norm3(cell, 6));
  } else {
    const [i, j] = nonzero;
    const a = [cell[3 * i], cell[3 * i + 1], cell[3 * i + 2]];
    const b = [cell[3 * j], cell[3 * j + 1], cell[3 * j + 2]];
    const cross = Math.hypot(a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]);
    ratio = cross / (norm3(cell, 3 * i) * norm3(cell, 3 * j));
  }
  if (!(ratio > DEGENERATE_CELL_TOLERANCE)) {
    const names = nonzero.map((k) => AXES[k]).join(', ');
    throw new StructureError(
      'singular-cell',
      `cell vectors ${names} are linearly dependent (normalized volume ${ratio.toExponential(2)}): the cell is singular`,
    );
  }
}
