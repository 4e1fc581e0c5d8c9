"""scripts/bootstrap.sh, the README's set-up, run on a stand-in clone (the script and a pyproject.toml) with a
controlled PATH and no package index: a few seconds each, nothing installed from outside."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

from conftest import ROOT


def stand_in(tmp_path: Path) -> Path:
    """A clone holding only the set-up script and a pyproject.toml."""
    repo = tmp_path / "clone"
    (repo / "scripts").mkdir(parents=True)
    shutil.copy2(ROOT / "scripts" / "bootstrap.sh", repo / "scripts" / "bootstrap.sh")
    (repo / "pyproject.toml").write_text('[project]\nname = "stand-in"\nversion = "0"\n')
    return repo


def bootstrap(repo: Path, *args: str, cwd: Path | None = None, path: str | None = None):
    """The script run with this test's Python first on PATH, an empty home and no package index."""
    home = repo.parent / "home"
    home.mkdir(exist_ok=True)
    env = {"PATH": path or f"{Path(sys.executable).parent}{os.pathsep}/usr/bin{os.pathsep}/bin",
           "HOME": str(home), "PYENV_ROOT": str(home), "PIP_CONFIG_FILE": os.devnull, "PIP_NO_INDEX": "1"}
    return subprocess.run([str(repo / "scripts" / "bootstrap.sh"), *args], cwd=cwd or repo, env=env,
                          capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=120)


def test_an_environment_whose_making_was_cut_short_is_made_again(tmp_path):
    """Ctrl-C while the virtual environment is being made leaves a Python without pip: the next run makes the
    environment again instead of failing on every run with 'No module named pip'."""
    repo = stand_in(tmp_path)
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(repo / ".venv")], check=True)
    done = bootstrap(repo, "env")
    assert "No module named pip" not in done.stderr, done.stderr[-2000:]
    pip = subprocess.run([str(repo / ".venv" / "bin" / "python"), "-m", "pip", "--version"], capture_output=True)
    assert pip.returncode == 0, done.stderr[-2000:]
