"""Gate activation (fairchem ``nn/activation.py: GateActivation``).

``forward(gating [R, lmax*H], x [R, rows, H])``: row 0 (the l = 0, m = 0 coefficient) becomes SiLU(x[0]);
every other row r of degree l(r) >= 1 is multiplied by ``sigmoid(gating)[l(r) - 1, :]`` (gating viewed as
``[lmax, H]``, degree-major). The row -> degree map depends on the layout:

* m-major truncated (edge messages, ``m_prime=True``): rows (l=1..lmax, m=0), then per m >= 1 the real
  rows l = m..lmax and the imaginary rows l = m..lmax;
* l-major (node features in the atom-wise feed-forward): rows l*l .. l*l+2l for each l.
"""

from __future__ import annotations

import torch
from torch import nn

from .layout import SphericalLayout


class GateActivation(nn.Module):
    def __init__(self, lmax: int, mmax: int, num_channels: int, m_prime: bool) -> None:
        super().__init__()
        self.lmax, self.mmax, self.num_channels = lmax, mmax, num_channels
        layout = SphericalLayout(lmax, mmax)
        degrees = layout.degree_of_m_major_row() if m_prime else layout.degree_of_l_major_row()
        if not m_prime and mmax != lmax:
            # fairchem only uses the l-major gate with mmax = lmax (spectral feed-forward).
            raise NotImplementedError("l-major gate activation requires mmax == lmax")
        self.register_buffer("expand_index", degrees[1:] - 1, persistent=False)

    def forward(self, gating: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        gates = torch.sigmoid(gating).reshape(gating.shape[0], self.lmax, self.num_channels)
        gates = gates.index_select(1, self.expand_index)
        return torch.cat([torch.nn.functional.silu(x[:, :1, :]), x[:, 1:, :] * gates], dim=1)
