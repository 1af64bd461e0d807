/**
 * Local optimizers: FIRE and L-BFGS, both following ASE's implementations (ASE 3.22) so the
 * two give the same steps on the same potential. Convergence is ASE's criterion: the largest
 * per-row generalised force norm below `fmax` (eV/Å for atoms).
 *
 * @module
 */
import { ArgumentError } from '../errors.js';
import type { Structure } from '../structure/structure.js';
import type { OptimizationTarget } from './target.js';

/** Options of {@link Optimizer.run}. */
export interface OptimizeOptions {
  /** Convergence threshold on the largest force norm per row, eV/Å (default 0.05). */
  readonly fmax?: number;
  /** Largest number of optimizer steps (default 1000). */
  readonly maxSteps?: number;
  /** Stops the optimisation cleanly between steps. */
  readonly signal?: AbortSignal;
}

/** Result of {@link Optimizer.run}. */
export interface OptimizeResult {
  /** True when the largest force fell below `fmax`. */
  readonly converged: boolean;
  /** Optimizer steps taken (force evaluations − 1). */
  readonly steps: number;
  /** Final objective (potential energy, or enthalpy under a cell filter), eV. */
  readonly energy: number;
  /** Final largest force norm per row, eV/Å. */
  readonly fmax: number;
  /** True when stopped by the abort signal. */
  readonly aborted: boolean;
  /** The final structure with energy and forces attached. */
  readonly structure: Structure;
}

/** Called after every force evaluation (step 0 is the starting point). */
export type OptimizerObserver = (state: { readonly step: number; readonly energy: number; readonly fmax: number; readonly optimizer: Optimizer }) => void | Promise<void>;

/** Options shared by the optimizers. */
export interface OptimizerOptions {
  /** Largest displacement of any row in one step, Å (default 0.2, as ASE). */
  readonly maxStep?: number;
}

/** Base class: the run loop (evaluate, check convergence, step) shared by FIRE and L-BFGS. */
export abstract class Optimizer {
  /** The object being optimised. */
  readonly target: OptimizationTarget;
  /** Largest step, Å. */
  readonly maxStep: number;
  /** Steps taken so far. */
  steps = 0;
  private readonly observers: OptimizerObserver[] = [];

  constructor(target: OptimizationTarget, options: OptimizerOptions = {}) {
    this.target = target;
    this.maxStep = options.maxStep ?? 0.2;
    if (!(this.maxStep > 0) || !Number.isFinite(this.maxStep)) throw new ArgumentError(`maxStep must be a positive length (Å), got ${options.maxStep}`);
  }

  /** Register an observer, called after every force evaluation. */
  attach(observer: OptimizerObserver): void {
    this.observers.push(observer);
  }

  /**
   * Optimise until the largest force norm is below `fmax` or `maxSteps` steps were taken.
   * @throws ArgumentError for a non-positive fmax or negative maxSteps.
   */
  async run(options: OptimizeOptions = {}): Promise<OptimizeResult> {
    const fmax = options.fmax ?? 0.05;
    const maxSteps = options.maxSteps ?? 1000;
    if (!(fmax > 0)) throw new ArgumentError(`fmax must be a positive force (eV/Å), got ${options.fmax}`);
    if (!Number.isInteger(maxSteps) || maxSteps < 0) throw new ArgumentError(`maxSteps must be a non-negative integer, got ${options.maxSteps}`);
    let { energy, forces } = await this.target.evaluate();
    let current = maxRowNorm(forces);
    await this.notify(energy, current);
    let taken = 0;
    let aborted = false;
    while (!(current < fmax) && taken < maxSteps) {
      if (options.signal?.aborted) {
        aborted = true;
        break;
      }
      const q = this.target.getCoordinates();
      this.step(q, forces, energy);
      this.target.setCoordinates(q);
      this.steps++;
      taken++;
      ({ energy, forces } = await this.target.evaluate());
      current = maxRowNorm(forces);
      await this.notify(energy, current);
    }
    return { converged: current < fmax, steps: taken, energy, fmax: current, aborted, structure: this.target.structure() };
  }

  /** Update the coordinates `q` in place from the current forces (and energy). */
  protected abstract step(q: Float64Array, forces: Float64Array, energy: number): void;

  private async notify(energy: number, fmax: number): Promise<void> {
    for (const fn of this.observers) await fn({ step: this.steps, energy, fmax, optimizer: this });
  }
}

/** Largest Euclidean norm of a row of 3 (ASE's convergence measure). */
export function maxRowNorm(forces: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < forces.length; i += 3) m = Math.max(m, forces[i] ** 2 + forces[i + 1] ** 2 + forces[i + 2] ** 2);
  return Math.sqrt(m);
}

/** Options of {@link FIRE} (defaults are ASE's). */
export interface FIREOptions extends OptimizerOptions {
  /** Initial time step (default 0.1). */
  readonly dt?: number;
  /** Largest time step (default 1.0). */
  readonly dtMax?: number;
  /** Steps downhill before the time step may grow (default 5). */
  readonly nMin?: number;
  /** Time-step growth factor (default 1.1). */
  readonly fInc?: number;
  /** Time-step shrink factor after an uphill step (default 0.5). */
  readonly fDec?: number;
  /** Initial mixing parameter α (default 0.1). */
  readonly aStart?: number;
  /** α decay factor (default 0.99). */
  readonly fA?: number;
}

/**
 * FIRE (Bitzek et al., PRL 97, 170201 (2006)), as in ASE 3.22: damped dynamics with unit
 * masses whose velocity is mixed towards the force direction while the motion goes downhill
 * (P = F·v > 0) and reset to zero when it does not. The whole displacement is capped at
 * `maxStep` (Euclidean norm over all coordinates, as ASE).
 */
export class FIRE extends Optimizer {
  private dt: number;
  private a: number;
  private nSteps = 0;
  private v: Float64Array | undefined;
  private readonly o: Required<Omit<FIREOptions, 'maxStep' | 'dt'>>;

  constructor(target: OptimizationTarget, options: FIREOptions = {}) {
    super(target, options);
    this.dt = options.dt ?? 0.1;
    this.o = { dtMax: options.dtMax ?? 1.0, nMin: options.nMin ?? 5, fInc: options.fInc ?? 1.1, fDec: options.fDec ?? 0.5, aStart: options.aStart ?? 0.1, fA: options.fA ?? 0.99 };
    this.a = this.o.aStart;
  }

  protected step(q: Float64Array, f: Float64Array): void {
    const n = q.length;
    if (!this.v) {
      this.v = new Float64Array(n);
    } else {
      const v = this.v;
      let vf = 0;
      for (let k = 0; k < n; k++) vf += v[k] * f[k];
      if (vf > 0) {
        let ff = 0;
        let vv = 0;
        for (let k = 0; k < n; k++) {
          ff += f[k] * f[k];
          vv += v[k] * v[k];
        }
        const mix = (this.a * Math.sqrt(vv)) / Math.sqrt(ff);
        for (let k = 0; k < n; k++) v[k] = (1 - this.a) * v[k] + mix * f[k];
        if (this.nSteps > this.o.nMin) {
          this.dt = Math.min(this.dt * this.o.fInc, this.o.dtMax);
          this.a *= this.o.fA;
        }
        this.nSteps++;
      } else {
        v.fill(0);
        this.a = this.o.aStart;
        this.dt *= this.o.fDec;
        this.nSteps = 0;
      }
    }
    const v = this.v;
    let norm = 0;
    for (let k = 0; k < n; k++) {
      v[k] += this.dt * f[k];
      norm += (this.dt * v[k]) ** 2;
    }
    norm = Math.sqrt(norm);
    const scale = norm > this.maxStep ? this.maxStep / norm : 1;
    for (let k = 0; k < n; k++) q[k] += scale * this.dt * v[k];
  }
}

/** Options of {@link LBFGS} (defaults are ASE's). */
export interface LBFGSOptions extends OptimizerOptions {
  /** Number of previous steps kept for the inverse-Hessian estimate (default 100). */
  readonly memory?: number;
  /** Step damping factor (default 1). */
  readonly damping?: number;
  /** Initial Hessian guess α, eV/Å² (default 70): the first step is F/α. */
  readonly alpha?: number;
}

/**
 * Limited-memory BFGS (Nocedal's two-loop recursion) as in ASE 3.22's `LBFGS` without line
 * search: the quasi-Newton step is scaled so no row moves more than `maxStep`. Two safeguards
 * that ASE lacks keep it from cycling in concave regions: curvature pairs with y·s ≤ 0 are not
 * stored, and a step that is not downhill resets the history. Where the surface is convex the
 * steps are exactly ASE's.
 */
export class LBFGS extends Optimizer {
  private readonly memory: number;
  private readonly damping: number;
  private readonly h0: number;
  private readonly s: Float64Array[] = [];
  private readonly y: Float64Array[] = [];
  private readonly rho: number[] = [];
  private q0: Float64Array | undefined;
  private f0: Float64Array | undefined;

  constructor(target: OptimizationTarget, options: LBFGSOptions = {}) {
    super(target, options);
    this.memory = options.memory ?? 100;
    this.damping = options.damping ?? 1;
    const alpha = options.alpha ?? 70;
    if (!Number.isInteger(this.memory) || this.memory < 1) throw new ArgumentError(`L-BFGS memory must be a positive integer, got ${options.memory}`);
    if (!(alpha > 0)) throw new ArgumentError(`L-BFGS alpha must be positive, got ${options.alpha}`);
    this.h0 = 1 / alpha;
  }

  protected step(q: Float64Array, f: Float64Array): void {
    const n = q.length;
    if (this.q0 && this.f0) {
      const s = new Float64Array(n);
      const y = new Float64Array(n);
      let ys = 0;
      for (let k = 0; k < n; k++) {
        s[k] = q[k] - this.q0[k];
        y[k] = this.f0[k] - f[k];
        ys += y[k] * s[k];
      }
      // Safeguard (not in ASE): a pair with non-positive curvature y·s would make the
      // inverse-Hessian estimate indefinite, so it is skipped. On convex stretches this never
      // triggers and the steps equal ASE's.
      if (ys > 0) {
        this.s.push(s);
        this.y.push(y);
        this.rho.push(1 / ys);
        if (this.s.length > this.memory) {
          this.s.shift();
          this.y.shift();
          this.rho.shift();
        }
      }
    }
    const m = this.s.length;
    const alpha = new Float64Array(m);
    const z = Float64Array.from(f, (x) => -x);
    for (let i = m - 1; i >= 0; i--) {
      alpha[i] = this.rho[i] * dot(this.s[i], z);
      axpy(-alpha[i], this.y[i], z);
    }
    for (let k = 0; k < n; k++) z[k] *= this.h0;
    for (let i = 0; i < m; i++) {
      const b = this.rho[i] * dot(this.y[i], z);
      axpy(alpha[i] - b, this.s[i], z);
    }
    // Safeguard (not in ASE): if −z is not a descent direction (z·f ≥ 0 means p·F ≤ 0), forget
    // the history and take the initial-Hessian step F/α.
    if (m > 0 && dot(z, f) >= 0) {
      this.s.length = 0;
      this.y.length = 0;
      this.rho.length = 0;
      for (let k = 0; k < n; k++) z[k] = -this.h0 * f[k];
    }
    // step p = −z, scaled so the longest row step is at most maxStep
    let longest = 0;
    for (let k = 0; k < n; k += 3) longest = Math.max(longest, Math.sqrt(z[k] ** 2 + z[k + 1] ** 2 + z[k + 2] ** 2));
    const scale = (longest >= this.maxStep ? this.maxStep / longest : 1) * this.damping;
    this.q0 = Float64Array.from(q);
    this.f0 = Float64Array.from(f);
    for (let k = 0; k < n; k++) q[k] -= scale * z[k];
  }
}

function dot(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let k = 0; k < a.length; k++) s += a[k] * b[k];
  return s;
}

function axpy(a: number, x: Float64Array, y: Float64Array): void {
  for (let k = 0; k < x.length; k++) y[k] += a * x[k];
}
