/**
 * Reusable scratch and output buffers.
 *
 * Fresh large typed arrays cost a page fault per 4 KiB on first touch, which on a virtual
 * machine is slower than the whole neighbour search. A {@link Workspace} keeps its buffers
 * between calls and grows them geometrically, so repeated searches (MD, optimisation) touch
 * warm memory only. Buffers are handed out as views of exactly the requested length; their
 * content is unspecified unless the caller clears it. A shared workspace allocates
 * SharedArrayBuffers, which the parallel search's worker threads read and write in place.
 *
 * @module
 */

/** Growth factor of reallocated buffers, so a slowly growing system reallocates rarely. */
const GROWTH = 1.25;

/** Named, growable typed-array buffers (internal). */
export class Workspace {
  private readonly i32 = new Map<string, Int32Array>();
  private readonly f64 = new Map<string, Float64Array>();

  /** @param shared Allocate SharedArrayBuffers (for the worker threads). */
  constructor(readonly shared = false) {}

  private bytes(n: number): ArrayBuffer | SharedArrayBuffer {
    return this.shared ? new SharedArrayBuffer(n) : new ArrayBuffer(n);
  }

  /** An Int32Array view of `size` elements from buffer `name`; `keep` elements are preserved on growth. */
  int32(name: string, size: number, keep = 0): Int32Array {
    let buf = this.i32.get(name);
    if (buf === undefined || buf.length < size) {
      const next = new Int32Array(this.bytes(4 * Math.max(size, Math.ceil((buf?.length ?? 0) * GROWTH), 64)));
      if (buf !== undefined && keep > 0) next.set(buf.subarray(0, keep));
      buf = next;
      this.i32.set(name, buf);
    }
    return buf.subarray(0, size);
  }

  /** A Float64Array view of `size` elements from buffer `name`; `keep` elements are preserved on growth. */
  float64(name: string, size: number, keep = 0): Float64Array {
    let buf = this.f64.get(name);
    if (buf === undefined || buf.length < size) {
      const next = new Float64Array(this.bytes(8 * Math.max(size, Math.ceil((buf?.length ?? 0) * GROWTH), 64)));
      if (buf !== undefined && keep > 0) next.set(buf.subarray(0, keep));
      buf = next;
      this.f64.set(name, buf);
    }
    return buf.subarray(0, size);
  }

  /** Capacity (elements) of an Int32 buffer, 0 if absent. */
  capacityInt32(name: string): number {
    return this.i32.get(name)?.length ?? 0;
  }

  /** Drop every buffer (memory is returned to the garbage collector). */
  clear(): void {
    this.i32.clear();
    this.f64.clear();
  }
}
