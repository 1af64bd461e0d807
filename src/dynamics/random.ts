/**
 * A small seedable pseudo-random number generator for reproducible dynamics.
 *
 * xoshiro128** (Blackman & Vigna) on four 32-bit words, seeded through splitmix32 so any
 * integer seed gives a well-mixed state. Doubles take 53 random bits from two outputs; normal
 * deviates come from the Box–Muller transform (the second deviate of each pair is cached).
 * Not cryptographic: it exists so that runs with the same seed repeat bit for bit.
 *
 * @module
 */
import { ArgumentError } from '../errors.js';

/** A seeded source of uniform and Gaussian random numbers. */
export class RandomStream {
  private s0 = 0;
  private s1 = 0;
  private s2 = 0;
  private s3 = 0;
  private spare = 0;
  private hasSpare = false;

  /**
   * @param seed any safe integer (default 42); equal seeds give equal streams.
   * @throws ArgumentError when the seed is not a safe integer.
   */
  constructor(seed = 42) {
    if (!Number.isSafeInteger(seed)) throw new ArgumentError(`random seed must be a safe integer, got ${seed}`);
    // Fold the high bits in too, so seeds differing only above 2^32 give different streams.
    let x = (seed ^ Math.floor(seed / 4294967296)) >>> 0;
    const next = (): number => {
      // splitmix32: a bijective mixer, used only to spread the seed over the state.
      x = (x + 0x9e3779b9) >>> 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.s0 = next();
    this.s1 = next();
    this.s2 = next();
    this.s3 = next();
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 1; // the all-zero state is a fixed point
  }

  /** Next raw 32-bit unsigned integer. */
  nextUint32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5), 7), 9) >>> 0;
    const t = this.s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    return result;
  }

  /** Uniform double in [0, 1) with 53 random bits. */
  uniform(): number {
    const hi = this.nextUint32() >>> 5; // 27 bits
    const lo = this.nextUint32() >>> 6; // 26 bits
    return (hi * 67108864 + lo) / 9007199254740992;
  }

  /** Standard normal deviate (mean 0, variance 1). */
  normal(): number {
    if (this.hasSpare) {
      this.hasSpare = false;
      return this.spare;
    }
    let u = 0;
    while (u === 0) u = this.uniform(); // log(0) is -∞
    const v = this.uniform();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spare = r * Math.sin(2 * Math.PI * v);
    this.hasSpare = true;
    return r * Math.cos(2 * Math.PI * v);
  }

  /** Fill `out` with standard normal deviates and return it. */
  fillNormal(out: Float64Array): Float64Array {
    for (let k = 0; k < out.length; k++) out[k] = this.normal();
    return out;
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}
