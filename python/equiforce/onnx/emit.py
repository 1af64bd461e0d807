"""Emission of an IR :class:`~equiforce.onnx.ir.Graph` as an ONNX model (onnx.helper, opset 13)."""

from __future__ import annotations

from typing import Sequence

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from .ir import Graph, T

OPSET = 13


def _onnx_dtype(dtype: str, float_dtype: str) -> int:
    if dtype == "f":
        return TensorProto.DOUBLE if float_dtype == "float64" else TensorProto.FLOAT
    return {"i64": TensorProto.INT64, "i32": TensorProto.INT32, "bool": TensorProto.BOOL}[dtype]


def _np_dtype(dtype: str, float_dtype: str):
    if dtype == "f":
        return np.float64 if float_dtype == "float64" else np.float32
    return {"i64": np.int64, "i32": np.int32, "bool": np.bool_}[dtype]


class _Emitter:
    def __init__(self, float_dtype: str):
        self.fd = float_dtype
        self.nodes: list = []
        self.inits: list = []
        self.names: dict[int, str] = {}
        self._k = 0
        self._int_consts: dict = {}

    def tmp(self, base: str = "x") -> str:
        self._k += 1
        return f"{base}_{self._k}"

    def ints(self, values, scalar: bool = False) -> str:
        key = (tuple(np.atleast_1d(values).tolist()), scalar)
        if key in self._int_consts:
            return self._int_consts[key]
        name = self.tmp("k")
        arr = np.array(values, dtype=np.int64)
        if scalar:
            arr = arr.reshape(())
        self.inits.append(numpy_helper.from_array(arr, name))
        self._int_consts[key] = name
        return name

    def one(self) -> str:
        if not hasattr(self, "_one"):
            self._one = self.tmp("one")
            self.inits.append(numpy_helper.from_array(np.array(1.0, dtype=_np_dtype("f", self.fd)), self._one))
        return self._one

    def node(self, op: str, ins: Sequence[str], out: str | None = None, **attrs) -> str:
        out = out or self.tmp(op.lower())
        self.nodes.append(helper.make_node(op, list(ins), [out], name=f"{out}_{op}", **attrs))
        return out


def to_onnx(g: Graph, float_dtype: str = "float64", graph_name: str = "equiforce", doc: str = "") -> onnx.ModelProto:
    em = _Emitter(float_dtype)
    needed = _live_nodes(g)
    out_names = {t.id: name for name, t in g.outputs}
    splits = _static_partitions(g, needed)
    for t in g.nodes:
        if t.id not in needed:
            continue
        name = t.name if t.op == "Input" else f"t{t.id}"
        em.names[t.id] = name
        if t.op == "Input":
            continue
        if t.id in splits:
            # One Split for all parts of a static partition, at its first part: ONNX Runtime runs a
            # Slice on one thread, a Split on all of them (measured on the large graph's m blocks).
            parts = splits.pop(t.id)
            if parts is None:
                continue  # a later part: written by the Split of the first
            sizes = [p.attrs["end"] - p.attrs["start"] for p in parts]
            axis = parts[0].attrs["axis"]
            em.nodes.append(helper.make_node("Split", [em.names[t.inputs[0].id], em.ints(sizes)],
                                             [f"t{p.id}" for p in parts], name=f"{name}_Split", axis=axis))
            continue
        if t.op == "Const":
            arr = t.attrs["value"].astype(_np_dtype(t.dtype, float_dtype))
            em.inits.append(numpy_helper.from_array(arr, name))
            continue
        ins = [em.names[i.id] for i in t.inputs]
        _emit_node(em, t, ins, name)
    outputs = []
    for name, t in g.outputs:
        em.node("Identity", [em.names[t.id]], name)
        outputs.append(helper.make_tensor_value_info(name, _onnx_dtype(t.dtype, float_dtype), _shape_proto(t.shape)))
    inputs = [
        helper.make_tensor_value_info(t.name, _onnx_dtype(t.dtype, float_dtype), _shape_proto(t.shape)) for t in g.inputs
    ]
    graph = helper.make_graph(em.nodes, graph_name, inputs, outputs, initializer=em.inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="equiforce")
    model.ir_version = 8
    model.doc_string = doc
    onnx.checker.check_model(model)
    return model


def _static_partitions(g: Graph, needed: set) -> dict:
    """Groups of static Slices (IR attribute ``group``) that partition one axis of their input in
    order, all of them emitted, keyed by node id: the first part maps to all parts, the others to
    None. (A Split with outputs nobody reads made ONNX Runtime hold them: such groups stay Slices.)"""
    groups: dict = {}
    for t in g.nodes:
        if t.op == "Slice" and "group" in t.attrs:
            groups.setdefault(t.attrs["group"], []).append(t)
    out: dict = {}
    for members in groups.values():
        parts = sorted(members, key=lambda p: p.attrs["index"])
        src, axis = parts[0].inputs[0], parts[0].attrs["axis"]
        dim = src.shape[axis]
        ends = [0] + [p.attrs["end"] for p in parts]
        live = [p for p in members if p.id in needed]  # node order
        whole = (
            len(parts) == parts[0].attrs["count"] and isinstance(dim, int) and axis >= 0
            and len(live) == len(parts)
            and all(p.inputs[0] is src and p.attrs["axis"] == axis and p.attrs["start"] == ends[k]
                    for k, p in enumerate(parts))
            and ends[-1] == dim
        )
        if whole:
            out.update({p.id: None for p in parts})
            out[live[0].id] = parts
    return out


def _shape_proto(shape):
    return [d if isinstance(d, int) else d for d in shape]


def _live_nodes(g: Graph) -> set:
    live = set()
    stack = [t for _, t in g.outputs]
    while stack:
        t = stack.pop()
        if t.id in live:
            continue
        live.add(t.id)
        stack.extend(t.inputs)
    for t in g.inputs:
        live.add(t.id)
    return live


_SIMPLE = {
    "Add", "Sub", "Mul", "Div", "Max", "Min", "Equal", "Less", "LessOrEqual", "Not", "Neg", "Abs", "Exp", "Sqrt",
    "Sigmoid", "Reciprocal", "Identity", "Where", "MatMul", "Sin", "Cos",
}


def _emit_node(em: _Emitter, t: T, ins: list, out: str) -> None:
    op, at = t.op, t.attrs
    r = t.inputs[0].rank if t.inputs else 0
    if op == "MatMul":
        # A transposed operand (trans_a / trans_b) is written as a Transpose of the input, which ONNX
        # Runtime fuses into the product (FusedMatMul) or, for a constant, folds.
        ab = []
        for k, flag in enumerate((at.get("trans_a"), at.get("trans_b"))):
            rk = t.inputs[k].rank
            ab.append(em.node("Transpose", [ins[k]], perm=list(range(rk - 2)) + [rk - 1, rk - 2]) if flag else ins[k])
        if t.inputs[0].rank == 2 and t.inputs[1].rank == 3:
            # ORT rejects a rank-2 @ batched product when the batch is empty (E = 0), also after fusing
            # transposes into it; fold the batch into the columns instead: A @ [q, E*r] -> [p, E, r].
            p_, r_ = t.shape[-2], t.shape[-1]
            assert isinstance(p_, int) and isinstance(r_, int), "rank-2 @ rank-3 needs static p, r"
            xt = em.node("Transpose", [ab[1]], perm=[1, 0, 2])
            flat = em.node("Reshape", [xt, em.ints([0, -1])])
            prod = em.node("MatMul", [ab[0], flat])
            back = em.node("Reshape", [prod, em.ints([p_, -1, r_])])
            em.node("Transpose", [back], out, perm=[1, 0, 2])
        else:
            em.node("MatMul", ab, out)
    elif op in _SIMPLE:
        em.node(op, ins, out)
    elif op == "Silu":
        if em.fd == "float64":
            # ORT fuses x*Sigmoid(x) into QuickGelu, which has no float64 kernel: write x / (1 + e^-x).
            e = em.node("Exp", [em.node("Neg", [ins[0]])])
            em.node("Div", [ins[0], em.node("Add", [e, em.one()])], out)
        else:
            s = em.node("Sigmoid", [ins[0]])
            em.node("Mul", [ins[0], s], out)
    elif op == "Softmax":
        em.node("Softmax", ins, out, axis=at["axis"])
    elif op == "Cast":
        em.node("Cast", ins, out, to=_onnx_dtype(at["to"], em.fd))
    elif op == "ReduceSum":
        em.node("ReduceSum", [ins[0], em.ints(at["axes"])], out, keepdims=int(at.get("keepdims", 1)))
    elif op in ("ReduceMean", "ReduceMax"):
        em.node(op, ins, out, axes=list(at["axes"]), keepdims=int(at.get("keepdims", 1)))
    elif op == "Reshape":
        em.node("Reshape", [ins[0], em.ints(at["shape"])], out)
    elif op == "ReshapeLike":
        s = em.node("Shape", [ins[1]])
        em.node("Reshape", [ins[0], s], out)
    elif op == "ExpandLike":
        s = em.node("Shape", [ins[1]])
        em.node("Expand", [ins[0], s], out)
    elif op == "Transpose":
        em.node("Transpose", ins, out, perm=[int(p) for p in at["perm"]])
    elif op in ("Unsqueeze", "Squeeze"):
        em.node(op, [ins[0], em.ints(at["axes"])], out)
    elif op == "Concat":
        em.node("Concat", ins, out, axis=at["axis"])
    elif op == "Slice":
        em.node("Slice", [ins[0], em.ints([at["start"]]), em.ints([at["end"]]), em.ints([at["axis"]])], out)
    elif op == "Pad":
        em.node("Pad", [ins[0], em.ints(_pads(r, at["axis"], at["before"], at["after"]))], out)
    elif op == "Gather":
        em.node("Gather", ins[:2], out, axis=at.get("axis", 0))
    elif op == "SliceDyn":
        st = em.node("Unsqueeze", [ins[1], em.ints([0])])
        en = em.node("Unsqueeze", [ins[2], em.ints([0])])
        em.node("Slice", [ins[0], st, en, em.ints([0])], out)
    elif op == "PadDyn":
        # pads = [start, 0, ..., total - start - rows(x), 0, ...]
        zeros = em.ints([0] * (r - 1)) if r > 1 else None
        st = em.node("Unsqueeze", [ins[1], em.ints([0])])
        nx = em.node("Gather", [em.node("Shape", [ins[0]]), em.ints(0, scalar=True)], axis=0)
        after = em.node("Unsqueeze", [em.node("Sub", [em.node("Sub", [ins[2], ins[1]]), nx]), em.ints([0])])
        parts = [st] + ([zeros] if zeros else []) + [after] + ([zeros] if zeros else [])
        em.node("Pad", [ins[0], em.node("Concat", parts, axis=0)], out)
    elif op == "SegSum":
        # padding entries of the table point one row past x: append a zero row (unless x has it)
        xp = ins[0] if at.get("padded") else em.node("Pad", [ins[0], em.ints(_pads(r, 0, 0, 1))])
        n = int(at.get("chunks", 1))
        if n <= 1:
            gp = em.node("Gather", [xp, ins[1]], axis=0)
            em.node("ReduceSum", [gp, em.ints([1])], out, keepdims=0)
        else:
            # gather + reduce in n row blocks of the table, so the [rows, K, ...] gather is 1/n the size
            rows = em.node("Gather", [em.node("Shape", [ins[1]]), em.ints(0, scalar=True)], axis=0)
            bounds = [em.ints([0])] + [
                em.node("Unsqueeze", [em.node("Div", [em.node("Mul", [rows, em.ints(k, scalar=True)]), em.ints(n, scalar=True)]), em.ints([0])])
                for k in range(1, n)
            ] + [em.node("Unsqueeze", [rows, em.ints([0])])]
            parts = []
            for k in range(n):
                pk = em.node("Slice", [ins[1], bounds[k], bounds[k + 1], em.ints([0])])
                parts.append(em.node("ReduceSum", [em.node("Gather", [xp, pk], axis=0), em.ints([1])], keepdims=0))
            em.node("Concat", parts, out, axis=0)
    elif op == "ToPadded":
        xp = em.node("Pad", [ins[0], em.ints(_pads(r, 0, 0, 1))])
        em.node("Gather", [xp, ins[1]], out, axis=0)
    elif op == "FromPadded":
        rest = t.inputs[0].shape[2:]
        assert all(isinstance(d, int) for d in rest), "FromPadded needs static trailing dims"
        flat = em.node("Reshape", [ins[0], em.ints([-1] + list(rest))])
        em.node("Gather", [flat, ins[2]], out, axis=0)
    elif op == "Shape":
        s = em.node("Shape", [ins[0]], None if "index" in at else out)
        if "index" in at:
            em.node("Gather", [s, em.ints(at["index"], scalar=True)], out, axis=0)
    elif op == "Range":
        em.node("Range", ins, out)
    elif op == "CumSum":
        em.node("CumSum", [ins[0], em.ints(at["axis"], scalar=True)], out, exclusive=int(bool(at.get("exclusive"))))
    else:
        raise NotImplementedError(op)


def _pads(rank: int, axis: int, before: int, after: int) -> list:
    axis = axis + rank if axis < 0 else axis
    pads = [0] * (2 * rank)
    pads[axis] = before
    pads[rank + axis] = after
    return pads
