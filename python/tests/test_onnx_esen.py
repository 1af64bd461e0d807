"""The eSEN/UMA graph against fairchem's reference fixtures (float64, random weights, both configs).

* numpy evaluation of the graph IR: energy, atom energies, dE/d(edge_vec), node embeddings and the
  intermediate activations at most 1e-10 relative, every system;
* the converter CLI (--state-dict) and the written ONNX run by onnxruntime-node: at most 1e-9
  (float64) and 1e-5 energy / 1e-4 forces (float32);
* reading a fairchem-style inference checkpoint (.pt) gives the same graph and metadata.
"""

from __future__ import annotations

import json
import os
import pickle
import shutil
import subprocess
import sys
import types
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from equiforce.checkpoint import load_config_json, load_state_dict_npz
from equiforce.onnx.esen import EsenHyper, build_esen
from equiforce.onnx.layout import batch_inputs

FIX = Path(__file__).resolve().parents[2] / ".." / "shared" / "fixtures" / "uma-reference"
SYSTEMS = ["water", "ethanol", "co2_cation_linear_y", "cu_fcc_2x2x2", "nakcl_triclinic"]
CONFIGS = ["configA_dense", "configB_mole4"]
PYROOT = Path(__file__).resolve().parents[1]
HAVE_NODE = shutil.which("node") is not None

pytestmark = pytest.mark.skipif(not FIX.exists(), reason="fixtures not available")


def _rel(a, b):
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return np.abs(a - b).max() / max(np.abs(b).max(), 1e-300)


def _system_feeds(name, hp, dtype=np.float64):
    s = np.load(FIX / "systems" / f"{name}.npz")
    sysd = dict(atomic_numbers=s["atomic_numbers"], edge_index=s["edge_index"], edge_vec=s["edge_vec"],
                shifts=s["cell_offsets"], charge=int(s["charge"]), spin=int(s["spin"]),
                task=hp.task_names.index(str(s["dataset"])))
    return batch_inputs([sysd], dtype)


def _forces(edge_index, g, n):
    F = np.zeros((n, 3))
    np.add.at(F, edge_index[1], g)
    np.add.at(F, edge_index[0], -g)
    return F


_GRAPHS: dict = {}


def _graph(cfg):
    if cfg not in _GRAPHS:
        sd = load_state_dict_npz(str(FIX / cfg / "state_dict.npz"))
        kw, mid = load_config_json(str(FIX / cfg / "config.json"))
        hp = EsenHyper.from_backbone_kwargs(kw, mid)
        _GRAPHS[cfg] = (build_esen(sd, hp, debug=True)[0], hp)
    return _GRAPHS[cfg]


@pytest.mark.parametrize("cfg", CONFIGS)
@pytest.mark.parametrize("name", SYSTEMS)
def test_numpy_graph_matches_fairchem(cfg, name):
    g, hp = _graph(cfg)
    feeds = _system_feeds(name, hp)
    out = g.run(feeds)
    ref = np.load(FIX / cfg / f"{name}.npz")
    assert _rel(out["energy"], ref["energy"]) <= 1e-10
    assert _rel(out["atom_energy"], ref["energy_per_atom_terms"]) <= 1e-10
    assert _rel(out["edge_grad"], ref["dE_dedge_vec"]) <= 1e-10
    assert _rel(out["node_embedding"], ref["node_embedding"]) <= 1e-10
    n = len(feeds["atomic_numbers"])
    assert _rel(_forces(feeds["edge_index"], out["edge_grad"], n), ref["forces"]) <= 1e-10
    if "stress" in ref.files:
        s = np.load(FIX / "systems" / f"{name}.npz")
        W = out["edge_grad"].T @ feeds["edge_vec"]
        stress = 0.5 * (W + W.T) / abs(np.linalg.det(s["cell"]))
        assert _rel(stress, ref["stress"][0]) <= 1e-10
    for key in ("csd_mixed_emb", "x_initial", "edge_scalar_features", "x_after_edge_degree_embedding",
                "x_after_block0", "x_after_block1", "mole_expert_coefficients"):
        if key in ref.files:
            assert _rel(out["debug_" + key].reshape(ref[key].shape), ref[key]) <= 1e-10, key


def _convert(tmp_path, cfg, dtype, extra=()):
    out = tmp_path / f"{cfg}-{dtype}"
    subprocess.run(
        [sys.executable, "-m", "equiforce.convert", "--state-dict", str(FIX / cfg / "state_dict.npz"),
         "--config", str(FIX / cfg / "config.json"), "--out", str(out), "--dtype", dtype, *extra],
        check=True, cwd=PYROOT,
    )
    return out


@pytest.mark.skipif(not HAVE_NODE, reason="node not available")
@pytest.mark.parametrize("cfg", CONFIGS)
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_converted_onnx_matches_fairchem(tmp_path, cfg, dtype):
    from equiforce.onnx.ort import run_ort

    out = _convert(tmp_path, cfg, dtype)
    meta = json.loads((out / "model.json").read_text())
    assert meta["dtype"] == dtype and meta["cutoff_angstrom"] == 6.0
    assert [t["name"] for t in meta["tasks"]] == ["oc20", "omol", "omat", "odac", "omc"]
    assert meta["embedding"]["shape"] == [9, 16]
    # the converter also writes the edge-chunked graph for large systems (same contract, same numbers)
    assert meta["large_graph"] == {"file": "model.large.onnx", "edge_chunks": 8, "min_pairs": 32768}
    _, hp = _graph(cfg)
    np_dtype = np.float64 if dtype == "float64" else np.float32
    for name, graph in [(n, "model.onnx") for n in SYSTEMS] + [("nakcl_triclinic", "model.large.onnx")]:
        feeds = _system_feeds(name, hp, np_dtype)
        res = run_ort(str(out / graph), feeds)
        ref = np.load(FIX / cfg / f"{name}.npz")
        F = _forces(feeds["edge_index"], res["edge_grad"].astype(np.float64), len(feeds["atomic_numbers"]))
        if dtype == "float64":
            for key, rk in (("energy", "energy"), ("atom_energy", "energy_per_atom_terms"),
                            ("edge_grad", "dE_dedge_vec"), ("node_embedding", "node_embedding")):
                assert _rel(res[key], ref[rk]) <= 1e-9, (name, graph, key)
            assert _rel(F, ref["forces"]) <= 1e-9
        else:
            assert _rel(res["energy"], ref["energy"]) <= 1e-5, name
            assert _rel(F, ref["forces"]) <= 1e-4, name


def test_converter_metadata_options(tmp_path):
    refs = tmp_path / "refs.json"
    refs.write_text(json.dumps({"omol": {"1": -13.6, "8": -2041.8}}))
    out = _convert(tmp_path, "configA_dense", "float32", ["--normalizer", "1.7", "--references", str(refs)])
    meta = json.loads((out / "model.json").read_text())
    omol = next(t for t in meta["tasks"] if t["name"] == "omol")
    assert omol["index"] == 1 and omol["energy_scale"] == 1.7
    assert omol["element_references_eV"][1] == -13.6 and omol["element_references_eV"][8] == -2041.8
    assert next(t for t in meta["tasks"] if t["name"] == "omat")["element_references_eV"] is None
    assert meta["provenance"]["source"] == "state_dict.npz" and len(meta["provenance"]["source_sha256"]) == 64
    assert [i["name"] for i in meta["inputs"]] == [
        "atomic_numbers", "edge_index", "edge_vec", "system_index", "charge", "spin", "task", "offsets", "reverse"]


# ---- fairchem inference checkpoint (.pt) --------------------------------------------------------


def _write_fake_checkpoint(path, cfg):
    """A checkpoint laid out like fairchem's MLIPInferenceCheckpoint, pickled from a class in a
    'fairchem...' module that does not exist when it is read back."""
    import torch

    modname = "fairchem.core.units.mlip_unit.api.inference"
    mod = types.ModuleType(modname)

    @dataclass
    class MLIPInferenceCheckpoint:
        model_config: dict
        model_state_dict: dict
        ema_state_dict: dict
        tasks_config: list

    MLIPInferenceCheckpoint.__module__ = modname
    MLIPInferenceCheckpoint.__qualname__ = "MLIPInferenceCheckpoint"
    mod.MLIPInferenceCheckpoint = MLIPInferenceCheckpoint
    saved = {k: sys.modules.get(k) for k in ("fairchem", "fairchem.core", "fairchem.core.units",
                                             "fairchem.core.units.mlip_unit", "fairchem.core.units.mlip_unit.api", modname)}
    for k in saved:
        sys.modules[k] = mod if k == modname else types.ModuleType(k)
    try:
        with np.load(FIX / cfg / "state_dict.npz") as d:
            sd = {"module." + k: torch.tensor(d[k]) for k in d.files}
        ema = {k: v.clone() for k, v in sd.items()}
        ema["n_averaged"] = torch.tensor(7)
        cfgjson = json.loads((FIX / cfg / "config.json").read_text())
        backbone = {"model": "fairchem.core.models.uma.escn_md.eSCNMDBackbone", **cfgjson["backbone_kwargs"]}
        tasks = [
            {"name": "omol_energy", "property": "energy", "level": "system", "datasets": ["omol"],
             "normalizer": {"_target_": "Normalizer", "mean": 0.0, "rmsd": 1.25},
             "element_references": {"_target_": "ElementReferences", "element_references": torch.arange(101.0) * -0.5}},
            {"name": "forces", "property": "forces", "datasets": ["omol"], "normalizer": {"rmsd": 1.25}},
        ]
        ckpt = MLIPInferenceCheckpoint({"backbone": backbone, "heads": {}}, sd, ema, tasks)
        torch.save(ckpt, path, pickle_module=pickle)
    finally:
        for k, v in saved.items():
            if v is None:
                sys.modules.pop(k, None)
            else:
                sys.modules[k] = v


def test_checkpoint_reader(tmp_path):
    from equiforce.checkpoint import load_checkpoint

    path = tmp_path / "fake.pt"
    _write_fake_checkpoint(path, "configA_dense")
    loaded = load_checkpoint(str(path))
    ref = load_state_dict_npz(str(FIX / "configA_dense" / "state_dict.npz"))
    assert sorted(loaded.state_dict) == sorted(ref)
    assert all(np.array_equal(loaded.state_dict[k], ref[k]) for k in ref)
    assert loaded.normalizers == {"omol": (1.25, 0.0)}
    assert loaded.references["omol"][8] == -4.0
    out = tmp_path / "ckpt-model"
    subprocess.run([sys.executable, "-m", "equiforce.convert", "--checkpoint", str(path), "--out", str(out), "--dtype", "float64"],
                   check=True, cwd=PYROOT)
    meta = json.loads((out / "model.json").read_text())
    omol = next(t for t in meta["tasks"] if t["name"] == "omol")
    assert omol["energy_scale"] == 1.25 and omol["element_references_eV"][1] == -0.5
    if HAVE_NODE:
        from equiforce.onnx.ort import run_ort

        _, hp = _graph("configA_dense")
        res = run_ort(str(out / "model.onnx"), _system_feeds("water", hp))
        assert _rel(res["energy"], np.load(FIX / "configA_dense" / "water.npz")["energy"]) <= 1e-9


@pytest.mark.skipif(not HAVE_NODE, reason="node not available")
def test_no_recompute_variant_gives_the_same_numbers(tmp_path):
    from equiforce.onnx.ort import run_ort

    out = _convert(tmp_path, "configB_mole4", "float64", ["--no-recompute"])
    assert json.loads((out / "model.json").read_text())["graph"]["recompute_layers_in_backward"] is False
    _, hp = _graph("configB_mole4")
    feeds = _system_feeds("nakcl_triclinic", hp)
    res = run_ort(str(out / "model.onnx"), feeds)
    ref = np.load(FIX / "configB_mole4" / "nakcl_triclinic.npz")
    assert _rel(res["energy"], ref["energy"]) <= 1e-9
    assert _rel(res["edge_grad"], ref["dE_dedge_vec"]) <= 1e-9


@pytest.mark.parametrize("cfg", CONFIGS)
def test_edge_chunked_graph_matches_fairchem(cfg):
    """Layers processed in chunks of centre atoms (--edge-chunks): same numbers, also with chunks
    that hold no atoms at all (3 atoms, 5 chunks)."""
    sd = load_state_dict_npz(str(FIX / cfg / "state_dict.npz"))
    kw, mid = load_config_json(str(FIX / cfg / "config.json"))
    hp = EsenHyper.from_backbone_kwargs(kw, mid)
    g, _ = build_esen(sd, hp, edge_chunks=5)
    for name in ("water", "nakcl_triclinic", "cu_fcc_2x2x2"):
        out = g.run(_system_feeds(name, hp))
        ref = np.load(FIX / cfg / f"{name}.npz")
        assert _rel(out["energy"], ref["energy"]) <= 1e-10
        assert _rel(out["edge_grad"], ref["dE_dedge_vec"]) <= 1e-10
        assert _rel(out["node_embedding"], ref["node_embedding"]) <= 1e-10


@pytest.mark.skipif(not HAVE_NODE, reason="node not available")
def test_edge_chunked_onnx_batch_and_empty(tmp_path):
    from equiforce.onnx.layout import batch_inputs as batch
    from equiforce.onnx.ort import run_ort

    out = _convert(tmp_path, "configB_mole4", "float64", ["--edge-chunks", "4"])
    assert json.loads((out / "model.json").read_text())["graph"]["edge_chunks"] == 4
    _, hp = _graph("configB_mole4")
    systems, refs = [], []
    for name in ("water", "cu_fcc_2x2x2", "nakcl_triclinic"):
        s = np.load(FIX / "systems" / f"{name}.npz")
        systems.append(dict(atomic_numbers=s["atomic_numbers"], edge_index=s["edge_index"], edge_vec=s["edge_vec"],
                            shifts=s["cell_offsets"], charge=int(s["charge"]), spin=int(s["spin"]),
                            task=hp.task_names.index(str(s["dataset"]))))
        refs.append(np.load(FIX / "configB_mole4" / f"{name}.npz"))
    res = run_ort(str(out / "model.onnx"), batch(systems))
    assert _rel(res["energy"], np.concatenate([r["energy"] for r in refs])) <= 1e-9
    assert _rel(res["edge_grad"], np.concatenate([r["dE_dedge_vec"] for r in refs])) <= 1e-9
    single = batch([dict(atomic_numbers=[29], edge_index=np.zeros((2, 0), int), edge_vec=np.zeros((0, 3)),
                         charge=0, spin=0, task=2)])
    res1 = run_ort(str(out / "model.onnx"), single)
    assert res1["edge_grad"].shape == (0, 3) and np.isfinite(res1["energy"]).all()
