/**
 * Physical constants and unit conversions used by the integrators and optimizers.
 *
 * equiforce's simulation units are: length Å, time fs, mass amu, energy eV, temperature K,
 * velocity Å/fs, stress and pressure eV/Å³. Newton's law in these units needs one conversion
 * factor, because amu·Å²/fs² is not eV:
 *
 *   1 amu·Å²/fs² = 1.66053906660e-27 kg · 1e-20 m² / 1e-30 s² = 1.66053906660e-17 J
 *                = 1.66053906660e-17 / 1.602176634e-19 eV = 103.642696... eV.
 *
 * So kinetic energy is `0.5 · m · v² · AMU_A2_FS2_IN_EV` (eV) and the acceleration of an atom of
 * mass m (amu) under force F (eV/Å) is `F / (m · AMU_A2_FS2_IN_EV)` (Å/fs²).
 *
 * @module
 */

/** CODATA 2018 atomic mass constant, kg. */
const AMU_KG = 1.6605390666e-27;
/** Elementary charge (exact in SI 2019), C; 1 eV = this many J. */
const EV_J = 1.602176634e-19;

/** 1 amu·Å²/fs² expressed in eV (≈ 103.6427). */
export const AMU_A2_FS2_IN_EV = (AMU_KG * 1e-20) / 1e-30 / EV_J;

/** Boltzmann constant, eV/K (CODATA 2018, exact). */
export const BOLTZMANN_EV_PER_K = 1.380649e-23 / EV_J;

/** 1 eV/Å³ in GPa (≈ 160.2177). */
export const EV_PER_A3_IN_GPA = EV_J / 1e-30 / 1e9;

/** Convert a pressure or stress from GPa to eV/Å³. */
export function gpaToEvPerA3(gpa: number): number {
  return gpa / EV_PER_A3_IN_GPA;
}

/** Convert a pressure or stress from eV/Å³ to GPa. */
export function evPerA3ToGpa(evPerA3: number): number {
  return evPerA3 * EV_PER_A3_IN_GPA;
}
