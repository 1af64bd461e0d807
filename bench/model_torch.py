"""Timing worker for bench/model.ts: the PyTorch port (forward + autograd forces) on a given pair list,
or a float32 GEMM rate measurement. Prints one JSON object on stdout. Runs in its own process so that
its peak RSS (ru_maxrss) belongs to this one measurement.

  /usr/bin/python3 bench/model_torch.py port --weights bench/models/small.pt --data DIR --threads 1 \
      [--repeats 3] [--task 0]
  /usr/bin/python3 bench/model_torch.py gemm --threads 1 --shape M K N [--onnx OUT.onnx]
  /usr/bin/python3 bench/model_torch.py live --model OPTIMIZED.onnx --profile PROFILE.json --edges E

``live`` is the live-set analysis of the ONNX graph: from ORT's optimized graph (who reads what) and
its profile of one run (execution order, output shapes), the bytes of activations alive after each
node, assuming every tensor is freed after its last reader and that reshapes alias their input.

DIR holds the structure written by bench/model.ts: numbers.i32 [N], edge_index.i32 [2, E] (row 0 =
neighbour, row 1 = centre), edge_vec.f64 [E, 3] (Å).
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "python"))


def peak_rss_bytes() -> int:
    # Linux reports ru_maxrss in KiB.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def run_port(args) -> dict:
    import numpy as np
    import torch

    from equiforce.fairchem_config import parse_config
    from equiforce.model import UMAModel, evaluate
    from equiforce.threads import limit_threads

    limit_threads(args.threads)
    saved = torch.load(args.weights, map_location="cpu")
    model = UMAModel(parse_config(saved["kwargs"]))
    model.load_state_dict(saved["state_dict"])
    model = model.float().eval()
    for p in model.parameters():
        p.requires_grad_(False)  # forces only: no weight gradients, as in inference

    data = Path(args.data)
    numbers = torch.from_numpy(np.fromfile(data / "numbers.i32", dtype=np.int32).astype(np.int64))
    edge_index = torch.from_numpy(np.fromfile(data / "edge_index.i32", dtype=np.int32).astype(np.int64)).reshape(2, -1)
    edge_vec = torch.from_numpy(np.fromfile(data / "edge_vec.f64", dtype=np.float64).reshape(-1, 3)).float()
    kw = dict(charge=[0], spin=[0], task=[args.task], forces=True)

    def call():
        out = evaluate(model, numbers, edge_index, edge_vec=edge_vec, **kw)
        return float(out["energy"].sum()), out["forces"]

    t0 = time.perf_counter()
    energy, _ = call()  # warm-up
    warm_s = time.perf_counter() - t0
    times = []
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        energy, forces = call()
        times.append(time.perf_counter() - t0)
    return {
        "engine": "torch", "threads": args.threads, "torch": torch.__version__, "atoms": int(numbers.shape[0]),
        "edges": int(edge_index.shape[1]), "warmup_s": warm_s, "times_s": times, "energy": energy,
        "max_force": float(forces.abs().max()), "max_rss_bytes": peak_rss_bytes(),
    }


def run_gemm(args) -> dict:
    """float32 GEMM rate (FLOP/s) through torch.mm; optionally also writes a one-MatMul ONNX model of the
    same shape for onnxruntime (input A [M, K], initializer B [K, N])."""
    import numpy as np
    import torch

    from equiforce.threads import limit_threads

    limit_threads(args.threads)
    M, K, N = args.shape
    rng = np.random.default_rng(0)
    a = torch.from_numpy(rng.standard_normal((M, K), dtype=np.float32))
    b = torch.from_numpy(rng.standard_normal((K, N), dtype=np.float32))
    torch.mm(a, b)
    times = []
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        torch.mm(a, b)
        times.append(time.perf_counter() - t0)
    best = min(times)
    if args.onnx:
        import onnx
        from onnx import TensorProto, helper, numpy_helper

        graph = helper.make_graph(
            [helper.make_node("MatMul", ["a", "b"], ["c"])], "gemm",
            [helper.make_tensor_value_info("a", TensorProto.FLOAT, ["M", K])],
            [helper.make_tensor_value_info("c", TensorProto.FLOAT, ["M", N])],
            [numpy_helper.from_array(b.numpy(), "b")])
        onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), args.onnx)
    return {"engine": "torch.mm", "threads": args.threads, "shape": [M, K, N], "times_s": times,
            "flops_per_s": 2.0 * M * K * N / best}


_BYTES = {"float": 4, "double": 8, "int64": 8, "int32": 4, "bool": 1, "float16": 2, "uint8": 1, "int8": 1}
_ALIAS = {"Reshape", "Squeeze", "Unsqueeze", "Flatten", "Identity"}


def run_live(args) -> dict:
    import onnx

    model = onnx.load(args.model, load_external_data=False)
    graph = model.graph
    nodes = {n.name: n for n in graph.node}
    inits = {t.name for t in graph.initializer}
    events = json.load(open(args.profile))
    kern = [e for e in events if e.get("cat") == "Node" and e["name"].endswith("_kernel_time")]
    runs = [e for e in events if e.get("cat") == "Session" and e.get("name") == "model_run"]
    per_run = len(kern) // max(len(runs), 1)
    kern = kern[len(kern) - per_run:]  # the last run only
    order = []  # (node, [(output name, bytes, shape)])
    for e in kern:
        node = nodes.get(e["name"][: -len("_kernel_time")])
        if node is None:
            continue
        shapes = e["args"].get("output_type_shape", [])
        outs = []
        for name, sh in zip(node.output, shapes):
            (dt, dims), = sh.items()
            n = 1
            for d in dims:
                n *= d
            outs.append((name, n * _BYTES.get(dt, 4), dims))
        order.append((node, outs))
    # Buffers: an alias op's output shares its input's buffer.
    owner = {}
    size, desc, born, last = {}, {}, {}, {}
    for name in (i.name for i in graph.input if i.name not in inits):
        owner[name] = name
        size[name], desc[name], born[name], last[name] = 0, ("input", []), -1, -1
    for t, (node, outs) in enumerate(order):
        for i in node.input:
            if i in owner:
                last[owner[i]] = t
        for k, (name, nbytes, dims) in enumerate(outs):
            if node.op_type in _ALIAS and k == 0 and node.input and node.input[0] in owner:
                owner[name] = owner[node.input[0]]
                continue
            owner[name] = name
            size[name], desc[name], born[name], last[name] = nbytes, (node.op_type, dims), t, t
    for o in graph.output:
        if o.name in owner:
            last[owner[o.name]] = len(order)
    # Live bytes after each step.
    delta = [0] * (len(order) + 3)
    for b in size:
        delta[born[b] + 1] += size[b]
        delta[last[b] + 2] -= size[b]
    live, cur, peak, peak_t = [], 0, -1, 0
    for t in range(len(order) + 1):
        cur += delta[t]
        live.append(cur)
        if cur > peak:
            peak, peak_t = cur, t - 1
    at_peak = sorted((b for b in size if born[b] <= peak_t <= last[b]), key=lambda b: -size[b])
    by_shape = {}
    for b in at_peak:
        op, dims = desc[b]
        key = f"{op} {list(dims)}"
        c = by_shape.setdefault(key, [0, 0])
        c[0] += 1
        c[1] += size[b]
    top = sorted(by_shape.items(), key=lambda kv: -kv[1][1])[: args.top]
    return {"mode": "live", "nodes": len(order), "peak_bytes": peak, "peak_bytes_per_edge": peak / args.edges,
            "peak_step": peak_t, "peak_node": order[peak_t][0].name if 0 <= peak_t < len(order) else None,
            "peak_op": order[peak_t][0].op_type if 0 <= peak_t < len(order) else None,
            "at_peak": [{"what": k, "count": c, "bytes": nb, "bytes_per_edge": nb / args.edges} for k, (c, nb) in top]}


def main() -> None:
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="mode", required=True)
    p = sub.add_parser("port")
    p.add_argument("--weights", required=True)
    p.add_argument("--data", required=True)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--task", type=int, default=0)
    g = sub.add_parser("gemm")
    g.add_argument("--threads", type=int, default=1)
    g.add_argument("--shape", type=int, nargs=3, default=[65536, 256, 256])
    g.add_argument("--repeats", type=int, default=5)
    g.add_argument("--onnx", default=None)
    lv = sub.add_parser("live")
    lv.add_argument("--model", required=True)
    lv.add_argument("--profile", required=True)
    lv.add_argument("--edges", type=int, required=True)
    lv.add_argument("--top", type=int, default=25)
    args = ap.parse_args()
    out = run_port(args) if args.mode == "port" else run_gemm(args) if args.mode == "gemm" else run_live(args)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
