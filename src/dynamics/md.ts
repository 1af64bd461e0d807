/**
 * The molecular-dynamics engine shared by all integrators: state (positions, velocities,
 * forces, cell), derived quantities (kinetic energy, temperature, pressure, conserved energy),
 * observers, and a run loop that can be stopped with an AbortSignal.
 *
 * Units: positions Å, velocities Å/fs, time fs, masses amu, energies eV, stress and pressure
 * eV/Å³, temperature K. See {@link AMU_A2_FS2_IN_EV} for the one conversion factor involved.
 *
 * @module
 */
import { ArgumentError, EquiforceError } from '../errors.js';
import { cellVolume } from '../geometry/cell.js';
import { Structure, type Info, type PerAtomArrays } from '../structure/structure.js';
import { isFullyPeriodic, type ForceProvider } from './provider.js';
import { AMU_A2_FS2_IN_EV, BOLTZMANN_EV_PER_K, EV_PER_A3_IN_GPA } from './units.js';

/** Options shared by every integrator. */
export interface DynamicsOptions {
  /** Time step, fs (typically 0.5–2 fs; 0.5 fs with hydrogen). */
  readonly timestepFs: number;
  /**
   * Initial velocities, Å/fs, 3 per atom. Default: the structure's `velocities` column when it
   * has one (e.g. a trajectory frame), else zeros (use {@link maxwellBoltzmannVelocities}).
   */
  readonly velocities?: ArrayLike<number>;
}

/** Called with the dynamics object after every `interval` steps (and once before the first step). */
export type DynamicsObserver = (dynamics: MolecularDynamics) => void | Promise<void>;

/** Options of {@link MolecularDynamics.run}. */
export interface RunOptions {
  /** Stops the run cleanly between two steps when aborted; the state stays consistent. */
  readonly signal?: AbortSignal;
}

/** What a {@link MolecularDynamics.run} call did. */
export interface RunSummary {
  /** Steps taken by this call. */
  readonly steps: number;
  /** True when the run stopped early because the signal was aborted. */
  readonly aborted: boolean;
}

/**
 * Base class of the integrators ({@link VelocityVerlet}, {@link Langevin}, {@link BerendsenNPT}).
 * Holds its own copies of positions, velocities and forces, updated in place every step, so a
 * long run allocates nothing that accumulates.
 */
export abstract class MolecularDynamics {
  /** The energy/force source. */
  readonly provider: ForceProvider;
  /** Time step, fs. */
  readonly timestepFs: number;
  /** Atomic numbers. */
  readonly numbers: Int32Array;
  /** Masses, amu. */
  readonly masses: Float64Array;
  /** Current positions, Å (3N, updated in place). */
  readonly positions: Float64Array;
  /** Current velocities, Å/fs (3N, updated in place). */
  readonly velocities: Float64Array;
  /** Forces at the current positions, eV/Å (3N). */
  readonly forces: Float64Array;
  /** Current cell, 9 numbers row-major, Å (changes only under a barostat). */
  readonly cell: Float64Array;
  /** Potential energy at the current positions, eV (NaN before the first evaluation). */
  potentialEnergy = Number.NaN;
  /** Stress at the current positions, eV/Å³ Voigt (fully periodic systems only). */
  stress: Float64Array | undefined = undefined;
  /** Steps taken so far. */
  steps = 0;
  /** Number of force evaluations so far. */
  evaluations = 0;

  /** 1/(m·C) per atom, so that acceleration = F · invMass (Å/fs² from eV/Å). */
  protected readonly invMass: Float64Array;
  private readonly template: Structure;
  private readonly wantStress: boolean;
  private readonly observers: { fn: DynamicsObserver; interval: number }[] = [];
  private observedAt = -1;

  /**
   * @throws ArgumentError for a non-positive time step or velocities of the wrong length.
   */
  constructor(provider: ForceProvider, structure: Structure, options: DynamicsOptions) {
    if (!(options.timestepFs > 0) || !Number.isFinite(options.timestepFs)) {
      throw new ArgumentError(`time step must be a positive number of fs, got ${options.timestepFs}`);
    }
    const n = structure.length;
    if (n === 0) throw new ArgumentError('molecular dynamics needs at least one atom');
    this.provider = provider;
    this.timestepFs = options.timestepFs;
    this.numbers = Int32Array.from(structure.numbers);
    this.masses = structure.masses;
    this.positions = Float64Array.from(structure.positions);
    this.cell = Float64Array.from(structure.cell);
    this.forces = new Float64Array(3 * n);
    this.invMass = new Float64Array(n);
    for (let i = 0; i < n; i++) this.invMass[i] = 1 / (this.masses[i] * AMU_A2_FS2_IN_EV);
    const column = structure.arrays.velocities;
    const v0 = options.velocities ?? (column && column.type === 'float' && column.components === 3 ? column.data : undefined);
    if (v0 !== undefined && v0.length !== 3 * n) {
      throw new ArgumentError(`velocities have ${v0.length} values but ${n} atoms need ${3 * n}`);
    }
    this.velocities = v0 ? Float64Array.from(v0) : new Float64Array(3 * n);
    for (let k = 0; k < 3 * n; k++) {
      if (!Number.isFinite(this.velocities[k])) throw new ArgumentError(`velocity of atom ${Math.floor(k / 3)} is not finite`);
    }
    this.template = new Structure({ numbers: structure.numbers, positions: structure.positions, cell: structure.cell, pbc: structure.pbc, charge: structure.charge, spin: structure.spin });
    this.wantStress = isFullyPeriodic(structure);
  }

  /** Number of atoms. */
  get length(): number {
    return this.numbers.length;
  }

  /** Simulated time, fs. */
  get timeFs(): number {
    return this.steps * this.timestepFs;
  }

  /** Kinetic energy ½ Σ m v², eV. */
  get kineticEnergy(): number {
    const v = this.velocities;
    let e = 0;
    for (let i = 0; i < this.masses.length; i++) {
      const vx = v[3 * i];
      const vy = v[3 * i + 1];
      const vz = v[3 * i + 2];
      e += this.masses[i] * (vx * vx + vy * vy + vz * vz);
    }
    return 0.5 * e * AMU_A2_FS2_IN_EV;
  }

  /**
   * Degrees of freedom used for the temperature: 3N − 3 when the integrator conserves total
   * momentum (the centre-of-mass motion carries no heat), 3N for the Langevin thermostat,
   * whose random kicks thermalise every Cartesian degree of freedom.
   */
  get degreesOfFreedom(): number {
    const n = this.length;
    return n > 1 ? 3 * n - 3 : 3;
  }

  /** Instantaneous kinetic temperature 2·Ekin/(dof·k_B), K. */
  get temperature(): number {
    return (2 * this.kineticEnergy) / (this.degreesOfFreedom * BOLTZMANN_EV_PER_K);
  }

  /** Potential plus kinetic energy, eV. */
  get totalEnergy(): number {
    return this.potentialEnergy + this.kineticEnergy;
  }

  /**
   * The quantity the integrator conserves, eV: the total energy for NVE; for thermostats, the
   * total energy minus the heat the thermostat put in (so it stays flat when integration is accurate).
   */
  get conservedEnergy(): number {
    return this.totalEnergy;
  }

  /** Cell volume, Å³ (0 without a full cell). */
  get volume(): number {
    return cellVolume(this.cell);
  }

  /**
   * Instantaneous pressure, eV/Å³: −trace(stress)/3 plus the ideal-gas (kinetic) term
   * 2·Ekin/(3V). Undefined unless the system is periodic along all three axes.
   */
  get pressure(): number | undefined {
    if (!this.stress) return undefined;
    const s = this.stress;
    return -(s[0] + s[1] + s[2]) / 3 + (2 * this.kineticEnergy) / (3 * this.volume);
  }

  /**
   * Register an observer called every `interval` steps (and once before the first step).
   * @returns a function that removes it again.
   */
  attach(observer: DynamicsObserver, interval = 1): () => void {
    if (!Number.isInteger(interval) || interval < 1) throw new ArgumentError(`observer interval must be a positive integer, got ${interval}`);
    const entry = { fn: observer, interval };
    this.observers.push(entry);
    return () => {
      const k = this.observers.indexOf(entry);
      if (k >= 0) this.observers.splice(k, 1);
    };
  }

  /** The current configuration (positions and cell) as a bare Structure. */
  structure(): Structure {
    const t = this.template;
    return new Structure({ numbers: t.numbers, positions: this.positions, cell: this.cell, pbc: t.pbc, charge: t.charge, spin: t.spin });
  }

  /**
   * The current state as a trajectory frame: positions and cell, per-atom `forces` (eV/Å) and
   * `velocities` (Å/fs), and info `energy` (eV), `stress` (3×3, eV/Å³, when defined), `step`,
   * `time_fs`, `temperature_K`, `kinetic_energy` (eV), `conserved_energy` (eV) and
   * `pressure_GPa` (when defined).
   */
  snapshot(): Structure {
    const t = this.template;
    const info: Record<string, Info[string]> = {
      energy: this.potentialEnergy,
      step: this.steps,
      time_fs: this.timeFs,
      temperature_K: this.temperature,
      kinetic_energy: this.kineticEnergy,
      conserved_energy: this.conservedEnergy,
    };
    if (this.stress) {
      const s = this.stress;
      info.stress = [s[0], s[5], s[4], s[5], s[1], s[3], s[4], s[3], s[2]];
      info.pressure_GPa = (this.pressure as number) * EV_PER_A3_IN_GPA;
    }
    const arrays: PerAtomArrays = {
      forces: { type: 'float', components: 3, data: this.forces },
      velocities: { type: 'float', components: 3, data: this.velocities },
    };
    return new Structure({ numbers: t.numbers, positions: this.positions, cell: this.cell, pbc: t.pbc, charge: t.charge, spin: t.spin, info, arrays });
  }

  /** Evaluate energy, forces (and stress for periodic cells) at the current positions. */
  async evaluate(): Promise<void> {
    const result = await this.provider.compute(this.structure(), { forces: true, stress: this.wantStress });
    const f = result.forces;
    if (!f || f.length !== this.forces.length) throw new EquiforceError('provider-result', 'the force provider returned no forces or forces of the wrong length');
    if (!Number.isFinite(result.energy)) {
      throw new EquiforceError('simulation-unstable', `the potential energy became ${result.energy} at step ${this.steps}: the simulation is unstable (reduce the time step?)`);
    }
    this.forces.set(f);
    this.potentialEnergy = result.energy;
    if (this.wantStress) {
      if (!result.stress) throw new EquiforceError('provider-result', 'the force provider returned no stress for a periodic cell');
      this.stress = Float64Array.from(result.stress);
    }
    this.evaluations++;
  }

  /**
   * Take `steps` steps (computing the initial forces first if needed), calling observers as
   * registered. Stops early, between steps, when `options.signal` is aborted.
   */
  async run(steps: number, options: RunOptions = {}): Promise<RunSummary> {
    if (!Number.isInteger(steps) || steps < 0) throw new ArgumentError(`number of steps must be a non-negative integer, got ${steps}`);
    if (this.evaluations === 0) await this.evaluate();
    if (this.observedAt < 0) await this.notify(true);
    let done = 0;
    while (done < steps) {
      if (options.signal?.aborted) return { steps: done, aborted: true };
      await this.step();
      this.steps++;
      done++;
      await this.notify(false);
    }
    return { steps: done, aborted: false };
  }

  /** Advance positions, velocities and forces by one time step. */
  protected abstract step(): Promise<void>;

  /** Half kick: v += (dt/2)·F/m with the current forces. */
  protected halfKick(): void {
    const h = 0.5 * this.timestepFs;
    const v = this.velocities;
    const f = this.forces;
    for (let i = 0; i < this.invMass.length; i++) {
      const s = h * this.invMass[i];
      v[3 * i] += s * f[3 * i];
      v[3 * i + 1] += s * f[3 * i + 1];
      v[3 * i + 2] += s * f[3 * i + 2];
    }
  }

  /** Drift: x += dt·v. */
  protected drift(dt: number): void {
    const x = this.positions;
    const v = this.velocities;
    for (let k = 0; k < x.length; k++) x[k] += dt * v[k];
  }

  private async notify(initial: boolean): Promise<void> {
    this.observedAt = this.steps;
    for (const { fn, interval } of this.observers) {
      if (initial || this.steps % interval === 0) await fn(this);
    }
  }
}
