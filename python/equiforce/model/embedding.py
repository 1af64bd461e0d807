"""System and edge embeddings (fairchem ``nn/embedding.py`` and ``escn_md.py: csd_embedding``).

System embedding (one row per system b)::

    csd_mixed_emb[b] = SiLU(mix_csd([charge_emb(charge[b]), spin_emb(spin[b]), dataset_emb(task[b])]))   [C]

    charge_emb / spin_emb ('rand_emb'): nn.Embedding rows charge + 100 (201 rows) / spin (101 rows)
                          ('pos_emb'):  [sin(2 pi q W), cos(2 pi q W)], W [C/2]; spin 0 -> zero vector
                          ('lin_emb'):  Linear(1, C)(q), spin 0 replaced by -100
    dataset_emb: one nn.Embedding(1, C) per dataset name (``dataset_emb_dict.<name>.weight``), looked up
                 through ``dataset_mapping`` (several task names may share one embedding).

Edge-degree embedding (``EdgeDegreeEmbedding``), added to the initial node features ``x [N, L, C]``::

    radial = rad_func(x_edge)  -> [E, (lmax+1), C]          (the m = 0 coefficients in the edge frame)
    x[i] += sum_{e: target(e)=i} (Dinv_env[e][:, :lmax+1] @ radial[e]) / rescale_factor   (rescale 5.0)

where ``Dinv_env[e] = envelope(d_e) * D[e]^T[:, m_major_rows]`` (``[E, L, M]``, its first lmax+1 columns
are the m = 0 columns) and ``x_edge = [gaussians(d), source_embedding(Z_src), target_embedding(Z_tgt)]``.
"""

from __future__ import annotations

import math
from typing import Mapping, Sequence

import torch
from torch import nn

from .radial import RadialMLP


class ChgSpinEmbedding(nn.Module):
    """Embedding of an integer total charge or spin multiplicity per system ``[B] -> [B, C]``."""

    def __init__(self, embedding_type: str, target: str, embedding_size: int) -> None:
        super().__init__()
        if target not in ("charge", "spin"):
            raise ValueError(f"target must be 'charge' or 'spin', got {target!r}")
        if embedding_size % 2:
            raise ValueError(f"embedding size must be even, got {embedding_size}")
        self.embedding_type = embedding_type
        self.target = target
        self.offset = 100 if target == "charge" else 0
        rows = 201 if target == "charge" else 101
        if embedding_type == "rand_emb":
            self.rand_emb = nn.Embedding(rows, embedding_size)
        elif embedding_type == "pos_emb":
            self.W = nn.Parameter(torch.randn(embedding_size // 2))
        elif embedding_type == "lin_emb":
            self.lin_emb = nn.Linear(1, embedding_size)
        else:
            raise NotImplementedError(f"chg_spin_emb_type={embedding_type!r} (supported: rand_emb, pos_emb, lin_emb)")

    def forward(self, value: torch.Tensor) -> torch.Tensor:
        if self.embedding_type == "rand_emb":
            index = value.long() + self.offset
            if bool(((index < 0) | (index >= self.rand_emb.num_embeddings)).any()):
                raise ValueError(f"{self.target} out of the embedding's range: {value.tolist()}")
            return self.rand_emb(index)
        if self.embedding_type == "pos_emb":
            proj = value.to(self.W.dtype)[:, None] * self.W[None, :] * 2 * math.pi
            emb = torch.cat([torch.sin(proj), torch.cos(proj)], dim=-1)
            if self.target == "spin":
                emb = torch.where((value == 0)[:, None], torch.zeros_like(emb), emb)
            return emb
        q = value.to(self.lin_emb.weight.dtype)
        if self.target == "spin":
            q = torch.where(value == 0, torch.full_like(q, -100.0), q)
        return self.lin_emb(q.unsqueeze(-1))


class DatasetEmbedding(nn.Module):
    """One learned vector per dataset (task) name; ``forward(task_index [B]) -> [B, C]``.

    ``task_names[i]`` is the task for index i; it is looked up through ``dataset_mapping``.
    """

    def __init__(self, embedding_size: int, dataset_mapping: Mapping[str, str], task_names: Sequence[str]) -> None:
        super().__init__()
        self.dataset_mapping = dict(dataset_mapping)
        self.task_names = list(task_names)
        self.dataset_emb_dict = nn.ModuleDict({name: nn.Embedding(1, embedding_size) for name in self.dataset_mapping})

    def table(self) -> torch.Tensor:
        """[T, C] embedding of every task index."""
        return torch.cat([self.dataset_emb_dict[self.dataset_mapping[t]].weight for t in self.task_names], dim=0)

    def forward(self, task: torch.Tensor) -> torch.Tensor:
        if task.numel() and (int(task.min()) < 0 or int(task.max()) >= len(self.task_names)):
            raise ValueError(f"task index out of range 0..{len(self.task_names) - 1}: {task.tolist()}")
        return self.table().index_select(0, task.long())


class EdgeDegreeEmbedding(nn.Module):
    """Adds the rotated, envelope-weighted radial m = 0 features of incoming edges to node features."""

    def __init__(self, sphere_channels: int, lmax: int, edge_channels_list: Sequence[int],
                 rescale_factor: float = 5.0) -> None:
        super().__init__()
        self.sphere_channels = sphere_channels
        self.num_m0 = lmax + 1
        self.rescale_factor = rescale_factor
        self.rad_func = RadialMLP(list(edge_channels_list) + [self.num_m0 * sphere_channels])

    def forward(self, x: torch.Tensor, x_edge: torch.Tensor, target: torch.Tensor,
                wigner_inv_envelope: torch.Tensor) -> torch.Tensor:
        radial = self.rad_func(x_edge).reshape(x_edge.shape[0], self.num_m0, self.sphere_channels)
        rotated = torch.bmm(wigner_inv_envelope[:, :, : self.num_m0], radial)
        return x.index_add(0, target, rotated / self.rescale_factor)
