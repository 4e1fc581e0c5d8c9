"""trustsim/locks.py: one writer at a time. The lock file ``.NAME.lock`` beside a results folder holds its
writer's PID; a second holder is refused naming it, a lock whose process has ended is taken over, and the file
goes when the last holder lets go."""

import errno
import os
import time

import pytest
from conftest import dead_pid, ours_beside

from trustsim import locks, results
from trustsim.errors import ParamError


def test_the_lock_is_reentrant_within_a_process_and_gone_after(tmp_path):
    with results.target_lock(tmp_path / "res") as target:
        with results.target_lock(tmp_path / "res"):
            assert (tmp_path / ".res.lock").read_text().strip() == str(os.getpid())
        out = results.write_atomically(target, lambda d: (d / "a.txt").write_text("1"))
        assert (tmp_path / ".res.lock").exists()
    assert (out / "a.txt").read_text() == "1" and ours_beside(tmp_path) == []


def held_by(tmp_path, pid):
    """The lock of ``tmp_path/res`` as another writer holds it: its file flocked through a descriptor of its
    own, with ``pid`` written in it. Close the descriptor to let go."""
    import fcntl

    fd = os.open(tmp_path / ".res.lock", os.O_RDWR | os.O_CREAT, 0o644)
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    os.write(fd, f"{pid}\n".encode())
    return fd


@pytest.mark.skipif(locks.fcntl is None, reason="needs flock")
def test_a_second_holder_is_refused_naming_the_first_until_it_lets_go(tmp_path):
    holder = os.getppid()
    fd = held_by(tmp_path, holder)
    try:
        with pytest.raises(ParamError) as exc, locks.target_lock(tmp_path / "res"):
            pass
        assert f"is being written by process {holder}" in str(exc.value) and len(str(exc.value).splitlines()) == 1
        with pytest.raises(ParamError, match=f"process {holder}"):
            locks.claim_target(tmp_path / "res")
    finally:
        os.close(fd)
    with locks.target_lock(tmp_path / "res"):  # let go: the next writer takes it
        assert (tmp_path / ".res.lock").read_text() == f"{os.getpid()}\n"
    assert ours_beside(tmp_path) == []


def test_a_lock_left_by_an_ended_process_is_taken_over(tmp_path):
    (tmp_path / ".res.lock").write_text(f"{dead_pid()}\n")  # no process holds its flock any more
    with locks.target_lock(tmp_path / "res"):
        assert (tmp_path / ".res.lock").read_text() == f"{os.getpid()}\n"
    assert ours_beside(tmp_path) == []


def test_without_flock_the_pid_in_the_file_decides(tmp_path, monkeypatch):
    monkeypatch.setattr(locks, "fcntl", None)
    alive = os.getppid()
    (tmp_path / ".res.lock").write_text(f"{alive}\n")
    with pytest.raises(ParamError, match=f"process {alive}"), locks.target_lock(tmp_path / "res"):
        pass
    assert (tmp_path / ".res.lock").read_text() == f"{alive}\n"  # a live writer's lock is left as it was
    (tmp_path / ".res.lock").write_text(f"{dead_pid()}\n")
    with locks.target_lock(tmp_path / "res"):
        assert (tmp_path / ".res.lock").read_text() == f"{os.getpid()}\n"
    assert ours_beside(tmp_path) == []


def test_a_claim_outlasts_its_blocks_until_released(tmp_path):
    target = locks.claim_target(tmp_path / "res")
    assert target == (tmp_path / "res").resolve()
    with locks.target_lock(tmp_path / "res"):
        pass
    assert (tmp_path / ".res.lock").read_text() == f"{os.getpid()}\n"  # still claimed after the block
    locks.release_claim(tmp_path / "res")
    assert ours_beside(tmp_path) == []


def test_folders_made_to_hold_the_lock_go_with_it_when_nothing_was_written(tmp_path):
    with locks.target_lock(tmp_path / "new" / "deep" / "res"):
        assert (tmp_path / "new" / "deep" / ".res.lock").is_file()
    assert list(tmp_path.iterdir()) == []


@pytest.mark.skipif(not hasattr(os, "O_NOFOLLOW"), reason="needs O_NOFOLLOW")
def test_a_lock_file_that_is_a_symbolic_link_is_not_followed(tmp_path):
    (tmp_path / "mine.txt").write_text("precious\n")
    (tmp_path / ".res.lock").symlink_to(tmp_path / "mine.txt")
    with pytest.raises(ParamError, match="is a symbolic link") as exc, locks.target_lock(tmp_path / "res"):
        pass
    assert len(str(exc.value).splitlines()) == 1
    assert (tmp_path / "mine.txt").read_text() == "precious\n" and (tmp_path / ".res.lock").is_symlink()


def moved_aside(tmp_path, pid, text):
    """A result ``res`` a writer with ``pid`` renamed to ``.res.old-PID`` and was killed before renaming in the new."""
    (tmp_path / "res").mkdir()
    (tmp_path / "res" / "a.txt").write_text(text)
    os.rename(tmp_path / "res", tmp_path / f".res.old-{pid}")
    return tmp_path / f".res.old-{pid}"


def test_taking_the_lock_puts_back_the_result_last_moved_aside_whatever_its_pid(tmp_path, capsys):
    older = moved_aside(tmp_path, dead_pid(), "older")  # a leftover a failed clean-up could not remove
    time.sleep(0.05)
    moved_aside(tmp_path, os.getppid(), "newer")  # a PID alive now: reused, for no writer but us is at work here
    with locks.target_lock(tmp_path / "res"):
        assert (tmp_path / "res" / "a.txt").read_text() == "newer"
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1 and f"res put back from .res.old-{os.getppid()}" in err, err
    assert sorted(p.name for p in tmp_path.iterdir()) == [older.name, "res"]
    results.write_atomically(tmp_path / "res", lambda d: (d / "a.txt").write_text("new"), force=True)
    assert ours_beside(tmp_path) == [] and (tmp_path / "res" / "a.txt").read_text() == "new"


def test_a_result_that_cannot_be_put_back_is_one_line_and_nothing_else_happens(tmp_path, monkeypatch):
    old = moved_aside(tmp_path, dead_pid(), "mine")

    def refused(src, dst):
        raise OSError(errno.EACCES, os.strerror(errno.EACCES))

    monkeypatch.setattr(locks.os, "rename", refused)
    with pytest.raises(ParamError) as exc:
        results.write_atomically(tmp_path / "res", lambda d: (d / "a.txt").write_text("new"))
    assert len(str(exc.value).splitlines()) == 1 and f"left it as {old.name}" in str(exc.value)
    assert [p.name for p in tmp_path.iterdir()] == [old.name] and (old / "a.txt").read_text() == "mine"


def test_write_failure_says_what_could_not_be_written_and_why():
    full = OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), "out/t.csv")
    expected = f"cannot write out/t.csv: {os.strerror(errno.ENOSPC)}; free some space and run it again"
    assert locks.write_failure(full) == expected
    try:  # a library's own error raised from the OS error is seen through
        raise RuntimeError("parquet failed") from full
    except RuntimeError as wrapped:
        assert locks.write_failure(wrapped) == expected
    assert locks.write_failure(OSError(errno.EACCES, "denied", "f")) == f"f: {os.strerror(errno.EACCES)}"
    assert locks.write_failure(OSError(errno.EFBIG, "big")).endswith("(the file-size limit, ulimit -f)")
    assert locks.write_failure(ValueError("not an OS error")) is None
    assert locks.write_failure(OSError(errno.ENOENT, "gone")) is None


def test_pid_alive():
    assert locks.pid_alive(os.getpid()) and locks.pid_alive(os.getppid())
    assert not locks.pid_alive(0) and not locks.pid_alive(-5) and not locks.pid_alive(dead_pid())
