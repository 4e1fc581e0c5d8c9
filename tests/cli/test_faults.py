"""Faults around the results folder: unwritable places, a full disk, foreign folders, signals.

Whatever happens, a results folder is either a whole trustsim result or absent, no temporary folder
is left behind, and nothing that is not a trustsim result is overwritten without ``--force``.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import BASELINE, TINY, dead_pid, one_line, small_sweep

from trustsim import results
from trustsim.cli import main

RESULT_FILES = ("timeseries.csv", "summary.json", "buyers.csv", "network.graphml", "manifest.json")


def run(capsys, out, *extra):
    code = main(["run", str(BASELINE), *TINY, "--out", str(out), *map(str, extra)])
    _, err = capsys.readouterr()
    return code, err


def leftovers(folder: Path) -> list[str]:
    """Temporary or half-replaced folders the writer may have left next to the result."""
    return sorted(p.name for p in folder.iterdir() if ".tmp-" in p.name or ".old-" in p.name)


def assert_whole_result(out: Path):
    for name in RESULT_FILES:
        assert (out / name).is_file(), name
    assert json.loads((out / "manifest.json").read_text())["trustsim"]
    assert (out / "timeseries.csv").read_text().count("\n") > 1


# --- places that cannot be written ----------------------------------------------------------------

def test_parent_that_is_a_file(tmp_path, capsys):
    (tmp_path / "plain").write_text("a file, not a folder")
    code, err = run(capsys, tmp_path / "plain" / "res")
    one_line(code, err, "plain")
    assert (tmp_path / "plain").read_text() == "a file, not a folder"
    assert leftovers(tmp_path) == []


def test_target_that_is_a_file(tmp_path, capsys):
    target = tmp_path / "res"
    target.write_text("keep me")
    code, err = run(capsys, target, "--force")
    one_line(code, err, "not a folder")
    assert target.read_text() == "keep me"


@pytest.mark.skipif(not Path("/proc/self").exists(), reason="needs a /proc file system")
def test_folder_in_a_file_system_that_refuses_writes(capsys):
    code, err = run(capsys, "/proc/trustsim-results")
    one_line(code, err, "trustsim-results")
    assert not Path("/proc/trustsim-results").exists()


def test_read_only_folder_refused_before_the_run(tmp_path, capsys, monkeypatch):
    """As a user without write permission sees it (simulated: root ignores permission bits)."""
    real_access = os.access
    monkeypatch.setattr(results.os, "access", lambda p, mode: False if mode == os.W_OK else real_access(p, mode))
    code, err = run(capsys, tmp_path / "res")
    one_line(code, err, "cannot write in")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("err_no", [errno.EACCES, errno.EROFS, errno.ENOSPC, errno.EDQUOT, errno.EFBIG])
def test_write_failure_part_way_leaves_nothing(tmp_path, capsys, monkeypatch, err_no):
    """The folder becomes unwritable (or the disk fills) after some files are written."""
    from trustsim import report

    def failing_figures(folder):
        (Path(folder) / "figures").mkdir(exist_ok=True)
        (Path(folder) / "figures" / "half.png").write_bytes(b"\x89PNG")
        raise OSError(err_no, os.strerror(err_no))

    monkeypatch.setattr(report, "figures", failing_figures)
    out = tmp_path / "res"
    code, err = run(capsys, out)
    one_line(code, err, str(out), os.strerror(err_no), "nothing was written")
    assert list(tmp_path.iterdir()) == []


def test_full_disk_keeps_the_previous_result(tmp_path, capsys, monkeypatch):
    out = tmp_path / "res"
    assert run(capsys, out, "--seed", 1)[0] == 0
    before = {n: (out / n).read_bytes() for n in RESULT_FILES}
    import pandas as pd

    def no_space(self, *a, **k):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(pd.DataFrame, "to_csv", no_space)
    code, err = run(capsys, out, "--seed", 2)
    one_line(code, err, "No space left")
    assert {n: (out / n).read_bytes() for n in RESULT_FILES} == before
    assert leftovers(tmp_path) == []


def test_a_rename_that_fails_after_the_old_result_was_moved_aside_puts_it_back(tmp_path, capsys, monkeypatch):
    """The old run is moved aside, then the new one cannot be renamed into place (the file system refuses): the
    old run is back at the target byte for byte, and nothing is left beside it."""
    out = tmp_path / "res"
    assert run(capsys, out, "--seed", 1)[0] == 0
    before = result_bytes(out)
    real = os.rename

    def refuse_the_new(src, dst):
        if ".res.tmp-" in os.fspath(src):
            raise OSError(errno.EACCES, os.strerror(errno.EACCES))
        real(src, dst)

    monkeypatch.setattr(os, "rename", refuse_the_new)
    code, err = run(capsys, out, "--seed", 2)
    one_line(code, err, str(out), "nothing was written")
    assert result_bytes(out) == before
    assert leftovers(tmp_path) == []


@pytest.fixture
def small_disk(tmp_path):
    """A real 300 KB file system (tmpfs); skipped where mounting is not allowed."""
    mnt = tmp_path / "small"
    mnt.mkdir()
    try:
        proc = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=300k", "tmpfs", str(mnt)],
                              capture_output=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        pytest.skip("cannot run mount")
    if proc.returncode != 0:
        pytest.skip("mounting a tmpfs is not allowed here")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", str(mnt)], capture_output=True, timeout=10)


def test_a_mount_point_as_the_results_folder_is_named_in_one_line(small_disk, capsys):
    """An empty folder that is a mount point (a USB disk, a container's volume) cannot be renamed away to put the new
    result in its place: that was an OSError's traceback (EBUSY) from the rename; it is one line saying to name a
    folder inside it, with nothing left beside it and the mount point as it was."""
    code = main(["run", str(BASELINE), *TINY, "--quiet", "--out", str(small_disk)])
    one_line(code, capsys.readouterr()[1], str(small_disk), "a mount point", "name a folder inside it",
             "nothing was written")
    assert list(small_disk.iterdir()) == [] and sorted(p.name for p in small_disk.parent.iterdir()) == ["small"]
    assert main(["run", str(BASELINE), *TINY, "--quiet", "--out", str(small_disk / "res")]) == 0


def test_really_full_disk(small_disk, capsys):
    out = small_disk / "res"
    code = main(["run", str(BASELINE), "--set", "market.buyers=2000", "--set", "market.suppliers=100", "--steps",
                 "10", "--quiet", "--out", str(out)])
    _, err = capsys.readouterr()
    one_line(code, err, "No space left", "nothing was written")
    assert list(small_disk.iterdir()) == []


# --- folders that hold something else -------------------------------------------------------------

@pytest.mark.parametrize("content", [
    {"notes.txt": "precious"},
    {"manifest.json": '{"name": "not ours"}'},
    {"manifest.json": "{ broken json"},
    {"timeseries.csv": "step,group\n"},
])
def test_foreign_folder_needs_force(tmp_path, capsys, content):
    out = tmp_path / "res"
    out.mkdir()
    for name, text in content.items():
        (out / name).write_text(text)
    code, err = run(capsys, out)
    one_line(code, err, str(out), "not a trustsim result", "--force")
    assert {p.name: p.read_text() for p in out.iterdir()} == content
    code, err = run(capsys, out, "--force")
    assert code == 0, err
    assert_whole_result(out)
    assert leftovers(tmp_path) == []


def test_empty_folder_and_own_result_are_fine(tmp_path, capsys):
    out = tmp_path / "res"
    out.mkdir()
    assert run(capsys, out)[0] == 0
    assert run(capsys, out, "--seed", 4)[0] == 0
    assert json.loads((out / "manifest.json").read_text())["seed"] == 4
    assert leftovers(tmp_path) == []


def test_what_a_killed_report_left_in_a_run_is_not_the_users(tmp_path, capsys):
    """`kill -9` of `report` leaves its temporary figures and manifest inside the run: they are trustsim's, not
    files of the user's that keep the run from being replaced."""
    out = tmp_path / "res"
    assert run(capsys, out)[0] == 0
    pid = dead_pid()
    shutil.copytree(out / "figures", out / f".figures.tmp-{pid}-k1ll3d")
    (out / f".manifest.json.tmp-{pid}").write_text("{")
    assert results.foreign_entries(out, "run") == []
    assert run(capsys, out, "--seed", 4)[0] == 0
    assert_whole_result(out)
    assert not [p for p in out.iterdir() if ".tmp-" in p.name] and leftovers(tmp_path) == []


# --- interrupted runs -----------------------------------------------------------------------------

BIG = ["--set", "market.buyers=20000", "--set", "market.suppliers=1000", "--steps", "80", "--quiet"]


def interrupted_run(tmp_path, sig, when):
    """Start `trustsim run` on a bigger market and send ``sig`` during the run or while it writes."""
    out = tmp_path / "res"
    script = Path(sys.executable).with_name("trustsim")
    launcher = [str(script)] if script.exists() else [sys.executable, "-m", "trustsim"]
    proc = subprocess.Popen([*launcher, "run", str(BASELINE), *BIG, "--out", str(out)], cwd=tmp_path,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    if when == "running":
        time.sleep(1.5)  # after start-up, inside the 40 steps
    else:  # as soon as the temporary folder holds a first file
        while time.monotonic() < deadline and proc.poll() is None:
            tmp = [p for p in tmp_path.iterdir() if ".tmp-" in p.name]
            if tmp and any(tmp[0].iterdir()):
                break
            time.sleep(0.005)
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=60)
    return proc.returncode, err, out


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
@pytest.mark.parametrize("when", ["running", "writing"])
def test_interrupted_run_leaves_a_whole_result_or_none(tmp_path, sig, when):
    code, err, out = interrupted_run(tmp_path, sig, when)
    assert leftovers(tmp_path) == [], f"temporary folders left: {leftovers(tmp_path)}"
    if out.exists():  # finished, or interrupted once the result was in place (and said so)
        assert code == 0 or (code == 130 and err == f"trustsim: interrupted; the result was written to {out}\n"), err
        assert_whole_result(out)
    else:
        assert code in (130, 128 + sig, -sig), (code, err)
        assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
        assert "interrupted" in err


@pytest.mark.parametrize("where", [".", "..", "sub/../.."])
def test_force_never_replaces_the_folder_the_command_runs_in(tmp_path, capsys, monkeypatch, where):
    work = tmp_path / "project"
    (work / "sub").mkdir(parents=True)
    (work / "notes.txt").write_text("precious")
    monkeypatch.chdir(work)
    code, err = run(capsys, where, "--force")
    one_line(code, err, "current folder")
    assert (work / "notes.txt").read_text() == "precious" and leftovers(tmp_path) == []


def test_target_through_a_missing_folder_and_dot_dot(tmp_path, capsys):
    out = tmp_path / "no" / "such" / ".." / ".." / "res"
    assert run(capsys, out)[0] == 0
    assert_whole_result(tmp_path / "res")
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("precious")
    code, err = run(capsys, tmp_path / "missing" / ".." / "mine")
    one_line(code, err, "not a trustsim result")
    assert [p.name for p in foreign.iterdir()] == ["notes.txt"] and leftovers(tmp_path) == []


# --- OS errors while writing, wherever they come: one line, exit 2, no lock or half-written file (issue 23) ---

SWEEP = small_sweep(BASELINE)


def _ours(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.rglob("*") if any(s in p.name for s in (".tmp-", ".old-", ".lock")))


@pytest.mark.parametrize("fails_in", ["write", "rename"])
def test_a_file_whose_write_or_rename_fails_leaves_the_old_file_and_no_temporary_one(tmp_path, monkeypatch, fails_in):
    """``replace_file`` whose ``write`` stops part-way (a full disk, after some bytes), or whose rename is refused:
    the error reaches the caller, the old file is byte for byte what it was, and its temporary file is gone."""
    path = tmp_path / "runs.csv"
    path.write_text("a\n1\n")
    failure = OSError(errno.ENOSPC if fails_in == "write" else errno.EACCES, "refused")

    def write(tmp):
        tmp.write_text("a\n")
        if fails_in == "write":
            raise failure

    def refuse(src, dst):
        raise failure

    if fails_in == "rename":
        monkeypatch.setattr(results.os, "replace", refuse)
    with pytest.raises(OSError) as caught:
        results.replace_file(path, write)
    assert caught.value is failure
    assert path.read_text() == "a\n1\n"
    assert [p.name for p in tmp_path.iterdir()] == ["runs.csv"]


@pytest.mark.parametrize("err_no", [errno.ENOSPC, errno.EFBIG, errno.EROFS])
def test_a_disk_that_fills_while_a_sweep_writes_its_tables_is_one_line(tmp_path, capsys, monkeypatch, err_no):
    import pandas as pd

    path = tmp_path / "sw.toml"
    path.write_text(SWEEP)

    def full(self, target, *a, **k):  # as pyarrow says it: the errno only in its text
        Path(target).write_bytes(b"PAR1")  # some bytes first, as a disk that fills part-way leaves them
        raise OSError(f"[Errno {err_no}] Error writing bytes to file. Detail: [errno {err_no}] "
                      f"{os.strerror(err_no)}")

    monkeypatch.setattr(pd.DataFrame, "to_parquet", full)
    code = main(["sweep", str(path), "--out", str(tmp_path / "S"), "--workers", "1", "--quiet"])
    err = capsys.readouterr().err
    one_line(code, err, os.strerror(err_no), "2 finished runs are kept", "--resume")
    assert _ours(tmp_path) == []


@pytest.mark.parametrize("when", ["while it runs", "while it writes its tables"])
def test_a_sweep_whose_folder_is_removed_while_it_runs_ends_in_one_line(tmp_path, capsys, monkeypatch, when):
    """`rm -rf` of a sweep's folder while it ran: the journal, open, took the lines of every run left (computed for
    nothing), and the tables, written into no folder, ended in "internal error: OSError". Now one line says the
    folder went, exit 1, at the next finished run or as the tables are written."""
    from trustsim.experiments import execute, journal

    path, out = tmp_path / "sw.toml", tmp_path / "S"
    path.write_text(small_sweep(BASELINE, replications=4))  # 8 runs
    yielded, real_runs, real_tables = [], execute.finished_runs, journal.write_tables

    def removed_after_two(*args, **kwargs):
        for result in real_runs(*args, **kwargs):
            yielded.append(result)
            if len(yielded) == 3 and when == "while it runs":
                shutil.rmtree(out)
            yield result

    def removed_then_written(folder, *args):
        shutil.rmtree(folder)
        return real_tables(folder, *args)

    monkeypatch.setattr(execute, "finished_runs", removed_after_two)
    if when != "while it runs":
        monkeypatch.setattr(journal, "write_tables", removed_then_written)
    code = main(["sweep", str(path), "--out", str(out), "--workers", "1", "--batch", "1", "--quiet"])
    err = capsys.readouterr().err
    assert code == 1 and len(err.splitlines()) == 1 and "internal error" not in err, err
    assert err.startswith(f"trustsim: error: {out}: the sweep's folder, or its journal.jsonl, was removed while the "
                          f"sweep ran"), err
    assert len(yielded) == (3 if when == "while it runs" else 8)  # no run computed for nothing
    assert not out.exists() and _ours(tmp_path) == []


def test_report_on_a_full_disk_is_one_line_and_keeps_the_figures(tmp_path, capsys, monkeypatch):
    out = tmp_path / "res"
    assert run(capsys, out)[0] == 0
    before = {p.name: p.read_bytes() for p in (out / "figures").iterdir()}
    import matplotlib.figure

    def no_space(self, *a, **k):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(matplotlib.figure.Figure, "savefig", no_space)  # an error that names no file
    code = main(["report", str(out)])
    one_line(code, capsys.readouterr().err, f"{out}: cannot write", "No space left on device")
    assert {p.name: p.read_bytes() for p in (out / "figures").iterdir()} == before and _ours(tmp_path) == []


def test_a_lock_that_cannot_be_written_leaves_no_lock_file(tmp_path, capsys, monkeypatch):
    from trustsim import locks

    real = os.write

    def full(fd, data):
        if data.strip().isdigit():  # the PID into the lock file
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real(fd, data)

    monkeypatch.setattr(locks.os, "write", full)
    code = main(["compare", str(BASELINE), str(BASELINE), *TINY, "--seeds", "2", "--out", str(tmp_path / "C")])
    one_line(code, capsys.readouterr().err, "cannot write its lock", "No space left")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.skipif(sys.platform == "win32", reason="needs ulimit")
@pytest.mark.parametrize("command", [["run"], ["run", "--seeds", "2", "--workers", "2"], ["sweep"]])
def test_a_file_size_limit_is_one_line_without_a_traceback(tmp_path, command):
    """``ulimit -f`` (EFBIG on every write past the limit; SIGXFSZ is ignored by Python): one line, exit 2."""
    path = tmp_path / "sw.toml"
    path.write_text(SWEEP.replace("buyers = 6", "buyers = 40"))
    args = ([command[0], str(BASELINE), *TINY, "--set", "market.buyers=40", *command[1:]] if command[0] == "run"
            else ["sweep", str(path), "--workers", "2", "--timeseries", "--quiet"])
    line = " ".join([sys.executable, "-m", "trustsim", *args, "--out", str(tmp_path / "out")])
    proc = subprocess.run(["bash", "-c", f"ulimit -f 8; exec {line}"], capture_output=True, text=True, timeout=120,
                          cwd=tmp_path)
    one_line(proc.returncode, proc.stderr, "File too large", "ulimit -f")
    assert "Exception ignored" not in proc.stderr and _ours(tmp_path) == []
    if command[0] == "run":
        assert not (tmp_path / "out").exists()


JOURNAL_UNDER_A_LIMIT = """
import json, resource, sys
from pathlib import Path
resource.setrlimit(resource.RLIMIT_FSIZE, (4096, resource.RLIM_INFINITY))
path = Path(sys.argv[2])
if sys.argv[1] == "sweep":
    from trustsim.experiments.journal import Journal
    write = Journal(path).write
else:
    from trustsim.experiments.journal import append_entry
    path.touch()  # made with its calibration's folder
    write = lambda entry: append_entry(path, entry)
try:
    for run_id in range(10):
        write({"row": {"run_id": run_id, "error": "x" * 1500}})
except OSError as exc:
    print(exc.errno)
"""


@pytest.mark.skipif(sys.platform == "win32", reason="needs a file-size limit")
@pytest.mark.parametrize("journal", ["sweep", "calibration"])
def test_a_journal_the_disk_cannot_hold_keeps_whole_lines_only(tmp_path, journal):
    """A sweep's (or calibration's) journal line that fills the disk or meets ``ulimit -f`` part way is cut off
    again: the journal holds whole lines, none half written, for --resume and for anyone reading it."""
    path = tmp_path / "journal.jsonl"
    proc = subprocess.run([sys.executable, "-c", JOURNAL_UNDER_A_LIMIT, journal, str(path)], capture_output=True,
                          text=True, timeout=60)
    assert proc.stdout.strip() == str(errno.EFBIG), proc.stderr
    data = path.read_bytes()
    assert data.endswith(b"\n") and data.count(b"\n") == 2, data[-80:]
    assert [json.loads(line)["row"]["run_id"] for line in data.splitlines()] == [0, 1]


# --- kill -9 while a result is swapped in: the old one aside, then the new one in -------------------------

KILL_DURING_SWAP = """
import os, signal, sys
point, argv = sys.argv[1], sys.argv[2:]
real, renames = os.rename, []

def rename(src, dst):  # kill -9 just before the first rename, between the two, or just after the second
    renames.append(src)
    if point == "before":
        os.kill(os.getpid(), signal.SIGKILL)
    real(src, dst)
    if (point, len(renames)) in (("between", 1), ("after", 2)):
        os.kill(os.getpid(), signal.SIGKILL)

os.rename = rename
from trustsim.cli import main
sys.exit(main(argv))
"""


def killed_while_swapping(tmp_path: Path, point: str, *argv) -> None:
    proc = subprocess.run([sys.executable, "-c", KILL_DURING_SWAP, point, *map(str, argv)], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == -signal.SIGKILL, proc.stderr


def result_bytes(out: Path) -> dict[str, bytes]:
    return {name: (out / name).read_bytes() for name in RESULT_FILES}


@pytest.mark.parametrize("point", ["before", "between", "after"])
def test_kill_9_anywhere_in_the_swap_leaves_the_old_or_the_new_run_for_the_next_command(tmp_path, capsys,
                                                                                        monkeypatch, point):
    """Whichever rename `kill -9` meets, the next write finds a whole run at the target: the old one (killed
    before or between the renames: put back from `.res.old-PID`, and said so) or the new one (after)."""
    out = tmp_path / "res"
    assert run(capsys, out, "--seed", 1)[0] == 0
    old = result_bytes(out)
    killed_while_swapping(tmp_path, point, "run", BASELINE, *TINY, "--seed", 2, "--out", out)
    assert (point == "between") != out.exists() and len(list(tmp_path.glob(".res.tmp-*"))) == (point != "after")
    assert len(list(tmp_path.glob(".res.old-*"))) == (point != "before")
    expected = result_bytes(out) if point == "after" else old
    assert (expected != old) == (point == "after")
    import pandas as pd

    def no_space(self, *a, **k):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    with monkeypatch.context() as m:  # the next write fails: what it finds at the target stays
        m.setattr(pd.DataFrame, "to_csv", no_space)
        code, err = run(capsys, out, "--seed", 3)
    assert code == 2 and "No space left" in err.splitlines()[-1], err
    assert result_bytes(out) == expected
    put_back = [line for line in err.splitlines() if "put back" in line]
    assert len(put_back) == (point == "between"), err
    assert run(capsys, out, "--seed", 3)[0] == 0
    assert_whole_result(out)
    assert leftovers(tmp_path) == []


def test_a_run_killed_between_its_renames_is_not_replaced_by_another_kind_without_force(tmp_path, capsys):
    """The previous run, moved aside when `kill -9` came, is put back before the next command checks the folder:
    replications there are refused as over any run, and the run is kept byte for byte."""
    out = tmp_path / "res"
    assert run(capsys, out, "--seed", 1)[0] == 0
    before = result_bytes(out)
    killed_while_swapping(tmp_path, "between", "run", BASELINE, *TINY, "--seed", 2, "--out", out)
    assert not out.exists() and len(list(tmp_path.glob(".res.old-*"))) == 1
    code, err = run(capsys, out, "--seeds", 2)
    assert code == 2 and len(err.splitlines()) == 2, err
    assert "put back from .res.old-" in err.splitlines()[0] and "holds a trustsim run result" in err, err
    assert result_bytes(out) == before and not list(tmp_path.glob(".res.old-*"))


def test_a_reading_command_puts_back_a_result_a_writer_killed_between_its_renames_left_aside(tmp_path, capsys):
    """report, rerun and compare find a folder to read absent, moved aside: each takes its lock a moment, which
    puts the result back (said in a line), rather than saying it does not exist."""
    out, other = tmp_path / "res", tmp_path / "other"
    assert run(capsys, out, "--seed", 1)[0] == 0 and run(capsys, other, "--seed", 2)[0] == 0
    before = result_bytes(out)
    for argv in (["report", out], ["rerun", out / "manifest.json", "--out", tmp_path / "again", "--quiet"],
                 ["compare", other, out, "--out", tmp_path / "cmp", "--quiet"]):
        killed_while_swapping(tmp_path, "between", "run", BASELINE, *TINY, "--seed", 3, "--out", out)
        assert not out.exists() and len(list(tmp_path.glob(".res.old-*"))) == 1
        code = main(list(map(str, argv)))
        err = capsys.readouterr().err
        assert code == 0, err
        assert "res put back from .res.old-" in err and "does not exist" not in err, err
        assert result_bytes(out) == before and not list(tmp_path.glob(".res.old-*"))
        assert not list(tmp_path.glob(".*.lock"))  # taken a moment, and let go


def test_a_reading_command_that_cannot_put_back_the_result_says_where_it_is(tmp_path, capsys, monkeypatch):
    """Where it may not write the lock, a reading command says the folder was moved aside and how to put it
    back; while a writer holds the lock (between its renames), it is told to wait. Nothing is moved either way."""
    from trustsim import locks

    out = tmp_path / "res"
    assert run(capsys, out, "--seed", 1)[0] == 0
    killed_while_swapping(tmp_path, "between", "run", BASELINE, *TINY, "--seed", 2, "--out", out)
    aside = next(tmp_path.glob(".res.old-*")).name
    with monkeypatch.context() as m:
        m.setattr(locks.os, "access", lambda *a, **k: False)
        code = main(["report", str(out)])
    err = capsys.readouterr().err
    one_line(code, err, "res: does not exist; a writer killed while replacing it left it as " + aside,
             "run any trustsim command that writes res, or rename it back")
    holder = subprocess.Popen([sys.executable, "-c", "import fcntl, os, sys, time; fd = os.open(sys.argv[1], "
                               "os.O_RDWR | os.O_CREAT); fcntl.flock(fd, fcntl.LOCK_EX); os.write(fd, b'%d' % "
                               "os.getpid()); print(1, flush=True); time.sleep(60)", str(tmp_path / ".res.lock")],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline() == "1\n"
        code = main(["report", str(out)])
    finally:
        holder.kill()
        holder.wait()
    one_line(code, capsys.readouterr().err, f"is being written by process {holder.pid}")
    assert not out.exists() and [p.name for p in tmp_path.glob(".res.old-*")] == [aside]


# --- Ctrl-C or SIGTERM once the new result is in place: it was written, and the command says so ---------------

INTERRUPT_DURING_SWAP = """
import os, shutil, signal, sys
point, sig, argv = sys.argv[1], getattr(signal, sys.argv[2]), sys.argv[3:]
real_rename, real_rmtree, renames = os.rename, shutil.rmtree, []

def rename(src, dst):  # the signal just after the old result is moved aside, or just after the new one is in
    real_rename(src, dst)
    renames.append(src)
    if (point, len(renames)) in (("between", 1), ("after", 2)):
        os.kill(os.getpid(), sig)

def rmtree(path, *a, **k):  # or as the old result, moved aside, is being removed
    if point == "removing" and ".old-" in os.path.basename(path):
        os.kill(os.getpid(), sig)
    real_rmtree(path, *a, **k)

os.rename, shutil.rmtree = rename, rmtree
from trustsim.cli import main
sys.exit(main(argv))
"""


@pytest.mark.parametrize("sig", ["SIGINT", "SIGTERM"])
@pytest.mark.parametrize("point", ["between", "after", "removing"])
def test_an_interrupt_during_the_swap_or_the_cleanup_says_the_new_result_was_written(tmp_path, capsys, sig, point):
    """An interrupt between the renames waits until the new result is in; from then on it is written, and an
    interrupt (the removal of the old one cut short, say) says so, not "nothing was written"."""
    out = tmp_path / "res"
    assert run(capsys, out, "--seed", 1)[0] == 0
    old = result_bytes(out)
    proc = subprocess.run([sys.executable, "-c", INTERRUPT_DURING_SWAP, point, sig, "run", str(BASELINE), *TINY,
                           "--seed", "2", "--out", str(out)], cwd=tmp_path, capture_output=True, text=True,
                          timeout=120,  # Ctrl-C as at a terminal, whatever this test's process inherited
                          preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    assert proc.returncode == 130, proc.stderr
    assert proc.stderr == f"trustsim: interrupted; the result was written to {out}\n", proc.stderr
    assert_whole_result(out)
    assert result_bytes(out) != old and json.loads((out / "manifest.json").read_text())["seed"] == 2
    assert not list(tmp_path.glob(".res.tmp-*"))
    assert len(list(tmp_path.glob(".res.old-*"))) <= 1  # its removal cut short: the next writer removes it
    assert run(capsys, out, "--seed", 3)[0] == 0
    assert leftovers(tmp_path) == []


# --- a sweep on local worker processes, interrupted: one line, exit 130, a journal --resume finishes ---------------

# runs of 20,000 steps, some 20 s each: an interrupted sweep that waited for the runs its workers hold would show
LONG_SWEEP = (f'extends = "{BASELINE.as_posix()}"\n[run]\nsteps = 20000\n[market]\nbuyers = 40\nsuppliers = 6\n'
              '[sweep]\ndesign = "grid"\nreplications = 2\nseed = 3\n'
              '[sweep.factors]\n"market.uncertainty" = [0.0, 0.6]\n')


def _processes() -> list[tuple[int, int, int, str, bytes]]:
    """Every process as (pid, parent pid, process group, state, command line), from /proc."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                state, ppid, pgid = (entry / "stat").read_text().rsplit(")", 1)[1].split()[:3]
                found.append((int(entry.name), int(ppid), int(pgid), state, (entry / "cmdline").read_bytes()))
            except (OSError, ValueError):
                continue
    return found


def _at_a_terminal(*args) -> subprocess.Popen:
    """``trustsim ARGS`` started as a terminal's foreground job: a session and process group of its own, Ctrl-C
    raising KeyboardInterrupt (whatever this test's process inherited: started in the background, SIGINT ignored)."""
    script = Path(sys.executable).with_name("trustsim")
    launcher = [str(script)] if script.exists() else [sys.executable, "-m", "trustsim"]
    return subprocess.Popen([*launcher, *map(str, args)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))


def _ctrl_c(proc: subprocess.Popen, group: bool) -> None:
    """SIGINT to the command's whole process group (``group``: Ctrl-C at a terminal) or to it alone (``kill -INT``)."""
    if group:
        os.killpg(proc.pid, signal.SIGINT)
    else:
        proc.send_signal(signal.SIGINT)


def _group_left(pgid: int, wait: float) -> list[int]:
    """The live processes of group ``pgid`` after waiting up to ``wait`` seconds for them to end; any left are
    killed."""
    deadline = time.monotonic() + wait
    while (left := [p for p, _, g, state, _ in _processes() if g == pgid and state != "Z"]) and \
            time.monotonic() < deadline:
        time.sleep(0.05)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signal.SIGKILL)
    return left


def _fork_servers(pid: int) -> list[int]:
    return [p for p, ppid, _, _, cmd in _processes() if ppid == pid and b"forkserver" in cmd]


MOMENTS = {  # when the signal comes: a wait for that moment, then the seconds after it
    "server-starting": (lambda proc, out: _fork_servers(proc.pid) != [], 0.0),  # the sweep waits for a first worker
    "server-importing": (lambda proc, out: _fork_servers(proc.pid) != [], 0.3),  # … which imports trustsim first
    "running": (lambda proc, out: (out / "journal.jsonl").exists(), 0.5),  # the runs handed to the workers
}


def interrupted_sweep(tmp_path: Path, moment: str, group: bool):
    """Start ``trustsim sweep`` on two local workers in a session of its own, as a terminal's foreground job, and send
    it SIGINT at ``moment``: to its whole process group (``group``: Ctrl-C at a terminal) or to it alone
    (``kill -INT``). Returns its exit status, standard error, the seconds it took to end after the signal, its
    results folder and its process group."""
    path, out = tmp_path / "long.toml", tmp_path / "out"
    path.write_text(LONG_SWEEP)
    proc = _at_a_terminal("sweep", path, "--workers", 2, "--batch", 1, "--out", out)
    came, after = MOMENTS[moment]
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None and not came(proc, out):
        time.sleep(0.002)
    if proc.poll() is None and not came(proc, out):  # workers that start by fork here: no fork server to wait for
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        pytest.skip(f"the moment '{moment}' never came")
    time.sleep(after)
    assert proc.poll() is None, proc.communicate()
    t0 = time.monotonic()
    _ctrl_c(proc, group)
    try:
        _, err = proc.communicate(timeout=120)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        raise
    return proc.returncode, err, time.monotonic() - t0, out, proc.pid


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc")
@pytest.mark.parametrize(("moment", "group"), [
    ("server-starting", False), ("server-importing", True),
    ("running", False), ("running", True)], ids=lambda v: {True: "ctrl-c", False: "kill"}.get(v, v))
def test_an_interrupted_sweep_ends_at_once_in_one_line_and_leaves_a_journal_to_resume(tmp_path, moment, group):
    """Ctrl-C (or ``kill -INT``) on a sweep over local workers, whenever it comes: the sweep's one line and exit
    status 130, no traceback of a worker or of the fork server that starts them, an end within seconds (before,
    ``kill -INT`` waited for every run handed to the workers, minutes), no worker left, and a journal that --resume
    reads (every line a finished run). Before, a signal while the fork server imported trustsim printed its
    KeyboardInterrupt, and one while the sweep waited for its first worker left that worker to find the pool's
    semaphores gone with the sweep: "FileNotFoundError" in SemLock._rebuild, with a traceback, after the line."""
    code, err, took, out, pgid = interrupted_sweep(tmp_path, moment, group)
    print(f"{moment} group={group}: status {code} after {took:.1f} s\n{err}")
    # 130, or killed by SIGINT (which a shell reports as 130): CPython ends so when Ctrl-C lands in a string exec
    # while `python -m` imports, even if caught (its unhandled_keyboard_interrupt flag)
    assert code in (130, -signal.SIGINT), err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    assert err.startswith("trustsim: interrupted"), err
    assert took < 15, f"{took:.1f} s to end after the signal"  # a start-up's at most, not a run's
    if (out / "sweep.json").exists():
        from trustsim.experiments import read_journal

        kept = len(read_journal(out / "journal.jsonl"))
        assert f"{kept} finished runs are kept" in err and "--resume" in err, err
    else:
        assert "nothing was written" in err, err
    assert _ours(tmp_path) == []
    assert _group_left(pgid, 10) == [], "processes of the sweep left"


def test_a_pool_whose_worker_was_killed_in_the_middle_of_sending_its_runs_ends(tmp_path):
    """An interrupted or failed sweep kills its workers; one killed while it sent its runs left half a message in the
    results pipe, the pool's manager thread waited for the rest for ever, and the sweep hung at exit after its line.
    Here the half message is written from the pool's own end of the pipe, as a killed worker leaves it."""
    import struct
    import threading

    from trustsim.experiments.pool import local_executor

    pool, _ = local_executor(2)
    pool.submit(time.sleep, 60)
    manager, writer = pool._executor_manager_thread, pool._result_queue._writer
    os.write(writer.fileno(), struct.pack("!i", 100_000) + bytes(10))  # 100 000 bytes announced, 10 sent
    time.sleep(0.5)  # the manager thread reads the 10 and waits for the rest
    try:
        assert manager.is_alive() and isinstance(manager, threading.Thread)
        pool.shutdown(wait=False, cancel_futures=True)
        manager.join(15)
        assert not manager.is_alive(), "the pool's manager thread still waits for the rest of a cut message"
    finally:
        while manager.is_alive():  # without the fix: end it here, or this test's process would hang at exit
            os.write(writer.fileno(), bytes(1 << 16))
            manager.join(0.5)


# --- the pattern suite on local worker processes, interrupted: its one line, exit 130, at once ----------------------

def interrupted_patterns(tmp_path: Path, group: bool, limit: float):
    """Start ``trustsim patterns`` on two local workers as :func:`interrupted_sweep` starts a sweep, and send it
    SIGINT once its workers have had a second of runs. Returns its exit status, standard error, the seconds it took
    to end after the signal (None: it had not ended within ``limit`` and was killed) and its process group."""
    # the suite's 30 seeds: batches of some 300 runs, 15 to 30 s each, of which the two workers hold three at a time
    # (a small count would make batches too small to show a pool that finishes its batches)
    proc = _at_a_terminal("patterns", "--seeds", 30, "--workers", 2, "--out", tmp_path / "out")
    deadline = time.monotonic() + 60

    def workers() -> int:  # the pool's, once started: the children of its fork server (forked, the command's)
        servers = _fork_servers(proc.pid)
        return sum(state != "Z" and (ppid in servers or ppid == proc.pid and b"multiprocessing" not in cmd)
                   for _, ppid, _, state, cmd in _processes())

    while time.monotonic() < deadline and proc.poll() is None and workers() < 2:
        time.sleep(0.01)
    time.sleep(1.0)
    assert proc.poll() is None, proc.communicate()
    t0 = time.monotonic()
    _ctrl_c(proc, group)
    try:
        _, err = proc.communicate(timeout=limit)
        took = time.monotonic() - t0
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        _, err = proc.communicate()
        took = None
    return proc.returncode, err, took, proc.pid


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc")
@pytest.mark.parametrize("group", [False, True], ids=["kill", "ctrl-c"])
def test_an_interrupted_pattern_suite_ends_at_once_in_one_line(tmp_path, group):
    """Ctrl-C (or ``kill -INT``) on ``trustsim patterns`` while its workers run: its one line, exit status 130,
    within seconds, no worker left and no folder. Before, the suite's own pool was left running: Python's exit
    waited for the batches handed to its workers (`kill -INT` 26 s after the signal), and at a terminal the
    workers caught the Ctrl-C in the batch they held and went on with the next (14 s)."""
    code, err, took, pgid = interrupted_patterns(tmp_path, group, limit=10)
    print(f"group={group}: status {code} after {took} s\n{err}")
    assert took is not None, "not ended 10 s after the signal"
    assert err.splitlines() == ["trustsim: interrupted; nothing was written"], err
    assert code == 130, err
    assert not (tmp_path / "out").exists() and _ours(tmp_path) == []
    assert _group_left(pgid, 5) == [], "processes of the suite left"


def test_the_workers_resource_tracker_keeps_its_warnings_off_the_commands_error_stream(tmp_path):
    """After a stopped command killed its workers, multiprocessing's resource tracker could report on the command's
    standard error a semaphore already unlinked, once the command had printed its one line and ended."""
    script = ("import os, sys, multiprocessing, _multiprocessing\n"
              "from trustsim.experiments.pool import _start_resource_tracker\n"
              "if sys.argv[1] == 'quiet':\n    _start_resource_tracker()\n"
              "lock = multiprocessing.get_context('forkserver').Lock()  # told to the tracker\n"
              "_multiprocessing.sem_unlink(lock._semlock.name)  # unlinked, the tracker not told\n"
              "os._exit(0)\n")
    # the tracker holds the error stream until it ends, so its warnings, if any, are read here
    loud, quiet = (subprocess.run([sys.executable, "-c", script, how], capture_output=True, text=True, timeout=60,
                                  cwd=tmp_path).stderr for how in ("loud", "quiet"))
    assert "leaked semaphore" in loud  # what the tracker says unless told otherwise
    assert quiet == ""


def test_a_pool_that_killed_its_workers_has_no_manager_thread_left_for_pythons_exit():
    """Python 3.13.0's exit wakes each pool's manager thread through a pipe without a lock; a thread still ending a
    pool whose workers were killed closed that pipe between the check and the write, and the interrupted command
    printed "Exception ignored on threading shutdown … Bad file descriptor" after its line."""
    from trustsim.experiments.pool import local_executor

    pool, _ = local_executor(2)
    pool.submit(time.sleep, 60)
    manager = pool._executor_manager_thread
    pool.shutdown(wait=False, cancel_futures=True)
    assert not manager.is_alive(), "the pool's manager thread outlives the shutdown that killed its workers"
