"""CPU thread limits for PyTorch *and* the BLAS library under it.

Debian's PyTorch calls the system BLAS (OpenBLAS, pthread build) for matrix products, and OpenBLAS
keeps its own pool with one thread per core whatever ``torch.set_num_threads`` says; between calls its
threads spin. Measured on the 2-core machine: a training run "on one thread" kept both cores at 100 %
(and 1.8 min of system time in 2 min of wall time). So every "n threads" here limits both.
"""

from __future__ import annotations

import ctypes

import torch


def _blas_setter():
    for name in ("libblas.so.3", "libopenblas.so.0"):
        try:
            fn = getattr(ctypes.CDLL(name), "openblas_set_num_threads")
        except (OSError, AttributeError):
            continue
        fn.argtypes = [ctypes.c_int]
        return fn
    return None


def limit_threads(n: int) -> None:
    """Use at most ``n`` threads in PyTorch's intra-op pool and in OpenBLAS (when it is the BLAS)."""
    torch.set_num_threads(n)
    setter = _blas_setter()
    if setter is not None:
        setter(n)
