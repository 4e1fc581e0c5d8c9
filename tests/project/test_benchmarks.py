"""benchmarks/ab.py, the side-by-side timing of two commits, runs both ways: in fresh processes, and with both
commits' packages renamed within one process (which needs the package to import itself only relatively)."""

import re
import subprocess
import sys

import pytest
from conftest import ROOT


@pytest.mark.parametrize("same_process", [False, True])
def test_ab_times_two_commits_side_by_side(same_process):
    cmd = [sys.executable, str(ROOT / "benchmarks" / "ab.py"), "HEAD", "HEAD", "0x0x3", "--repeats", "2"]
    out = subprocess.run(cmd + ["--same-process"] * same_process, capture_output=True, text=True, cwd=ROOT)
    print(out.stdout, out.stderr)
    assert out.returncode == 0
    line = out.stdout.strip().splitlines()[-1]
    assert re.fullmatch(r"0x0x3: HEAD build [\d.]+ s run [\d.]+ s \| HEAD build [\d.]+ s run [\d.]+ s \| run [\d.]+×, "
                        r"build and run [\d.]+×, run's CPU time [\d.]+× \(medians of 2(, in one process)?\)", line)
    assert line.endswith("in one process)") == same_process
