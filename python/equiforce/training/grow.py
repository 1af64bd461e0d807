"""Grow a trained model into a larger one that computes exactly the same function, to train on from there
(``python -m equiforce.train --init-from CKPT --grow-channels 64 --grow-layers 3``).

Why: the shipped C = 32, two-layer model fits its own training frames hardly better than unseen ones
(stage 6: `mol` forces 96 meV/Å on training frames, 104 on test), so it is short of capacity, and a larger
model trained from scratch would first have to relearn what the small one took many CPU-hours to learn.

**Wider** (channels C -> kC, hidden H -> kH, k an integer; edge channels stay): every channel vector of
width C becomes k copies of itself, ``[v, v, ...]``. Each parameter is indexed through a map from new to
old positions along its channel axes: outputs are copied, inputs are copied and divided by k, so a
linear layer fed duplicated inputs returns duplicated outputs. Every other operation is channel-wise
(SiLU, gates, the edge rotations) or uses channel means that duplication leaves unchanged (the centring
and RMS of ``rms_norm_sh``), so the grown model's energy, forces and stress equal the source's. Exact
copies would stay copies under gradient descent (they receive equal gradients), so every input weight
gets a noise term that sums to zero over the copies of one old input: invisible while the copies are
equal, it gives each copy a different downstream weight, and their gradients differ from the first step.

**Deeper** (L -> L' layers): blocks L..L'-1 are appended with their last linear maps (``so2_conv_2`` of
the message passing and ``so3_linear_2`` of the feed-forward) set to zero, so each is the identity
(both are residual). Their gradients are not zero, so they start learning at once.
"""

from __future__ import annotations

import re
from typing import Optional, Sequence

import numpy as np
import torch


def copies(segments: int, width: int, k: int) -> np.ndarray:
    """New -> old index map of ``segments`` consecutive channel blocks of ``width``, each repeated k times
    in place: new position ``s*k*width + j`` reads old position ``s*width + j % width``."""
    j = np.arange(k * width)
    return np.concatenate([s * width + j % width for s in range(segments)]).astype(np.int64)


def joined(*maps: np.ndarray, old_widths: Sequence[int]) -> np.ndarray:
    """The maps of consecutive parts of one axis (old widths given) as one map."""
    out, offset = [], 0
    for m, w in zip(maps, old_widths):
        out.append(m + offset)
        offset += w
    return np.concatenate(out)


class _Spec:
    """How one parameter grows: a new->old map per axis (None: the axis does not grow) and which axis
    is a linear map's input (divided by k, and carries the symmetry-breaking noise)."""

    def __init__(self, maps: Sequence[Optional[np.ndarray]], input_axis: Optional[int] = None) -> None:
        self.maps, self.input_axis = list(maps), input_axis


def _specs(name: str, shape: tuple, C: int, H: int, lmax: int, mmax: int, k: int) -> _Spec:
    """The growth of the parameter ``name`` of a dense eSEN/UMA model (see the module docstring)."""
    chan = copies(1, C, k)
    hid = copies(1, H, k)
    n_m0 = lmax + 1
    num_l = [lmax - m + 1 for m in range(1, mmax + 1)]
    name = re.sub(r"^backbone\.blocks\.\d+\.", "block.", name)
    if re.fullmatch(r"backbone\.Jd_\d+", name) or name.startswith("backbone.source_embedding") \
            or name.startswith("backbone.target_embedding"):
        return _Spec([None] * len(shape))
    if name == "backbone.sphere_embedding.weight":
        return _Spec([None, chan])
    if name in ("backbone.charge_embedding.W", "backbone.spin_embedding.W"):
        return _Spec([copies(1, C // 2, k)])  # [sin(W), cos(W)] -> [sin W, sin W, cos W, cos W] (k = 2)
    if name.startswith("backbone.dataset_embedding."):
        return _Spec([None, chan])
    if name == "backbone.mix_csd.weight":
        half = copies(2, C // 2, k)  # the sin and cos halves of one charge or spin embedding
        return _Spec([chan, joined(half, half, chan, old_widths=[C, C, C])], input_axis=1)
    if name == "backbone.mix_csd.bias":
        return _Spec([chan])
    m = re.fullmatch(r"(backbone\.edge_degree_embedding|block\.edge_wise\.so2_conv_1)\.rad_func\.net\.(\d+)\.(weight|bias)",
                     name)
    if m:
        if m.group(2) != "6":
            return _Spec([None] * len(shape))  # the radial MLP's hidden layers are edge channels
        if m.group(1).startswith("backbone"):
            out = copies(n_m0, C, k)  # (l, C) m = 0 coefficients
        else:
            out = copies(2 * (n_m0 + sum(num_l)), C, k)  # per m, (l, [source C | target C])
        return _Spec([out, None] if m.group(3) == "weight" else [out])
    if re.fullmatch(r"(block\.norm_[12]|backbone\.norm)\.affine_weight", name):
        return _Spec([None, chan])
    if re.fullmatch(r"(block\.norm_[12]|backbone\.norm)\.affine_bias", name):
        return _Spec([chan])
    m = re.fullmatch(r"block\.edge_wise\.(so2_conv_[12])\.(fc_m0|so2_m_conv\.(\d+)\.fc)\.(weight|bias)", name)
    if m:
        first = m.group(1) == "so2_conv_1"
        cin_segments, cin_width = (2, C) if first else (1, H)  # conv_1 reads [source | target] pairs
        cout = H if first else C
        if m.group(2) == "fc_m0":
            extra = lmax if first else 0  # conv_1's gating scalars [lmax, H] come first
            out = copies(extra + n_m0, cout, k)
            inp = copies(n_m0 * cin_segments, cin_width, k)
        else:
            nl = num_l[int(m.group(3))]
            out = copies(2 * nl, cout, k)  # two halves (W1, W2) of (l, Cout)
            inp = copies(nl * cin_segments, cin_width, k)
        return _Spec([out, inp], input_axis=1) if m.group(4) == "weight" else _Spec([out])
    if name == "block.atom_wise.scalar_mlp.0.weight":
        return _Spec([copies(lmax, H, k), chan], input_axis=1)
    if name == "block.atom_wise.scalar_mlp.0.bias":
        return _Spec([copies(lmax, H, k)])
    m = re.fullmatch(r"block\.atom_wise\.so3_linear_([12])\.(weight|bias)", name)
    if m:
        out, inp = (hid, chan) if m.group(1) == "1" else (chan, hid)
        return _Spec([None, out, inp], input_axis=2) if m.group(2) == "weight" else _Spec([out])
    m = re.fullmatch(r"head\.energy_block\.([024])\.(weight|bias)", name)
    if m:
        out = None if m.group(1) == "4" else hid
        inp = chan if m.group(1) == "0" else hid
        return _Spec([out, inp], input_axis=1) if m.group(2) == "weight" else _Spec([out])
    raise NotImplementedError(f"do not know how to grow parameter {name} {tuple(shape)}")


def _grow_tensor(old: torch.Tensor, spec: _Spec, k: int, noise: float, rng: np.random.Generator) -> torch.Tensor:
    t = old.detach().double().numpy()
    for axis, index in enumerate(spec.maps):
        if index is not None:
            t = np.take(t, index, axis=axis)
    if spec.input_axis is not None:
        t = t / k
        index = spec.maps[spec.input_axis]
        # zero-sum noise over the copies of each old input: eps - mean of eps over that input's copies
        eps = rng.normal(scale=noise * (float(np.std(t)) or 1.0), size=t.shape)
        moved = np.moveaxis(eps, spec.input_axis, -1)
        sums = np.zeros(moved.shape[:-1] + (int(index.max()) + 1,))
        np.add.at(sums, (..., index), moved)
        moved = moved - sums[..., index] / k
        t = t + np.moveaxis(moved, -1, spec.input_axis)
    return torch.as_tensor(t, dtype=old.dtype)


def grow_state_dict(state: dict, kwargs: dict, channels: int, layers: int, new_state: dict,
                    noise: float = 0.1, seed: int = 0) -> dict:
    """The weights of ``state`` (a model built from ``kwargs``) grown to ``channels`` and ``layers``.

    ``new_state`` is a freshly initialised state dict of the larger model: its new blocks keep their
    random weights except for the zeroed output maps. ``noise`` is the symmetry-breaking noise relative
    to each weight's spread (0 = exact copies, which would never diverge)."""
    C, L = int(kwargs["sphere_channels"]), int(kwargs["num_layers"])
    H = int(kwargs.get("hidden_channels") or C)
    if channels % C or layers < L:
        raise ValueError(f"can only grow to a multiple of the channels ({C}) and at least {L} layers, "
                         f"asked for {channels} channels and {layers} layers")
    if H != C:
        raise ValueError(f"hidden channels ({H}) differ from the channels ({C}): widen those by hand")
    if kwargs.get("num_experts", 0) or kwargs.get("charge_balanced_channels") or kwargs.get("spin_balanced_channels"):
        raise ValueError("only a dense model without balanced channels can be grown")
    k = channels // C
    if k > 1 and C % 2:
        raise ValueError(f"the charge/spin embeddings need an even channel count, got {C}")
    rng = np.random.default_rng(seed)
    grown = {}
    for name, value in new_state.items():
        block = re.match(r"backbone\.blocks\.(\d+)\.", name)
        if block and int(block.group(1)) >= L:
            identity = re.search(r"\.edge_wise\.so2_conv_2\.|\.atom_wise\.so3_linear_2\.", name)
            grown[name] = torch.zeros_like(value) if identity else value.clone()
            continue
        if name not in state:
            raise KeyError(f"the source model has no parameter {name}")
        if k == 1:  # deeper only: the existing parameters stay as they are
            out = state[name].clone()
        else:
            spec = _specs(name, tuple(state[name].shape), C, H, int(kwargs["lmax"]), int(kwargs["mmax"]), k)
            out = _grow_tensor(state[name], spec, k, noise, rng)
        if tuple(out.shape) != tuple(value.shape):
            raise AssertionError(f"{name}: grown to {tuple(out.shape)}, the new model has {tuple(value.shape)}")
        grown[name] = out
    return grown
