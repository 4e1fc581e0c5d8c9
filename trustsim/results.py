"""Results folders written whole or not at all, by one writer at a time, never over what a user owns.

Everything goes into a temporary sibling folder ``.NAME.tmp-PID-…``, which is renamed into place only
when complete; a result it replaces is first renamed to ``.NAME.old-PID`` and removed after. On any
failure or interruption Python sees, the temporary folder is removed and the previous result put back; a
``kill -9`` between the two renames leaves it as ``.NAME.old-PID``, which the next writer to take the lock
puts back before anything else (``locks.put_back``). Ctrl-C, SIGTERM or SIGHUP during the two renames waits
until the new result is in place; from then on the result counts as written (``WRITTEN``), so an interrupt
says so, and a ``.NAME.old-PID`` whose removal it stopped is left for the next writer to clean. Which folders
may be replaced, the lock and the leftovers are ``folders.py``'s.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path

from . import interrupts
from .arguments import true_or_false
from .errors import COMMAND_LINE, ParamError, Words, safe_text
from .folders import (  # noqa: F401  (guard_target, result_kind, … are used from here too)
    _remove,
    claim_target,
    clean_leftovers,
    drawn_figures,
    foreign_entries,
    guard_target,
    release_claim,
    result_kind,
    target_lock,
    write_failure,
)
from .reproduce import installed_versions  # what a manifest records, as `rerun` reads it back

# --- writing ----------------------------------------------------------------------------------------

WRITTEN: list[Path] = []  # the results this process has put in place, for the message of an interrupt (cli.py)


def check_target(out: str | Path, force: bool = False, *, kind: str | None = None,
                 protect: Iterable[str | Path] = ()) -> Path:
    """Refuse, before any work, a target that may not be written (:func:`guard_target`), and claim its
    lock until the result is written (:func:`claim_target`), so a second writer is refused at once.

    Returns the resolved target: ``a/../b`` and symbolic links are checked, and written, where they lead.
    """
    guard_target(out, kind, force, protect)
    target = claim_target(out)
    try:
        guard_target(out, kind, force, protect)  # again, now that no other writer can change it
    except BaseException:
        release_claim(target)
        raise
    return target


def write_atomically(out: str | Path, write: Callable[[Path], None], force: bool = False, *,
                     kind: str | None = None, protect: Iterable[str | Path] = (), words: Words = COMMAND_LINE) -> Path:
    """Call ``write(tmp)`` to fill a temporary folder, then move it to ``out`` in one rename.

    ``kind``, ``protect`` and ``words`` as for :func:`guard_target`; the target's lock is held throughout."""
    shown = safe_text(str(out))
    force = true_or_false("force", force)  # from Python: force="no" was taken as True
    guard_target(out, kind, force, protect, words)  # (a NUL in the name too: resolve_path refuses it)
    try:
        with target_lock(out, shown) as target:
            guard_target(out, kind, force, protect, words)
            clean_leftovers(target)
            return _write(target, write)
    finally:
        release_claim(out)


def _write(out: Path, write: Callable[[Path], None]) -> Path:
    parent = out.parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-{os.getpid()}-", dir=parent))
        umask = os.umask(0)
        os.umask(umask)
        tmp.chmod(0o777 & ~umask)  # mkdtemp's folder is private; a result is an ordinary folder
    except OSError as exc:
        raise ParamError(safe_text(str(out)), None,
                         f"cannot create the results folder ({exc.strerror})") from None
    old = None
    try:
        write(tmp)
        if out.exists():
            old = parent / f".{out.name}.old-{os.getpid()}"
            n = 0
            while os.path.lexists(old):  # a leftover that could not be removed
                n += 1
                old = parent / f".{out.name}.old-{os.getpid()}-{n}"
        with interrupts.held():  # an interrupt here waits: the new result goes in whole, or the old stays
            if old is not None:
                os.rename(out, old)
            os.rename(tmp, out)
            WRITTEN.append(out)
    except BaseException as exc:
        _remove(tmp)
        if old is not None and not out.exists():
            os.rename(old, out)
        failure = write_failure(exc) if isinstance(exc, Exception) else None
        if failure:
            raise ParamError(safe_text(str(out)), None, f"{failure}; nothing was written") from None
        raise
    if old is not None:
        _remove(old)
    return out


def redraw_figures(folder: str | Path, draw: Callable[[Path], Iterable[str | Path]]) -> list[Path]:
    """Draw a result's figures again into ``folder/figures``, replacing only the files drawn: ``draw(tmp)``
    fills a temporary folder inside ``folder`` and returns what it drew; each file is then renamed over its
    namesake in ``figures/``. What else ``figures/`` holds is the user's and stays; a ``figures`` that is a
    symbolic link (which could lead out of the results folder) or not a folder is refused, nothing drawn."""
    folder = Path(folder)
    figures = folder / "figures"
    if figures.is_symlink() or (os.path.lexists(figures) and not figures.is_dir()):
        what = "a symbolic link" if figures.is_symlink() else "not a folder"
        raise ParamError(safe_text(str(figures)), None, f"is {what}; figures are drawn only into a figures/ "
                                                        f"folder inside the results folder; move it away first")
    clean_leftovers(figures)
    tmp = Path(tempfile.mkdtemp(prefix=f".figures.tmp-{os.getpid()}-", dir=folder))
    try:
        names = [Path(n).name for n in draw(tmp)]
        if names:  # nothing to draw (a sweep of replications alone): no empty figures/ folder
            figures.mkdir(exist_ok=True)
        for name in names:
            os.replace(tmp / name, figures / name)
    finally:
        _remove(tmp)
    return [figures / name for name in names]


def redraw_run(folder: str | Path) -> list[Path]:
    """A run's figures drawn again from its tables, replacing only the files drawn (`trustsim report`)."""
    # on use: only this path needs the run's figures (matplotlib)
    from . import report

    return redraw_figures(folder, lambda tmp: report.figures(folder, into=tmp))


def _shown_path(path) -> str:
    """A scenario file's path relative to the working folder when it lies inside it (so a result
    made in a project folder names ``scenarios/x.toml``, not where the project sits), else absolute."""
    path = Path(path).resolve()
    try:
        return path.relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return str(path)


def manifest(scenario, params, started: str, wall_seconds: float, folder: str | Path | None = None, **extra) -> dict:
    """What a result was made from: versions, resolved parameters, seed, steps, scenario file and hash, times;
    with ``folder`` (the result's, its figures drawn), the figures it drew there."""
    if folder is not None:
        extra["figures"] = drawn_figures(folder)
    return {
        **installed_versions(),
        "scenario": {"name": scenario.name,
                     "path": _shown_path(scenario.path) if scenario.path else None,
                     "sha256": scenario.sha256, "extends_chain": [_shown_path(p) for p in scenario.chain],
                     "overrides": scenario.overrides},
        "seed": params.run.seed, "steps": params.run.steps,
        "params": params.nested(),
        "started_utc": started, "wall_seconds": round(wall_seconds, 3),
        **extra,
    }


def scenario_files(scenario) -> list[str]:
    """The files a scenario was read from (itself and its ``extends`` chain): no --force removes them."""
    return [p for p in (scenario.path, *scenario.chain) if p]


NETWORK_MAX_BUYERS = 20_000  # network.graphml is written for markets up to this many buyers (docs/ODD.md, Observation)


def write_run(model, scenario, out, *, started: str, wall_seconds: float, force: bool = False,
              protect: Iterable[str | Path] = (), words: Words = COMMAND_LINE) -> Path:
    """The results folder of one run: tables, summary, manifest, figures and, for a market of at most
    NETWORK_MAX_BUYERS buyers, the relationship network; ``words`` as for :func:`guard_target`."""
    # on use: only this path needs networkx, report
    import networkx as nx

    from . import report
    from .stats import nan_as_null

    def write(tmp: Path) -> None:
        model.recorder.frame().to_csv(tmp / "timeseries.csv", index=False)
        (tmp / "summary.json").write_text(json.dumps(nan_as_null(model.recorder.summary()), indent=2, sort_keys=True,
                                                     allow_nan=False) + "\n")
        model.buyer_sums.frame(model).to_csv(tmp / "buyers.csv", index=False)
        if model.params.market.buyers <= NETWORK_MAX_BUYERS:
            nx.write_graphml(model.network(), tmp / "network.graphml")
        report.figures(tmp)
        (tmp / "manifest.json").write_text(json.dumps(
            manifest(scenario, model.params, started, wall_seconds, tmp, kind="run"), indent=2, ensure_ascii=False)
            + "\n")

    return write_atomically(out, write, force, kind="run", protect=[*scenario_files(scenario), *protect], words=words)


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

