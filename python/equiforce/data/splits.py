"""Train/validation/test splits by group (molecule SMILES or composition), never by frame.

``split_groups`` shuffles the sorted unique group names with a seeded generator and cuts them by
fractions; groups listed in ``force_train`` (e.g. the pure elements of the metal task, which every
alloy needs) always go to training. Splits are stored as JSON ``{task: {train|val|test: [groups]}}``.
"""

from __future__ import annotations

import json
from typing import Iterable, Optional, Sequence

import numpy as np

SPLITS = ("train", "val", "test")


def split_groups(groups: Iterable[str], fractions: Sequence[float] = (0.8, 0.1, 0.1), seed: int = 0,
                 force_train: Optional[Iterable[str]] = None) -> dict:
    if len(fractions) != 3 or abs(sum(fractions) - 1.0) > 1e-9 or min(fractions) < 0:
        raise ValueError(f"fractions must be three non-negative numbers summing to 1, got {fractions}")
    names = sorted(set(groups))
    forced = sorted(set(force_train or []) & set(names))
    free = [g for g in names if g not in forced]
    order = np.random.default_rng(seed).permutation(len(free))
    free = [free[i] for i in order]
    n_val = int(round(fractions[1] * len(names)))
    n_test = int(round(fractions[2] * len(names)))
    n_val, n_test = min(n_val, len(free)), min(n_test, max(len(free) - n_val, 0))
    val, test, train = free[:n_val], free[n_val:n_val + n_test], free[n_val + n_test:] + forced
    return {"train": sorted(train), "val": sorted(val), "test": sorted(test)}


def states_into_train(split: dict, group_states: dict) -> dict:
    """Move groups from validation/test into training until every state (e.g. a molecule's
    (charge, multiplicity)) that occurs in the data occurs in training: a state the model never
    saw cannot be learnt, like an unseen element. ``group_states`` maps group -> set of states.
    For each missing state the first group (by name) holding it moves, from test before val."""
    out = {k: list(v) for k, v in split.items()}
    seen = set().union(*(group_states.get(g, set()) for g in out["train"])) if out["train"] else set()
    for state in sorted(set().union(*group_states.values()) - seen if group_states else set()):
        if state in seen:
            continue
        for name in ("test", "val"):
            hits = sorted(g for g in out[name] if state in group_states.get(g, set()))
            if hits:
                out[name].remove(hits[0])
                out["train"].append(hits[0])
                seen |= group_states[hits[0]]
                break
    return {k: sorted(v) for k, v in out.items()}


def frame_indices(frame_groups: Sequence[str], split: dict) -> dict:
    """{split name: frame indices} for the frames' group names."""
    where = {g: name for name in SPLITS for g in split[name]}
    missing = sorted({str(g) for g in frame_groups} - set(where))
    if missing:
        raise KeyError(f"frames of groups missing from the split: {missing[:5]}")
    out = {name: [] for name in SPLITS}
    for i, g in enumerate(frame_groups):
        out[where[str(g)]].append(i)
    return {k: np.array(v, dtype=np.int64) for k, v in out.items()}


def save(path: str, splits: dict) -> None:
    with open(path, "w") as f:
        json.dump(splits, f, indent=1)
        f.write("\n")


def load(path: str) -> dict:
    with open(path) as f:
        return json.load(f)


def make_splits(data_dir: str, seed: int = 0, fractions: Sequence[float] = (0.8, 0.1, 0.1),
                states_in_train: bool = False) -> dict:
    """Splits for ``mol.npz`` (by canonical SMILES) and ``metal.npz`` (by nominal composition; the pure
    elements always train), with frame/atom counts per split under ``sizes``. ``states_in_train``
    also puts every (charge, multiplicity) of the ``mol`` data into training (:func:`states_into_train`;
    off by default so that the committed data/splits.json, made without it, is reproduced: there the
    only doubly charged species landed in the test split)."""
    import os

    from .store import FrameSet

    out: dict = {"seed": seed, "fractions": list(fractions), "sizes": {}}
    for task, forced in (("mol", None), ("metal", {"Al", "Cu", "Ag", "Au", "Ni", "Pd", "Pt"})):
        fs = FrameSet.load(os.path.join(data_dir, f"{task}.npz"))
        names = fs.group_names()
        split = split_groups(names, fractions, seed, force_train=forced)
        if states_in_train and task == "mol":
            states: dict = {}
            for g, c, m in zip(names, fs.a["charge"], fs.a["spin"]):
                states.setdefault(str(g), set()).add((int(c), int(m)))
            split = states_into_train(split, states)
        if states_in_train:
            out["states_in_train"] = True
        idx = frame_indices(names, split)
        out[task] = split
        out["sizes"][task] = {s: {"groups": len(split[s]), "frames": int(len(idx[s])),
                                  "atoms": int(fs.a["natoms"][idx[s]].sum())} for s in SPLITS}
    return out


def extend_split(split: dict, groups: Iterable[str], fractions: Sequence[float] = (0.8, 0.1, 0.1),
                 seed: int = 1) -> dict:
    """``split`` with the groups it does not list yet added (split by ``fractions`` among themselves,
    :func:`split_groups`); every group it lists keeps its place, so a model trained on the old
    training split has still never seen any validation or test group."""
    known = {g for name in SPLITS for g in split[name]}
    new = split_groups([g for g in set(groups) if g not in known], fractions, seed)
    return {name: sorted(list(split[name]) + new[name]) for name in SPLITS}


def extend_splits(data_dir: str, seed: int = 1) -> dict:
    """The splits of ``data_dir/splits.json`` extended to the groups of data added since
    (:func:`extend_split` per task), with fresh sizes and the extension recorded under ``extended``."""
    import os

    from .store import FrameSet

    out = load(os.path.join(data_dir, "splits.json"))
    out.setdefault("extended", [])
    record = {"seed": seed}
    for task in ("mol", "metal"):
        fs = FrameSet.load(os.path.join(data_dir, f"{task}.npz"))
        names = fs.group_names()
        before = sum(len(out[task][s]) for s in SPLITS)
        out[task] = extend_split(out[task], [str(g) for g in names], out.get("fractions", (0.8, 0.1, 0.1)), seed)
        record[task] = {s: len(out[task][s]) for s in SPLITS}
        record[task]["added_groups"] = sum(len(out[task][s]) for s in SPLITS) - before
        idx = frame_indices(names, out[task])
        out["sizes"][task] = {s: {"groups": len(out[task][s]), "frames": int(len(idx[s])),
                                  "atoms": int(fs.a["natoms"][idx[s]].sum())} for s in SPLITS}
    out["extended"].append(record)
    return out


def main(argv=None) -> int:
    import argparse

    ap = argparse.ArgumentParser(description="Write data/splits.json (by molecule / composition).")
    ap.add_argument("--data", default="../data")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--states-in-train", action="store_true",
                    help="every (charge, multiplicity) of the mol data gets a group in training")
    ap.add_argument("--extend", action="store_true",
                    help="keep the groups of the existing splits.json where they are and split only the groups "
                         "added to the data since (seed --seed among themselves)")
    args = ap.parse_args(argv)
    import os

    if args.extend:
        s = extend_splits(args.data, args.seed)
    else:
        s = make_splits(args.data, args.seed, states_in_train=args.states_in_train)
    save(os.path.join(args.data, "splits.json"), s)
    print(json.dumps(s["sizes"], indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
