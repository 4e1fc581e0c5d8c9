"""Batch experiments: same table whatever the executor, resume after a kill, failures recorded,
Sobol indices that find the factors that matter, shards merged into the whole, bad sweep files refused."""

from __future__ import annotations

import contextlib
import errno
import json
import math
import os
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import BASELINE, SCENARIOS, data_under_legends

from trustsim import cli
from trustsim.errors import ParamError
from trustsim.experiments import JOURNAL, load_sweep, merge, read_journal, run_seed, run_sweep, sensitivity
from trustsim.reproduce import code_digest

SMALL = """
[run]
steps = {steps}
[market]
buyers = {buyers}
suppliers = 5
"""


def sweep_file(tmp_path: Path, body: str, steps: int = 12, buyers: int = 10, name: str = "sw") -> Path:
    path = tmp_path / f"{name}.toml"
    path.write_text(f'extends = "{BASELINE.as_posix()}"\n' + SMALL.format(steps=steps, buyers=buyers) + body)
    return path


GRID = """
[sweep]
design = "grid"
replications = 3
seed = 11
metrics = ["advantage.market_share", "tco_per_unit"]
[sweep.factors]
"market.uncertainty" = [0.0, 0.6]
partner_share = [0.3, 0.7]
"""


def read_bytes(folder: Path) -> tuple[bytes, bytes]:
    return (folder / "runs.csv").read_bytes(), (folder / "runs.parquet").read_bytes()


def test_runs_table_identical_with_one_two_workers_and_local_dask(tmp_path):
    sweep = load_sweep(sweep_file(tmp_path, GRID))
    one = run_sweep(sweep, tmp_path / "one", workers=1, quiet=True, figures=False)
    run_sweep(sweep, tmp_path / "two", workers=2, quiet=True, figures=False)
    run_sweep(sweep, tmp_path / "dask", workers=2, dask="local", quiet=True, figures=False)
    assert one["runs"] == 12 and one["failed"] == []
    reference = read_bytes(tmp_path / "one")
    assert read_bytes(tmp_path / "two") == reference
    assert read_bytes(tmp_path / "dask") == reference
    df = pd.read_parquet(tmp_path / "one" / "runs.parquet")
    assert list(df["run_id"]) == list(range(12))
    assert (df["status"] == "ok").all()
    # the design: every combination, replicated, each run with its own seed
    assert sorted(set(zip(df["market.uncertainty"], df["buyers.partner_share"], strict=True))) == [
        (0.0, 0.3), (0.0, 0.7), (0.6, 0.3), (0.6, 0.7)]
    assert df["seed"].nunique() == 12
    # long-run metrics by posture, and the advantage computed from them
    n_p, n_a = df["partner.buyers"], df["aggressive.buyers"]
    expect = (df["partner.market_share"] / n_p - df["aggressive.market_share"] / n_a) * (n_p + n_a)
    assert (df["advantage.market_share"] - expect).abs().max() < 1e-12
    assert ((df["partner.buyers"] == 3) == (df["buyers.partner_share"] == 0.3)).all()


def test_an_interrupted_sweep_on_dask_cancels_the_runs_it_has_not_started():
    """Ctrl-C inside a sweep's executor block on Dask: the executor (which takes no ``cancel_futures``, unlike a
    process pool) is shut down without waiting, its runs not started are cancelled, and the interrupt goes
    on up, for the command to say how many runs are kept and exit 130."""
    pytest.importorskip("distributed")
    from trustsim.experiments.execute import executor_for

    with pytest.raises(KeyboardInterrupt), executor_for(1, "local") as (executor, _):
        executor.submit(time.sleep, 0.1).result()  # the worker is up
        waiting = [executor.submit(time.sleep, 60) for _ in range(4)]
        t0 = time.monotonic()
        raise KeyboardInterrupt
    assert sum(f.cancelled() for f in waiting) >= 3 and time.monotonic() - t0 < 30  # nothing waited for a run


def test_a_sweep_stopped_on_dask_leaves_its_pending_runs_to_the_shut_down_and_no_error_behind(tmp_path):
    """A sweep stopped between two results (Ctrl-C, a full disk) while runs execute on Dask. The runs it waits
    for are cancelled by the executor's shut-down, not by the sweep's loop: a concurrent future cancelled from
    our side raced with its run's result, and when the result won, distributed logged "InvalidStateError:
    CANCELLED" with a traceback after the sweep's own one line (seen now and then at a terminal's Ctrl-C)."""
    pytest.importorskip("distributed")
    import logging

    from trustsim.experiments.execute import executor_for, finished_runs
    from trustsim.experiments.progress import Progress

    sweep = load_sweep(sweep_file(tmp_path, GRID, steps=600, buyers=20))
    logged: list[logging.LogRecord] = []
    catch = logging.Handler(logging.ERROR)
    catch.emit = logged.append
    logging.getLogger("tornado.application").addHandler(catch)
    submitted = []
    try:
        with pytest.raises(KeyboardInterrupt), executor_for(2, "local") as (executor, slots):
            submit = executor.submit
            executor.submit = lambda *a: submitted.append(submit(*a)) or submitted[-1]
            results = finished_runs(sweep, iter(range(sweep.n_runs)), sweep.n_runs, executor, slots,
                                    Progress("sw", sweep.n_runs, 0, 0, True), timeseries=False, fail=frozenset(),
                                    batch=1)
            next(results)
            results.close()  # what a sweep's loop does when it stops
            waiting = [f for f in submitted if not f.done()]
            assert waiting and not any(f.cancelled() for f in waiting)
            raise KeyboardInterrupt
        time.sleep(2)  # a run that was executing ends meanwhile
    finally:
        logging.getLogger("tornado.application").removeHandler(catch)
    print(len(waiting), "runs waited;", sum(f.cancelled() for f in waiting), "cancelled by the shut-down;",
          [r.getMessage() for r in logged])
    assert not logged


def test_ctrl_c_at_a_terminal_stops_a_sweep_on_a_local_cluster_with_one_line_and_no_worker_traceback(tmp_path):
    """A terminal's Ctrl-C reaches every process of its foreground group, the local cluster's workers too: they
    ignore it (the sweep's process closes them), so the user reads the sweep's line and no worker's traceback."""
    pytest.importorskip("distributed")
    path = sweep_file(tmp_path, GRID.replace("replications = 3", "replications = 100"), steps=120, buyers=20)
    out = tmp_path / "out"
    proc = subprocess.Popen([sys.executable, "-m", "trustsim", "sweep", str(path), "--dask", "local", "--workers",
                             "2", "--batch", "1", "--out", str(out)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            start_new_session=True,  # its own process group, as a terminal's foreground job
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        if (out / JOURNAL).exists() and (out / JOURNAL).read_bytes().count(b"\n") >= 3:
            break
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    err = err.decode()
    print(err)
    assert proc.returncode == 130, err
    assert "Traceback" not in err and "KeyboardInterrupt" not in err
    assert "finished runs are kept" in err.splitlines()[-1] and "--resume" in err.splitlines()[-1]


def test_a_local_clusters_workers_write_no_error_a_closing_scheduler_causes():
    """A worker's heartbeat that meets the scheduler closing (Ctrl-C, or the sweep's end) logs distributed's "Failed
    to communicate with scheduler during heartbeat" at ERROR with its traceback, on the terminal beside the sweep's
    one line. A local cluster's workers belong to the sweep, which reports their failures itself: they write only
    critical records. (The race is rare; the worker logs here what it logs then.)"""
    pytest.importorskip("distributed")
    script = """
import logging
from trustsim.experiments.execute import executor_for

def heartbeat_fails():
    try:
        raise OSError("the scheduler closed")
    except OSError:
        logging.getLogger("distributed.worker").exception("Failed to communicate with scheduler during heartbeat.")
    return True

if __name__ == "__main__":
    with executor_for(1, "local") as (executor, _):
        print(executor.submit(heartbeat_fails).result())
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=180)
    print(done.stderr)
    assert done.returncode == 0 and done.stdout.strip() == "True", done.stderr
    assert "heartbeat" not in done.stderr and "Traceback" not in done.stderr


def test_a_local_cluster_starts_without_a_warning_while_another_holds_the_dashboard_port():
    """Two sweeps on local clusters at once: the second's scheduler printed "Port 8787 is already in use"."""
    pytest.importorskip("distributed")
    import socket
    import warnings

    from trustsim.experiments.execute import executor_for

    with socket.socket() as held:
        with contextlib.suppress(OSError):  # someone holds it already: the same test
            held.bind(("127.0.0.1", 8787))
        held.listen()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            with executor_for(1, "local") as (executor, _):
                assert executor.submit(sum, [1, 2]).result() == 3
    print([str(w.message) for w in caught])
    assert not [w for w in caught if "already in use" in str(w.message)]


def test_a_run_is_the_model_run_with_its_seed(tmp_path):
    from trustsim.model import TrustMarket

    sweep = load_sweep(sweep_file(tmp_path, GRID))
    run_sweep(sweep, tmp_path / "out", workers=1, quiet=True, figures=False)
    row = pd.read_csv(tmp_path / "out" / "runs.csv").iloc[7]
    assert row["seed"] == run_seed(11, int(row["point"]), int(row["replicate"]))
    params = sweep.base.replace(**{"market.uncertainty": row["market.uncertainty"],
                                   "buyers.partner_share": row["buyers.partner_share"]})
    direct = TrustMarket(params, rng=int(row["seed"])).run().recorder.summary()["long_run"]
    assert row["partner.tco_per_unit"] == direct["partner"]["tco_per_unit"]
    assert row["all.trust_buyer"] == direct["all"]["trust_buyer"]


def test_seeds_depend_on_identity_only():
    assert run_seed(5, 3, 1) == run_seed(5, 3, 1)
    assert len({run_seed(5, p, r) for p in range(20) for r in range(5)}) == 100
    assert run_seed(5, 0, 2, "common") == run_seed(5, 9, 2, "common") != run_seed(5, 9, 3, "common")
    assert 0 <= run_seed(2**63 - 1, 10**6, 10**6) < 2**63


def test_killed_sweep_resumes_to_the_same_table_without_recomputing(tmp_path):
    body = GRID.replace("replications = 3", "replications = 20")   # 80 runs
    path = sweep_file(tmp_path, body, steps=60, buyers=20)
    sweep = load_sweep(path)
    run_sweep(sweep, tmp_path / "whole", workers=1, quiet=True, figures=False)

    out = tmp_path / "killed"
    # ensembles of 4 runs: the journal grows 4 lines at a time, so the kill lands part-way even when this process
    # waits long for the processor (in 2 ensembles of 40, the second could finish before the kill)
    proc = subprocess.Popen([sys.executable, "-m", "trustsim", "sweep", str(path), "--out", str(out), "--workers", "1",
                             "--batch", "4", "--quiet"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    journal = out / JOURNAL
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if journal.exists() and journal.read_bytes().count(b"\n") >= 5:
            break
        time.sleep(0.005)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    before = journal.read_bytes()
    before = before[: before.rfind(b"\n") + 1]  # the lines written whole (the kill can land in one's writing)
    kept = before.count(b"\n")
    assert 5 <= kept < 80, "the sweep should have been killed part-way"
    assert not (out / "runs.csv").exists()
    with open(journal, "ab") as fh:   # a line cut short by the kill
        fh.write(b'{"row": {"run_id": 7')

    res = run_sweep(sweep, out, workers=2, resume=True, quiet=True, figures=False)
    assert res["computed"] == 80 - kept           # nothing that had finished ran again
    after = journal.read_bytes()
    assert after.startswith(before) and after.count(b"\n") == 80
    assert len(read_journal(journal)) == 80
    assert read_bytes(out) == read_bytes(tmp_path / "whole")


def test_resume_into_a_folder_that_does_not_exist_says_it_starts_the_sweep(tmp_path, capsys):
    """``--resume`` with a mistyped ``--out`` finds no sweep to resume: it starts one (a job resubmitted on a cluster
    needs no other command the first time), but says so at once, rather than recomputing every run unannounced."""
    from trustsim.cli import main

    path, out = sweep_file(tmp_path, GRID.replace("replications = 3", "replications = 1")), tmp_path / "typo"
    assert main(["sweep", str(path), "--out", str(out), "--resume", "--workers", "1", "--quiet"]) == 0
    err = capsys.readouterr().err
    print(err)
    assert f"trustsim: nothing to resume in {out}: the sweep starts there" in err.splitlines()
    assert main(["sweep", str(path), "--out", str(out), "--resume", "--workers", "1", "--quiet"]) == 0
    assert "nothing to resume" not in capsys.readouterr().err  # a sweep there now: resumed, no note


def test_resume_refuses_a_different_sweep_and_fresh_start_refuses_an_unfinished_one(tmp_path):
    path = sweep_file(tmp_path, GRID)
    out = tmp_path / "out"
    run_sweep(load_sweep(path), out, workers=1, quiet=True, figures=False)
    lines = (out / JOURNAL).read_text().splitlines(keepends=True)
    (out / JOURNAL).write_text("".join(lines[:4]))
    (out / "manifest.json").unlink()
    with pytest.raises(ParamError, match="unfinished sweep .4 runs done.*--resume"):
        run_sweep(load_sweep(path), out, workers=1, quiet=True, figures=False)
    other = sweep_file(tmp_path, GRID.replace("seed = 11", "seed = 12"), name="other")
    with pytest.raises(ParamError, match="different sweep.*pass --force instead of --resume"):
        run_sweep(load_sweep(other), out, workers=1, resume=True, quiet=True, figures=False)
    res = run_sweep(load_sweep(path), out, workers=1, resume=True, quiet=True, figures=False)
    assert res["computed"] == 8 and res["runs"] == 12
    (out / "manifest.json").unlink()  # unfinished again: the advice, followed, starts the other sweep afresh
    res = run_sweep(load_sweep(other), out, workers=1, force=True, quiet=True, figures=False)
    assert res["computed"] == 12


def test_failing_run_is_recorded_and_the_rest_complete(tmp_path, monkeypatch, capsys):
    path = sweep_file(tmp_path, GRID)
    out = tmp_path / "out"
    monkeypatch.setenv("TRUSTSIM_FAIL_RUNS", "1,4")
    status = cli.main(["sweep", str(path), "--out", str(out), "--workers", "2", "--quiet", "--timeseries"])
    assert status == 1
    last = capsys.readouterr().out.strip().splitlines()[-1]
    assert last.startswith("2 of 12 runs failed") and "1, 4" in last
    df = pd.read_csv(out / "runs.csv", keep_default_na=False, na_values=[""])
    failed = df[df["status"] == "error"]
    assert list(failed["run_id"]) == [1, 4]
    assert failed["error"].str.contains("RuntimeError: deliberate failure").all()
    assert failed["all.tco_per_unit"].isna().all()
    ok = df[df["status"] == "ok"]
    assert len(ok) == 10 and ok["all.tco_per_unit"].gt(0).all()
    # per-run time series, streamed to one file per finished run
    files = sorted(p.name for p in (out / "timeseries").iterdir())
    assert files == [f"run-{i:07d}.parquet" for i in ok["run_id"]]
    ts = pd.read_parquet(out / "timeseries" / "run-0000002.parquet")
    assert set(ts["run_id"]) == {2} and len(ts) == 12 * 3
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["failed"] == 2 and manifest["root_seed"] == 11 and len(manifest["points"]) == 4
    assert manifest["params"]["market"]["buyers"] == 10
    names = {p.name for p in (out / "figures").iterdir()}
    assert "heatmap__advantage-market_share.png" in names
    assert "tco_per_unit__market-uncertainty.png" in names


def test_resume_refuses_a_damaged_journal_line_and_keeps_the_runs_after_it(tmp_path):
    """Only a last line cut short by a kill is dropped on --resume: a complete line that is not a run's record
    (edited or damaged) is named, and the finished runs after it stay in the journal instead of being cut off."""
    path = sweep_file(tmp_path, GRID, steps=4)
    out = tmp_path / "out"
    run_sweep(load_sweep(path), out, workers=1, quiet=True, figures=False)
    (out / "manifest.json").unlink()
    lines = (out / JOURNAL).read_text().splitlines(keepends=True)
    lines[2] = lines[2][: len(lines[2]) // 2] + "\n"
    (out / JOURNAL).write_text("".join(lines))
    before = (out / JOURNAL).read_bytes()
    with pytest.raises(ParamError, match="line 3 is not a finished run's record"):
        run_sweep(load_sweep(path), out, workers=1, resume=True, quiet=True, figures=False)
    assert (out / JOURNAL).read_bytes() == before


def test_a_sweep_is_resumed_and_merged_only_by_the_code_that_started_it(tmp_path):
    """Runs of two states of the model never end up in one sweep: --resume and merge compare the code's digest
    recorded in sweep.json with their own."""
    path = sweep_file(tmp_path, GRID, steps=4)
    sweep = load_sweep(path)

    def made_by_other_code(folder):
        state = json.loads((folder / "sweep.json").read_text())
        assert state["code"] == code_digest()
        (folder / "sweep.json").write_text(json.dumps({**state, "code": "0" * 16}))

    out = tmp_path / "out"
    run_sweep(sweep, out, workers=1, quiet=True, figures=False)
    (out / "manifest.json").unlink()
    made_by_other_code(out)
    with pytest.raises(ParamError, match="started by other trustsim code .code 0{16} there"):
        run_sweep(sweep, out, workers=1, resume=True, quiet=True, figures=False)
    for k in (1, 2):
        run_sweep(sweep, tmp_path / f"s{k}", workers=1, shard=(k, 2), quiet=True, figures=False)
    made_by_other_code(tmp_path / "s2")
    with pytest.raises(ParamError, match="made by other trustsim code"):
        merge([tmp_path / "s1", tmp_path / "s2"], tmp_path / "merged")
    assert not (tmp_path / "merged").exists()


def test_resume_runs_the_failed_runs_again_and_ends_as_a_sweep_that_never_failed(tmp_path, monkeypatch, capsys):
    """A failure that does not recur (memory, a lost worker; here the test hook, then unset) is made good by
    --resume: the failed runs alone run again, on their seeds, and the tables are those of a sweep without failures."""
    path = sweep_file(tmp_path, GRID)
    run_sweep(load_sweep(path), tmp_path / "whole", workers=1, quiet=True, figures=False)
    out = tmp_path / "out"
    monkeypatch.setenv("TRUSTSIM_FAIL_RUNS", "1,4")
    assert cli.main(["sweep", str(path), "--out", str(out), "--workers", "1", "--quiet"]) == 1
    monkeypatch.delenv("TRUSTSIM_FAIL_RUNS")
    capsys.readouterr()
    assert cli.main(["sweep", str(path), "--out", str(out), "--workers", "1", "--resume"]) == 0
    err = capsys.readouterr().err
    print(err)
    assert "2 runs that failed before are run again (run ids 1, 4)" in err
    assert json.loads((out / "manifest.json").read_text())["failed"] == 0
    assert (out / JOURNAL).read_text().count("\n") == 12 + 2   # the failures' lines stay; the later ones count
    assert read_bytes(out) == read_bytes(tmp_path / "whole")
    res = run_sweep(load_sweep(path), out, workers=1, resume=True, quiet=True, figures=False)
    assert res["computed"] == 0 and res["failed"] == []


SOBOL = """
[sweep]
design = "sobol"
samples = 32
replications = 1
seed = 3
seeds = "{seeds}"
metrics = ["partner.market_share"]
[sweep.factors]
"adaptation.imitation_interval" = {{ min = 1, max = 20 }}
"buyers.partner_share" = {{ min = 0.1, max = 0.9 }}
"trust.gain" = {{ min = 0.02, max = 0.2 }}
"""


@pytest.mark.parametrize("seeds, inert_max", [("common", 1e-9), ("independent", 0.05)])
def test_sobol_finds_the_dominant_factor_and_not_the_inert_one(tmp_path, seeds, inert_max):
    # imitation_interval does nothing with adaptation off; the partners' total share is set by their number
    sweep = load_sweep(sweep_file(tmp_path, SOBOL.format(seeds=seeds)))
    assert len(sweep.points) == 32 * (3 + 2)
    assert all(isinstance(p["adaptation.imitation_interval"], int) for p in sweep.points)
    run_sweep(sweep, tmp_path / "out", workers=1, quiet=True)
    sens = pd.read_csv(tmp_path / "out" / "sensitivity.csv").set_index("factor")
    assert list(sens.columns) == ["metric", "S1", "S1_conf", "ST", "ST_conf"]
    assert abs(sens.loc["adaptation.imitation_interval", "ST"]) < inert_max
    assert sens.loc["buyers.partner_share", "ST"] > 0.8
    assert sens.loc["buyers.partner_share", "S1"] > 0.5
    assert (tmp_path / "out" / "figures" / "sensitivity.png").is_file()


def test_sobol_intervals_are_the_same_twice_with_a_root_seed_of_0(tmp_path):
    """A root seed of 0 (the default where the scenario's run.seed is 0) gives the same bootstrap intervals every
    time: SALib reads a seed of 0 as none."""
    body = SOBOL.format(seeds="common").replace("seed = 3", "seed = 0").replace("samples = 32", "samples = 8")
    sweep = load_sweep(sweep_file(tmp_path, body))
    run_sweep(sweep, tmp_path / "out", workers=1, quiet=True, figures=False)
    df = pd.read_parquet(tmp_path / "out" / "runs.parquet")
    first = pd.read_csv(tmp_path / "out" / "sensitivity.csv")
    assert first["S1_conf"].notna().all()
    for _ in range(2):
        pd.testing.assert_frame_equal(sensitivity(sweep, df), first, check_exact=True)


def test_sobol_says_why_a_metric_has_no_indices(tmp_path, capsys):
    """Design points without the figure (here: no partner buyers) leave a metric's indices empty, and the sweep
    says so rather than writing empty rows without a word."""
    body = SOBOL.format(seeds="common").replace("samples = 32", "samples = 8").replace(
        "min = 0.1, max = 0.9", "min = 0.0, max = 0.9").replace('"partner.market_share"', '"advantage.market_share"')
    sweep = load_sweep(sweep_file(tmp_path, body))
    run_sweep(sweep, tmp_path / "out", workers=1, quiet=True, figures=False)
    assert pd.read_csv(tmp_path / "out" / "sensitivity.csv")["ST"].isna().all()
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert err.startswith("trustsim: note: no sensitivity indices of advantage.market_share: ")
    assert "have no figure" in err


@pytest.mark.parametrize("design, samples", [("lhs", 4), ("sobol", 8), ("morris", 4)])
def test_a_sampled_design_of_two_factors_draws_its_figures_and_finishes(tmp_path, design, samples):
    """A sampled design's factors are ranges, with no list of values: with two factors, the figure of one against
    the other looked for the other's values to split its lines by (as a grid's does) and the sweep ended in an
    internal error, its folder unfinished."""
    body = SOBOL.format(seeds="common").replace('design = "sobol"', f'design = "{design}"').replace(
        "samples = 32", f"samples = {samples}").replace('"adaptation.imitation_interval" = { min = 1, max = 20 }\n', "")
    path = sweep_file(tmp_path, body)
    assert len(load_sweep(path).factors) == 2
    out = tmp_path / "out"
    code = cli.main(["sweep", str(path), "--out", str(out), "--workers", "1", "--quiet"])
    assert code == 0 and (out / "manifest.json").is_file()
    drawn = {p.name for p in (out / "figures").iterdir()}
    assert {"partner-market_share__buyers-partner_share.png", "partner-market_share__trust-gain.png"} <= drawn, drawn


def test_morris_and_lhs_designs(tmp_path):
    morris = SOBOL.format(seeds="common").replace('design = "sobol"', 'design = "morris"').replace("samples = 32",
                                                                                                   "samples = 6")
    sweep = load_sweep(sweep_file(tmp_path, morris))
    assert len(sweep.points) == 6 * 4
    run_sweep(sweep, tmp_path / "m", workers=1, quiet=True, figures=False)
    sens = pd.read_csv(tmp_path / "m" / "sensitivity.csv").set_index("factor")
    assert sens.loc["adaptation.imitation_interval", "mu_star"] == 0
    assert sens.loc["buyers.partner_share", "mu_star"] > 0.1
    lhs = load_sweep(sweep_file(tmp_path, morris.replace('"morris"', '"lhs"')))
    xs = sorted(p["buyers.partner_share"] for p in lhs.points)
    assert len(xs) == 6 and xs[0] >= 0.1 and xs[-1] <= 0.9
    # one sample per stratum of the range
    assert sorted(int((x - 0.1) / 0.8 * 6) for x in xs) == list(range(6))


def test_a_sampled_integer_factor_is_rounded_within_its_range(tmp_path):
    """An integer factor sampled over 2.5 … 4.7 ran values rounded to 5, above its range (and over 2.5 … 2.7, 3):
    each run's value is the sample rounded, kept within the range; the analysis keeps the sample as drawn."""
    lhs = SOBOL.format(seeds="common").replace('design = "sobol"', 'design = "lhs"').replace(
        "samples = 32", "samples = 40").replace("{ min = 1, max = 20 }", "{ min = 2.5, max = 4.7 }")
    sweep = load_sweep(sweep_file(tmp_path, lhs))
    drawn = sweep.matrix[:, 0]
    ran = np.array([p["adaptation.imitation_interval"] for p in sweep.points])
    print(sorted(set(ran.tolist())), drawn.min(), drawn.max())
    assert set(ran.tolist()) == {3, 4} and drawn.max() > 4.5 and drawn.min() < 3.5  # 4.5 … 4.7 drawn, run as 4
    assert all(isinstance(v, int) for v in ran.tolist())
    assert np.all(ran == np.clip(np.round(drawn), 3, 4))


def test_shards_merged_equal_the_whole(tmp_path):
    path = sweep_file(tmp_path, GRID)
    sweep = load_sweep(path)
    run_sweep(sweep, tmp_path / "whole", workers=1, quiet=True, figures=False)
    for k in (1, 2, 3):
        res = run_sweep(sweep, tmp_path / f"s{k}", workers=1, shard=(k, 3), quiet=True)
        assert res["runs"] == 4
    shard2 = pd.read_csv(tmp_path / "s2" / "runs.csv")
    assert list(shard2["run_id"]) == [1, 4, 7, 10]
    with pytest.raises(ParamError, match="shard 2/3 missing"):
        merge([tmp_path / "s1", tmp_path / "s3"], tmp_path / "merged")
    assert not (tmp_path / "merged").exists()
    status = cli.main(["merge", str(tmp_path / "s3"), str(tmp_path / "s1"), str(tmp_path / "s2"),
                       "--out", str(tmp_path / "merged")])
    assert status == 0
    assert read_bytes(tmp_path / "merged") == read_bytes(tmp_path / "whole")
    assert len((tmp_path / "merged" / JOURNAL).read_text().splitlines()) == 12


def test_merge_puts_back_a_shard_a_restart_killed_at_once_left_moved_aside(tmp_path, capsys):
    """``sweep --force`` over a finished shard moves the folder aside before it makes the new one: killed between
    the two, the shard is ``.NAME.old-PID``. merge, which only reads its shards, puts it back (said in a line)
    and merges, rather than calling it not a sweep folder."""
    sweep = load_sweep(sweep_file(tmp_path, GRID))
    for k in (1, 2):
        run_sweep(sweep, tmp_path / f"s{k}", workers=1, shard=(k, 2), quiet=True, figures=False)
    before = read_bytes(tmp_path / "s1")
    (tmp_path / "s1").rename(tmp_path / ".s1.old-99999")  # what a kill between _start_afresh's rename and mkdir leaves
    status = cli.main(["merge", str(tmp_path / "s1"), str(tmp_path / "s2"), "--out", str(tmp_path / "merged")])
    err = capsys.readouterr().err
    print(err)
    assert status == 0 and "s1 put back from .s1.old-99999" in err and "not a sweep folder" not in err
    assert read_bytes(tmp_path / "s1") == before and not list(tmp_path.glob(".s1.old-*"))
    assert len((tmp_path / "merged" / JOURNAL).read_text().splitlines()) == sweep.n_runs


def test_merged_shards_with_failed_runs_say_so_and_exit_1_as_the_sweep_does(tmp_path, monkeypatch, capsys):
    """A merge is the sweep's last step on a cluster: runs that failed in the shards are told, with the table that
    holds their errors, and the exit status is the sweep's (1), not a silent 0."""
    path = sweep_file(tmp_path, GRID, steps=4)
    monkeypatch.setenv("TRUSTSIM_FAIL_RUNS", "1,4")
    for k in (1, 2, 3):
        cli.main(["sweep", str(path), "--shard", f"{k}/3", "--out", str(tmp_path / f"s{k}"), "--workers", "1",
                  "--quiet"])
    capsys.readouterr()
    status = cli.main(["merge", *(str(tmp_path / f"s{k}") for k in (1, 2, 3)), "--out", str(tmp_path / "m")])
    out = capsys.readouterr().out.strip().splitlines()
    print(out)
    assert status == 1
    assert out[-1].startswith("2 of 12 runs failed") and "1, 4" in out[-1] and "runs.csv" in out[-1]


def test_a_shard_whose_journal_lacks_runs_is_named_with_the_command_that_finishes_it(tmp_path, capsys):
    """The command is the one that finishes that folder: with its sweep file, --timeseries and the folder as --out
    (it said 'trustsim sweep FILE --shard 2/2 --resume', which resumed the shard's default folder, not this one, and
    without --timeseries was refused as another sweep's)."""
    path = sweep_file(tmp_path, GRID, steps=4)
    sweep = load_sweep(path)
    for k in (1, 2):
        run_sweep(sweep, tmp_path / f"s{k}", workers=1, shard=(k, 2), quiet=True, figures=False, timeseries=True)
    journal = tmp_path / "s2" / JOURNAL
    lines = journal.read_text().splitlines(keepends=True)
    journal.write_text("".join(x for x in lines if json.loads(x)["row"]["run_id"] != 1))
    merging = ["merge", str(tmp_path / "s1"), str(tmp_path / "s2"), "--out", str(tmp_path / "merged")]
    status = cli.main(merging)
    err = capsys.readouterr().err.strip()
    assert status == 2 and len(err.splitlines()) == 1 and not (tmp_path / "merged").exists()
    assert f"{tmp_path / 's2'}: journal.jsonl: lacks 1 run of shard 2/2 (first: run 1)" in err
    command = shlex.split(err.split("finish it with '")[1].rstrip("'"))
    assert command == ["trustsim", "sweep", str(path), "--resume", "--shard", "2/2", "--timeseries",
                       "--out", str(tmp_path / "s2")]
    assert cli.main([*command[1:], "--workers", "1", "--quiet"]) == 0, capsys.readouterr().err
    assert cli.main(merging) == 0 and len(read_journal(tmp_path / "merged" / JOURNAL)) == sweep.n_runs


def test_an_unfinished_shard_is_named_with_the_command_that_finishes_it(tmp_path, capsys):
    path = sweep_file(tmp_path, GRID, steps=4)
    sweep = load_sweep(path)
    for k in (1, 2):
        run_sweep(sweep, tmp_path / f"s{k}", workers=1, shard=(k, 2), quiet=True, figures=False)
    (tmp_path / "s1" / "manifest.json").unlink()  # what a shard killed before its end leaves
    assert cli.main(["merge", str(tmp_path / "s1"), str(tmp_path / "s2"), "--out", str(tmp_path / "merged")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.endswith(f"is not finished (6 of 6 runs); finish it with "
                        f"'trustsim sweep {path} --resume --shard 1/2 --out {tmp_path / 's1'}'"), err


def test_report_on_an_unfinished_sweep_names_the_command_that_finishes_it_in_its_folder(tmp_path, capsys):
    """report said "finish it with trustsim sweep FILE --resume": run as written, without the folder, that starts the
    whole sweep afresh in the default folder. It names the sweep's file, its options and the folder."""
    path = sweep_file(tmp_path, GRID, steps=4)
    run_sweep(load_sweep(path), tmp_path / "part", workers=1, quiet=True, figures=False, timeseries=True)
    (tmp_path / "part" / "manifest.json").unlink()  # what a sweep killed before its end leaves
    assert cli.main(["report", str(tmp_path / "part")]) == 2
    err = capsys.readouterr().err.strip()
    print(err)
    assert len(err.splitlines()) == 1 and "holds an unfinished sweep; finish it with '" in err, err
    command = shlex.split(err.split("finish it with '")[1].rstrip("'"))
    assert command == ["trustsim", "sweep", str(path), "--resume", "--timeseries", "--out", str(tmp_path / "part")]
    assert cli.main([*command[1:], "--workers", "1", "--quiet"]) == 0, capsys.readouterr().err
    assert cli.main(["report", str(tmp_path / "part")]) == 0, capsys.readouterr().err


def _bad(tmp_path, capsys, body, *extra):
    path = sweep_file(tmp_path, body)
    out = tmp_path / "never"
    status = cli.main(["sweep", str(path), "--out", str(out), "--quiet", *extra])
    err = capsys.readouterr().err.strip()
    assert status == 2 and len(err.splitlines()) == 1
    assert not out.exists()
    return err


@pytest.mark.parametrize("change, expect", [
    (("replications = 3", "replicatoins = 3"), 'sweep.replicatoins: unknown key (did you mean "replications"?)'),
    (('"grid"', '"gird"'), "sweep.design: 'gird' is not one of grid, lhs, sobol, morris (did you mean \"grid\"?)"),
    (("[0.0, 0.6]", "[0.0, 1.6]"), "sweep.factors.market.uncertainty: 1.6 is out of range (allowed 0.0 to 1.0)"),
    (("partner_share =", "partner_shar ="),
     'sweep.factors.partner_shar: unknown parameter (did you mean "partner_share"?)'),
    (('"tco_per_unit"]', '"tco_per_unti"]'), 'unknown metric "tco_per_unti" (did you mean "tco_per_unit"?)'),
    (("partner_share = [0.3, 0.7]", "min_markup = [0.01, 0.5]"),
     "sweep.factors: design point 1 (market.uncertainty=0.0, prices.min_markup=0.5): "
     "prices.min_markup (0.5) must not exceed prices.fair_markup (0.08)"),
    (("partner_share = [0.3, 0.7]", 'seed = [1, 2]'), "sweep.factors.seed: seeds come from the root seed"),
    (("[0.0, 0.6]", "0.5"), "sweep.factors.market.uncertainty: expected a list of values"),
    (('"tco_per_unit"]', '"tco_per_unit", "tco_per_unit"]'), 'sweep.metrics: repeats the metric "tco_per_unit"'),
    (("[0.0, 0.6]", "[0.0, -0.0]"), "sweep.factors.market.uncertainty: repeats a value"),
    (('"market.uncertainty" =', "market.uncertainty ="),  # unquoted: TOML's table market holding uncertainty
     'sweep.factors.market: write the name in quotes, "market.uncertainty" = …: unquoted, TOML reads'),
    (("partner_share = [0.3, 0.7]", "\n".join(f'"{k}" = {[round(0.1 * i, 1) for i in range(10)]}' for k in (
        "buyers.partner_share", "trust.initial", "trust.gain", "trust.loss", "innovation.idea_rate",
        "market.fit_spread", "trust.share_threshold"))),
     "sweep.factors: 20,000,000 design points × 3 replications = 60,000,000 runs, more than the 10,000,000"),
])
def test_bad_sweep_files_are_refused_with_one_line(tmp_path, capsys, change, expect):
    err = _bad(tmp_path, capsys, GRID.replace(*change))
    assert expect in err and "sw.toml" in err


@pytest.mark.parametrize("change, expect", [
    (("samples = 32", "samples = 30"), "sweep.samples: 30 is not a power of 2"),
    (("samples = 32", "samples = 1"), "sweep.samples: 1 is too few base samples for Sobol indices: their bootstrap "
                                      "intervals need at least 8 (e.g. samples = 256)"),
    (("samples = 32", "samples = 4"), "sweep.samples: 4 is too few base samples"),
    (("samples = 32", "samples = 6"), "sweep.samples: 6 is too few base samples"),
    (("max = 0.9", "max = 1.5"),
     "sweep.factors.buyers.partner_share: range 0.1 … 1.5 leaves the allowed range 0.0 to 1.0"),
    (("{ min = 0.02, max = 0.2 }", "{ min = 0.02, mx = 0.2 }"),
     'sweep.factors.trust.gain.mx: unknown key (did you mean "max"?)'),
    (("{ min = 0.02, max = 0.2 }", "[0.02, 0.2]"), "expected a range { min = …, max = … } for the sobol design"),
    (("samples = 32", "samples = 4194304"), "sweep.samples: 20,971,520 design points × 1 replication"),
    (("{ min = 1, max = 20 }", "{ min = 2.5, max = 2.7 }"),
     "sweep.factors.adaptation.imitation_interval: adaptation.imitation_interval takes whole numbers, and the "
     "range 2.5 … 2.7 holds none"),
    (('design = "sobol"', 'design = "morris"\nlevels = 1000000000000'),
     "sweep.levels: expected an even whole number from 2 to 100, got 1000000000000"),
])
def test_bad_sampled_designs_are_refused(tmp_path, capsys, change, expect):
    err = _bad(tmp_path, capsys, SOBOL.format(seeds="common").replace(*change))
    assert expect in err


def test_bad_command_line_and_folders(tmp_path, capsys, monkeypatch):
    path = sweep_file(tmp_path, GRID)
    assert cli.main(["sweep", str(path), "--shard", "4/3", "--out", str(tmp_path / "x")]) == 2
    assert "--shard: 4/3: expected K/N" in capsys.readouterr().err
    # more shards than runs: some would be empty (13/13 was written with 0 runs, exit 0), surely not the split meant
    for shard in ("13/13", "3/13"):
        assert cli.main(["sweep", str(path), "--shard", shard, "--out", str(tmp_path / "x"), "--quiet"]) == 2
        assert capsys.readouterr().err == (f"trustsim: error: --shard: {shard}: more shards than the sweep has runs "
                                           f"(12 runs); N is at most 12\n")
        assert not (tmp_path / "x").exists()
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("mine")
    assert cli.main(["sweep", str(path), "--out", str(foreign), "--quiet"]) == 2
    assert "not a trustsim result" in capsys.readouterr().err
    assert sorted(p.name for p in foreign.iterdir()) == ["notes.txt"]
    no_sweep = tmp_path / "plain.toml"
    no_sweep.write_text('[market]\nbuyers = 10\n')
    assert cli.main(["sweep", str(no_sweep)]) == 2
    assert "no [sweep] table" in capsys.readouterr().err
    monkeypatch.setitem(sys.modules, "distributed", None)   # as if Dask were not installed
    assert cli.main(["sweep", str(path), "--dask", "local", "--out", str(tmp_path / "d"), "--quiet"]) == 2
    assert 'pip install "trustsim[dask]"' in capsys.readouterr().err
    assert not (tmp_path / "d").exists()


def test_shipped_sweep_files_are_valid():
    scenarios = SCENARIOS
    unc = load_sweep(scenarios / "sweep_uncertainty.toml")
    assert unc.design == "grid" and unc.replications == 10 and unc.n_runs == 4 * 3 * 10
    assert unc.keys == ["market.uncertainty", "buyers.partner_share"]
    sens = load_sweep(scenarios / "sensitivity.toml")
    assert sens.design == "sobol" and {"trust.gain", "innovation.idea_rate"} <= set(sens.keys)
    assert all(math.isfinite(v) for p in sens.points for v in p.values())


def test_every_text_of_a_sweeps_figures_lies_inside_the_figure(tmp_path, monkeypatch):
    """Titles name a metric and a factor by their meanings, which can be long (σ's is a line of its own): each is
    wrapped to its figure's width, so no title, label or legend is cut off at the figure's edge."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.text import Text

    cut = []
    savefig = Figure.savefig

    def checked(fig, path, **kwargs):
        savefig(fig, path, **kwargs)
        canvas = FigureCanvasAgg(fig)
        canvas.draw()  # as saved, at the figure's own resolution
        renderer, width, height = canvas.get_renderer(), fig.bbox.width, fig.bbox.height
        for text in fig.findobj(Text):
            if text.get_visible() and text.get_text().strip():
                box = text.get_window_extent(renderer)
                if box.x0 < -1 or box.x1 > width + 1 or box.y0 < -1 or box.y1 > height + 1:
                    cut.append((Path(path).name, text.get_text()))

    monkeypatch.setattr(Figure, "savefig", checked)
    run_sweep(load_sweep(sweep_file(tmp_path, GRID)), tmp_path / "out", workers=1, quiet=True)
    assert len(list((tmp_path / "out" / "figures").glob("*.png"))) >= 4
    assert cut == []


def test_the_factors_labels_of_a_sensitivity_figure_do_not_run_into_one_another():
    """The 75-parameter analysis shown in docs/experiments.md: a factor's meaning can take four lines, and its row
    is as tall as they need, so no label of a panel touches its neighbour's and none leaves the figure."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    from trustsim.experiments.figures import SENSITIVITY_TOP, sensitivity_figure

    sens = pd.read_csv(Path(__file__).parents[2] / "docs" / "sensitivity_all" / "sensitivity.csv")
    fig = sensitivity_figure(sens, "sobol", sens["factor"].nunique())
    fig.tight_layout()
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    renderer = canvas.get_renderer()
    lines, touching = 0, []
    for ax in fig.axes:
        labels = [t for t in ax.get_yticklabels() if t.get_text()]
        boxes = [t.get_window_extent(renderer) for t in labels]
        lines = max(lines, *(t.get_text().count("\n") + 1 for t in labels))
        assert len(boxes) == SENSITIVITY_TOP and all(b.y0 >= 0 and b.y1 <= fig.bbox.height for b in boxes)
        touching += [(labels[i].get_text(), labels[i + 1].get_text()) for i in range(len(labels) - 1)
                     if boxes[i].y0 < boxes[i + 1].y1 + 1]  # a label above the next, 1 pixel apart at least
    print(len(fig.axes), "panels; the longest label has", lines, "lines; touching:", touching)
    assert lines >= 4 and touching == []


@pytest.mark.parametrize("design", ["sobol", "morris"])
def test_a_sensitivity_figure_of_few_factors_keeps_its_legend_off_the_bars(design):
    """Nine factors, fewer than the figure's top: they were drawn in the file's order, so a large index of the last
    factor ran under the legend in the bottom right corner (the small Sobol sweep of sensitivity.toml, 8 samples).
    Every panel puts the most influential factor on top, as of many factors, and the corner is the least's."""
    from trustsim.experiments.figures import sensitivity_figure

    factors = [f"trust.{k}" for k in ("gain", "loss", "erosion", "playoff_penalty", "share_threshold")]
    index = [0.05, 0.2, 0.4, 0.6, 0.9]  # the last factor the most influential
    sens = pd.DataFrame({"metric": "advantage.market_share", "factor": factors, "S1": [0.8 * i for i in index],
                         "S1_conf": 0.1, "ST": index, "ST_conf": 0.1, "mu_star": index, "mu_star_conf": 0.1,
                         "sigma": index})
    fig = sensitivity_figure(sens, design, len(factors))
    fig.tight_layout()
    fig.set_dpi(110)  # as a sweep saves it
    assert [t.get_text() for t in fig.axes[0].get_yticklabels()][0].startswith("trust needed to share")
    assert data_under_legends(fig) == []


def on_a_stand_in_cluster_stopped_after(monkeypatch, n: int, error) -> None:
    """A Dask sweep run on a local executor standing in for the cluster, whose run loop raises ``error()`` once ``n``
    runs are in (a lost scheduler, an interrupt, a dead worker, a full disk)."""
    from trustsim.experiments import execute

    real = execute.finished_runs

    def stopped(*args, **kwargs):
        for i, result in enumerate(real(*args, **kwargs)):
            if i == n:
                raise error()
            yield result

    monkeypatch.setattr(execute, "finished_runs", stopped)
    monkeypatch.setattr(execute, "dask_executor", lambda address, workers: (*execute.local_executor(1), lambda: None))


def test_a_lost_dask_scheduler_is_one_line_with_the_runs_kept_and_the_resume_command(tmp_path, capsys, monkeypatch):
    """Dask cancels every pending run when its client loses the scheduler: the sweep says so in one line with the
    runs it keeps and how to finish, exit 1 (it was "internal error: CancelledError" under distributed's logged
    tracebacks). The loss is simulated after four runs, on a local executor standing in for the cluster."""
    from concurrent.futures import CancelledError

    path = sweep_file(tmp_path, GRID)
    on_a_stand_in_cluster_stopped_after(monkeypatch, 4, CancelledError)
    out = tmp_path / "out"
    code = cli.main(["sweep", str(path), "--out", str(out), "--quiet", "--dask", "tcp://127.0.0.1:1"])
    err = capsys.readouterr().err
    assert code == 1 and err.count("\n") == 1, err
    assert "the Dask scheduler tcp://127.0.0.1:1 was lost; 4 finished runs are kept" in err
    assert f"finish with: trustsim sweep {path} --resume --dask ADDRESS --out {out}" in err
    assert len(read_journal(out / JOURNAL)) == 4


@pytest.mark.parametrize(("stop", "status", "says"), [
    ("interrupt", 130, "trustsim: interrupted; 2 finished runs are kept"),
    ("worker died", 1, "trustsim: a worker process died (out of memory?); 2 finished runs are kept"),
    ("disk full", 2, "No space left on device; free some space and run it again; 2 finished runs are kept")])
def test_a_sweep_on_dask_stopped_gives_the_command_that_finishes_it_there(tmp_path, capsys, monkeypatch, stop, status,
                                                                       says):
    """Interrupted, a worker dead or the disk full, a sweep's line gives the whole command that finishes it, with the
    --dask it ran on: an interrupted Dask sweep's said `--resume` alone (it finished locally), and the other two
    said only "finish with --resume"."""
    from concurrent.futures.process import BrokenProcessPool

    path = sweep_file(tmp_path, GRID)
    error = {"interrupt": KeyboardInterrupt, "worker died": BrokenProcessPool,
             "disk full": lambda: OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))}[stop]
    on_a_stand_in_cluster_stopped_after(monkeypatch, 2, error)
    out = tmp_path / "out"
    code = cli.main(["sweep", str(path), "--out", str(out), "--quiet", "--batch", "1", "--dask", "tcp://127.0.0.1:1"])
    err = capsys.readouterr().err
    assert code == status and err.count("\n") == 1, err
    assert says in err, err
    assert f"finish with: trustsim sweep {path} --resume --dask tcp://127.0.0.1:1 --batch 1 --out {out}" in err, err


def test_an_interrupted_sweeps_resume_command_repeats_its_workers_and_batch(tmp_path, capsys, monkeypatch):
    """After Ctrl-C on `--dask local --workers 2 --batch 1`, the command that finishes the sweep left out --workers
    and --batch: it finished on every core of the machine, in batches of another size."""
    path = sweep_file(tmp_path, GRID)
    on_a_stand_in_cluster_stopped_after(monkeypatch, 2, KeyboardInterrupt)
    out = tmp_path / "out"
    code = cli.main(["sweep", str(path), "--out", str(out), "--quiet", "--dask", "local", "--workers", "2",
                     "--batch", "1"])
    err = capsys.readouterr().err
    assert code == 130 and err.count("\n") == 1, err
    assert err.endswith(f"finish with: trustsim sweep {path} --resume --dask local --workers 2 --batch 1 --out {out}\n")


def test_an_interrupted_shard_with_time_series_is_finished_by_the_command_its_line_gives(tmp_path, capsys, monkeypatch):
    """The line of an interrupted sweep gives the command that finishes it. For a shard with --timeseries it said
    only `trustsim sweep FILE --resume`: that command ran the whole sweep afresh into results/<name>/ (a shard's
    folder is named by its shard), and with --out the folder was refused as another sweep's."""
    import shlex

    from trustsim.experiments import execute

    path = sweep_file(tmp_path, GRID)
    real = execute.finished_runs

    def interrupted_after_two(*args, **kwargs):
        for n, result in enumerate(real(*args, **kwargs)):
            if n == 2:
                raise KeyboardInterrupt
            yield result

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(execute, "finished_runs", interrupted_after_two)
    for out in ([], ["--out", str(tmp_path / "part")]):
        code = cli.main(["sweep", str(path), "--shard", "2/3", "--timeseries", "--workers", "1", "--batch", "1",
                         "--quiet", *out])
        err = capsys.readouterr().err
        assert code == 130 and err.count("\n") == 1 and "2 finished runs are kept" in err, err
        with monkeypatch.context() as m:
            m.setattr(execute, "finished_runs", real)
            command = shlex.split(err.split("finish with: ")[1])
            assert command[:2] == ["trustsim", "sweep"]
            assert cli.main([*command[1:], "--workers", "1", "--quiet"]) == 0, capsys.readouterr().err
        folder = Path(out[1]) if out else tmp_path / "results" / "sw-shard-2-of-3"
        assert list(pd.read_csv(folder / "runs.csv")["run_id"]) == [1, 4, 7, 10]
        assert len(list((folder / "timeseries").glob("run-*.parquet"))) == 4
    assert sorted(p.name for p in (tmp_path / "results").iterdir()) == ["sw-shard-2-of-3"]  # no whole sweep


def test_distributeds_loggers_are_quieted_while_a_sweep_uses_a_cluster_and_restored_after():
    """The client logs a traceback for every reconnection it tries after losing the scheduler; its loggers have
    their own levels and handlers, so each is quieted, and each level restored when the executor closes."""
    import logging

    pytest.importorskip("distributed")
    from trustsim.experiments.cluster import _quiet_distributed

    client = logging.getLogger("distributed.client")
    before = client.level
    levels = _quiet_distributed()
    assert client.getEffectiveLevel() == logging.CRITICAL and logging.getLogger("distributed").level == logging.CRITICAL
    for logger, level in levels:
        logger.setLevel(level)
    assert client.level == before


def test_points_table_counts_each_figure_over_the_runs_that_have_it():
    """points.csv's ``n`` is the point's successful runs; each figure's ``c.n`` the values its mean and interval
    were taken over: none for a posture with no buyers, one fewer for a run that gave no figure."""
    import numpy as np

    import trustsim
    from trustsim.experiments import point_table
    from trustsim.stats import mean_ci

    grid = trustsim.sweep(None, {"buyers.partner_share": [0.0, 0.5]}, replications=3, steps=6, workers=1,
                          **{"market.buyers": 8, "market.suppliers": 4})
    points = grid.points.set_index("point")
    assert list(points["n"]) == [3, 3]
    assert list(points["advantage.market_share.n"]) == [0, 3] and list(points["partner.trust_buyer.n"]) == [0, 3]
    assert list(points["aggressive.trust_buyer.n"]) == [3, 3] and np.isnan(points.loc[0, "advantage.market_share"])
    runs = grid.runs.copy()
    at = runs.index[runs["point"] == 1]
    runs.loc[at[0], "advantage.market_share"] = np.nan  # a run that gave no figure
    runs.loc[at[1], "status"] = "error"                 # a run that failed
    row = point_table(grid.sweep, runs).set_index("point").loc[1]
    assert row["n"] == 2 and row["advantage.market_share.n"] == 1 and row["aggressive.trust_buyer.n"] == 2
    left = runs.loc[at[2], "advantage.market_share"]
    assert row["advantage.market_share"] == pytest.approx(left) and np.isnan(row["advantage.market_share.low"])
    m, lo, hi = mean_ci(runs.loc[at[[0, 2]], "aggressive.trust_buyer"])
    assert (row["aggressive.trust_buyer"], row["aggressive.trust_buyer.low"]) == pytest.approx((m, lo))


def test_a_sweep_figures_title_says_what_each_point_and_interval_are_taken_over(tmp_path, monkeypatch):
    """A point of a two-factor grid's figure is a design point's mean over its replications; of a three-factor
    grid's, the mean over the runs of every point at that value of the factor (replications × the others'
    combinations); of a sampled design's, a bin of runs. The title said "over 2 replications" for all three."""
    import numpy as np
    from matplotlib.figure import Figure

    from trustsim.experiments.design import METRIC_COLUMNS
    from trustsim.experiments.figures import draw

    titles = {}
    monkeypatch.setattr(Figure, "savefig", lambda fig, path, **kw: titles.__setitem__(Path(path).name, fig))
    three = GRID.replace("replications = 3", "replications = 2") + '"trust.gain" = [0.05, 0.1, 0.15]\n'
    lhs = three.replace('design = "grid"', 'design = "lhs"\nsamples = 8').split("[sweep.factors]")[0] + (
        '[sweep.factors]\n"market.uncertainty" = { min = 0.0, max = 0.6 }\n')
    rng = np.random.default_rng(1)
    for name, body in (("two", GRID.replace("replications = 3", "replications = 2")), ("three", three),
                       ("lhs", lhs)):
        sweep = load_sweep(sweep_file(tmp_path, body, name=name))
        rows = [{"point": p, "status": "ok", **x,
                 **dict(zip(METRIC_COLUMNS, rng.random(len(METRIC_COLUMNS)), strict=True))}
                for p, x in enumerate(sweep.points) for _ in range(sweep.replications)]
        titles.clear()
        draw(tmp_path, sweep, pd.DataFrame(rows))
        fig = titles["advantage-market_share__market-uncertainty.png"]
        title = fig._suptitle.get_text().replace("\n", " ")
        y = fig.axes[0].containers[0].lines[0].get_ydata()
        df = pd.DataFrame(rows)
        if name == "two":
            assert "over 2 replications" in title, title
        elif name == "three":  # 2 replications × 2 × 3 other points at each value
            assert "over 2 replications" not in title and "every point at each value" in title, title
            want = df.groupby("market.uncertainty")["advantage.market_share"].mean()
            assert np.allclose(y, want.to_numpy()) and df.groupby("market.uncertainty").size().eq(12).all()
        else:
            assert "over 2 replications" not in title and "binned" in title, title


def test_a_sweeps_heat_map_says_its_cells_are_long_run_means(tmp_path, monkeypatch):
    """The line figures' titles say "long-run means"; the heat maps of the same points said only "mean over 2
    replications", so a reader could not tell a cell from a mean over the whole run or a last step's value."""
    from matplotlib.figure import Figure

    from trustsim.experiments.design import METRIC_COLUMNS
    from trustsim.experiments.figures import draw

    titles = {}
    monkeypatch.setattr(Figure, "savefig", lambda fig, path, **kw: titles.__setitem__(Path(path).name, fig))
    sweep = load_sweep(sweep_file(tmp_path, GRID.replace("replications = 3", "replications = 2")))
    rows = [{"point": p, "status": "ok", **x, **dict.fromkeys(METRIC_COLUMNS, float(p))}
            for p, x in enumerate(sweep.points) for _ in range(sweep.replications)]
    draw(tmp_path, sweep, pd.DataFrame(rows))
    heat = [name for name in titles if name.startswith("heatmap__")]
    assert heat
    for name in heat:
        title = titles[name]._suptitle.get_text()
        assert title.endswith(": long-run mean over 2 replications"), (name, title)


def sweep_figures(tmp_path, monkeypatch, grid: str, **file_options) -> dict:
    """Run the sweep ``grid`` (a sweep_file body) on one worker; the figures it saved, by file name."""
    from matplotlib.figure import Figure

    drawn, savefig = {}, Figure.savefig

    def kept(fig, path, **kwargs):
        drawn[Path(path).name] = fig
        savefig(fig, path, **kwargs)

    monkeypatch.setattr(Figure, "savefig", kept)
    run_sweep(load_sweep(sweep_file(tmp_path, grid, **file_options)), tmp_path / "out", workers=1, quiet=True)
    return drawn


def test_a_sweeps_figures_say_which_levels_and_cells_were_not_measured(tmp_path, monkeypatch):
    """A grid with partner_share 0.0 measures no partner advantage and no partner buyers' figure there: the
    advantage figure's legend listed "partner_share = 0.0" as if its line were drawn, its tick 0.0 stood over
    nothing, and the heat map's cells for partner buyers at 0.0 were blank with no note. The legend and the tick
    say "(not measured)", and each such cell is hatched and says "not measured"."""
    grid = GRID.replace("replications = 3", "replications = 2").replace("[0.3, 0.7]", "[0.0, 0.5]")
    drawn = sweep_figures(tmp_path, monkeypatch, grid)

    ax = drawn["advantage-market_share__market-uncertainty.png"].axes[0]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["partner_share = 0.0 (not measured)",
                                                                   "partner_share = 0.5"]
    ax = drawn["advantage-market_share__buyers-partner_share.png"].axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["0.0\n(not measured)", "0.5"]
    partner, aggressive = (a for a in drawn["heatmap__tco_per_unit.png"].axes if a.get_title())
    assert "partner buyers" in partner.get_title() and "aggressive buyers" in aggressive.get_title()
    assert sorted(t.get_text() for t in partner.texts)[-2:] == ["not measured"] * 2  # the two cells at 0.0
    assert partner.patch.get_hatch() and "not measured" not in [t.get_text() for t in aggressive.texts]


def test_a_sweeps_heat_map_draws_both_postures_panels_on_one_colour_scale(tmp_path, monkeypatch):
    """The heat map of cost of ownership scaled each posture's panel to its own cells: the partners' 0.827 and the
    aggressive buyers' 0.714 were both the darkest colour, and a reader comparing the panels by colour compared
    nothing. Both panels of a metric share one scale, from the lowest cell of either to the highest."""
    grid = GRID.replace("replications = 3", "replications = 2")
    drawn = sweep_figures(tmp_path, monkeypatch, grid, steps=40)
    partner, aggressive = (a for a in drawn["heatmap__tco_per_unit.png"].axes if a.get_title())
    (p_image,), (a_image,) = partner.get_images(), aggressive.get_images()
    cells = np.concatenate([np.asarray(p_image.get_array()).ravel(), np.asarray(a_image.get_array()).ravel()])
    assert p_image.get_clim() == a_image.get_clim() == pytest.approx((np.nanmin(cells), np.nanmax(cells)))


def test_a_sweeps_figure_draws_both_postures_panels_on_one_scale(tmp_path, monkeypatch):
    """The figure of cost of ownership against σ scaled each posture's panel to its own points (partners 0.80–0.92,
    aggressive buyers 0.70–1.00), so lines of the same height meant different costs; its heat map was mended alike.
    Both panels of a metric share one axis, and each still prints its numbers."""
    grid = GRID.replace("replications = 3", "replications = 2")
    drawn = sweep_figures(tmp_path, monkeypatch, grid, steps=40)
    partner, aggressive = drawn["tco_per_unit__market-uncertainty.png"].axes
    lines = [np.concatenate([c.lines[0].get_ydata() for c in ax.containers]) for ax in (partner, aggressive)]
    assert not np.isclose(np.nanmax(lines[0]), np.nanmax(lines[1]))  # the postures do differ
    assert partner.get_ylim() == aggressive.get_ylim()
    assert all(label.get_visible() for label in aggressive.get_yticklabels())


def test_a_sampled_sweeps_figure_of_a_metric_no_run_measured_says_so(tmp_path, monkeypatch):
    """With no partner buyers no run measures the partner advantage: a sampled design's figure of it was an empty
    pair of axes, where a grid's legend and ticks say "(not measured)"; so was the partner buyers' panel of every other
    metric. They say "not measured by any run"."""
    body = """
[buyers]
partner_share = 0.0
[sweep]
design = "lhs"
samples = 4
seed = 3
metrics = ["advantage.market_share", "tco_per_unit"]
[sweep.factors]
"trust.gain" = { min = 0.02, max = 0.2 }
"""
    drawn = sweep_figures(tmp_path, monkeypatch, body)
    [unmeasured] = drawn["advantage-market_share__trust-gain.png"].axes
    assert [t.get_text() for t in unmeasured.texts] == ["not measured by any run"]
    partner, aggressive = drawn["tco_per_unit__trust-gain.png"].axes  # no partner buyers: their panel too
    assert "partner" in partner.get_title() and [t.get_text() for t in partner.texts] == ["not measured by any run"]
    assert not aggressive.texts and aggressive.collections  # its runs' points


def test_a_sweeps_heat_map_prints_its_cells_as_plain_numbers(tmp_path, monkeypatch):
    """A heat map of cumulative profit (tens of thousands) printed its cells as "5.55e+04", as the regime map's
    did: the cells are plain numbers to three significant figures, as `labels.plain_figure` writes them."""
    grid = GRID.replace("replications = 3", "replications = 2").replace('"tco_per_unit"', '"advantage.profit_cum"')
    drawn = sweep_figures(tmp_path, monkeypatch, grid, steps=300)
    [ax] = (a for a in drawn["heatmap__advantage-profit_cum.png"].axes if a.get_title())
    cells = [t.get_text() for t in ax.texts]
    print(cells)
    assert len(cells) == 4 and not any("e" in c for c in cells), cells
    assert any(abs(float(c)) >= 1000 for c in cells), cells  # where `.3g` wrote an exponent


def test_a_morris_figure_names_its_spread_in_words_not_sigma_and_keeps_its_legend_off_the_bars():
    """Morris's figure labelled the spread of elementary effects "σ", which every other figure uses for the
    environmental uncertainty. Its legend names both measures in words, each with Morris's symbol, in a row above
    the bars: the longer names in the bottom right corner lay on bars as long as the largest."""
    from trustsim.experiments.figures import sensitivity_figure

    factors = ["market.uncertainty", "trust.gain", "buyers.partner_share"]
    sens = pd.DataFrame({"metric": "advantage.market_share", "factor": factors, "mu_star": 0.2,
                         "mu_star_conf": 0.05, "mu": 0.2, "sigma": 0.2})  # every bar as long as the largest
    fig = sensitivity_figure(sens, "morris", len(factors))
    fig.tight_layout()
    fig.set_dpi(110)  # as a sweep saves it
    legend = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert legend == ["mean absolute elementary effect (Morris μ*)", "spread of elementary effects (Morris σ)"]
    assert data_under_legends(fig) == []


def test_a_morris_figure_says_its_effects_are_per_whole_range_and_what_its_whiskers_are(tmp_path):
    """Morris's axis said "Morris elementary effects" with no unit and nothing of the whiskers on μ*, where Sobol's
    says "(95% interval)". SALib scales each factor's range to [0, 1], so an effect is the metric's change over the
    factor's whole range, not per unit of the parameter: σ's μ* of 0.28 over 0.0–0.9 is 0.31 per unit of σ, trust
    gain's 0.50 over 0.02–0.2 is 2.8 per unit. The axis says so; the sweep's own elementary effects show it."""
    from trustsim.experiments.figures import sensitivity_figure

    factors = ["market.uncertainty", "trust.gain"]
    sens = pd.DataFrame({"metric": "advantage.market_share", "factor": factors, "mu_star": [0.3, 0.2],
                         "mu_star_conf": 0.05, "mu": 0.2, "sigma": 0.2})
    label = " ".join(sensitivity_figure(sens, "morris", len(factors)).axes[0].get_xlabel().split())
    assert "change in the metric over the factor's whole range" in label and "95% interval" in label, label
    body = ('[sweep]\ndesign = "morris"\nsamples = 3\nseed = 3\nseeds = "common"\n'
            'metrics = ["advantage.market_share"]\n[sweep.factors]\n'
            '"market.uncertainty" = { min = 0.0, max = 0.9 }\n"trust.gain" = { min = 0.02, max = 0.2 }\n')
    sweep = load_sweep(sweep_file(tmp_path, body, steps=40))
    run_sweep(sweep, tmp_path / "out", workers=1, quiet=True)
    points = pd.read_csv(tmp_path / "out" / "points.csv")
    sens = pd.read_csv(tmp_path / "out" / "sensitivity.csv")
    metric = "advantage.market_share"
    keys = [f.key for f in sweep.factors]
    spans = {f.key: f.hi - f.lo for f in sweep.factors}
    effects = {k: [] for k in keys}
    x, y = points[keys].to_numpy(), points[metric].to_numpy()
    per = len(keys) + 1  # a trajectory's points: one step in each factor
    for start in range(0, len(points), per):
        for i in range(start, start + per - 1):
            [k] = np.flatnonzero(np.abs(x[i + 1] - x[i]) > 1e-12)
            effects[keys[k]].append((y[i + 1] - y[i]) / ((x[i + 1, k] - x[i, k]) / spans[keys[k]]))
    for key in keys:
        row = sens[(sens["metric"] == metric) & (sens["factor"] == key)].iloc[0]
        assert row["mu_star"] == pytest.approx(np.mean(np.abs(effects[key])), rel=1e-9), key


def test_a_sweep_of_replications_alone_writes_its_tables_and_no_empty_figures_folder(tmp_path, capsys):
    """A grid without factors replicates the scenario: it has nothing to draw against a factor, and left an empty
    figures/ folder beside its tables."""
    path = sweep_file(tmp_path, GRID.split("[sweep.factors]")[0] + "factors = {}\n")
    out = tmp_path / "out"
    assert cli.main(["sweep", str(path), "--out", str(out), "--workers", "1", "--quiet"]) == 0
    held = sorted(p.name for p in out.iterdir())
    print(held)
    assert "points.csv" in held and "runs.csv" in held and "figures" not in held
