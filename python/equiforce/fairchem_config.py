"""Typed eSEN/UMA hyperparameters parsed from fairchem configs.

Accepted inputs (``parse_config``):

* the fixture format: ``{"backbone_class": "...eSCNMDBackbone" | "...eSCNMDMoeBackbone", "backbone_kwargs": {...}}``;
* a fairchem checkpoint model config: ``{"backbone": {"model": "...", <kwargs>}, "heads": {...}}``;
* a bare dict of backbone constructor kwargs (MoLE if ``num_experts > 0``).

Only options that change the computation are kept; graph-construction and execution options
(``otf_graph``, ``radius_pbc_version``, ``execution_mode``, ``activation_checkpointing`` ...) are ignored.
Option values the port does not implement raise ``NotImplementedError`` naming the option.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any, Mapping, Optional

_SUPPORTED = {
    "norm_type": ("rms_norm_sh", "layer_norm_sh", "layer_norm"),
    "act_type": ("gate",),
    "ff_type": ("spectral",),
    "chg_spin_emb_type": ("rand_emb", "pos_emb", "lin_emb"),
    "distance_function": ("gaussian",),
    "moe_type": ("so2", "so2m0"),
    "moe_expert_coefficient_norm": ("softmax", "pnorm"),
}


@dataclass
class UMAHyperParams:
    """Architecture of an eSEN/UMA backbone (+ MLP energy head), with fairchem's constructor defaults."""

    max_num_elements: int = 100
    sphere_channels: int = 128
    lmax: int = 2
    mmax: int = 2
    cutoff: float = 5.0
    max_neighbors: int = 300
    edge_channels: int = 128
    distance_function: str = "gaussian"
    num_distance_basis: int = 512
    num_layers: int = 2
    hidden_channels: int = 128
    norm_type: str = "rms_norm_sh"
    act_type: str = "gate"
    ff_type: str = "grid"
    chg_spin_emb_type: str = "pos_emb"
    use_dataset_embedding: bool = True
    dataset_mapping: dict = field(default_factory=dict)  # task name -> embedding name
    task_names: list = field(default_factory=list)  # task index -> task name
    charge_balanced_channels: list = field(default_factory=list)
    spin_balanced_channels: list = field(default_factory=list)
    regress_stress: bool = False
    direct_forces: bool = False
    # MoLE
    num_experts: int = 0
    moe_type: str = "so2"
    use_composition_embedding: bool = False
    moe_expert_coefficient_norm: str = "softmax"
    moe_single: bool = False
    layers_moe: Optional[list] = None
    composition_include_self: bool = False  # UMA-S-1.2 composition-mean quirk

    @property
    def is_mole(self) -> bool:
        return self.num_experts > 0

    def validate(self) -> "UMAHyperParams":
        for name, allowed in _SUPPORTED.items():
            value = getattr(self, name)
            if name.startswith("moe") and not self.is_mole:
                continue
            if value not in allowed:
                raise NotImplementedError(f"{name}={value!r} is not implemented (supported: {', '.join(allowed)})")
        if not 0 <= self.mmax <= self.lmax:
            raise ValueError(f"need 0 <= mmax <= lmax, got lmax={self.lmax} mmax={self.mmax}")
        if self.lmax < 1:
            raise ValueError("lmax must be >= 1")
        if self.sphere_channels % 2:
            raise ValueError("sphere_channels must be even (charge/spin embeddings split it in halves)")
        if self.direct_forces:
            raise NotImplementedError("direct_forces=True (direct force heads) is not implemented; use conserving forces")
        if self.use_dataset_embedding and not self.dataset_mapping:
            raise ValueError("use_dataset_embedding needs dataset_list or dataset_mapping")
        return self

    def to_dict(self) -> dict:
        return {f.name: getattr(self, f.name) for f in fields(self)}


def _backbone_kwargs(config: Mapping[str, Any]) -> tuple[dict, Optional[str]]:
    if "backbone_kwargs" in config:
        return dict(config["backbone_kwargs"]), config.get("backbone_class")
    if "backbone" in config and isinstance(config["backbone"], Mapping):
        kw = dict(config["backbone"])
        return kw, kw.pop("model", None)
    return dict(config), None


def parse_config(config: Mapping[str, Any]) -> UMAHyperParams:
    """Hyperparameters from a fairchem config (see module docstring)."""
    kw, cls = _backbone_kwargs(config)
    hp = UMAHyperParams()
    names = {f.name for f in fields(hp)}
    for key, value in kw.items():
        if key in names and key not in ("dataset_mapping", "task_names"):
            setattr(hp, key, value)
    mapping = kw.get("dataset_mapping")
    dataset_list = kw.get("dataset_list")
    if mapping is None and dataset_list is not None:
        mapping = {name: name for name in dataset_list}
    hp.dataset_mapping = dict(mapping or {})
    hp.task_names = list(hp.dataset_mapping.keys())
    hp.charge_balanced_channels = list(kw.get("charge_balanced_channels") or [])
    hp.spin_balanced_channels = list(kw.get("spin_balanced_channels") or [])
    is_moe_class = cls is not None and "moe" in str(cls).lower()
    if is_moe_class and "num_experts" not in kw:
        hp.num_experts = 8  # eSCNMDMoeBackbone default
    if cls is not None and not is_moe_class:
        hp.num_experts = 0
    # fairchem's HydraModel passes its top-level model_id to the backbone; UMA-S-1.2 averages the
    # composition embedding including a zero "self" row (escn_moe.py: comp_break_extensivity).
    model_id = config.get("model_id", kw.get("model_id"))
    if "composition_include_self" not in kw:
        hp.composition_include_self = model_id == "UMA-S-1.2"
    return hp.validate()
