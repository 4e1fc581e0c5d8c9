"""Results folders written whole or not at all.

Everything goes into a temporary sibling folder, which is renamed into place only when complete.
An existing trustsim result at the target is replaced; a folder holding anything else is refused
unless ``force``. On any failure or interruption the temporary folder is removed.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Callable

from .params import ParamError

MARKER = "manifest.json"


def is_trustsim_result(path: Path) -> bool:
    """A folder trustsim wrote: its manifest names trustsim."""
    try:
        return "trustsim" in json.loads((path / MARKER).read_text())
    except (OSError, ValueError, TypeError):
        return False


def check_target(out: str | Path, force: bool = False) -> Path:
    """Refuse, before any work, a target that is a file or a folder of other things (unless ``force``).

    Returns the resolved target: ``a/../b`` and symbolic links are checked, and written, where they lead.
    """
    shown, out = str(out), Path(out).resolve()
    here = Path.cwd().resolve()
    if out == here or out in here.parents:  # even --force never replaces the folder the command runs in
        raise ParamError(shown, None, "is the current folder or holds it; choose a folder for the results")
    if out.exists() and not out.is_dir():
        raise ParamError(shown, None, "exists and is not a folder")
    if out.is_dir() and any(out.iterdir()) and not is_trustsim_result(out) and not force:
        raise ParamError(shown, None, "holds files that are not a trustsim result; choose another --out or pass --force")
    parent = out.parent
    if parent.exists() and not os.access(parent, os.W_OK):
        raise ParamError(shown, None, f"cannot write in {parent}")
    return out


def write_atomically(out: str | Path, write: Callable[[Path], None], force: bool = False) -> Path:
    """Call ``write(tmp)`` to fill a temporary folder, then move it to ``out`` in one rename."""
    out = check_target(out, force)
    parent = out.resolve().parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=parent))
        umask = os.umask(0)
        os.umask(umask)
        tmp.chmod(0o777 & ~umask)  # mkdtemp's folder is private; a result is an ordinary folder
    except OSError as exc:
        raise ParamError(str(out), None, f"cannot create the results folder ({exc.strerror})") from None
    old = None
    try:
        write(tmp)
        if out.exists():
            old = parent / f".{out.name}.old-{os.getpid()}"
            os.rename(out, old)
        os.rename(tmp, out)
    except OSError as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        if old is not None and not out.exists():
            os.rename(old, out)
        if exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM):
            raise ParamError(str(out), None, f"cannot write results ({os.strerror(exc.errno)}); nothing was written") from None
        raise
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        if old is not None and not out.exists():
            os.rename(old, out)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
    return out


def _shown_path(path) -> str:
    """A scenario file's path relative to the working folder when it lies inside it (so a result
    made in a project folder names ``scenarios/x.toml``, not where the project sits), else absolute."""
    path = Path(path).resolve()
    try:
        return path.relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return str(path)


def manifest(scenario, params, started: str, wall_seconds: float, **extra) -> dict:
    """What a result was made from: versions, resolved parameters, seed, steps, scenario file and hash, times."""
    import platform

    import mesa
    import numpy

    from . import __version__

    return {
        "trustsim": __version__, "mesa": mesa.__version__, "python": platform.python_version(),
        "numpy": numpy.__version__,
        "scenario": {"name": scenario.name,
                     "path": _shown_path(scenario.path) if scenario.path else None,
                     "sha256": scenario.sha256, "extends_chain": [_shown_path(p) for p in scenario.chain],
                     "overrides": scenario.overrides},
        "seed": params.run.seed, "steps": params.run.steps,
        "params": params.nested(),
        "started_utc": started, "wall_seconds": round(wall_seconds, 3),
        **extra,
    }


def write_run(model, scenario, out, *, started: str, wall_seconds: float, force: bool = False,
              network: bool = True) -> Path:
    """The results folder of one run: tables, summary, manifest, network and figures."""
    import networkx as nx

    from . import report

    def write(tmp: Path) -> None:
        model.recorder.frame().to_csv(tmp / "timeseries.csv", index=False)
        (tmp / "summary.json").write_text(json.dumps(model.recorder.summary(), indent=2, sort_keys=True) + "\n")
        model.buyer_sums.frame(model).to_csv(tmp / "buyers.csv", index=False)
        if network:
            nx.write_graphml(model.network(), tmp / "network.graphml")
        report.figures(tmp)
        (tmp / "manifest.json").write_text(json.dumps(
            manifest(scenario, model.params, started, wall_seconds), indent=2, ensure_ascii=False) + "\n")

    return write_atomically(out, write, force)


def replace_file(path: str | Path, write: Callable[[Path], None]) -> Path:
    """Call ``write(tmp)`` to write one file under a temporary name beside ``path``, then rename it over
    ``path``: a reader sees the old file or the whole new one, never half of it."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path
