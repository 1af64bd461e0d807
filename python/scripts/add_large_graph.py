"""Add the large-system graph (model.large.onnx, edge-chunked) to a model folder exported by
``python -m equiforce.train`` before the converter wrote it, from the run's checkpoint (EMA weights).
model.onnx is left as it is; model.json gains its ``large_graph`` entry.

  cd python && /usr/bin/python3 scripts/add_large_graph.py MODEL_DIR RUN_DIR/checkpoint.pt

(Used in session 4 for stage 2 of models/equiforce-small, from ../data/runs/small-c32-ft/checkpoint.pt;
exports since then carry the large graph already.)
"""
import argparse
import json
import os
import sys
from types import SimpleNamespace

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

import torch  # noqa: E402

from equiforce.convert import DEFAULT_LARGE_GRAPH_CHUNKS, write_large_graph  # noqa: E402
from equiforce.onnx.esen import EsenHyper  # noqa: E402
from equiforce.train import backbone_kwargs, build_model, export_state_dict, load_averaged_weights  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("model_dir", help="folder with model.json (float32) and float64/")
    ap.add_argument("checkpoint", help="the training run's checkpoint.pt")
    ap.add_argument("--chunks", type=int, default=DEFAULT_LARGE_GRAPH_CHUNKS)
    args = ap.parse_args()
    ck = torch.load(args.checkpoint)
    kwargs = backbone_kwargs(SimpleNamespace(**ck["args"]))
    model = build_model(kwargs, 0)
    load_averaged_weights(model, ck)
    sd = export_state_dict(model, kwargs)
    hp = EsenHyper.from_backbone_kwargs(kwargs, None)
    for d in (args.model_dir, os.path.join(args.model_dir, "float64")):
        path = os.path.join(d, "model.json")
        meta = json.load(open(path))
        source = meta["provenance"]["source"]
        meta["large_graph"] = write_large_graph(sd, hp, d, meta["dtype"], args.chunks, source=source)
        with open(path, "w") as f:
            json.dump(meta, f, indent=1)
            f.write("\n")
        print(f"wrote {d}/model.large.onnx ({meta['dtype']}, {args.chunks} edge chunks)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
