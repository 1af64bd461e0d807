"""Wigner matrices from edge vectors (equiforce.so3) against fairchem's own matrices in the fixtures."""

from pathlib import Path

import numpy as np
import pytest
import torch

from equiforce import so3

FIXTURES = Path(__file__).resolve().parents[2] / ".." / "shared" / "fixtures" / "uma-reference"
SYSTEMS = ["water", "ethanol", "co2_cation_linear_y", "cu_fcc_2x2x2", "nakcl_triclinic"]
pytestmark = pytest.mark.skipif(not FIXTURES.exists(), reason=f"fixtures not found at {FIXTURES}")


@pytest.fixture(scope="module")
def couplings():
    sd = np.load(FIXTURES / "configA_dense" / "state_dict.npz")
    J = [sd[f"backbone.Jd_{l}"] for l in range(3)]
    return J, so3.coupling_matrices(J)


def test_coupling_is_isometry(couplings):
    _, C = couplings
    assert np.abs(C[2].T @ C[2] - np.eye(5)).max() < 1e-13


def test_reference_rotation_blocks(couplings):
    _, C = couplings
    rc = np.load(FIXTURES / "configA_dense" / "rotation_check.npz")
    blocks = so3.wigner_from_rotation(torch.tensor(rc["R"])[None], 2, C)
    assert np.abs(blocks[1][0].numpy() - rc["D_l1"]).max() < 1e-14
    assert np.abs(blocks[2][0].numpy() - rc["D_l2"]).max() < 1e-13


def test_euler_reference_matches_fixture(couplings):
    J, C = couplings
    rng = np.random.default_rng(3)
    for alpha, beta, gamma in rng.uniform(0, 2 * np.pi, size=(5, 3)):
        d1 = torch.tensor(so3.wigner_d_euler(1, alpha, beta, gamma, J))[None]
        d2 = so3.wigner_from_rotation(d1, 2, C)[2][0].numpy()
        assert np.abs(d2 - so3.wigner_d_euler(2, alpha, beta, gamma, J)).max() < 1e-13


@pytest.mark.parametrize("name", SYSTEMS)
def test_edge_frames(couplings, name):
    _, C = couplings
    s = np.load(FIXTURES / "systems" / f"{name}.npz")
    W = s["wigner"]
    # Our l = 2 block from fairchem's own l = 1 block reproduces fairchem's l = 2 block.
    ours = so3.wigner_from_rotation(torch.tensor(W[:, 1:4, 1:4]), 2, C)[2].numpy()
    assert np.abs(ours - W[:, 4:9, 4:9]).max() < 1e-13
    vec = torch.tensor(s["edge_vec"])
    R = so3.edge_rotation(vec)
    u = vec / vec.norm(dim=1, keepdim=True)
    assert torch.allclose((R @ u[:, :, None])[:, :, 0], torch.tensor([0.0, 1.0, 0.0], dtype=torch.float64).expand_as(u), atol=1e-14)
    assert torch.allclose(R @ R.transpose(1, 2), torch.eye(3, dtype=torch.float64).expand_as(R), atol=1e-14)
    assert torch.allclose(torch.linalg.det(R), torch.ones(len(R), dtype=torch.float64), atol=1e-14)
    # Our frame and fairchem's gamma = 0 frame differ only by a roll about +y.
    roll = R @ torch.tensor(W[:, 1:4, 1:4]).transpose(1, 2)
    assert torch.allclose(roll[:, :, 1], torch.tensor([0.0, 1.0, 0.0], dtype=torch.float64).expand_as(u), atol=1e-14)


@pytest.mark.parametrize("direction", [(0.0, 1.0, 0.0), (0.0, -1.0, 0.0), (0.3, 1e-9, -0.2), (1e-12, -2.0, 1e-12)])
def test_gradient_finite_and_correct_at_poles(couplings, direction):
    _, C = couplings
    vec = torch.tensor([direction], dtype=torch.float64, requires_grad=True)
    weights = torch.randn(9, 9, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    f = lambda v: (so3.edge_wigner(v, 2, C) * weights).sum()
    (grad,) = torch.autograd.grad(f(vec), vec)
    assert torch.isfinite(grad).all()
    # Central differences, staying inside the hemisphere of the point (the frame itself jumps at
    # the equator; only quantities invariant to the roll are continuous there).
    h = 1e-6
    for k in range(3):
        if k != 1 or abs(direction[1]) > 10 * h:
            step = torch.zeros(1, 3, dtype=torch.float64)
            step[0, k] = h
            fd = (f(vec.detach() + step) - f(vec.detach() - step)) / (2 * h)
            assert abs(fd.item() - grad[0, k].item()) < 1e-6 * max(1.0, abs(fd.item()))
