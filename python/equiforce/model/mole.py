"""Mixture of linear experts (fairchem ``nn/mole.py: MOLE``, ``nn/mole_utils.py``, ``escn_moe.py``).

A MoLE layer holds ``weights [K, out, in]`` (K experts) and one shared ``bias [out]``. For system b
with expert coefficients ``c[b, :]`` its effective weight is ``W_b = sum_k c[b, k] W_k`` and every
row (edge) belonging to system b is mapped by ``x @ W_b^T + bias``. fairchem assumes the rows are
contiguous per system (``mole_sizes``); here each row carries its system index, rows are grouped by a
stable sort when they are not already contiguous, so any edge order gives the same result.

Coefficients (``eSCNMDMoeBackbone.set_MOLE_coefficients``), per system b::

    composition[b] = mean over atoms of system b of composition_embedding(Z)       [C]
    logits[b]      = routing_mlp([composition[b], csd_mixed_emb[b]])                [K]
                     routing_mlp = Linear(2C,2K) SiLU Linear(2K,2K) SiLU Linear(2K,K) SiLU
    c[b]           = softmax(logits[b]) + 0.005          (moe_expert_coefficient_norm='softmax')
                     or normalize_p1(|logits[b]| + 2 / B) ('pnorm'; note B = systems in the batch)

``DenseLinear`` is ``nn.Linear`` with the same call signature, so layers can be built from either.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional

import torch
from torch import nn
from torch.nn import functional as F


@dataclass
class MoleContext:
    """Per-call routing state: expert coefficients per system and the system of each row (edge)."""

    coefficients: torch.Tensor  # [B, K]
    row_system: torch.Tensor  # [E] long
    counts: list  # rows per system, length B
    order: Optional[torch.Tensor]  # stable sort of rows by system, None if already contiguous
    inverse: Optional[torch.Tensor]

    @staticmethod
    def build(coefficients: torch.Tensor, row_system: torch.Tensor) -> "MoleContext":
        B = coefficients.shape[0]
        row_system = row_system.long()
        counts = torch.bincount(row_system, minlength=B).tolist() if row_system.numel() else [0] * B
        order = inverse = None
        if row_system.numel() > 1 and bool((row_system[1:] < row_system[:-1]).any()):
            order = torch.sort(row_system, stable=True).indices
            inverse = torch.empty_like(order)
            inverse[order] = torch.arange(order.numel(), device=order.device)
        return MoleContext(coefficients, row_system, counts, order, inverse)


class DenseLinear(nn.Linear):
    """``nn.Linear`` accepting (and ignoring) a MoLE context, so layers can hold either kind."""

    def forward(self, x: torch.Tensor, ctx: Optional[MoleContext] = None) -> torch.Tensor:  # noqa: D401
        return F.linear(x, self.weight, self.bias)


class MoLELinear(nn.Module):
    """Linear layer with K experts combined per system (state-dict keys ``weights``, ``bias``)."""

    def __init__(self, num_experts: int, in_features: int, out_features: int, bias: bool) -> None:
        super().__init__()
        self.num_experts = num_experts
        self.in_features = in_features
        self.out_features = out_features
        k = math.sqrt(1.0 / in_features)
        self.weights = nn.Parameter(k * 2 * (torch.rand(num_experts, out_features, in_features) - 0.5))
        self.bias = nn.Parameter(k * 2 * (torch.rand(out_features) - 0.5)) if bias else None

    def system_weights(self, coefficients: torch.Tensor) -> torch.Tensor:
        """[B, out, in] effective weights for coefficients [B, K]."""
        return torch.einsum("koi,bk->boi", self.weights, coefficients)

    def forward(self, x: torch.Tensor, ctx: Optional[MoleContext] = None) -> torch.Tensor:
        if ctx is None:
            raise RuntimeError("MoLE layer called without expert coefficients (MoleContext)")
        W = self.system_weights(ctx.coefficients)
        if W.shape[0] == 1:
            return F.linear(x, W[0], self.bias)
        xs = x if ctx.order is None else x.index_select(0, ctx.order)
        chunks = torch.split(xs, ctx.counts, dim=0)
        out = torch.cat([F.linear(chunk, W[b], self.bias) for b, chunk in enumerate(chunks)], dim=0)
        return out if ctx.inverse is None else out.index_select(0, ctx.inverse)

    def merged(self, coefficients: torch.Tensor) -> DenseLinear:
        """Equivalent dense layer for one system's coefficients [K] (fairchem ``merged_linear_layer``)."""
        lin = DenseLinear(self.in_features, self.out_features, bias=self.bias is not None)
        lin = lin.to(dtype=self.weights.dtype, device=self.weights.device)
        with torch.no_grad():
            lin.weight.copy_(torch.einsum("koi,k->oi", self.weights, coefficients))
            if self.bias is not None:
                lin.bias.copy_(self.bias)
        return lin


def softmax_norm(logits: torch.Tensor) -> torch.Tensor:
    return torch.softmax(logits, dim=1) + 0.005


def pnorm_norm(logits: torch.Tensor) -> torch.Tensor:
    return F.normalize(logits.abs() + 2 / logits.shape[0], p=1.0, dim=1)


COEFFICIENT_NORMS = {"softmax": softmax_norm, "pnorm": pnorm_norm}


def build_routing_mlp(width: int, num_experts: int) -> nn.Sequential:
    """fairchem's routing MLP (state-dict keys ``routing_mlp.0/2/4``); note the final SiLU."""
    return nn.Sequential(
        nn.Linear(width, 2 * num_experts), nn.SiLU(),
        nn.Linear(2 * num_experts, 2 * num_experts), nn.SiLU(),
        nn.Linear(2 * num_experts, num_experts), nn.SiLU(),
    )


def composition_mean(embedding: nn.Embedding, atomic_numbers: torch.Tensor, system_index: torch.Tensor,
                     num_systems: int, include_self: bool = False) -> torch.Tensor:
    """[B, C] mean of ``embedding(Z)`` over each system's atoms (0 for a system without atoms).

    ``include_self=True`` reproduces UMA-S-1.2 (fairchem ``index_reduce_(mean, include_self=True)`` over a
    zero tensor, i.e. the sum divided by natoms + 1).
    """
    per_atom = embedding(atomic_numbers)
    total = per_atom.new_zeros(num_systems, per_atom.shape[1]).index_add(0, system_index, per_atom)
    count = torch.bincount(system_index, minlength=num_systems).to(per_atom.dtype)
    if include_self:
        count = count + 1
    return total / count.clamp(min=1).unsqueeze(1)


def expert_coefficients(routing_mlp: nn.Module, coefficient_norm: str, csd_mixed_emb: torch.Tensor,
                        composition: Optional[torch.Tensor]) -> torch.Tensor:
    """[B, K] = norm(routing_mlp([composition, csd_mixed_emb])) (composition omitted when None)."""
    if coefficient_norm not in COEFFICIENT_NORMS:
        raise NotImplementedError(f"moe_expert_coefficient_norm={coefficient_norm!r} (supported: softmax, pnorm)")
    parts = ([composition] if composition is not None else []) + [csd_mixed_emb]
    return COEFFICIENT_NORMS[coefficient_norm](routing_mlp(torch.cat(parts, dim=1)))
