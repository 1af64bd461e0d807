/**
 * Writer for NumPy `.npy` files (format version 1.0): little-endian float64 arrays that
 * `numpy.load` reads directly.
 *
 * @module
 */
import { writeFileSync } from 'node:fs';
import { ArgumentError } from '../errors.js';

/**
 * Encode a C-ordered float64 array of the given shape as `.npy` bytes: the magic string
 * `\x93NUMPY`, version 1.0, a little-endian uint16 header length, then an ASCII dict header
 * padded with spaces and a newline so the data starts at a multiple of 64 bytes.
 * @throws ArgumentError when the shape does not match the data length.
 */
export function encodeNpy(data: ArrayLike<number>, shape: readonly number[]): Uint8Array {
  const count = shape.reduce((a, b) => a * b, 1);
  if (count !== data.length || shape.some((d) => !Number.isInteger(d) || d < 0)) {
    throw new ArgumentError(`shape [${shape.join(', ')}] does not match ${data.length} values`);
  }
  const shapeText = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let header = `{'descr': '<f8', 'fortran_order': False, 'shape': ${shapeText}, }`;
  const preamble = 10; // magic (6) + version (2) + header length (2)
  const total = Math.ceil((preamble + header.length + 1) / 64) * 64;
  header = header.padEnd(total - preamble - 1, ' ') + '\n';
  if (header.length > 65535) throw new ArgumentError('array shape too long for an .npy v1 header');
  const out = new Uint8Array(total + 8 * count);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0, header.length & 0xff, header.length >> 8]);
  for (let k = 0; k < header.length; k++) out[preamble + k] = header.charCodeAt(k);
  const view = new DataView(out.buffer, total);
  for (let k = 0; k < count; k++) view.setFloat64(8 * k, data[k], true);
  return out;
}

/** Write a float64 array to an `.npy` file. */
export function writeNpy(path: string, data: ArrayLike<number>, shape: readonly number[]): void {
  writeFileSync(path, encodeNpy(data, shape));
}
