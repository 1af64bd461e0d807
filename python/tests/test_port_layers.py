"""Individual layers of the port, fed fairchem's own intermediates and its gamma = 0 Wigner matrices.

Each layer is called on its own (as the ONNX builder will do) and compared with the next fixture
intermediate; layouts and equivariance properties are checked against hand-derived expectations.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from conftest import CONFIGS, SYSTEMS, TOL, fixture_model, load_reference, load_system, needs_fixtures, rel_err


def test_m_major_layout_by_hand():
    from equiforce.model.layout import SphericalLayout

    # l-major rows: (0,0)=0 (1,-1)=1 (1,0)=2 (1,1)=3 (2,-2)=4 (2,-1)=5 (2,0)=6 (2,1)=7 (2,2)=8
    assert SphericalLayout(2, 2).m_major_rows == (0, 2, 6, 3, 7, 1, 5, 8, 4)
    assert SphericalLayout(2, 1).m_major_rows == (0, 2, 6, 3, 7, 1, 5)
    lay = SphericalLayout(3, 1)
    assert lay.m_block_sizes == (4, 6) and lay.num_m_major == 10
    assert SphericalLayout(2, 2).degree_of_m_major_row().tolist() == [0, 1, 2, 1, 2, 1, 2, 2, 2]


def test_envelope_and_gaussians_by_formula():
    from equiforce.model.radial import GaussianSmearing, PolynomialEnvelope

    x = torch.tensor([0.0, 0.3, 0.999, 1.0, 1.5], dtype=torch.float64)
    env = PolynomialEnvelope(5)(x)
    expect = torch.where(x < 1, 1 - 21 * x**5 + 35 * x**6 - 15 * x**7, torch.zeros_like(x))
    assert torch.allclose(env, expect, atol=1e-13, rtol=0)
    g = GaussianSmearing(0.0, 6.0, 13, 2.0)(torch.tensor([1.7], dtype=torch.float64))
    mu = np.linspace(0, 6, 13)
    assert np.abs(g.numpy()[0] - np.exp(-0.5 * (1.7 - mu) ** 2 / (2 * 0.5) ** 2)).max() < 1e-15


@needs_fixtures
def test_generated_jd_matches_checkpoint():
    from equiforce import so3
    from equiforce.model.jd import generate_jd

    sd = np.load(f"{__import__('conftest').FIXTURES}/configA_dense/state_dict.npz")
    J = generate_jd(4)
    for l in range(3):
        assert np.abs(J[l] - sd[f"backbone.Jd_{l}"]).max() < 1e-14
    C = so3.coupling_matrices(J)  # raises if J is not a representation consistent with D^1
    assert C[4].shape == (21, 9)


def _rotation(seed: int) -> torch.Tensor:
    q, _ = np.linalg.qr(np.random.default_rng(seed).normal(size=(3, 3)))
    if np.linalg.det(q) < 0:
        q[:, 0] = -q[:, 0]
    return torch.tensor(q)


def test_atomwise_and_norm_are_equivariant():
    """SpectralAtomwise and every norm commute with block-diagonal Wigner matrices (lmax = 3)."""
    from equiforce import so3
    from equiforce.model.jd import generate_jd
    from equiforce.model.norm import make_norm
    from equiforce.model.so3_layers import SpectralAtomwise

    torch.manual_seed(0)
    C = so3.coupling_matrices(generate_jd(3))
    D = so3.block_diagonal(so3.wigner_from_rotation(_rotation(1)[None], 3, C))[0]
    x = torch.randn(5, 16, 6, dtype=torch.float64)
    layers = [SpectralAtomwise(6, 10, 3)] + [make_norm(t, 3, 6) for t in ("rms_norm_sh", "layer_norm_sh", "layer_norm")]
    for layer in layers:
        layer = layer.double()
        with torch.no_grad():
            for p in layer.parameters():
                p.add_(0.3 * torch.randn_like(p))
        a = layer(torch.einsum("ij,njc->nic", D, x))
        b = torch.einsum("ij,njc->nic", D, layer(x))
        assert rel_err(a, b) < 1e-13, type(layer).__name__


def test_so2_convolution_commutes_with_rotation_about_the_edge():
    """Rotating edge-frame inputs about +y (the edge axis) rotates the SO(2) convolution output alike."""
    from equiforce import so3
    from equiforce.model.activation import GateActivation
    from equiforce.model.layout import SphericalLayout
    from equiforce.model.mole import DenseLinear
    from equiforce.model.so2_layers import SO2Convolution

    torch.manual_seed(1)
    lmax, mmax = 3, 2
    lay = SphericalLayout(lmax, mmax)
    rows = list(lay.m_major_rows)
    blocks = [torch.tensor(so3.z_rot_mat(0.7, l))[None] for l in range(lmax + 1)]
    Ry = so3.block_diagonal(blocks)[0][rows][:, rows]  # rotation about y in the m-major truncated layout
    conv = SO2Convolution(4, 5, lmax, mmax, lambda i, o, b, r: DenseLinear(i, o, bias=b),
                          edge_channels_list=[7, 6], extra_m0_output_channels=lmax * 5).double()
    gate = GateActivation(lmax, mmax, 5, m_prime=True)
    x = torch.randn(3, len(rows), 4, dtype=torch.float64)
    x_edge = torch.randn(3, 7, dtype=torch.float64)
    out, g = conv(x, x_edge)
    out_r, g_r = conv(torch.einsum("ij,ejc->eic", Ry, x), x_edge)
    assert rel_err(out_r, torch.einsum("ij,ejc->eic", Ry, out)) < 1e-13
    assert rel_err(g_r, g) < 1e-13
    assert rel_err(gate(g_r, out_r), torch.einsum("ij,ejc->eic", Ry, gate(g, out))) < 1e-13


@needs_fixtures
@pytest.mark.parametrize("config", CONFIGS)
@pytest.mark.parametrize("name", ["ethanol", "nakcl_triclinic"])
def test_layers_one_at_a_time(config, name):
    """Each stage, fed fairchem's previous intermediate and its gamma = 0 frames, gives the next one."""
    model = fixture_model(config)
    bb = model.backbone
    s, ref = load_system(name), load_reference(config, name)
    t = lambda k: torch.tensor(ref[k])  # noqa: E731
    z = torch.tensor(s["atomic_numbers"])
    ei = torch.tensor(s["edge_index"])
    sys_idx = torch.zeros(len(z), dtype=torch.long)
    charge, spin = torch.tensor([int(s["charge"])]), torch.tensor([int(s["spin"])])
    task = torch.tensor([model.task_index(str(s["dataset"]))])
    with torch.no_grad():
        csd = bb.csd_embedding(charge, spin, task)
        assert rel_err(csd, ref["csd_mixed_emb"]) <= TOL
        x_edge, env = bb.edge_features(z, ei, torch.tensor(s["edge_vec"]))
        assert rel_err(x_edge, ref["edge_scalar_features"]) <= TOL
        assert rel_err(env, s["edge_envelope"]) <= TOL
        w, w_inv = bb.layout.edge_frame_wigner(torch.tensor(s["wigner"]))
        w_inv_env = w_inv * env[:, None, None]
        x = bb.edge_degree_embedding(t("x_initial"), x_edge, ei[1], w_inv_env)
        assert rel_err(x, ref["x_after_edge_degree_embedding"]) <= TOL
        ctx = None
        if bb.num_experts:
            from equiforce.model.mole import MoleContext

            coeffs = bb.mole_coefficients(z, sys_idx, csd)
            assert rel_err(coeffs, ref["mole_expert_coefficients"]) <= TOL
            ctx = MoleContext.build(coeffs, sys_idx[ei[1]])
        prev = "x_after_edge_degree_embedding"
        for i, block in enumerate(bb.blocks):
            x = block(t(prev), x_edge, ei, w, w_inv_env, csd[sys_idx], ctx)
            assert rel_err(x, ref[f"x_after_block{i}"]) <= TOL
            prev = f"x_after_block{i}"
        emb = bb.norm(t(prev))
        assert rel_err(emb, ref["node_embedding"]) <= TOL
        energy, atom_energy = model.head(t("node_embedding"), sys_idx, 1)
        assert rel_err(atom_energy, ref["energy_per_atom_terms"]) <= TOL
        assert rel_err(energy, ref["energy"]) <= TOL
