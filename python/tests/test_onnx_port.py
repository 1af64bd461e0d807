"""The ONNX graph builder for architectures beyond the fixtures (other lmax/mmax, layer counts,
channels, experts, norms, embeddings), checked against equiforce's PyTorch port of fairchem
(itself checked against fairchem) with random weights: energies, atom energies, node embeddings and
dE/d(edge_vec) in numpy float64, for a batch of a molecule and a periodic crystal with different tasks.
Also: gradients against finite differences of the graph's own energy, and one config through ORT.
"""

from __future__ import annotations

import itertools
import os
import shutil

import numpy as np
import onnx
import pytest

torch = pytest.importorskip("torch")

from equiforce.checkpoint import normalize_state_dict  # noqa: E402
from equiforce.onnx.emit import to_onnx  # noqa: E402
from equiforce.onnx.esen import EsenHyper, build_esen  # noqa: E402
from equiforce.onnx.layout import batch_inputs  # noqa: E402

BASE = dict(
    sphere_channels=8, lmax=3, mmax=1, num_layers=3, hidden_channels=12, edge_channels=6, num_distance_basis=10,
    cutoff=4.0, norm_type="rms_norm_sh", act_type="gate", ff_type="spectral", chg_spin_emb_type="rand_emb",
    dataset_list=["omol", "omat", "oc20"], num_experts=3, use_composition_embedding=True,
    moe_expert_coefficient_norm="softmax", moe_type="so2",
)

VARIANTS = {
    "l3m1_mole3": {},
    "l4m2_dense": dict(lmax=4, mmax=2, num_experts=0, num_layers=2, sphere_channels=6, hidden_channels=4),
    "l2m2_layer_norm_sh_pos_emb": dict(lmax=2, mmax=2, norm_type="layer_norm_sh", chg_spin_emb_type="pos_emb", num_layers=1),
    "l1m1_layer_norm_lin_emb_so2m0": dict(lmax=1, mmax=1, norm_type="layer_norm", chg_spin_emb_type="lin_emb", moe_type="so2m0", num_experts=2),
    "l2m2_pnorm_layers_moe": dict(lmax=2, mmax=2, moe_expert_coefficient_norm="pnorm", num_layers=2, layers_moe=[1]),
    "l2m1_no_composition_no_dataset": dict(lmax=2, mmax=1, use_composition_embedding=False, use_dataset_embedding=False),
}


def _port_model(kwargs, seed=0):
    from equiforce.fairchem_config import parse_config
    from equiforce.model import UMAModel

    torch.manual_seed(seed)
    model = UMAModel(parse_config(kwargs)).double()
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.2 * torch.randn_like(p))
    return model.eval()


def _edges(pos, cell, cutoff, reach=2):
    """All pairs/images within the cutoff, grouped by centre (edge_index row 1)."""
    images = list(itertools.product(range(-reach, reach + 1), repeat=3)) if cell is not None else [(0, 0, 0)]
    src, tgt, shifts, vecs = [], [], [], []
    for i in range(len(pos)):
        for j in range(len(pos)):
            for s in images:
                v = pos[j] - pos[i] + (np.array(s) @ cell if cell is not None else 0.0)
                if 0 < np.linalg.norm(v) < cutoff:
                    src.append(j), tgt.append(i), shifts.append(s), vecs.append(v)
    return np.array([src, tgt]).reshape(2, -1), np.array(shifts).reshape(-1, 3), np.array(vecs).reshape(-1, 3)


def _systems(cutoff):
    rng = np.random.default_rng(3)
    mol = np.array([[0.0, 0.0, 0.0], [1.1, 0.2, -0.1], [-0.3, 1.0, 0.4], [0.5, -0.8, 1.2], [1.9, 1.3, 0.7]])
    mol = mol + 0.05 * rng.normal(size=mol.shape)
    cell = np.array([[3.1, 0.2, 0.0], [0.4, 2.9, 0.1], [-0.2, 0.3, 3.3]])
    cryst = (np.array([[0, 0, 0], [0.5, 0.5, 0.1], [0.2, 0.6, 0.5]]) + 0.03 * rng.normal(size=(3, 3))) @ cell
    out = []
    for pos, z, c, ch, sp, task in ((mol, [8, 1, 1, 6, 7], None, 1, 2, 0), (cryst, [11, 17, 19], cell, 0, 0, 1)):
        ei, sh, vec = _edges(pos, c, cutoff)
        out.append(dict(atomic_numbers=np.array(z), edge_index=ei, edge_vec=vec, shifts=sh, charge=ch, spin=sp, task=task))
    return out


def _port_outputs(model, feeds):
    from equiforce.model import evaluate

    return evaluate(
        model, torch.tensor(feeds["atomic_numbers"]), torch.tensor(feeds["edge_index"]),
        edge_vec=torch.tensor(feeds["edge_vec"]), system_index=torch.tensor(feeds["system_index"]),
        charge=torch.tensor(feeds["charge"]), spin=torch.tensor(feeds["spin"]), task=torch.tensor(feeds["task"]),
    )


def _rel(a, b):
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return np.abs(a - b).max() / max(np.abs(b).max(), 1e-300)


def _build(name):
    kwargs = {**BASE, **VARIANTS[name]}
    model = _port_model(kwargs)
    sd = normalize_state_dict(model.state_dict())
    hp = EsenHyper.from_backbone_kwargs(kwargs)
    return kwargs, model, sd, hp


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_graph_matches_pytorch_port(name):
    kwargs, model, sd, hp = _build(name)
    g, _ = build_esen(sd, hp)
    feeds = batch_inputs(_systems(kwargs["cutoff"]))
    ours = g.run(feeds)
    ref = _port_outputs(model, feeds)
    for key in ("energy", "atom_energy", "node_embedding", "edge_grad"):
        assert _rel(ours[key], ref[key].detach().numpy()) <= 1e-10, key


def test_edge_grad_matches_finite_differences():
    kwargs, _, sd, hp = _build("l3m1_mole3")
    g, _ = build_esen(sd, hp)
    feeds = batch_inputs(_systems(kwargs["cutoff"]))
    out = g.run(feeds)
    rng = np.random.default_rng(0)
    h = 1e-5
    for e in rng.choice(feeds["edge_vec"].shape[0], size=4, replace=False):
        for a in range(3):
            vp, vm = feeds["edge_vec"].copy(), feeds["edge_vec"].copy()
            vp[e, a] += h
            vm[e, a] -= h
            fd = (g.run({**feeds, "edge_vec": vp})["energy"].sum() - g.run({**feeds, "edge_vec": vm})["energy"].sum()) / (2 * h)
            assert abs(out["edge_grad"][e, a] - fd) <= 1e-7 * max(1.0, abs(fd))


@pytest.mark.skipif(shutil.which("node") is None, reason="node not available")
@pytest.mark.parametrize("name", ["l3m1_mole3", "l2m2_layer_norm_sh_pos_emb", "l1m1_layer_norm_lin_emb_so2m0"])
def test_onnx_runtime_matches_port(tmp_path, name):
    from equiforce.onnx.ort import run_ort

    kwargs, model, sd, hp = _build(name)
    g, _ = build_esen(sd, hp)
    path = os.path.join(tmp_path, "m.onnx")
    onnx.save(to_onnx(g, "float64"), path)
    feeds = batch_inputs(_systems(kwargs["cutoff"]))
    ours = run_ort(path, feeds)
    ref = _port_outputs(model, feeds)
    for key in ("energy", "atom_energy", "node_embedding", "edge_grad"):
        assert _rel(ours[key], ref[key].detach().numpy()) <= 1e-9, key
