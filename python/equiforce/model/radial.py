"""Distance features of edges (fairchem ``nn/radial.py``).

* ``GaussianSmearing``: ``exp(coeff * (d - mu_k)^2)`` with ``mu = linspace(0, cutoff, K)`` and
  ``coeff = -0.5 / (2.0 * (mu_1 - mu_0))^2`` (eSEN/UMA always construct it with ``start = 0``,
  ``stop = cutoff`` and basis-width scalar 2.0). Output ``[E, K]``.
* ``PolynomialEnvelope``: ``1 + x^p (a + x (b + c x))`` for ``x = d / cutoff < 1`` and 0 beyond, with
  ``p = 5``, ``a = -(p+1)(p+2)/2 = -21``, ``b = p(p+2) = 35``, ``c = -p(p+1)/2 = -15``. It multiplies the
  inverse edge rotation, so every message (and the edge-degree embedding) is scaled by it.
* ``RadialMLP``: ``Linear -> LayerNorm -> SiLU -> ... -> Linear`` over a channel list
  (``[K + 2 * edge_channels, edge_channels, edge_channels, out]`` in eSEN/UMA). Parameter names match
  fairchem's ``net.<i>`` Sequential indices (0, 1, 3, 4, 6 for four channel entries).
"""

from __future__ import annotations

from typing import Sequence

import torch
from torch import nn


class GaussianSmearing(nn.Module):
    """Gaussian basis of the edge length ``[E] -> [E, num_gaussians]``."""

    def __init__(self, start: float, stop: float, num_gaussians: int, basis_width_scalar: float = 2.0,
                 dtype: torch.dtype = torch.float64) -> None:
        super().__init__()
        if num_gaussians < 2:
            raise ValueError(f"num_gaussians must be >= 2 (fairchem's spacing needs two centres), got {num_gaussians}")
        offset = torch.linspace(start, stop, num_gaussians, dtype=dtype)
        self.coeff = -0.5 / (basis_width_scalar * (offset[1] - offset[0])).item() ** 2
        self.register_buffer("offset", offset, persistent=False)

    def forward(self, dist: torch.Tensor) -> torch.Tensor:
        diff = dist.reshape(-1, 1) - self.offset.reshape(1, -1)
        return torch.exp(self.coeff * diff.pow(2))


class PolynomialEnvelope(nn.Module):
    """Smooth cutoff ``[E] -> [E]`` of the scaled distance ``d / cutoff``."""

    def __init__(self, exponent: int = 5) -> None:
        super().__init__()
        if exponent <= 0:
            raise ValueError("envelope exponent must be positive")
        p = float(exponent)
        self.p = p
        self.a = -(p + 1) * (p + 2) / 2
        self.b = p * (p + 2)
        self.c = -p * (p + 1) / 2

    def forward(self, d_scaled: torch.Tensor) -> torch.Tensor:
        value = 1 + d_scaled.pow(self.p) * (self.a + d_scaled * (self.b + self.c * d_scaled))
        return torch.where(d_scaled < 1, value, torch.zeros_like(value))


class RadialMLP(nn.Module):
    """Linear layers with LayerNorm + SiLU between them, over ``channels`` (first = input width)."""

    def __init__(self, channels: Sequence[int]) -> None:
        super().__init__()
        channels = list(channels)
        if len(channels) < 2:
            raise ValueError("RadialMLP needs at least input and output widths")
        layers: list[nn.Module] = []
        for i in range(1, len(channels)):
            layers.append(nn.Linear(channels[i - 1], channels[i], bias=True))
            if i < len(channels) - 1:
                layers.append(nn.LayerNorm(channels[i]))
                layers.append(nn.SiLU())
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)
