/**
 * Ready-made observers for {@link MolecularDynamics.attach}: an extended XYZ trajectory writer
 * and a text log.
 *
 * @module
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import { ExtxyzWriter } from '../io/extxyz.js';
import type { MolecularDynamics } from './md.js';
import { EV_PER_A3_IN_GPA } from './units.js';

/**
 * Appends MD frames (positions, cell, forces, velocities, energy, stress, time, temperature)
 * to an extended XYZ file as the run goes, one frame per call, so memory stays flat and the
 * file is readable (by equiforce or ASE) while the run is still going.
 *
 * ```ts
 * const traj = new TrajectoryWriter('md.extxyz');
 * md.attach(traj.observer, 10);
 * await md.run(1000);
 * traj.close();
 * ```
 */
export class TrajectoryWriter {
  private readonly writer: ExtxyzWriter;
  private lastStep = -1;

  /** Open (truncate) `path`; pass `{ append: true }` to continue an existing file. */
  constructor(path: string, options: { readonly append?: boolean } = {}) {
    this.writer = new ExtxyzWriter(path, { append: options.append });
  }

  /** The file being written. */
  get path(): string {
    return this.writer.path;
  }

  /** Frames written so far. */
  get frames(): number {
    return this.writer.frames;
  }

  /** Write the current state of `dynamics` as one frame (skipped if that step was already written). */
  write(dynamics: MolecularDynamics): void {
    if (dynamics.steps === this.lastStep) return;
    this.writer.write(dynamics.snapshot());
    this.lastStep = dynamics.steps;
  }

  /** The observer to pass to {@link MolecularDynamics.attach}. */
  readonly observer = (dynamics: MolecularDynamics): void => this.write(dynamics);

  /** Close the file. */
  close(): void {
    this.writer.close();
  }
}

/** One line of an MD log. */
export interface LogEntry {
  /** Step number. */
  readonly step: number;
  /** Time, fs. */
  readonly timeFs: number;
  /** Potential energy, eV. */
  readonly potentialEnergy: number;
  /** Kinetic energy, eV. */
  readonly kineticEnergy: number;
  /** Total energy, eV. */
  readonly totalEnergy: number;
  /** Conserved quantity of the integrator, eV. */
  readonly conservedEnergy: number;
  /** Temperature, K. */
  readonly temperatureK: number;
  /** Pressure, GPa (periodic cells only). */
  readonly pressureGPa?: number;
}

/** Read one log entry off the dynamics. */
export function logEntry(dynamics: MolecularDynamics): LogEntry {
  const p = dynamics.pressure;
  return {
    step: dynamics.steps,
    timeFs: dynamics.timeFs,
    potentialEnergy: dynamics.potentialEnergy,
    kineticEnergy: dynamics.kineticEnergy,
    totalEnergy: dynamics.totalEnergy,
    conservedEnergy: dynamics.conservedEnergy,
    temperatureK: dynamics.temperature,
    ...(p === undefined ? {} : { pressureGPa: p * EV_PER_A3_IN_GPA }),
  };
}

/** Header line of {@link formatLogEntry}'s table. */
export const LOG_HEADER = '#    step    time[fs]       Epot[eV]       Ekin[eV]       Etot[eV]  Econserved[eV]       T[K]   P[GPa]';

/** Format one entry as a fixed-width log line (columns of {@link LOG_HEADER}). */
export function formatLogEntry(e: LogEntry): string {
  const f = (x: number, w: number, d: number): string => x.toFixed(d).padStart(w);
  return (
    String(e.step).padStart(9) +
    f(e.timeFs, 12, 2) +
    f(e.potentialEnergy, 15, 6) +
    f(e.kineticEnergy, 15, 6) +
    f(e.totalEnergy, 15, 6) +
    f(e.conservedEnergy, 16, 6) +
    f(e.temperatureK, 11, 2) +
    (e.pressureGPa === undefined ? '        -' : f(e.pressureGPa, 9, 3))
  );
}

/**
 * A text log of an MD run (step, time, energies, temperature, pressure), written to a file or
 * handed to a callback line by line.
 */
export class MDLogger {
  private fd: number | undefined;
  private readonly sink: ((line: string) => void) | undefined;
  private headerDone = false;

  /** @param target a file path (truncated) or a function receiving each line. */
  constructor(target: string | ((line: string) => void)) {
    if (typeof target === 'string') this.fd = openSync(target, 'w');
    else this.sink = target;
  }

  /** Log the current state of `dynamics`. */
  write(dynamics: MolecularDynamics): void {
    if (!this.headerDone) {
      this.emit(LOG_HEADER);
      this.headerDone = true;
    }
    this.emit(formatLogEntry(logEntry(dynamics)));
  }

  /** The observer to pass to {@link MolecularDynamics.attach}. */
  readonly observer = (dynamics: MolecularDynamics): void => this.write(dynamics);

  /** Close the log file (no-op for callbacks). */
  close(): void {
    if (this.fd !== undefined) {
      closeSync(this.fd);
      this.fd = undefined;
    }
  }

  private emit(line: string): void {
    if (this.fd !== undefined) writeSync(this.fd, line + '\n');
    else this.sink?.(line);
  }
}
