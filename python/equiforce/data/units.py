"""Unit conversions used by the data generators (CODATA 2018, as in xtb and ASE)."""

HARTREE_EV = 27.211386245988  # eV per Hartree
BOHR_ANGSTROM = 0.529177210903  # Å per bohr
HARTREE_PER_BOHR_EV_PER_ANGSTROM = HARTREE_EV / BOHR_ANGSTROM  # (eV/Å) per (Hartree/bohr)
KB_HARTREE_PER_K = 3.166811563e-6  # Boltzmann constant, Hartree/K
AMU_ELECTRON_MASS = 1822.888486209  # electron masses per amu
