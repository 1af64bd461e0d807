"""``metal`` task data: ASE's EMT (Al, Cu, Ag, Au, Ni, Pd, Pt) energies, forces and stress.

Structures (all periodic, 8-64 atoms, seeded by ``--seed``):

* pure elements: rattled bulk fcc at 0.95-1.06 × the EMT lattice constant in cubic and primitive
  supercells (``bulk``), vacancies (``vacancy``), random symmetric strains up to ±4 % including shear
  (``strain``), (100)/(111)/(110) slabs with ≥ 14 Å of vacuum between periodic images (``slab``), and
  Langevin MD snapshots at 300-1500 K (``md``);
* random binary alloys (all 21 pairs at 25/50/75 %) and ternary alloys (all 35 triples, equiatomic and
  2:1:1), as random fcc solid solutions with Vegard's-law lattice constants, with the same structure kinds.

Every frame carries its split group: the element symbol for pure elements and the nominal alloy
composition (e.g. ``Cu0.25Ni0.75``) for alloys; a vacancy keeps its parent's group.
Energies are EMT total energies (eV), forces eV/Å, stress eV/Å³ (ASE sign: ``atoms.get_stress``).
"""

from __future__ import annotations

import argparse
import itertools
import sys
import time
from typing import Optional

import numpy as np

from .store import Frame, FrameSet, pack

ELEMENTS = ["Al", "Cu", "Ag", "Au", "Ni", "Pd", "Pt"]
BASE_SEED = 1500
# cubic (4-atom conventional) repetitions and primitive (1-atom) repetitions: 8-64 atoms
CUBIC_REPS = [(2, 1, 1), (2, 2, 1), (3, 2, 1), (2, 2, 2), (3, 2, 2), (4, 2, 2)]
PRIM_REPS = [(2, 2, 2), (2, 2, 3), (3, 3, 2), (3, 3, 3), (4, 3, 3), (4, 4, 3)]


def emt_lattice_constants() -> dict:
    """EMT's own fcc equilibrium lattice constant of every element (Å), by a bounded scalar fit."""
    from ase.build import bulk
    from ase.calculators.emt import EMT
    from scipy.optimize import minimize_scalar

    out = {}
    for el in ELEMENTS:
        def energy(a, el=el):
            atoms = bulk(el, "fcc", a=a)
            atoms.calc = EMT()
            return atoms.get_potential_energy()
        out[el] = float(minimize_scalar(energy, bounds=(3.2, 4.6), method="bounded",
                                        options={"xatol": 1e-6}).x)
    return out


def _label(atoms, group: str, kind: str) -> Frame:
    from ase.calculators.emt import EMT

    atoms.calc = EMT()
    e = atoms.get_potential_energy()
    f = atoms.get_forces()
    s = atoms.get_stress(voigt=False)
    return Frame(numbers=atoms.numbers.copy(), positions=atoms.positions.copy(), energy=float(e), forces=f.copy(),
                 charge=0, spin=0, cell=np.array(atoms.cell), stress=np.array(s), group=group, kind=kind)


def _composition_label(fracs: dict) -> str:
    return "".join(f"{el}{fracs[el]:.2f}" for el in sorted(fracs))


def _assign(n: int, fracs: dict, rng: np.random.Generator) -> list:
    """Random arrangement of round(x·n) atoms of each element (largest remainder)."""
    els = sorted(fracs)
    raw = np.array([fracs[e] * n for e in els])
    counts = np.floor(raw).astype(int)
    for i in np.argsort(-(raw - counts))[: n - counts.sum()]:
        counts[i] += 1
    symbols = [e for e, c in zip(els, counts) for _ in range(c)]
    rng.shuffle(symbols)
    return symbols


class MetalGenerator:
    def __init__(self, seed: int = BASE_SEED) -> None:
        self.rng = np.random.default_rng(seed)
        self.a0 = emt_lattice_constants()

    def lattice(self, fracs: dict) -> float:
        return sum(x * self.a0[el] for el, x in fracs.items())

    def _bulk_cell(self, fracs: dict, scale: float, min_atoms: int = 8, max_atoms: int = 64):
        from ase.build import bulk

        a = self.lattice(fracs) * scale
        if self.rng.random() < 0.6:
            reps = CUBIC_REPS[self.rng.integers(len(CUBIC_REPS))]
            atoms = bulk("Cu", "fcc", a=a, cubic=True).repeat(reps)
        else:
            reps = PRIM_REPS[self.rng.integers(len(PRIM_REPS))]
            atoms = bulk("Cu", "fcc", a=a).repeat(reps)
        if not min_atoms <= len(atoms) <= max_atoms:
            return self._bulk_cell(fracs, scale, min_atoms, max_atoms)
        atoms.set_chemical_symbols(_assign(len(atoms), fracs, self.rng))
        return atoms

    def _rattle(self, atoms, sigma: float):
        atoms.positions += self.rng.normal(scale=sigma, size=atoms.positions.shape)
        return atoms

    def bulk(self, fracs, group):
        atoms = self._bulk_cell(fracs, self.rng.uniform(0.95, 1.06))
        return _label(self._rattle(atoms, self.rng.uniform(0.0, 0.12)), group, "bulk")

    def vacancy(self, fracs, group):
        atoms = self._bulk_cell(fracs, self.rng.uniform(0.98, 1.03), min_atoms=16)
        for _ in range(self.rng.integers(1, 3)):
            del atoms[int(self.rng.integers(len(atoms)))]
        return _label(self._rattle(atoms, self.rng.uniform(0.02, 0.08)), group, "vacancy")

    def strain(self, fracs, group):
        atoms = self._bulk_cell(fracs, 1.0)
        eps = self.rng.uniform(-0.04, 0.04, size=(3, 3))
        eps = 0.5 * (eps + eps.T)
        atoms.set_cell(np.array(atoms.cell) @ (np.eye(3) + eps), scale_atoms=True)
        return _label(self._rattle(atoms, 0.03), group, "strain")

    def slab(self, fracs, group):
        from ase.build import fcc100, fcc110, fcc111

        a = self.lattice(fracs) * self.rng.uniform(0.98, 1.02)
        builder, size = [(fcc100, (2, 2, 4)), (fcc111, (2, 2, 4)), (fcc110, (2, 2, 4)), (fcc100, (3, 3, 3)),
                         (fcc111, (3, 2, 4)), (fcc111, (2, 4, 5))][self.rng.integers(6)]
        atoms = builder("Cu", size=size, a=a, vacuum=7.0, orthogonal=True)
        atoms.pbc = True
        atoms.set_chemical_symbols(_assign(len(atoms), fracs, self.rng))
        return _label(self._rattle(atoms, self.rng.uniform(0.0, 0.08)), group, "slab")

    def md(self, fracs, group, temperature_K: float, snapshots: int, interval: int = 25, equilibrate: int = 80):
        from ase import units
        from ase.calculators.emt import EMT
        from ase.md.langevin import Langevin
        from ase.md.velocitydistribution import MaxwellBoltzmannDistribution

        # mild thermal expansion so hot cells are not strongly compressed
        atoms = self._bulk_cell(fracs, 1.0 + 1.5e-5 * temperature_K, min_atoms=16, max_atoms=32)
        atoms.calc = EMT()
        MaxwellBoltzmannDistribution(atoms, temperature_K=temperature_K, rng=self.rng)
        dyn = Langevin(atoms, 3.0 * units.fs, temperature_K=temperature_K, friction=0.02, rng=self.rng)
        dyn.run(equilibrate)
        frames = []
        for _ in range(snapshots):
            dyn.run(interval)
            frames.append(_label(atoms.copy(), group, "md"))
        return frames

    def composition(self, fracs: dict, counts: dict) -> list:
        group = list(fracs)[0] if len(fracs) == 1 else _composition_label(fracs)
        frames = [self.bulk(fracs, group) for _ in range(counts["bulk"])]
        frames += [self.vacancy(fracs, group) for _ in range(counts["vacancy"])]
        frames += [self.strain(fracs, group) for _ in range(counts["strain"])]
        frames += [self.slab(fracs, group) for _ in range(counts["slab"])]
        for t in counts["md_temperatures"]:
            frames += self.md(fracs, group, float(t), counts["md_snapshots"])
        return frames


def compositions() -> list:
    """(fractions, counts) for every composition, in a fixed order."""
    out = []
    pure = dict(bulk=14, vacancy=6, strain=8, slab=6, md_temperatures=[300, 600, 900, 1200, 1500], md_snapshots=4)
    for el in ELEMENTS:
        out.append(({el: 1.0}, pure))
    binary = dict(bulk=6, vacancy=1, strain=2, slab=1, md_temperatures=[None], md_snapshots=4)
    for a, b in itertools.combinations(ELEMENTS, 2):
        for x in (0.25, 0.5, 0.75):
            out.append(({a: x, b: 1 - x}, binary))
    ternary = dict(bulk=5, vacancy=1, strain=1, slab=1, md_temperatures=[None], md_snapshots=3)
    for a, b, c in itertools.combinations(ELEMENTS, 3):
        out.append(({a: 1 / 3, b: 1 / 3, c: 1 / 3}, ternary))
        out.append(({a: 0.5, b: 0.25, c: 0.25}, ternary))
    return out


def run(out: Optional[str], seed: int = BASE_SEED, limit: Optional[int] = None, log=sys.stderr) -> FrameSet:
    gen = MetalGenerator(seed)
    frames = []
    t0 = time.time()
    comps = compositions()[:limit] if limit else compositions()
    for k, (fracs, counts) in enumerate(comps):
        counts = dict(counts)
        counts["md_temperatures"] = [t if t is not None else float(gen.rng.uniform(300, 1500))
                                     for t in counts["md_temperatures"]]
        frames += gen.composition(fracs, counts)
        if k % 10 == 0:
            print(f"[metal {k + 1}/{len(comps)}] {len(frames)} frames, {time.time() - t0:.0f} s", file=log, flush=True)
    arrays = pack(frames, "metal")
    if out:
        np.savez_compressed(out, **arrays)
    return FrameSet(arrays)


def main(argv: Optional[list] = None) -> int:
    ap = argparse.ArgumentParser(description="Generate the metal task data set (ASE EMT).")
    ap.add_argument("--out", default="../data/metal.npz")
    ap.add_argument("--seed", type=int, default=BASE_SEED)
    ap.add_argument("--limit", type=int, default=None, help="only the first N compositions (testing)")
    args = ap.parse_args(argv)
    fs = run(args.out, args.seed, args.limit)
    print(f"wrote {args.out}: {len(fs)} frames, {int(fs.a['natoms'].sum())} atoms, "
          f"{len(fs.a['groups'])} compositions", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
