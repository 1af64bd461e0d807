"""Shared helpers for the port tests: fixture location, relative error, fixture systems and models."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
import torch

PYTHON_ROOT = Path(__file__).resolve().parents[1]
if str(PYTHON_ROOT) not in sys.path:
    sys.path.insert(0, str(PYTHON_ROOT))

# <repo>/../shared/fixtures/uma-reference  (the repository root is parents[2] of this file)
FIXTURES = Path(__file__).resolve().parents[2] / ".." / "shared" / "fixtures" / "uma-reference"
SYSTEMS = ["water", "ethanol", "co2_cation_linear_y", "cu_fcc_2x2x2", "nakcl_triclinic"]
CONFIGS = ["configA_dense", "configB_mole4"]
TOL = 1e-10

needs_fixtures = pytest.mark.skipif(not (FIXTURES / "manifest.json").exists(),
                                    reason=f"UMA reference fixtures not found at {FIXTURES}")


def rel_err(a, b) -> float:
    """max|a - b| / max(max|b|, tiny)."""
    a = a.detach().cpu().numpy() if isinstance(a, torch.Tensor) else np.asarray(a)
    b = b.detach().cpu().numpy() if isinstance(b, torch.Tensor) else np.asarray(b)
    assert a.shape == b.shape, f"shape {a.shape} != {b.shape}"
    if a.size == 0:
        return 0.0
    return float(np.abs(a - b).max() / max(np.abs(b).max(), 1e-300))


def load_system(name: str) -> dict:
    with np.load(FIXTURES / "systems" / f"{name}.npz") as f:
        return {k: f[k] for k in f.files}


def load_reference(config: str, name: str) -> dict:
    with np.load(FIXTURES / config / f"{name}.npz") as f:
        return {k: f[k] for k in f.files}


_MODELS: dict = {}


def fixture_model(config: str):
    """Loaded (cached) port of a fixture configuration."""
    from equiforce.model import load_fixture_model

    if config not in _MODELS:
        _MODELS[config] = load_fixture_model(FIXTURES / config)
    return _MODELS[config]


def system_inputs(model, s: dict) -> dict:
    """Keyword arguments of ``equiforce.model.evaluate`` for one fixture system."""
    return dict(
        atomic_numbers=torch.tensor(s["atomic_numbers"]),
        edge_index=torch.tensor(s["edge_index"]),
        positions=torch.tensor(s["positions"]),
        cell_offsets=torch.tensor(s["cell_offsets"]),
        cell=torch.tensor(s["cell"]),
        charge=[int(s["charge"])],
        spin=[int(s["spin"])],
        task=[model.task_index(str(s["dataset"]))],
    )
