"""A sweep that waits says so: a server that is not a Dask scheduler is refused in bounded time, a cluster that has
lost every worker is named while the runs wait for one, a wait with no run finishing is told, and a sweep stopped
before it started says that nothing was written."""

from __future__ import annotations

import contextlib
import gc
import re
import socket
import time

import pytest
from test_experiments import GRID, sweep_file

from trustsim import cli
from trustsim.experiments import load_sweep
from trustsim.experiments import progress as progress_module
from trustsim.experiments.progress import Progress


@pytest.mark.timeout(120)  # without the bound, the connection never ends
def test_a_server_that_is_not_a_dask_scheduler_is_one_line_and_exit_2_in_bounded_time(tmp_path, capsys, monkeypatch):
    """A port that accepts the connection and never answers (a web server, a `trustsim viz` port): distributed's
    connect timeout does not cover its handshake, and the sweep hung without a word. Now the command gives up
    after ``CONNECT_SECONDS`` with one line, exit 2, and nothing written."""
    pytest.importorskip("distributed")
    from trustsim.experiments import cluster

    monkeypatch.setattr(cluster, "CONNECT_SECONDS", 2.0)
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()  # connections are queued by the kernel, and never read
        address = f"tcp://127.0.0.1:{silent.getsockname()[1]}"
        out = tmp_path / "out"
        t0 = time.monotonic()
        code = cli.main(["sweep", str(sweep_file(tmp_path, GRID)), "--out", str(out), "--quiet", "--dask", address])
        took = time.monotonic() - t0
    err = capsys.readouterr().err
    print(f"gave up after {took:.1f} s: {err.strip()}")
    assert code == 2 and err.count("\n") == 1 and took < 10, err
    assert f"--dask: {address}: cannot reach the scheduler (no Dask scheduler answered there within 2 s" in err
    assert not out.exists()


@pytest.mark.timeout(120)
def test_a_server_that_answers_in_another_protocol_is_refused_as_not_a_scheduler(tmp_path, capsys):
    """A port whose server answers at once in another protocol (a web server's "400 Bad Request", as a proxy or
    another service gives): distributed read those bytes as a frame's length, and the sweep ended with "internal
    error: MemoryError: Unable to allocate 3.07 EiB", exit 1. It is an address where no scheduler answers: one
    line, exit 2, nothing written."""
    pytest.importorskip("distributed")
    import threading

    def answer(server):
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            with conn:
                conn.recv(4096)
                conn.sendall(b"HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-length: 0\r\n\r\n")

    with socket.socket() as web:
        web.bind(("127.0.0.1", 0))
        web.listen()
        threading.Thread(target=answer, args=(web,), daemon=True).start()
        address = f"tcp://127.0.0.1:{web.getsockname()[1]}"
        out = tmp_path / "out"
        code = cli.main(["sweep", str(sweep_file(tmp_path, GRID)), "--out", str(out), "--quiet", "--dask", address])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1, err
    assert f"--dask: {address}: cannot reach the scheduler (the server there did not answer as a Dask scheduler" in err
    assert not out.exists()


def _live_clients() -> set[int]:
    """The Dask clients this process still holds, reachable or garbage not yet collected."""
    from distributed import Client

    return {id(o) for o in gc.get_objects() if isinstance(o, Client)}


@pytest.mark.timeout(120)
@pytest.mark.parametrize("server", ["refusing", "answering HTTP", "silent, then closed"])
def test_a_client_that_failed_to_connect_is_finalised_where_it_failed_not_later_by_chance(server, monkeypatch):
    """A client that failed to connect stayed behind as garbage (its exception's frames held it), and the garbage
    collector finalised it whenever it next ran: inside distributed's own lock, on the thread making the next
    cluster's client, its ``Client.__del__`` waited for that lock for ever (a test sat out its 120-s limit so). It
    is now finalised on the thread that made it, before ``_connect`` reports the failure, or as soon as a connection
    given up on fails."""
    pytest.importorskip("distributed")
    import threading

    from distributed import Client

    from trustsim.experiments import cluster

    monkeypatch.setattr(cluster, "CONNECT_SECONDS", 2.0)
    gc.collect()
    before = _live_clients()
    gc.disable()  # only the code under test may collect
    try:
        with socket.socket() as srv:
            srv.bind(("127.0.0.1", 0))
            address = f"tcp://127.0.0.1:{srv.getsockname()[1]}"
            if server != "refusing":
                srv.listen()
            if server == "answering HTTP":
                def answer():
                    with contextlib.suppress(OSError), srv.accept()[0] as conn:
                        conn.recv(4096)
                        conn.sendall(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n")
                threading.Thread(target=answer, daemon=True).start()
            with pytest.raises((OSError, TimeoutError, ValueError)):
                cluster._connect(Client, address)
        # a connection given up on fails once its server closes: its thread ends soon after
        for thread in [t for t in threading.enumerate() if t.name == "trustsim-dask-connect"]:
            thread.join(30)
        left = _live_clients() - before
    finally:
        gc.enable()
    assert left == set(), f"{len(left)} client(s) left for the garbage collector to finalise at any moment"


@pytest.mark.timeout(120)  # without the watch, the wait never ends
def test_a_sweep_on_a_dask_cluster_without_workers_names_it_while_the_runs_wait(tmp_path, monkeypatch):
    """A cluster with no worker (every one lost mid-sweep, or none joined yet): the runs wait for one to join (a
    cluster may add workers later), and the wait is told with the cluster's address, not waited out in silence
    (Progress spoke only when a run finished)."""
    pytest.importorskip("distributed")
    from distributed import LocalCluster

    from trustsim.experiments.execute import executor_for, finished_runs

    monkeypatch.setattr(progress_module, "IDLE_SECONDS", 0.5)
    sweep = load_sweep(sweep_file(tmp_path, GRID))
    notes: list = []

    class Watched(Progress):
        def idle(self, note=None):
            notes.append(note)
            if note is not None or len(notes) > 60:
                raise KeyboardInterrupt

    with LocalCluster(n_workers=0, processes=False, dashboard_address=None,
                      scheduler_kwargs={"dashboard_address": "127.0.0.1:0"}) as empty:
        with pytest.raises(KeyboardInterrupt), executor_for(None, empty.scheduler_address) as (executor, slots):
            for _ in finished_runs(sweep, iter(range(sweep.n_runs)), sweep.n_runs, executor, slots,
                                   Watched("sw", sweep.n_runs, 0, 0, True), timeseries=False, fail=frozenset()):
                pass
        address = empty.scheduler_address
    print(notes)
    assert notes[-1] == f"the Dask cluster {address} has no workers: the runs wait until one joins"


def test_a_wait_with_no_run_finishing_is_told_and_its_cause_once_even_when_quiet(capsys, monkeypatch):
    """``Progress.idle``: a line at each idle period when not quiet; the cause (when known) once while it holds,
    quiet or not, with what Ctrl-C keeps; told again after a run has finished and the cause come back."""
    note = "the Dask cluster tcp://h:1 has no workers: the runs wait until one joins"
    loud = Progress("sw", 10, 4, 0, quiet=False)
    loud.idle()
    loud.idle(note)
    loud.idle(note)
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 3 and all(line.startswith("sw: 4/10 runs, none finished in the last ") for line in lines)
    assert [note in line for line in lines] == [False, True, False]
    assert "(Ctrl-C keeps the finished runs; finish with --resume)" in lines[1]
    quiet = Progress("sw", 10, 4, 0, quiet=True)
    quiet.idle()
    quiet.idle(note)
    quiet.idle(note)
    quiet.update(True)
    quiet.idle(note)
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 2 and all(note in line for line in lines), lines
    assert lines[1].startswith("sw: 5/10 runs")


def test_a_sweep_interrupted_while_its_workers_start_says_nothing_was_written(tmp_path, capsys, monkeypatch):
    """Ctrl-C while a cluster starts (or a scheduler is being reached), before the folder is made ready: the line
    said "0 finished runs are kept in …/journal.jsonl; finish with: … --resume" of a folder that did not exist."""
    from trustsim.experiments import execute

    def interrupted(address, workers):
        raise KeyboardInterrupt

    monkeypatch.setattr(execute, "dask_executor", interrupted)
    out = tmp_path / "out"
    code = cli.main(["sweep", str(sweep_file(tmp_path, GRID)), "--out", str(out), "--quiet", "--dask", "local"])
    err = capsys.readouterr().err
    assert code == 130 and err == "trustsim: interrupted before the sweep started; nothing was written\n", err
    assert not out.exists()


@pytest.mark.timeout(60)  # without the watch, the wait never ends
def test_a_calibration_whose_runs_do_not_finish_tells_its_wait_with_the_cause(monkeypatch):
    """The calibration's runs wait on their batches as they finish (``Simulator.runs``): each idle period is told
    (``idle``, the progress bar's), with the cause where the executor knows one; a batch that finishes ends the wait."""
    from concurrent.futures import Future

    from conftest import SCENARIOS

    from trustsim.calibration.config import load_calibration
    from trustsim.calibration.simulate import Simulator
    from trustsim.experiments import cluster

    monkeypatch.setattr(progress_module, "IDLE_SECONDS", 0.05)
    late = Future()

    class Stalled:
        def submit(self, fn, jobs):
            return late

    executor = Stalled()
    monkeypatch.setitem(cluster._CLUSTERS, executor, ("tcp://h:1", lambda: 0))
    cal = load_calibration(SCENARIOS / "calibration.toml")
    sim = Simulator(cal, executor, 1, ["trust"])
    notes: list = []

    def idle(note):
        notes.append(note)
        if len(notes) == 3:
            late.set_result([[0.5]])

    sim.idle = idle
    assert sim.runs([cal.base], [1]).tolist() == [[0.5]]
    assert notes == ["the Dask cluster tcp://h:1 has no workers: the runs wait until one joins"] * 3


@pytest.mark.timeout(180)
def test_a_dask_worker_with_other_trustsim_code_is_refused_not_mixed_in(tmp_path, capsys, monkeypatch):
    """A worker of a cluster on which another trustsim is installed (a machine not updated) ran its runs with its own
    model, and the sweep recorded them under this code's digest, exit 0: tables that no rerun of this code makes.
    Each task now checks its worker's code. Here the workers are this code and the sweep's digest is made another,
    which is the same mismatch seen from the other side. The calibration's runs go through the same executor."""
    pytest.importorskip("distributed")
    import shlex

    from trustsim.experiments import JOURNAL, cluster, read_journal
    from trustsim.reproduce import code_digest

    real = code_digest()
    path, out = sweep_file(tmp_path, GRID), tmp_path / "out"
    with monkeypatch.context() as m:
        m.setattr(cluster, "code_digest", lambda: "feedfacefeedface", raising=False)
        code = cli.main(["sweep", str(path), "--out", str(out), "--quiet", "--dask", "local", "--workers", "1"])
    err = capsys.readouterr().err
    print(err)
    assert code == 1 and err.count("\n") == 1, err
    assert re.search(rf"trustsim: error: --dask local: a worker \({re.escape(socket.gethostname())}, tcp://[\d.]+:\d+\)"
                     rf" runs other trustsim code \(code {real} there, feedfacefeedface here\)", err), err  # which one
    assert read_journal(out / JOURNAL) == {} and not (out / "runs.csv").exists()
    command = shlex.split(err.split("finish with: ")[1])  # on workers with this code, the sweep finishes
    assert command[-6:] == ["--dask", "local", "--workers", "1", "--out", str(out)]
    assert cli.main([*command[1:], "--quiet"]) == 0, capsys.readouterr().err
    assert len(read_journal(out / JOURNAL)) == load_sweep(path).n_runs


_WORKER_WITHOUT = """
import sys

WITHOUT = sys.argv[1].split(",")


class Without:  # the named libraries cannot be imported, as on a node where they were never installed
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in WITHOUT:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)

sys.meta_path.insert(0, Without())
if __name__ == "__main__":
    from distributed.cli.dask_worker import main
    sys.argv = ["dask-worker", *sys.argv[2:]]
    main()
"""


_WITHOUT_SAID = [("trustsim", "has no trustsim installed: install this trustsim on every worker"),
                 ("scipy", "lacks a library trustsim needs (No module named 'scipy'): install this trustsim with its "
                           "dependencies on every worker")]


@pytest.mark.timeout(120)  # before, the sweep waited for workers, never ending
@pytest.mark.parametrize(("without", "said"), _WITHOUT_SAID)
def test_a_dask_worker_without_trustsim_or_its_libraries_is_named_as_such(tmp_path, capsys, without, said):
    """A node of a cluster on which trustsim (or a library of its) was not installed: its worker failed to unpickle
    the task, which names trustsim's functions, and left the cluster, or ran into the missing library mid-run; the
    sweep waited for workers, or stopped calling the worker dead "out of memory?" or with an internal error. Now the
    task reaches the worker as bytes, checked before they are unpickled, and the sweep stops with one line that names
    the worker and what it lacks, the worker still in the cluster. The worker here is a real ``dask worker`` process
    whose Python cannot import ``without``."""
    pytest.importorskip("distributed")
    import subprocess
    import sys

    from distributed import Client, LocalCluster

    from trustsim.experiments import JOURNAL, read_journal

    script = tmp_path / "worker.py"
    script.write_text(_WORKER_WITHOUT)
    with LocalCluster(n_workers=0, host="127.0.0.1", dashboard_address=None) as scheduler, \
            Client(scheduler) as client:
        worker = subprocess.Popen([sys.executable, str(script), without, scheduler.scheduler_address, "--nthreads",
                                   "1", "--no-nanny", "--no-dashboard"], stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL)
        try:
            client.wait_for_workers(1, timeout=60)
            out = tmp_path / "out"
            code = cli.main(["sweep", str(sweep_file(tmp_path, GRID)), "--out", str(out), "--quiet", "--dask",
                             scheduler.scheduler_address])
            err = capsys.readouterr().err
            print(err)
            assert code == 1 and err.count("\n") == 1, err
            assert re.search(rf"trustsim: error: --dask {re.escape(scheduler.scheduler_address)}: a worker "
                             rf"\({re.escape(socket.gethostname())}, tcp://[\d.]+:\d+\) {re.escape(said)}; 0 finished "
                             rf"runs are kept in .*; finish with: trustsim sweep ", err), err
            assert read_journal(out / JOURNAL) == {} and not (out / "runs.csv").exists()
            assert worker.poll() is None and len(client.scheduler_info()["workers"]) == 1  # it stays, and can be mended
        finally:
            worker.kill()
            worker.wait()


def test_a_local_cluster_leaves_this_process_environment_as_it_was(tmp_path, capsys):
    """distributed's nannies wrote their workers' settings into the environment of the process that started a local
    cluster (OPENBLAS_NUM_THREADS=1, OMP_NUM_THREADS=1, PYTHONHASHSEED, ...), so every process it started afterwards
    inherited them: a later sweep's own workers ran BLAS on one thread, and a notebook's subprocesses too. The sweep on
    the local cluster still makes its tables."""
    import os

    pytest.importorskip("distributed")
    before = dict(os.environ)
    out = tmp_path / "out"
    code = cli.main(["sweep", str(sweep_file(tmp_path, GRID)), "--out", str(out), "--quiet", "--dask", "local",
                     "--workers", "1"])
    assert code == 0, capsys.readouterr().err
    assert (out / "runs.csv").exists()
    changed = {k: (before.get(k), os.environ.get(k)) for k in set(before) | set(os.environ)
               if before.get(k) != os.environ.get(k)}
    assert changed == {}, changed


def _dying_cluster():
    """An executor whose every task ends as distributed's KilledWorker: each worker that ran it died (out of memory)."""
    from concurrent.futures import Future
    from types import SimpleNamespace

    from distributed import KilledWorker

    class Dying:
        def submit(self, fn, *args, **kwargs):
            fut = Future()
            fut.set_exception(KilledWorker("checked-1", SimpleNamespace(address="tcp://10.0.0.7:4000"), 3))
            return fut

        def shutdown(self, *args, **kwargs):
            pass

    return Dying()


def test_a_sweep_whose_dask_workers_die_running_it_keeps_its_runs_and_says_how_to_finish(tmp_path, capsys,
                                                                                          monkeypatch):
    """Dask gives up on a task after a few workers died running it (KilledWorker); the sweep ended with "internal
    error: KilledWorker … please report this". It is a dead worker, as with a local pool: one line with the command
    that finishes the sweep on the same cluster, exit 1."""
    pytest.importorskip("distributed")
    from trustsim.experiments import execute

    monkeypatch.setattr(execute, "dask_executor", lambda address, workers: (_dying_cluster(), 1, lambda: None))
    out = tmp_path / "out"
    code = cli.main(["sweep", str(sweep_file(tmp_path, GRID)), "--out", str(out), "--quiet", "--dask", "tcp://h:1"])
    err = capsys.readouterr().err
    assert code == 1 and err.count("\n") == 1, err
    assert err.startswith("trustsim: a worker process died (out of memory?); 0 finished runs are kept in "), err
    assert f"--resume --dask tcp://h:1 --out {out}" in err


def test_a_calibration_whose_dask_workers_die_running_it_stops_as_at_a_dead_worker():
    """The calibration's runs on a cluster: KilledWorker is a dead worker (BrokenProcessPool, which `trustsim
    calibrate` reports with the command that finishes it), not an internal error."""
    pytest.importorskip("distributed")
    from concurrent.futures.process import BrokenProcessPool

    from conftest import SCENARIOS

    from trustsim.calibration.config import load_calibration
    from trustsim.calibration.simulate import Simulator

    sim = Simulator(load_calibration(SCENARIOS / "calibration.toml"), _dying_cluster(), 1, ["trust"])
    with pytest.raises(BrokenProcessPool, match="a Dask worker died running it"):
        sim.runs([sim.cal.base], [1])


def test_workers_that_join_a_dask_cluster_mid_sweep_get_batches_too(tmp_path, monkeypatch):
    """A batch scheduler starts a cluster's workers when it can, often after the sweep has started. The sweep split
    its runs by the threads the cluster had at its start (none: counted as one) and kept two batches in flight: 48
    runs went out as two batches of 24, and the workers that joined later had nothing to run. Now the batches made
    after they joined are sized for them, and more are kept in flight."""
    from concurrent.futures import Future

    from trustsim.experiments import cluster
    from trustsim.experiments.execute import finished_runs

    sweep = load_sweep(sweep_file(tmp_path, GRID.replace("replications = 3", "replications = 12")))
    assert sweep.n_runs == 48
    sizes: list[int] = []

    class Cluster:  # runs each batch at once, here; the cluster grows from none to 4 threads after the first batch
        def submit(self, fn, batch):
            sizes.append(len(batch))
            fut = Future()
            fut.set_result(fn(batch))
            return fut

    executor = Cluster()
    monkeypatch.setitem(cluster._CLUSTERS, executor, ("tcp://h:1", lambda: 4 if sizes else 0))
    rows = [r["row"]["run_id"] for r in finished_runs(sweep, iter(range(48)), 48, executor, 1,
                                                       Progress("sw", 48, 0, 0, True), timeseries=False,
                                                       fail=frozenset())]
    assert sorted(rows) == list(range(48))
    assert sizes == [24, 6, 6, 6, 6], sizes


def test_a_calibrations_next_generation_is_batched_for_the_workers_that_joined_its_cluster(monkeypatch):
    """A calibration split every generation's runs by the threads its cluster had when it started: workers a batch
    scheduler started later never had a batch. Each generation's runs are now made for the threads there are then."""
    from concurrent.futures import Future

    import numpy as np
    from conftest import SCENARIOS

    from trustsim.calibration.config import load_calibration
    from trustsim.calibration.simulate import Simulator
    from trustsim.experiments import cluster

    sizes: list[list[int]] = [[], []]

    class Cluster:  # runs each batch at once, here; 4 threads join after the first generation
        generation = 0

        def submit(self, fn, batch):
            sizes[self.generation].append(len(batch))
            fut = Future()
            fut.set_result(fn(batch))
            return fut

    executor = Cluster()
    monkeypatch.setitem(cluster._CLUSTERS, executor, ("tcp://h:1", lambda: 4 * executor.generation))
    cal = load_calibration(SCENARIOS / "calibration.toml")
    sim = Simulator(cal, executor, 1, [cal.spec.targets[0].measure])
    base = cal.base.replace(**{"run.steps": 2})
    for generation in (0, 1):
        executor.generation = generation
        assert np.isfinite(sim.runs([base] * 16, list(range(1, 17)))).all()
    assert sizes == [[8, 8], [2] * 8], sizes
