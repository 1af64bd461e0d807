"""Converts an eSEN/UMA model (fairchem state dict or checkpoint) to equiforce's ONNX format.

Run from ``python/``::

    /usr/bin/python3 -m equiforce.convert --state-dict SD.npz --config CONFIG.json --out DIR \
        [--dtype float32|float64] [--normalizer X] [--references FILE.json]
    /usr/bin/python3 -m equiforce.convert --checkpoint FILE.pt --out DIR [--dtype ...] [--no-ema]

Writes DIR/model.onnx and DIR/model.json (schema in docs/model-format.md).
"""

from __future__ import annotations

import argparse
import datetime as _dt
import hashlib
import json
import os
import re
import sys
from typing import Optional

import numpy as np

CONVERTER_VERSION = "0.1.0"
FORMAT_VERSION = 1

INPUTS = [
    {"name": "atomic_numbers", "dtype": "int32", "shape": ["N"]},
    {"name": "edge_index", "dtype": "int32", "shape": [2, "E"]},
    {"name": "edge_vec", "dtype": "float", "shape": ["E", 3]},
    {"name": "system_index", "dtype": "int32", "shape": ["N"]},
    {"name": "charge", "dtype": "int32", "shape": ["B"]},
    {"name": "spin", "dtype": "int32", "shape": ["B"]},
    {"name": "task", "dtype": "int32", "shape": ["B"]},
    {"name": "offsets", "dtype": "int32", "shape": ["N+1"]},
    {"name": "reverse", "dtype": "int32", "shape": ["E"]},
]


def _outputs(n_coef: int, channels: int) -> list:
    return [
        {"name": "energy", "dtype": "float", "shape": ["B"], "unit": "model energy unit (raw)"},
        {"name": "atom_energy", "dtype": "float", "shape": ["N"], "unit": "model energy unit (raw)"},
        {"name": "edge_grad", "dtype": "float", "shape": ["E", 3], "unit": "raw energy per Angstrom"},
        {"name": "node_embedding", "dtype": "float", "shape": ["N", n_coef, channels]},
    ]


def _sha256(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _task_entries(hp, normalizers: dict, references: dict) -> list:
    out = []
    for i, name in enumerate(hp.task_names):
        ref = references.get(name)
        out.append(
            {
                "name": name,
                "index": i,
                "embedding": hp.dataset_mapping[name],
                "energy_scale": float(normalizers.get(name, (1.0, 0.0))[0]),
                "energy_shift": float(normalizers.get(name, (1.0, 0.0))[1]),
                "element_references_eV": None if ref is None else [float(v) for v in ref],
            }
        )
    return out


def _load_references(path: Optional[str], hp) -> dict:
    """{task: [ref(Z) for Z = 0..max]} from JSON: {task: [..]} or {task: {"Z": value}}."""
    if not path:
        return {}
    with open(path) as f:
        raw = json.load(f)
    out = {}
    for task, val in raw.items():
        if isinstance(val, dict):
            arr = np.zeros(hp.max_num_elements + 1)
            for z, v in val.items():
                arr[int(z)] = float(v)
            out[task] = arr.tolist()
        else:
            out[task] = [float(v) for v in val]
    return out


LARGE_GRAPH_FILE = "model.large.onnx"
#: Default pair count from which the calculator runs the large-system graph: above it, the chunked
#: graph's peak memory is a fraction of the default's at about the same speed; below it, the
#: default graph is faster (fewer, larger kernels) and its memory is small anyway.
LARGE_GRAPH_MIN_PAIRS = 32768
DEFAULT_LARGE_GRAPH_CHUNKS = 8


def write_large_graph(sd: dict, hp, out_dir: str, dtype: str, chunks: int, *, source: str = "",
                      min_pairs: int = LARGE_GRAPH_MIN_PAIRS) -> dict:
    """Writes ``model.large.onnx``: the same network with each layer's pairs processed in ``chunks``
    chunks of centre atoms (same contract, same numbers to rounding), for large systems, where it
    keeps the peak memory near the size of the pair features instead of several times it. Returns
    the ``large_graph`` entry of model.json."""
    write_graph(sd, hp, os.path.join(out_dir, LARGE_GRAPH_FILE), dtype, recompute=True, edge_chunks=chunks,
                 doc=f"equiforce eSEN/UMA export of {source} ({chunks} edge chunks)")
    return {"file": LARGE_GRAPH_FILE, "edge_chunks": chunks, "min_pairs": min_pairs}


def write_graph(sd: dict, hp, path: str, dtype: str, *, recompute: bool, edge_chunks: int, doc: str) -> None:
    """Builds the graph of ``sd`` and saves it as ONNX at ``path``."""
    import onnx

    from equiforce.onnx.emit import to_onnx
    from equiforce.onnx.esen import build_esen

    g, _ = build_esen(sd, hp, recompute=recompute, edge_chunks=edge_chunks)
    onnx.save(to_onnx(g, dtype, doc=doc), path)


def convert(
    sd: dict,
    backbone_kwargs: dict,
    out_dir: str,
    *,
    dtype: str = "float32",
    model_id: Optional[str] = None,
    normalizers: Optional[dict] = None,
    references: Optional[dict] = None,
    source: str = "",
    source_sha256: Optional[str] = None,
    name: Optional[str] = None,
    recompute: bool = True,
    edge_chunks: int = 1,
    large_graph_chunks: int = 0,
) -> dict:
    """Builds and writes model.onnx + model.json; returns the model.json dict. ``large_graph_chunks`` > 1
    also writes the edge-chunked graph for large systems (see :func:`write_large_graph`)."""
    from equiforce.onnx.esen import EsenHyper

    if dtype not in ("float32", "float64"):
        raise ValueError(f"dtype must be float32 or float64, got {dtype!r}")
    hp = EsenHyper.from_backbone_kwargs(backbone_kwargs, model_id)
    os.makedirs(out_dir, exist_ok=True)
    write_graph(sd, hp, os.path.join(out_dir, "model.onnx"), dtype, recompute=recompute, edge_chunks=edge_chunks,
                 doc=f"equiforce eSEN/UMA export of {source}")
    # the large-system graph only where the default graph is the unchunked, recomputing one
    large = (write_large_graph(sd, hp, out_dir, dtype, large_graph_chunks, source=source)
             if large_graph_chunks > 1 and edge_chunks == 1 and recompute else None)
    normalizers = normalizers or {}
    references = references or {}
    n_coef = (hp.lmax + 1) ** 2
    meta = {
        "format": "equiforce-model",
        "format_version": FORMAT_VERSION,
        "name": name or os.path.basename(os.path.normpath(out_dir)),
        "architecture": {
            "family": "esen",
            "backbone": "eSCNMDMoeBackbone" if hp.num_experts > 0 else "eSCNMDBackbone",
            "lmax": hp.lmax,
            "mmax": hp.mmax,
            "sphere_channels": hp.sphere_channels,
            "hidden_channels": hp.hidden_channels,
            "edge_channels": hp.edge_channels,
            "num_distance_basis": hp.num_distance_basis,
            "num_layers": hp.num_layers,
            "num_experts": hp.num_experts,
            "use_composition_embedding": hp.use_composition_embedding,
            "norm_type": hp.norm_type,
            "act_type": hp.act_type,
            "ff_type": hp.ff_type,
            "chg_spin_emb_type": hp.chg_spin_emb_type,
            "max_num_elements": hp.max_num_elements,
            "model_id": model_id,
        },
        "cutoff_angstrom": hp.cutoff,
        "max_neighbors": hp.max_neighbors,
        "supported_elements": list(range(1, hp.max_num_elements)),
        "charge_range": [-100, 100],
        "spin_range": [0, 100],
        "tasks": _task_entries(hp, normalizers, references),
        "embedding": {"shape": [n_coef, hp.sphere_channels], "basis": "l-major real spherical harmonics (e3nn), polar axis y"},
        "dtype": dtype,
        "graph": {"opset": 13, "recompute_layers_in_backward": recompute, "edge_chunks": edge_chunks},
        **({"large_graph": large} if large else {}),
        "inputs": [{**i, "dtype": dtype if i["dtype"] == "float" else i["dtype"]} for i in INPUTS],
        "outputs": [{**o, "dtype": dtype} for o in _outputs(n_coef, hp.sphere_channels)],
        "provenance": {
            "source": source,
            "source_sha256": source_sha256,
            "converter": "equiforce.convert",
            "converter_version": CONVERTER_VERSION,
            "date": _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat(),
        },
    }
    text = json.dumps(meta, indent=1)
    # keep lists of numbers on one line
    text = re.sub(r"\[\s*([-0-9.e, \n]+?)\s*\]", lambda m: "[" + ", ".join(v.strip() for v in m.group(1).split(",")) + "]", text)
    with open(os.path.join(out_dir, "model.json"), "w") as f:
        f.write(text + "\n")
    return meta


def main(argv: Optional[list] = None) -> int:
    from equiforce import checkpoint as ck
    from equiforce.onnx.esen import EsenHyper

    ap = argparse.ArgumentParser(prog="python -m equiforce.convert", description=__doc__.split("\n\n")[0])
    src = ap.add_mutually_exclusive_group(required=True)
    src.add_argument("--state-dict", help="fixture-style state dict (.npz, fairchem key names)")
    src.add_argument("--checkpoint", help="fairchem inference checkpoint (.pt)")
    ap.add_argument("--config", help="config.json with backbone_kwargs (required with --state-dict)")
    ap.add_argument("--out", required=True, help="output directory")
    ap.add_argument("--dtype", default="float32", choices=["float32", "float64"])
    ap.add_argument("--normalizer", type=float, default=None, help="energy scale (rmsd) for every task")
    ap.add_argument("--references", help="JSON {task: [eV by Z] | {Z: eV}} element references")
    ap.add_argument("--no-ema", action="store_true", help="use model_state_dict instead of the EMA weights")
    ap.add_argument("--name", help="model name recorded in model.json")
    ap.add_argument("--edge-chunks", type=int, default=1,
                    help="process each layer's pairs in this many chunks of centre atoms (less memory for large systems)")
    ap.add_argument("--large-graph-chunks", type=int, default=DEFAULT_LARGE_GRAPH_CHUNKS,
                    help="also write model.large.onnx, the graph with this many edge chunks that the calculator runs "
                         f"for large systems (0: none; default {DEFAULT_LARGE_GRAPH_CHUNKS})")
    ap.add_argument("--no-recompute", action="store_true",
                    help="keep every layer's activations for the backward pass (~1/3 fewer FLOPs, ~2.5x more memory)")
    args = ap.parse_args(argv)

    if args.state_dict:
        if not args.config:
            ap.error("--config is required with --state-dict")
        sd = ck.load_state_dict_npz(args.state_dict)
        kw, model_id = ck.load_config_json(args.config)
        hp = EsenHyper.from_backbone_kwargs(kw, model_id)
        scale = 1.0 if args.normalizer is None else args.normalizer
        normalizers = {t: (scale, 0.0) for t in hp.task_names}
        references = _load_references(args.references, hp)
        source = os.path.basename(args.state_dict)
        digest = _sha256(args.state_dict)
    else:
        loaded = ck.load_checkpoint(args.checkpoint, use_ema=not args.no_ema)
        sd, kw, model_id = loaded.state_dict, loaded.backbone_kwargs, loaded.model_id
        hp = EsenHyper.from_backbone_kwargs(kw, model_id)
        normalizers = {t: loaded.normalizers.get(t, (1.0, 0.0)) for t in hp.task_names}
        if args.normalizer is not None:
            normalizers = {t: (args.normalizer, normalizers[t][1]) for t in hp.task_names}
        references = loaded.references
        if args.references:
            references = _load_references(args.references, hp)
        source = os.path.basename(args.checkpoint)
        digest = _sha256(args.checkpoint)
    meta = convert(
        sd, kw, args.out, dtype=args.dtype, model_id=model_id, normalizers=normalizers, references=references,
        source=source, source_sha256=digest, name=args.name, recompute=not args.no_recompute,
        edge_chunks=args.edge_chunks, large_graph_chunks=args.large_graph_chunks,
    )
    print(f"wrote {args.out}/model.onnx and model.json ({meta['architecture']['backbone']}, {args.dtype})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
