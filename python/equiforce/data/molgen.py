"""``mol`` task data: GFN2-xTB energies and forces of organic molecules (H, C, N, O, F, S, Cl).

Per molecule of ``mol_smiles.tsv`` (index k, seed = base seed + k):

1. RDKit ETKDGv3 conformers (two, seeded), MMFF-relaxed where MMFF has parameters;
2. a GFN2-xTB optimisation of conformer 0 (falls back to the MMFF geometry if it fails);
3. frames: the optimum (``eq``), the optimum with 0.02 / 0.05 Å Gaussian noise (``near_eq``), raw
   ETKDG conformer 1 (``etkdg``), the optimum with 0.08 / 0.12 / 0.16 Å noise (``distorted``), a GFN2-xTB
   Berendsen MD at T1 ~ U(300, 1000) K (``md_gfn2``: 0.25 ps, 1 fs step, every 25 fs after the first 25 fs)
   and a GFN-FF MD at T2 ~ U(300, 1000) K from conformer 1 (``md_gfnff``: 2 ps, every 200 fs);
4. every frame labelled by a GFN2-xTB single point with gradient (energy eV, forces eV/Å).

Results are cached per molecule (``<cache>/NNNN.npz``) so an interrupted run resumes; ``assemble`` joins
them into one ``FrameSet``. Frames whose labelling fails (SCF not converged) or whose largest force
exceeds ``MAX_FORCE`` eV/Å are dropped and counted.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import dataclass
from typing import Optional

import numpy as np

from .store import Frame, FrameSet, pack
from .xtb import Xtb, XtbError

SMILES_FILE = os.path.join(os.path.dirname(__file__), "mol_smiles.tsv")
ELEMENTS = {"H", "C", "N", "O", "F", "S", "Cl"}
MAX_ATOMS = 30
MAX_FORCE = 15.0  # eV/Å; frames above are dropped as unphysical
BASE_SEED = 20261124


@dataclass
class Species:
    index: int
    smiles: str
    charge: int
    multiplicity: int
    cls: str


def read_species(path: str = SMILES_FILE, first_index: int = 0) -> list:
    """Rows of a SMILES table with charge/multiplicity resolved (RDKit formal charges / radicals),
    numbered from ``first_index``."""
    from rdkit import Chem

    out = []
    with open(path) as f:
        for line in f:
            if not line.strip() or line.startswith("#"):
                continue
            smiles, c, m, cls = line.rstrip("\n").split("\t")
            mol = Chem.MolFromSmiles(smiles)
            if mol is None:
                raise ValueError(f"invalid SMILES {smiles!r}")
            h = Chem.AddHs(mol)
            charge = Chem.GetFormalCharge(mol) if c == "-" else int(c)
            mult = sum(a.GetNumRadicalElectrons() for a in h.GetAtoms()) + 1 if m == "-" else int(m)
            symbols = {a.GetSymbol() for a in h.GetAtoms()}
            if not symbols <= ELEMENTS or h.GetNumAtoms() > MAX_ATOMS:
                raise ValueError(f"{smiles}: elements {symbols} / {h.GetNumAtoms()} atoms outside the task's scope")
            electrons = sum(a.GetAtomicNum() for a in h.GetAtoms()) - charge
            if (electrons - (mult - 1)) % 2:
                raise ValueError(f"{smiles}: charge {charge} and multiplicity {mult} are inconsistent")
            out.append(Species(first_index + len(out), smiles, charge, mult, cls))
    return out


def all_species() -> list:
    """The hand-written table (species 0..411), then the enumerated ones (``mol_enumerate``: round 1,
    species 412..976, round 2, 977..1686, round 3, 1687..2366, then round 4), those present, numbered in that order."""
    from .mol_enumerate import ROUND_FILES

    out = read_species(SMILES_FILE)
    for path in (ROUND_FILES[r] for r in sorted(ROUND_FILES)):
        if os.path.exists(path):
            out += read_species(path, first_index=len(out))
    return out


def group_key(smiles: str) -> str:
    """Split unit: the canonical SMILES (charge states written with the same SMILES share a group)."""
    from rdkit import Chem

    return Chem.MolToSmiles(Chem.MolFromSmiles(smiles))


def conformers(smiles: str, seed: int, n: int = 2) -> tuple:
    """(symbols, masses amu, [raw ETKDG positions], [MMFF-relaxed positions]) for ``n`` conformers."""
    from rdkit import Chem
    from rdkit.Chem import AllChem

    mol = Chem.AddHs(Chem.MolFromSmiles(smiles))
    params = AllChem.ETKDGv3()
    params.randomSeed = seed
    cids = list(AllChem.EmbedMultipleConfs(mol, n, params))
    if len(cids) < n:
        params.useRandomCoords = True
        cids = list(AllChem.EmbedMultipleConfs(mol, n, params))
    if not cids:
        raise RuntimeError(f"RDKit could not embed {smiles}")
    raw = [mol.GetConformer(c).GetPositions().copy() for c in cids]
    try:
        if AllChem.MMFFHasAllMoleculeParams(mol):
            AllChem.MMFFOptimizeMoleculeConfs(mol, maxIters=500)
    except Exception:  # noqa: BLE001 - MMFF lacks some ions/radicals; raw geometries are still usable
        pass
    relaxed = [mol.GetConformer(c).GetPositions().copy() for c in cids]
    while len(raw) < n:
        raw.append(raw[-1]), relaxed.append(relaxed[-1])
    symbols = [a.GetSymbol() for a in mol.GetAtoms()]
    masses = np.array([a.GetMass() for a in mol.GetAtoms()])
    return symbols, masses, raw, relaxed


def _noisy(pos: np.ndarray, sigma: float, rng: np.random.Generator, min_dist: float = 0.6) -> np.ndarray:
    for _ in range(50):
        p = pos + rng.normal(scale=sigma, size=pos.shape)
        d = np.linalg.norm(p[:, None] - p[None], axis=-1) + np.eye(len(p)) * 1e9
        if d.min() > min_dist:
            return p
    return pos + rng.normal(scale=sigma / 4, size=pos.shape)


def has_coordinate_ties(positions: np.ndarray) -> bool:
    """True if two atoms share an exact x, y or z value (also after float32 rounding)."""
    for p in (np.asarray(positions, dtype=np.float64), np.asarray(positions, dtype=np.float32)):
        for k in range(3):
            if (np.diff(np.sort(p[:, k])) == 0).any():
                return True
    return False


def label(xtb: Xtb, symbols, positions: np.ndarray, charge: int, multiplicity: int, seed: int) -> tuple:
    """(positions, Label). xtb 6.5's GFN2 gradient is wrong when two atoms share an exact Cartesian
    coordinate (e.g. axis-aligned RDKit geometries of small molecules; found by finite differences in
    tests/test_data_xtb.py). Such geometries are rotated by a seeded random rotation first; the frame is
    stored in that orientation (the model is rotation-equivariant)."""
    positions = np.asarray(positions, dtype=np.float64)
    rng = np.random.default_rng(seed)
    while has_coordinate_ties(positions):
        q, r = np.linalg.qr(rng.normal(size=(3, 3)))
        q = q * np.sign(np.diag(r))
        if np.linalg.det(q) < 0:
            q[:, 0] *= -1
        positions = positions @ q.T
    return positions, xtb.singlepoint(symbols, positions, charge, multiplicity)


def generate_species(sp: Species, xtb: Xtb, seed: int) -> tuple:
    """Labelled frames of one species and a stats dict."""
    rng = np.random.default_rng(seed)
    symbols, masses, raw, relaxed = conformers(sp.smiles, seed)
    q, m = sp.charge, sp.multiplicity
    stats = {"opt_failed": 0, "md_failed": 0, "label_failed": 0, "dropped_force": 0}
    try:
        opt = xtb.optimize(symbols, relaxed[0], q, m)
    except XtbError:
        stats["opt_failed"] = 1
        opt = relaxed[0]
    geoms = [("eq", opt), ("near_eq", _noisy(opt, 0.02, rng)), ("near_eq", _noisy(opt, 0.05, rng)),
             ("etkdg", raw[1])]
    geoms += [("distorted", _noisy(opt, s, rng)) for s in (0.08, 0.12, 0.16)]
    t1, t2 = rng.uniform(300, 1000, size=2)
    try:
        traj = xtb.md(symbols, opt, masses, charge=q, multiplicity=m, temperature_K=float(t1), time_ps=0.25,
                      dump_fs=25.0, step_fs=1.0, seed=seed + 1, method="gfn2")
        geoms += [("md_gfn2", p) for p in traj[1:]]
    except XtbError:
        stats["md_failed"] += 1
    try:
        traj = xtb.md(symbols, relaxed[1], masses, charge=q, multiplicity=m, temperature_K=float(t2), time_ps=2.0,
                      dump_fs=200.0, step_fs=1.0, seed=seed + 2, method="gfnff")
        geoms += [("md_gfnff", p) for p in traj]
    except XtbError:
        stats["md_failed"] += 1
    from rdkit import Chem

    numbers = np.array([Chem.GetPeriodicTable().GetAtomicNumber(s) for s in symbols])
    group = group_key(sp.smiles)
    frames = []
    for n, (kind, pos) in enumerate(geoms):
        try:
            pos, lab = label(xtb, symbols, pos, q, m, seed + 100 + n)
        except XtbError:
            stats["label_failed"] += 1
            continue
        if np.abs(lab.forces_eV_per_A).max() > MAX_FORCE:
            stats["dropped_force"] += 1
            continue
        frames.append(Frame(numbers=numbers, positions=pos, energy=lab.energy_eV, forces=lab.forces_eV_per_A,
                            charge=q, spin=m, group=group, kind=kind))
    return frames, stats


def run(out: str, cache: str, limit: Optional[int] = None, seed: int = BASE_SEED, log=sys.stderr,
        first_index: int = 0, base: Optional[str] = None) -> FrameSet:
    """Label species ``first_index``.. (all, or the first ``limit``) into the cache and write ``out``: the
    frames of ``base`` (a data set made earlier from the species before ``first_index``) plus theirs."""
    species = all_species()
    if limit is not None:
        species = species[:limit]
    total = len(species)
    species = [sp for sp in species if sp.index >= first_index]
    os.makedirs(cache, exist_ok=True)
    xtb = Xtb()
    t0 = time.time()
    totals: dict = {}
    for sp in species:
        path = os.path.join(cache, f"{sp.index:04d}.npz")
        if os.path.exists(path):
            continue
        t = time.time()
        frames, stats = generate_species(sp, xtb, seed + 1000 * sp.index)
        np.savez_compressed(path, stats=json.dumps(stats), **pack(frames, "mol"))
        for k, v in stats.items():
            totals[k] = totals.get(k, 0) + v
        print(f"[mol {sp.index + 1}/{total}] {sp.smiles} q={sp.charge} mult={sp.multiplicity}: "
              f"{len(frames)} frames, {time.time() - t:.1f} s (elapsed {time.time() - t0:.0f} s) {stats}",
              file=log, flush=True)
    return assemble(cache, [sp.index for sp in species], out, base=base)


def assemble(cache: str, indices: list, out: Optional[str], repair: bool = True, base: Optional[str] = None) -> FrameSet:
    """Joins the per-species caches; with ``repair``, frames cached before the coordinate-tie guard
    (``label``) are relabelled in a rotated orientation."""
    frames, stats = [], {}
    if base is not None:
        old = FrameSet.load(base)
        frames = [old.frame(j) for j in range(len(old))]
        with np.load(base) as f:
            stats = json.loads(str(f["generation_stats"])) if "generation_stats" in f.files else {}
    xtb = Xtb() if repair else None
    from rdkit import Chem

    table = Chem.GetPeriodicTable()
    for i in indices:
        fs = FrameSet.load(os.path.join(cache, f"{i:04d}.npz"))
        with np.load(os.path.join(cache, f"{i:04d}.npz")) as f:
            for k, v in json.loads(str(f["stats"])).items():
                stats[k] = stats.get(k, 0) + v
        for j in range(len(fs)):
            f = fs.frame(j)
            if repair and has_coordinate_ties(f.positions):
                symbols = [table.GetElementSymbol(int(z)) for z in f.numbers]
                f.positions, lab = label(xtb, symbols, f.positions, f.charge, f.spin, BASE_SEED + 7919 * i + j)
                f.energy, f.forces = lab.energy_eV, lab.forces_eV_per_A
                stats["relabelled_ties"] = stats.get("relabelled_ties", 0) + 1
            frames.append(f)
    arrays = pack(frames, "mol")
    result = FrameSet(arrays)
    if out:
        np.savez_compressed(out, generation_stats=json.dumps(stats), **arrays)
    return result


def main(argv: Optional[list] = None) -> int:
    ap = argparse.ArgumentParser(description="Generate the mol task data set (GFN2-xTB).")
    ap.add_argument("--out", default="../data/mol.npz")
    ap.add_argument("--cache", default="../data/raw/mol")
    ap.add_argument("--limit", type=int, default=None, help="only the first N species (testing)")
    ap.add_argument("--seed", type=int, default=BASE_SEED)
    ap.add_argument("--first-index", type=int, default=0,
                    help="label only species from this index on (e.g. 412: the enumerated table)")
    ap.add_argument("--base", default=None,
                    help="data set of the species before --first-index, whose frames the output keeps")
    args = ap.parse_args(argv)
    if args.first_index and not args.base:
        raise SystemExit("--first-index needs --base (the frames of the earlier species)")
    fs = run(args.out, args.cache, args.limit, args.seed, first_index=args.first_index, base=args.base)
    print(f"wrote {args.out}: {len(fs)} frames, {int(fs.a['natoms'].sum())} atoms, "
          f"{len(fs.a['groups'])} molecules", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
