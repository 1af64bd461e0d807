"""eSEN / UMA (fairchem ``eSCNMDBackbone``, ``eSCNMDMoeBackbone`` + ``MLP_EFS_Head``) in the graph IR.

The graph reproduces fairchem's forward pass (general execution mode, eval, MoLE unmerged but
applied exactly as per-system merged weights) and appends its own reverse pass, so ``edge_grad`` is
the exact derivative of the graph's energy.

Layout choices (for speed and determinism, see docs/model-format.md):
  * edges are grouped by centre; ``offsets`` (CSR by centre) gives a padded table P [N, K] so that
    every edge->node sum is ``Gather(pad0(x), P)`` + ``ReduceSum`` (no scatters);
  * ``reverse`` maps each pair to its reverse pair, which turns sums over neighbours into sums over
    centres; the (neighbour, centre) features of all pairs come from one gather whose adjoint is one
    segment sum over a combined table;
  * edge features stay in fairchem's m-major, mmax-truncated layout, one tensor per m block, sliced
    from one batched MatMul with the m-major Wigner matrix (built in-graph from edge_vec);
  * with edge chunks (the large-system graph), each chunk gathers its own pairs' neighbour and centre
    rows and keeps the two halves apart (products split by input columns), so no all-pairs message
    tensor exists; products with a transposed operand are MatMuls with ``trans_a``/``trans_b``;
  * every message-passing layer is recomputed in the backward pass (``recompute=True``), so only
    one layer's edge-sized intermediates are alive at a time;
  * MoLE: per-system merged weights W_b = sum_k c_bk W_k, applied to the edges of system b through
    a padded [B, Emax, F] layout (edges are contiguous per system) and one batched MatMul.
"""

from __future__ import annotations

import math
from dataclasses import fields
from typing import Optional

import numpy as np

from ..fairchem_config import UMAHyperParams, parse_config
from .ir import Graph, T, grad

SUPPORTED = {
    "norm_type": {"rms_norm_sh", "layer_norm_sh", "layer_norm"},
    "act_type": {"gate"},
    "ff_type": {"spectral"},
    "chg_spin_emb_type": {"rand_emb", "pos_emb", "lin_emb"},
    "distance_function": {"gaussian"},
}


class EsenHyper(UMAHyperParams):
    """The graph builder's view of a backbone: the port's hyperparameters (`UMAHyperParams`, one
    definition with fairchem's defaults) that also pass the builder's restrictions (`SUPPORTED`)."""

    @staticmethod
    def from_backbone_kwargs(kw: dict, model_id: Optional[str] = None) -> "EsenHyper":
        """Parse fairchem backbone kwargs with the one parser (`equiforce.fairchem_config.parse_config`:
        fairchem's defaults and the port's validation), then check what the graph builder supports."""
        config = dict(kw)
        if model_id is not None:
            config["model_id"] = model_id
        hp = parse_config(config)
        for k, allowed in SUPPORTED.items():
            if getattr(hp, k) not in allowed:
                raise ValueError(f"unsupported {k}={getattr(hp, k)!r} (supported: {sorted(allowed)})")
        if hp.charge_balanced_channels or hp.spin_balanced_channels:
            raise ValueError("charge/spin balanced channels are not supported")
        if hp.is_mole and hp.moe_single:
            raise ValueError("moe_single is not supported by the graph builder")
        h = EsenHyper(**{f.name: getattr(hp, f.name) for f in fields(UMAHyperParams)})
        h.cutoff = float(h.cutoff)
        return h


def edge_coefficients(lmax: int, mmax: int) -> list:
    """(l, m) of each edge coefficient in fairchem's m-major truncated order (m=0, +1, -1, +2, -2...)."""
    out = [(l, 0) for l in range(lmax + 1)]
    for m in range(1, mmax + 1):
        out += [(l, m) for l in range(m, lmax + 1)]
        out += [(l, -m) for l in range(m, lmax + 1)]
    return out


class _B:
    """Builder helpers bound to one graph and one state dict."""

    def __init__(self, g: Graph, sd: dict):
        self.g = g
        self.sd = sd

    def w(self, key: str) -> np.ndarray:
        if key not in self.sd:
            raise KeyError(f"missing weight {key!r}")
        return np.asarray(self.sd[key], dtype=np.float64)

    def c(self, arr) -> T:
        return self.g.const(np.asarray(arr, dtype=np.float64))

    def i(self, v) -> T:
        return self.g.const(np.asarray(v, dtype=np.int64))

    def op(self, *a, **k) -> T:
        return self.g.op(*a, **k)

    def linear(self, x: T, prefix: str, bias: bool = True) -> T:
        y = x @ self.c(self.w(prefix + ".weight").T)
        if bias:
            y = y + self.c(self.w(prefix + ".bias"))
        return y

    def silu(self, x: T) -> T:
        return self.op("Silu", [x])

    def sl(self, x: T, axis: int, start: int, end: int) -> T:
        return self.op("Slice", [x], axis=axis, start=start, end=end)

    def reshape(self, x: T, shape: list) -> T:
        return self.op("Reshape", [x], shape=shape)

    def layer_norm(self, x: T, prefix: str, eps: float = 1e-5) -> T:
        mu = self.op("ReduceMean", [x], axes=[-1], keepdims=1)
        xc = x - mu
        var = self.op("ReduceMean", [xc * xc], axes=[-1], keepdims=1)
        y = xc / self.op("Sqrt", [var + eps])
        return y * self.c(self.w(prefix + ".weight")) + self.c(self.w(prefix + ".bias"))

    def radial_mlp(self, x: T, prefix: str, split: Optional[list] = None, perms: Optional[list] = None,
                   row_sets: Optional[list] = None):
        """fairchem RadialMLP (Linear, (LayerNorm, SiLU, Linear)*). With ``split`` (output sizes), the
        last Linear is applied as separate row blocks, returning a list (no slicing of a wide tensor);
        ``perms`` optionally reorders the rows of each block. ``row_sets`` instead lists the output rows
        of each returned block explicitly."""
        idx = sorted({int(k[len(prefix) + 1 :].split(".")[0]) for k in self.sd if k.startswith(prefix + ".")})
        for j, n in enumerate(idx):
            key = f"{prefix}.{n}"
            if self.w(key + ".weight").ndim == 2:
                if j == len(idx) - 1 and (split is not None or row_sets is not None):
                    W, bias = self.w(key + ".weight"), self.w(key + ".bias")
                    if row_sets is None:
                        row_sets, r = [], 0
                        for k, size in enumerate(split):
                            rows = np.arange(r, r + size)
                            row_sets.append(rows[perms[k]] if perms is not None and perms[k] is not None else rows)
                            r += size
                    return [x @ self.c(W[rows].T) + self.c(bias[rows]) for rows in row_sets]
                x = self.linear(x, key)
            else:
                x = self.silu(self.layer_norm(x, key))
        return x


def build_esen(
    sd: dict,
    hp: EsenHyper,
    *,
    with_grad: bool = True,
    debug: bool = False,
    recompute: bool = True,
    edge_chunks: int = 1,
):
    """Builds the graph. ``sd`` maps fairchem names without the 'backbone.' prefix to arrays; the energy
    head's weights are under 'head.energy_block.*'. Returns (graph, dict of named intermediates).

    ``with_grad``: append the backward pass and the ``edge_grad`` output. ``debug``: also output the
    intermediates (``debug_<name>``). ``recompute``: rebuild each layer during the backward pass instead
    of keeping its edge-sized activations. ``edge_chunks``: process each layer's pairs in that many
    chunks of centre atoms (each recomputed on its own; lower peak memory for large systems)."""
    g = Graph()
    b = _B(g, sd)
    L, M, C, H = hp.lmax, hp.mmax, hp.sphere_channels, hp.hidden_channels
    nL = (L + 1) ** 2
    coefs = edge_coefficients(L, M)
    nM = len(coefs)
    moe = hp.num_experts > 0
    moe_layers = set(hp.layers_moe) if (moe and hp.layers_moe is not None) else set(range(hp.num_layers))
    inter: dict = {}

    # ---- inputs and index preparation (integer, no gradients) --------------------------------
    Z = g.op("Cast", [g.input("atomic_numbers", "i32", ["N"])], to="i64")
    ei = g.op("Cast", [g.input("edge_index", "i32", [2, "E"])], to="i64")
    vec = g.input("edge_vec", "f", ["E", 3], requires_grad=True)
    sysi = g.op("Cast", [g.input("system_index", "i32", ["N"])], to="i64")
    charge = g.op("Cast", [g.input("charge", "i32", ["B"])], to="i64")
    spin = g.op("Cast", [g.input("spin", "i32", ["B"])], to="i64")
    task = g.op("Cast", [g.input("task", "i32", ["B"])], to="i64")
    offsets = g.op("Cast", [g.input("offsets", "i32", ["N+1"])], to="i64")
    reverse = g.op("Cast", [g.input("reverse", "i32", ["E"])], to="i64")

    neigh = g.op("Reshape", [b.sl(ei, 0, 0, 1)], shape=[-1], infer_dim="E")
    centre = g.op("Reshape", [b.sl(ei, 0, 1, 2)], shape=[-1], infer_dim="E")
    zero_i, one_i = b.i(0), b.i(1)
    n_atoms = g.op("Shape", [Z], index=0)
    n_edges = g.op("Shape", [vec], index=0)
    n_sys = g.op("Shape", [charge], index=0)
    lo = g.op("Gather", [offsets, g.op("Range", [zero_i, n_atoms, one_i], dim="N")], axis=0)
    hi = g.op("Gather", [offsets, g.op("Range", [one_i, n_atoms + one_i, one_i], dim="N")], axis=0)
    deg = hi - lo
    kmax = g.op("Max", [g.op("ReduceMax", [deg], axes=[0], keepdims=0), one_i])
    krange = g.op("Unsqueeze", [g.op("Range", [zero_i, kmax, one_i], dim="K")], axes=[0])
    P = g.op(
        "Where",
        [g.op("Less", [krange, g.op("Unsqueeze", [deg], axes=[1])]), g.op("Unsqueeze", [lo], axes=[1]) + krange, n_edges],
    )  # [N, K] padded CSR table; E marks padding

    # padded table of the reverse pairs: row n lists the pairs whose neighbour is n
    Prev = g.op("Gather", [g.op("Concat", [reverse, g.op("Unsqueeze", [n_edges], axes=[0])], axis=0), P], axis=0)

    # one gather for the (neighbour, centre) features of every pair: rows 2e, 2e+1 of [2E, ...]; its
    # adjoint is one segment sum over the table P2 listing, for each atom, the rows that read it
    idx2 = g.op("Reshape", [g.op("Transpose", [ei], perm=[1, 0])], shape=[-1], infer_dim="2E")
    two_e = n_edges * b.i(2)
    P2 = g.op("Concat", [
        g.op("Where", [g.op("Less", [P, n_edges]), P * b.i(2) + b.i(1), two_e]),
        g.op("Where", [g.op("Less", [Prev, n_edges]), Prev * b.i(2), two_e]),
    ], axis=1)

    def gather_pair(x: T) -> T:
        # (with edge chunks, its adjoint's gather runs in as many blocks of atoms)
        rows = g.op("Gather", [x, idx2, P2], axis=0, adj="seg", seg_chunks=max(1, int(edge_chunks)))  # [2E, ...]
        return g.op("Reshape", [rows], shape=[-1, 2] + list(x.shape[1:]), infer_dim="E")

    def sum_by_centre(x: T) -> T:
        return g.op("SegSum", [x, P, centre])

    # one-hot system membership [B, N]
    onehot_b = g.op("Equal", [g.op("Unsqueeze", [sysi], axes=[0]), g.op("Unsqueeze", [g.op("Range", [zero_i, n_sys, one_i], dim="B")], axes=[1])])
    onehot_f = g.op("Cast", [onehot_b], to="f")

    # ---- charge / spin / dataset embedding ---------------------------------------------------
    def chg_spin(x: T, which: str) -> T:
        prefix = f"{which}_embedding"
        if hp.chg_spin_emb_type == "rand_emb":
            off = 100 if which == "charge" else 0
            return g.op("Gather", [b.c(b.w(prefix + ".rand_emb.weight")), x + b.i(off)], axis=0)
        xf = g.op("Unsqueeze", [g.op("Cast", [x], to="f")], axes=[1])
        if hp.chg_spin_emb_type == "pos_emb":
            proj = xf * b.c(b.w(prefix + ".W")[None, :] * 2 * math.pi)
            emb = g.op("Concat", [g.op("Sin", [proj]), g.op("Cos", [proj])], axis=1)
            if which == "spin":
                emb = g.op("Where", [g.op("Equal", [xf, b.c(0.0)]), b.c(0.0), emb])
            return emb
        # lin_emb
        if which == "spin":
            xf = g.op("Where", [g.op("Equal", [xf, b.c(0.0)]), b.c(-100.0), xf])
        return b.linear(xf, prefix + ".lin_emb")

    parts = [chg_spin(charge, "charge"), chg_spin(spin, "spin")]
    if hp.use_dataset_embedding:
        table = np.stack([b.w(f"dataset_embedding.dataset_emb_dict.{hp.dataset_mapping[t]}.weight")[0] for t in hp.task_names])
        parts.append(g.op("Gather", [b.c(table), task], axis=0))
    csd = b.silu(b.linear(g.op("Concat", parts, axis=1), "mix_csd"))  # [B, C]
    inter["csd_mixed_emb"] = csd
    csd_node = g.op("Gather", [csd, sysi], axis=0)  # [N, C]

    # ---- MoLE expert coefficients [B, K] ---------------------------------------------------------
    coeff = None
    ctx: dict = {"lay": None}  # the per-system edge layout used by MoLE linears (whole graph or chunk)
    if moe:
        rin = [csd]
        if hp.use_composition_embedding:
            comp = g.op("Gather", [b.c(b.w("composition_embedding.weight")), Z], axis=0)
            count = g.op("ReduceSum", [onehot_f], axes=[1], keepdims=1)
            if hp.composition_include_self:
                count = count + 1.0
            rin = [(onehot_f @ comp) / count, csd]
        h_ = g.op("Concat", rin, axis=1) if len(rin) > 1 else rin[0]
        for k in (0, 2, 4):
            h_ = b.silu(b.linear(h_, f"routing_mlp.{k}"))
        if hp.moe_expert_coefficient_norm == "softmax":
            coeff = g.op("Softmax", [h_], axis=1) + 0.005
        else:  # pnorm: L1-normalise |x| + 2 / (number of systems in the call), as fairchem does
            y_ = g.op("Abs", [h_]) + 2.0 / g.op("Cast", [n_sys], to="f")
            coeff = y_ / g.op("Max", [g.op("ReduceSum", [y_], axes=[1], keepdims=1), b.c(1e-12)])
        inter["mole_expert_coefficients"] = coeff

        # padded per-system edge layout: Q [B, Emax], inverse index einv [E]
        cnt_atoms = g.op("ReduceSum", [g.op("Cast", [onehot_b], to="i64")], axes=[1], keepdims=0)
        atom_start = g.op("CumSum", [cnt_atoms], axis=0, exclusive=True)
        e_start = g.op("Gather", [offsets, atom_start], axis=0)
        e_cnt = g.op("Gather", [offsets, atom_start + cnt_atoms], axis=0) - e_start
        emax = g.op("Max", [g.op("ReduceMax", [e_cnt], axes=[0], keepdims=0), one_i])
        kr = g.op("Unsqueeze", [g.op("Range", [zero_i, emax, one_i], dim="Emax")], axes=[0])
        Q = g.op("Where", [g.op("Less", [kr, g.op("Unsqueeze", [e_cnt], axes=[1])]), g.op("Unsqueeze", [e_start], axes=[1]) + kr, n_edges])
        esys = g.op("Gather", [sysi, centre], axis=0)
        erange = g.op("Range", [zero_i, n_edges, one_i], dim="E")
        einv = esys * emax + (erange - g.op("Gather", [e_start, esys], axis=0))
        ctx["lay"] = (Q, einv)

        def system_layout(lo: T, hi: T, dim: str):
            """Q, einv of the per-system padded layout restricted to the edges lo:hi (a chunk)."""
            s0 = g.op("Max", [g.op("Min", [e_start, hi]), lo]) - lo
            s1 = g.op("Max", [g.op("Min", [e_start + e_cnt, hi]), lo]) - lo
            cnt = s1 - s0
            em_ = g.op("Max", [g.op("ReduceMax", [cnt], axes=[0], keepdims=0), one_i])
            kr_ = g.op("Unsqueeze", [g.op("Range", [zero_i, em_, one_i])], axes=[0])
            Qk = g.op("Where", [g.op("Less", [kr_, g.op("Unsqueeze", [cnt], axes=[1])]), g.op("Unsqueeze", [s0], axes=[1]) + kr_, hi - lo])
            esys_k = g.op("SliceDyn", [esys, lo, hi], dim=dim)
            er = g.op("Range", [zero_i, hi - lo, one_i], dim=dim)
            return Qk, esys_k * em_ + (er - g.op("Gather", [s0, esys_k], axis=0))

    def edge_linear(x: T, weights: np.ndarray, bias: Optional[np.ndarray], use_moe: bool) -> T:
        """x [E, in] @ W^T (+ bias). ``weights`` is [out, in] (dense) or [K, out, in] (MoLE)."""
        if not use_moe:
            y = x @ b.c(weights.T)
        else:
            K, out_f, in_f = weights.shape
            wb = coeff @ b.c(weights.transpose(0, 2, 1).reshape(K, in_f * out_f))  # [B, in*out]
            wb = b.reshape(wb, [0, in_f, out_f])
            Qc, einvc = ctx["lay"]
            xp = g.op("ToPadded", [x, Qc, einvc])  # [B, Emax, in]
            y = g.op("FromPadded", [xp @ wb, Qc, einvc])
        if bias is not None:
            y = y + b.c(bias)
        return y

    def so2_weights(prefix: str, use_moe: bool):
        if use_moe and hp.moe_type == "so2m0" and not prefix.endswith("fc_m0"):
            use_moe = False
        return b.w(prefix + (".weights" if use_moe else ".weight"))

    def block_weights(w: np.ndarray) -> np.ndarray:
        """[[W1, -W2], [W2, W1]] acting on [x_real, x_imag] (last two axes)."""
        half = w.shape[-2] // 2
        w1, w2 = w[..., :half, :], w[..., half:, :]
        top = np.concatenate([w1, -w2], axis=-1)
        bot = np.concatenate([w2, w1], axis=-1)
        return np.concatenate([top, bot], axis=-2)

    # ---- node initial embedding ----------------------------------------------------------------
    e0 = np.zeros((1, nL, 1))
    e0[0, 0, 0] = 1.0
    e0c = b.c(e0)
    x = g.op("Unsqueeze", [g.op("Gather", [b.c(b.w("sphere_embedding.weight")), Z], axis=0) + csd_node], axes=[1]) * e0c
    inter["x_initial"] = x

    # ---- edge chunks -----------------------------------------------------------------------------
    # Contiguous ranges of centre atoms (and so of pairs). Each chunk of each layer is its own
    # recomputation region, so only one chunk's edge-sized intermediates are alive at a time.
    S = max(1, int(edge_chunks))
    Zs = g.op("Gather", [Z, neigh], axis=0)
    Zt = g.op("Gather", [Z, centre], axis=0)
    chunks = []
    if S > 1:
        a_b = [zero_i] + [g.op("Div", [n_atoms * b.i(k), b.i(S)]) for k in range(1, S)] + [n_atoms]
        o_b = [g.op("Gather", [offsets, a_], axis=0) for a_ in a_b]
        for k in range(S):
            a0, a1, o0, o1 = a_b[k], a_b[k + 1], o_b[k], o_b[k + 1]
            dim = f"E_{k}"
            Pk = g.op("SliceDyn", [P, a0, a1], dim=f"N_{k}")
            Pk = g.op("Where", [g.op("Less", [Pk, n_edges]), Pk - o0, o1 - o0])
            ck = g.op("SliceDyn", [centre, o0, o1], dim=dim) - a0
            # Each chunk builds its pairs' geometry (radial features, Wigner blocks) from its own slice
            # of edge_vec inside every region that needs it: the gradient that leaves a chunk is then
            # [E_k, 3] instead of the [E_k, nb + 2C] and 2 x [E_k, nL, nM] cotangents of full-size
            # geometry tensors, which were held for every chunk until the last one was done.
            vec_k = g.op("SliceDyn", [vec, o0, o1], dim=dim, group=("vec",), index=k, count=S)
            zs_k = g.op("SliceDyn", [Zs, o0, o1], dim=dim)
            zt_k = g.op("SliceDyn", [Zt, o0, o1], dim=dim)
            neigh_k = g.op("SliceDyn", [neigh, o0, o1], dim=dim)
            lay = system_layout(o0, o1, dim) if moe else None
            chunks.append({"a0": a0, "a1": a1, "o0": o0, "o1": o1, "P": Pk, "centre": ck, "vec": vec_k, "zs": zs_k,
                           "zt": zt_k, "neigh": neigh_k, "lay": lay, "dim": dim})

    # ---- edge geometry (differentiable) --------------------------------------------------------
    from equiforce import so3

    J = [b.w(f"Jd_{l}") for l in range(L + 1)]
    Cs = so3.coupling_matrices(J)
    m_off = [0]
    for m in range(0, M + 1):
        m_off.append(m_off[-1] + (L + 1 if m == 0 else 2 * (L - m + 1)))
    sel = np.zeros((nM, nL))
    for r, (l, m) in enumerate(coefs):
        sel[r, l * l + l + m] = 1.0
    # The m-major Wigner matrix Wig = sel·D (D block diagonal in l) as one product of the flattened
    # blocks l >= 1 with a 0/1 placement matrix, plus the constant l = 0 entry: entry (a, c) of block
    # l lands at the row r that selects l² + a, column l² + c. Every output entry is one block entry
    # (or zero), so this is exact; it replaces a padded copy per block, their Concat and a batched
    # [nM, nL]·[nL, nL] product per pair with one GEMM that ONNX Runtime runs on all its threads.
    row_of = {int(np.argmax(sel[r])): r for r in range(nM)}
    place = np.zeros((sum((2 * l + 1) ** 2 for l in range(1, L + 1)), nM * nL))
    wig_bias = np.zeros((1, nM * nL))
    if 0 in row_of:
        wig_bias[0, row_of[0] * nL] = 1.0
    off = 0
    for l in range(1, L + 1):
        n = 2 * l + 1
        for a in range(n):
            if l * l + a in row_of:
                for c in range(n):
                    place[off + a * n + c, row_of[l * l + a] * nL + l * l + c] = 1.0
        off += n * n
    gauss_off = np.linspace(0.0, hp.cutoff, hp.num_distance_basis)
    gcoeff = -0.5 / (2.0 * (gauss_off[1] - gauss_off[0])) ** 2

    def edge_geometry(v: T, zs: T, zt: T):
        """Radial features x_edge [E, nb + 2C], the m-major Wigner matrix Wig [E, nM, nL] and the
        envelope [E, 1, 1] of the pairs ``v``."""
        dist = g.op("Sqrt", [g.op("ReduceSum", [v * v], axes=[1], keepdims=1)])  # [E, 1]
        ds = dist * (1.0 / hp.cutoff)
        p = 5.0
        a_, b_, c_ = -(p + 1) * (p + 2) / 2, p * (p + 2), -p * (p + 1) / 2
        ds5 = ds * ds * ds * ds * ds
        env = g.op("Where", [g.op("Less", [ds, b.c(1.0)]), ds5 * (ds * (ds * c_ + b_) + a_) + 1.0, b.c(0.0)])  # [E,1]
        dd = dist - b.c(gauss_off[None, :])
        gauss = g.op("Exp", [dd * dd * gcoeff])  # [E, nb]
        x_edge = g.op(
            "Concat",
            [gauss, g.op("Gather", [b.c(b.w("source_embedding.weight")), zs], axis=0),
             g.op("Gather", [b.c(b.w("target_embedding.weight")), zt], axis=0)],
            axis=1,
        )
        # Wigner matrices from the unit vectors
        u = v / dist
        ux, uy, uz = g.partition(u, 1, [0, 1, 2, 3])  # [E,1] each
        s = g.op("Where", [g.op("Less", [uy, b.c(0.0)]), b.c(-1.0), b.c(1.0)])
        dn = s * uy + 1.0
        xx, zz, xz = ux * ux / dn, uz * uz / dn, ux * uz / dn
        R_entries = [
            1.0 - xx, -(s * ux), -xz,
            ux, s * (1.0 - (xx + zz)), uz,
            -(s * xz), -uz, s * (1.0 - zz),
        ]
        R_flat = g.op("Concat", R_entries, axis=1)  # [E, 9]
        R = b.reshape(R_flat, [0, 3, 3])
        flat, prev = [R_flat], R
        for l in range(2, L + 1):
            n = 2 * l - 1
            kron = b.reshape(b.reshape(R, [0, 3, 1, 3, 1]) * b.reshape(prev, [0, 1, n, 1, n]), [0, 3 * n, 3 * n])
            prev = b.c(Cs[l].T) @ kron @ b.c(Cs[l])
            flat.append(b.reshape(prev, [0, (2 * l + 1) ** 2]))
        env3 = b.reshape(env, [0, 1, 1])
        # All m blocks are rotated by one MatMul and sliced afterwards: ORT runs a batched MatMul as one
        # small GEMM per batch entry, whose fixed cost dominates at these sizes, so one 9-row GEMM per
        # (edge, half) beats one per m block (measured: 5.5 against 7.0 ms for 4,536 edges, C = 32,
        # slices included)
        blocks_flat = g.op("Concat", flat, axis=1) if L > 1 else R_flat  # [E, Σ_l≥1 (2l+1)²]
        Wig = b.reshape(blocks_flat @ b.c(place) + b.c(wig_bias), [0, nM, nL])
        return x_edge, Wig, env3

    def edge_degree_messages(x_edge: T, Wig: T, env3: T) -> T:
        """The edge degree embedding's per-pair contributions [E, nL, C] (before the 1/5 scale)."""
        rad = b.reshape(b.radial_mlp(x_edge, "edge_degree_embedding.rad_func.net"), [0, L + 1, C])
        return g.op("MatMul", [b.sl(Wig, 1, 0, m_off[1]), rad], trans_a=1) * env3

    # ---- edge degree embedding -------------------------------------------------------------------
    if not chunks:
        x_edge, Wig, env3 = edge_geometry(vec, Zs, Zt)
        inter["edge_scalar_features"] = x_edge
        x = x + sum_by_centre(edge_degree_messages(x_edge, Wig, env3)) * (1.0 / 5.0)
    else:
        outs = []
        for ch in chunks:
            def chunk_degree(vec_k: T, ch=ch) -> T:
                x_edge_k, Wig_k, env3_k = edge_geometry(vec_k, ch["zs"], ch["zt"])
                return g.op("SegSum", [edge_degree_messages(x_edge_k, Wig_k, env3_k), ch["P"], ch["centre"]])

            outs.append(g.checkpoint(chunk_degree, [ch["vec"]]) if recompute else chunk_degree(ch["vec"]))
        x = x + g.op("Concat", outs, axis=0, bounds=a_b) * (1.0 / 5.0)
    inter["x_after_edge_degree_embedding"] = x

    # ---- helpers for node-wise layers ----------------------------------------------------------------
    deg_of_node = [l for l in range(L + 1) for _ in range(2 * l + 1)]

    def norm(x: T, prefix: str) -> T:
        if hp.norm_type == "rms_norm_sh":
            return rms_norm(x, prefix)
        if hp.norm_type == "layer_norm_sh":
            return layer_norm_sh(x, prefix)
        return layer_norm_array(x, prefix)

    def layer_norm_array(x: T, prefix: str) -> T:
        """EquivariantLayerNormArray: each degree normalised on its own (l=0 centred, with bias)."""
        aw = b.w(prefix + ".affine_weight")
        outs = []
        for l in range(L + 1):
            f = b.sl(x, 1, l * l, (l + 1) ** 2)
            if l == 0:
                f = f - g.op("ReduceMean", [f], axes=[2], keepdims=1)
            fn = g.op("ReduceMean", [g.op("ReduceMean", [f * f], axes=[1], keepdims=1)], axes=[2], keepdims=1)
            y = f * g.op("Reciprocal", [g.op("Sqrt", [fn + 1e-5])]) * b.c(aw[l][None, None, :])
            if l == 0:
                y = y + b.c(b.w(prefix + ".affine_bias")[None, None, :])
            outs.append(y)
        return g.op("Concat", outs, axis=1)

    def layer_norm_sh(x: T, prefix: str) -> T:
        """EquivariantLayerNormArraySphericalHarmonics: LayerNorm on l=0, one shared RMS scale for l>0."""
        x0 = b.layer_norm(b.sl(x, 1, 0, 1), prefix + ".norm_l0")
        rest = b.sl(x, 1, 1, nL)
        bw = np.array([[1.0 / (2 * deg_of_node[i] + 1) / L for i in range(1, nL)]])
        fn = g.op("ReduceMean", [b.c(bw) @ (rest * rest)], axes=[2], keepdims=1)
        scale = g.op("Reciprocal", [g.op("Sqrt", [fn + 1e-5])])
        wexp = b.w(prefix + ".affine_weight")[[d - 1 for d in deg_of_node[1:]]][None]
        return g.op("Concat", [x0, rest * scale * b.c(wexp)], axis=1)

    def rms_norm(x: T, prefix: str) -> T:
        mu = g.op("ReduceMean", [b.sl(x, 1, 0, 1)], axes=[2], keepdims=1)  # [N,1,1]
        f = x - mu * e0c
        bw = np.array([[1.0 / (2 * deg_of_node[i] + 1) / (L + 1) for i in range(nL)]])
        fn = g.op("ReduceMean", [b.c(bw) @ (f * f)], axes=[2], keepdims=1)  # [N,1,1]
        scale = g.op("Reciprocal", [g.op("Sqrt", [fn + 1e-5])])
        wexp = b.w(prefix + ".affine_weight")[deg_of_node][None]  # [1, nL, C]
        bias = np.zeros((1, nL, C))
        bias[0, 0] = b.w(prefix + ".affine_bias")
        return f * scale * b.c(wexp) + b.c(bias)

    def gate(h: T, gates: T, degrees: list, ch: int) -> T:
        """SiLU on the scalar row, sigmoid(gate of degree l) on every other row ([*, rows, ch])."""
        G = np.zeros((len(degrees) - 1, L))
        for r, l in enumerate(degrees[1:]):
            G[r, l - 1] = 1.0
        gexp = b.c(G) @ b.reshape(g.op("Sigmoid", [gates]), [0, L, ch])
        h0, h1 = g.partition(h, 1, [0, 1, len(degrees)])
        return g.op("Concat", [b.silu(h0), h1 * gexp], axis=1)

    def so3_linear(x: T, prefix: str) -> T:
        W = b.w(prefix + ".weight")  # [L+1, out, in]
        outs = [xl @ b.c(W[l].T) for l, xl in enumerate(g.partition(x, 1, [l * l for l in range(L + 2)]))]
        bias = np.zeros((1, nL, W.shape[1]))
        bias[0, 0] = b.w(prefix + ".bias")
        return g.op("Concat", outs, axis=1) + b.c(bias)


    def fc_split(x: T, prefix: str, use_moe: bool, parts: list, col_perm=None) -> list:
        """fairchem's fc_m0 (Linear with bias) applied as separate output-row blocks (input columns
        optionally reordered to match our layout)."""
        W = so2_weights(prefix, use_moe)
        if col_perm is not None:
            W = W[..., col_perm]
        bias = b.w(prefix + ".bias")
        outs, r = [], 0
        for size in parts:
            outs.append(edge_linear(x, W[..., r : r + size, :], bias[r : r + size], use_moe))
            r += size
        return outs

    def half_index(nm: int, c: int, h: int) -> np.ndarray:
        """Positions of half ``h`` (0 = source, 1 = target) in fairchem's (l, half, c) order of nm degrees."""
        return np.array([j * 2 * c + h * c + k for j in range(nm) for k in range(c)])

    def half_index_m(nm: int, c: int, h: int) -> np.ndarray:
        """Positions of half ``h`` in fairchem's m > 0 input order (part, l, half, c), part = real / imag."""
        return np.concatenate([p * nm * 2 * c + half_index(nm, c, h) for p in range(2)])

    def perm_pair_m0(c: int) -> np.ndarray:
        """Our m=0 input order (half, l, c) -> fairchem's (l, half, c), half = source / target."""
        return np.concatenate([half_index(L + 1, c, h) for h in range(2)])

    def perm_pair_m(nm: int, c: int) -> np.ndarray:
        """Our m>0 input order (half, part, l, c) -> fairchem's (part, l, half, c)."""
        return np.concatenate([half_index_m(nm, c, h) for h in range(2)])

    def perm_pair_rad(nm: int, c: int) -> np.ndarray:
        """Our radial order (half, l, c) -> fairchem's (l, half, c) for an m>0 block."""
        return np.concatenate([half_index(nm, c, h) for h in range(2)])

    def so2_conv1_halves(halves: list, prefix: str, radial: list, use_moe: bool):
        """fairchem's first SO2_Convolution (cin = 2C, cout = H, L*H gate rows) on the message halves:
        halves[h][m] is half h's block m ([E, L+1, C] for m = 0, [E, 2(L-m+1), C] real rows then
        imaginary), radial[h][m] its radial weights. Each product is split by input columns into one
        per half (same weights, fairchem's column order) and the two are added."""
        def linear_halves(xs: list, W: np.ndarray, cols: list, bias: Optional[np.ndarray], m_moe: bool) -> T:
            y = edge_linear(xs[0], W[..., cols[0]], bias, m_moe)
            return y + edge_linear(xs[1], W[..., cols[1]], None, m_moe)

        W0 = so2_weights(prefix + ".fc_m0", use_moe)
        bias0 = b.w(prefix + ".fc_m0.bias")
        x0 = [b.reshape(halves[h][0], [0, (L + 1) * C]) * radial[h][0] for h in range(2)]
        cols0 = [half_index(L + 1, C, h) for h in range(2)]
        gates = linear_halves(x0, W0[..., : L * H, :], cols0, bias0[: L * H], use_moe)
        y0 = linear_halves(x0, W0[..., L * H :, :], cols0, bias0[L * H :], use_moe)
        outs = [b.reshape(y0, [0, L + 1, H])]
        for m in range(1, M + 1):
            nm = L - m + 1
            xm = [b.reshape(b.reshape(halves[h][m], [0, 2, nm * C]) * g.op("Unsqueeze", [radial[h][m]], axes=[1]),
                            [0, 2 * nm * C]) for h in range(2)]
            cols = [half_index_m(nm, C, h) for h in range(2)]
            m_moe = use_moe and hp.moe_type == "so2"
            wblk = block_weights(so2_weights(f"{prefix}.so2_m_conv.{m - 1}.fc", m_moe))
            outs.append(b.reshape(linear_halves(xm, wblk, cols, None, m_moe), [0, 2 * nm, H]))
        return outs, gates

    def so2_conv(blocks: list, prefix: str, cin: int, cout: int, radial: Optional[list], extra: int, use_moe: bool,
                 pair: bool = False):
        """fairchem SO2_Convolution on per-m blocks: blocks[0] [E, L+1, cin] (m=0), blocks[m] [E, 2(L-m+1), cin]
        (real rows then imaginary rows). With ``pair`` the blocks are [E, 2, rows, cin/2] (source and target
        halves of the message, as rotated) and the weights are permuted to that order instead of moving data.
        Returns the output blocks (and the gate pre-activations)."""
        half = cin // 2
        x0 = b.reshape(blocks[0], [0, (L + 1) * cin])
        if radial is not None:
            x0 = x0 * radial[0]
        p0 = perm_pair_m0(half) if pair else None
        gates = None
        if extra:
            gates, y0 = fc_split(x0, prefix + ".fc_m0", use_moe, [extra, (L + 1) * cout], p0)
        else:
            (y0,) = fc_split(x0, prefix + ".fc_m0", use_moe, [(L + 1) * cout], p0)
        outs = [b.reshape(y0, [0, L + 1, cout])]
        for m in range(1, M + 1):
            nm = L - m + 1
            xm = blocks[m]
            if radial is not None:
                if pair:
                    xm = b.reshape(xm, [0, 2, 2, nm * half]) * b.reshape(radial[m], [0, 2, 1, nm * half])
                else:
                    xm = b.reshape(xm, [0, 2, nm * cin]) * g.op("Unsqueeze", [radial[m]], axes=[1])
            xm = b.reshape(xm, [0, 2 * nm * cin])
            key = f"{prefix}.so2_m_conv.{m - 1}.fc"
            m_moe = use_moe and hp.moe_type == "so2"
            wblk = block_weights(so2_weights(key, m_moe))
            if pair:
                wblk = wblk[..., perm_pair_m(nm, half)]
            ym = edge_linear(xm, wblk, None, m_moe)
            outs.append(b.reshape(ym, [0, 2 * nm, cout]))
        return outs, gates

    def edge_gate(blocks: list, gates: T, ch: int) -> list:
        """GateActivation (m_prime layout) per m block: SiLU on (l=0), sigmoid(gate_l) on degree l >= 1."""
        sig = b.reshape(g.op("Sigmoid", [gates]), [0, L, ch])  # [E, L, ch], row l-1 gates degree l
        # y0 gated row by row: its l = 0 row by its own SiLU, the others by sig
        y00, y0r = g.partition(blocks[0], 1, [0, 1, L + 1])
        out = [g.op("Concat", [b.silu(y00), y0r * sig], axis=1)]
        for m in range(1, M + 1):
            nm = L - m + 1
            gm = g.op("Unsqueeze", [sig if m == 1 else b.sl(sig, 1, m - 1, L)], axes=[1])  # [E, 1, nm, ch]
            out.append(b.reshape(b.reshape(blocks[m], [0, 2, nm, ch]) * gm, [0, 2 * nm, ch]))
        return out

    # ---- message-passing blocks ------------------------------------------------------------------------
    sys_row = g.op("Unsqueeze", [csd_node], axes=[1]) * e0c  # [N, nL, C]

    def make_layer(i: int):
        pre = f"blocks.{i}"
        use_moe = moe and i in moe_layers

        def edge_messages(msg: T, x_edge: T, env3: T, Wig: T) -> T:
            """Rotated, convolved and back-rotated messages [E, nL, C] of the pairs in ``msg``
            [E, 2, nL, C] (source and target halves stacked on axis 1)."""
            rot_all = g.op("Unsqueeze", [Wig], axes=[1]) @ msg  # [E, 2, nM, C]
            rot = g.partition(rot_all, 2, m_off)  # the m blocks [E, 2, rows_m, C]
            rsplit = [(L + 1) * 2 * C] + [(L - m + 1) * 2 * C for m in range(1, M + 1)]
            rperm = [perm_pair_m0(C)] + [perm_pair_rad(L - m + 1, C) for m in range(1, M + 1)]
            radial = b.radial_mlp(x_edge, pre + ".edge_wise.so2_conv_1.rad_func.net", split=rsplit, perms=rperm)
            h, gates = so2_conv(rot, pre + ".edge_wise.so2_conv_1", 2 * C, H, radial, L * H, use_moe, pair=True)
            return convolved_back(h, gates, env3, Wig)

        def edge_messages_halves(src: T, dst: T, x_edge: T, env3: T, Wig: T) -> T:
            """As ``edge_messages`` for the source and target halves given apart ([E, nL, C] each): each
            half is rotated on its own and every linear map of the first convolution is the sum of the
            products with its columns of each half, so the message [E, nL, 2C] is never assembled (nor
            its cotangent split again)."""
            rot = []
            for h, xh in enumerate((src, dst)):
                rot_all = Wig @ xh  # [E, nM, C]
                rot.append(g.partition(rot_all, 1, m_off))  # the m blocks [E, rows_m, C]
            # the radial rows of each (m, half): fairchem's radial output of block m is (l, half, c)
            row_sets, base = [], 0
            for m in range(M + 1):
                nm = L + 1 if m == 0 else L - m + 1
                row_sets += [base + half_index(nm, C, h) for h in range(2)]
                base += nm * 2 * C
            rad = b.radial_mlp(x_edge, pre + ".edge_wise.so2_conv_1.rad_func.net", row_sets=row_sets)
            radial = [[rad[2 * m + h] for m in range(M + 1)] for h in range(2)]
            h_, gates = so2_conv1_halves(rot, pre + ".edge_wise.so2_conv_1", radial, use_moe)
            return convolved_back(h_, gates, env3, Wig)

        def convolved_back(h: list, gates: T, env3: T, Wig: T) -> T:
            """Gate, second SO(2) convolution, and the rotation back (Wig^T as a transposed product, so
            no [E, nL, nM] transpose is ever written), weighted by the envelope."""
            h = edge_gate(h, gates, H)
            h, _ = so2_conv(h, pre + ".edge_wise.so2_conv_2", H, C, None, 0, use_moe)
            hc = g.op("Concat", h, axis=1) if M > 0 else h[0]
            return g.op("MatMul", [Wig, hc], trans_a=1) * env3

        def edge_part(x: T, x_edge: T, env3: T, Wig: T) -> T:
            xn = norm(x, pre + ".norm_1") + sys_row
            msg = gather_pair(xn)  # [E, 2, nL, C]: (source, target) features of every pair
            return sum_by_centre(edge_messages(msg, x_edge, env3, Wig)) + x

        def edge_part_chunked(x: T) -> T:
            xn = norm(x, pre + ".norm_1") + sys_row
            # Each chunk gathers its pairs' neighbour half from xn (the adjoint: one sum over the padded
            # table of reverse pairs, once every chunk's cotangent is in) and its centre half from its
            # own atoms, so that gradient is reduced within the chunk and only an [E, nL, C]
            # cotangent, not [E, 2, nL, C], is ever assembled at full size.
            outs = []
            group = ("msg", i, len(g.nodes))  # unique per (re)computation of this layer
            group_x = ("xn", i, len(g.nodes))
            for k, ch in enumerate(chunks):
                def chunk(xn_all: T, xn_k: T, vec_k: T, ch=ch, k=k) -> T:
                    ctx["lay"] = ch["lay"]
                    # the chunk's neighbour rows are gathered here, from the atoms' features, so no
                    # [E, nL, C] tensor of all pairs is kept for the recomputations; the chunks'
                    # cotangents form the one of a gather of all pairs (see ir._backprop)
                    nbr_k = g.op("Gather", [xn_all, ch["neigh"], neigh, P, centre, reverse, Prev], axis=0,
                                 adj="nbr_part", group=group, index=k, count=S, seg_chunks=S)  # [E_k, nL, C]
                    cen = g.op("Gather", [xn_k, ch["centre"], ch["P"]], axis=0, adj="seg")  # [E_k, nL, C]
                    x_edge_k, Wig_k, env3_k = edge_geometry(vec_k, ch["zs"], ch["zt"])
                    msgs = edge_messages_halves(nbr_k, cen, x_edge_k, env3_k, Wig_k)
                    return g.op("SegSum", [msgs, ch["P"], ch["centre"]])

                xn_k = g.op("SliceDyn", [xn, ch["a0"], ch["a1"]], dim=f"N_{k}", group=group_x, index=k, count=S)
                args = [xn, xn_k, ch["vec"]]
                outs.append(g.checkpoint(chunk, args) if recompute else chunk(*args))
            # the chunks' row bounds are known: their gradients are sliced without asking for the
            # chunk outputs' shapes (which would keep the recomputation's forward alive)
            return g.op("Concat", outs, axis=0, bounds=a_b) + x

        def atom_part(x: T) -> T:
            x_res = x
            xn = norm(x, pre + ".norm_2")
            gsc = b.silu(b.linear(b.reshape(b.sl(xn, 1, 0, 1), [0, C]), pre + ".atom_wise.scalar_mlp.0"))
            y = so3_linear(xn, pre + ".atom_wise.so3_linear_1")
            y = gate(y, gsc, deg_of_node, H)
            return so3_linear(y, pre + ".atom_wise.so3_linear_2") + x_res

        return edge_part, edge_part_chunked, atom_part

    for i in range(hp.num_layers):
        edge_part, edge_part_chunked, atom_part = make_layer(i)
        # Recompute each layer in the backward pass (its edge-sized intermediates are not kept). The
        # edge and atom halves are separate regions: the edge half's backward never needs its output
        # value, so its recomputation stops before the back-rotation and the edge->atom sum.
        if chunks:
            mid = g.checkpoint(edge_part_chunked, [x]) if recompute else edge_part_chunked(x)
        else:
            args = [x, x_edge, env3, Wig]
            mid = g.checkpoint(edge_part, args) if recompute else edge_part(*args)
        x = g.checkpoint(atom_part, [mid]) if recompute else atom_part(mid)
        inter[f"x_after_block{i}"] = x

    node_emb = norm(x, "norm")
    inter["node_embedding"] = node_emb

    # ---- energy head -------------------------------------------------------------------------------------
    hx = b.reshape(b.sl(node_emb, 1, 0, 1), [0, C])
    hx = b.silu(b.linear(hx, "head.energy_block.0"))
    hx = b.silu(b.linear(hx, "head.energy_block.2"))
    atom_energy = b.reshape(b.linear(hx, "head.energy_block.4"), [-1])
    energy = b.reshape(onehot_f @ g.op("Unsqueeze", [atom_energy], axes=[1]), [-1])
    g.output("energy", energy)
    g.output("atom_energy", atom_energy)
    if with_grad:
        total = g.op("ReduceSum", [atom_energy], axes=[0], keepdims=0)
        g.output("edge_grad", grad(g, total, vec))
    g.output("node_embedding", node_emb)
    if debug:
        for k, t in inter.items():
            g.output("debug_" + k, t)
    return g, inter
