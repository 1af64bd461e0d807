/**
 * Molecular dynamics: the force-provider interface, velocity Verlet (NVE), Langevin (NVT),
 * Berendsen NPT, Maxwell–Boltzmann velocities, trajectory and log observers, units.
 *
 * @module
 */
export * from './units.js';
export * from './random.js';
export * from './provider.js';
export * from './md.js';
export * from './integrators.js';
export * from './observers.js';
