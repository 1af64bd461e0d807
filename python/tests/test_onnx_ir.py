"""The graph IR: VJPs against central finite differences, and ONNX (onnxruntime-node) against numpy."""

from __future__ import annotations

import os
import shutil

import numpy as np
import onnx
import pytest

from equiforce.onnx.emit import to_onnx
from equiforce.onnx.ir import Graph, grad
from equiforce.onnx.ort import run_ort

HAVE_NODE = shutil.which("node") is not None


def _toy_graph():
    """A message-passing toy touching every differentiable op the model uses."""
    g = Graph()
    v = g.input("v", "f", ["E", 3], requires_grad=True)
    x = g.input("x", "f", ["N", 4])
    ei = g.op("Cast", [g.input("edge_index", "i32", [2, "E"])], to="i64")
    offsets = g.op("Cast", [g.input("offsets", "i32", ["N1"])], to="i64")
    rev = g.op("Cast", [g.input("reverse", "i32", ["E"])], to="i64")
    neigh = g.op("Squeeze", [g.op("Slice", [ei], axis=0, start=0, end=1)], axes=[0])
    centre = g.op("Squeeze", [g.op("Slice", [ei], axis=0, start=1, end=2)], axes=[0])
    n = g.op("Shape", [x], index=0)
    e = g.op("Shape", [v], index=0)
    # padded CSR table P [N, K]
    lo = g.op("Gather", [offsets, g.op("Range", [g.const(np.int64(0)), n, g.const(np.int64(1))])], axis=0, adj=None)
    hi = g.op("Gather", [offsets, g.op("Range", [g.const(np.int64(1)), n + g.const(np.int64(1)), g.const(np.int64(1))])], axis=0, adj=None)
    deg = hi - lo
    K = g.op("Max", [g.op("ReduceMax", [deg], axes=[0], keepdims=0), g.const(np.int64(1))])
    k = g.op("Range", [g.const(np.int64(0)), K, g.const(np.int64(1))], dim="K")
    kk = g.op("Unsqueeze", [k], axes=[0])
    P = g.op("Where", [g.op("Less", [kk, g.op("Unsqueeze", [deg], axes=[1])]), g.op("Unsqueeze", [lo], axes=[1]) + kk, e])
    d2 = g.op("ReduceSum", [v * v], axes=[1], keepdims=1)
    d = g.op("Sqrt", [d2])
    u = v / d
    w = g.const(np.linspace(-1, 1, 12).reshape(3, 4))
    feat = g.op("Silu", [u @ w]) * g.op("Exp", [-d])
    xn = x + g.op("SegSum", [feat, P, centre])  # node features that depend on v
    xs = g.op("Gather", [xn, neigh, P, centre, rev], axis=0, adj="nbr")
    xt = g.op("Gather", [xn, centre, P], axis=0, adj="seg")
    msg = g.op("Concat", [feat * xs, g.op("Sigmoid", [xt])], axis=1)  # [E, 8]
    w2 = g.const(np.linspace(0.3, -0.7, 8 * 3).reshape(8, 3))
    m3 = g.op("Reshape", [msg @ w2], shape=[0, 3, 1])
    m3 = g.op("Transpose", [m3 * g.op("Unsqueeze", [v], axes=[2])], perm=[0, 2, 1])  # [E, 1, 3]
    agg = g.op("SegSum", [g.op("Reshape", [m3], shape=[0, 3]), P, centre])  # [N, 3]
    cond = g.op("Less", [agg, g.const(0.0)])
    agg = g.op("Where", [cond, agg * agg, agg])
    pad = g.op("Pad", [agg], axis=1, before=1, after=2)
    y = g.op("ReduceMean", [pad * pad], axes=[1], keepdims=0)
    energy = g.op("ReduceSum", [y], axes=[0], keepdims=1)
    g.output("energy", energy)
    g.output("agg", agg)
    dv = grad(g, energy, v)
    g.output("dv", dv)
    return g


def _toy_inputs(rng, with_edges=True):
    pos = rng.normal(size=(4, 3))
    pairs = [(j, i) for i in range(4) for j in range(4) if i != j and (i + j) % 3 != 0] if with_edges else []
    pairs.sort(key=lambda p: p[1])
    ei = np.array(pairs, dtype=np.int32).T.reshape(2, -1)
    vec = (pos[ei[0]] - pos[ei[1]]) if with_edges else np.zeros((0, 3))
    offsets = np.searchsorted(ei[1], np.arange(5)).astype(np.int32)
    lookup = {p: k for k, p in enumerate(pairs)}
    reverse = np.array([lookup[(i, j)] for (j, i) in pairs], dtype=np.int32)
    return {
        "v": vec,
        "x": rng.normal(size=(4, 4)),
        "edge_index": ei,
        "offsets": offsets,
        "reverse": reverse,
    }


def test_vjp_matches_finite_differences():
    g = _toy_graph()
    feeds = _toy_inputs(np.random.default_rng(0))
    out = g.run(feeds)
    v0 = feeds["v"]
    h = 1e-6
    fd = np.zeros_like(v0)
    for idx in np.ndindex(*v0.shape):
        vp, vm = v0.copy(), v0.copy()
        vp[idx] += h
        vm[idx] -= h
        ep = g.run({**feeds, "v": vp})["energy"][0]
        em = g.run({**feeds, "v": vm})["energy"][0]
        fd[idx] = (ep - em) / (2 * h)
    assert np.abs(out["dv"] - fd).max() <= 1e-7 * max(1.0, np.abs(fd).max())


@pytest.mark.skipif(not HAVE_NODE, reason="node not available")
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("with_edges", [True, False])
def test_onnx_matches_numpy(tmp_path, dtype, with_edges):
    g = _toy_graph()
    feeds = _toy_inputs(np.random.default_rng(1), with_edges)
    ref = g.run(feeds)
    model = to_onnx(g, dtype)
    path = os.path.join(tmp_path, "toy.onnx")
    onnx.save(model, path)
    np_dtype = np.float64 if dtype == "float64" else np.float32
    ort_feeds = {k: (v.astype(np_dtype) if v.dtype.kind == "f" else v) for k, v in feeds.items()}
    res = run_ort(path, ort_feeds)
    tol = 1e-12 if dtype == "float64" else 2e-5
    for name in ("energy", "agg", "dv"):
        assert res[name].shape == ref[name].shape, name
        scale = max(1e-30, np.abs(ref[name]).max()) if ref[name].size else 1.0
        if ref[name].size:
            assert np.abs(res[name] - ref[name]).max() <= tol * scale, name


def test_grouped_slices_get_a_concatenated_gradient():
    """Slices tagged as one group (a partition of an axis, like the m blocks of the rotated messages):
    the gradient is the concatenation of their cotangents (no Pad), and equals the ungrouped one."""

    def build(grouped):
        g = Graph()
        x = g.input("x", "f", [5, 9, 3], requires_grad=True)
        bounds = [0, 3, 7, 9]
        parts = []
        for k in range(3):
            tag = dict(group=("t", 0), index=k, count=3) if grouped else {}
            parts.append(g.op("Slice", [x], axis=1, start=bounds[k], end=bounds[k + 1], **tag))
        w = [g.const(np.linspace(-1, 1, 3 * 2).reshape(3, 2) * (k + 1)) for k in range(3)]
        y = sum(g.op("ReduceSum", [g.op("Sigmoid", [p @ wk])], axes=[0, 1, 2], keepdims=1) for p, wk in zip(parts, w))
        g.output("y", y)
        g.output("dx", grad(g, y, x))
        return g

    x = np.random.default_rng(3).normal(size=(5, 9, 3))
    grouped, plain = build(True), build(False)
    a, b = grouped.run({"x": x})["dx"], plain.run({"x": x})["dx"]
    np.testing.assert_allclose(a, b, rtol=1e-14, atol=1e-15)
    assert not any(t.op == "Pad" for t in grouped.nodes) and any(t.op == "Pad" for t in plain.nodes)
    assert np.abs(a).min() > 0  # every block gets its own cotangent


def test_partitions_are_emitted_as_split_and_reduction_adjoints_stay_unexpanded(tmp_path):
    """A grouped partition is written as one ONNX Split, so is the adjoint of a Concat all of whose
    inputs need a gradient (one with an input that needs none keeps its Slices: a Split's unused
    outputs cost memory in ONNX Runtime), and the adjoints of reductions join sums and products
    broadcast instead of through an Expand; values and gradients unchanged."""
    g = Graph()
    x = g.input("x", "f", [4, 6], requires_grad=True)
    c = g.input("c", "f", [4, 2])  # needs no gradient
    parts = [g.op("Slice", [x], axis=1, start=lo, end=hi, group=("p", 0), index=k, count=3)
             for k, (lo, hi) in enumerate(((0, 1), (1, 4), (4, 6)))]
    cat = g.op("Concat", [g.op("Sigmoid", [parts[0]]), parts[1] * parts[1], parts[2]], axis=1)  # [4, 6]
    cat2 = g.op("Concat", [cat, c], axis=1)  # [4, 8]
    # layer-norm-like: mean and variance over the channels (their adjoints broadcast back)
    mu = g.op("ReduceMean", [cat2], axes=[1], keepdims=1)
    d = cat2 - mu
    var = g.op("ReduceMean", [d * d], axes=[1], keepdims=1)
    y = d / g.op("Sqrt", [var + 1e-3])
    e = g.op("ReduceSum", [y * g.const(np.linspace(-1.0, 2.0, 32).reshape(4, 8))], axes=[0, 1], keepdims=1)
    g.output("e", e)
    g.output("dx", grad(g, e, x))
    rng = np.random.default_rng(11)
    feeds = {"x": rng.normal(size=(4, 6)), "c": rng.normal(size=(4, 2))}
    out = g.run(feeds)
    h, fd = 1e-6, np.zeros((4, 6))
    for idx in np.ndindex(4, 6):
        xp, xm = feeds["x"].copy(), feeds["x"].copy()
        xp[idx] += h
        xm[idx] -= h
        fd[idx] = (g.run({**feeds, "x": xp})["e"][0] - g.run({**feeds, "x": xm})["e"][0]) / (2 * h)
    assert np.abs(out["dx"] - fd).max() <= 1e-7 * max(1.0, np.abs(fd).max())
    model = to_onnx(g, "float64")
    ops = [n.op_type for n in model.graph.node]
    # the forward partition and the adjoint of `cat`: Splits; the adjoint of `cat2`: one Slice
    assert ops.count("Split") == 2 and ops.count("Slice") == 1 and "Pad" not in ops, ops
    assert ops.count("Expand") == 1, ops  # the seed of the reverse sweep (1 to the energy's shape) only
    if HAVE_NODE:
        path = os.path.join(tmp_path, "p.onnx")
        onnx.save(model, path)
        res = run_ort(path, feeds)
        for name in ("e", "dx"):
            assert np.abs(res[name] - out[name]).max() <= 1e-12 * max(1.0, np.abs(out[name]).max()), name


@pytest.mark.parametrize("trans_a,trans_b", [(0, 0), (1, 0), (0, 1), (1, 1)])
def test_transposed_products(tmp_path, trans_a, trans_b):
    """MatMul with trans_a / trans_b (batched, with a broadcast batch axis): values against numpy,
    both cotangents against central finite differences, and the ONNX export against the IR."""
    rng = np.random.default_rng(5)
    sa = (4, 1, 3, 5)[:2] + ((5, 3) if trans_a else (3, 5))
    sb = (4, 2) + ((6, 5) if trans_b else (5, 6))
    g = Graph()
    a = g.input("a", "f", list(sa), requires_grad=True)
    b = g.input("b", "f", list(sb), requires_grad=True)
    y = g.op("MatMul", [a, b], **{k: 1 for k, v in (("trans_a", trans_a), ("trans_b", trans_b)) if v})
    w = g.const(rng.normal(size=(4, 2, 3, 6)))
    e = g.op("ReduceSum", [g.op("Sigmoid", [y]) * w], axes=[0, 1, 2, 3], keepdims=1)
    g.output("y", y)
    g.output("e", e)
    g.output("da", grad(g, e, a))
    g.output("db", grad(g, e, b))
    feeds = {"a": rng.normal(size=sa), "b": rng.normal(size=sb)}
    out = g.run(feeds)
    A = np.swapaxes(feeds["a"], -1, -2) if trans_a else feeds["a"]
    B = np.swapaxes(feeds["b"], -1, -2) if trans_b else feeds["b"]
    assert np.allclose(out["y"], A @ B, rtol=1e-13, atol=1e-13)
    h = 1e-6
    for name in ("a", "b"):
        fd = np.zeros_like(feeds[name])
        for idx in np.ndindex(*fd.shape):
            p, m = feeds[name].copy(), feeds[name].copy()
            p[idx] += h
            m[idx] -= h
            fd[idx] = (g.run({**feeds, name: p})["e"][0] - g.run({**feeds, name: m})["e"][0]) / (2 * h)
        assert out["d" + name].shape == fd.shape
        assert np.abs(out["d" + name] - fd).max() <= 1e-8 * max(1.0, np.abs(fd).max()), name
    if HAVE_NODE:
        path = os.path.join(tmp_path, "t.onnx")
        onnx.save(to_onnx(g, "float64"), path)
        res = run_ort(path, feeds)
        for name in ("y", "da", "db"):
            assert np.abs(res[name] - out[name]).max() <= 1e-12 * max(1.0, np.abs(out[name]).max()), name
