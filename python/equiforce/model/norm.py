"""Equivariant normalisations of node features ``[N, (lmax+1)^2, C]`` (l-major) (fairchem ``nn/layer_norm.py``).

``rms_norm_sh`` (``EquivariantRMSNormArraySphericalHarmonicsV2``, what eSEN/UMA use), per node n::

    y      = x with row 0 centred over channels: y[0, c] = x[0, c] - mean_c x[0, c]
    s      = mean_c  sum_{l} 1/((2l+1)(lmax+1)) sum_{m} y[(l,m), c]^2        (degree-balanced mean square)
    out    = y * (s + eps)^{-1/2} * affine_weight[l(row), c];   out[0, c] += affine_bias[c]

with eps = 1e-5. ``layer_norm_sh`` (LayerNorm on l = 0; one balanced RMS over all l > 0 rows, scaled by
``affine_weight[l-1]``) and ``layer_norm`` (separate centred/RMS normalisation per degree) are also here.
"""

from __future__ import annotations

import torch
from torch import nn


def _degrees(lmax: int) -> torch.Tensor:
    return torch.tensor([l for l in range(lmax + 1) for _ in range(2 * l + 1)], dtype=torch.long)


class RMSNormSH(nn.Module):
    """``rms_norm_sh`` (fairchem ``EquivariantRMSNormArraySphericalHarmonicsV2`` with defaults)."""

    def __init__(self, lmax: int, num_channels: int, eps: float = 1e-5) -> None:
        super().__init__()
        self.lmax, self.num_channels, self.eps = lmax, num_channels, eps
        self.affine_weight = nn.Parameter(torch.ones(lmax + 1, num_channels))
        self.affine_bias = nn.Parameter(torch.zeros(num_channels))
        degrees = _degrees(lmax)
        self.register_buffer("expand_index", degrees, persistent=False)
        self.register_buffer("balance", 1.0 / ((2 * degrees + 1).double() * (lmax + 1)), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        l0 = x[:, :1, :]
        y = torch.cat([l0 - l0.mean(dim=2, keepdim=True), x[:, 1:, :]], dim=1)
        ms = torch.einsum("nic,i->nc", y.pow(2), self.balance.to(x.dtype)).mean(dim=1)  # [N]
        scale = (ms + self.eps).pow(-0.5)[:, None, None] * self.affine_weight.index_select(0, self.expand_index)[None]
        out = y * scale
        return torch.cat([out[:, :1, :] + self.affine_bias.view(1, 1, -1), out[:, 1:, :]], dim=1)


class LayerNormSH(nn.Module):
    """``layer_norm_sh`` (fairchem ``EquivariantLayerNormArraySphericalHarmonics`` with defaults)."""

    def __init__(self, lmax: int, num_channels: int, eps: float = 1e-5) -> None:
        super().__init__()
        self.lmax, self.num_channels, self.eps = lmax, num_channels, eps
        self.norm_l0 = nn.LayerNorm(num_channels, eps=eps)
        if lmax > 0:
            self.affine_weight = nn.Parameter(torch.ones(lmax, num_channels))
            degrees = _degrees(lmax)[1:]
            self.register_buffer("expand_index", degrees - 1, persistent=False)
            self.register_buffer("balance", 1.0 / ((2 * degrees + 1).double() * lmax), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out0 = self.norm_l0(x[:, :1, :])
        if self.lmax == 0:
            return out0
        rest = x[:, 1:, :]
        ms = torch.einsum("nic,i->nc", rest.pow(2), self.balance.to(x.dtype)).mean(dim=1)
        scale = (ms + self.eps).pow(-0.5)[:, None, None] * self.affine_weight.index_select(0, self.expand_index)[None]
        return torch.cat([out0, rest * scale], dim=1)


class LayerNormPerDegree(nn.Module):
    """``layer_norm`` (fairchem ``EquivariantLayerNormArray``): centred on l = 0, RMS per degree."""

    def __init__(self, lmax: int, num_channels: int, eps: float = 1e-5) -> None:
        super().__init__()
        self.lmax, self.num_channels, self.eps = lmax, num_channels, eps
        self.affine_weight = nn.Parameter(torch.ones(lmax + 1, num_channels))
        self.affine_bias = nn.Parameter(torch.zeros(num_channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = []
        for l in range(self.lmax + 1):
            f = x[:, l * l:(l + 1) * (l + 1), :]
            if l == 0:
                f = f - f.mean(dim=2, keepdim=True)
            ms = f.pow(2).mean(dim=1, keepdim=True).mean(dim=2, keepdim=True)
            f = f * (ms + self.eps).pow(-0.5) * self.affine_weight[l].view(1, 1, -1)
            if l == 0:
                f = f + self.affine_bias.view(1, 1, -1)
            out.append(f)
        return torch.cat(out, dim=1)


def make_norm(norm_type: str, lmax: int, num_channels: int) -> nn.Module:
    """Normalisation layer by fairchem's ``norm_type`` name."""
    if norm_type == "rms_norm_sh":
        return RMSNormSH(lmax, num_channels)
    if norm_type == "layer_norm_sh":
        return LayerNormSH(lmax, num_channels)
    if norm_type == "layer_norm":
        return LayerNormPerDegree(lmax, num_channels)
    raise NotImplementedError(f"norm_type={norm_type!r} (supported: rms_norm_sh, layer_norm_sh, layer_norm)")
