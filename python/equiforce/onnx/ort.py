"""Runs ONNX models through onnxruntime-node (there is no Python onnxruntime here)."""

from __future__ import annotations

import json
import os
import subprocess
import tempfile

import numpy as np

_HERE = os.path.dirname(os.path.abspath(__file__))
_REPO = os.path.abspath(os.path.join(_HERE, "..", "..", ".."))
_NP = {"float32": np.float32, "float64": np.float64, "int32": np.int32, "int64": np.int64}


def run_ort(model_path: str, feeds: dict, threads: int = 1, repeats: int = 1, return_all: bool = False):
    """Returns {output name: array} (or a list of such dicts, one per repeat, with ``return_all``)."""
    with tempfile.TemporaryDirectory() as d:
        spec = {}
        for name, arr in feeds.items():
            arr = np.ascontiguousarray(arr)
            dtype = str(arr.dtype)
            spec[name] = {"dtype": dtype, "shape": list(arr.shape), "file": f"in_{name}.bin"}
            arr.tofile(os.path.join(d, f"in_{name}.bin"))
        with open(os.path.join(d, "inputs.json"), "w") as f:
            json.dump(spec, f)
        subprocess.run(
            ["node", os.path.join(_HERE, "run_ort.mjs"), os.path.abspath(model_path), d, str(threads), str(repeats)],
            check=True,
            cwd=_REPO,
        )
        with open(os.path.join(d, "outputs.json")) as f:
            meta = json.load(f)["outputs"]
        runs = []
        for r in range(repeats):
            res = {}
            for name, m in meta.items():
                a = np.fromfile(os.path.join(d, f"out_{r}_{name}.bin"), dtype=_NP[m["dtype"]])
                res[name] = a.reshape(m["shape"])
            runs.append(res)
    return runs if return_all else runs[0]
