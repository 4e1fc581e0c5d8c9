"""Every command that writes a folder is guarded as ``run`` is, one writer at a time, and a sweep's workers
end with it: ``sweep``, ``merge`` and ``patterns`` never delete what a user owns (compared byte for byte),
a second sweep or ``--resume`` on one folder exits 2 naming the holder, and no pool worker outlives a
``kill -9`` of its sweep by more than 5 seconds.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import BASELINE, dead_pid, one_line

from trustsim.cli import main

CLI = [sys.executable, "-m", "trustsim"]


def sweep_file(where: Path, steps: int = 4, buyers: int = 6, replications: int = 1, name: str = "sw") -> Path:
    path = where / f"{name}.toml"
    path.write_text(f'extends = "{BASELINE.as_posix()}"\n[run]\nsteps = {steps}\n'
                    f'[market]\nbuyers = {buyers}\nsuppliers = 3\n'
                    f'[sweep]\ndesign = "grid"\nreplications = {replications}\nseed = 3\n'
                    '[sweep.factors]\n"market.uncertainty" = [0.0, 0.6]\n')
    return path


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def cli(capsys, *argv):
    code = main([str(a) for a in argv])
    return code, capsys.readouterr().err


def user_files(folder: Path) -> None:
    """What a user keeps in a folder: their own figures, a manifest and a table of the same names as a
    sweep's, notes."""
    (folder / "figures").mkdir(parents=True, exist_ok=True)
    (folder / "figures" / "mine.png").write_bytes(b"\x89PNG my plot")
    (folder / "manifest.json").write_text('{"mine": true}\n')
    (folder / "runs.csv").write_text("my,table\n1,2\n")
    (folder / "notes.txt").write_text("notes\n")


@pytest.fixture(scope="module")
def finished_sweep(tmp_path_factory):
    where = tmp_path_factory.mktemp("done")
    out = where / "out"
    proc = subprocess.run([*CLI, "sweep", str(sweep_file(where)), "--out", str(out), "--workers", "1", "--quiet"],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    return out


# --- 2: sweep, merge and patterns use run's guard ---------------------------------------------------------

@pytest.mark.parametrize("out", [".", ".."])
def test_sweep_force_never_removes_the_current_folder_or_one_above(tmp_path, monkeypatch, capsys, out):
    work = tmp_path / "project" / "here"
    work.mkdir(parents=True)
    user_files(tmp_path / "project")
    user_files(work)
    path = sweep_file(tmp_path)
    monkeypatch.chdir(work)
    before = snapshot(tmp_path / "project")
    one_line(*cli(capsys, "sweep", path, "--out", out, "--force", "--workers", "1", "--quiet"), "current folder")
    assert snapshot(tmp_path / "project") == before


def test_sweep_into_a_folder_of_user_files_is_refused_and_force_replaces_it_whole(tmp_path, capsys):
    out = tmp_path / "mine"
    user_files(out)
    before = snapshot(out)
    path = sweep_file(tmp_path)
    one_line(*cli(capsys, "sweep", path, "--out", out, "--workers", "1", "--quiet"), "not a trustsim result",
             "--force")
    assert snapshot(out) == before
    one_line(*cli(capsys, "sweep", path, "--out", out, "--resume", "--workers", "1", "--quiet"))
    assert snapshot(out) == before
    assert cli(capsys, "sweep", path, "--out", out, "--force", "--workers", "1", "--quiet")[0] == 0
    assert not (out / "notes.txt").exists() and not (out / "figures" / "mine.png").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine", "sw.toml"]  # nothing left beside it


def test_a_sweep_with_user_files_in_it_is_kept_by_sweep_and_resume(tmp_path, capsys, finished_sweep):
    out = tmp_path / "out"
    shutil.copytree(finished_sweep, out)
    (out / "figures" / "my-notes").mkdir()
    (out / "figures" / "my-notes" / "a.txt").write_text("mine")
    (out / "notes.txt").write_text("mine")
    before = snapshot(out)
    path = sweep_file(tmp_path)
    one_line(*cli(capsys, "sweep", path, "--out", out, "--workers", "1", "--quiet"), "my-notes/", "--force")
    one_line(*cli(capsys, "sweep", path, "--out", out, "--resume", "--workers", "1", "--quiet"),
             "besides its sweep", "before resuming")
    assert snapshot(out) == before


def test_sweep_does_not_replace_a_run_nor_a_folder_holding_its_sweep_file(tmp_path, capsys):
    run = tmp_path / "run"
    assert main(["run", str(BASELINE), "--set", "market.buyers=8", "--set", "market.suppliers=4", "--steps", "4",
                 "--quiet", "--out", str(run)]) == 0
    capsys.readouterr()
    before = snapshot(run)
    study = tmp_path / "study"
    study.mkdir()
    path = sweep_file(study)
    one_line(*cli(capsys, "sweep", path, "--out", run, "--workers", "1", "--quiet"), "trustsim run result")
    assert snapshot(run) == before
    one_line(*cli(capsys, "sweep", path, "--out", study, "--force", "--workers", "1", "--quiet"),
             "which this command reads", "not even --force")
    assert sorted(p.name for p in study.iterdir()) == ["sw.toml"]


def test_merge_never_removes_its_shards_nor_replaces_another_kind(tmp_path, capsys):
    path = sweep_file(tmp_path)
    shards = []
    for k in (1, 2):
        shard = tmp_path / "A" / f"s{k}"
        assert cli(capsys, "sweep", path, "--shard", f"{k}/2", "--out", shard, "--workers", "1", "--quiet")[0] == 0
        shards.append(shard)
    before = snapshot(tmp_path / "A")
    one_line(*cli(capsys, "merge", *shards, "--out", tmp_path / "A", "--force"), "which this command reads")
    assert snapshot(tmp_path / "A") == before
    assert cli(capsys, "merge", *shards, "--out", tmp_path / "whole")[0] == 0
    mine = tmp_path / "mine"
    user_files(mine)
    mine_before = snapshot(mine)
    one_line(*cli(capsys, "merge", *shards, "--out", mine), "not a trustsim result")
    one_line(*cli(capsys, "merge", *shards, "--out", shards[0], "--force"), "which this command reads")
    assert snapshot(mine) == mine_before and snapshot(tmp_path / "A") == before


def test_merge_does_not_replace_an_unfinished_sweep_without_force(tmp_path, capsys, finished_sweep):
    """An unfinished sweep's journal holds runs no other folder has: `sweep` keeps it without --force, and so
    does `merge`."""
    path = sweep_file(tmp_path)
    shards = [tmp_path / f"s{k}" for k in (1, 2)]
    for k, shard in enumerate(shards, 1):
        assert cli(capsys, "sweep", path, "--shard", f"{k}/2", "--out", shard, "--workers", "1", "--quiet")[0] == 0
    out = tmp_path / "unfinished"
    shutil.copytree(finished_sweep, out)
    (out / "manifest.json").unlink()
    before = snapshot(out)
    one_line(*cli(capsys, "merge", *shards, "--out", out), "holds an unfinished sweep (2 runs done)", "--force")
    assert snapshot(out) == before
    assert cli(capsys, "merge", *shards, "--out", out, "--force")[0] == 0
    assert (out / "manifest.json").is_file()


def test_patterns_refuses_before_running_and_never_replaces_another_kind(tmp_path, capsys, monkeypatch,
                                                                         finished_sweep):
    from trustsim import patterns

    def no_runs(*a, **k):
        raise AssertionError("the target should be refused before any run")

    monkeypatch.setattr(patterns, "run_all", no_runs)
    out = tmp_path / "sweep"
    shutil.copytree(finished_sweep, out)
    before = snapshot(out)
    one_line(*cli(capsys, "patterns", "--seeds", "2", "--out", out), "trustsim sweep result")
    assert snapshot(out) == before
    monkeypatch.chdir(out)
    one_line(*cli(capsys, "patterns", "--seeds", "2", "--out", ".", "--force"), "current folder")
    assert snapshot(out) == before


# --- 3: one sweep writer at a time -------------------------------------------------------------------------

HOLD = """
import sys, time
from trustsim.results import target_lock
with target_lock(sys.argv[1]):
    print("held", flush=True)
    time.sleep(120)
"""


def test_a_sweep_or_resume_on_a_locked_folder_exits_2_naming_the_holder(tmp_path, capsys, finished_sweep):
    out = tmp_path / "out"
    shutil.copytree(finished_sweep, out)
    before = snapshot(out)
    path = sweep_file(tmp_path)
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(out)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        for extra in (("--resume",), ("--force",)):
            one_line(*cli(capsys, "sweep", path, "--out", out, *extra, "--workers", "1", "--quiet"),
                     f"process {holder.pid}")
        # (without either, the finished sweep is refused before the lock is asked for)
        one_line(*cli(capsys, "sweep", path, "--out", out, "--workers", "1", "--quiet"), "finished sweep")
        assert snapshot(out) == before
    finally:
        holder.kill()
        holder.wait()
    assert (tmp_path / ".out.lock").read_text().strip() == str(holder.pid)  # left by a dead process
    assert cli(capsys, "sweep", path, "--out", out, "--workers", "1", "--quiet", "--force")[0] == 0  # taken over
    assert not (tmp_path / ".out.lock").exists()


def test_two_sweeps_on_one_folder_then_a_kill_and_a_resume(tmp_path):
    path = sweep_file(tmp_path, steps=40, buyers=400, replications=40)
    out = tmp_path / "out"
    first = subprocess.Popen([*CLI, "sweep", str(path), "--out", str(out), "--workers", "1", "--quiet"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while not (out / "journal.jsonl").exists() and time.monotonic() < deadline:
            time.sleep(0.02)
        assert (out / "journal.jsonl").exists(), "the first sweep should have started"
        second = subprocess.run([*CLI, "sweep", str(path), "--out", str(out), "--resume", "--quiet"],
                                capture_output=True, text=True, timeout=120)
        assert second.returncode == 2 and f"process {first.pid}" in second.stderr, second.stderr
        assert len(second.stderr.splitlines()) == 1
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait()
    done = (out / "journal.jsonl").read_bytes().count(b"\n")
    resumed = subprocess.run([*CLI, "sweep", str(path), "--out", str(out), "--resume", "--workers", "1",
                              "--quiet"], capture_output=True, text=True, timeout=600)
    assert resumed.returncode == 0, resumed.stderr
    assert f"({80 - done} computed now)" in resumed.stdout
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "sw.toml"]


def test_sweep_force_through_a_symbolic_link_replaces_the_folder_it_leads_to(tmp_path, capsys):
    """As `run` does: the link stays and leads to the sweep; no link is left aside (`.NAME.old-PID`)."""
    real, link = tmp_path / "real", tmp_path / "link"
    user_files(real)
    link.symlink_to(real, target_is_directory=True)
    path = sweep_file(tmp_path)
    assert cli(capsys, "sweep", path, "--out", link, "--force", "--workers", "1", "--quiet")[0] == 0
    assert link.is_symlink() and (real / "manifest.json").exists() and not (real / "notes.txt").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link", "real", "sw.toml"]


def test_resume_after_a_kill_between_writing_a_file_and_renaming_it(tmp_path, capsys):
    """What `kill -9` leaves while a sweep writes a run's time series or a table (`.NAME.tmp-PID`, before its
    rename) is no file of the user's: `--resume` finishes the sweep and removes it."""
    path = sweep_file(tmp_path)
    out = tmp_path / "out"
    args = ("sweep", path, "--out", out, "--workers", "1", "--quiet", "--timeseries")
    assert cli(capsys, *args)[0] == 0
    (out / "manifest.json").unlink()  # killed before its end
    pid = dead_pid()
    (out / "timeseries" / f".run-0000001.parquet.tmp-{pid}").write_bytes(b"PAR1 cut short")
    (out / f".runs.csv.tmp-{pid}").write_text("run_id\n")
    code, err = cli(capsys, *args, "--resume")
    assert code == 0, err
    assert (out / "manifest.json").exists()
    assert not [p for p in out.rglob("*") if ".tmp-" in p.name]


# --- 5: a sweep's workers end with it -----------------------------------------------------------------------

def descendants(pid: int) -> set[int]:
    """Every process below ``pid``: its children, theirs (a fork server's workers), …"""
    parents = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parents[int(entry.name)] = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
    found, frontier = set(), {pid}
    while frontier:
        frontier = {p for p, pp in parents.items() if pp in frontier} - found
        found |= frontier
    return found


def alive(pid: int) -> bool:
    """Running, not a zombie waiting to be reaped."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] not in ("Z", "X")


def kill_and_watch(parent: subprocess.Popen, workers: set[int]) -> list[int]:
    """SIGKILL the parent; the workers still alive 5 seconds later."""
    parent.send_signal(signal.SIGKILL)
    parent.wait()
    time.sleep(5)
    left = [pid for pid in workers if alive(pid)]
    for pid in left:  # do not leave them to the rest of the suite
        os.kill(pid, signal.SIGKILL)
    return left


def wait_for(predicate, seconds=60):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    return predicate()


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads processes from /proc")
def test_no_worker_outlives_a_killed_sweep(tmp_path):
    path = sweep_file(tmp_path, steps=60, buyers=2000, replications=50)
    journal = tmp_path / "out" / "journal.jsonl"
    proc = subprocess.Popen([*CLI, "sweep", str(path), "--out", str(tmp_path / "out"), "--workers", "2",
                             "--quiet"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    # workers at work: the journal has its first runs
    wait_for(lambda: journal.exists() and journal.read_bytes().count(b"\n") >= 2, seconds=120)
    started = descendants(proc.pid)
    if proc.poll() is not None:
        pytest.fail("the sweep ended before it could be killed")
    assert len(started) >= 2, started
    assert kill_and_watch(proc, started) == []  # workers, and the fork server and resource tracker with them


FORKSERVER = """
import multiprocessing, os, sys, time
from concurrent.futures import ProcessPoolExecutor
from trustsim.experiments.execute import die_with_parent
ctx = multiprocessing.get_context(sys.argv[1])
pool = ProcessPoolExecutor(max_workers=2, mp_context=ctx, initializer=die_with_parent, initargs=(os.getpid(),))
futures = [pool.submit(time.sleep, 1) for _ in range(4)]
pids = {pool.submit(os.getpid).result() for _ in range(8)}
print(" ".join(map(str, sorted(pids))), flush=True)
time.sleep(120)
"""


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads processes from /proc")
@pytest.mark.parametrize("method", ["fork", "forkserver", "spawn"])
def test_no_worker_outlives_its_killed_parent_whatever_the_start_method(method):
    proc = subprocess.Popen([sys.executable, "-c", FORKSERVER, method], stdout=subprocess.PIPE, text=True)
    workers = {int(p) for p in proc.stdout.readline().split()}
    assert workers and all(alive(p) for p in workers)
    assert kill_and_watch(proc, workers) == []


def test_merge_replaces_a_finished_sweep_only_of_the_same_design_and_code_without_force(tmp_path, capsys,
                                                                                       finished_sweep):
    """`sweep` keeps a finished sweep without --force; `merge` replaced any, hours of another design's runs lost
    to a mistyped --out. A finished sweep of the shards' own design and code is the same tables again, and goes."""
    other = sweep_file(tmp_path, steps=5, name="other")  # another design: its fingerprint differs
    shards = [tmp_path / f"o{k}" for k in (1, 2)]
    for k, shard in enumerate(shards, 1):
        assert cli(capsys, "sweep", other, "--shard", f"{k}/2", "--out", shard, "--workers", "1", "--quiet")[0] == 0
    out = tmp_path / "finished"
    shutil.copytree(finished_sweep, out)
    before = snapshot(out)
    one_line(*cli(capsys, "merge", *shards, "--out", out), "holds a finished sweep of another design or code",
             "--force")
    assert snapshot(out) == before
    assert cli(capsys, "merge", *shards, "--out", out, "--force")[0] == 0
    assert cli(capsys, "merge", *shards, "--out", out)[0] == 0  # now the shards' own merge: made again
    same = [tmp_path / f"s{k}" for k in (1, 2)]  # the finished sweep's own design, in shards
    for k, shard in enumerate(same, 1):
        assert cli(capsys, "sweep", sweep_file(tmp_path), "--shard", f"{k}/2", "--out", shard, "--workers", "1",
                   "--quiet")[0] == 0
    again = tmp_path / "again"
    shutil.copytree(finished_sweep, again)
    assert cli(capsys, "merge", *same, "--out", again)[0] == 0
