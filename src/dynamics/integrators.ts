/**
 * Integrators: velocity Verlet (NVE), Langevin (NVT, BAOAB splitting) and a Berendsen
 * barostat on top of Langevin (NPT).
 *
 * @module
 */
import { ArgumentError, EquiforceError } from '../errors.js';
import type { Structure } from '../structure/structure.js';
import { MolecularDynamics, type DynamicsOptions } from './md.js';
import type { ForceProvider } from './provider.js';
import { isFullyPeriodic } from './provider.js';
import { RandomStream } from './random.js';
import { AMU_A2_FS2_IN_EV, BOLTZMANN_EV_PER_K, EV_PER_A3_IN_GPA } from './units.js';

/**
 * Velocity Verlet: microcanonical (NVE) dynamics. Symplectic and time reversible, so the total
 * energy fluctuates but does not drift when the time step resolves the fastest vibration.
 * One force evaluation per step.
 */
export class VelocityVerlet extends MolecularDynamics {
  /** @see DynamicsOptions */
  constructor(provider: ForceProvider, structure: Structure, options: DynamicsOptions) {
    super(provider, structure, options);
  }

  protected async step(): Promise<void> {
    this.halfKick();
    this.drift(this.timestepFs);
    await this.evaluate();
    this.halfKick();
  }
}

/** Options of {@link Langevin}. */
export interface LangevinOptions extends DynamicsOptions {
  /** Target temperature, K. */
  readonly temperatureK: number;
  /** Friction coefficient γ, 1/fs (default 0.01 fs⁻¹, i.e. a 100 fs velocity relaxation time). */
  readonly frictionPerFs?: number;
  /** Seed of the random forces (default 42); equal seeds repeat runs exactly. */
  readonly seed?: number;
}

/**
 * Langevin dynamics (canonical, NVT) with the BAOAB splitting of Leimkuhler & Matthews:
 * half kick (B), half drift (A), exact Ornstein–Uhlenbeck velocity update
 * v ← c₁v + √((1−c₁²)k_BT/m)·ξ with c₁ = exp(−γ·dt) (O), half drift (A), forces, half kick (B).
 * BAOAB samples configurations with very small time-step error; one force evaluation per step.
 *
 * The heat the thermostat exchanges (the kinetic-energy change of each O step) is accumulated,
 * so {@link Langevin.conservedEnergy} = total energy − heat stays flat in an accurate run.
 */
export class Langevin extends MolecularDynamics {
  /** Friction γ, 1/fs. */
  readonly frictionPerFs: number;
  /** Energy the thermostat has added to the system so far, eV. */
  heat = 0;
  private target: number;
  private readonly rng: RandomStream;

  /** @throws ArgumentError for a negative temperature or friction. */
  constructor(provider: ForceProvider, structure: Structure, options: LangevinOptions) {
    super(provider, structure, options);
    this.target = checkTemperature(options.temperatureK);
    this.frictionPerFs = options.frictionPerFs ?? 0.01;
    if (!(this.frictionPerFs >= 0) || !Number.isFinite(this.frictionPerFs)) {
      throw new ArgumentError(`friction must be a non-negative number (1/fs), got ${options.frictionPerFs}`);
    }
    this.rng = new RandomStream(options.seed ?? 42);
  }

  /** Target temperature, K (may be changed between steps, e.g. for annealing). */
  get temperatureK(): number {
    return this.target;
  }

  set temperatureK(value: number) {
    this.target = checkTemperature(value);
  }

  /** 3N: the random kicks thermalise the centre-of-mass motion too. */
  override get degreesOfFreedom(): number {
    return 3 * this.length;
  }

  /** Total energy minus the heat put in by the thermostat, eV. */
  override get conservedEnergy(): number {
    return this.totalEnergy - this.heat;
  }

  protected async step(): Promise<void> {
    const half = 0.5 * this.timestepFs;
    this.halfKick();
    this.drift(half);
    this.thermostat();
    this.drift(half);
    await this.beforeForces();
    await this.evaluate();
    this.halfKick();
  }

  /** Hook for subclasses: runs after the position update and before the force evaluation. */
  protected async beforeForces(): Promise<void> {}

  /** The O step: exact solution of the Ornstein–Uhlenbeck process over one time step. */
  private thermostat(): void {
    const c1 = Math.exp(-this.frictionPerFs * this.timestepFs);
    const c2 = Math.sqrt(Math.max(0, 1 - c1 * c1));
    const kT = BOLTZMANN_EV_PER_K * this.target;
    const v = this.velocities;
    const before = this.kineticEnergy;
    for (let i = 0; i < this.length; i++) {
      const sigma = c2 * Math.sqrt(kT * this.invMass[i]);
      v[3 * i] = c1 * v[3 * i] + sigma * this.rng.normal();
      v[3 * i + 1] = c1 * v[3 * i + 1] + sigma * this.rng.normal();
      v[3 * i + 2] = c1 * v[3 * i + 2] + sigma * this.rng.normal();
    }
    this.heat += this.kineticEnergy - before;
  }
}

/** Options of {@link BerendsenNPT}. */
export interface BerendsenNPTOptions extends LangevinOptions {
  /** Target pressure, eV/Å³ (default 0; 1 GPa = 1/160.2177 eV/Å³, see {@link gpaToEvPerA3}). */
  readonly pressure?: number;
  /** Barostat relaxation time τ_P, fs (default 1000 fs). */
  readonly barostatTimeFs?: number;
  /**
   * Isothermal compressibility β, Å³/eV (default 1/(100 GPa) ≈ 1.602 Å³/eV, a typical metal).
   * Only the product β·dt/τ_P matters: it sets how fast the volume responds.
   */
  readonly compressibility?: number;
  /**
   * Scale the three Cartesian axes independently from the diagonal of the pressure tensor
   * (default false: isotropic scaling from the mean pressure). Use for crystals under
   * anisotropic stress; shear components are not relaxed.
   */
  readonly anisotropic?: boolean;
}

/**
 * Isothermal–isobaric (NPT) dynamics: the {@link Langevin} thermostat plus a Berendsen barostat.
 * Every step the cell and all positions are scaled isotropically by
 * μ = [1 − β·(dt/τ_P)·(P₀ − P)]^(1/3), with P the instantaneous pressure (virial and kinetic).
 * This relaxes the volume to the target pressure smoothly but does not sample the exact NPT
 * ensemble's volume fluctuations. The scaling is folded into the position update, so it still
 * costs one force (and stress) evaluation per step. Needs a cell periodic along all three axes.
 */
export class BerendsenNPT extends Langevin {
  /** Target pressure, eV/Å³. */
  readonly targetPressure: number;
  /** Barostat relaxation time, fs. */
  readonly barostatTimeFs: number;
  /** Compressibility, Å³/eV. */
  readonly compressibility: number;
  /** Per-axis scaling from the diagonal pressure components. */
  readonly anisotropic: boolean;

  /** @throws ArgumentError when the structure is not periodic along all three axes, or options are out of range. */
  constructor(provider: ForceProvider, structure: Structure, options: BerendsenNPTOptions) {
    if (!isFullyPeriodic(structure)) {
      throw new ArgumentError('NPT dynamics needs a cell that is periodic along all three axes (it changes the volume)', 'npt-without-cell');
    }
    super(provider, structure, options);
    this.targetPressure = options.pressure ?? 0;
    this.barostatTimeFs = options.barostatTimeFs ?? 1000;
    this.compressibility = options.compressibility ?? 1 / (100 / EV_PER_A3_IN_GPA);
    this.anisotropic = options.anisotropic ?? false;
    if (!Number.isFinite(this.targetPressure)) throw new ArgumentError(`target pressure must be finite, got ${options.pressure}`);
    if (!(this.barostatTimeFs > 0)) throw new ArgumentError(`barostat time must be positive (fs), got ${options.barostatTimeFs}`);
    if (!(this.compressibility > 0)) throw new ArgumentError(`compressibility must be positive (Å³/eV), got ${options.compressibility}`);
  }

  /** Total energy + P₀·V − heat, eV (approximately flat; Berendsen scaling is not Hamiltonian). */
  override get conservedEnergy(): number {
    return super.conservedEnergy + this.targetPressure * this.volume;
  }

  /**
   * Diagonal of the instantaneous pressure tensor, eV/Å³: −σ_ii plus the kinetic term
   * Σ m·v_i²/V along each axis.
   */
  pressureDiagonal(): [number, number, number] {
    const s = this.stress;
    if (!s) throw new EquiforceError('provider-result', 'no stress available for the barostat');
    const kin = [0, 0, 0];
    const v = this.velocities;
    for (let i = 0; i < this.length; i++) for (let d = 0; d < 3; d++) kin[d] += this.masses[i] * v[3 * i + d] ** 2;
    const vol = this.volume;
    return [0, 1, 2].map((d) => -s[d] + (kin[d] * AMU_A2_FS2_IN_EV) / vol) as [number, number, number];
  }

  protected override async beforeForces(): Promise<void> {
    const p = this.pressure;
    if (p === undefined) return;
    const rate = this.compressibility * (this.timestepFs / this.barostatTimeFs);
    const axes = this.anisotropic ? this.pressureDiagonal() : [p, p, p];
    const mu = axes.map((pa) => {
      // isotropic: volume scales by 1 − rate·ΔP, so lengths by its cube root; anisotropic:
      // each axis length scales by 1 − rate·ΔP_ii/3 (same volume response for equal ΔP_ii)
      const arg = this.anisotropic ? 1 - (rate * (this.targetPressure - pa)) / 3 : 1 - rate * (this.targetPressure - pa);
      if (!(arg > 0)) {
        throw new EquiforceError('simulation-unstable', `barostat scaling became ${arg} at step ${this.steps} (pressure ${pa} eV/Å³): increase barostatTimeFs`);
      }
      return this.anisotropic ? arg : Math.cbrt(arg);
    });
    for (let k = 0; k < this.positions.length; k++) this.positions[k] *= mu[k % 3];
    for (let k = 0; k < 9; k++) this.cell[k] *= mu[k % 3];
  }
}

/** Options of {@link StochasticCellRescaling}. */
export interface StochasticCellRescalingOptions extends LangevinOptions {
  /** Target pressure, eV/Å³ (default 0). */
  readonly pressure?: number;
  /** Barostat relaxation time τ_P, fs (default 1000 fs). */
  readonly barostatTimeFs?: number;
  /** Isothermal compressibility β, Å³/eV (default 1/(100 GPa)); sets the volume response rate with τ_P. */
  readonly compressibility?: number;
}

/**
 * Isothermal–isobaric (NPT) dynamics with the correct volume distribution: the {@link Langevin}
 * thermostat plus isotropic stochastic cell rescaling (Bernetti & Bussi, J. Chem. Phys. 153,
 * 114107 (2020)). Each step the log-volume ε = ln V moves by
 *
 *   dε = −(β/τ_P)·(P₀ − P − k_BT/V)·dt + √(2k_BT·β·dt/(V·τ_P))·ξ,
 *
 * an overdamped Langevin equation whose stationary distribution is the NPT one,
 * ∝ V^N exp(−(U + P₀V)/k_BT); positions and cell scale by e^{dε/3}, velocities by e^{−dε/3}.
 * Unlike Berendsen it gives the right volume fluctuations (⟨δV²⟩ = k_BT·V·κ_T). Needs a cell
 * periodic along all three axes; one force (and stress) evaluation per step.
 */
export class StochasticCellRescaling extends Langevin {
  /** Target pressure, eV/Å³. */
  readonly targetPressure: number;
  /** Barostat relaxation time, fs. */
  readonly barostatTimeFs: number;
  /** Compressibility, Å³/eV. */
  readonly compressibility: number;
  private readonly cellRng: RandomStream;

  /** @throws ArgumentError when the structure is not periodic along all three axes, or options are out of range. */
  constructor(provider: ForceProvider, structure: Structure, options: StochasticCellRescalingOptions) {
    if (!isFullyPeriodic(structure)) {
      throw new ArgumentError('NPT dynamics needs a cell that is periodic along all three axes (it changes the volume)', 'npt-without-cell');
    }
    super(provider, structure, options);
    this.targetPressure = options.pressure ?? 0;
    this.barostatTimeFs = options.barostatTimeFs ?? 1000;
    this.compressibility = options.compressibility ?? 1 / (100 / EV_PER_A3_IN_GPA);
    if (!Number.isFinite(this.targetPressure)) throw new ArgumentError(`target pressure must be finite, got ${options.pressure}`);
    if (!(this.barostatTimeFs > 0)) throw new ArgumentError(`barostat time must be positive (fs), got ${options.barostatTimeFs}`);
    if (!(this.compressibility > 0)) throw new ArgumentError(`compressibility must be positive (Å³/eV), got ${options.compressibility}`);
    // A separate stream so the thermostat noise is the same as a Langevin run with the same seed.
    this.cellRng = new RandomStream((options.seed ?? 42) + 7919);
  }

  /**
   * Total energy + P₀·V − thermostat heat, eV. Only approximately flat: the work of the
   * barostat's random volume moves is not tracked.
   */
  override get conservedEnergy(): number {
    return super.conservedEnergy + this.targetPressure * this.volume;
  }

  protected override async beforeForces(): Promise<void> {
    const p = this.pressure;
    if (p === undefined) return;
    const v = this.volume;
    const kT = BOLTZMANN_EV_PER_K * this.temperatureK;
    const dt = this.timestepFs;
    const rate = this.compressibility / this.barostatTimeFs;
    const deps = -rate * (this.targetPressure - p - kT / v) * dt + Math.sqrt((2 * kT * rate * dt) / v) * this.cellRng.normal();
    if (!Number.isFinite(deps) || Math.abs(deps) > 0.3) {
      throw new EquiforceError('simulation-unstable', `cell rescaling step ln(V'/V) = ${deps} at step ${this.steps} (pressure ${p} eV/Å³): increase barostatTimeFs`);
    }
    const up = Math.exp(deps / 3);
    const down = 1 / up;
    for (let k = 0; k < this.positions.length; k++) {
      this.positions[k] *= up;
      this.velocities[k] *= down;
    }
    for (let k = 0; k < 9; k++) this.cell[k] *= up;
  }
}

/** Options of {@link maxwellBoltzmannVelocities}. */
export interface MaxwellBoltzmannOptions {
  /** Seed (default 42). */
  readonly seed?: number;
  /** Remove the centre-of-mass momentum (default true). */
  readonly zeroMomentum?: boolean;
  /** Rescale so the kinetic temperature (3N − 3 degrees of freedom with zero momentum) is exactly the target (default false). */
  readonly exactTemperature?: boolean;
}

/**
 * Random velocities (Å/fs) from the Maxwell–Boltzmann distribution at `temperatureK`: each
 * Cartesian component is normal with variance k_B·T/m. With `zeroMomentum` (default) the total
 * momentum is removed afterwards, which takes away 3 degrees of freedom.
 *
 * @param masses masses in amu, one per atom.
 */
export function maxwellBoltzmannVelocities(masses: ArrayLike<number>, temperatureK: number, options: MaxwellBoltzmannOptions = {}): Float64Array {
  checkTemperature(temperatureK);
  const n = masses.length;
  const rng = new RandomStream(options.seed ?? 42);
  const v = new Float64Array(3 * n);
  const kT = BOLTZMANN_EV_PER_K * temperatureK;
  let mtot = 0;
  const p = [0, 0, 0];
  for (let i = 0; i < n; i++) {
    const m = masses[i];
    if (!(m > 0)) throw new ArgumentError(`atom ${i}: mass must be positive (amu), got ${m}`);
    const sigma = Math.sqrt(kT / (m * AMU_A2_FS2_IN_EV));
    for (let d = 0; d < 3; d++) {
      v[3 * i + d] = sigma * rng.normal();
      p[d] += m * v[3 * i + d];
    }
    mtot += m;
  }
  const zero = options.zeroMomentum ?? true;
  if (zero && n > 1) {
    for (let i = 0; i < n; i++) for (let d = 0; d < 3; d++) v[3 * i + d] -= p[d] / mtot;
  }
  if (options.exactTemperature && temperatureK > 0) {
    let ek = 0;
    for (let i = 0; i < n; i++) ek += 0.5 * masses[i] * (v[3 * i] ** 2 + v[3 * i + 1] ** 2 + v[3 * i + 2] ** 2) * AMU_A2_FS2_IN_EV;
    const dof = zero && n > 1 ? 3 * n - 3 : 3 * n;
    const t = (2 * ek) / (dof * BOLTZMANN_EV_PER_K);
    if (t > 0) {
      const s = Math.sqrt(temperatureK / t);
      for (let k = 0; k < v.length; k++) v[k] *= s;
    }
  }
  return v;
}

function checkTemperature(t: number): number {
  if (!(t >= 0) || !Number.isFinite(t)) throw new ArgumentError(`temperature must be a non-negative number of K, got ${t}`);
  return t;
}
