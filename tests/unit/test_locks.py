"""trustsim/locks.py: one writer at a time. The lock file ``.NAME.lock`` beside a results folder holds its
writer's PID; a second holder is refused naming it, a lock whose process has ended is taken over, and the file
goes when the last holder lets go."""

import os

from conftest import ours_beside

from trustsim import results


def test_the_lock_is_reentrant_within_a_process_and_gone_after(tmp_path):
    with results.target_lock(tmp_path / "res") as target:
        with results.target_lock(tmp_path / "res"):
            assert (tmp_path / ".res.lock").read_text().strip() == str(os.getpid())
        out = results.write_atomically(target, lambda d: (d / "a.txt").write_text("1"))
        assert (tmp_path / ".res.lock").exists()
    assert (out / "a.txt").read_text() == "1" and ours_beside(tmp_path) == []
