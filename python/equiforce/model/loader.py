"""Build a ``UMAModel`` from a fairchem state dict and config (fixture ``state_dict.npz`` + ``config.json``).

State-dict layout (fairchem ``HydraModel``): ``backbone.<name>`` for the backbone (including the
persistent ``backbone.Jd_<l>`` buffers) and ``output_heads.<head>.[head.]energy_block.<i>.<weight|bias>``
for the energy head (``DatasetSpecificSingleHeadWrapper`` adds the ``head.`` level). Module names in
this port equal fairchem's, so loading is a prefix strip and a strict ``load_state_dict``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Mapping, Optional, Union

import numpy as np
import torch

from ..fairchem_config import UMAHyperParams, parse_config
from .model import UMAModel


def _to_tensor(value: Any) -> torch.Tensor:
    if isinstance(value, torch.Tensor):
        return value.detach().clone()
    return torch.from_numpy(np.array(value))


def _head_prefix(keys) -> str:
    cands = sorted({k[: -len("energy_block.0.weight")] for k in keys if k.startswith("output_heads.")
                    and k.endswith("energy_block.0.weight")})
    if not cands:
        moe = [k for k in keys if k.startswith("output_heads.") and k.endswith("energy_block.0.weights")]
        if moe:
            raise NotImplementedError("per-dataset MoLE energy heads (DatasetSpecificMoEWrapper) are not implemented")
        raise KeyError("no energy head (output_heads.*energy_block.0.weight) in the state dict")
    if len(cands) > 1:
        raise NotImplementedError(f"several energy heads in the state dict: {cands}")
    return cands[0]


def from_state_dict(state_dict: Mapping[str, Union[np.ndarray, torch.Tensor]],
                    config: Union[Mapping[str, Any], UMAHyperParams], dtype: Optional[torch.dtype] = None) -> UMAModel:
    """Model with fairchem weights. ``dtype`` defaults to the state dict's floating dtype."""
    hp = config if isinstance(config, UMAHyperParams) else parse_config(config)
    sd = {k: _to_tensor(v) for k, v in state_dict.items()}
    if dtype is None:
        floats = [v.dtype for v in sd.values() if v.is_floating_point()]
        dtype = torch.float64 if torch.float64 in floats else (floats[0] if floats else torch.float32)
    jd = [sd[f"backbone.Jd_{l}"].double().numpy() for l in range(hp.lmax + 1) if f"backbone.Jd_{l}" in sd]
    model = UMAModel(hp, jd=jd if len(jd) == hp.lmax + 1 else None)
    model = model.to(dtype)
    head = _head_prefix(sd.keys())
    state = {}
    for key, value in sd.items():
        if key.startswith("backbone."):
            state[key] = value
        elif key.startswith(head):
            state["head." + key[len(head):]] = value
    for l in range(hp.lmax + 1):  # Jd buffers stay float64 whatever the model dtype
        if f"backbone.Jd_{l}" not in state:
            state[f"backbone.Jd_{l}"] = getattr(model.backbone, f"Jd_{l}")
    for key, value in list(state.items()):
        if value.is_floating_point():
            state[key] = value.to(dtype)
    missing, unexpected = model.load_state_dict(state, strict=False)
    if missing or unexpected:
        raise KeyError(f"state dict does not match the config: missing {missing}, unexpected {unexpected}")
    model.backbone.refresh_couplings()
    return model.eval()


def load_fixture_model(directory: Union[str, Path], dtype: Optional[torch.dtype] = None) -> UMAModel:
    """``from_state_dict`` on ``directory/state_dict.npz`` and ``directory/config.json``."""
    directory = Path(directory)
    with np.load(directory / "state_dict.npz") as f:
        sd = {k: f[k] for k in f.files}
    config = json.loads((directory / "config.json").read_text())
    return from_state_dict(sd, config, dtype=dtype)
