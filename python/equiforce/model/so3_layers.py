"""Node-wise (atom-wise) equivariant layers (fairchem ``nn/so3_layers.py`` and ``escn_md_block.py``).

``SO3Linear``: ``out[n, r, o] = sum_i x[n, r, i] * weight[l(r), o, i]`` (one [out, in] matrix per degree,
``weight [lmax+1, out, in]``), plus ``bias [out]`` on row 0 only. Layout l-major.

``SpectralAtomwise`` (ff_type 'spectral'), node features x [N, (lmax+1)^2, C]::

    gating = SiLU(scalar_mlp.0(x[:, 0, :]))                 [N, lmax*H]
    h      = so3_linear_1(x)                                [N, L, H]
    h      = gate(gating, h)   (l-major GateActivation)
    out    = so3_linear_2(h)                                [N, L, C]
"""

from __future__ import annotations

import math

import torch
from torch import nn

from .activation import GateActivation


class SO3Linear(nn.Module):
    def __init__(self, in_features: int, out_features: int, lmax: int) -> None:
        super().__init__()
        self.in_features, self.out_features, self.lmax = in_features, out_features, lmax
        bound = 1 / math.sqrt(in_features)
        self.weight = nn.Parameter(torch.empty(lmax + 1, out_features, in_features).uniform_(-bound, bound))
        self.bias = nn.Parameter(torch.zeros(out_features))
        degrees = torch.tensor([l for l in range(lmax + 1) for _ in range(2 * l + 1)], dtype=torch.long)
        self.register_buffer("expand_index", degrees, persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        parts = []
        for l in range(self.lmax + 1):
            # [N, 2l+1, in] @ [in, out]: one matmul per degree (equivalent to fairchem's expanded einsum).
            parts.append(torch.matmul(x[:, l * l:(l + 1) * (l + 1), :], self.weight[l].t()))
        out = torch.cat(parts, dim=1)
        return torch.cat([out[:, :1, :] + self.bias.view(1, 1, -1), out[:, 1:, :]], dim=1)


class SpectralAtomwise(nn.Module):
    def __init__(self, sphere_channels: int, hidden_channels: int, lmax: int) -> None:
        super().__init__()
        self.scalar_mlp = nn.Sequential(nn.Linear(sphere_channels, lmax * hidden_channels, bias=True), nn.SiLU())
        self.so3_linear_1 = SO3Linear(sphere_channels, hidden_channels, lmax)
        self.act = GateActivation(lmax, lmax, hidden_channels, m_prime=False)
        self.so3_linear_2 = SO3Linear(hidden_channels, sphere_channels, lmax)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        gating = self.scalar_mlp(x[:, 0, :])
        h = self.so3_linear_1(x)
        h = self.act(gating, h)
        return self.so3_linear_2(h)
