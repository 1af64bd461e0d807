"""Thin driver for the ``xtb`` program (GFN2-xTB single points, optimisations and MD).

Every call runs in its own temporary directory with ``OMP_NUM_THREADS=1`` (xtb writes fixed file
names into the working directory). Units at this boundary: positions in Å, energies in eV, forces in
eV/Å; xtb itself works in Hartree and bohr (``energy`` and ``gradient`` files, ``mdrestart``).

MD is made reproducible by writing the start velocities ourselves (seeded Maxwell-Boltzmann) into
``mdrestart`` and running with ``restart=true``: xtb's own velocity initialisation is not seeded.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from typing import Optional, Sequence

import numpy as np

from .units import AMU_ELECTRON_MASS, BOHR_ANGSTROM, HARTREE_EV, HARTREE_PER_BOHR_EV_PER_ANGSTROM, KB_HARTREE_PER_K


class XtbError(RuntimeError):
    """xtb failed (missing binary, non-zero exit, SCF not converged, unreadable output)."""


def xtb_binary() -> Optional[str]:
    """Path of the xtb executable (``$XTB`` or ``xtb`` on PATH), or None."""
    return os.environ.get("XTB") or shutil.which("xtb")


def _float(token: str) -> float:
    return float(token.replace("D", "E").replace("d", "e"))


def parse_energy(text: str) -> float:
    """Total energy (Hartree) from xtb's Turbomole-style ``energy`` file (last cycle line)."""
    rows = [line.split() for line in text.splitlines()
            if line.strip() and not line.lstrip().startswith("$")]
    if not rows or len(rows[-1]) < 2:
        raise XtbError("energy file has no data line")
    return _float(rows[-1][1])


def parse_gradient(text: str, natoms: int) -> tuple:
    """(coordinates [N, 3] bohr, symbols [N], gradient [N, 3] Hartree/bohr) of the last cycle in a
    Turbomole-style ``gradient`` file: ``$grad``, then per cycle a ``cycle =`` line, N lines
    ``x y z symbol`` and N lines ``gx gy gz``."""
    lines = text.splitlines()
    starts = [i for i, line in enumerate(lines) if line.strip().startswith("cycle")]
    if not starts:
        raise XtbError("gradient file has no 'cycle' line")
    block = lines[starts[-1] + 1: starts[-1] + 1 + 2 * natoms]
    if len(block) != 2 * natoms or any(b.strip().startswith("$") for b in block):
        raise XtbError(f"gradient file does not hold {natoms} coordinate and gradient lines")
    coords = np.array([[_float(t) for t in b.split()[:3]] for b in block[:natoms]])
    symbols = [b.split()[3].capitalize() for b in block[:natoms]]
    grad = np.array([[_float(t) for t in b.split()[:3]] for b in block[natoms:]])
    if grad.shape != (natoms, 3):
        raise XtbError("malformed gradient lines")
    return coords, symbols, grad


def write_xyz(path: str, symbols: Sequence[str], positions: np.ndarray, comment: str = "") -> None:
    with open(path, "w") as f:
        f.write(f"{len(symbols)}\n{comment}\n")
        for s, p in zip(symbols, positions):
            f.write(f"{s:2s} {p[0]: .10f} {p[1]: .10f} {p[2]: .10f}\n")


def read_xyz_frames(path: str) -> list:
    """Positions [N, 3] (Å) of every frame of an xyz file (e.g. xtb.trj)."""
    frames = []
    with open(path) as f:
        lines = f.read().splitlines()
    i = 0
    while i < len(lines) and lines[i].strip():
        n = int(lines[i])
        frames.append(np.array([[float(t) for t in line.split()[1:4]] for line in lines[i + 2: i + 2 + n]]))
        i += 2 + n
    return frames


@dataclass
class Label:
    energy_eV: float
    forces_eV_per_A: np.ndarray  # [N, 3]


class Xtb:
    """Runs xtb jobs. ``method`` is ``gfn2`` (default) or ``gfnff`` (force field, MD sampling only)."""

    def __init__(self, binary: Optional[str] = None, timeout_s: float = 300.0) -> None:
        self.binary = binary or xtb_binary()
        if not self.binary:
            raise XtbError("xtb executable not found (install Debian's xtb or set $XTB)")
        self.timeout_s = timeout_s

    def _run(self, workdir: str, args: list) -> str:
        env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", OMP_STACKSIZE="200M")
        try:
            proc = subprocess.run([self.binary, *args], cwd=workdir, env=env, capture_output=True, text=True,
                                  timeout=self.timeout_s)
        except subprocess.TimeoutExpired as e:
            raise XtbError(f"xtb {' '.join(args)} timed out after {self.timeout_s} s") from e
        out = proc.stdout + proc.stderr
        if proc.returncode != 0 or "normal termination" not in out:
            tail = "\n".join(out.splitlines()[-8:])
            raise XtbError(f"xtb {' '.join(args)} failed (exit {proc.returncode}):\n{tail}")
        if "did not converge" in out.lower() or ("Runtime exception" in out and "topology" not in out):
            raise XtbError(f"xtb {' '.join(args)}: SCF not converged or runtime exception")
        return out

    @staticmethod
    def _spin_args(symbols: Sequence[str], charge: int, multiplicity: int) -> list:
        """--chrg/--uhf, after checking that the electron count fits the multiplicity (xtb itself would
        silently smear an odd electron over a closed-shell calculation)."""
        from ase.data import atomic_numbers

        if multiplicity < 1:
            raise ValueError(f"multiplicity must be >= 1, got {multiplicity}")
        electrons = sum(atomic_numbers[s] for s in symbols) - int(charge)
        if electrons < 0 or (electrons - (multiplicity - 1)) % 2:
            raise ValueError(f"{electrons} electrons cannot have multiplicity {multiplicity}")
        return ["--chrg", str(int(charge)), "--uhf", str(int(multiplicity) - 1)]

    def singlepoint(self, symbols: Sequence[str], positions: np.ndarray, charge: int = 0,
                    multiplicity: int = 1) -> Label:
        """GFN2-xTB energy (eV) and forces (eV/Å) = -gradient."""
        positions = np.asarray(positions, dtype=np.float64)
        with tempfile.TemporaryDirectory(prefix="xtb-sp-") as d:
            write_xyz(os.path.join(d, "coord.xyz"), symbols, positions)
            self._run(d, ["coord.xyz", "--grad", *self._spin_args(symbols, charge, multiplicity)])
            with open(os.path.join(d, "energy")) as f:
                e = parse_energy(f.read())
            with open(os.path.join(d, "gradient")) as f:
                coords, syms, g = parse_gradient(f.read(), len(symbols))
        if [s.lower() for s in syms] != [s.lower() for s in symbols]:
            raise XtbError("gradient file lists other elements than the input")
        if np.abs(coords * BOHR_ANGSTROM - positions).max() > 1e-5:
            raise XtbError("gradient file coordinates differ from the input geometry")
        return Label(e * HARTREE_EV, -g * HARTREE_PER_BOHR_EV_PER_ANGSTROM)

    def optimize(self, symbols: Sequence[str], positions: np.ndarray, charge: int = 0, multiplicity: int = 1,
                 level: str = "normal") -> np.ndarray:
        """GFN2-xTB geometry optimisation; returns positions (Å)."""
        with tempfile.TemporaryDirectory(prefix="xtb-opt-") as d:
            write_xyz(os.path.join(d, "coord.xyz"), symbols, np.asarray(positions, dtype=np.float64))
            self._run(d, ["coord.xyz", "--opt", level, *self._spin_args(symbols, charge, multiplicity)])
            return read_xyz_frames(os.path.join(d, "xtbopt.xyz"))[-1]

    def md(self, symbols: Sequence[str], positions: np.ndarray, masses_amu: np.ndarray, *, charge: int = 0,
           multiplicity: int = 1, temperature_K: float, time_ps: float, dump_fs: float, step_fs: float = 1.0,
           seed: int, method: str = "gfn2") -> list:
        """Berendsen-NVT MD (no SHAKE, real hydrogen masses) from seeded start velocities.

        The start velocities are drawn at 2·T (equipartition halves the kinetic energy when starting at a
        minimum). Returns the dumped frames' positions (Å), every ``dump_fs``.
        """
        positions = np.asarray(positions, dtype=np.float64)
        rng = np.random.default_rng(seed)
        m = np.asarray(masses_amu, dtype=np.float64) * AMU_ELECTRON_MASS
        kT = 2.0 * temperature_K * KB_HARTREE_PER_K
        v = rng.normal(size=positions.shape) * np.sqrt(kT / m)[:, None]
        v -= (m[:, None] * v).sum(0) / m.sum()  # no centre-of-mass drift
        x = positions / BOHR_ANGSTROM
        with tempfile.TemporaryDirectory(prefix="xtb-md-") as d:
            write_xyz(os.path.join(d, "coord.xyz"), symbols, positions)
            with open(os.path.join(d, "mdrestart"), "w") as f:
                f.write(" -1.0\n")
                for p, w in zip(x, v):
                    f.write(" ".join(f"{q: .14E}" for q in (*p, *w)) + "\n")
            with open(os.path.join(d, "md.inp"), "w") as f:
                f.write(f"$md\n   temp={temperature_K:.2f}\n   time={time_ps:.4f}\n   dump={dump_fs:.2f}\n"
                        f"   step={step_fs:.3f}\n   hmass=1\n   shake=0\n   nvt=true\n   restart=true\n$end\n")
            args = ["coord.xyz", "--md", "--input", "md.inp", *self._spin_args(symbols, charge, multiplicity)]
            if method == "gfnff":
                args.insert(1, "--gfnff")
            elif method != "gfn2":
                raise ValueError(f"method must be gfn2 or gfnff, got {method!r}")
            self._run(d, args)
            return read_xyz_frames(os.path.join(d, "xtb.trj"))
