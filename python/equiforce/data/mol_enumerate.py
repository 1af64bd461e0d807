"""More distinct molecules for the ``mol`` task: substituted scaffolds enumerated with RDKit.

The hand-written table (``mol_smiles.tsv``, 412 species, 397 distinct molecules) is too small for
energies that transfer across molecules (docs/training.md section 8: the validation error is
dominated by whole-molecule offsets). This module writes a second table,
``mol_smiles_enumerated.tsv``, of molecules built from scaffolds and substituents:

- one substituent on one of the scaffolds (aromatic and heteroaromatic rings, rings, chains);
- two substituents on benzene (ortho, meta, para) and on ethane / propane chains (bifunctional);
- ionic substituents and scaffolds (carboxylates, phenolates, thiolates, ammonium, pyridinium) for
  closed-shell anions and cations, radical substituents (benzyl, phenoxyl, anilino, thiyl types) for
  neutral radicals, and radical cations / anions of a sample of the neutral aromatics (same SMILES,
  charge +-1, doublet; they share the group of their neutral parent in the splits).

Every candidate is canonicalised, kept only if it is new (not in the hand-written table), within the
task's elements and size (``molgen.read_species`` rules) and embeddable by ETKDG; a seeded sample
of each family then makes the table. Same seed, same table: ``python -m equiforce.data.mol_enumerate``.

Round 2 (``--round 2``, ``mol_smiles_enumerated2.tsv``) samples again from round 1's families plus two
substituents on five heterocycles, three on benzene, and ionic and radical groups on substituted benzenes,
chains and cyclohexanes, excluding every molecule of the earlier tables; more than half of its species are
ions or radicals, the states the models predict worst (docs/training.md section 9).

Round 3 (``--round 3``, ``mol_smiles_enumerated3.tsv``) brings scaffolds no earlier round has: fused
bicyclic aromatics (indole, benzofuran, benzothiophene, quinolines, benzimidazole), five- and six-membered
heteroaromatics with two or more heteroatoms, saturated N, O and S rings, ether, amine and carbonyl chains;
one or two substituents on them, the ionic and radical groups, and radical ions of the new aromatics.

Round 4 (``--round 4``, ``mol_smiles_enumerated4.tsv``) targets the energies of ions and radicals, which
generalise worst (docs/training.md section 12): ionic and radical groups, old and new (sulfonium,
amidinium, acyl, aminyl, vinyl, alkoxymethyl radicals, ...), next to a second, neutral substituent on the
scaffolds of every earlier round, doubly charged species (two anionic or two cationic groups), zwitterions
(one of each) and radical ions of its new neutral aromatics; three quarters of its species are charged or
open-shell.
"""

from __future__ import annotations

import argparse
import itertools
import os
from typing import Iterable, Optional

import numpy as np

from .molgen import ELEMENTS, MAX_ATOMS, SMILES_FILE

ENUMERATED_FILE = os.path.join(os.path.dirname(__file__), "mol_smiles_enumerated.tsv")
SEED = 20261207
# Round 2 (session 10): weighted towards ions and radicals, the states the models predict worst, and
# towards larger molecules (two substituents on heterocycles, three on benzene).
ENUMERATED2_FILE = os.path.join(os.path.dirname(__file__), "mol_smiles_enumerated2.tsv")
SEED2 = 20261208
# Round 3 (session 11): new scaffolds, so that the molecules differ in kind and not only in substituents.
ENUMERATED3_FILE = os.path.join(os.path.dirname(__file__), "mol_smiles_enumerated3.tsv")
SEED3 = 20261209
# Round 4 (session 14): ions and radicals in new surroundings, doubly charged species and zwitterions.
ENUMERATED4_FILE = os.path.join(os.path.dirname(__file__), "mol_smiles_enumerated4.tsv")
SEED4 = 20261210

# Scaffolds: "{}" is where the substituent goes (after the atom it bonds to, at the end of the SMILES).
SCAFFOLDS = {
    "aromatic": ["c1ccc(cc1){}", "Cc1ccc(cc1){}", "c1ccc2ccccc2c1{}"],
    "heterocycle": ["c1ccnc(c1){}", "c1cncc(c1){}", "c1cnccc1{}", "c1ccsc1{}", "c1ccoc1{}", "Cn1cccc1{}",
                    "c1cnc(nc1){}", "c1csc(n1){}", "Cn1ccnc1{}"],
    "alicyclic": ["C1CCC(CC1){}", "C1CCC(C1){}", "C1CC1{}", "C1CCOC(C1){}", "C1CN(CCO1){}"],
    "aliphatic": ["C{}", "CC{}", "CCC{}", "CC(C){}", "CC(C)(C){}", "CCCC{}", "C=CC{}", "C#CC{}", "C=C{}"],
}
# Neutral closed-shell substituents.
SUBSTITUENTS = ["F", "Cl", "O", "OC", "OCC", "N", "NC", "N(C)C", "C(=O)O", "C(=O)OC", "C(=O)N", "C(=O)NC",
                "C(=O)C", "C=O", "C#N", "[N+](=O)[O-]", "S", "SC", "S(=O)(=O)C", "S(=O)(=O)N", "C(F)(F)F",
                "OC(=O)C", "NC(=O)C", "C", "CC", "C(C)C", "OC(F)(F)F", "SC(F)(F)F", "C=C", "C#C", "CO",
                "CCl", "CF", "N=C=O", "N=C=S", "NC(=O)N", "OC(=O)N", "C(=O)Cl", "S(=O)C", "NS(=O)(=O)C"]
# Charged closed-shell substituents (formal charge in the SMILES).
ANIONIC = ["C(=O)[O-]", "[O-]", "[S-]", "S(=O)(=O)[O-]", "CC(=O)[O-]", "[N-]S(=O)(=O)C"]
CATIONIC = ["[NH3+]", "[NH2+]C", "[NH+](C)C", "[N+](C)(C)C", "C[NH3+]", "C(=[NH2+])N"]
CATIONIC_SCAFFOLDS = ["c1cc[nH+]cc1{}", "c1ccc[nH+]c1{}", "C[n+]1cccc(c1){}"]
# Radical substituents (one unpaired electron on the attached group).
RADICAL = ["[CH2]", "[O]", "[NH]", "[S]", "[CH]C", "C(=O)[O]", "O[O]", "[C](C)C"]
# Round 3's scaffolds, none of which an earlier round uses.
SCAFFOLDS3 = {
    "fused": ["c1ccc2[nH]ccc2c1{}", "c1ccc2occc2c1{}", "c1ccc2sccc2c1{}", "c1ccc2ncccc2c1{}",
              "c1ccc2[nH]cnc2c1{}", "c1ccc2ccncc2c1{}"],
    "azole": ["c1cn[nH]c1{}", "c1cnc[nH]1{}", "c1cocn1{}", "c1cnoc1{}", "c1cscn1{}", "c1nc[nH]n1{}",
              "c1nnc(o1){}", "Cn1ccc(n1){}"],
    "azine": ["c1cnccn1{}", "c1ccnnc1{}", "c1ncncn1{}", "c1ccc(=O)[nH]c1{}"],
    "saturated": ["C1CCNCC1{}", "CN1CCC(CC1){}", "C1CNCCN1{}", "C1CCOC1{}", "C1COC1{}", "C1CCC1{}",
                  "C1CC=CCC1{}", "C1CCSC1{}", "O=C1CCCN1{}", "C1CCC(=O)C(C1){}"],
    "chain": ["COCC{}", "CSCC{}", "CN(C)CC{}", "CC(=O)CC{}", "COC(=O)C{}", "CNC(=O)C{}", "CCOCCO{}",
              "CC(C)(C)OC{}", "C=CC(=O){}", "CC=CC{}"],
}
# Round 3's two-substituent patterns on those scaffolds (the second slot is the ring's last atom).
TWO_SLOT3 = ["c1cc2[nH]c({})cc2cc1{}", "c1ccc2oc({})cc2c1{}", "c1c({})n[nH]c1{}", "c1nc({})[nH]c1{}",
             "c1oc({})nc1{}", "c1cc({})nnc1{}", "c1nc({})cnc1{}", "C1CC({})CCN1{}", "C1CC({})CCC1{}",
             "C1CC({})OC1{}"]
# Round 4's new groups (round 4 also uses the groups above).
ANIONIC4 = ["[C-](C#N)C#N", "[N-]C#N", "C(=O)[N-]C", "OS(=O)(=O)[O-]", "[N-]C(=O)C", "C(=O)C(=O)[O-]"]
CATIONIC4 = ["[S+](C)C", "C[N+](C)(C)C", "[NH+]1CCCC1", "C(N)=[NH2+]", "C[n+]1ccccc1"]
RADICAL4 = ["[C]=O", "[N]C", "C[CH2]", "[C]=C", "[CH]O", "O[CH2]", "S[CH2]", "[CH]C#N"]
# Round 4's two-slot patterns: a neutral substituent in the first slot, a charged or radical group in the second
# (benzene and heterocycles of rounds 1-2, the bicyclics, azoles and rings of round 3, chains).
TWO_SLOT4 = ["c1cc({})ccc1{}", "c1cc({})cc(c1){}", "c1ccc(c({})c1){}", "c1cc({})ncc1{}", "c1c({})cncc1{}",
             "c1cc({})sc1{}", "c1cc({})oc1{}", "C1CC(CCC1{}){}", "C({})CC{}", "C({})C{}"] + TWO_SLOT3


def _canonical(smiles: str) -> Optional[str]:
    from rdkit import Chem

    mol = Chem.MolFromSmiles(smiles)
    return None if mol is None else Chem.MolToSmiles(mol)


def _allowed(smiles: str) -> bool:
    """Inside the task's elements and size, and embeddable by ETKDG (what ``molgen`` needs)."""
    from rdkit import Chem
    from rdkit.Chem import AllChem

    mol = Chem.MolFromSmiles(smiles)
    if mol is None:
        return False
    h = Chem.AddHs(mol)
    if h.GetNumAtoms() > MAX_ATOMS or h.GetNumAtoms() < 3 or not {a.GetSymbol() for a in h.GetAtoms()} <= ELEMENTS:
        return False
    params = AllChem.ETKDGv3()
    params.randomSeed = 1
    return AllChem.EmbedMolecule(h, params) == 0


def candidate_families() -> dict:
    """{family: [SMILES]} of every enumerated candidate, before filtering and sampling."""
    from rdkit import RDLogger

    RDLogger.DisableLog("rdApp.*")  # invalid combinations are expected and dropped silently
    fam: dict = {"mono": [], "di-benzene": [], "bifunctional": [], "anion": [], "cation": [], "radical": []}
    for scaffolds in SCAFFOLDS.values():
        for sc, r in itertools.product(scaffolds, SUBSTITUENTS):
            fam["mono"].append(sc.format(r))
        for sc, r in itertools.product(scaffolds, ANIONIC):
            fam["anion"].append(sc.format(r))
        for sc, r in itertools.product(scaffolds, CATIONIC):
            fam["cation"].append(sc.format(r))
        for sc, r in itertools.product(scaffolds, RADICAL):
            fam["radical"].append(sc.format(r))
    for sc, r in itertools.product(CATIONIC_SCAFFOLDS, SUBSTITUENTS):
        fam["cation"].append(sc.format(r))
    for a, b in itertools.combinations(SUBSTITUENTS, 2):
        for pattern in ("c1ccc(c({})c1){}", "c1cc({})cc(c1){}", "c1cc({})ccc1{}"):  # ortho, meta, para
            fam["di-benzene"].append(pattern.format(a, b))
        for chain in ("C({})C{}", "C({})CC{}"):  # a-CH2-CH2-b, a-CH2-CH2-CH2-b
            fam["bifunctional"].append(chain.format(a, b))
    for a, b in itertools.product(SUBSTITUENTS[:20], ANIONIC[:3]):
        fam["anion"].append(f"c1cc({a})ccc1{b}")
    for a, b in itertools.product(SUBSTITUENTS[:20], CATIONIC[:3]):
        fam["cation"].append(f"c1cc({a})ccc1{b}")
    return fam


def candidate_families_round2() -> dict:
    """{family: [SMILES]} of round 2: round 1's families plus larger neutral molecules and ionic and
    radical groups on substituted rings and chains (candidates already used are dropped later)."""
    fam = candidate_families()
    small = SUBSTITUENTS[:24]  # the compact ones, so that three fit within the size limit
    hetero = ("c1cc({})ncc1{}", "c1c({})cncc1{}", "c1cc({})sc1{}", "c1cc({})oc1{}", "c1c({})ncnc1{}")
    fam["di-heterocycle"] = [p.format(a, b) for a, b in itertools.permutations(small, 2) for p in hetero]
    fam["tri-benzene"] = [p.format(a, b, c) for a, b, c in itertools.combinations(small, 3)
                          for p in ("c1c({})cc({})cc1{}", "c1cc({})c({})cc1{}")]
    rings = ("c1cc({})ccc1{}", "c1cc({})cc(c1){}", "c1ccc(c({})c1){}", "C({})CC{}", "C1CC(CCC1{}){}")
    for a, p in itertools.product(SUBSTITUENTS, rings):
        fam["anion"] += [p.format(a, b) for b in ANIONIC]
        fam["cation"] += [p.format(a, b) for b in CATIONIC]
        fam["radical"] += [p.format(a, b) for b in RADICAL]
    return fam


def candidate_families_round3() -> dict:
    """{family: [SMILES]} of round 3: one or two substituents, ionic and radical groups on the new scaffolds."""
    from rdkit import RDLogger

    RDLogger.DisableLog("rdApp.*")
    fam: dict = {"mono": [], "di-scaffold": [], "anion": [], "cation": [], "radical": []}
    for sc in itertools.chain(*SCAFFOLDS3.values()):
        fam["mono"] += [sc.format(r) for r in SUBSTITUENTS]
        fam["anion"] += [sc.format(r) for r in ANIONIC]
        fam["cation"] += [sc.format(r) for r in CATIONIC]
        fam["radical"] += [sc.format(r) for r in RADICAL]
    small = SUBSTITUENTS[:24]  # the compact ones, so that two fit on a bicyclic within the size limit
    for p in TWO_SLOT3:
        fam["di-scaffold"] += [p.format(a, b) for a, b in itertools.permutations(small, 2)]
    return fam


def candidate_families_round4() -> dict:
    """{family: [SMILES]} of round 4: charged and radical groups beside a neutral substituent on every
    round's scaffolds, doubly charged species, zwitterions, and neutral species to be radical-ion parents."""
    from rdkit import RDLogger

    RDLogger.DisableLog("rdApp.*")
    anionic, cationic, radical = ANIONIC + ANIONIC4, CATIONIC + CATIONIC4, RADICAL + RADICAL4
    small = SUBSTITUENTS[:24]
    fam: dict = {"mono": [], "di-scaffold": [], "anion": [], "cation": [], "radical": [], "di-ion": [],
                 "zwitterion": []}
    scaffolds = list(itertools.chain(*SCAFFOLDS.values(), *SCAFFOLDS3.values()))
    for sc in scaffolds:
        fam["mono"] += [sc.format(r) for r in SUBSTITUENTS]
        fam["anion"] += [sc.format(r) for r in ANIONIC4]
        fam["cation"] += [sc.format(r) for r in CATIONIC4]
        fam["radical"] += [sc.format(r) for r in RADICAL4]
    for p in TWO_SLOT4:
        fam["di-scaffold"] += [p.format(a, b) for a, b in itertools.permutations(small, 2)]
        fam["anion"] += [p.format(a, b) for a, b in itertools.product(small, anionic)]
        fam["cation"] += [p.format(a, b) for a, b in itertools.product(small, cationic)]
        fam["radical"] += [p.format(a, b) for a, b in itertools.product(small, radical)]
        fam["di-ion"] += [p.format(a, b) for group in (anionic, cationic) for a, b in itertools.permutations(group, 2)]
        fam["zwitterion"] += [p.format(a, b) for a, b in itertools.product(cationic, anionic)]
    return fam


# How many species each family contributes (neutral closed shell, then ions and radicals).
SAMPLE = {"mono": 150, "di-benzene": 150, "bifunctional": 90, "anion": 45, "cation": 45, "radical": 45}
RADICAL_IONS = 40  # radical cations and anions of sampled neutral aromatics (same SMILES, charge +-1)
SAMPLE2 = {"mono": 40, "di-benzene": 40, "bifunctional": 30, "di-heterocycle": 100, "tri-benzene": 60,
           "anion": 110, "cation": 110, "radical": 110}
RADICAL_IONS2 = 110
SAMPLE3 = {"mono": 170, "di-scaffold": 130, "anion": 90, "cation": 90, "radical": 90}
RADICAL_IONS3 = 110
SAMPLE4 = {"mono": 70, "di-scaffold": 70, "anion": 120, "cation": 120, "radical": 120, "di-ion": 30,
           "zwitterion": 30}
RADICAL_IONS4 = 120  # a cap: the round has 93 neutral aromatic parents, so it gets 93
CLASSES = {"mono": "enum-mono", "di-benzene": "enum-aromatic", "bifunctional": "enum-aliphatic",
           "di-heterocycle": "enum-heterocycle", "tri-benzene": "enum-aromatic", "anion": "enum-anion",
           "cation": "enum-cation", "radical": "enum-radical", "di-scaffold": "enum-heterocycle",
           "di-ion": "enum-di-ion", "zwitterion": "enum-zwitterion"}


def known_smiles(path: str = SMILES_FILE) -> set:
    out = set()
    with open(path) as f:
        for line in f:
            if line.strip() and not line.startswith("#"):
                out.add(_canonical(line.split("\t")[0]))
    return out


def enumerate_species(seed: int = SEED, sample: Optional[dict] = None, radical_ions: int = RADICAL_IONS,
                      exclude: Iterable[str] = (), families: Optional[dict] = None) -> list:
    """Rows (smiles, charge, multiplicity, class) of an enumerated table, deterministic for a seed
    (round 1's families and sample sizes unless ``families`` / ``sample`` are given)."""
    sample = SAMPLE if sample is None else sample
    families = candidate_families() if families is None else families
    rng = np.random.default_rng(seed)
    seen = set(exclude)
    rows = []
    neutral_aromatics = []
    for family, candidates in families.items():
        canon = []
        for s in candidates:
            c = _canonical(s)
            if c is not None and c not in seen and c not in canon:
                canon.append(c)
        picked = []
        for k in rng.permutation(len(canon)):
            if len(picked) >= sample.get(family, 0):
                break
            if _allowed(canon[k]):
                picked.append(canon[k])
        seen.update(picked)
        rows += [(s, "-", "-", CLASSES[family]) for s in sorted(picked)]
        if family in ("mono", "di-benzene", "di-heterocycle", "tri-benzene", "di-scaffold"):
            neutral_aromatics += [s for s in sorted(picked) if "c" in s]
    # Radical ions share the SMILES (and so the split group) of a neutral parent picked above.
    parents = [neutral_aromatics[k] for k in rng.permutation(len(neutral_aromatics))[:radical_ions]]
    for n, s in enumerate(sorted(parents)):
        q = 1 if n % 2 == 0 else -1
        rows.append((s, str(q), "2", "enum-radical-cation" if q > 0 else "enum-radical-anion"))
    return rows


def write_table(rows: list, path: str = ENUMERATED_FILE, seed: int = SEED, round_: int = 1) -> None:
    with open(path, "w") as f:
        if round_ == 1:
            f.write("# equiforce `mol` task, enumerated molecules (python -m equiforce.data.mol_enumerate, "
                    f"seed {seed}).\n# Same columns as mol_smiles.tsv; species indices continue after that table's.\n")
        else:
            previous = os.path.basename(ROUND_FILES[round_ - 1])
            f.write(f"# equiforce `mol` task, enumerated molecules, round {round_} (python -m "
                    f"equiforce.data.mol_enumerate --round {round_}, seed {seed}).\n# Same columns as mol_smiles.tsv; "
                    f"species indices continue after {previous}'s.\n")
        for r in rows:
            f.write("\t".join(r) + "\n")


# Each round: its table, seed, families, sample sizes and radical ions, in the order the species are numbered
# (after the hand-written table). A round excludes every molecule of the tables before it.
ROUNDS = {
    1: dict(path=ENUMERATED_FILE, seed=SEED, families=candidate_families, sample=SAMPLE, radical_ions=RADICAL_IONS),
    2: dict(path=ENUMERATED2_FILE, seed=SEED2, families=candidate_families_round2, sample=SAMPLE2,
            radical_ions=RADICAL_IONS2),
    3: dict(path=ENUMERATED3_FILE, seed=SEED3, families=candidate_families_round3, sample=SAMPLE3,
            radical_ions=RADICAL_IONS3),
    4: dict(path=ENUMERATED4_FILE, seed=SEED4, families=candidate_families_round4, sample=SAMPLE4,
            radical_ions=RADICAL_IONS4),
}
ROUND_FILES = {r: spec["path"] for r, spec in ROUNDS.items()}


def round_species(round_: int, seed: Optional[int] = None) -> list:
    """Rows of one round's table: new molecules only (in neither the hand-written table nor an earlier round)."""
    spec = ROUNDS[round_]
    earlier = known_smiles()
    for r in range(1, round_):
        earlier |= known_smiles(ROUNDS[r]["path"])
    return enumerate_species(spec["seed"] if seed is None else seed, spec["sample"], spec["radical_ions"],
                             exclude=earlier, families=spec["families"]())


def main(argv: Optional[list] = None) -> int:
    ap = argparse.ArgumentParser(description="Write a round's table of enumerated molecules (mol_smiles_enumerated.tsv, "
                                             "...2.tsv, ...4.tsv): scaffolds x substituents.")
    ap.add_argument("--round", type=int, choices=sorted(ROUND_FILES), default=1)
    ap.add_argument("--out", default=None, help="default: the round's table in the package")
    ap.add_argument("--seed", type=int, default=None, help="default: the round's seed")
    args = ap.parse_args(argv)
    seed = ROUNDS[args.round]["seed"] if args.seed is None else args.seed
    out = args.out or ROUND_FILES[args.round]
    rows = round_species(args.round, seed)
    write_table(rows, out, seed, args.round)
    classes: dict = {}
    for r in rows:
        classes[r[3]] = classes.get(r[3], 0) + 1
    print(f"wrote {out}: {len(rows)} species {classes}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
