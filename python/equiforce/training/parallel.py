"""Data-parallel training over several processes on one machine (``python -m equiforce.train --procs P``).

Why processes: PyTorch's intra-op threads do not pay for this model (measured: a C = 32 step costs 143
µs/edge on one thread and 202 on two), but P single-threaded processes that each take their own batch
and average their gradients do, because nothing inside a step has to be shared.

Every rank builds the same batch order from the same seeded generator and, at each optimiser step,
takes batch ``P·s + rank`` of it; the gradients are summed with one all-reduce over a flat buffer and
divided by P, so every rank applies the identical update and the parameters stay identical without
being broadcast. Whatever depends on the clock (the learning rate from the time budget, the decision to
stop) is decided by rank 0 and shared in a small all-reduce at the start of each step, so the ranks
can never disagree on it; a stop requested by a signal on any rank (training/stop.py) travels in the same
all-reduce. Only rank 0 validates, logs, checkpoints and exports; the others wait for it
inside the next all-reduce. Backend: gloo over localhost TCP (CPU only).
"""

from __future__ import annotations

import os
import socket
from typing import Callable, Optional

import torch
import torch.distributed as dist

from .stop import ForwardToChildren


def free_port() -> int:
    """A TCP port on localhost that is free right now (for the rendezvous)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Group:
    """This process's place in a data-parallel run (``size`` = 1: a plain single-process run)."""

    def __init__(self, rank: int = 0, size: int = 1) -> None:
        self.rank, self.size = rank, size

    @property
    def main(self) -> bool:
        """Rank 0: the process that validates, logs, checkpoints and exports."""
        return self.rank == 0

    def control(self, stop: bool, lr: float, requested: bool = False) -> tuple:
        """Rank 0's (stop, learning rate) for this step and whether any rank was asked to stop (``requested``:
        a signal, training/stop.py), the same on every rank."""
        if self.size == 1:
            return stop, lr, requested
        t = torch.tensor([float(stop) if self.main else 0.0, lr if self.main else 0.0, float(requested)],
                         dtype=torch.float64)
        dist.all_reduce(t)
        return bool(t[0].item() > 0.5), float(t[1].item()), bool(t[2].item() > 0.5)

    def average_gradients(self, params: list) -> None:
        """Replace every parameter's gradient by its mean over the ranks (one flat all-reduce).
        A parameter without a gradient on this rank counts as zero there."""
        if self.size == 1:
            return
        grads = [p.grad if p.grad is not None else torch.zeros_like(p) for p in params]
        flat = torch.cat([g.reshape(-1) for g in grads])
        dist.all_reduce(flat)
        flat /= self.size
        k = 0
        for p, g in zip(params, grads):
            n = g.numel()
            p.grad = flat[k : k + n].view_as(p)  # views of this step's fresh buffer
            k += n

    def close(self) -> None:
        if self.size > 1 and dist.is_initialized():
            dist.destroy_process_group()


def _entry(rank: int, size: int, port: int, fn: Callable, args) -> None:
    os.environ["MASTER_ADDR"] = "127.0.0.1"
    os.environ["MASTER_PORT"] = str(port)
    dist.init_process_group("gloo", rank=rank, world_size=size)
    group = Group(rank, size)
    try:
        fn(args, group)
    finally:
        group.close()


def run(fn: Callable, args, procs: int) -> Optional[object]:
    """Run ``fn(args, group)`` on ``procs`` processes (in this process when ``procs`` is 1)."""
    if procs <= 1:
        return fn(args, Group())
    import torch.multiprocessing as mp

    ctx = mp.spawn(_entry, args=(procs, free_port(), fn, args), nprocs=procs, join=False)
    # a signal to this parent reaches the ranks as a stop request (a second one kills them), so stopping
    # the command stops the run instead of orphaning its ranks
    with ForwardToChildren(lambda: [p.pid for p in ctx.processes if p.is_alive()]):
        while not ctx.join():
            pass
    return None
