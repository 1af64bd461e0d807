"""One eSEN/UMA interaction block (fairchem ``escn_md_block.py: eSCNMD_Block, Edgewise``).

Node features ``x [N, L, C]`` (l-major, L = (lmax+1)^2); per block::

    res = x
    h   = norm_1(x);  h[:, 0, :] += csd_mixed_emb[system_index]            (system embedding, every block)
    x   = res + edge_wise(h)
    res = x
    x   = res + atom_wise(norm_2(x))                                          (SpectralAtomwise)

``edge_wise`` (message passing), for edge e = (source j -> target i)::

    m_e  = Dm[e] @ [h[j] | h[i]]                 Dm = D[:, m_major_rows, :]  -> [E, M, 2C]  (rotate into edge frame)
    m_e, g_e = so2_conv_1(m_e, x_edge)          -> [E, M, H], gating [E, lmax*H]  (radial MLP inside)
    m_e  = gate_m_prime(g_e, m_e)                (SiLU on row 0, sigmoid gates per degree on the rest)
    m_e  = so2_conv_2(m_e)                      -> [E, M, C]   (no radial, no gating)
    out[i] = sum_{e: target(e)=i} env(d_e) * Dm[e]^T @ m_e          (rotate back, envelope, plain sum)

There is no 1/degree rescaling of the sum (only the edge-degree embedding is divided by 5).
"""

from __future__ import annotations

from typing import Optional, Sequence

import torch
from torch import nn

from .activation import GateActivation
from .mole import MoleContext
from .norm import make_norm
from .so2_layers import LinearFactory, SO2Convolution
from .so3_layers import SpectralAtomwise


class Edgewise(nn.Module):
    def __init__(self, sphere_channels: int, hidden_channels: int, lmax: int, mmax: int,
                 edge_channels_list: Sequence[int], make_linear: LinearFactory, act_type: str = "gate") -> None:
        super().__init__()
        if act_type != "gate":
            raise NotImplementedError(f"act_type={act_type!r}: only 'gate' is implemented ('s2' needs fairchem's S2 grids)")
        self.act = GateActivation(lmax, mmax, hidden_channels, m_prime=True)
        self.so2_conv_1 = SO2Convolution(2 * sphere_channels, hidden_channels, lmax, mmax, make_linear,
                                         edge_channels_list=edge_channels_list,
                                         extra_m0_output_channels=lmax * hidden_channels)
        self.so2_conv_2 = SO2Convolution(hidden_channels, sphere_channels, lmax, mmax, make_linear)

    def messages(self, x: torch.Tensor, x_edge: torch.Tensor, edge_index: torch.Tensor,
                 wigner: torch.Tensor, ctx: Optional[MoleContext] = None) -> torch.Tensor:
        """Edge messages in the edge frame [E, M, C] (before rotating back)."""
        pair = torch.cat([x.index_select(0, edge_index[0]), x.index_select(0, edge_index[1])], dim=2)
        m = torch.bmm(wigner, pair)
        m, gating = self.so2_conv_1(m, x_edge, ctx)
        m = self.act(gating, m)
        m, _ = self.so2_conv_2(m, None, ctx)
        return m

    def forward(self, x: torch.Tensor, x_edge: torch.Tensor, edge_index: torch.Tensor, wigner: torch.Tensor,
                wigner_inv_envelope: torch.Tensor, ctx: Optional[MoleContext] = None) -> torch.Tensor:
        m = self.messages(x, x_edge, edge_index, wigner, ctx)
        rotated = torch.bmm(wigner_inv_envelope, m)
        return torch.zeros_like(x).index_add(0, edge_index[1], rotated)


class Block(nn.Module):
    def __init__(self, sphere_channels: int, hidden_channels: int, lmax: int, mmax: int,
                 edge_channels_list: Sequence[int], make_linear: LinearFactory, norm_type: str = "rms_norm_sh",
                 act_type: str = "gate", ff_type: str = "spectral") -> None:
        super().__init__()
        if ff_type != "spectral":
            raise NotImplementedError(f"ff_type={ff_type!r}: only 'spectral' is implemented ('grid' needs fairchem's S2 grids)")
        self.norm_1 = make_norm(norm_type, lmax, sphere_channels)
        self.edge_wise = Edgewise(sphere_channels, hidden_channels, lmax, mmax, edge_channels_list, make_linear, act_type)
        self.norm_2 = make_norm(norm_type, lmax, sphere_channels)
        self.atom_wise = SpectralAtomwise(sphere_channels, hidden_channels, lmax)

    def forward(self, x: torch.Tensor, x_edge: torch.Tensor, edge_index: torch.Tensor, wigner: torch.Tensor,
                wigner_inv_envelope: torch.Tensor, sys_node_embedding: Optional[torch.Tensor],
                ctx: Optional[MoleContext] = None) -> torch.Tensor:
        h = self.norm_1(x)
        if sys_node_embedding is not None:
            h = torch.cat([h[:, :1, :] + sys_node_embedding[:, None, :], h[:, 1:, :]], dim=1)
        x = x + self.edge_wise(h, x_edge, edge_index, wigner, wigner_inv_envelope, ctx)
        return x + self.atom_wise(self.norm_2(x))
