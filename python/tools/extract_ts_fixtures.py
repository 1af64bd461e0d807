"""Extracts the small slice of the fairchem reference fixtures that the TypeScript model tests need.

Reads ../shared/fixtures/uma-reference (systems and both configs) and writes
test/fixtures/uma/manifest.json plus one little-endian binary file per system. The manifest maps
each array to {file, dtype, shape, offset (bytes)}. Adds the graph inputs the ONNX contract needs
(CSR ``offsets`` by centre and the ``reverse`` pair index), computed from the fixture edge lists.

usage (from the repository root): /usr/bin/python3 python/tools/extract_ts_fixtures.py [FIXTURES] [OUT]
"""

from __future__ import annotations

import json
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(REPO, "python"))

from equiforce.onnx.layout import csr_offsets, reverse_index  # noqa: E402

SYSTEMS = ["water", "ethanol", "co2_cation_linear_y", "cu_fcc_2x2x2", "nakcl_triclinic"]
CONFIGS = {"configA_dense": "dense", "configB_mole4": "mole"}
PER_CONFIG = {
    "energy": "energy",
    "energy_per_atom_terms": "atom_energy",
    "forces": "forces",
    "stress": "stress",
    "dE_dedge_vec": "edge_grad",
    "node_embedding": "node_embedding",
}


# Single atoms without edges (not in the fairchem fixtures): reference values from equiforce's PyTorch
# port of fairchem (python/equiforce/model, itself checked against the fixtures), float64.
ISOLATED = [
    {"z": 29, "task": "omat", "charge": 0, "spin": 0},
    {"z": 8, "task": "omol", "charge": 0, "spin": 1},
    {"z": 1, "task": "omol", "charge": 1, "spin": 1},
]


def isolated_atom_references(src: str, tasks: list) -> list:
    import torch

    from equiforce.model import evaluate
    from equiforce.model.loader import load_fixture_model

    out = []
    for case in ISOLATED:
        entry = {**case, "task_index": tasks.index(case["task"])}
        for cfg, tag in CONFIGS.items():
            model = load_fixture_model(os.path.join(src, cfg)).double().eval()
            res = evaluate(model, torch.tensor([case["z"]]), torch.zeros(2, 0, dtype=torch.long),
                           edge_vec=torch.zeros(0, 3, dtype=torch.float64), charge=[case["charge"]],
                           spin=[case["spin"]], task=[entry["task_index"]])
            entry[tag] = {
                "energy": float(res["energy"][0]),
                "node_embedding": res["node_embedding"].detach().numpy().reshape(-1).tolist(),
            }
        out.append(entry)
    return out


def main() -> None:
    src = sys.argv[1] if len(sys.argv) > 1 else os.path.join(REPO, "..", "shared", "fixtures", "uma-reference")
    out = sys.argv[2] if len(sys.argv) > 2 else os.path.join(REPO, "test", "fixtures", "uma")
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(src, "configA_dense", "config.json")) as f:
        tasks = json.load(f)["backbone_kwargs"]["dataset_list"]
    manifest: dict = {"source": "fairchem uma-reference fixtures (float64)", "tasks": tasks, "systems": {}}
    for name in SYSTEMS:
        s = np.load(os.path.join(src, "systems", f"{name}.npz"))
        ei = s["edge_index"].astype(np.int32)
        n = len(s["atomic_numbers"])
        arrays = {
            "atomic_numbers": s["atomic_numbers"].astype(np.int32),
            "positions": s["positions"].astype(np.float64),
            "cell": s["cell"].astype(np.float64),
            "pbc": s["pbc"].astype(np.int32),
            "edge_index": ei,
            "edge_vec": s["edge_vec"].astype(np.float64),
            "offsets": csr_offsets(ei[1], n),
            "reverse": reverse_index(ei, s["cell_offsets"]),
        }
        for cfg, tag in CONFIGS.items():
            r = np.load(os.path.join(src, cfg, f"{name}.npz"))
            for key, short in PER_CONFIG.items():
                if key in r.files:
                    arrays[f"{tag}.{short}"] = r[key].astype(np.float64)
        entries = {}
        blob = bytearray()
        for key, arr in arrays.items():
            arr = np.ascontiguousarray(arr)
            entries[key] = {"dtype": str(arr.dtype), "shape": list(arr.shape), "offset": len(blob)}
            blob += arr.tobytes()
            blob += b"\0" * (-len(blob) % 8)  # keep every array 8-byte aligned
        with open(os.path.join(out, f"{name}.bin"), "wb") as f:
            f.write(bytes(blob))
        manifest["systems"][name] = {
            "file": f"{name}.bin",
            "charge": int(s["charge"]),
            "spin": int(s["spin"]),
            "task": str(s["dataset"]),
            "task_index": tasks.index(str(s["dataset"])),
            "arrays": entries,
        }
    manifest["isolated_atoms"] = isolated_atom_references(src, tasks)
    with open(os.path.join(out, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1)
        f.write("\n")
    total = sum(os.path.getsize(os.path.join(out, p)) for p in os.listdir(out))
    print(f"wrote {out} ({total / 1e6:.2f} MB)")


if __name__ == "__main__":
    main()
