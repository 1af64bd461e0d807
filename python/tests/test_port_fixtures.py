"""The PyTorch port (equiforce.model) against fairchem's own outputs in the UMA reference fixtures.

Every quantity is compared in float64 with relative error max|a-b| / max|b| <= 1e-10: energies, per-atom
energies, forces, stress (periodic systems), dE/d(edge_vec), node embeddings, the intermediate
activations and (MoLE) the expert coefficients. Our edge frames come from equiforce.so3 (a different
roll about each edge than fairchem's gamma = 0), so agreement also confirms the roll invariance.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from conftest import (CONFIGS, SYSTEMS, TOL, fixture_model, load_reference, load_system, needs_fixtures,
                      rel_err, system_inputs)

pytestmark = needs_fixtures

COMPARED = [
    ("energy", "energy"),
    ("atom_energy", "energy_per_atom_terms"),
    ("forces", "forces"),
    ("edge_grad", "dE_dedge_vec"),
    ("node_embedding", "node_embedding"),
    ("csd_mixed_emb", "csd_mixed_emb"),
    ("x_initial", "x_initial"),
    ("edge_scalar_features", "edge_scalar_features"),
    ("x_after_edge_degree_embedding", "x_after_edge_degree_embedding"),
    ("x_after_block0", "x_after_block0"),
    ("x_after_block1", "x_after_block1"),
]


def run(config: str, name: str, **extra):
    from equiforce.model import evaluate

    model = fixture_model(config)
    s = load_system(name)
    return evaluate(model, **system_inputs(model, s), stress=bool(s["pbc"].any()), return_intermediates=True, **extra)


@pytest.mark.parametrize("config", CONFIGS)
@pytest.mark.parametrize("name", SYSTEMS)
def test_matches_fairchem(config, name):
    out = run(config, name)
    ref = load_reference(config, name)
    s = load_system(name)
    errors = {ours: rel_err(out[ours], ref[theirs]) for ours, theirs in COMPARED}
    errors["edge_envelope"] = rel_err(out["edge_envelope"], s["edge_envelope"])
    if np.abs(ref["dE_dcell"]).max() > 0:
        errors["cell_grad"] = rel_err(out["cell_grad"], ref["dE_dcell"])
    else:
        assert float(out["cell_grad"].abs().max()) == 0.0
    if "stress" in ref:
        errors["stress"] = rel_err(out["stress"], ref["stress"])
    if "mole_expert_coefficients" in ref:
        errors["mole_expert_coefficients"] = rel_err(out["mole_expert_coefficients"], ref["mole_expert_coefficients"])
    bad = {k: v for k, v in errors.items() if not v <= TOL}
    assert not bad, f"{config}/{name}: relative errors above {TOL}: {bad}"
    assert ("stress" in errors) == bool(s["pbc"].any())


@pytest.mark.parametrize("config", CONFIGS)
def test_rotated_systems(config):
    """Energies of every system rotated by the fixture's R (cell rotated too) equal fairchem's."""
    from equiforce.model import evaluate

    model = fixture_model(config)
    rc = np.load(f"{__import__('conftest').FIXTURES}/{config}/rotation_check.npz")
    R = torch.tensor(rc["R"])
    for name in SYSTEMS:
        s = load_system(name)
        inputs = system_inputs(model, s)
        inputs["positions"] = inputs["positions"] @ R.T
        inputs["cell"] = inputs["cell"] @ R.T
        out = evaluate(model, **inputs, forces=True)
        base = run(config, name)
        assert rel_err(out["energy"], rc[f"{name}_energy_rotated"].reshape(1)) <= TOL
        assert rel_err(out["forces"], base["forces"] @ R.T) <= TOL


@pytest.mark.parametrize("config", CONFIGS)
def test_batch_equals_separate(config):
    """All five systems (different sizes, tasks, charges, spins, compositions) in one call."""
    from equiforce.model import evaluate

    model = fixture_model(config)
    parts = [system_inputs(model, load_system(n)) for n in SYSTEMS]
    pbc = [bool(load_system(n)["pbc"].any()) for n in SYSTEMS]
    offset = 0
    z, ei, pos, off, sysidx = [], [], [], [], []
    for b, p in enumerate(parts):
        n = p["atomic_numbers"].shape[0]
        z.append(p["atomic_numbers"])
        ei.append(p["edge_index"] + offset)
        pos.append(p["positions"])
        off.append(p["cell_offsets"])
        sysidx.append(torch.full((n,), b, dtype=torch.long))
        offset += n
    batched = evaluate(model, torch.cat(z), torch.cat(ei, dim=1), positions=torch.cat(pos),
                       cell_offsets=torch.cat(off), cell=torch.stack([p["cell"] for p in parts]),
                       system_index=torch.cat(sysidx), charge=[p["charge"][0] for p in parts],
                       spin=[p["spin"][0] for p in parts], task=[p["task"][0] for p in parts], stress=True)
    start_atom, start_edge = 0, 0
    for b, (name, p) in enumerate(zip(SYSTEMS, parts)):
        single = run(config, name)
        n, e = p["atomic_numbers"].shape[0], p["edge_index"].shape[1]
        assert rel_err(batched["energy"][b:b + 1], single["energy"]) <= 1e-12
        assert rel_err(batched["forces"][start_atom:start_atom + n], single["forces"]) <= 1e-12
        assert rel_err(batched["edge_grad"][start_edge:start_edge + e], single["edge_grad"]) <= 1e-12
        assert rel_err(batched["node_embedding"][start_atom:start_atom + n], single["node_embedding"]) <= 1e-12
        if pbc[b]:
            assert rel_err(batched["stress"][b:b + 1], single["stress"]) <= 1e-12
        start_atom += n
        start_edge += e


@pytest.mark.parametrize("name", SYSTEMS)
def test_merged_mole_equals_unmerged(name):
    from equiforce.model import evaluate, merge_mole

    model = fixture_model("configB_mole4")
    s = load_system(name)
    inputs = system_inputs(model, s)
    merged = merge_mole(model, inputs["atomic_numbers"], inputs["charge"][0], inputs["spin"][0], inputs["task"][0])
    assert merged.backbone.num_experts == 0
    assert not any(k.endswith(".weights") for k in merged.state_dict())
    a = evaluate(merged, **inputs, stress=bool(s["pbc"].any()))
    b = run("configB_mole4", name)
    ref = load_reference("configB_mole4", name)
    for key in ("energy", "forces", "edge_grad", "node_embedding"):
        assert rel_err(a[key], b[key]) <= 1e-12, key
    assert rel_err(a["energy"], ref["energy"]) <= TOL
    # A doubled cell (same reduced composition) uses the same merged weights.
    doubled = merge_mole(model, torch.cat([inputs["atomic_numbers"]] * 2), inputs["charge"][0], inputs["spin"][0],
                         inputs["task"][0])
    assert rel_err(doubled.merged_from["coefficients"], merged.merged_from["coefficients"]) <= 1e-14


@pytest.mark.parametrize("config", CONFIGS)
def test_single_atom_without_edges(config):
    """N = 1, E = 0 runs, has zero forces, and equals fairchem's convention (a fake edge beyond the cutoff)."""
    from equiforce.model import evaluate

    model = fixture_model(config)
    common = dict(atomic_numbers=torch.tensor([29]), charge=[0], spin=[0], task=[model.task_index("omat")])
    out = evaluate(model, edge_index=torch.zeros(2, 0, dtype=torch.long), positions=torch.zeros(1, 3), **common)
    assert out["energy"].shape == (1,) and torch.isfinite(out["energy"]).all()
    assert out["forces"].shape == (1, 3) and float(out["forces"].abs().max()) == 0.0
    assert out["edge_grad"].shape == (0, 3)
    far = torch.full((1, 3), model.backbone.cutoff + 1.0, dtype=torch.float64)
    fake = evaluate(model, edge_index=torch.zeros(2, 1, dtype=torch.long), edge_vec=far, **common)
    assert rel_err(out["energy"], fake["energy"]) <= 1e-14
    assert rel_err(out["node_embedding"], fake["node_embedding"]) <= 1e-14


@pytest.mark.parametrize("config", CONFIGS)
def test_float32_model(config):
    """The same weights in float32 (J matrices restored exactly) stay within 1e-5 (energy) / 1e-4 (forces)."""
    from equiforce.model import evaluate, load_fixture_model
    from conftest import FIXTURES

    model = load_fixture_model(FIXTURES / config, dtype=torch.float32)
    assert model.backbone.coupling_2.dtype == torch.float32
    for name in SYSTEMS:
        s, ref = load_system(name), load_reference(config, name)
        inputs = system_inputs(model, s)
        inputs["positions"], inputs["cell"] = inputs["positions"].float(), inputs["cell"].float()
        out = evaluate(model, **inputs, stress=bool(s["pbc"].any()))
        assert out["energy"].dtype == torch.float32
        assert rel_err(out["energy"].double(), ref["energy"]) <= 1e-5
        assert rel_err(out["forces"].double(), ref["forces"]) <= 1e-4
        if "stress" in ref:
            assert rel_err(out["stress"].double(), ref["stress"]) <= 1e-4


def test_bad_inputs_raise_clear_errors():
    from equiforce.model import evaluate

    model = fixture_model("configA_dense")
    s = load_system("water")
    inputs = system_inputs(model, s)
    with pytest.raises(ValueError, match="atomic number"):
        evaluate(model, **{**inputs, "atomic_numbers": torch.tensor([8, 1, 100])})
    with pytest.raises(ValueError, match="edge_index"):
        evaluate(model, **{**inputs, "edge_index": inputs["edge_index"] + 1})
    with pytest.raises(ValueError, match="task"):
        evaluate(model, **{**inputs, "task": [7]})
    with pytest.raises(ValueError, match="charge"):
        evaluate(model, **{**inputs, "charge": [500]})
    with pytest.raises(ValueError, match="zero length"):
        evaluate(model, **{**inputs, "edge_index": torch.tensor([[0], [0]]), "cell_offsets": torch.zeros(1, 3)})
