"""The eSEN/UMA backbone (fairchem ``escn_md.py: eSCNMDBackbone``, ``escn_moe.py: eSCNMDMoeBackbone``).

Inputs (one call may hold several systems b = 0..B-1):
  atomic_numbers [N] long; edge_index [2, E] long (row 0 = source/neighbour j, row 1 = target/centre i;
  the message j -> i is summed into i); edge_vec [E, 3] = pos[j] - pos[i] + offset @ cell;
  system_index [N] long; charge, spin, task [B] long (task = index into ``task_names``).

Forward, in order (names in brackets are the fixture's intermediate arrays)::

    csd     = SiLU(mix_csd([charge_emb, spin_emb, dataset_emb]))                      [B, C]  (csd_mixed_emb)
    coeffs  = MoLE expert coefficients from (composition, csd)   (MoLE only; see mole.py) [B, K]
    D       = block-diagonal Wigner [E, L, L] with D^1 @ unit(edge_vec) = +y  (equiforce.so3; any roll)
    Dm      = D[:, m_major_rows, :] [E, M, L];  Dm_inv_env = envelope(|v|/cutoff) * Dm^T  [E, L, M]
    x       = 0 [N, L, C];  x[:, 0] = sphere_embedding(Z) + csd[system_index]               (x_initial)
    x_edge  = [gaussian(|v|), source_embedding(Z_j), target_embedding(Z_i)]   [E, K+2Ce]  (edge_scalar_features)
    x       = edge_degree_embedding(x, x_edge, Dm_inv_env)                       (x_after_edge_degree_embedding)
    for each block: x = block(x, x_edge, Dm, Dm_inv_env, csd[system_index])       (x_after_block{i})
                    then optional charge/spin channel balancing
    node_embedding = norm(x)                                                        [N, L, C]  (node_embedding)

The module and parameter names equal fairchem's, so a fairchem state dict (``backbone.`` prefix removed)
loads with ``load_state_dict`` (MoLE layers are ``...fc_m0.weights [K, out, in]``).
"""

from __future__ import annotations

from typing import Optional, Sequence

import numpy as np
import torch
from torch import nn

from .. import so3
from ..fairchem_config import UMAHyperParams
from .block import Block
from .embedding import ChgSpinEmbedding, DatasetEmbedding, EdgeDegreeEmbedding
from .jd import generate_jd
from .layout import SphericalLayout
from .mole import (DenseLinear, MoLELinear, MoleContext, build_routing_mlp, composition_mean,
                   expert_coefficients)
from .norm import make_norm
from .radial import GaussianSmearing, PolynomialEnvelope


class UMABackbone(nn.Module):
    def __init__(self, hp: UMAHyperParams, jd: Optional[Sequence[np.ndarray]] = None) -> None:
        super().__init__()
        hp.validate()
        self.hp = hp
        self.lmax, self.mmax = hp.lmax, hp.mmax
        self.sphere_channels = hp.sphere_channels
        self.hidden_channels = hp.hidden_channels
        self.cutoff = float(hp.cutoff)
        self.layout = SphericalLayout(hp.lmax, hp.mmax)
        C = hp.sphere_channels

        if jd is None:
            jd = generate_jd(hp.lmax)
        for l in range(hp.lmax + 1):
            self.register_buffer(f"Jd_{l}", torch.as_tensor(np.asarray(jd[l]), dtype=torch.float64))

        self.sphere_embedding = nn.Embedding(hp.max_num_elements, C)
        self.charge_embedding = ChgSpinEmbedding(hp.chg_spin_emb_type, "charge", C)
        self.spin_embedding = ChgSpinEmbedding(hp.chg_spin_emb_type, "spin", C)
        self.task_names = list(hp.task_names)
        if hp.use_dataset_embedding:
            self.dataset_embedding = DatasetEmbedding(C, hp.dataset_mapping, hp.task_names)
            self.mix_csd = nn.Linear(3 * C, C)
        else:
            self.mix_csd = nn.Linear(2 * C, C)

        self.distance_expansion = GaussianSmearing(0.0, self.cutoff, hp.num_distance_basis, 2.0)
        self.source_embedding = nn.Embedding(hp.max_num_elements, hp.edge_channels)
        self.target_embedding = nn.Embedding(hp.max_num_elements, hp.edge_channels)
        self.edge_channels_list = [hp.num_distance_basis + 2 * hp.edge_channels, hp.edge_channels, hp.edge_channels]
        self.edge_degree_embedding = EdgeDegreeEmbedding(C, hp.lmax, self.edge_channels_list, rescale_factor=5.0)
        self.envelope = PolynomialEnvelope(exponent=5)

        self.num_experts = hp.num_experts if hp.is_mole else 0
        mole_layers = set(range(hp.num_layers)) if hp.layers_moe is None else set(hp.layers_moe)
        shared: dict = {}

        def factory(layer: int):
            def make(in_f: int, out_f: int, bias: bool, role: str) -> nn.Module:
                use_mole = (self.num_experts > 0 and layer in mole_layers
                            and (hp.moe_type == "so2" or role == "fc_m0"))
                if not use_mole:
                    return DenseLinear(in_f, out_f, bias=bias)
                if hp.moe_single and not bias:
                    # fairchem's mole_single shares bias-free MoLE layers of equal shape across blocks.
                    key = (in_f, out_f)
                    if key not in shared:
                        shared[key] = MoLELinear(self.num_experts, in_f, out_f, bias)
                    return shared[key]
                return MoLELinear(self.num_experts, in_f, out_f, bias)
            return make

        self.blocks = nn.ModuleList([
            Block(C, hp.hidden_channels, hp.lmax, hp.mmax, self.edge_channels_list, factory(i),
                  hp.norm_type, hp.act_type, hp.ff_type)
            for i in range(hp.num_layers)
        ])
        self.norm = make_norm(hp.norm_type, hp.lmax, C)

        if self.num_experts > 0:
            self.routing_mlp = build_routing_mlp((int(hp.use_composition_embedding) + 1) * C, self.num_experts)
            if hp.use_composition_embedding:
                self.composition_embedding = nn.Embedding(hp.max_num_elements, C)
        self.charge_channels = _channel_range(hp.charge_balanced_channels, "charge_balanced_channels")
        self.spin_channels = _channel_range(hp.spin_balanced_channels, "spin_balanced_channels")
        self.refresh_couplings()
        # Jd_l may change with a loaded state dict: keep the derived coupling matrices in sync.
        self.register_load_state_dict_post_hook(_refresh_after_load)

    # ------------------------------------------------------------------ rotations
    def refresh_couplings(self) -> None:
        """Recompute the Wigner coupling matrices from the ``Jd_l`` buffers (after loading a state dict)."""
        J = [getattr(self, f"Jd_{l}").detach().cpu().double().numpy() for l in range(self.lmax + 1)]
        exact = generate_jd(self.lmax)
        if all(np.abs(a - b).max() < 1e-5 for a, b in zip(J, exact)):
            # Checkpoints stored in float32 carry rounded J matrices; use the exact values they round.
            J = exact
        couplings = so3.coupling_matrices(J)
        for l in range(2, self.lmax + 1):
            tensor = torch.as_tensor(couplings[l], dtype=self.Jd_0.dtype, device=self.Jd_0.device)
            self.register_buffer(f"coupling_{l}", tensor, persistent=False)

    def couplings(self) -> list:
        return [None, None] + [getattr(self, f"coupling_{l}") for l in range(2, self.lmax + 1)]

    def edge_wigner(self, edge_vec: torch.Tensor) -> torch.Tensor:
        """Full l-major Wigner matrices [E, L, L] rotating each edge onto +y."""
        C = [None if c is None else c.to(edge_vec.dtype) for c in self.couplings()]
        return so3.edge_wigner(edge_vec, self.lmax, C)

    # ------------------------------------------------------------------ embeddings
    def csd_embedding(self, charge: torch.Tensor, spin: torch.Tensor, task: torch.Tensor) -> torch.Tensor:
        """[B, C] SiLU(mix_csd([charge, spin, dataset embeddings]))."""
        parts = [self.charge_embedding(charge), self.spin_embedding(spin)]
        if self.hp.use_dataset_embedding:
            parts.append(self.dataset_embedding(task))
        return torch.nn.functional.silu(self.mix_csd(torch.cat(parts, dim=1)))

    def mole_coefficients(self, atomic_numbers: torch.Tensor, system_index: torch.Tensor,
                          csd_mixed_emb: torch.Tensor) -> Optional[torch.Tensor]:
        """[B, K] expert coefficients (None for a dense backbone)."""
        if self.num_experts == 0:
            return None
        comp = None
        if self.hp.use_composition_embedding:
            comp = composition_mean(self.composition_embedding, atomic_numbers, system_index,
                                    csd_mixed_emb.shape[0], self.hp.composition_include_self)
        return expert_coefficients(self.routing_mlp, self.hp.moe_expert_coefficient_norm, csd_mixed_emb, comp)

    def edge_features(self, atomic_numbers: torch.Tensor, edge_index: torch.Tensor,
                      edge_vec: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(x_edge [E, K + 2 Ce], envelope [E]) from edge lengths and the two atoms' embeddings."""
        dist = torch.linalg.norm(edge_vec, dim=-1)
        envelope = self.envelope(dist / self.cutoff)
        x_edge = torch.cat([
            self.distance_expansion(dist),
            self.source_embedding(atomic_numbers[edge_index[0]]),
            self.target_embedding(atomic_numbers[edge_index[1]]),
        ], dim=1)
        return x_edge, envelope

    def balance_channels(self, x: torch.Tensor, charge: torch.Tensor, spin: torch.Tensor,
                         system_index: torch.Tensor) -> torch.Tensor:
        """fairchem ``balance_channels``: shift l = 0 channels so their per-system sum is charge / spin - 1."""
        for (start, end), target in ((self.charge_channels, charge), (self.spin_channels, spin - 1)):
            if end <= start:
                continue
            B = charge.shape[0]
            natoms = torch.bincount(system_index, minlength=B).to(x.dtype)
            ch = x[:, 0, start:end]
            sums = x.new_zeros(B, end - start).index_add(0, system_index, ch)
            corr = (sums - target.to(x.dtype)[:, None]) / natoms[:, None]
            x = x.clone()
            x[:, 0, start:end] = ch - corr[system_index]
        return x

    # ------------------------------------------------------------------ forward
    def forward(self, atomic_numbers: torch.Tensor, edge_index: torch.Tensor, edge_vec: torch.Tensor,
                system_index: torch.Tensor, charge: torch.Tensor, spin: torch.Tensor, task: torch.Tensor,
                wigner: Optional[torch.Tensor] = None, mole_coefficients: Optional[torch.Tensor] = None,
                return_intermediates: bool = False) -> dict:
        """Node embeddings (and intermediates). ``wigner`` [E, L, L] overrides the computed edge frames."""
        atomic_numbers = atomic_numbers.long()
        edge_index = edge_index.long()
        system_index = system_index.long()
        out: dict = {}
        csd = self.csd_embedding(charge, spin, task)
        ctx = None
        if self.num_experts > 0:
            coeffs = mole_coefficients
            if coeffs is None:
                coeffs = self.mole_coefficients(atomic_numbers, system_index, csd)
            ctx = MoleContext.build(coeffs, system_index[edge_index[1]])
            out["mole_expert_coefficients"] = coeffs
        if wigner is None:
            wigner = self.edge_wigner(edge_vec)
        w, w_inv = self.layout.edge_frame_wigner(wigner.to(edge_vec.dtype))

        sys_node = csd.index_select(0, system_index)
        N, L, C = atomic_numbers.shape[0], self.layout.num_l_major, self.sphere_channels
        x0 = self.sphere_embedding(atomic_numbers) + sys_node
        x = torch.cat([x0[:, None, :], x0.new_zeros(N, L - 1, C)], dim=1)
        x_edge, envelope = self.edge_features(atomic_numbers, edge_index, edge_vec)
        w_inv_env = w_inv * envelope[:, None, None]
        if return_intermediates:
            out.update(csd_mixed_emb=csd, x_initial=x, edge_scalar_features=x_edge, edge_envelope=envelope)

        x = self.edge_degree_embedding(x, x_edge, edge_index[1], w_inv_env)
        if return_intermediates:
            out["x_after_edge_degree_embedding"] = x
        for i, block in enumerate(self.blocks):
            x = block(x, x_edge, edge_index, w, w_inv_env, sys_node, ctx)
            x = self.balance_channels(x, charge, spin, system_index)
            if return_intermediates:
                out[f"x_after_block{i}"] = x
        out["node_embedding"] = self.norm(x)
        return out


def _refresh_after_load(module: "UMABackbone", incompatible_keys) -> None:
    module.refresh_couplings()


def _channel_range(channels: Sequence[int], name: str) -> tuple[int, int]:
    if not channels:
        return (0, 0)
    s = sorted(channels)
    if s != list(range(s[0], s[-1] + 1)):
        raise ValueError(f"{name} must be contiguous, got {list(channels)}")
    return (s[0], s[-1] + 1)
