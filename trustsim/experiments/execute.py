"""Running a sweep: the executor that carries its runs (local ones: ``pool.py``), the progress line, the
loop that keeps workers busy (:func:`finished_runs`), and its two consumers: :func:`run_sweep`, which journals
each finished run into a folder, and :func:`sweep_tables`, which keeps the tables in memory for the Python API.

Runs go to any ``concurrent.futures`` executor: this process, a local process pool, or a Dask
cluster's executor. A run never raises: a failure becomes a row with status "error".
"""

from __future__ import annotations

import contextlib
import io
import os
import time
from datetime import UTC, datetime
from pathlib import Path

from ..capacity import check_sweep_memory
from ..ensemble import batch_size
from ..errors import ParamError, counted
from ..members import REAL_KEYS
from ..params import resolve_key
from ..results import replace_file, target_lock
from .analysis import runs_frame
from .cluster import dask_executor, kept_busy, result_of, slots_now
from .design import Sweep, shard_ids, tasks
from .journal import (
    JOURNAL,
    FolderRemoved,
    Journal,
    finish,
    keep_own_runs,
    prepare_folder,
    state_of,
    timeseries_file,
    without_failures,
)
from .pool import die_with_parent, local_executor
from .progress import Progress
from .worker import FAIL_ENV, metric_row, run_batch, run_one, task_params

__all__ = ["FAIL_ENV", "die_with_parent", "local_executor", "metric_row", "run_batch", "run_one", "run_sweep",
           "sweep_tables"]


def _shape(task: dict) -> tuple:
    """What decides which tasks can share a batch: the base parameters and every factor not a real number."""
    fixed = []
    for key, value in task["factors"].items():
        group, name = resolve_key(key)
        if f"{group}.{name}" not in REAL_KEYS:
            fixed.append((f"{group}.{name}", repr(value)))
    return id(task["base"]), tuple(sorted(fixed))


def batches(stream, size, epoch=lambda: None):
    """Tasks from ``stream`` in batches whose markets share their shapes (``_shape``), of up to ``size(task)``
    tasks, asked once per shape and again when ``epoch()`` changes (the workers a cluster has): markets of another
    size, slots or length get a batch of their own size."""
    groups: dict = {}
    sizes: dict = {}
    for task in stream:
        key = _shape(task)
        if sizes.get(key, (None,))[0] != (now := epoch()):
            sizes[key] = (now, size(task))
        group = groups.setdefault(key, [])
        group.append(task)
        if len(group) >= sizes[key][1]:
            yield groups.pop(key)
    yield from groups.values()


# --- the sweep ------------------------------------------------------------------------------------


def fail_hook() -> frozenset:
    text = os.environ.get(FAIL_ENV, "").strip()
    if not text:
        return frozenset()
    try:
        return frozenset(int(x) for x in text.split(",") if x.strip())
    except ValueError:
        raise ParamError(FAIL_ENV, None, f"expected comma-separated run ids, got {text!r}") from None


@contextlib.contextmanager
def executor_for(workers: int | None, dask: str | None = None):
    """The executor runs go to (``dask``'s cluster, else ``workers`` local processes) and its slots; shut down
    when the block ends, its pending runs cancelled if the block fails."""
    close = None
    if dask:
        executor, slots, close = dask_executor(dask, workers)
    else:
        executor, slots = local_executor(workers)
    try:
        yield executor, slots
    except BaseException:
        shut_down(executor, close, cancel=True)
        raise
    shut_down(executor, close, cancel=False)


def shut_down(executor, close=None, *, cancel: bool) -> None:
    """Shut ``executor`` down, then close its Dask client and cluster (``close``, if it runs on one). With
    ``cancel`` nothing waits and the runs not started are cancelled: a process pool is told so
    (``cancel_futures``); Dask's executor takes no such argument and cancels its pending runs itself when
    told not to wait."""
    if not cancel:
        executor.shutdown()
    elif close is None:
        executor.shutdown(wait=False, cancel_futures=True)
    else:
        executor.shutdown(wait=False)
    if close:
        close()


def finished_runs(sweep: Sweep, todo, n_todo: int, executor, slots: int, progress: Progress, *, timeseries: bool,
                  fail: frozenset, batch: int | None = None):
    """Each of the runs ``todo`` (``n_todo`` run ids) as it finishes, from ensembles of ``batch`` runs (None:
    ``batch_size``) kept ``2 × slots`` deep on ``executor`` (on a Dask cluster, its threads as it has them: workers
    that join mid-sweep get batches too, made for the workers there are then): ``{"row", "wall", "timeseries"}``
    (the time series as Parquet bytes, if asked). Every run of a sweep, whether its rows go to a folder's journal
    (:func:`run_sweep`) or to tables in memory (:func:`sweep_tables`), comes from here.

    Stopped early (Ctrl-C, a failure), it leaves the runs still pending to the executor's owner, whose shut-down
    cancels them (``executor_for``): cancelling a Dask executor's future from here raced with its result, and
    when the result won, distributed logged a traceback after the sweep's own one line."""
    def now():  # a cluster's workers may join after the sweep started: the batches made then are for them all
        return slots_now(executor, slots)

    def size(task):  # a shape's own: its markets' size, slots and steps decide how many fit a batch
        return batch or batch_size(task_params(task), n_todo, now())

    work = ((None, run_batch, group) for group in batches(tasks(sweep, todo, timeseries, fail), size, now))
    for _, fut in kept_busy(executor, work, lambda: 2 * now(), progress.idle):
        for result in result_of(fut):  # run_batch never raises; a dead worker process does
            yield result
            progress.update(result["row"]["status"] == "ok")


def check_fits(sweep: Sweep, workers: int | None, dask: str | None, batch: int | None) -> None:
    """Refuse (ParamError) a sweep whose largest market, ``batch`` of them on each worker, would not fit this
    machine (on a Dask cluster other than ``local`` the workers' machines are not this one)."""
    if not dask or dask == "local":
        check_sweep_memory(sweep, batch, workers or os.cpu_count() or 1, sweep.source)


def sweep_tables(sweep: Sweep, *, workers: int | None = None, dask: str | None = None, quiet: bool = True,
                 timeseries: bool = False, batch: int | None = None, steady: bool = False, journal: list | None = None):
    """Run every run of a sweep and return its tables in memory, writing nothing: the runs table (``runs.csv``
    of ``trustsim sweep``, sorted by run id; with ``steady``, each run's MSER-5 verdict last, ``runs_frame``)
    and, with ``timeseries``, every run's per-step table with its ``run_id`` first (else None). The same runs as
    :func:`run_sweep`, so the same numbers, for any ``workers``. A ``journal`` list receives each run's entry as
    :func:`run_sweep` journals it (for :func:`~trustsim.experiments.journal.write_sweep`)."""
    # on use: only this path needs pandas
    import pandas as pd

    check_fits(sweep, workers, dask, batch)
    fail = fail_hook()
    ids = shard_ids(sweep.n_runs, None)
    entries, frames = [] if journal is None else journal, []
    with executor_for(workers, dask) as (executor, slots):
        progress = Progress(sweep.name, len(ids), 0, 0, quiet)
        try:
            with contextlib.closing(finished_runs(sweep, iter(ids), len(ids), executor, slots, progress,
                                                  timeseries=timeseries, fail=fail, batch=batch)) as results:
                for result in results:
                    entries.append({"row": result["row"], "wall": result["wall"]})
                    if result["timeseries"] is not None:
                        frames.append((result["row"]["run_id"], result["timeseries"]))
        finally:
            progress.close()
    ts = None
    if timeseries and frames:
        ts = pd.concat([pd.read_parquet(io.BytesIO(data)) for _, data in sorted(frames, key=lambda f: f[0])],
                       ignore_index=True)
    return runs_frame(sweep, entries, steady), ts


def run_sweep(sweep: Sweep, out: str | Path, *, workers: int | None = None, dask: str | None = None,
              resume: bool = False, shard: tuple[int, int] | None = None, force: bool = False, quiet: bool = False,
              timeseries: bool = False, figures: bool = True, batch: int | None = None) -> dict:
    """Run (the rest of) a sweep into ``out``; returns counts. The journal keeps every finished run.

    Runs go to the workers in ensembles of ``batch`` runs (None: ``batch_size``; 1: one at a time); a run's
    figures are the same whatever the batch.
    """
    out = Path(out)
    if shard is not None and shard[1] > sweep.n_runs:  # some shards would hold no run: surely not the split meant
        raise ParamError("--shard", f"{shard[0]}/{shard[1]}", f"more shards than the sweep has runs ("
                                                              f"{counted(sweep.n_runs, 'run')}); N is at most "
                                                              f"{sweep.n_runs}")
    check_fits(sweep, workers, dask, batch)
    fail = fail_hook()
    state = state_of(sweep, shard, timeseries)
    prepare_folder(out, state, resume, force, check_only=True)   # refuse before taking the lock
    with target_lock(out):  # one writer at a time: a second sweep or --resume here is refused, naming this PID
        return _run_locked(sweep, out, state, fail, workers=workers, dask=dask, resume=resume, shard=shard,
                           force=force, quiet=quiet, timeseries=timeseries, figures=figures, batch=batch)


def _run_locked(sweep: Sweep, out: Path, state: dict, fail: frozenset, *, workers, dask, resume, shard, force,
                quiet, timeseries, figures, batch) -> dict:
    prepare_folder(out, state, resume, force, check_only=True)   # again, now that no other writer can change it
    with executor_for(workers, dask) as (executor, slots):
        done = prepare_folder(out, state, resume, force)
        done = keep_own_runs(out, sweep, shard, done) if done else done
        done = without_failures(done, out, quiet)
        started = datetime.now(UTC).isoformat(timespec="seconds")
        t0 = time.perf_counter()
        ids = shard_ids(sweep.n_runs, shard)
        todo = (i for i in ids if i not in done)
        n_todo = sum(1 for i in ids if i not in done) if done else len(ids)
        if timeseries:
            (out / "timeseries").mkdir(exist_ok=True)
        progress = Progress(sweep.name if shard is None else f"{sweep.name} {shard[0]}/{shard[1]}", len(ids),
                            len(ids) - n_todo, 0, quiet)  # the runs kept all succeeded (without_failures)
        journal = Journal(out / JOURNAL)
        computed = 0
        try:
            with contextlib.closing(finished_runs(sweep, todo, n_todo, executor, slots, progress,
                                                  timeseries=timeseries, fail=fail, batch=batch)) as results:
                for result in results:
                    row = result["row"]
                    if result["timeseries"] is not None:
                        replace_file(timeseries_file(out, row["run_id"]),
                                     lambda tmp, data=result["timeseries"]: tmp.write_bytes(data))
                    journal.write({"row": row, "wall": result["wall"]})
                    computed += 1
        except BaseException:
            with contextlib.suppress(OSError):  # the failure being raised may be the disk's: it is the one to tell
                journal.close()
            with contextlib.suppress(OSError):
                progress.close()
            raise
        journal.close()
        progress.close()
    wall = time.perf_counter() - t0
    if not (out / JOURNAL).is_file():  # removed since its last line: the tables would hold no run
        raise FolderRemoved(str(out / JOURNAL))
    df = finish(out, sweep, state, started=started, wall=wall, figures=figures,
                extra={"computed_this_time": computed, "resumed_from": len(ids) - n_todo})
    failed = df.loc[df["status"] != "ok", "run_id"].tolist()
    return {"runs": len(df), "computed": computed, "failed": failed, "wall": wall}
