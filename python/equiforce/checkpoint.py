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
        elif k.startswith("head.energy_block."):  # equiforce's PyTorch port
            heads.setdefault("head", {})[k] = arr
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


# ------------------------------------------------------------------------------------------------
# fairchem inference checkpoints (.pt): a pickled MLIPInferenceCheckpoint dataclass with
# model_config, model_state_dict, ema_state_dict, tasks_config. fairchem is not installed here, so
# its classes are unpickled into plain stand-ins.
# ------------------------------------------------------------------------------------------------


class _Stub:
    """Stand-in for any class that cannot be imported while unpickling (dataclasses, configs)."""

    def __init__(self, *args, **kwargs):
        self.__dict__["_args"] = args
        self.__dict__.update(kwargs)

    def __setstate__(self, state):
        if isinstance(state, tuple) and len(state) == 2 and isinstance(state[1], dict):
            state = {**(state[0] or {}), **state[1]}
        if isinstance(state, dict):
            self.__dict__.update(state)
        else:
            self.__dict__["_state"] = state


class _StubModules:
    """While active, importing ``fairchem``/``omegaconf``/``hydra`` (when not installed) yields stub
    modules whose attributes are :class:`_Stub` subclasses, so a checkpoint unpickles without them.
    (Debian's torch 1.13 ignores ``torch.load(pickle_module=...)``, so find_class cannot be hooked.)"""

    PREFIXES = ("fairchem", "omegaconf", "hydra")

    def find_spec(self, fullname, path=None, target=None):
        import importlib.machinery

        if fullname.split(".")[0] in self.PREFIXES:
            return importlib.machinery.ModuleSpec(fullname, self, is_package=True)
        return None

    def create_module(self, spec):
        import types

        mod = types.ModuleType(spec.name)
        mod.__path__ = []
        cache: dict = {}

        def __getattr__(name, _mod=spec.name):
            if name.startswith("__"):
                raise AttributeError(name)
            if name not in cache:
                cache[name] = type(name, (_Stub,), {"__module__": _mod})
            return cache[name]

        mod.__getattr__ = __getattr__
        return mod

    def exec_module(self, module):
        return None

    def __enter__(self):
        import importlib.util
        import sys

        self._added = []
        missing = [p for p in self.PREFIXES if p not in sys.modules and importlib.util.find_spec(p) is None]
        self.PREFIXES = tuple(missing)
        sys.meta_path.insert(0, self)
        return self

    def __exit__(self, *exc):
        import sys

        sys.meta_path.remove(self)
        for name in list(sys.modules):
            if name.split(".")[0] in self.PREFIXES and getattr(sys.modules[name], "__loader__", None) is self:
                del sys.modules[name]
        return False


def _plain(obj):
    """DictConfig/ListConfig stand-ins and tensors -> plain Python containers."""
    if isinstance(obj, dict):
        return {k: _plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_plain(v) for v in obj]
    if hasattr(obj, "detach"):
        return obj.detach().cpu().numpy().tolist()
    if isinstance(obj, _Stub):
        d = obj.__dict__
        if "_content" in d:  # omegaconf containers keep their items in _content
            return _plain(d["_content"])
        if "_val" in d:
            return _plain(d["_val"])
        return {k: _plain(v) for k, v in d.items() if k != "_args"}
    return obj


def _numbers(obj) -> Optional[list]:
    """First list of numbers found in a nested structure (element references, tensors)."""
    if isinstance(obj, list) and obj and all(isinstance(v, (int, float)) for v in obj):
        return [float(v) for v in obj]
    if isinstance(obj, list):
        for v in obj:
            r = _numbers(v)
            if r is not None:
                return r
    if isinstance(obj, dict):
        for k in ("element_references", "_args_", "data", "values"):
            if k in obj:
                r = _numbers(obj[k])
                if r is not None:
                    return r
        for v in obj.values():
            r = _numbers(v)
            if r is not None:
                return r
    return None


class LoadedCheckpoint:
    def __init__(self, state_dict, backbone_kwargs, model_id, normalizers, references):
        self.state_dict = state_dict
        self.backbone_kwargs = backbone_kwargs
        self.model_id = model_id
        self.normalizers = normalizers  # {task(dataset) name: (scale, shift)}
        self.references = references  # {task(dataset) name: [eV by Z]}


def _get(obj, key):
    if isinstance(obj, dict):
        return obj.get(key)
    return getattr(obj, key, None)


def load_checkpoint(path: str, use_ema: bool = True) -> LoadedCheckpoint:
    import torch

    with _StubModules():
        ckpt = torch.load(path, map_location="cpu")
    model_config = _plain(_get(ckpt, "model_config"))
    if not isinstance(model_config, dict) or "backbone" not in model_config:
        raise ValueError(f"{path}: not a fairchem inference checkpoint (no model_config.backbone)")
    kw = dict(model_config["backbone"])
    kw.pop("model", None)
    model_id = model_config.get("model_id")
    if model_id is None and kw.get("model_version") in (1.1, "1.1"):
        model_id = "UMA-1.1"
    sd = _get(ckpt, "ema_state_dict") if use_ema else None
    if sd:
        sd = {k: v for k, v in dict(sd).items() if k != "n_averaged"}
    else:
        sd = dict(_get(ckpt, "model_state_dict"))
    normalizers: dict = {}
    references: dict = {}
    for task in _plain(_get(ckpt, "tasks_config")) or []:
        if not isinstance(task, dict) or task.get("property") != "energy":
            continue
        norm = task.get("normalizer") or {}
        scale = float(norm.get("rmsd", norm.get("std", 1.0)))
        shift = float(norm.get("mean", 0.0))
        refs = _numbers(task.get("element_references")) if task.get("element_references") else None
        for ds in task.get("datasets") or []:
            normalizers[ds] = (scale, shift)
            if refs is not None:
                references[ds] = refs
    return LoadedCheckpoint(normalize_state_dict(sd), kw, model_id, normalizers, references)
