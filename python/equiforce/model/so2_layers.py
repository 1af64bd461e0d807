"""SO(2) convolutions in the edge frame (fairchem ``nn/so2_layers.py: SO2_Convolution, SO2_m_Conv``).

Input ``x [E, M, Cin]`` in the m-major truncated layout (see ``layout.py``), split by order m into
blocks of ``lmax+1`` rows (m = 0) and ``2*(lmax-m+1)`` rows (m >= 1: real rows then imaginary rows).
With external weights (``so2_conv_1``) the radial MLP output ``rad [E, sum_m (lmax-m+1)*Cin]`` is split
the same way and multiplies the flattened block (``x_m.reshape(E, (lmax-m+1)*Cin)``, index ``l*Cin + c``)
elementwise before the linear maps:

* m = 0: ``y = fc_m0(x_0 * rad_0)`` [E, extra + (lmax+1)*Cout]; the first ``extra`` columns are returned
  separately (gating scalars), the rest is viewed as [E, lmax+1, Cout].
* m >= 1: ``fc`` maps (lmax-m+1)*Cin -> 2*(lmax-m+1)*Cout without bias; with ``W1, W2`` its two output
  halves, ``out_re = W1 x_re - W2 x_im`` and ``out_im = W2 x_re + W1 x_im`` (a complex multiplication,
  which commutes with rotations about the edge axis). Each is viewed as [E, lmax-m+1, Cout].

Output rows are concatenated in the same m-major order: ``[E, M, Cout]``. Linear maps are ``DenseLinear``
or ``MoLELinear`` (state-dict names ``fc_m0.weight|weights``, ``fc_m0.bias``, ``so2_m_conv.<m-1>.fc.weight|weights``).
"""

from __future__ import annotations

from typing import Callable, Optional, Sequence

import torch
from torch import nn

from .layout import SphericalLayout
from .mole import MoleContext
from .radial import RadialMLP

# make_linear(in_features, out_features, bias, role) with role "fc_m0" or "fc_m" (so MoLE variants can
# replace only some of them, as fairchem's moe_type 'so2m0' does).
LinearFactory = Callable[[int, int, bool, str], nn.Module]


class SO2mConv(nn.Module):
    """The order-m (m >= 1) part: holds ``fc`` with [2*(lmax-m+1)*Cout, (lmax-m+1)*Cin]."""

    def __init__(self, m: int, in_channels: int, out_channels: int, lmax: int, make_linear: LinearFactory) -> None:
        super().__init__()
        self.m = m
        self.num_l = lmax - m + 1
        self.out_channels = out_channels
        self.out_half = out_channels * self.num_l
        self.fc = make_linear(self.num_l * in_channels, 2 * self.out_half, False, "fc_m")

    def forward(self, x_m: torch.Tensor, ctx: Optional[MoleContext] = None) -> tuple[torch.Tensor, torch.Tensor]:
        """x_m [E, 2, num_l*Cin] (real, imaginary) -> (out_re, out_im), each [E, num_l, Cout]."""
        y = self.fc(x_m, ctx)  # [E, 2, 2*out_half]
        E = y.shape[0]
        re_w1, re_w2 = y[:, 0, : self.out_half], y[:, 0, self.out_half:]
        im_w1, im_w2 = y[:, 1, : self.out_half], y[:, 1, self.out_half:]
        out_re = (re_w1 - im_w2).reshape(E, self.num_l, self.out_channels)
        out_im = (im_w1 + re_w2).reshape(E, self.num_l, self.out_channels)
        return out_re, out_im


class SO2Convolution(nn.Module):
    """SO(2) convolution over all orders m <= mmax, optionally with a radial MLP (external weights)."""

    def __init__(self, in_channels: int, out_channels: int, lmax: int, mmax: int, make_linear: LinearFactory,
                 edge_channels_list: Optional[Sequence[int]] = None, extra_m0_output_channels: int = 0) -> None:
        super().__init__()
        self.in_channels, self.out_channels = in_channels, out_channels
        self.lmax, self.mmax = lmax, mmax
        self.layout = SphericalLayout(lmax, mmax)
        self.extra = extra_m0_output_channels
        self.fc_m0 = make_linear((lmax + 1) * in_channels, (lmax + 1) * out_channels + self.extra, True, "fc_m0")
        self.so2_m_conv = nn.ModuleList(
            [SO2mConv(m, in_channels, out_channels, lmax, make_linear) for m in range(1, mmax + 1)]
        )
        self.rad_split = [(lmax + 1) * in_channels] + [(lmax - m + 1) * in_channels for m in range(1, mmax + 1)]
        self.rad_func = None
        if edge_channels_list is not None:
            self.rad_func = RadialMLP(list(edge_channels_list) + [sum(self.rad_split)])

    def forward(self, x: torch.Tensor, x_edge: Optional[torch.Tensor] = None,
                ctx: Optional[MoleContext] = None) -> tuple[torch.Tensor, Optional[torch.Tensor]]:
        """x [E, M, Cin] -> (out [E, M, Cout], gating [E, extra] or None). ``x_edge`` feeds ``rad_func``."""
        E = x.shape[0]
        rad_parts = None
        if self.rad_func is not None:
            if x_edge is None:
                raise ValueError("this SO2 convolution has a radial function and needs x_edge")
            rad_parts = torch.split(self.rad_func(x_edge), self.rad_split, dim=1)
        blocks = torch.split(x, list(self.layout.m_block_sizes), dim=1)

        x0 = blocks[0].reshape(E, (self.lmax + 1) * self.in_channels)
        if rad_parts is not None:
            x0 = x0 * rad_parts[0]
        y0 = self.fc_m0(x0, ctx)
        gating = y0[:, : self.extra] if self.extra else None
        out = [y0[:, self.extra:].reshape(E, self.lmax + 1, self.out_channels)]
        for m in range(1, self.mmax + 1):
            xm = blocks[m].reshape(E, 2, (self.lmax - m + 1) * self.in_channels)
            if rad_parts is not None:
                xm = xm * rad_parts[m].unsqueeze(1)
            out.extend(self.so2_m_conv[m - 1](xm, ctx))
        return torch.cat(out, dim=1), gating
