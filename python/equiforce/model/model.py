"""Backbone + conserving energy head, and derivatives (fairchem ``MLP_EFS_Head``, ``outputs.py``).

Head (``MLP_EFS_Head.energy_block``), on the l = 0 row of the final node embedding::

    atom_energy = Linear(H,1)(SiLU(Linear(H,H)(SiLU(Linear(C,H)(node_embedding[:, 0, :])))))   [N]
    energy[b]   = sum of atom_energy over the atoms of system b                               [B]

(raw model units: no normaliser, no element references). Derivatives (``evaluate``) go through the edge
vectors, ``g_e = dE/d(edge_vec_e)`` [E, 3] with ``edge_vec_e = pos[j] - pos[i] + offset_e @ cell``::

    forces[n]  = sum_{e: target(e)=n} g_e - sum_{e: source(e)=n} g_e           ( = -dE/dpos )
    stress[b]  = sym( sum_{e in b} edge_vec_e (outer) g_e ) / |det cell_b|       ( = (1/V) dE/d(strain) )
    cell_grad[b] = sum_{e in b} offset_e (outer) g_e                             ( = dE/d(cell) at fixed pos )

which equals fairchem's autograd forces and its virial-based stress.
"""

from __future__ import annotations

import copy
from typing import Optional

import torch
from torch import nn

from ..fairchem_config import UMAHyperParams
from .backbone import UMABackbone
from .mole import MoLELinear


class EnergyHead(nn.Module):
    """``MLP_EFS_Head`` energy block (state-dict keys ``energy_block.0/2/4``)."""

    def __init__(self, sphere_channels: int, hidden_channels: int) -> None:
        super().__init__()
        self.energy_block = nn.Sequential(
            nn.Linear(sphere_channels, hidden_channels), nn.SiLU(),
            nn.Linear(hidden_channels, hidden_channels), nn.SiLU(),
            nn.Linear(hidden_channels, 1),
        )

    def forward(self, node_embedding: torch.Tensor, system_index: torch.Tensor, num_systems: int) -> tuple:
        atom_energy = self.energy_block(node_embedding[:, 0, :]).reshape(-1)
        energy = atom_energy.new_zeros(num_systems).index_add(0, system_index, atom_energy)
        return energy, atom_energy


class UMAModel(nn.Module):
    """eSEN/UMA backbone + MLP energy head. ``forward`` gives energies and embeddings; see ``evaluate``."""

    def __init__(self, hp: UMAHyperParams, jd=None) -> None:
        super().__init__()
        self.hp = hp
        self.backbone = UMABackbone(hp, jd)
        self.head = EnergyHead(hp.sphere_channels, hp.hidden_channels)

    @property
    def task_names(self) -> list:
        return self.backbone.task_names

    def task_index(self, name: str) -> int:
        try:
            return self.backbone.task_names.index(name)
        except ValueError:
            raise ValueError(f"unknown task {name!r}; model tasks: {self.backbone.task_names}") from None

    def forward(self, atomic_numbers: torch.Tensor, edge_index: torch.Tensor, edge_vec: torch.Tensor,
                system_index: torch.Tensor, charge: torch.Tensor, spin: torch.Tensor, task: torch.Tensor,
                wigner: Optional[torch.Tensor] = None, return_intermediates: bool = False) -> dict:
        """energy [B], atom_energy [N], node_embedding [N, (lmax+1)^2, C] (+ intermediates)."""
        out = self.backbone(atomic_numbers, edge_index, edge_vec, system_index, charge, spin, task,
                            wigner=wigner, return_intermediates=return_intermediates)
        energy, atom_energy = self.head(out["node_embedding"], system_index.long(), charge.shape[0])
        out["energy"] = energy
        out["atom_energy"] = atom_energy
        return out


def edge_vectors(positions: torch.Tensor, edge_index: torch.Tensor, cell_offsets: Optional[torch.Tensor] = None,
                 cell: Optional[torch.Tensor] = None, system_index: Optional[torch.Tensor] = None) -> torch.Tensor:
    """pos[j] - pos[i] + offset @ cell[system of the edge] ([E, 3]); cell is [3, 3] or [B, 3, 3]."""
    src, tgt = edge_index[0].long(), edge_index[1].long()
    vec = positions[src] - positions[tgt]
    if cell_offsets is not None and cell is not None:
        offsets = cell_offsets.to(positions.dtype)
        if cell.dim() == 2:
            vec = vec + offsets @ cell
        else:
            sys_e = system_index.long()[tgt] if system_index is not None else torch.zeros_like(tgt)
            vec = vec + torch.einsum("ea,eab->eb", offsets, cell[sys_e])
    return vec


def evaluate(model: UMAModel, atomic_numbers, edge_index, *, positions=None, cell_offsets=None, cell=None,
             edge_vec=None, system_index=None, charge, spin, task, forces: bool = True, stress: bool = False,
             create_graph: bool = False, wigner=None, return_intermediates: bool = False) -> dict:
    """Energies plus conservative derivatives.

    Give either ``positions`` (+ ``cell_offsets``/``cell`` for periodic systems) or ``edge_vec``. Returns
    ``energy [B]``, ``atom_energy [N]``, ``node_embedding``, ``edge_grad [E, 3] = dE/d(edge_vec)``, and
    ``forces [N, 3]`` (if ``forces``), ``stress [B, 3, 3]`` (if ``stress``, needs ``cell``),
    ``cell_grad [B, 3, 3] = dE/d(cell)`` at fixed Cartesian positions (if ``cell_offsets`` given). With
    ``create_graph=True`` the derivatives stay differentiable (training on forces/stress).
    """
    device = model.backbone.Jd_0.device
    atomic_numbers = torch.as_tensor(atomic_numbers, device=device).long()
    N = atomic_numbers.shape[0]
    edge_index = torch.as_tensor(edge_index, device=device).long().reshape(2, -1)
    system_index = (torch.zeros(N, dtype=torch.long, device=device) if system_index is None
                    else torch.as_tensor(system_index, device=device).long())
    charge, spin, task = (torch.as_tensor(v, device=device).long().reshape(-1) for v in (charge, spin, task))
    B = charge.shape[0]
    if not (spin.shape[0] == B and task.shape[0] == B):
        raise ValueError("charge, spin and task need one entry per system")
    if N and int(system_index.max()) >= B:
        raise ValueError("system_index refers to a system without charge/spin/task")
    max_z = model.hp.max_num_elements
    if N and (int(atomic_numbers.min()) < 0 or int(atomic_numbers.max()) >= max_z):
        raise ValueError(f"atomic number outside 0..{max_z - 1}: {atomic_numbers.tolist()}")
    if edge_index.numel() and (int(edge_index.min()) < 0 or int(edge_index.max()) >= N):
        raise ValueError(f"edge_index refers to atoms outside 0..{N - 1}")
    if edge_vec is None:
        if positions is None:
            raise ValueError("give positions or edge_vec")
        edge_vec = edge_vectors(positions, edge_index, cell_offsets, cell, system_index)
    if edge_vec.shape != (edge_index.shape[1], 3):
        raise ValueError(f"edge_vec must be [E, 3] with E = {edge_index.shape[1]}, got {tuple(edge_vec.shape)}")
    with torch.enable_grad():
        if not edge_vec.requires_grad:
            edge_vec = edge_vec.detach().requires_grad_(True)
        if edge_vec.shape[0] and bool((torch.linalg.norm(edge_vec.detach(), dim=1) == 0).any()):
            raise ValueError("an edge has zero length (self-edge without a cell offset)")
        out = model(atomic_numbers, edge_index, edge_vec, system_index, charge, spin, task,
                    wigner=wigner, return_intermediates=return_intermediates)
        if edge_vec.shape[0]:
            (g,) = torch.autograd.grad(out["energy"].sum(), edge_vec, create_graph=create_graph)
        else:
            g = edge_vec.new_zeros(0, 3)
    out["edge_grad"] = g
    if forces:
        f = g.new_zeros(N, 3)
        out["forces"] = f.index_add(0, edge_index[1], g).index_add(0, edge_index[0], -g)
    if cell_offsets is not None:
        # dE/d(cell) at fixed Cartesian positions (fairchem's g_h): edge_vec depends on cell via offset @ cell.
        offsets = torch.as_tensor(cell_offsets, device=device).to(g.dtype)
        out["cell_grad"] = g.new_zeros(B, 3, 3).index_add(
            0, system_index[edge_index[1]], offsets[:, :, None] * g[:, None, :])
    if stress:
        if cell is None:
            raise ValueError("stress needs the cell")
        cells = cell if cell.dim() == 3 else cell[None]
        edge_sys = system_index[edge_index[1]]
        W = g.new_zeros(B, 3, 3).index_add(0, edge_sys, edge_vec[:, :, None] * g[:, None, :])
        W = 0.5 * (W + W.transpose(1, 2))
        out["stress"] = W / torch.linalg.det(cells).abs()[:, None, None]
    return out


def merge_mole(model: UMAModel, atomic_numbers, charge: int, spin: int, task) -> UMAModel:
    """Dense model equal to ``model`` (MoLE) for one fixed composition, charge, spin and task.

    Mirrors fairchem ``eSCNMDMoeBackbone.merge_MOLE_model``: expert weights are combined with the
    coefficients of that system (``W = sum_k c_k W_k``), routing modules are dropped. Only the reduced
    composition matters (the routing input is the mean composition embedding).
    """
    bb = model.backbone
    if bb.num_experts == 0:
        return model
    z = torch.as_tensor(atomic_numbers).long().reshape(-1)
    if isinstance(task, str):
        task = model.task_index(task)
    dev = bb.Jd_0.device
    with torch.no_grad():
        csd = bb.csd_embedding(torch.tensor([charge], device=dev), torch.tensor([spin], device=dev),
                               torch.tensor([int(task)], device=dev))
        coeffs = bb.mole_coefficients(z.to(dev), torch.zeros_like(z).to(dev), csd)[0]
    hp = copy.deepcopy(model.hp)
    hp.num_experts = 0
    dense = UMAModel(hp, jd=[getattr(bb, f"Jd_{l}").cpu().numpy() for l in range(bb.lmax + 1)])
    dense = dense.to(dtype=next(model.parameters()).dtype, device=dev)
    state = {}
    for name, module in model.named_modules():
        if isinstance(module, MoLELinear):
            merged = module.merged(coeffs)
            state[f"{name}.weight"] = merged.weight.detach()
            if merged.bias is not None:
                state[f"{name}.bias"] = merged.bias.detach()
    for key, value in model.state_dict().items():
        if key.endswith(".weights") or key.startswith("backbone.routing_mlp") or key.startswith("backbone.composition_embedding"):
            continue
        state.setdefault(key, value)
    dense.load_state_dict(state, strict=True)
    dense.backbone.refresh_couplings()
    dense.merged_from = {"atomic_numbers": z.tolist(), "charge": charge, "spin": spin, "task": int(task),
                         "coefficients": coeffs.detach().cpu().numpy()}
    return dense.eval()


def count_parameters(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


__all__ = ["EnergyHead", "UMAModel", "edge_vectors", "evaluate", "merge_mole", "count_parameters"]
