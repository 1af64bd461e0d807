"""Rebuild the ONNX graphs of a model folder exported by ``python -m equiforce.train`` from the run's
checkpoint (EMA weights) with the current graph builder: model.large.onnx (edge-chunked), and with
``--default-graph`` model.onnx too (with the recomputation and chunk settings its model.json records).
The weights, and so the numbers to rounding, stay the same; model.json keeps everything but its
``large_graph`` entry and, for a rebuilt default graph, ``provenance.graph_rebuilt``.

  cd python && /usr/bin/python3 scripts/rebuild_graphs.py MODEL_DIR RUN_DIR/checkpoint.pt [--default-graph]

(Used in session 4 to add the large graphs to stage 2 of models/equiforce-small, and in session 7 to
rebuild both graphs of stage 3 from ../data/runs/small-c32-ft2/checkpoint.pt after graph changes.)
"""
import argparse
import json
from datetime import datetime, timezone
import os
import sys
from types import SimpleNamespace

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

import torch  # noqa: E402

from equiforce.convert import DEFAULT_LARGE_GRAPH_CHUNKS, write_graph, write_large_graph  # noqa: E402
from equiforce.onnx.esen import EsenHyper  # noqa: E402
from equiforce.train import backbone_kwargs, build_model, export_state_dict, load_averaged_weights  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("model_dir", help="folder with model.json (float32) and float64/")
    ap.add_argument("checkpoint", help="the training run's checkpoint.pt")
    ap.add_argument("--chunks", type=int, default=DEFAULT_LARGE_GRAPH_CHUNKS)
    ap.add_argument("--default-graph", action="store_true", help="also rebuild model.onnx")
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
        if args.default_graph:
            gr = meta["graph"]
            write_graph(sd, hp, os.path.join(d, "model.onnx"), meta["dtype"], recompute=gr["recompute_layers_in_backward"],
                         edge_chunks=gr["edge_chunks"], doc=f"equiforce eSEN/UMA export of {source}")
            meta["provenance"]["graph_rebuilt"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
            print(f"wrote {d}/model.onnx ({meta['dtype']})")
        meta["large_graph"] = write_large_graph(sd, hp, d, meta["dtype"], args.chunks, source=source)
        with open(path, "w") as f:
            json.dump(meta, f, indent=1)
            f.write("\n")
        print(f"wrote {d}/model.large.onnx ({meta['dtype']}, {args.chunks} edge chunks)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
