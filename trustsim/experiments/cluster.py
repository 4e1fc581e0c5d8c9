"""Runs on a Dask cluster: the executor that carries them there (``--dask ADDRESS`` or ``local``), made without
waiting forever for a server that is not a scheduler, and what a sweep that waits for runs can say about the cluster
(``stall_note``). Dask's distributed is optional: imported only when a command asks for a cluster."""

from __future__ import annotations

import contextlib
import gc
import logging
import os
import pickle
import signal
import socket
import threading
import time
import weakref
from concurrent.futures import FIRST_COMPLETED, wait
from concurrent.futures.process import BrokenProcessPool

from ..errors import ParamError
from ..reproduce import code_digest
from . import progress
from .pool import environment_kept, main_not_reimported


@contextlib.contextmanager
def _sigint_ignored():
    """SIGINT ignored while a local cluster starts its worker processes, which inherit that (and so their Python
    raises no KeyboardInterrupt): a Ctrl-C at a terminal reaches every process of the foreground group, and the
    workers printed tracebacks of their own beside the sweep's line. The sweep's process handles Ctrl-C and closes
    the cluster. (Only the main thread may set a signal's handler; elsewhere nothing changes.)"""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    before = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, before)


def _quiet_distributed() -> list[tuple[logging.Logger, int]]:
    """distributed's loggers (each with its own level and handler) made to log only critical errors, and their
    levels before: a scheduler lost mid-sweep is then the sweep's one line (commands/sweep.py), not the client's
    logged tracebacks of every reconnection it tried."""
    loggers = [logging.getLogger("distributed")] + [
        logger for name, logger in logging.root.manager.loggerDict.items()
        if name.startswith("distributed.") and isinstance(logger, logging.Logger)]
    levels = [(logger, logger.level) for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.CRITICAL)
    return levels


CONNECT_SECONDS = 20.0
ADDRESS_EXPECTED = "expected tcp://host:port or local"  # what a --dask (or dask=) that names no cluster is told


def _connect(client_class, address: str):
    """A Dask client of the scheduler at ``address``, or TimeoutError after ``CONNECT_SECONDS``. distributed's own
    timeout covers reaching the port, not the handshake after it: a server that is not a Dask scheduler (a web
    server, a ``trustsim viz`` port) accepts the connection and never answers, and the client waits forever. So
    the client is made on a thread of its own, which is left behind (a daemon) if it does not finish in time.

    A client that fails is finalised on that thread (``_finalised``), and one made after the caller gave up is
    closed there: left as garbage, its ``Client.__del__`` ran whenever the collector next did, and where that was
    inside distributed's own lock, on the thread making the next cluster's client, it waited for the lock for ever."""
    made: dict = {}
    lock, gave_up = threading.Lock(), []

    def attempt():
        try:
            client = client_class(address, timeout=f"{CONNECT_SECONDS * 3 / 4:g}s")
        except (OSError, TimeoutError, ValueError) as exc:
            made["error"] = _finalised(exc, OSError(str(exc)))
        except Exception as exc:  # noqa: BLE001
            # a server that answers at once in another protocol (an HTTP "400 Bad Request"): distributed reads its
            # bytes as a frame's length and fails as it will (a MemoryError for exabytes), not as a refusal
            made["error"] = _finalised(exc, ValueError(
                f"the server there did not answer as a Dask scheduler ({type(exc).__name__}): is it a scheduler's "
                f"address?"))
        except BaseException as exc:  # noqa: BLE001  (raised again on the caller's thread)
            made["error"] = exc
        else:
            with lock:
                if not gave_up:
                    made["client"] = client
                    return
            client.close()

    thread = threading.Thread(target=attempt, name="trustsim-dask-connect", daemon=True)
    thread.start()
    thread.join(CONNECT_SECONDS)
    with lock:
        if thread.is_alive():
            gave_up.append(True)
            raise TimeoutError(f"no Dask scheduler answered there within {CONNECT_SECONDS:g} s: is it a "
                               f"scheduler's address?")
    if "error" in made:
        raise made["error"]
    return made["client"]


def _finalised(exc: BaseException, told: BaseException) -> BaseException:
    """``told``, the failure to report, once the client that failed with ``exc`` is finalised here: its frames held
    it, and it is garbage only with them (hence a new exception, without them, and the collector run now)."""
    exc.__traceback__ = exc.__context__ = exc.__cause__ = None
    gc.collect()
    return told


def dask_executor(address: str, workers: int | None, option: str = "--dask"):
    """A concurrent.futures executor on a Dask cluster (``tcp://host:port``) or a local one (``local``); a ParamError
    names ``option`` (``dask``: the argument of ``trustsim.calibrate``)."""
    try:
        # an optional dependency, needed only here
        import cloudpickle  # distributed's own pickler of tasks
        from distributed import Client, LocalCluster
    except ImportError:
        raise ParamError(option, None, 'needs Dask distributed: pip install "trustsim[dask]"') from None
    try:
        if address == "local":
            # distributed's nannies write their workers' settings (OMP_NUM_THREADS, OPENBLAS_NUM_THREADS and
            # MKL_NUM_THREADS of 1, PYTHONHASHSEED, ...) into this process's environment, which every process it
            # started afterwards inherited (a later local pool's BLAS on one thread, a notebook's subprocesses)
            with _sigint_ignored(), environment_kept(), main_not_reimported():
                # no dashboard; the scheduler's own HTTP server on a free port, not 8787, which another cluster on
                # the machine (a second sweep) may hold already. The workers write critical records only: a
                # heartbeat that meets the scheduler closing logs an error with its traceback beside the sweep's
                # one line, and the sweep reports its workers' failures itself
                cluster = LocalCluster(n_workers=workers or os.cpu_count() or 1, threads_per_worker=1,
                                       processes=True, host="127.0.0.1", dashboard_address=None,
                                       scheduler_kwargs={"dashboard_address": "127.0.0.1:0"},
                                       silence_logs=logging.CRITICAL)
            client = Client(cluster)
        else:
            cluster = None
            client = _connect(Client, address)
    except (OSError, TimeoutError, ValueError) as exc:
        raise ParamError(option, address, f"cannot reach the scheduler ({exc})") from None
    slots = _threads(client) or 1
    loud = _quiet_distributed()
    executor = _on_this_code(client.get_executor(pure=False), address, cloudpickle.dumps)
    _CLUSTERS[executor] = (address, _counted(client))

    def close():
        try:
            with environment_kept():
                client.close()
                if cluster is not None:
                    cluster.close()
        finally:
            for logger, level in loud:
                logger.setLevel(level)

    return executor, slots, close


def _threads(client) -> int:
    """The worker threads a Dask cluster has now (0 without workers)."""
    return sum(w.get("nthreads", 1) for w in client.scheduler_info().get("workers", {}).values())


COUNT_SECONDS = 1.0  # how long a cluster's count of threads is taken as current: a sweep asks for it at every run


def _counted(client):
    """:func:`_threads` of ``client``, asked of its scheduler at most once every ``COUNT_SECONDS``."""
    last = [float("-inf"), 0]

    def threads() -> int:
        if time.monotonic() - last[0] >= COUNT_SECONDS:
            last[1] = _threads(client)
            last[0] = time.monotonic()
        return last[1]

    return threads


OTHER_CODE = "trustsim-other-code"  # the first argument of the RuntimeError a worker that cannot run this code raises


def _on_this_code(executor, address: str, dumps):
    """``executor`` whose every task first checks that its worker runs the code that submitted it (the digest of
    trustsim's source, ``reproduce.code_digest``), and raises ``RuntimeError(OTHER_CODE, why)`` where it does not.
    A worker of another machine with another trustsim installed ran its runs with its own model, and the sweep or
    calibration recorded them, under this code's digest, as this code's results, saying nothing.

    The run and its arguments travel as bytes (``dumps``: cloudpickle's, as Dask pickles a task), unpickled on the
    worker only after the check: they name trustsim's functions and classes, and a worker without trustsim (a node
    it was not installed on) failed to unpickle the task itself, before any check ran, and left the cluster; the
    sweep then waited for workers, or called the worker dead "out of memory?", never naming the missing install.
    A library trustsim needs that the worker lacks is named too."""
    here, submit = code_digest(), executor.submit

    def checked(payload: bytes):  # nested, so sent by value: a worker with other code or none unpickles it too
        def where() -> str:
            try:
                # on the worker, where distributed runs it: which of its machine's workers it is
                from distributed import get_worker
                return f"{socket.gethostname()}, {get_worker().address}"
            except (ImportError, ValueError):
                return socket.gethostname()

        def unable(exc: ImportError) -> RuntimeError:
            if exc.name == "trustsim":
                return RuntimeError(OTHER_CODE, f"--dask {address}: a worker ({where()}) has no trustsim installed: "
                                                f"install this trustsim on every worker")
            return RuntimeError(OTHER_CODE, f"--dask {address}: a worker ({where()}) lacks a library trustsim needs "
                                            f"({exc}): install this trustsim with its dependencies on every worker")

        try:
            # the worker's own trustsim, which may be one from before code digests
            from trustsim.reproduce import code_digest as digest_there
            there = digest_there()
        except ImportError as exc:
            if not (exc.name or "trustsim.").startswith("trustsim."):  # no trustsim, or one without its libraries
                raise unable(exc) from None
            there = "unknown"
        if there != here:
            raise RuntimeError(OTHER_CODE, f"--dask {address}: a worker ({where()}) runs other trustsim "
                                           f"code (code {there} there, {here} here): its runs would not be this "
                                           f"code's; install this trustsim on every worker")
        try:
            fn, args, kwargs = pickle.loads(payload)
            return fn(*args, **kwargs)
        except ImportError as exc:  # this code, which imports it here: a library the worker's install lacks
            raise unable(exc) from None

    def submit_checked(fn, *args, **kwargs):
        return submit(checked, dumps((fn, args, kwargs)))

    executor.submit = submit_checked
    return executor


def other_code(exc: BaseException) -> str | None:
    """The line that says a worker of a Dask cluster runs other code or lacks trustsim or a library of its, if ``exc``
    is its error, else None."""
    args = exc.args if isinstance(exc, RuntimeError) else ()
    return str(args[1]) if len(args) == 2 and args[0] == OTHER_CODE else None


def result_of(future):
    """``future.result()``, where a Dask task whose every worker died while running it (distributed's
    ``KilledWorker``, raised after a few tries: a run too large for the workers' memory, say) raises
    ``BrokenProcessPool``, as a local pool's dead worker does: the sweep or calibration then stops with its line
    that keeps the finished runs and gives the command that finishes them, not an internal error."""
    try:
        return future.result()
    except Exception as exc:
        if type(exc).__name__ == "KilledWorker" and type(exc).__module__.startswith("distributed"):
            raise BrokenProcessPool(f"a Dask worker died running it ({exc})") from exc
        raise


_CLUSTERS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # a Dask executor: its address, its threads now


def slots_now(executor, slots: int) -> int:
    """The runs ``executor`` can run at once now: on a Dask cluster its workers' threads as its scheduler counts them
    (at least 1), since workers join a cluster while a sweep runs (a batch scheduler starts them when it can); else,
    or while the scheduler does not answer, ``slots``, the count it started with."""
    _, threads = _CLUSTERS.get(executor, (None, None))
    if threads is None:
        return slots
    try:
        return max(threads(), 1)
    except Exception:  # noqa: BLE001  (a client between reconnections: the count it started with)
        return slots


def stall_note(executor) -> str | None:
    """Why no run finishes, where it is known: a Dask cluster without workers (all lost, or none joined yet) holds
    the runs until one joins. None for local processes, or while the cluster has workers."""
    address, workers = _CLUSTERS.get(executor, (None, None))
    if workers is None:
        return None
    try:
        if workers():
            return None
    except Exception:  # noqa: BLE001  (a client between reconnections: nothing known, so nothing said)
        return None
    return f"the Dask cluster {address} has no workers: the runs wait until one joins"


def wait_told(futures, executor, idle, return_when=FIRST_COMPLETED):
    """``concurrent.futures.wait(futures, return_when=...)`` that calls ``idle(stall_note(executor))`` after each
    ``progress.IDLE_SECONDS`` in which none finished, so a wait is told, not waited out in silence (every worker of a
    cluster gone, say); without ``idle``, a plain wait."""
    while True:
        done, pending = wait(futures, timeout=progress.IDLE_SECONDS if idle else None, return_when=return_when)
        if done or not idle:
            return done, pending
        idle(stall_note(executor))


def kept_busy(executor, work, window, idle=None):
    """Each ``(tag, future)`` of ``work`` — ``(tag, function, argument)`` items submitted to ``executor`` as they are
    needed, ``window`` at a time (a number, or a function asked again after each finished item: a cluster that
    gained workers gets more), so that every worker has its next batch queued — as it finishes: the loop of
    sweeps and calibrations alike. Stopped early, it leaves the futures still pending to the executor's owner,
    whose shut-down cancels them; ``idle`` as :func:`wait_told`'s."""
    pending: dict = {}
    deep = window if callable(window) else lambda: window
    while True:
        limit = deep()
        while len(pending) < limit and (item := next(work, None)) is not None:
            tag, function, argument = item
            pending[executor.submit(function, argument)] = tag
        if not pending:
            return
        finished, _ = wait_told(list(pending), executor, idle)
        for future in finished:
            yield pending.pop(future), future
