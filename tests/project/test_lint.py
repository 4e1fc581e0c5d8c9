"""The whole repository (package, tests, benchmarks, scripts) stays clean under the project's ruff configuration
(pyproject.toml, [tool.ruff])."""

import shutil
import subprocess
import sys

import pytest
from conftest import ROOT


def test_the_repository_passes_the_linter():
    try:
        import ruff  # noqa: F401
    except ImportError:
        if shutil.which("ruff") is None:
            pytest.skip("ruff is not installed (it comes with the test extras)")
    done = subprocess.run([sys.executable, "-m", "ruff", "check", "."], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-1000:]
