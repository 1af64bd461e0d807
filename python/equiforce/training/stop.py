"""Stopping a training run early and cleanly on SIGINT (Ctrl-C) or SIGTERM (``kill``).

Why: a run is hours long and the machine is often wanted back before its budget ends. Killing it outright
loses everything since the last periodic checkpoint and, with ``--procs P``, leaves the spawned ranks training
on (they are separate processes). With these handlers the first signal only *asks* for a stop: the ranks agree
on it at the start of the next optimiser step (``Group.control``), rank 0 writes the checkpoint exactly where
the run stands, and every process exits; ``--resume`` continues from there as if it had never stopped.

In a single-process run a second signal interrupts at once (``KeyboardInterrupt``), for a step that hangs.
In a data-parallel run the parent process (:class:`ForwardToChildren`) passes the first signal on to the
ranks and kills them on the second; the ranks themselves treat every signal as the same request, because a
Ctrl-C in a terminal reaches them twice (directly, as members of the terminal's process group, and
forwarded by the parent).
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from typing import Callable, Iterable

SIGNALS = (signal.SIGINT, signal.SIGTERM)


class _SignalScope:
    """Installs ``self._handle`` for SIGINT and SIGTERM while entered and restores the previous handlers on
    exit, so a library caller (or pytest) gets its own handling back."""

    def _handle(self, signum, frame) -> None:
        raise NotImplementedError

    def __enter__(self):
        self._previous: dict = {}
        # handlers can only be installed from the main thread (training in a worker thread simply keeps the
        # default behaviour)
        if threading.current_thread() is threading.main_thread():
            self._previous = {s: signal.signal(s, self._handle) for s in SIGNALS}
        return self

    def __exit__(self, *exc) -> None:
        for s, h in self._previous.items():
            signal.signal(s, h)
        self._previous = {}


class StopRequest(_SignalScope):
    """While entered, SIGINT and SIGTERM set :attr:`requested` instead of killing the process.

    ``escalate``: a second signal raises ``KeyboardInterrupt`` (single-process runs); ``announce``: say so
    on stderr (rank 0 only, so the message appears once)."""

    def __init__(self, escalate: bool = True, announce: bool = True) -> None:
        self.escalate, self.announce = escalate, announce
        self.requested = False

    def _handle(self, signum, frame) -> None:
        if self.requested and self.escalate:
            raise KeyboardInterrupt(f"second {signal.Signals(signum).name}: stopping without a checkpoint")
        if not self.requested and self.announce:
            sys.stderr.write(f"\n{signal.Signals(signum).name}: stopping after this step and writing the "
                             "checkpoint (continue with --resume)\n")
        self.requested = True


class ForwardToChildren(_SignalScope):
    """In the parent of spawned ranks: the first SIGINT/SIGTERM is sent on to the living children as SIGINT
    (a stop request), a later one kills them (SIGKILL). ``pids`` is called at signal time."""

    def __init__(self, pids: Callable[[], Iterable[int]]) -> None:
        self.pids = pids
        self.count = 0

    def _handle(self, signum, frame) -> None:
        self.count += 1
        for pid in self.pids():
            try:
                os.kill(pid, signal.SIGINT if self.count == 1 else signal.SIGKILL)
            except ProcessLookupError:
                pass  # that rank has already finished
