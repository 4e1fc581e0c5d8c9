"""Nothing a user owns is lost: results folders, a second writer, leftovers of killed writers, special
files, symbolic link loops, broken tables, error lines that echo what a user typed.

Every data-loss case compares the victim's files byte for byte before and after.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import BASELINE, ROOT, TINY, dead_pid, one_line, ours_beside

from trustsim import folders, results
from trustsim.cli import main
from trustsim.errors import ParamError, safe_text
from trustsim.scenario import load_scenario

BIG = ["--set", "market.buyers=20000", "--set", "market.suppliers=1000", "--steps", "80", "--quiet"]
CLI = [sys.executable, "-m", "trustsim"]


def run(capsys, out, *extra, scenario=BASELINE):
    code = main(["run", str(scenario), *TINY, "--out", str(out), *map(str, extra)])
    _, err = capsys.readouterr()
    return code, err


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file below ``folder`` by relative path, with its bytes."""
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def sweep_result(tmp_path_factory):
    """A finished sweep, made by `trustsim sweep` (copied by each test that needs one)."""
    where = tmp_path_factory.mktemp("sweep")
    path = where / "sw.toml"
    path.write_text(f'extends = "{BASELINE.as_posix()}"\n[run]\nsteps = 4\n[market]\nbuyers = 6\nsuppliers = 3\n'
                    '[sweep]\ndesign = "grid"\nreplications = 1\nseed = 3\n'
                    '[sweep.factors]\n"market.uncertainty" = [0.0, 0.6]\n')
    proc = subprocess.run([*CLI, "sweep", str(path), "--out", str(where / "out"), "--workers", "1", "--quiet"],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    return where / "out"


# --- 1: a folder is replaced only by the same kind of result, and only when it holds nothing else ------

def test_run_does_not_replace_a_finished_sweep(tmp_path, capsys, sweep_result):
    out = tmp_path / "R"
    shutil.copytree(sweep_result, out)
    before = snapshot(out)
    assert results.result_kind(out) == "sweep"
    code, err = run(capsys, out)
    one_line(code, err, "sweep", "--force")
    assert snapshot(out) == before and ours_beside(tmp_path) == []


def test_run_does_not_replace_an_unfinished_sweep(tmp_path, capsys, sweep_result):
    out = tmp_path / "R"
    shutil.copytree(sweep_result, out)
    (out / "manifest.json").unlink()  # a sweep killed before its end has no manifest yet
    before = snapshot(out)
    one_line(*run(capsys, out), "sweep")
    assert snapshot(out) == before


def test_a_figure_of_yours_among_a_result_s_figures_is_not_lost(tmp_path, capsys):
    """A result's manifest lists the figures it drew: a .png of yours in its figures/ keeps the folder from being
    replaced without --force; `report` adds what it draws to the list, so its own figures stay replaceable."""
    out = tmp_path / "R"
    assert run(capsys, out)[0] == 0
    drawn = json.loads((out / "manifest.json").read_text())["figures"]
    assert drawn and sorted(p.name for p in (out / "figures").iterdir()) == drawn
    (out / "figures" / "mine.png").write_bytes(b"my own figure")
    before = snapshot(out)
    one_line(*run(capsys, out), "figures/mine.png", "--force")
    assert snapshot(out) == before and ours_beside(tmp_path) == []
    (out / "figures" / "mine.png").unlink()
    (out / "figures" / drawn[0]).unlink()  # drawn again by report
    assert main(["report", str(out)]) == 0
    capsys.readouterr()
    assert json.loads((out / "manifest.json").read_text())["figures"] == drawn
    assert run(capsys, out)[0] == 0


@pytest.mark.parametrize("where", [".", "figures"])
def test_a_result_made_read_only_is_replaced_only_with_force(tmp_path, capsys, where):
    """A result (or a folder in it) its owner made read-only is kept without --force (root, who may write
    anyway, included); --force replaces it and leaves nothing beside it (a user who is not root met a hidden
    .NAME.old-PID that could not be removed)."""
    out = tmp_path / "R"
    assert run(capsys, out)[0] == 0
    locked = out / where
    before = snapshot(out)
    locked.chmod(0o555)
    try:
        one_line(*run(capsys, out), "read-only" if where == "." else "read-only folder figures", "--force")
        assert snapshot(out) == before and ours_beside(tmp_path) == []
        assert run(capsys, out, "--force")[0] == 0
    finally:
        if locked.exists():
            locked.chmod(0o755)
    assert results.result_kind(out) == "run" and ours_beside(tmp_path) == [] and sorted(os.listdir(tmp_path)) == ["R"]


def test_a_sweep_replaces_a_finished_sweep_only_with_force(tmp_path, capsys, sweep_result):
    """A sweep runs in its folder (its journal is what --resume finishes), so a new one there would remove the
    finished sweep before it is complete: refused without --force, the old sweep kept byte for byte."""
    out = tmp_path / "S"
    shutil.copytree(sweep_result, out)
    before = snapshot(out)
    args = ["sweep", str(sweep_result.parent / "sw.toml"), "--out", str(out), "--workers", "1", "--quiet"]
    code = main(args)
    one_line(code, capsys.readouterr().err, "finished sweep", "--force")
    assert snapshot(out) == before and ours_beside(tmp_path) == []
    assert main([*args, "--force"]) == 0 and results.result_kind(out) == "sweep"
    assert snapshot(out)["runs.csv"] == before["runs.csv"]  # the same sweep again


def test_a_result_nested_in_a_result_is_not_lost(tmp_path, capsys):
    outer, inner = tmp_path / "A", tmp_path / "A" / "B"
    assert run(capsys, outer)[0] == 0
    assert run(capsys, inner, "--seed", 5)[0] == 0
    before = snapshot(outer)
    one_line(*run(capsys, outer, "--seed", 6), "B/", "--force")
    assert snapshot(outer) == before


def test_a_result_inside_a_plain_folder_is_not_lost(tmp_path, capsys):
    assert run(capsys, tmp_path / "A" / "B")[0] == 0
    before = snapshot(tmp_path / "A")
    one_line(*run(capsys, tmp_path / "A"), "not a trustsim result")
    assert snapshot(tmp_path / "A") == before


@pytest.mark.parametrize("where", ["notes.txt", "figures/my-plot.svg", "figures/drafts/a.png"])
def test_user_files_inside_a_run_keep_it_from_being_replaced(tmp_path, capsys, where):
    out = tmp_path / "res"
    assert run(capsys, out)[0] == 0
    (out / where).parent.mkdir(parents=True, exist_ok=True)
    (out / where).write_text("mine")
    before = snapshot(out)
    one_line(*run(capsys, out, "--seed", 3), where.split("/")[-1] if "drafts" not in where else "drafts/")
    assert snapshot(out) == before
    assert run(capsys, out, "--seed", 3, "--force")[0] == 0  # --force says the contents may go
    assert not (out / where).exists() and ours_beside(tmp_path) == []


@pytest.mark.parametrize("name", ["notes.v1.old-2", "draft.v2.tmp-3-x", "figures/mine.b.old-7"])
def test_a_file_of_yours_named_like_a_writers_leftover_keeps_the_run_from_being_replaced(tmp_path, capsys, name):
    """Only a whole name ``.NAME.tmp-PID-…`` or ``.NAME.old-PID`` is a writer's; a file of the user's whose name
    merely ends like one is the user's: the run is not replaced without --force, the file stays."""
    out = tmp_path / "R"
    assert run(capsys, out)[0] == 0
    (out / name).write_text("mine")
    before = snapshot(out)
    code, err = run(capsys, out, "--seed", 5)
    one_line(code, err, name, "--force")
    assert snapshot(out) == before


def test_a_run_replaces_a_run_and_marks_its_kind(tmp_path, capsys):
    out = tmp_path / "res"
    assert run(capsys, out, "--seed", 1)[0] == 0
    first = snapshot(out)
    assert json.loads(first["manifest.json"])["kind"] == "run"
    assert run(capsys, out, "--seed", 2)[0] == 0
    assert snapshot(out)["timeseries.csv"] != first["timeseries.csv"]
    assert ours_beside(tmp_path) == []


def test_a_manifest_without_kind_is_read_as_a_run(tmp_path, capsys):
    out = tmp_path / "res"
    shutil.copytree(ROOT / "results" / "example", out)  # written before manifests said their kind
    info = json.loads((out / "manifest.json").read_text())
    info.pop("kind", None)
    (out / "manifest.json").write_text(json.dumps(info))
    assert results.result_kind(out) == "run" and results.foreign_entries(out, "run") == []
    assert run(capsys, out)[0] == 0


def test_force_never_removes_the_folder_holding_the_scenario(tmp_path, capsys):
    work = tmp_path / "study"
    work.mkdir()
    base = work / "base.toml"
    base.write_text(BASELINE.read_text())
    top = work / "sub" / "top.toml"
    top.parent.mkdir()
    top.write_text('extends = "../base.toml"\n[market]\nbuyers = 8\n')
    before = snapshot(work)
    one_line(*run(capsys, work, "--force", scenario=top), "which this command reads", "not even --force")
    one_line(*run(capsys, work / "sub", "--force", scenario=top), "top.toml")
    assert snapshot(work) == before and ours_beside(tmp_path) == []


def test_force_never_lets_patterns_remove_the_folder_holding_its_scenario(tmp_path, capsys):
    """``trustsim patterns SCENARIO`` reads a scenario file as ``run`` does, and protects it as ``run`` does."""
    work = tmp_path / "study"
    work.mkdir()
    top = work / "top.toml"
    top.write_text(f'extends = "{BASELINE.as_posix()}"\n[trust]\nplayoff_penalty = 0.1\n')
    before = snapshot(work)
    code = main(["patterns", str(top), "--seeds", "2", "--out", str(work), "--force"])
    one_line(code, capsys.readouterr().err, "which this command reads", "not even --force")
    assert snapshot(work) == before and ours_beside(tmp_path) == []


@pytest.mark.parametrize("folder", ["scenarios", "results"])
def test_force_never_removes_the_projects_own_folders(tmp_path, capsys, monkeypatch, folder):
    (tmp_path / "scenarios").mkdir()
    shutil.copy(BASELINE, tmp_path / "scenarios" / "baseline.toml")
    (tmp_path / "results" / "old").mkdir(parents=True)
    (tmp_path / "results" / "old" / "notes.txt").write_text("keep")
    monkeypatch.chdir(tmp_path)
    before = snapshot(tmp_path)
    one_line(*run(capsys, folder, "--force", scenario="scenarios/baseline.toml"), "not even --force")
    assert snapshot(tmp_path) == before


def test_force_never_removes_a_git_work_tree(tmp_path, capsys):
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    (repo / "code.py").write_text("x = 1\n")
    before = snapshot(repo)
    one_line(*run(capsys, repo, "--force"), "git")
    assert snapshot(repo) == before


def test_force_never_removes_a_folder_holding_a_git_work_tree(tmp_path, capsys, sweep_result):
    """A git work tree deeper inside the folder would go with it: run and sweep alike refuse."""
    outer = tmp_path / "outer"
    (outer / "code" / "repo" / ".git").mkdir(parents=True)
    (outer / "code" / "repo" / "code.py").write_text("x = 1\n")
    before = snapshot(outer)
    code, err = run(capsys, outer, "--force")
    one_line(code, err, "git work tree code/repo")
    sweep_file = sweep_result.parent / "sw.toml"
    code = main(["sweep", str(sweep_file), "--out", str(outer), "--force", "--workers", "1", "--quiet"])
    one_line(code, capsys.readouterr().err, "git work tree code/repo")
    assert snapshot(outer) == before


def test_the_projects_folders_and_example_are_guarded(monkeypatch, tmp_path):
    """Checked on the guard alone, so a mistake here could not delete the project's own files."""
    monkeypatch.chdir(tmp_path)
    for folder in (ROOT / "scenarios", ROOT / "results", ROOT / "trustsim", ROOT):
        for force in (False, True):
            with pytest.raises(ParamError, match="not even --force|current folder|not a trustsim"):
                results.guard_target(folder, "run", force=force)
    with pytest.raises(ParamError, match="committed example"):
        results.guard_target(ROOT / "results" / "example", "run")


@pytest.mark.parametrize("folder", ["viz", "experiments", "calibration"])
def test_force_never_removes_a_folder_inside_trustsims_own_source(monkeypatch, tmp_path, folder):
    """A subpackage is trustsim's own source too: ``--out trustsim/viz --force`` removed the app's code. Checked
    on the guard alone, so a mistake here could not delete it."""
    monkeypatch.chdir(tmp_path)
    for force in (False, True):
        with pytest.raises(ParamError, match="lies inside trustsim's own source; not even --force"):
            results.guard_target(ROOT / "trustsim" / folder, "run", force=force)
    assert results.guard_target(ROOT / "results" / "example", "run", force=True) == ROOT / "results" / "example"


# --- 3: one writer at a time ----------------------------------------------------------------------------

HOLD = """
import sys, time
from trustsim.results import target_lock
with target_lock(sys.argv[1]):
    print("held", flush=True)
    time.sleep(120)
"""


def test_a_second_writer_is_refused_and_names_the_holder(tmp_path, capsys):
    out = tmp_path / "res"
    assert run(capsys, out, "--seed", 1)[0] == 0
    before = snapshot(out)
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(out)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        one_line(*run(capsys, out, "--seed", 2), f"process {holder.pid}")
        assert snapshot(out) == before
    finally:
        holder.kill()
        holder.wait()
    # its lock file is left with a PID no longer alive: the next writer takes it over
    assert (tmp_path / ".res.lock").read_text().strip() == str(holder.pid)
    assert run(capsys, out, "--seed", 2)[0] == 0
    assert snapshot(out) != before and ours_beside(tmp_path) == []


def test_two_runs_into_one_folder_the_second_exits_2(tmp_path):
    out = tmp_path / "res"
    first = subprocess.Popen([*CLI, "run", str(BASELINE), *BIG, "--out", str(out)], cwd=tmp_path,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while not (tmp_path / ".res.lock").exists() and time.monotonic() < deadline and first.poll() is None:
            time.sleep(0.02)
        second = subprocess.run([*CLI, "run", str(BASELINE), *TINY, "--out", str(out)], cwd=tmp_path,
                                capture_output=True, text=True, timeout=120)
        assert second.returncode == 2, second.stderr
        assert f"process {first.pid}" in second.stderr and len(second.stderr.splitlines()) == 1
        assert first.wait(timeout=300) == 0, first.stderr.read()
    finally:
        if first.poll() is None:
            first.kill()
            first.wait()
    assert json.loads((out / "manifest.json").read_text())["params"]["market"]["buyers"] == 20000
    assert ours_beside(tmp_path) == []


def test_folders_made_for_the_lock_go_when_the_write_fails(tmp_path, capsys, monkeypatch):
    import errno

    from trustsim import report

    def full_disk(folder):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(report, "figures", full_disk)
    one_line(*run(capsys, tmp_path / "new" / "deep" / "res"), "nothing was written")
    assert list(tmp_path.iterdir()) == []


# --- 4: leftovers of killed writers are cleaned; none is left on any failure Python sees -------------------

def test_a_stale_old_folder_with_this_pid_does_not_block_writing(tmp_path, capsys):
    out = tmp_path / "res"
    assert run(capsys, out, "--seed", 1)[0] == 0
    stale = tmp_path / f".res.old-{os.getpid()}"
    shutil.copytree(out, stale)
    assert run(capsys, out, "--seed", 2)[0] == 0
    assert ours_beside(tmp_path) == []


def test_leftovers_of_dead_processes_are_removed_those_of_live_ones_kept(tmp_path, capsys):
    """Beside a result: a `.res.old-PID` there is an older version of it (one beside an absent result is put back,
    test_faults.py)."""
    assert run(capsys, tmp_path / "res", "--seed", 1)[0] == 0
    gone, alive = dead_pid(), os.getppid()
    for name in (f".res.tmp-{gone}-abc123", f".res.old-{gone}", f".res.tmp-{alive}-xyz789",
                 f".other.tmp-{gone}-abc123"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "f").write_text("x")
    (tmp_path / f".res.tmp-{gone}-notadir").mkdir()  # removed: ours by its name
    (tmp_path / "my.res.old-1").mkdir()  # not our naming: kept
    assert run(capsys, tmp_path / "res")[0] == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        ["res", f".res.tmp-{alive}-xyz789", f".other.tmp-{gone}-abc123", "my.res.old-1"])


def test_a_leftover_name_that_is_a_link_to_your_folder_is_left_alone_and_does_not_block_the_write(tmp_path, capsys):
    """``.res.old-PID`` of this process, but a symbolic link to a read-only folder of the user's rather than a folder
    of a writer's: the next run is written beside it under another name, and the folder it leads to, its files and
    its mode, stay as they were."""
    out = tmp_path / "res"
    assert run(capsys, out, "--seed", 1)[0] == 0
    mine = tmp_path / "mine"
    (mine / "sub").mkdir(parents=True)
    (mine / "sub" / "data.csv").write_text("a,b\n1,2\n")
    link = tmp_path / f".res.old-{os.getpid()}"
    link.symlink_to(mine, target_is_directory=True)
    for folder in (mine / "sub", mine):
        folder.chmod(0o555)
    try:
        before = snapshot(mine)
        modes = {p: p.stat().st_mode for p in (mine, mine / "sub")}
        assert run(capsys, out, "--seed", 2)[0] == 0
        assert json.loads((out / "manifest.json").read_text())["seed"] == 2
        assert link.is_symlink() and snapshot(mine) == before
        assert {p: p.stat().st_mode for p in (mine, mine / "sub")} == modes
        assert ours_beside(tmp_path) == [link.name]
    finally:
        for folder in (mine, mine / "sub"):
            folder.chmod(0o755)


def test_inside_a_result_only_the_temporary_files_of_dead_writers_are_cleaned(tmp_path):
    """A results folder a command goes on writing (a sweep it resumes): what a killed writer left inside it goes,
    what a writer still alive is writing stays, and so does a file of the user's."""
    gone, alive = dead_pid(), os.getppid()
    (tmp_path / "timeseries").mkdir()
    dead = [f".runs.csv.tmp-{gone}", f"timeseries/.run-0000001.parquet.tmp-{gone}", f".figures.tmp-{gone}-k1ll3d"]
    live = [f".runs.csv.tmp-{alive}", f"timeseries/.run-0000002.parquet.tmp-{alive}", f".figures.tmp-{alive}-busy"]
    for rel in dead + live:
        if "figures" in rel:
            (tmp_path / rel).mkdir()
            (tmp_path / rel / "a.png").write_bytes(b"png")
        else:
            (tmp_path / rel).write_text("x")
    (tmp_path / "notes.txt").write_text("mine")
    folders.clean_inside(tmp_path)
    assert not any(os.path.lexists(tmp_path / rel) for rel in dead)
    assert all((tmp_path / rel).exists() for rel in live) and (tmp_path / "notes.txt").read_text() == "mine"


def test_memory_error_while_writing_leaves_nothing_and_keeps_the_previous_result(tmp_path, capsys, monkeypatch):
    from trustsim import report

    out = tmp_path / "res"
    assert run(capsys, out, "--seed", 1)[0] == 0
    before = snapshot(out)

    def out_of_memory(folder):
        (Path(folder) / "figures").mkdir()
        raise MemoryError

    monkeypatch.setattr(report, "figures", out_of_memory)
    real_rmtree = shutil.rmtree
    calls = []

    def rmtree_short_of_memory(path, *a, **k):  # the first clean-up attempt itself runs out of memory
        calls.append(path)
        if len(calls) == 1:
            raise MemoryError
        return real_rmtree(path, *a, **k)

    monkeypatch.setattr(folders.shutil, "rmtree", rmtree_short_of_memory)
    code, err = run(capsys, out, "--seed", 2)
    assert code == 1 and len(err.splitlines()) == 1, err
    assert snapshot(out) == before and ours_beside(tmp_path) == []


def test_sigkill_while_writing_is_cleaned_up_by_the_next_write(tmp_path):
    out = tmp_path / "res"
    proc = subprocess.Popen([*CLI, "run", str(BASELINE), *BIG, "--out", str(out)], cwd=tmp_path,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        tmp = [p for p in tmp_path.iterdir() if ".tmp-" in p.name]
        if tmp and any(tmp[0].iterdir()):
            break
        time.sleep(0.005)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    if out.exists():
        pytest.skip("the run finished before it could be killed")
    assert [p for p in tmp_path.iterdir() if ".tmp-" in p.name], "the kill should leave a temporary folder"
    proc = subprocess.run([*CLI, "run", str(BASELINE), *TINY, "--out", str(out)], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert ours_beside(tmp_path) == []


# --- 6: only regular files of sensible size are read -------------------------------------------------------

def check_cli(*argv, timeout=20):
    proc = subprocess.run([*CLI, *map(str, argv)], capture_output=True, text=True, timeout=timeout)
    return proc.returncode, proc.stderr


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes")
def test_a_named_pipe_is_refused_at_once(tmp_path):
    fifo = tmp_path / "scenario.toml"
    os.mkfifo(fifo)
    t0 = time.monotonic()
    one_line(*check_cli("check", fifo), "named pipe")
    top = tmp_path / "top.toml"
    top.write_text('extends = "scenario.toml"\n')
    one_line(*check_cli("run", top, "--out", tmp_path / "res"), "named pipe")
    assert time.monotonic() - t0 < 20
    assert not (tmp_path / "res").exists()


@pytest.mark.parametrize("device", ["/dev/zero", "/dev/urandom"])
def test_a_device_is_refused_at_once(device):
    if not Path(device).exists():
        pytest.skip(f"no {device}")
    one_line(*check_cli("check", device), "device")


def test_a_file_larger_than_the_limit_is_refused(tmp_path, capsys):
    big = tmp_path / "big.toml"
    big.write_bytes(b"# " + b"x" * 1_100_000 + b"\n")
    code = main(["check", str(big)])
    one_line(code, capsys.readouterr().err, "larger than 1 MB")


SHARDED = (f'extends = "{BASELINE.as_posix()}"\n[run]\nsteps = 2\n[market]\nbuyers = 6\nsuppliers = 3\n'
           '[sweep]\ndesign = "grid"\nreplications = 1\nseed = 3\n[sweep.factors]\n"market.uncertainty" = [0.0, 0.6]\n')
CALIBRATED = (f'extends = "{BASELINE.as_posix()}"\n[run]\nsteps = 6\n[market]\nbuyers = 6\nsuppliers = 4\n'
              '[calibrate]\nbudget = 40\npopulation = 4\nnoise_replicates = 3\nseed = 5\n'
              '[calibrate.predictive]\ndraws = 2\npattern_draws = 0\npattern_seeds = 2\n'
              '[calibrate.parameters]\n"time.h_monitor" = { lo = 2.0, hi = 40.0 }\n'
              '[[calibrate.targets]]\nname = "a"\nmeasure = "nonprod_least_trusted"\nvalue = 0.47\nsd = 0.03\n')


@pytest.fixture(scope="module")
def shards(tmp_path_factory):
    """The sweep file ``sw.toml`` and its two finished shards ``S1`` and ``S2`` (copied by each test that changes
    them)."""
    where = tmp_path_factory.mktemp("shards")
    (where / "sw.toml").write_text(SHARDED)
    for k in (1, 2):
        assert main(["sweep", str(where / "sw.toml"), "--shard", f"{k}/2", "--out", str(where / f"S{k}"),
                     "--workers", "1", "--quiet"]) == 0
    return where


@pytest.fixture(scope="module")
def calibrated(tmp_path_factory):
    """A small calibration ``cal`` and its file ``cal.toml`` (copied by each test that changes them)."""
    where = tmp_path_factory.mktemp("calibrated")
    (where / "cal.toml").write_text(CALIBRATED)
    assert main(["calibrate", str(where / "cal.toml"), "--out", str(where / "cal"), "--workers", "1", "--quiet",
                 "--no-predictive"]) == 0
    return where


def results_in(tmp_path, small_results, shards, calibrated=None) -> Path:
    """Copies of the small run and replications, the two shards with their sweep file (and the calibration with its
    file) in ``tmp_path``, to be edited."""
    for name in ("run", "reps"):
        shutil.copytree(small_results / name, tmp_path / name)
    for name in ("S1", "S2"):
        shutil.copytree(shards / name, tmp_path / name)
    shutil.copy(shards / "sw.toml", tmp_path / "sw.toml")
    if calibrated is not None:
        shutil.copytree(calibrated / "cal", tmp_path / "cal")
        shutil.copy(calibrated / "cal.toml", tmp_path / "cal.toml")
    return tmp_path


RESUME_SHARD = ["sweep", "{d}/sw.toml", "--shard", "2/2", "--out", "{d}/S2", "--resume", "--workers", "1", "--quiet"]
MERGE = ["merge", "{d}/S1", "{d}/S2", "--out", "{d}/M"]


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes")
@pytest.mark.parametrize(("pipe", "command"), [
    ("run/manifest.json", ["report", "{d}/run"]),
    ("run/timeseries.csv", ["report", "{d}/run"]),
    ("S2/sweep.json", MERGE),
    ("S2/journal.jsonl", MERGE),
    ("run/summary.json", ["compare", "{d}/run", "{d}/reps", "--out", "{d}/C"]),
    ("S2/journal.jsonl", RESUME_SHARD),
    ("cal/journal.jsonl", ["calibrate", "{d}/cal.toml", "--out", "{d}/cal", "--resume", "--workers", "1", "--quiet",
                           "--no-predictive"]),
], ids=["report-manifest", "report-table", "merge-state", "merge-journal", "compare-summary", "sweep-resume",
        "calibrate-resume"])
def test_a_named_pipe_in_a_results_folder_is_refused_at_once(tmp_path, small_results, shards, calibrated, pipe,
                                                              command):
    """A named pipe where a results folder holds a manifest, a table, a state or a journal was opened and waited on
    for ever: each is refused in one line without reading from it, and nothing is written."""
    d = results_in(tmp_path, small_results, shards, calibrated if pipe.startswith("cal/") else None)
    if "--resume" in command:  # unfinished, as after a kill
        (d / pipe).parent.joinpath("manifest.json").unlink()
    (d / pipe).unlink()
    os.mkfifo(d / pipe)
    before = snapshot(d)
    one_line(*check_cli(*(a.format(d=d) for a in command), timeout=30), f"{d / pipe}: is a named pipe")
    assert snapshot(d) == before and not (d / "M").exists() and not (d / "C").exists()


DEEP = "[" * 100_000 + "]" * 100_000  # JSON nested deeper than Python's parser follows (RecursionError)


@pytest.mark.parametrize(("file", "command"), [
    ("reps/manifest.json", ["rerun", "{d}/reps", "--out", "{d}/R"]),
    ("reps/manifest.json", ["report", "{d}/reps"]),
    ("reps/manifest.json", ["compare", "{d}/reps", "{d}/run", "--out", "{d}/C"]),
    ("S1/sweep.json", ["report", "{d}/S1"]),
    ("S2/journal.jsonl", MERGE),
    ("S2/journal.jsonl", RESUME_SHARD),
], ids=["rerun", "report", "compare", "report-sweep", "merge-journal", "sweep-resume"])
def test_json_nested_too_deeply_is_one_line(tmp_path, capsys, small_results, shards, file, command):
    """JSON nested 100 000 deep in a manifest, a sweep's state or a journal's line was an internal error
    (RecursionError): it is refused in one line naming the file (and the journal's line), nothing written."""
    d = results_in(tmp_path, small_results, shards)
    if "--resume" in command:
        (d / "S2" / "manifest.json").unlink()  # unfinished, as after a kill
    if file.endswith(".jsonl"):
        with open(d / file, "a") as fh:
            fh.write(DEEP + "\n")
    else:
        (d / file).write_text(DEEP)
    before = snapshot(d)
    code = main([a.format(d=d) for a in command])
    one_line(code, capsys.readouterr().err, str(d / file), "line 2" if file.endswith(".jsonl") else "nested too")
    assert snapshot(d) == before and not any((d / x).exists() for x in ("M", "C", "R"))


def test_report_on_a_pattern_suite_without_its_results_still_says_how_to_make_them(tmp_path, capsys):
    """patterns.json read through the reader that refuses a named pipe: a suite without it keeps its hint."""
    (tmp_path / "P").mkdir()
    (tmp_path / "P" / "manifest.json").write_text(json.dumps({"trustsim": "0", "kind": "patterns"}))
    one_line(main(["report", str(tmp_path / "P")]), capsys.readouterr().err,
             "patterns.json: cannot redraw from it (no such file)", "needs trustsim patterns again")
    assert sorted(p.name for p in (tmp_path / "P").iterdir()) == ["manifest.json"]


def test_a_calibrations_journal_line_nested_too_deeply_is_named_by_its_line(tmp_path):
    """A calibration's journal line nested too deeply was a RecursionError: it is a line that is not JSON, named."""
    # here: the module's top imports no calibration (which loads its engine)
    from trustsim.calibration.journal import read_journal

    (tmp_path / "journal.jsonl").write_text('{"a": 1}\n' + DEEP + '\n{"b": 2}\n')
    with pytest.raises(ParamError, match=r"journal.jsonl: line 2 is not JSON \(edited or damaged\)"):
        read_journal(tmp_path / "journal.jsonl")


def test_a_folder_that_is_not_what_a_command_reads_is_named_as_such(tmp_path, capsys, shards):
    """A folder merge reads that does not exist is "no such folder", not "not a sweep folder"; a manifest that is a
    folder or a device is "not a JSON manifest" (the words of scenario files said "not a TOML file")."""
    code = main(["merge", str(shards / "S1"), str(tmp_path / "nonexistent"), "--out", str(tmp_path / "M")])
    one_line(code, capsys.readouterr().err, f"{tmp_path / 'nonexistent'}: no such folder")
    (tmp_path / "X" / "manifest.json").mkdir(parents=True)
    code = main(["rerun", str(tmp_path / "X"), "--out", str(tmp_path / "R")])
    one_line(code, capsys.readouterr().err, "manifest.json: is a directory, not a JSON manifest")
    if Path("/dev/null").exists():
        code = main(["rerun", "/dev/null", "--out", str(tmp_path / "R")])
        one_line(code, capsys.readouterr().err, "/dev/null: is a device, not a JSON manifest")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["X"]


def test_compare_and_rerun_name_an_unfinished_sweep_as_such(tmp_path, capsys, shards):
    """An unfinished sweep (no manifest.json yet) was "not a results folder" to compare and rerun."""
    shutil.copytree(shards / "S1", tmp_path / "part")
    (tmp_path / "part" / "manifest.json").unlink()
    for command in (["compare", str(tmp_path / "part"), str(shards / "S2")], ["rerun", str(tmp_path / "part")]):
        code = main([*command, "--out", str(tmp_path / "out")])
        one_line(code, capsys.readouterr().err, f"{tmp_path / 'part'}: holds an unfinished sweep (no manifest.json "
                                                f"yet); {command[0]} takes runs and replications")
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(("command", "key", "value"), [
    ("merge", "all.tco_per_unit", "banana"), ("merge", "market.uncertainty", [1]), ("merge", "seed", "x"),
    ("resume", "all.tco_per_unit", "banana"), ("resume", "all.tco_per_unit", [1])])
def test_a_journal_row_edited_out_of_its_types_is_named_by_its_line(tmp_path, capsys, shards, key, value, command):
    """A journal's row with a word or a list where a number belongs was read into the runs table, which failed
    (ValueError): merge and --resume name the file and the line, and write nothing. (--resume drops a row whose ids
    or factors are not the design's, and runs it again: those are left to it.)"""
    for name in ("S1", "S2"):
        shutil.copytree(shards / name, tmp_path / name)
    lines = (tmp_path / "S2" / "journal.jsonl").read_text().splitlines(keepends=True)
    entry = json.loads(lines[0])
    entry["row"][key] = value
    lines[0] = json.dumps(entry) + "\n"
    (tmp_path / "S2" / "journal.jsonl").write_text("".join(lines))
    if command == "resume":
        (tmp_path / "S2" / "manifest.json").unlink()
    before = snapshot(tmp_path)
    argv = MERGE if command == "merge" else RESUME_SHARD
    code = main([a.format(d=tmp_path).replace(f"{tmp_path}/sw.toml", str(shards / "sw.toml")) for a in argv])
    one_line(code, capsys.readouterr().err, f"{tmp_path / 'S2' / 'journal.jsonl'}: line 1 ", key)
    assert snapshot(tmp_path) == before and not (tmp_path / "M").exists()


@pytest.mark.parametrize(("key", "value", "why"), [
    ("market.uncertainty", 0.3, "its market.uncertainty is not the design's"),
    ("seed", 12345, "its seed is not the design's"), ("run_id", 0, "its run id is not in the design (or this shard)")])
def test_merge_refuses_a_journal_row_that_is_not_the_designs_and_resume_runs_it_again(tmp_path, capsys, shards, key,
                                                                                       value, why):
    """A shard's row with a factor value, a seed or a run id of another design (edited, or copied from another
    sweep) was merged without a word, as a run of the design: merge refuses it in one line naming the file and the
    run, as --resume drops such a row, and the command it names mends the shard."""
    for name in ("S1", "S2"):
        shutil.copytree(shards / name, tmp_path / name)
    lines = (tmp_path / "S2" / "journal.jsonl").read_text().splitlines(keepends=True)
    entry = json.loads(lines[0])
    run_id = entry["row"]["run_id"]
    entry["row"][key] = value
    lines[0] = json.dumps(entry) + "\n"
    (tmp_path / "S2" / "journal.jsonl").write_text("".join(lines))
    before = snapshot(tmp_path)
    code = main([a.format(d=tmp_path) for a in MERGE])
    err = capsys.readouterr().err
    one_line(code, err, f"{tmp_path / 'S2' / 'journal.jsonl'}: run {run_id if key != 'run_id' else value}: {why}",
             "--resume --shard 2/2")
    assert snapshot(tmp_path) == before and not (tmp_path / "M").exists()
    resume = [a.format(d=tmp_path).replace(f"{tmp_path}/sw.toml", str(shards / "sw.toml")) for a in RESUME_SHARD]
    assert main(resume) == 0 and main([a.format(d=tmp_path) for a in MERGE]) == 0


# --- 7: symbolic link loops, broken tables -------------------------------------------------------------------

def test_symlink_loops_are_one_line(tmp_path, capsys):
    (tmp_path / "a.toml").symlink_to(tmp_path / "b.toml")
    (tmp_path / "b.toml").symlink_to(tmp_path / "a.toml")
    one_line(main(["check", str(tmp_path / "a.toml")]), capsys.readouterr().err, "loop")
    top = tmp_path / "top.toml"
    top.write_text('extends = "a.toml"\n')
    one_line(main(["check", str(top)]), capsys.readouterr().err, "loop", "extends")
    (tmp_path / "o1").symlink_to(tmp_path / "o2")
    (tmp_path / "o2").symlink_to(tmp_path / "o1")
    one_line(*run(capsys, tmp_path / "o1"), "loop")
    assert (tmp_path / "o1").is_symlink() and ours_beside(tmp_path) == []


@pytest.mark.parametrize("content", [b"", b"step,group\n", b"\x00\xff garbage \x01\n\"unclosed",
                                     b"a,b\n1,2\n", None])
def test_report_on_a_broken_timeseries_is_one_line_and_makes_no_figures(tmp_path, capsys, content):
    folder = tmp_path / "res"
    folder.mkdir()
    if content is None:  # every column there, but words where numbers belong
        text = (ROOT / "results" / "example" / "timeseries.csv").read_text().splitlines()
        text[1] = ",".join(["x"] + text[1].split(",")[1:])
        content = ("\n".join(text) + "\n").encode()
    (folder / "timeseries.csv").write_bytes(content)
    one_line(main(["report", str(folder)]), capsys.readouterr().err, "timeseries.csv")
    assert sorted(p.name for p in folder.iterdir()) == ["timeseries.csv"]


# --- 8: error lines repeat what a user typed safely -----------------------------------------------------------

def test_control_characters_and_long_keys_are_not_echoed_raw(tmp_path, capsys):
    bad = tmp_path / "bad.toml"
    bad.write_text('[market]\n"buy\\ners\\u001b[31m" = 1\n')
    code = main(["check", str(bad)])
    err = capsys.readouterr().err
    one_line(code, err, "buy\\ners\\x1b[31m")
    assert "\x1b" not in err
    bad.write_text(f'[market]\n{"k" * 5000} = 1\n')
    code = main(["check", str(bad)])
    err = capsys.readouterr().err
    one_line(code, err, "market.kkk", "(5007 characters)")
    assert len(err) < 400


def test_safe_text_escapes_and_cuts():
    assert safe_text("a\nb\r\tc\x1b[2J\u202e\u2028\x7f") == "a\\nb\\r\\tc\\x1b[2J\\u202e\\u2028\\x7f"
    assert safe_text("é → 信任 ok") == "é → 信任 ok"  # ordinary text is left as it is
    assert safe_text("9" * 5000) == "9" * 60 + "…(5000 characters)"
    assert safe_text("x" * 100) == "x" * 100
    assert str(ParamError("f\n.toml", "a\x1bb", "bad\nvalue")) == "f\\n.toml: a\\x1bb: bad\\nvalue"


def test_a_scenario_that_loads_records_what_no_force_may_remove(tmp_path):
    top = tmp_path / "top.toml"
    top.write_text(f'extends = "{BASELINE.as_posix()}"\n')
    files = results.scenario_files(load_scenario(top))
    assert {Path(f).resolve() for f in files} == {top.resolve(), BASELINE.resolve()}


def test_saving_a_run_from_python_with_force_never_removes_the_folder_holding_its_scenario(tmp_path):
    """``simulate(path).save(out, force=True)`` writes without the command's check before the run: the write itself
    refuses a folder holding the scenario or a file of its ``extends`` chain, and every file there stays."""
    import trustsim

    work = tmp_path / "study"
    (work / "sub").mkdir(parents=True)
    (work / "base.toml").write_text(BASELINE.read_text())
    top = work / "sub" / "top.toml"
    top.write_text('extends = "../base.toml"\n[market]\nbuyers = 8\nsuppliers = 4\n[run]\nsteps = 3\n')
    (work / "notes.txt").write_text("mine")
    before = snapshot(work)
    run_ = trustsim.simulate(top)
    for out in (work, work / "sub"):
        with pytest.raises(ParamError, match="which this command reads"):
            run_.save(out, force=True)
    assert snapshot(work) == before and ours_beside(tmp_path) == [] and ours_beside(work) == []


# --- 9: a command never writes into a folder it reads (issue 23: rerun, compare, merge, report) ---------------

@pytest.fixture(scope="module")
def small_results(tmp_path_factory):
    """A run and a replications folder of the small market (copied by each test that changes them)."""
    where = tmp_path_factory.mktemp("small")
    assert main(["run", str(BASELINE), *TINY, "--out", str(where / "run")]) == 0
    assert main(["run", str(BASELINE), *TINY, "--seeds", "2", "--workers", "1", "--out", str(where / "reps")]) == 0
    return where


@pytest.mark.parametrize("spelling", ["X", "./X/", "link"])
def test_rerun_refuses_to_write_into_the_folder_it_checks(tmp_path, capsys, small_results, monkeypatch, spelling):
    monkeypatch.chdir(tmp_path)
    shutil.copytree(small_results / "run", tmp_path / "X")
    (tmp_path / "link").symlink_to("X")
    with open(tmp_path / "X" / "timeseries.csv", "a") as fh:  # the user's edit that rerun must detect, not erase
        fh.write("0,partner" + ",0" * 5 + "\n")
    before = snapshot(tmp_path / "X")
    code = main(["rerun", "X", "--out", spelling, "--force"])
    one_line(code, capsys.readouterr().err, "never writes into a folder it reads")
    assert snapshot(tmp_path / "X") == before and ours_beside(tmp_path) == []
    assert main(["rerun", "X", "--out", "elsewhere"]) == 1  # compared with the untouched original: it differs
    assert "DIFFERS" in capsys.readouterr().out


def test_compare_never_writes_into_a_folder_it_compares(tmp_path, capsys, small_results):
    a, b = tmp_path / "A", tmp_path / "B"
    shutil.copytree(small_results / "reps", a)
    shutil.copytree(small_results / "reps", b)
    before = snapshot(a)
    for out in (a, a / "sub", tmp_path / "." / "A"):
        code = main(["compare", str(a), str(b), "--out", str(out), "--force"])
        one_line(code, capsys.readouterr().err, "which this command reads")
    assert snapshot(a) == before and not (a / "sub").exists()


@pytest.mark.parametrize("edit", ["a failed run's replicate blank", "a word among the figures", "a blank status"])
def test_compare_of_a_replications_table_edited_out_of_shape_is_one_line_and_writes_nothing(tmp_path, capsys,
                                                                                           small_results, edit):
    """A replications.csv whose failed run lost its replicate wrote the whole comparison and then failed
    (ValueError: cannot convert float NaN to integer); a word among its figures was an internal error. Both are
    refused in one line naming the file and the column, and no folder is written."""
    a, b = tmp_path / "A", tmp_path / "B"
    shutil.copytree(small_results / "reps", a)
    shutil.copytree(small_results / "reps", b)
    lines = (b / "replications.csv").read_text().splitlines(keepends=True)
    header, row = lines[0].rstrip("\n").split(","), lines[1].rstrip("\n").split(",")
    column = {"a failed run's replicate blank": "replicate", "a word among the figures": "all.tco_per_unit",
              "a blank status": "status"}[edit]
    row[header.index(column)] = "banana" if column == "all.tco_per_unit" else ""
    if column == "replicate":
        row[header.index("status")] = "failed"
    lines[1] = ",".join(row) + "\n"
    (b / "replications.csv").write_text("".join(lines))
    code = main(["compare", str(a), str(b), "--out", str(tmp_path / "C")])
    one_line(code, capsys.readouterr().err, f"{b / 'replications.csv'}: {column}")
    assert not (tmp_path / "C").exists() and ours_beside(tmp_path) == []


@pytest.mark.parametrize("cut", ["part way through its last row", "at the end of a row"])
@pytest.mark.parametrize("command", ["compare", "report"])
def test_a_replications_table_cut_short_is_refused_in_one_line_and_nothing_is_written(tmp_path, capsys, small_results,
                                                                                     cut, command):
    """A replications.csv cut part way through a row (a copy stopped, a full disk) read as a shorter row whose last
    figures were missing, and one cut at a row's end as fewer replications: compare wrote a comparison from what was
    left (exit 0). Both are refused in one line naming the file, by compare and report alike, and nothing is
    written (report drew no figure)."""
    a, b = tmp_path / "A", tmp_path / "B"
    shutil.copytree(small_results / "reps", a)
    shutil.copytree(small_results / "reps", b)
    table = (b / "replications.csv").read_text()
    last_row = table.rstrip("\n").rfind("\n") + 1
    (b / "replications.csv").write_text(table[: last_row + 20] if cut.startswith("part") else table[:last_row])
    why = "is cut short" if cut.startswith("part") else "holds 1 row for the 2 replications its manifest records"
    before = snapshot(b)
    args = ["compare", str(a), str(b), "--out", str(tmp_path / "C")] if command == "compare" else ["report", str(b)]
    one_line(main(args), capsys.readouterr().err, f"{b / 'replications.csv'}: {why}")
    assert not (tmp_path / "C").exists() and ours_beside(tmp_path) == [] and snapshot(b) == before


@pytest.mark.parametrize("edit", ["its rows twice", "every row on one seed"])
@pytest.mark.parametrize("command", ["compare", "report"])
def test_a_replications_table_other_than_its_manifest_records_is_refused_in_one_line(tmp_path, capsys, small_results,
                                                                                    edit, command):
    """Rows repeated counted as twice the runs (narrower intervals, "only the seeds differ" of the same seeds), and
    seeds rewritten as other runs', exit 0: the table must hold one row per replication its manifest records, on
    the seeds it lists."""
    import pandas as pd

    a, b = tmp_path / "A", tmp_path / "B"
    shutil.copytree(small_results / "reps", a)
    shutil.copytree(small_results / "reps", b)
    runs = pd.read_csv(b / "replications.csv")
    if edit == "its rows twice":
        runs = pd.concat([runs, runs])
        why = "holds 4 rows for the 2 replications its manifest records"
    else:
        runs["seed"] = runs["seed"][0]
        why = f"seed: replicate 1 ran on seed {runs['seed'][0]}, its manifest records"
    runs.to_csv(b / "replications.csv", index=False)
    before = snapshot(b)
    args = ["compare", str(a), str(b), "--out", str(tmp_path / "C")] if command == "compare" else ["report", str(b)]
    one_line(main(args), capsys.readouterr().err, f"{b / 'replications.csv'}: {why}")
    assert not (tmp_path / "C").exists() and ours_beside(tmp_path) == [] and snapshot(b) == before


@pytest.mark.parametrize(("figure", "shown"), [(True, "true"), (float("inf"), "Infinity"), ("absent", "nothing")])
def test_compare_refuses_a_run_summary_figure_trustsim_never_writes(tmp_path, capsys, small_results, figure, shown):
    """A run's summary edited by hand: ``true`` was compared as a market share of 1, and an infinity or a figure
    gone dropped its rows from the table, exit 0. Each is refused in one line naming the key; a null (a posture
    with no buyers: not measured) is still read as such."""
    a, b = tmp_path / "A", tmp_path / "B"
    shutil.copytree(small_results / "run", a)
    shutil.copytree(small_results / "run", b)
    summary = json.loads((b / "summary.json").read_text())
    if figure == "absent":
        del summary["long_run"]["partner"]["market_share"]
    else:
        summary["long_run"]["partner"]["market_share"] = figure
    (b / "summary.json").write_text(json.dumps(summary))
    code = main(["compare", str(a), str(b), "--out", str(tmp_path / "C")])
    one_line(code, capsys.readouterr().err, f"{b / 'summary.json'}: long_run.partner.market_share: expected a number",
             f"got {shown}")
    assert not (tmp_path / "C").exists() and ours_beside(tmp_path) == []
    summary["long_run"]["partner"]["market_share"] = None
    (b / "summary.json").write_text(json.dumps(summary))
    assert main(["compare", str(a), str(b), "--out", str(tmp_path / "C")]) == 0, capsys.readouterr().err


def test_compare_tells_what_it_found_only_once_all_of_it_is_known(tmp_path, capsys, small_results, monkeypatch):
    """What compare prints is worked out before its folder is written: a failure there left a complete folder
    behind an error line."""
    # here: the module's top imports no comparison (which loads the engine)
    from trustsim.comparison import Comparison

    a, b = tmp_path / "A", tmp_path / "B"
    shutil.copytree(small_results / "reps", a)
    shutil.copytree(small_results / "reps", b)

    def fails(self):
        raise RuntimeError("deliberate failure")

    monkeypatch.setattr(Comparison, "failed", property(fails))
    code = main(["compare", str(a), str(b), "--out", str(tmp_path / "C")])
    assert code != 0 and "deliberate failure" in capsys.readouterr().err
    assert not (tmp_path / "C").exists() and ours_beside(tmp_path) == []


def test_merge_of_one_folder_twice_names_that_folder(tmp_path, capsys):
    path = tmp_path / "sw.toml"
    path.write_text(f'extends = "{BASELINE.as_posix()}"\n[run]\nsteps = 2\n[market]\nbuyers = 6\nsuppliers = 3\n'
                    '[sweep]\ndesign = "grid"\nreplications = 1\nseed = 3\n'
                    '[sweep.factors]\n"market.uncertainty" = [0.0, 0.6]\n')
    shard, other = tmp_path / "S1", tmp_path / "S2"
    for k, where in ((1, shard), (2, other)):
        assert main(["sweep", str(path), "--shard", f"{k}/2", "--out", str(where), "--workers", "1", "--quiet"]) == 0
    capsys.readouterr()
    code = main(["merge", str(shard), str(shard), "--out", str(tmp_path / "M")])
    one_line(code, capsys.readouterr().err, f"{shard}: shard 1/2 given twice (the same folder")
    before = snapshot(shard)
    code = main(["merge", str(shard), str(other), "--out", str(shard), "--force"])
    one_line(code, capsys.readouterr().err, "never writes into a folder it reads")
    assert snapshot(shard) == before


@pytest.mark.parametrize("edit, needle", [
    (lambda st: st.pop("fingerprint"), "sweep.json: fingerprint: missing"),
    (lambda st: st.update(shard=5), "sweep.json: shard: expected [K, N]"),
    (lambda st: st.update(shard=[2, 2, 2]), "sweep.json: shard: expected [K, N]"),
    (lambda st: st.update(base="x"), "sweep.json: base: missing or not a dict"),
    (lambda st: st.update(scenario={"foo": 1}), "sweep.json: scenario.name"),
    (lambda st: st["base"].setdefault("market", {}).update(buyers=-1), "sweep.json: market.buyers"),
    (lambda st: st.clear() or st.update(a=1), "sweep.json: name: missing"),
])
def test_merge_refuses_a_shard_whose_sweep_json_was_edited(tmp_path, capsys, edit, needle):
    """A shard's sweep.json says which sweep it holds and how it was split; one edited by hand is refused in a
    line that names it (not the sweep file it names, which is unchanged), and nothing is merged."""
    path = tmp_path / "sw.toml"
    path.write_text(f'extends = "{BASELINE.as_posix()}"\n[run]\nsteps = 2\n[market]\nbuyers = 6\nsuppliers = 3\n'
                    '[sweep]\ndesign = "grid"\nreplications = 1\nseed = 3\n'
                    '[sweep.factors]\n"market.uncertainty" = [0.0, 0.6]\n')
    shards = [tmp_path / "S1", tmp_path / "S2"]
    for k, where in enumerate(shards, 1):
        assert main(["sweep", str(path), "--shard", f"{k}/2", "--out", str(where), "--workers", "1", "--quiet"]) == 0
    state = json.loads((shards[0] / "sweep.json").read_text())
    edit(state)
    (shards[0] / "sweep.json").write_text(json.dumps(state))
    capsys.readouterr()
    one_line(main(["merge", *map(str, shards), "--out", str(tmp_path / "M")]), capsys.readouterr().err, needle)
    assert not (tmp_path / "M").exists()
    (shards[0] / "sweep.json").write_text("[1]")  # JSON, not a state: resuming the shard is refused too
    one_line(main(["sweep", str(path), "--shard", "1/2", "--out", str(shards[0]), "--resume", "--quiet"]),
             capsys.readouterr().err, "different sweep")


@pytest.mark.parametrize("kind", ["run", "reps"])
def test_report_keeps_the_users_files_in_figures(tmp_path, capsys, small_results, kind):
    folder = tmp_path / kind
    shutil.copytree(small_results / kind, folder)
    (folder / "figures" / "notes.txt").write_text("mine")
    (folder / "figures" / "old").mkdir()
    assert main(["report", str(folder)]) == 0, capsys.readouterr().err
    assert (folder / "figures" / "notes.txt").read_text() == "mine" and (folder / "figures" / "old").is_dir()
    assert sorted(p.name for p in folder.iterdir() if p.name.startswith(".")) == [] and ours_beside(tmp_path) == []


def test_report_draws_over_a_manifestless_runs_figures_only_with_force(tmp_path, capsys, small_results):
    """A run's tables without their manifest.json can be drawn again, but nothing then says that the files in its
    figures/ are trustsim's: a file of a figure's name is the user's until --force."""
    folder = tmp_path / "tables"
    folder.mkdir()
    for name in ("timeseries.csv", "buyers.csv"):
        shutil.copy(small_results / "run" / name, folder / name)
    (folder / "figures").mkdir()
    (folder / "figures" / "costs.png").write_text("mine")
    one_line(main(["report", str(folder)]), capsys.readouterr().err, "no manifest.json", "--force")
    assert snapshot(folder / "figures") == {"costs.png": b"mine"} and ours_beside(tmp_path) == []
    assert main(["report", str(folder), "--force"]) == 0, capsys.readouterr().err
    assert (folder / "figures" / "costs.png").read_bytes().startswith(b"\x89PNG")
    shutil.rmtree(folder / "figures")  # nothing to overwrite: drawn without --force
    assert main(["report", str(folder)]) == 0, capsys.readouterr().err
    assert (folder / "figures" / "costs.png").is_file()


def test_report_names_a_manifest_it_cannot_read_and_keeps_a_read_only_result(tmp_path, capsys, small_results):
    """A manifest.json that is not one trustsim wrote is named as such (not as missing); a result made read-only is
    kept as it is, even for a user whom the mode does not stop (root), as run --out keeps it."""
    folder = tmp_path / "run"
    shutil.copytree(small_results / "run", folder)
    (folder / "manifest.json").write_text("{bad")
    before = snapshot(folder)
    one_line(main(["report", str(folder)]), capsys.readouterr().err, "a manifest.json trustsim cannot read", "--force")
    assert snapshot(folder) == before
    shutil.copy(small_results / "run" / "manifest.json", folder / "manifest.json")
    before = snapshot(folder)
    (folder / "figures").chmod(0o555)
    try:
        one_line(main(["report", str(folder)]), capsys.readouterr().err, "figures: is read-only", "chmod -R u+w")
        assert snapshot(folder) == before
    finally:
        (folder / "figures").chmod(0o755)
    assert main(["report", str(folder)]) == 0, capsys.readouterr().err


@pytest.mark.parametrize("edit", ["bands without step", "runs without status", "runs with words",
                                  "manifest's figures not names", "state's factor out of range"])
def test_report_on_tables_edited_out_of_shape_is_one_line_and_keeps_the_figures(tmp_path, capsys, small_results,
                                                                                sweep_result, edit):
    import pandas as pd

    kind = "reps" if edit.startswith("bands") else "sweep"
    folder = tmp_path / kind
    shutil.copytree(small_results / kind if kind == "reps" else sweep_result, folder)
    if edit == "bands without step":
        pd.read_csv(folder / "bands.csv").drop(columns="step").to_csv(folder / "bands.csv", index=False)
    elif edit.startswith("runs"):
        runs = pd.read_parquet(folder / "runs.parquet")
        runs = runs.drop(columns="status") if edit.endswith("status") else runs.assign(
            **{"advantage.market_share": "x"})
        runs.to_parquet(folder / "runs.parquet")
    elif edit.startswith("state"):  # blamed on sweep.json, not on the sweep file it names
        state = json.loads((folder / "sweep.json").read_text())
        state["sweep"]["factors"]["market.uncertainty"] = [0.0, 7.0]
        (folder / "sweep.json").write_text(json.dumps(state))
    else:  # a list trustsim did not write: the figures are drawn, the list left as it is
        info = json.loads((folder / "manifest.json").read_text())
        info["figures"] = [1, {"a": 1}]
        (folder / "manifest.json").write_text(json.dumps(info))
    before = snapshot(folder)
    code = main(["report", str(folder)])
    err = capsys.readouterr().err
    if edit.startswith("manifest"):
        assert code == 0, err
        assert json.loads((folder / "manifest.json").read_text())["figures"] == [1, {"a": 1}]
        return
    one_line(code, err, str(folder / "sweep.json") if edit.startswith("state") else str(folder))
    assert snapshot(folder) == before and ours_beside(tmp_path) == []


@pytest.mark.parametrize("table, cut", [("timeseries.csv", "mid-row"), ("timeseries.csv", "at a step's end"),
                                        ("timeseries.csv", "inside a step"), ("buyers.csv", "mid-row"),
                                        ("buyers.csv", "at a row's end"), ("buyers.csv", "deleted")])
def test_report_on_a_table_cut_short_is_one_line_and_keeps_the_figures(tmp_path, capsys, small_results, table, cut):
    """A table cut short (a copy stopped part way, a full disk) is refused, not drawn as a shorter run; a run's
    buyers.csv deleted too, whose figure would otherwise stay as drawn from the table that was there."""
    folder = tmp_path / "run"
    shutil.copytree(small_results / "run", folder)
    lines = (folder / table).read_bytes().splitlines(keepends=True)
    if cut == "deleted":
        (folder / table).unlink()
    else:
        keep = {"mid-row": b"".join(lines[:-2]) + lines[-2][:20], "at a step's end": b"".join(lines[:-3]),
                "inside a step": b"".join(lines[:-1]), "at a row's end": b"".join(lines[:-1])}[cut]
        (folder / table).write_bytes(keep)
    before = snapshot(folder)
    one_line(main(["report", str(folder)]), capsys.readouterr().err, str(folder / table))
    assert snapshot(folder) == before and ours_beside(tmp_path) == []


@pytest.mark.parametrize("table", ["bands.csv", "replications.csv"])
def test_report_on_a_replications_table_cut_short_is_one_line_and_keeps_the_figures(tmp_path, capsys, small_results,
                                                                                     table):
    folder = tmp_path / "reps"
    shutil.copytree(small_results / "reps", folder)
    whole = (folder / table).read_bytes()
    (folder / table).write_bytes(whole[: whole.rindex(b"\n", 0, len(whole) - 1) + 10])
    before = snapshot(folder)
    one_line(main(["report", str(folder)]), capsys.readouterr().err, str(folder / table))
    assert snapshot(folder) == before and ours_beside(tmp_path) == []


@pytest.mark.parametrize("edit", ["bands.csv header only", "bands.csv cut at a row's end", "compare.csv header only",
                                  "compare.csv cut at a row's end", "compare.csv with a word"])
def test_report_on_a_table_without_its_rows_or_numbers_is_one_line_and_keeps_the_figures(tmp_path, capsys,
                                                                                         small_results, edit):
    """A replications folder's bands.csv, or a comparison's compare.csv, with its header only or cut at a row's end
    redrew the figures empty or short, exit 0 (a word in compare.csv was an ArrowNotImplementedError): each is
    refused in one line naming the table, the figures kept."""
    shutil.copytree(small_results / "reps", tmp_path / "reps")
    folder = tmp_path / "reps"
    if edit.startswith("compare"):
        shutil.copytree(small_results / "reps", tmp_path / "reps2")
        folder = tmp_path / "C"
        assert main(["compare", str(tmp_path / "reps"), str(tmp_path / "reps2"), "--out", str(folder)]) in (0, 1)
        capsys.readouterr()
    table = folder / edit.split()[0]
    lines = table.read_text().splitlines(keepends=True)
    if "header only" in edit:
        lines = lines[:1]
    elif "cut" in edit:
        lines = lines[:-3]
    else:
        row = lines[3].split(",")
        row[1] = "banana"
        lines[3] = ",".join(row)
    table.write_text("".join(lines))
    before = snapshot(folder)
    one_line(main(["report", str(folder)]), capsys.readouterr().err, str(table))
    assert snapshot(folder) == before and ours_beside(tmp_path) == []


def test_report_on_a_folder_that_is_no_result_says_so_before_looking_inside(tmp_path, capsys):
    """A folder of yours with a read-only folder inside was reported as read-only, and `report /` walked the whole
    tree to say '/proc: is read-only': whether the folder is a result is asked first."""
    (tmp_path / "mine" / "sub").mkdir(parents=True)
    (tmp_path / "mine" / "sub").chmod(0o555)
    try:
        one_line(main(["report", str(tmp_path / "mine")]), capsys.readouterr().err,
                 f"{tmp_path / 'mine'}: not a results folder")
    finally:
        (tmp_path / "mine" / "sub").chmod(0o755)
    one_line(main(["report", "/"]), capsys.readouterr().err, "/: not a results folder")


@pytest.mark.parametrize("kind", ["run", "reps"])
def test_report_never_follows_a_symlinked_figures_folder_out_of_the_results(tmp_path, capsys, small_results, kind):
    folder, outside = tmp_path / kind, tmp_path / "outside"
    shutil.copytree(small_results / kind, folder)
    shutil.rmtree(folder / "figures")
    outside.mkdir()
    (outside / "thesis.tex").write_text("years of work")
    (folder / "figures").symlink_to(outside)
    one_line(main(["report", str(folder)]), capsys.readouterr().err, "symbolic link")
    assert snapshot(outside) == {"thesis.tex": b"years of work"} and ours_beside(tmp_path) == []


def test_a_blank_out_is_refused(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    one_line(*run(capsys, " "), "blank")
    assert list(tmp_path.iterdir()) == []


def test_resume_drops_journal_rows_that_do_not_belong_to_the_sweep(tmp_path, sweep_result):
    out = tmp_path / "S"
    shutil.copytree(sweep_result, out)
    shutil.copy(sweep_result.parent / "sw.toml", tmp_path / "sw.toml")
    original = (out / "runs.csv").read_text()
    rows = [json.loads(line) for line in (out / "journal.jsonl").read_text().splitlines()]
    stranger = json.loads(json.dumps(rows[0]))
    stranger["row"]["run_id"] = 500
    wrong = next(r for r in rows if r["row"]["run_id"] == 1)
    wrong["row"]["seed"] = 12345  # a row with the wrong seed, and its figures made up
    wrong["row"]["all.tco_per_unit"] = 99.0
    (out / "journal.jsonl").write_text("".join(json.dumps(r) + "\n" for r in [*rows, stranger]))
    proc = subprocess.run([*CLI, "sweep", str(tmp_path / "sw.toml"), "--out", str(out), "--resume", "--workers", "1",
                           "--quiet"], capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "2 journal rows" in proc.stderr and "dropped (run 1: its seed is not the design's)" in proc.stderr
    assert (out / "runs.csv").read_text() == original  # 2 runs, the design's seeds, run 1 made again
    assert len((out / "journal.jsonl").read_text().splitlines()) == 2
