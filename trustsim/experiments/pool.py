"""The local executors runs go to: this process (:class:`InProcess`) or a pool of worker processes
(:func:`local_executor`) that end with the process that made them (:func:`die_with_parent`), ignore a terminal's
Ctrl-C (the sweep's process handles it), and are ended at once when a sweep stops early."""

from __future__ import annotations

import contextlib
import ctypes
import multiprocessing
import os
import select
import signal
import sys
import threading
import time
from concurrent.futures import Future, ProcessPoolExecutor
from multiprocessing import forkserver, resource_tracker

from .. import interrupts
from ..locks import pid_alive

__all__ = ["die_with_parent", "local_executor"]


class InProcess:
    """One worker: runs in this process, one at a time, in the same futures interface."""

    def submit(self, fn, *args):
        fut = Future()
        fut.set_result(fn(*args))
        return fut

    def shutdown(self, wait=True, cancel_futures=False):
        pass


def die_with_parent(owner: int | None = None) -> None:
    """Make this worker process end when ``owner`` (the process that made the pool; default: this
    worker's parent) ends, even by ``kill -9``, which gives it no chance to stop its pool: a worker left
    behind would hold 90 MB and a core for good. Used as the pool's ``initializer``.

    A forked worker's parent is the owner: on Linux the kernel kills it when the parent dies
    (``prctl(PR_SET_PDEATHSIG)``). Under a fork server (or spawn) the parent is the server, which itself
    lives as long as any worker does, so a watcher thread waits for the owner itself to end: on a pidfd
    where there is one (Linux), else by polling the owner and ``os.getppid()``."""
    parent = os.getppid()
    owner = owner or parent
    if sys.platform == "linux" and owner == parent:
        with contextlib.suppress(OSError, AttributeError):  # not everywhere: the watcher below still ends it
            ctypes.CDLL(None, use_errno=True).prctl(1, int(signal.SIGKILL), 0, 0, 0)  # 1: PR_SET_PDEATHSIG
    try:
        pidfd = os.pidfd_open(owner)
    except ProcessLookupError:  # the owner died before this worker got here
        os._exit(1)
    except (AttributeError, OSError):
        pidfd = None
    if owner == parent and os.getppid() != parent:
        os._exit(1)

    def watch() -> None:
        if pidfd is not None:
            select.select([pidfd], [], [])  # readable once the owner has ended
        else:
            while os.getppid() == parent and _running(owner):
                time.sleep(0.5)
        os._exit(1)

    threading.Thread(target=watch, name="trustsim-owner-watch", daemon=True).start()


def _running(pid: int) -> bool:
    """Whether a process exists and has not ended (a zombie waiting to be reaped has ended)."""
    if not pid_alive(pid):
        return False
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except (OSError, IndexError):
        return True


def local_executor(workers: int | None):
    """``workers`` local workers (None: one per core) and their number: this process alone for one, else a pool
    whose workers have started (:class:`_Pool`); interrupted while they start, the pool is ended first."""
    workers = workers or os.cpu_count() or 1
    if workers == 1:
        return InProcess(), 1
    ctx = _context()
    _start_resource_tracker()
    if ctx is not None and ctx.get_start_method() == "forkserver":
        _start_fork_server()
    pool = _Pool(max_workers=workers, mp_context=ctx, initializer=_worker_start, initargs=(os.getpid(),))
    try:
        pool.submit(os.getpid).result()  # start the workers now, before a progress bar starts its thread
    except BaseException:
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    return pool, workers


MANAGER_WAIT = 10.0  # seconds a pool that killed its workers waits for its manager thread (milliseconds, in practice)


class _Pool(ProcessPoolExecutor):
    """The local process pool. A submission may start a worker: it holds the signals that interrupt a command
    meanwhile (``interrupts.held``). Shut down without waiting and with its pending runs cancelled (Ctrl-C, a
    failure), it ends its workers at once: else Python's exit waited for every batch already handed to them, to
    throw their runs away, and a sweep stopped by ``kill -INT`` or SIGTERM lived on for minutes."""

    def submit(self, fn, /, *args, **kwargs):
        """``ProcessPoolExecutor.submit``, with SIGINT, SIGTERM and SIGHUP held until it returns (and the worker it
        may start not importing a script that cannot be imported again)."""
        with interrupts.held(), main_not_reimported():
            return super().submit(fn, *args, **kwargs)

    def shutdown(self, wait=True, *, cancel_futures=False):
        """``ProcessPoolExecutor.shutdown``; without ``wait`` and with ``cancel_futures``, the workers killed too, and
        the pool's manager thread waited for (not their runs)."""
        workers = list((getattr(self, "_processes", None) or {}).values()) if cancel_futures and not wait else []
        manager, results = getattr(self, "_executor_manager_thread", None), getattr(self, "_result_queue", None)
        super().shutdown(wait=wait, cancel_futures=cancel_futures)
        for process in workers:
            with contextlib.suppress(OSError, ValueError):
                process.kill()
        if workers and manager is not None and results is not None:
            _complete_a_cut_message(manager, results)
            # ended before Python's exit wakes it: CPython 3.13.0's exit writes to the thread's wakeup pipe unlocked,
            # and the thread, ending the pool it finds broken, closed that pipe between the check and the write
            # ("Exception ignored on threading shutdown … Bad file descriptor" after the command's line)
            manager.join(MANAGER_WAIT)


def _complete_a_cut_message(manager: threading.Thread, results) -> None:
    """A worker killed while it sent its runs leaves half a message in the results pipe, and the pool's manager
    thread reads on for the rest for ever; Python's exit, which joins that thread, then hung (after the command's
    line). While the thread lives, bytes written into the pipe from this end (the pool keeps it open) complete the
    message: the thread finds it unreadable, takes the pool for broken (its runs are thrown away anyway) and ends.
    From a daemon thread, which a pipe already full cannot keep from exiting."""
    def feed():
        while manager.is_alive():
            manager.join(0.5)
            if manager.is_alive():
                with contextlib.suppress(OSError, ValueError, AttributeError):
                    os.write(results._writer.fileno(), bytes(1 << 16))

    threading.Thread(target=feed, name="trustsim-pool-unblock", daemon=True).start()


def _context():
    """fork, which starts workers in milliseconds with trustsim already imported, where it is safe (Linux, a
    single-threaded parent); otherwise a fork server that imports trustsim once. In practice trustsim's parent
    has another thread by then (NumPy's BLAS starts one on import), so on Linux too the pool usually starts from
    a fork server (the README says so)."""
    try:
        single = len(os.listdir("/proc/self/task")) == 1
    except OSError:
        single = False
    if sys.platform == "linux" and single:
        return multiprocessing.get_context("fork")
    if "forkserver" in multiprocessing.get_all_start_methods():
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload(["trustsim.experiments.execute", "trustsim.model"])
        return ctx
    return None


@contextlib.contextmanager
def main_not_reimported():
    """Worker processes started in the block do not import the script that called trustsim again where it cannot
    be: spawn and the fork server import ``__main__`` again by its path, and a script read from standard input
    (``python - <<EOF``: ``__file__`` is "<stdin>") has none, so no worker started ("BrokenProcessPool"). The
    workers need trustsim alone: the script's ``__file__`` is hidden meanwhile, as ``python -c`` has none."""
    main = sys.modules.get("__main__")
    path = getattr(main, "__file__", None)
    if path is None or getattr(getattr(main, "__spec__", None), "name", None) or os.path.isfile(path):
        yield
        return
    del main.__file__
    try:
        yield
    finally:
        main.__file__ = path


_QUIET_TRACKER = "ignore::UserWarning:multiprocessing.resource_tracker"


@contextlib.contextmanager
def environment_kept():
    """This process's environment as it was before the block, whatever the block set in it for the processes it
    started (the resource tracker's warnings here; a local Dask cluster's worker settings, ``cluster``)."""
    before = dict(os.environ)
    try:
        yield
    finally:
        for key in set(os.environ) - set(before):
            del os.environ[key]
        for key, value in before.items():
            if os.environ.get(key) != value:
                os.environ[key] = value


def _start_resource_tracker() -> None:
    """Start multiprocessing's resource tracker, if it is not running, with its warnings off. It unlinks the pool's
    semaphores should this process end without doing so; but when a stopped command has killed its workers it
    could also report, on the command's standard error after its one line, a semaphore it had not been told was
    already unlinked ("leaked semaphore objects …", then "No such file or directory"): nothing for a user to do."""
    with environment_kept():
        os.environ["PYTHONWARNINGS"] = ",".join(w for w in (os.environ.get("PYTHONWARNINGS"), _QUIET_TRACKER) if w)
        resource_tracker.ensure_running()


def _start_fork_server() -> None:
    """Start this process's fork server, if it is not running, with SIGINT blocked, as CPython starts its resource
    tracker: the server and every worker it forks keep it blocked, so a terminal's Ctrl-C, which reaches the whole
    foreground group, raises no KeyboardInterrupt in them (the server ignores SIGINT only once it has imported its
    preload, and hands its workers the handler it had before). The resource tracker is started first: starting, it
    unblocks SIGINT (:func:`_start_resource_tracker`). A Ctrl-C meanwhile reaches this process a moment later."""
    before = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        forkserver.ensure_running()
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, before)


def _worker_start(owner: int) -> None:
    """A pool worker's ``initializer``: Ctrl-C ignored (the sweep's process handles it and ends the workers) and
    SIGTERM and SIGHUP left to end it quietly (a forked worker had the command's handlers, which raise
    KeyboardInterrupt, and so a traceback); then :func:`die_with_parent`."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    for name in ("SIGTERM", "SIGHUP"):
        if hasattr(signal, name):
            signal.signal(getattr(signal, name), signal.SIG_DFL)
    die_with_parent(owner)
