"""Signals that interrupt a command (Ctrl-C, and SIGTERM and SIGHUP, which ``cli`` turns into Ctrl-C) held for a
few lines that must not be cut in two: a result's two renames (``results``), a worker's start (``experiments.pool``).
"""

from __future__ import annotations

import contextlib
import signal
import threading

INTERRUPTING = tuple(s for s in (getattr(signal, n, None) for n in ("SIGINT", "SIGTERM", "SIGHUP")) if s is not None)


@contextlib.contextmanager
def held():
    """SIGINT, SIGTERM and SIGHUP where Python handles them (a callable handler) held until the block ends, then
    handled as they would have been (the first that came); a second one is handled at once, so a block that hangs
    can still be stopped. Only the main thread runs Python's signal handlers; elsewhere nothing changes."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    before = {sig: handler for sig in INTERRUPTING if callable(handler := signal.getsignal(sig))}
    got: list[int] = []

    def hold(signum, frame):
        if got:
            before[signum](signum, frame)
        got.append(signum)

    for sig in before:
        signal.signal(sig, hold)
    try:
        yield
    finally:
        for sig, handler in before.items():
            signal.signal(sig, handler)
    if got:
        before[got[0]](got[0], None)
