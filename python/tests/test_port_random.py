"""A non-fixture-sized random model (lmax = 3, mmax = 1, 3 layers, 3 experts): physics checks.

Rotation invariance of the energy and covariance of forces/stress, forces and stress against central
finite differences, batching (with edges in arbitrary order) against separate calls, merged MoLE against
unmerged, N = 1 without edges, a sweep over other option values, and differentiability for training.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch

from conftest import rel_err


def make_model(seed: int = 0, **overrides):
    from equiforce.fairchem_config import parse_config
    from equiforce.model import UMAModel

    kwargs = dict(sphere_channels=8, lmax=3, mmax=1, num_layers=3, hidden_channels=12, edge_channels=6,
                  num_distance_basis=10, cutoff=4.0, norm_type="rms_norm_sh", act_type="gate", ff_type="spectral",
                  chg_spin_emb_type="rand_emb", dataset_list=["omol", "omat", "oc20"], num_experts=3,
                  use_composition_embedding=True, moe_expert_coefficient_norm="softmax", moe_type="so2")
    kwargs.update(overrides)
    torch.manual_seed(seed)
    model = UMAModel(parse_config(kwargs)).double()
    with torch.no_grad():  # move every parameter off its (often trivial) initial value
        for p in model.parameters():
            p.add_(0.2 * torch.randn_like(p))
    return model.eval()


def neighbours(pos: np.ndarray, cell, cutoff: float, reach: int = 2):
    """Brute-force edge list (source j, target i, offset) of all pairs/images closer than the cutoff."""
    n = len(pos)
    images = list(itertools.product(range(-reach, reach + 1), repeat=3)) if cell is not None else [(0, 0, 0)]
    src, tgt, offs = [], [], []
    for i in range(n):
        for j in range(n):
            for s in images:
                v = pos[j] - pos[i] + (np.array(s) @ cell if cell is not None else 0.0)
                d = np.linalg.norm(v)
                if 0 < d < cutoff:
                    src.append(j), tgt.append(i), offs.append(s)
    return np.array([src, tgt]).reshape(2, -1), np.array(offs, dtype=np.float64).reshape(-1, 3)


def molecule(seed: int, n: int = 6, box: float = 3.0):
    rng = np.random.default_rng(seed)
    pos = []
    while len(pos) < n:
        p = rng.uniform(0, box, 3)
        if all(np.linalg.norm(p - q) > 0.9 for q in pos):
            pos.append(p)
    return np.array(pos), rng.choice([1, 6, 7, 8], size=n)


def crystal(seed: int):
    rng = np.random.default_rng(seed)
    cell = np.array([[3.1, 0.2, 0.0], [0.4, 2.9, 0.1], [-0.2, 0.3, 3.3]])
    frac = np.array([[0, 0, 0], [0.5, 0.5, 0.1], [0.2, 0.6, 0.5]]) + 0.03 * rng.normal(size=(3, 3))
    return frac @ cell, np.array([11, 17, 19]), cell


def run(model, pos, z, cell=None, charge=0, spin=1, task=0, **kw):
    from equiforce.model import evaluate

    ei, off = neighbours(pos, cell, model.backbone.cutoff)
    return evaluate(model, torch.tensor(z), torch.tensor(ei), positions=torch.tensor(pos),
                    cell_offsets=torch.tensor(off), cell=None if cell is None else torch.tensor(cell),
                    charge=[charge], spin=[spin], task=[task], stress=cell is not None, **kw)


def random_rotation(seed: int) -> np.ndarray:
    q, _ = np.linalg.qr(np.random.default_rng(seed).normal(size=(3, 3)))
    return q * np.sign(np.linalg.det(q))


@pytest.fixture(scope="module")
def model():
    return make_model()


def test_rotation_invariance_and_covariance(model):
    pos, z = molecule(1)
    R = random_rotation(2)
    a, b = run(model, pos, z), run(model, pos @ R.T, z)
    assert rel_err(b["energy"], a["energy"]) < 1e-12
    assert rel_err(b["forces"], a["forces"] @ torch.tensor(R).T) < 1e-10
    pos, z, cell = crystal(3)
    a, b = run(model, pos, z, cell, task=1), run(model, pos @ R.T, z, cell @ R.T, task=1)
    assert rel_err(b["energy"], a["energy"]) < 1e-12
    assert rel_err(b["forces"], a["forces"] @ torch.tensor(R).T) < 1e-10
    Rt = torch.tensor(R)
    assert rel_err(b["stress"][0], Rt @ a["stress"][0] @ Rt.T) < 1e-10


def test_forces_match_finite_differences(model):
    pos, z = molecule(4)
    out = run(model, pos, z)
    h = 1e-5
    fd = np.zeros_like(pos)
    for i, k in itertools.product(range(len(pos)), range(3)):
        p, m = pos.copy(), pos.copy()
        p[i, k] += h
        m[i, k] -= h
        fd[i, k] = -(run(model, p, z, forces=False)["energy"].item() - run(model, m, z, forces=False)["energy"].item()) / (2 * h)
    assert rel_err(out["forces"], fd) < 1e-7
    assert float(out["forces"].abs().max()) > 1e-4  # not trivially zero


def test_stress_matches_strain_derivative(model):
    from equiforce.model import evaluate

    pos, z, cell = crystal(5)
    ei, off = neighbours(pos, cell, model.backbone.cutoff)

    def energy(eps):
        F = np.eye(3) + eps
        return evaluate(model, torch.tensor(z), torch.tensor(ei), positions=torch.tensor(pos @ F),
                        cell_offsets=torch.tensor(off), cell=torch.tensor(cell @ F), charge=[0], spin=[0], task=[2],
                        forces=False)["energy"].item()

    out = evaluate(model, torch.tensor(z), torch.tensor(ei), positions=torch.tensor(pos), cell_offsets=torch.tensor(off),
                   cell=torch.tensor(cell), charge=[0], spin=[0], task=[2], stress=True)
    h, fd = 1e-6, np.zeros((3, 3))
    for a, b in itertools.product(range(3), range(3)):
        e = np.zeros((3, 3))
        e[a, b] = e[b, a] = h / 2 if a != b else h
        fd[a, b] = (energy(e) - energy(-e)) / (2 * h) / abs(np.linalg.det(cell))
    assert rel_err(out["stress"][0], fd) < 1e-6


def _batch(model, systems, shuffle_seed=None):
    from equiforce.model import evaluate

    z, ei, pos, off, sysidx, cells = [], [], [], [], [], []
    offset = 0
    for b, (p, zz, cell, *_rest) in enumerate(systems):
        e, o = neighbours(p, cell, model.backbone.cutoff)
        z.append(zz), ei.append(e + offset), pos.append(p), off.append(o)
        sysidx.append(np.full(len(p), b)), cells.append(np.eye(3) if cell is None else cell)
        offset += len(p)
    ei, off = np.concatenate(ei, axis=1), np.concatenate(off)
    perm = np.arange(ei.shape[1])
    if shuffle_seed is not None:
        perm = np.random.default_rng(shuffle_seed).permutation(ei.shape[1])
    out = evaluate(model, torch.tensor(np.concatenate(z)), torch.tensor(ei[:, perm]), positions=torch.tensor(np.concatenate(pos)),
                   cell_offsets=torch.tensor(off[perm]), cell=torch.tensor(np.stack(cells)),
                   system_index=torch.tensor(np.concatenate(sysidx)), charge=[s[3] for s in systems],
                   spin=[s[4] for s in systems], task=[s[5] for s in systems], stress=True)
    inv = np.argsort(perm)
    out["edge_grad"] = out["edge_grad"][torch.tensor(inv)]
    return out


def test_batch_with_unordered_edges_equals_separate(model):
    m1, m2 = molecule(6, 5), molecule(7, 4)
    c = crystal(8)
    systems = [(m1[0], m1[1], None, 1, 2, 0), (c[0], c[1], c[2], 0, 0, 2), (m2[0], m2[1], None, -1, 3, 1)]
    for seed in (None, 9):
        out = _batch(model, systems, seed)
        a0 = 0
        for b, (p, zz, cell, q, s, t) in enumerate(systems):
            single = run(model, p, zz, cell, charge=q, spin=s, task=t)
            n = len(p)
            assert rel_err(out["energy"][b:b + 1], single["energy"]) < 1e-12
            assert rel_err(out["forces"][a0:a0 + n], single["forces"]) < 1e-11
            assert rel_err(out["node_embedding"][a0:a0 + n], single["node_embedding"]) < 1e-12
            if cell is not None:
                assert rel_err(out["stress"][b:b + 1], single["stress"]) < 1e-11
            a0 += n


def test_merged_equals_unmerged(model):
    from equiforce.model import merge_mole

    pos, z = molecule(10)
    merged = merge_mole(model, z, 1, 2, "omat")
    a = run(merged, pos, z, charge=1, spin=2, task=1)
    b = run(model, pos, z, charge=1, spin=2, task=1)
    assert rel_err(a["energy"], b["energy"]) < 1e-12 and rel_err(a["forces"], b["forces"]) < 1e-11
    other = run(merge_mole(model, z, 0, 2, "omat"), pos, z, charge=1, spin=2, task=1)
    assert rel_err(other["energy"], b["energy"]) > 1e-8  # the merge really depends on the system


def test_single_atom_without_edges(model):
    out = run(model, np.zeros((1, 3)), np.array([8]))
    assert out["edge_grad"].shape == (0, 3) and float(out["forces"].abs().max()) == 0.0
    assert torch.isfinite(out["energy"]).all()


VARIANTS = [
    dict(norm_type="layer_norm_sh", chg_spin_emb_type="pos_emb", mmax=3),
    dict(norm_type="layer_norm", chg_spin_emb_type="lin_emb", moe_type="so2m0", moe_expert_coefficient_norm="pnorm",
         lmax=2, mmax=0),
    dict(use_dataset_embedding=False, dataset_list=None, use_composition_embedding=False, moe_single=True, lmax=1),
    dict(num_experts=0, lmax=4, mmax=2, charge_balanced_channels=[0, 1], spin_balanced_channels=[2]),
]


@pytest.mark.parametrize("variant", range(len(VARIANTS)))
def test_option_variants(variant):
    overrides = VARIANTS[variant]
    model = make_model(seed=variant + 1, **overrides)
    pos, z = molecule(11, 4)
    R = random_rotation(12)
    a, b = run(model, pos, z, spin=0), run(model, pos @ R.T, z, spin=0)
    assert rel_err(b["energy"], a["energy"]) < 1e-12
    assert rel_err(b["forces"], a["forces"] @ torch.tensor(R).T) < 1e-10
    h, i = 1e-5, 1
    p, m = pos.copy(), pos.copy()
    p[i, 0] += h
    m[i, 0] -= h
    fd = -(run(model, p, z, spin=0)["energy"].item() - run(model, m, z, spin=0)["energy"].item()) / (2 * h)
    assert abs(fd - a["forces"][i, 0].item()) < 1e-7 * max(1.0, abs(fd))
    if overrides.get("charge_balanced_channels"):
        emb = a["node_embedding"]
        # balancing acts before the final norm; check it on the last block's output instead
        inter = run(model, pos, z, spin=0, return_intermediates=True)[f"x_after_block{model.hp.num_layers - 1}"]
        assert abs(inter[:, 0, 0].sum().item() - 0.0) < 1e-12 and abs(inter[:, 0, 2].sum().item() - (-1.0)) < 1e-12
        assert emb.shape[1] == 25


def test_unsupported_options_are_named():
    with pytest.raises(NotImplementedError, match="act_type"):
        make_model(act_type="s2")
    with pytest.raises(NotImplementedError, match="ff_type"):
        make_model(ff_type="grid")


def test_force_loss_trains(model):
    """create_graph=True keeps forces differentiable w.r.t. parameters (force-matching training)."""
    pos, z = molecule(13, 4)
    out = run(model, pos, z, create_graph=True)
    loss = out["forces"].pow(2).sum() + out["energy"].pow(2).sum()
    loss.backward()
    grads = [p.grad for n, p in model.named_parameters() if "so2_conv_1.fc_m0" in n]
    assert grads and all(g is not None and float(g.abs().max()) > 0 for g in grads)
    model.zero_grad()
