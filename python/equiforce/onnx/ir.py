"""A small tensor graph IR with a numpy evaluator, reverse-mode autodiff and ONNX emission.

Why this exists: torch 1.13 cannot export ``autograd.grad`` to ONNX, and traced forward+backward
graphs are bloated and use scatters (ORT's ScatterND-add is nondeterministic with threads). Here the
forward graph is written once in this IR; the backward graph is derived mechanically from per-op
vector-Jacobian products written in the same IR, so the exported model contains its own gradient.

Tensors carry a dtype ('f' = the model's float type, 'i64', 'bool') and a symbolic shape: a tuple of
ints (static) and strings (dynamic dimensions such as 'N' or 'E'). Broadcasting is resolved
statically: only dimensions that are literally 1 broadcast. Integer index tensors are int64 inside
the graph.

Gathers of rows never get a generic scatter adjoint. Instead, each row gather names its adjoint:
  * ``seg``  : gather by an owner index whose padded CSR table P [S, K] is known (e.g. edges grouped
               by centre): adjoint = segment sum = Gather(pad0(g), P) summed over K;
  * ``nbr``  : gather by neighbour index; adjoint = segment sum by centre of Gather(g, reverse)
               (the pairs whose neighbour is n are exactly the reverses of those whose centre is n);
  * ``perm`` : gather by a permutation with known inverse.
Segment sums and padded layouts are their own composite ops with those gathers as adjoints.
"""

from __future__ import annotations

import hashlib
import itertools
from typing import Any, Callable, Optional, Sequence

import numpy as np

Dim = Any  # int | str
_counter = itertools.count()


class T:
    """A symbolic tensor: the output of one node of a :class:`Graph`."""

    __slots__ = ("g", "id", "op", "inputs", "attrs", "dtype", "shape", "rg", "name")

    def __init__(self, g, op, inputs, attrs, dtype, shape, rg, name=None):
        self.g = g
        self.id = next(_counter)
        self.op = op
        self.inputs = list(inputs)
        self.attrs = attrs
        self.dtype = dtype
        self.shape = tuple(shape)
        self.rg = rg
        self.name = name

    @property
    def rank(self) -> int:
        return len(self.shape)

    # arithmetic sugar
    def _c(self, o):
        return o if isinstance(o, T) else self.g.const(np.asarray(o, dtype=np.float64 if self.dtype == "f" else np.int64), self.dtype)

    def __add__(self, o):
        return self.g.op("Add", [self, self._c(o)])

    def __radd__(self, o):
        return self.g.op("Add", [self._c(o), self])

    def __sub__(self, o):
        return self.g.op("Sub", [self, self._c(o)])

    def __rsub__(self, o):
        return self.g.op("Sub", [self._c(o), self])

    def __mul__(self, o):
        return self.g.op("Mul", [self, self._c(o)])

    def __rmul__(self, o):
        return self.g.op("Mul", [self._c(o), self])

    def __truediv__(self, o):
        return self.g.op("Div", [self, self._c(o)])

    def __rtruediv__(self, o):
        return self.g.op("Div", [self._c(o), self])

    def __neg__(self):
        return self.g.op("Neg", [self])

    def __matmul__(self, o):
        return self.g.op("MatMul", [self, o])

    def __repr__(self):
        return f"T({self.op}#{self.id} {self.dtype}{list(self.shape)})"


_fresh = itertools.count()


def _fresh_dim() -> str:
    return f"d{next(_fresh)}"


def broadcast_shapes(a: Sequence[Dim], b: Sequence[Dim]) -> tuple:
    n = max(len(a), len(b))
    a = (1,) * (n - len(a)) + tuple(a)
    b = (1,) * (n - len(b)) + tuple(b)
    out = []
    for x, y in zip(a, b):
        if x == 1:
            out.append(y)
        elif y == 1:
            out.append(x)
        elif x == y:
            out.append(x)
        elif isinstance(x, int) and isinstance(y, int):
            raise ValueError(f"cannot broadcast {a} and {b}")
        else:
            out.append(x if isinstance(x, int) else y)
    return tuple(out)


# ----------------------------------------------------------------------------------------------
# Shape inference
# ----------------------------------------------------------------------------------------------


def _norm_axis(ax: int, r: int) -> int:
    return ax + r if ax < 0 else ax


def _infer(op: str, ins: list, at: dict):
    """Returns (dtype, shape) of the output."""
    x = ins[0] if ins else None
    if op in ("Add", "Sub", "Mul", "Div", "Max", "Min"):
        return x.dtype, broadcast_shapes(ins[0].shape, ins[1].shape)
    if op in ("Equal", "Less", "LessOrEqual"):
        return "bool", broadcast_shapes(ins[0].shape, ins[1].shape)
    if op in ("Neg", "Abs", "Exp", "Sqrt", "Sigmoid", "Silu", "Reciprocal", "Identity", "Sin", "Cos"):
        return x.dtype, x.shape
    if op == "Not":
        return "bool", x.shape
    if op == "Cast":
        return at["to"], x.shape
    if op == "Where":
        return ins[1].dtype, broadcast_shapes(broadcast_shapes(ins[0].shape, ins[1].shape), ins[2].shape)
    if op == "MatMul":
        a, b = ins[0].shape, ins[1].shape
        assert len(a) >= 2 and len(b) >= 2, (a, b)
        if at.get("trans_a"):
            a = a[:-2] + (a[-1], a[-2])
        if at.get("trans_b"):
            b = b[:-2] + (b[-1], b[-2])
        batch = broadcast_shapes(a[:-2], b[:-2])
        return x.dtype, batch + (a[-2], b[-1])
    if op in ("ReduceSum", "ReduceMean", "ReduceMax"):
        axes = [_norm_axis(a, x.rank) for a in at["axes"]]
        if at.get("keepdims", 1):
            shape = tuple(1 if i in axes else d for i, d in enumerate(x.shape))
        else:
            shape = tuple(d for i, d in enumerate(x.shape) if i not in axes)
        return x.dtype, shape
    if op == "Reshape":
        spec = at["shape"]
        out = []
        for i, s in enumerate(spec):
            if s == 0:
                out.append(x.shape[i])
            elif s == -1:
                # infer statically when possible
                known = [d for d in x.shape]
                if all(isinstance(d, int) for d in known) and all(isinstance(t, int) for t in spec):
                    tot = int(np.prod(known))
                    rest = int(np.prod([t if t != 0 else x.shape[j] for j, t in enumerate(spec) if t != -1]))
                    out.append(tot // rest)
                else:
                    out.append(at.get("infer_dim") or _fresh_dim())
            else:
                out.append(s)
        return x.dtype, tuple(out)
    if op == "ReshapeLike":
        return x.dtype, ins[1].shape
    if op == "ExpandLike":
        return x.dtype, ins[1].shape
    if op == "Transpose":
        return x.dtype, tuple(x.shape[p] for p in at["perm"])
    if op == "Unsqueeze":
        shape = list(x.shape)
        r = x.rank + len(at["axes"])
        for a in sorted(_norm_axis(a, r) for a in at["axes"]):
            shape.insert(a, 1)
        return x.dtype, tuple(shape)
    if op == "Squeeze":
        axes = [_norm_axis(a, x.rank) for a in at["axes"]]
        return x.dtype, tuple(d for i, d in enumerate(x.shape) if i not in axes)
    if op == "Concat":
        ax = _norm_axis(at["axis"], x.rank)
        dims = [t.shape[ax] for t in ins]
        tot = sum(dims) if all(isinstance(d, int) for d in dims) else _fresh_dim()
        shape = list(x.shape)
        shape[ax] = tot
        return x.dtype, tuple(shape)
    if op == "Slice":
        ax = _norm_axis(at["axis"], x.rank)
        shape = list(x.shape)
        shape[ax] = at["end"] - at["start"]
        return x.dtype, tuple(shape)
    if op == "Pad":
        ax = _norm_axis(at["axis"], x.rank)
        shape = list(x.shape)
        d = shape[ax]
        shape[ax] = d + at["before"] + at["after"] if isinstance(d, int) else _fresh_dim()
        return x.dtype, tuple(shape)
    if op == "Gather":
        ax = _norm_axis(at.get("axis", 0), x.rank)
        idx = ins[1]
        return x.dtype, x.shape[:ax] + idx.shape + x.shape[ax + 1 :]
    if op == "SliceDyn":  # (x, start, end): rows start:end of axis 0 (runtime bounds)
        return x.dtype, (at.get("dim") or _fresh_dim(),) + x.shape[1:]
    if op == "PadDyn":  # (x, start, total): x placed at rows start.. of `total` zero rows
        return x.dtype, (at.get("dim") or _fresh_dim(),) + x.shape[1:]
    if op == "SegSum":  # (x [E,...], P [S,K], owner [E]) -> [S, ...]
        return x.dtype, (ins[1].shape[0],) + x.shape[1:]
    if op == "ToPadded":  # (x [E,...], Q [S,K], inv [E]) -> [S, K, ...]
        return x.dtype, tuple(ins[1].shape) + x.shape[1:]
    if op == "FromPadded":  # (y [S,K,...], Q, inv [E]) -> [E, ...]
        return x.dtype, (ins[2].shape[0],) + x.shape[2:]
    if op == "Shape":
        return "i64", (x.rank,) if "index" not in at else ()
    if op == "Range":
        return ins[0].dtype, (at.get("dim") or _fresh_dim(),)
    if op == "CumSum":
        return x.dtype, x.shape
    if op == "Softmax":
        return x.dtype, x.shape
    raise NotImplementedError(op)


# ----------------------------------------------------------------------------------------------
# Graph
# ----------------------------------------------------------------------------------------------

_NO_GRAD_OPS = {
    "Equal", "Less", "LessOrEqual", "Not", "Abs", "Cast", "Shape", "Range", "CumSum", "ReduceMax", "Max", "Min", "Softmax",
}


class Graph:
    def __init__(self):
        self.nodes: list[T] = []
        self.inputs: list[T] = []
        self.outputs: list[tuple[str, T]] = []
        self._const_cache: dict = {}
        self.regions: dict = {}  # id of a checkpointed region's output -> (fn, inputs)
        self._last_region_grads: list = []
        self._groups: dict = {}

    # creation -----------------------------------------------------------------------------
    def input(self, name: str, dtype: str, shape: Sequence[Dim], requires_grad: bool = False) -> T:
        t = T(self, "Input", [], {}, dtype, shape, requires_grad, name=name)
        self.nodes.append(t)
        self.inputs.append(t)
        return t

    def const(self, value, dtype: Optional[str] = None, name: Optional[str] = None) -> T:
        value = np.asarray(value)
        if dtype is None:
            dtype = "f" if value.dtype.kind == "f" else ("bool" if value.dtype.kind == "b" else "i64")
        value = value.astype(np.float64 if dtype == "f" else (np.bool_ if dtype == "bool" else np.int64))
        # identical constants share one initializer (recomputed layers reuse their weights)
        blob = value.tobytes()
        key = (dtype, value.shape, blob if len(blob) <= 128 else hashlib.sha256(blob).hexdigest())
        if name is None and key in self._const_cache:
            return self._const_cache[key]
        t = T(self, "Const", [], {"value": value}, dtype, value.shape, False, name=name)
        self.nodes.append(t)
        if name is None:
            self._const_cache[key] = t
        return t

    def op(self, op: str, inputs: Sequence[T], **attrs) -> T:
        inputs = list(inputs)
        dtype, shape = _infer(op, inputs, attrs)
        if op in _NO_GRAD_OPS:
            rg = False
        elif op == "Gather" or op == "SegSum" or op == "ToPadded" or op == "FromPadded":
            rg = inputs[0].rg
        elif op == "Where":
            rg = inputs[1].rg or inputs[2].rg
        elif op in ("ReshapeLike", "ExpandLike", "SliceDyn", "PadDyn"):
            rg = inputs[0].rg
        else:
            rg = any(t.rg for t in inputs)
        if rg and op == "Gather" and attrs.get("adj") is None:
            raise ValueError("Gather of a differentiable tensor needs an adjoint kind")
        t = T(self, op, inputs, attrs, dtype, shape, rg)
        self.nodes.append(t)
        return t

    def partition(self, x: T, axis: int, bounds: Sequence[int]) -> list:
        """The parts ``x[bounds[k]:bounds[k+1]]`` along a static ``axis``, tagged as one group: their
        gradient is the concatenation of their cotangents (not zero-padded copies summed), and the
        emitter writes them as one Split. Every part must be used, or the group's gradient never
        completes."""
        key = ("partition", len(self.nodes))  # unique per (re)computation
        n = len(bounds) - 1
        return [self.op("Slice", [x], axis=axis, start=bounds[k], end=bounds[k + 1], group=key, index=k, count=n)
                for k in range(n)]

    def checkpoint(self, fn: Callable, inputs: Sequence[T]) -> T:
        """out = fn(*inputs), recomputed during the backward pass instead of keeping its intermediates.

        ``fn`` must use only ``inputs`` (and constants / non-differentiable index tensors): the
        recomputation calls it again on ``input + z`` with a runtime zero z (derived from the incoming
        cotangent), so that ONNX Runtime's common-subexpression elimination cannot merge the two
        copies back together and cannot schedule the recomputation early."""
        out = fn(*inputs)
        self.regions[out.id] = (fn, list(inputs))
        return out

    def output(self, name: str, t: T) -> None:
        self.outputs.append((name, t))

    # numpy evaluation ---------------------------------------------------------------------
    def evaluate(self, feeds: dict, wanted: Optional[Sequence[T]] = None) -> dict:
        """Evaluates every node (float64) and returns {tensor id: value}; feeds maps input names."""
        vals: dict[int, np.ndarray] = {}
        last = max((t.id for t in wanted), default=None) if wanted else None
        for t in self.nodes:
            if last is not None and t.id > last:
                break
            if t.op == "Input":
                v = np.asarray(feeds[t.name])
                v = v.astype(np.float64) if t.dtype == "f" else v.astype(np.int64)
            elif t.op == "Const":
                v = t.attrs["value"]
            else:
                try:
                    v = _EVAL[t.op]([vals[i.id] for i in t.inputs], t.attrs)
                except Exception as exc:
                    raise RuntimeError(f"evaluating {t!r} from {t.inputs!r}: {exc}") from exc
            vals[t.id] = v
        return vals

    def run(self, feeds: dict) -> dict:
        vals = self.evaluate(feeds)
        return {name: vals[t.id] for name, t in self.outputs}


# ----------------------------------------------------------------------------------------------
# numpy evaluators
# ----------------------------------------------------------------------------------------------


def _np_reduce(fn):
    def f(v, at):
        return fn(v[0], axis=tuple(at["axes"]), keepdims=bool(at.get("keepdims", 1)))

    return f


def _np_reshape(v, at):
    x = v[0]
    shape = [x.shape[i] if s == 0 else s for i, s in enumerate(at["shape"])]
    return x.reshape(shape)


def _np_pad(v, at):
    x = v[0]
    pads = [(0, 0)] * x.ndim
    pads[at["axis"] if at["axis"] >= 0 else at["axis"] + x.ndim] = (at["before"], at["after"])
    return np.pad(x, pads)


def _np_slice(v, at):
    x = v[0]
    idx = [slice(None)] * x.ndim
    idx[at["axis"]] = slice(at["start"], at["end"])
    return x[tuple(idx)]


def _pad0(x):
    return np.concatenate([x, np.zeros((1,) + x.shape[1:], x.dtype)], axis=0)


def _np_softmax(v, at):
    x = v[0]
    e = np.exp(x - x.max(axis=at["axis"], keepdims=True))
    return e / e.sum(axis=at["axis"], keepdims=True)


def _np_cumsum(v, at):
    x = v[0]
    c = np.cumsum(x, axis=at["axis"])
    return c - x if at.get("exclusive") else c


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


_EVAL: dict[str, Callable] = {
    "Add": lambda v, a: v[0] + v[1],
    "Sub": lambda v, a: v[0] - v[1],
    "Mul": lambda v, a: v[0] * v[1],
    "Div": lambda v, a: v[0] / v[1] if v[0].dtype.kind == "f" else v[0] // v[1],
    "Max": lambda v, a: np.maximum(v[0], v[1]),
    "Min": lambda v, a: np.minimum(v[0], v[1]),
    "Equal": lambda v, a: v[0] == v[1],
    "Less": lambda v, a: v[0] < v[1],
    "LessOrEqual": lambda v, a: v[0] <= v[1],
    "Not": lambda v, a: ~v[0],
    "Neg": lambda v, a: -v[0],
    "Abs": lambda v, a: np.abs(v[0]),
    "Exp": lambda v, a: np.exp(v[0]),
    "Sin": lambda v, a: np.sin(v[0]),
    "Cos": lambda v, a: np.cos(v[0]),
    "Sqrt": lambda v, a: np.sqrt(v[0]),
    "Reciprocal": lambda v, a: 1.0 / v[0],
    "Sigmoid": lambda v, a: _sigmoid(v[0]),
    "Silu": lambda v, a: v[0] * _sigmoid(v[0]),
    "Identity": lambda v, a: v[0],
    "Cast": lambda v, a: v[0].astype({"f": np.float64, "i64": np.int64, "bool": np.bool_}[a["to"]]),
    "Where": lambda v, a: np.where(v[0], v[1], v[2]),
    "MatMul": lambda v, a: np.matmul(np.swapaxes(v[0], -1, -2) if a.get("trans_a") else v[0],
                                     np.swapaxes(v[1], -1, -2) if a.get("trans_b") else v[1]),
    "ReduceSum": _np_reduce(np.sum),
    "ReduceMean": _np_reduce(np.mean),
    "ReduceMax": _np_reduce(np.max),
    "Reshape": _np_reshape,
    "ReshapeLike": lambda v, a: v[0].reshape(v[1].shape),
    "ExpandLike": lambda v, a: np.broadcast_to(v[0], v[1].shape).copy(),
    "Transpose": lambda v, a: np.transpose(v[0], a["perm"]),
    "Unsqueeze": lambda v, a: np.expand_dims(v[0], tuple(a["axes"])),
    "Squeeze": lambda v, a: np.squeeze(v[0], tuple(a["axes"])),
    "Concat": lambda v, a: np.concatenate(v, axis=a["axis"]),
    "Slice": _np_slice,
    "Pad": _np_pad,
    "Gather": lambda v, a: np.take(v[0], v[1], axis=a.get("axis", 0)),
    "SliceDyn": lambda v, a: v[0][int(v[1]) : int(v[2])],
    "PadDyn": lambda v, a: np.pad(v[0], [(int(v[1]), int(v[2]) - int(v[1]) - v[0].shape[0])] + [(0, 0)] * (v[0].ndim - 1)),
    "SegSum": lambda v, a: (v[0] if a.get("padded") else _pad0(v[0]))[v[1]].sum(axis=1),
    "ToPadded": lambda v, a: _pad0(v[0])[v[1]],
    "FromPadded": lambda v, a: v[0].reshape((-1,) + v[0].shape[2:])[v[2]],
    "Shape": lambda v, a: (np.array(v[0].shape, np.int64) if "index" not in a else np.array(v[0].shape[a["index"]], np.int64)),
    "Range": lambda v, a: np.arange(v[0], v[1], v[2]).astype(v[0].dtype),
    "CumSum": _np_cumsum,
    "Softmax": _np_softmax,
}


# ----------------------------------------------------------------------------------------------
# Reverse-mode autodiff
# ----------------------------------------------------------------------------------------------


def unbroadcast(g: Graph, grad: T, target_shape: tuple) -> T:
    """Sums ``grad`` over the axes along which a tensor of ``target_shape`` was broadcast."""
    r_out, r_in = grad.rank, len(target_shape)
    lead = list(range(r_out - r_in))
    axes = list(lead)
    for i, d in enumerate(target_shape):
        o = grad.shape[i + r_out - r_in]
        if d == 1 and o != 1:
            axes.append(i + r_out - r_in)
    if not axes:
        return grad
    out = g.op("ReduceSum", [grad], axes=axes, keepdims=1)
    if lead:
        out = g.op("Squeeze", [out], axes=lead)
    return out


def _matmul(g, a: T, b: T, trans_a: int, trans_b: int) -> T:
    at = {k: 1 for k, v in (("trans_a", trans_a), ("trans_b", trans_b)) if v}
    return g.op("MatMul", [a, b], **at)


def _vjp(g: Graph, t: T, go: T) -> list:
    op, ins, at = t.op, t.inputs, t.attrs
    x = ins[0] if ins else None
    need = [i.rg for i in ins]

    def ub(grad, k):
        return unbroadcast(g, grad, ins[k].shape)

    if op == "Add":
        return [ub(go, 0) if need[0] else None, ub(go, 1) if need[1] else None]
    if op == "Sub":
        return [ub(go, 0) if need[0] else None, ub(-go, 1) if need[1] else None]
    if op == "Mul":
        # A broadcast cotangent (adjoint of a reduction) multiplies unexpanded when the other factor
        # alone has the output's shape: no full-size copy of it is written.
        def times(other):
            small = _unexpanded(go, t)
            if small is not None and tuple(broadcast_shapes(small.shape, other.shape)) == tuple(t.shape):
                return small * other
            return go * other
        return [ub(times(ins[1]), 0) if need[0] else None, ub(times(ins[0]), 1) if need[1] else None]
    if op == "Div":
        return [ub(go / ins[1], 0) if need[0] else None, ub(-(go * t) / ins[1], 1) if need[1] else None]
    if op == "Neg":
        return [-go]
    if op == "Identity":
        return [go]
    if op == "Exp":
        return [go * t]
    if op == "Sqrt":
        return [go / (t * 2.0)]
    if op == "Reciprocal":
        return [-(go * t * t)]
    if op == "Sigmoid":
        return [go * t * (1.0 - t)]
    if op == "Silu":
        s = g.op("Sigmoid", [x])
        return [go * (s * (1.0 + x * (1.0 - s)))]
    if op == "Sin":
        return [go * g.op("Cos", [x])]
    if op == "Cos":
        return [-(go * g.op("Sin", [x]))]
    if op == "Where":
        zero = g.const(0.0)
        return [
            None,
            ub(g.op("Where", [ins[0], go, zero]), 1) if need[1] else None,
            ub(g.op("Where", [ins[0], zero, go]), 2) if need[2] else None,
        ]
    if op == "MatMul":
        # Y = op(A) op(B), op = transpose of the last two axes where trans_a / trans_b is set. The
        # cotangents are products with transposed operands too, never an explicit Transpose of a
        # result (ONNX Runtime fuses a Transpose of a MatMul input into the product; one of its
        # output it runs as a separate, single-threaded copy).
        a, b = ins
        ta, tb = int(at.get("trans_a", 0)), int(at.get("trans_b", 0))
        ga = gb = None
        if need[0]:
            ga = _matmul(g, go, b, 0, 1 - tb) if not ta else _matmul(g, b, go, tb, 1)
            ga = _unbroadcast_batch(g, ga, a)
        if need[1]:
            gb = _matmul(g, a, go, 1 - ta, 0) if not tb else _matmul(g, go, a, 1, ta)
            gb = _unbroadcast_batch(g, gb, b)
        return [ga, gb]
    if op in ("ReduceSum", "ReduceMean"):
        gg = go
        if not at.get("keepdims", 1):
            gg = g.op("Unsqueeze", [gg], axes=sorted(_norm_axis(a, x.rank) for a in at["axes"]))
        if op == "ReduceMean":
            n = 1
            for a in at["axes"]:
                d = x.shape[a]
                assert isinstance(d, int), "ReduceMean gradient needs static reduced dims"
                n *= d
            gg = gg * (1.0 / n)
        return [g.op("ExpandLike", [gg, x])]
    if op in ("Reshape", "ReshapeLike", "Squeeze", "Unsqueeze"):
        return [g.op("ReshapeLike", [go, x])] + [None] * (len(ins) - 1)
    if op == "ExpandLike":
        return [unbroadcast(g, go, x.shape), None]
    if op == "Transpose":
        inv = list(np.argsort(at["perm"]))
        return [g.op("Transpose", [go], perm=inv)]
    if op == "Concat":
        ax = _norm_axis(at["axis"], x.rank)
        if not all(isinstance(inp.shape[ax], int) for inp in ins):
            assert ax == 0, "Concat gradient with runtime sizes only along axis 0"
            if "bounds" in at:
                # Row bounds given by the builder: slicing the cotangent needs no Shape of the parts,
                # which would make ONNX Runtime compute them (a recomputed region's whole forward).
                bd = at["bounds"]
                return [g.op("SliceDyn", [go, bd[k], bd[k + 1]], dim=inp.shape[0]) if inp.rg else None
                        for k, inp in enumerate(ins)]
            outs, start = [], g.const(np.int64(0))
            for inp in ins:
                end = start + g.op("Shape", [inp], index=0)
                outs.append(g.op("SliceDyn", [go, start, end], dim=inp.shape[0]) if inp.rg else None)
                start = end
            return outs
        bounds = [0]
        for inp in ins:
            bounds.append(bounds[-1] + inp.shape[ax])
        # When every input needs its part, the parts are one partition (emitted as one Split). With a
        # part nobody reads, ONNX Runtime held on to the Split's unused output (+140 MiB at 1,008 Cu
        # on the large graph), so such Concats keep one Slice per differentiable input.
        if len(ins) > 1 and all(inp.rg for inp in ins):
            return g.partition(go, ax, bounds)
        return [g.op("Slice", [go], axis=ax, start=bounds[k], end=bounds[k + 1]) if inp.rg else None
                for k, inp in enumerate(ins)]
    if op == "Slice":
        ax = _norm_axis(at["axis"], x.rank)
        n = x.shape[ax]
        assert isinstance(n, int), "Slice gradient needs a static axis"
        return [g.op("Pad", [go], axis=ax, before=at["start"], after=n - at["end"])]
    if op == "Pad":
        ax = _norm_axis(at["axis"], x.rank)
        n = x.shape[ax]
        assert isinstance(n, int), "Pad gradient needs a static axis"
        return [g.op("Slice", [go], axis=ax, start=at["before"], end=at["before"] + n)]
    if op == "Gather":
        kind = at["adj"]
        assert at.get("axis", 0) == 0
        if kind == "seg":  # inputs x, owner, P
            return [g.op("SegSum", [go, ins[2], ins[1]], chunks=at.get("seg_chunks", 1)), None, None]
        if kind == "nbr":  # inputs x, neigh, P, centre, reverse[, Prev = reverse o P]
            if len(ins) > 5:  # one gather: the padded table of reverse pairs
                return [g.op("SegSum", [go, ins[5], *ins[1:5]], adj="nbr", chunks=at.get("seg_chunks", 1))] + [None] * 5
            rev = g.op("Gather", [go, ins[4], ins[4]], adj="perm")
            return [g.op("SegSum", [rev, ins[2], ins[3]])] + [None] * 4
        if kind == "perm":  # inputs x, idx, inv
            return [g.op("Gather", [go, ins[2], ins[1]], adj="perm"), None, None]
        raise ValueError(kind)
    if op == "SliceDyn":
        return [g.op("PadDyn", [go, ins[1], g.op("Shape", [x], index=0)], dim=x.shape[0]), None, None]
    if op == "PadDyn":
        end = ins[1] + g.op("Shape", [x], index=0)
        return [g.op("SliceDyn", [go, ins[1], end], dim=x.shape[0]), None, None]
    if op == "SegSum":
        assert not at.get("padded"), "no VJP for a segment sum over an input with its zero row"
        if at.get("adj") == "nbr":  # x, Prev, neigh, P, centre, reverse: sum over pairs whose neighbour is n
            return [g.op("Gather", [go, ins[2], ins[3], ins[4], ins[5], ins[1]], adj="nbr")] + [None] * 5
        return [g.op("Gather", [go, ins[2], ins[1]], adj="seg"), None, None]  # x, P, owner
    if op == "ToPadded":
        return [g.op("FromPadded", [go, ins[1], ins[2]]), None, None]
    if op == "FromPadded":
        return [g.op("ToPadded", [go, ins[1], ins[2]]), None, None]
    raise NotImplementedError(f"no VJP for {op}")


def _unbroadcast_batch(g: Graph, grad: T, target: T) -> T:
    """MatMul gradients: sum over broadcast batch dims of ``target``."""
    return unbroadcast(g, grad, target.shape)


def _unexpanded(grad: T, t: T) -> Optional[T]:
    """The smaller tensor that the cotangent ``grad`` of ``t`` only broadcasts to ``t``'s shape (the
    adjoint of a reduction), or None."""
    return grad.inputs[0] if grad.op == "ExpandLike" and grad.inputs[1] is t else None


def _accumulate(grads: dict, t: T, gi: T) -> None:
    """Adds the cotangent contribution ``gi`` to ``t``'s. A contribution that only broadcasts a
    smaller tensor to ``t``'s shape (the adjoint of a reduction) joins a sum unexpanded: the Add
    broadcasts it, and no full-size copy is written (ONNX Runtime's Expand runs on one thread)."""
    prev = grads.get(t.id)
    if prev is None:
        grads[t.id] = gi
    elif _unexpanded(gi, t) is not None:
        grads[t.id] = prev + _unexpanded(gi, t)
    elif _unexpanded(prev, t) is not None:
        grads[t.id] = gi + _unexpanded(prev, t)
    else:
        grads[t.id] = prev + gi


def _backprop(g: Graph, nodes: list, grads: dict, stop: Optional[T] = None) -> None:
    """Reverse sweep over ``nodes`` (creation order) accumulating cotangents in ``grads``."""
    for t in reversed(nodes):
        go = grads.get(t.id)
        if go is None or not t.rg or t.op in ("Input", "Const") or t is stop:
            continue
        del grads[t.id]
        if t.op in ("SliceDyn", "Slice", "Gather") and "group" in t.attrs:
            # A group: the parts of one tensor in order, each with its own cotangent, handled once
            # the last part's cotangent is in. Every part must be used, or the group never completes.
            key, k, n = t.attrs["group"], t.attrs["index"], t.attrs["count"]
            parts = g._groups.setdefault(key, {})
            parts[k] = go
            if len(parts) < n:
                continue
            del g._groups[key]
            ordered = [parts[j] for j in range(n)]
            src = t.inputs[0]
            if t.op != "Gather":
                # Slices that partition a tensor (edge chunks: rows; m blocks: one static axis): the
                # gradient is the concatenation of their cotangents, not a sum of zero-padded copies.
                axis = 0 if t.op == "SliceDyn" else _norm_axis(t.attrs["axis"], t.rank)
                _accumulate(grads, src, g.op("Concat", ordered, axis=axis))
                continue
            # Per-chunk gathers of neighbour rows (adj "nbr_part"; inputs x, rows of this chunk, then
            # neigh, P, centre, reverse, Prev of all pairs): their cotangents, concatenated in chunk
            # order, are the cotangent of one gather of every pair's neighbour row, whose adjoint is
            # the segment sum over the padded table of reverse pairs. The zero row that the table's
            # padding entries point at is written by the same Concat (the segment sum would otherwise
            # copy the whole cotangent to append it).
            trailing = tuple(go.shape[1:])
            assert all(isinstance(d, int) for d in trailing), "nbr_part gather needs static row shape"
            whole = g.op("Concat", ordered + [g.const(np.zeros((1,) + trailing))], axis=0)
            ins = t.inputs
            _accumulate(grads, src, g.op("SegSum", [whole, ins[6], *ins[2:6]], adj="nbr",
                                         chunks=t.attrs.get("seg_chunks", 1), padded=1))
            continue
        if t.id in g.regions:
            fn, inputs = g.regions[t.id]
            mark = len(g.nodes)
            # the zero depends on the incoming cotangent, so the recomputation cannot be scheduled
            # before the backward pass reaches this region (it would keep its tensors alive)
            # (and on the gradients accumulated so far for its other inputs, which forces ONNX Runtime
            # to finish the previous region's backward, freeing its tensors, before starting this one)
            deps = [go] + [grads[i.id] for i in inputs if i.id in grads] + g._last_region_grads
            deps = [d for d in deps if d.rank >= 1]
            acc = g.op("Shape", [deps[0]], index=0)
            for d in deps[1:]:
                acc = acc + g.op("Shape", [d], index=0)
            z = g.op("Cast", [g.op("Less", [acc, g.const(np.int64(0))])], to="f")
            again = fn(*[(i + z) if (i.dtype == "f" and i.rg) else i for i in inputs])
            sub = {again.id: go}
            _backprop(g, g.nodes[mark:], sub)
            done = []
            for k, v in sub.items():
                prev = grads.get(k)
                grads[k] = v if prev is None else prev + v
                done.append(grads[k])
            # the next region's recomputation waits for these (one region's tensors alive at a time)
            g._last_region_grads = done
            continue
        gin = _vjp(g, t, go)
        for inp, gi in zip(t.inputs, gin):
            if gi is not None and inp.rg:
                _accumulate(grads, inp, gi)


def grad(g: Graph, y: T, wrt: T) -> T:
    """d(sum(y))/d(wrt) as a new tensor of the graph (reverse mode over the nodes built so far)."""
    assert y.rg and wrt.rg
    nodes = [t for t in g.nodes if t.id <= y.id]
    grads: dict[int, T] = {y.id: g.op("ExpandLike", [g.const(1.0), y])}
    _backprop(g, nodes, grads, stop=wrt)
    out = grads.get(wrt.id)
    if out is None:
        out = g.op("ExpandLike", [g.const(0.0), wrt])
    return out
