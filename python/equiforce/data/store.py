"""Compact frame storage (one ``.npz`` per task) shared by the generators, splits and the trainer.

Arrays (F frames, A = total atoms):

* ``natoms`` int32 [F]; ``numbers`` uint8 [A]; ``positions`` float32 [A, 3] (Å); ``forces`` float32 [A, 3] (eV/Å)
* ``energy`` float64 [F] (eV, total energy of the reference method, no references removed)
* ``charge`` int8 [F]; ``spin`` int8 [F] (multiplicity 2S+1; 0 = unset, as UMA's omat task)
* ``cell`` float64 [F, 3, 3] (Å, rows are lattice vectors; zeros if not periodic); ``pbc`` bool [F]
* ``stress`` float64 [F, 3, 3] (eV/Å³, ASE sign convention; NaN if not available)
* ``group`` int32 [F] index into ``groups`` (str): the split unit (molecule SMILES / composition)
* ``kind`` int8 [F] index into ``kinds`` (str): how the frame was made (eq, md_gfn2, bulk, slab...)
* ``task`` str scalar ('mol' or 'metal')
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Sequence

import numpy as np


@dataclass
class Frame:
    numbers: np.ndarray
    positions: np.ndarray
    energy: float
    forces: np.ndarray
    charge: int = 0
    spin: int = 1
    cell: Optional[np.ndarray] = None
    stress: Optional[np.ndarray] = None
    group: str = ""
    kind: str = ""


class FrameSet:
    """Frames of one task held as concatenated arrays (see module docstring)."""

    def __init__(self, arrays: dict) -> None:
        self.a = arrays
        self.offsets = np.concatenate([[0], np.cumsum(arrays["natoms"])]).astype(np.int64)

    @property
    def task(self) -> str:
        return str(self.a["task"])

    def __len__(self) -> int:
        return int(self.a["natoms"].shape[0])

    def frame(self, i: int) -> Frame:
        s, e = self.offsets[i], self.offsets[i + 1]
        a = self.a
        periodic = bool(a["pbc"][i])
        return Frame(numbers=a["numbers"][s:e].astype(np.int64), positions=a["positions"][s:e].astype(np.float64),
                     energy=float(a["energy"][i]), forces=a["forces"][s:e].astype(np.float64),
                     charge=int(a["charge"][i]), spin=int(a["spin"][i]),
                     cell=a["cell"][i] if periodic else None,
                     stress=None if np.isnan(a["stress"][i]).any() else a["stress"][i],
                     group=str(a["groups"][a["group"][i]]), kind=str(a["kinds"][a["kind"][i]]))

    def group_names(self) -> np.ndarray:
        """Group name of every frame [F]."""
        return self.a["groups"][self.a["group"]]

    def subset(self, idx: Sequence[int]) -> "FrameSet":
        return FrameSet(pack([self.frame(int(i)) for i in idx], self.task))

    def save(self, path: str) -> None:
        np.savez_compressed(path, **self.a)

    @staticmethod
    def load(path: str) -> "FrameSet":
        with np.load(path, allow_pickle=False) as f:
            return FrameSet({k: f[k] for k in f.files})


def pack(frames: Sequence[Frame], task: str) -> dict:
    """Concatenated arrays of ``frames`` (see module docstring)."""
    groups = sorted({f.group for f in frames})
    kinds = sorted({f.kind for f in frames})
    gi = {g: i for i, g in enumerate(groups)}
    ki = {k: i for i, k in enumerate(kinds)}
    F = len(frames)
    cat = (lambda xs, shape: np.concatenate(xs) if xs else np.zeros(shape))
    return {
        "task": np.array(task),
        "natoms": np.array([len(f.numbers) for f in frames], dtype=np.int32),
        "numbers": cat([np.asarray(f.numbers) for f in frames], (0,)).astype(np.uint8),
        "positions": cat([np.asarray(f.positions) for f in frames], (0, 3)).astype(np.float32),
        "forces": cat([np.asarray(f.forces) for f in frames], (0, 3)).astype(np.float32),
        "energy": np.array([f.energy for f in frames], dtype=np.float64),
        "charge": np.array([f.charge for f in frames], dtype=np.int8),
        "spin": np.array([f.spin for f in frames], dtype=np.int8),
        "cell": np.array([np.zeros((3, 3)) if f.cell is None else f.cell for f in frames],
                         dtype=np.float64).reshape(F, 3, 3),
        "pbc": np.array([f.cell is not None for f in frames], dtype=bool),
        "stress": np.array([np.full((3, 3), np.nan) if f.stress is None else f.stress for f in frames],
                           dtype=np.float64).reshape(F, 3, 3),
        "group": np.array([gi[f.group] for f in frames], dtype=np.int32),
        "groups": np.array(groups, dtype=str),
        "kind": np.array([ki[f.kind] for f in frames], dtype=np.int8),
        "kinds": np.array(kinds, dtype=str),
    }


def concat(sets: Sequence[FrameSet]) -> FrameSet:
    frames = [s.frame(i) for s in sets for i in range(len(s))]
    return FrameSet(pack(frames, sets[0].task))
