"""Reading fairchem eSEN/UMA weights: fixture state dicts (.npz) and fairchem checkpoints (.pt).

Everything is normalised to one layout: backbone parameters under their fairchem names without the
'backbone.' prefix, and the energy head's MLP under 'head.energy_block.<k>.{weight,bias}'.
"""

from __future__ import annotations

import json
from typing import Optional

import numpy as np

_STRIP = ("module.", "model.", "_orig_mod.")


def _strip_prefixes(key: str) -> str:
    changed = True
    while changed:
        changed = False
        for p in _STRIP:
            if key.startswith(p):
                key, changed = key[len(p):], True
    return key


def normalize_state_dict(sd: dict) -> dict:
    """Maps a fairchem HydraModel state dict (any wrapper prefixes) to the normalised layout."""
    out: dict = {}
    heads: dict = {}
    for key, val in sd.items():
        arr = val.detach().cpu().numpy() if hasattr(val, "detach") else np.asarray(val)
        k = _strip_prefixes(key)
        if k.startswith("backbone."):
            out[k[len("backbone."):]] = arr
        elif k.startswith("output_heads."):
            rest = k[len("output_heads."):]
            name, _, tail = rest.partition(".")
            i = tail.find("energy_block.")
            if i >= 0:
                heads.setdefault(name, {})["head." + tail[i:]] = arr
    if not heads:
        raise ValueError("no energy head ('output_heads.<name>...energy_block.*') in the state dict")
    if len(heads) > 1:
        energyish = [h for h in heads if "energy" in h]
        if len(energyish) != 1:
            raise ValueError(f"several energy heads in the state dict: {sorted(heads)}")
        heads = {energyish[0]: heads[energyish[0]]}
    out.update(next(iter(heads.values())))
    return out


def load_state_dict_npz(path: str) -> dict:
    with np.load(path) as d:
        return normalize_state_dict({k: d[k] for k in d.files})


def load_config_json(path: str) -> tuple[dict, Optional[str]]:
    """Backbone kwargs (and the model id, if any) from a fixture-style config.json."""
    with open(path) as f:
        cfg = json.load(f)
    kw = cfg.get("backbone_kwargs", cfg.get("backbone", cfg))
    return dict(kw), cfg.get("model_id")
