"""Host-side helpers for the graph's edge layout: CSR offsets by centre and the reverse-pair index."""

from __future__ import annotations

from typing import Optional

import numpy as np


def csr_offsets(centre: np.ndarray, n_atoms: int) -> np.ndarray:
    """offsets [N+1] with the pairs of centre i at offsets[i]:offsets[i+1]; centre must be sorted."""
    centre = np.asarray(centre)
    if centre.size and np.any(np.diff(centre) < 0):
        raise ValueError("edges must be grouped by centre (edge_index[1] non-decreasing)")
    return np.searchsorted(centre, np.arange(n_atoms + 1)).astype(np.int32)


def reverse_index(edge_index: np.ndarray, shifts: Optional[np.ndarray] = None) -> np.ndarray:
    """reverse[e] = index of the pair (i -> j, -shift) for the pair e = (j -> i, shift)."""
    ei = np.asarray(edge_index)
    E = ei.shape[1]
    if shifts is None:
        shifts = np.zeros((E, 3), dtype=np.int64)
    sh = np.rint(np.asarray(shifts)).astype(np.int64)
    table = {(int(ei[0, e]), int(ei[1, e]), *sh[e].tolist()): e for e in range(E)}
    rev = np.empty(E, dtype=np.int32)
    for e in range(E):
        key = (int(ei[1, e]), int(ei[0, e]), *(-sh[e]).tolist())
        if key not in table:
            raise ValueError(f"pair {e} has no reverse pair: the edge list must be symmetric")
        rev[e] = table[key]
    return rev


def batch_inputs(systems: list, float_dtype=np.float64) -> dict:
    """Concatenates single systems into one batched feed.

    Each system is a dict with atomic_numbers [n], edge_index [2, e] (grouped by centre), edge_vec
    [e, 3], optional shifts [e, 3], charge, spin, task (ints).
    """
    Z, EI, V, SI, OFF, REV, CH, SP, TK = [], [], [], [], [], [], [], [], []
    n0 = e0 = 0
    for b, s in enumerate(systems):
        z = np.asarray(s["atomic_numbers"], dtype=np.int32)
        ei = np.asarray(s["edge_index"], dtype=np.int64).reshape(2, -1)
        n, e = len(z), ei.shape[1]
        Z.append(z)
        EI.append(ei + n0)
        V.append(np.asarray(s["edge_vec"], dtype=np.float64).reshape(-1, 3))
        SI.append(np.full(n, b, dtype=np.int32))
        off = csr_offsets(ei[1], n)
        OFF.append((off[:-1] if b < len(systems) - 1 else off) + e0)
        REV.append(reverse_index(ei, s.get("shifts")) + e0)
        CH.append(int(s["charge"]))
        SP.append(int(s["spin"]))
        TK.append(int(s["task"]))
        n0 += n
        e0 += e
    return {
        "atomic_numbers": np.concatenate(Z).astype(np.int32),
        "edge_index": np.concatenate(EI, axis=1).astype(np.int32),
        "edge_vec": np.concatenate(V).astype(float_dtype),
        "system_index": np.concatenate(SI).astype(np.int32),
        "charge": np.array(CH, dtype=np.int32),
        "spin": np.array(SP, dtype=np.int32),
        "task": np.array(TK, dtype=np.int32),
        "offsets": np.concatenate(OFF).astype(np.int32),
        "reverse": np.concatenate(REV).astype(np.int32),
    }
