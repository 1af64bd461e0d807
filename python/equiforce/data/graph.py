"""Neighbour graphs and batches for training the PyTorch port.

Edges follow the model contract (docs/model-format.md): ``edge_index[0]`` = neighbour j (source),
``edge_index[1]`` = centre i (target), ``edge_vec = pos[j] - pos[i] + S @ cell`` with integer image
shift S, every pair and image closer than the cutoff (no neighbour cap: the model's ``max_neighbors`` is
above what fcc metals reach at 6 Å). Edges are grouped by centre, as the exported graph expects.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Sequence

import numpy as np
import torch

from .store import FrameSet


def neighbour_graph(positions: np.ndarray, cell: Optional[np.ndarray], cutoff: float) -> tuple:
    """(edge_index int64 [2, E], shifts float64 [E, 3]) of all pairs/images with 0 < d < cutoff."""
    positions = np.asarray(positions, dtype=np.float64)
    n = len(positions)
    if cell is None:
        d = np.linalg.norm(positions[None, :, :] - positions[:, None, :], axis=-1)  # [i, j]
        i, j = np.nonzero((d < cutoff) & (d > 0))
        return np.stack([j, i]).astype(np.int64), np.zeros((len(i), 3))
    from ase.neighborlist import primitive_neighbor_list

    i, j, S = primitive_neighbor_list("ijS", (True, True, True), np.asarray(cell, dtype=np.float64), positions,
                                      cutoff, self_interaction=False)
    order = np.lexsort((j, i))
    return np.stack([j[order], i[order]]).astype(np.int64), S[order].astype(np.float64)


@dataclass
class Graph:
    """One frame ready for batching (float64 geometry, labels in eV, eV/Å, eV/Å³)."""

    numbers: np.ndarray
    positions: np.ndarray
    edge_index: np.ndarray
    shifts: np.ndarray
    cell: np.ndarray
    periodic: bool
    energy: float
    forces: np.ndarray
    stress: Optional[np.ndarray]
    charge: int
    spin: int
    task: int


def build_graphs(fs: FrameSet, cutoff: float, task: int, indices: Optional[Sequence[int]] = None) -> list:
    out = []
    for i in (range(len(fs)) if indices is None else indices):
        f = fs.frame(int(i))
        ei, sh = neighbour_graph(f.positions, f.cell, cutoff)
        out.append(Graph(f.numbers, f.positions, ei, sh, np.zeros((3, 3)) if f.cell is None else f.cell,
                         f.cell is not None, f.energy, f.forces, f.stress, f.charge, f.spin, task))
    return out


@dataclass
class Batch:
    numbers: torch.Tensor  # [N] long
    positions: torch.Tensor  # [N, 3]
    edge_index: torch.Tensor  # [2, E] long
    shifts: torch.Tensor  # [E, 3]
    cell: torch.Tensor  # [B, 3, 3]
    system_index: torch.Tensor  # [N] long
    charge: torch.Tensor  # [B]
    spin: torch.Tensor  # [B]
    task: torch.Tensor  # [B]
    natoms: torch.Tensor  # [B]
    energy: torch.Tensor  # [B] eV
    forces: torch.Tensor  # [N, 3] eV/Å
    stress: torch.Tensor  # [B, 3, 3] eV/Å³ (zeros where absent)
    has_stress: torch.Tensor  # [B] bool
    periodic: torch.Tensor  # [B] bool

    @property
    def num_systems(self) -> int:
        return int(self.charge.shape[0])


def collate(graphs: Sequence[Graph], dtype: torch.dtype = torch.float32) -> Batch:
    offs = np.concatenate([[0], np.cumsum([len(g.numbers) for g in graphs])])
    ei = np.concatenate([g.edge_index + o for g, o in zip(graphs, offs[:-1])], axis=1)
    return Batch(
        numbers=torch.from_numpy(np.concatenate([g.numbers for g in graphs])).long(),
        positions=torch.from_numpy(np.concatenate([g.positions for g in graphs])).to(dtype),
        edge_index=torch.from_numpy(ei).long(),
        shifts=torch.from_numpy(np.concatenate([g.shifts for g in graphs])).to(dtype),
        cell=torch.from_numpy(np.stack([g.cell for g in graphs])).to(dtype),
        system_index=torch.from_numpy(np.repeat(np.arange(len(graphs)), np.diff(offs))).long(),
        charge=torch.tensor([g.charge for g in graphs]).long(),
        spin=torch.tensor([g.spin for g in graphs]).long(),
        task=torch.tensor([g.task for g in graphs]).long(),
        natoms=torch.tensor([len(g.numbers) for g in graphs]).long(),
        energy=torch.tensor([g.energy for g in graphs], dtype=torch.float64),
        forces=torch.from_numpy(np.concatenate([g.forces for g in graphs])).to(dtype),
        stress=torch.from_numpy(np.stack([np.zeros((3, 3)) if g.stress is None else g.stress
                                          for g in graphs])).to(dtype),
        has_stress=torch.tensor([g.stress is not None for g in graphs]),
        periodic=torch.tensor([g.periodic for g in graphs]),
    )


def batches_by_edges(graphs: Sequence[Graph], max_edges: int, rng: Optional[np.random.Generator] = None,
                     max_systems: int = 64) -> list:
    """Index lists of batches holding at most ``max_edges`` edges (one oversized graph forms its own
    batch); order shuffled by ``rng`` if given."""
    order = np.arange(len(graphs)) if rng is None else rng.permutation(len(graphs))
    out, cur, ne = [], [], 0
    for i in order:
        e = graphs[i].edge_index.shape[1]
        if cur and (ne + e > max_edges or len(cur) >= max_systems):
            out.append(cur)
            cur, ne = [], 0
        cur.append(int(i))
        ne += e
    if cur:
        out.append(cur)
    return out


def batches_mixed(graphs: Sequence[Graph], max_edges: int, rng: np.random.Generator, max_systems: int = 64,
                  shares: Optional[dict] = None) -> list:
    """Index lists of batches that each hold every task: the edge budget is split between the tasks
    (evenly, or by ``shares``: task index -> fraction of the budget), each task is packed on its own
    (``batches_by_edges``) and the k-th batches of all tasks are joined. The task with fewer batches is
    cycled through fresh shuffles, so one pass covers the largest task once and every other task at least
    once.

    Why: batches of one task at a time let the task with the larger gradients (metal forces and stress)
    steer Adam's moments and starve the other (measured: mixed one-task batches left the ``mol`` forces near
    the zero-force baseline while ``mol``-only training cut them by two thirds in the same number of steps)."""
    tasks = sorted({int(g.task) for g in graphs})
    lists = []
    for t in tasks:
        share = shares[t] if shares and t in shares else 1.0 / len(tasks)
        per_task = max(1, int(max_edges * share))
        members = np.array([i for i, g in enumerate(graphs) if int(g.task) == t])
        sub = [graphs[i] for i in members]
        lists.append((members, sub, [[int(members[j]) for j in b] for b in batches_by_edges(sub, per_task, rng, max_systems)]))
    n = max(len(b) for _, _, b in lists)
    out = [[] for _ in range(n)]
    for members, sub, batches in lists:
        while len(batches) < n:
            batches += [[int(members[j]) for j in b] for b in batches_by_edges(sub, per_task, rng, max_systems)]
        for k in range(n):
            out[k] += batches[k]
    return out
