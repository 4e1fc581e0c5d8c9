"""Which folders a results writer may replace, one writer at a time, and what a killed writer left.

:func:`guard_target` decides whether a folder may be written: a results folder is replaced only by a
result of the same kind (``manifest.json`` says which: run, sweep, patterns, …) and only when it holds
nothing but that result; anything else needs ``--force``, and even ``--force`` never removes the folder
the command runs in or one above it, a folder holding the scenario file, the project's ``scenarios/``
or ``results/`` folders, trustsim's own source or a folder in it, or a git work tree or a folder holding
one. The committed ``results/example/`` needs ``--force``.
:func:`target_lock` keeps a second writer out: the lock is the file ``.NAME.lock`` beside the target,
holding the writer's PID; the operating system drops it when that process ends, so a lock left by a
killed process is taken over. Leftovers of a killed process (``.NAME.tmp-PID-…``, ``.NAME.old-PID``)
are removed before the next write; but a ``.NAME.old-PID`` beside an absent ``NAME`` is the result a writer
killed between its two renames had moved aside, and whoever takes the lock first puts it back.
"""

from __future__ import annotations

import atexit
import contextlib
import fnmatch
import gc
import importlib
import os
import re
import shutil
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from .arguments import refuse_blank
from .errors import COMMAND_LINE, ParamError, Words, safe_text
from .locks import (  # noqa: F401  (re-exported: results and the commands take them from here)
    claim_target,
    lock_file,
    pid_alive,
    release_claim,
    target_lock,
    write_failure,
)
from .reading import json_or_none
from .scenario import resolve_path

try:
    import fcntl
except ImportError:  # not POSIX: the lock relies on the PID written in it
    fcntl = None

MARKER = "manifest.json"
# the name of a file or folder a writer makes and renames: `.NAME.tmp-PID[-…]`, `.NAME.old-PID[-N]`
TEMPORARY = re.compile(r"\..+\.(?:tmp-(\d+)(?:-[A-Za-z0-9_]+)?|old-(\d+)(?:-\d+)?)")

@dataclass(frozen=True)
class Kind:
    """A kind of result: the paths it writes inside its folder (shell patterns; ``*`` stays within a folder)
    and the function that draws its figures again from its tables, as ``"module:function"`` (imported when
    `trustsim report` needs it, so that `trustsim --help` loads no plotting). Anything else in a results
    folder is the user's and keeps the folder from being replaced."""

    files: tuple[str, ...]
    redraw: str

    def redrawer(self):
        """The function ``redraw(folder) -> list of paths``."""
        module, name = self.redraw.split(":")
        return getattr(importlib.import_module(module), name)


# The registry of result kinds: each writer's files and its redraw, looked up by `report` and `guard_target`.
KINDS: dict[str, Kind] = {
    "run": Kind(("manifest.json", "timeseries.csv", "summary.json", "buyers.csv", "network.graphml",
                 "figures/*.png"), "trustsim.results:redraw_run"),
    "sweep": Kind(("manifest.json", "sweep.json", "journal.jsonl", "runs.csv", "runs.parquet", "points.csv",
                   "sensitivity.csv", "figures/*.png", "timeseries/run-*.parquet", ".*.tmp-*", ".*.old-*"),
                  "trustsim.experiments.shards:redraw"),
    "patterns": Kind(("manifest.json", "patterns.txt", "patterns.md", "patterns.json", "figures/*.png"),
                     "trustsim.patterns.figures:redraw"),
    "replications": Kind(("manifest.json", "replications.csv", "summary.json", "bands.csv",
                          "timeseries/replicate-*.csv", "figures/*.png"), "trustsim.experiments.replicate:redraw"),
    "compare": Kind(("manifest.json", "compare.csv", "compare.json", "runs_a.csv", "runs_b.csv", "figures/*.png"),
                    "trustsim.comparison:redraw"),
    "structures": Kind(("manifest.json", "structures.csv", "verdicts.csv", "conclusions.csv", "structures.md",
                        "figures/*.png"), "trustsim.structures.figures:redraw"),
    "regimes": Kind(("manifest.json", "regimes.csv", "regimes.md", "figures/*.png"),
                    "trustsim.structures.figures:redraw"),
    "calibration": Kind(("manifest.json", "calibration.json", "journal.jsonl", "posterior.parquet", "coverage.csv",
                         "predictive.csv", "screening.csv", "calibration.md", "figures/*.png"),
                        "trustsim.calibration.report:redraw"),
}


# --- what a folder holds --------------------------------------------------------------------------

def read_manifest(path: Path) -> dict | None:
    """A result folder's manifest, or None where it has none trustsim wrote (missing, unreadable, not a regular
    file, not ours)."""
    data = json_or_none(path / MARKER, expected="a JSON manifest")
    return data if isinstance(data, dict) and "trustsim" in data else None


def is_trustsim_result(path: Path) -> bool:
    """A folder trustsim wrote: its manifest names trustsim."""
    return read_manifest(path) is not None


def result_kind(path: str | Path) -> str | None:
    """The kind of trustsim result a folder holds (``run``, ``sweep``, ``patterns``, …), else None.

    The manifest's ``kind`` says it; manifests written before it did are read by their files (a sweep has
    ``sweep.json``, a pattern suite ``patterns.json``, a run neither). A sweep still running or killed
    before its manifest is a sweep too."""
    path = Path(path)
    info = read_manifest(path)
    if info is not None:
        kind = info.get("kind")
        if isinstance(kind, str) and kind:
            return kind
        if (path / "sweep.json").is_file():
            return "sweep"
        return "patterns" if (path / "patterns.json").is_file() else "run"
    if (path / "calibration.json").is_file():
        return "calibration"  # a calibration still running or killed before its manifest
    return "sweep" if (path / "sweep.json").is_file() else None


def _entries(folder: Path, prefix: str = "") -> Iterator[tuple[str, bool]]:
    """Every path below ``folder`` as (relative path, is a real folder), not following symbolic links."""
    with os.scandir(folder) as it:
        for entry in sorted(it, key=lambda e: e.name):
            rel = f"{prefix}{entry.name}"
            is_dir = entry.is_dir(follow_symlinks=False)
            yield rel, is_dir
            if is_dir:
                yield from _entries(Path(entry.path), rel + "/")


def drawn_figures(folder: str | Path) -> list[str]:
    """The names of the figures in ``folder/figures``, for the manifest of a result just drawn there: a figure
    its manifest does not list is the user's (``foreign_entries``)."""
    figures = Path(folder) / "figures"
    return sorted(p.name for p in figures.glob("*.png")) if figures.is_dir() else []


def _theirs(rel: str, listed) -> bool:
    """Whether ``rel``, a figure's path the kind's layout allows, is one its manifest does not list (a result
    written before manifests listed their figures counts every ``figures/*.png`` as its own)."""
    return isinstance(listed, list) and rel.startswith("figures/") and rel.removeprefix("figures/") not in listed


def foreign_entries(folder: str | Path, kind: str) -> list[str]:
    """What in a results folder of ``kind`` that kind does not write: the user's files (a figure among its own
    that its manifest does not list, too), a nested result. A writer's temporary files (``TEMPORARY``) are not
    the user's: the lock stops a writer still alive, and what a killed one left goes with the folder."""
    if kind not in KINDS:
        return []
    layout = KINDS[kind].files
    folders = {p.rsplit("/", 1)[0] for p in layout if "/" in p}
    listed = (read_manifest(Path(folder)) or {}).get("figures")
    found, temporary = [], []
    for rel, is_dir in _entries(Path(folder)):
        depth = rel.count("/")
        if TEMPORARY.fullmatch(rel.rsplit("/", 1)[-1]) or any(rel.startswith(t) for t in temporary):
            temporary.append(rel + "/")  # a writer's, alive (the lock stops the next) or killed (a leftover)
            continue
        if is_dir and rel in folders:
            continue
        if (not is_dir and any(p.count("/") == depth and fnmatch.fnmatchcase(rel, p) for p in layout)
                and not _theirs(rel, listed)):
            continue
        if not any(rel.startswith(f) for f in found if f.endswith("/")):  # a foreign folder counts once
            found.append(rel + ("/" if is_dir else ""))
    return found


# --- what is never replaced -------------------------------------------------------------------------

def project_folders() -> dict[Path, str]:
    """Folders no command replaces, with what they are: trustsim's own source, the project's
    ``scenarios/`` and ``results/`` (of its source tree and of the current folder), the home folder."""
    package = Path(__file__).resolve().parent
    here = Path.cwd().resolve()
    out = {package: "trustsim's own source"}
    roots = [here] + ([package.parent] if (package.parent / "pyproject.toml").is_file() else [])
    for root in roots:
        out.setdefault(root / "scenarios", "the project's scenarios/ folder")
        out.setdefault(root / "results", "the project's results/ folder")
    with contextlib.suppress(RuntimeError, KeyError, OSError):
        out.setdefault(Path.home().resolve(), "the home folder")
    return out


def example_folders() -> set[Path]:
    """The committed example result(s): replaced only with ``--force``."""
    package = Path(__file__).resolve().parent
    return {package.parent / "results" / "example", Path.cwd().resolve() / "results" / "example"}


def _contains(folder: Path, path: Path) -> bool:
    return folder == path or folder in path.parents


def reads_reason(target: Path, protect: Iterable[str | Path] = ()) -> str | None:
    """Why a command may not write ``target`` (a resolved path) because it reads it, or None: the one rule
    every writer obeys, whatever ``--force`` says and however the path is spelled (``a``, ``./a/``, a
    symbolic link to it).

    ``protect``: what the command reads — the scenario and its ``extends`` chain, a manifest's folder
    (``rerun``), the two results folders (``compare``), the shards (``merge``). A folder holding one of them
    is never written; nor is a folder the command reads, or one inside it."""
    for item in protect:
        try:
            path = resolve_path(item)
        except ParamError:
            continue
        if _contains(target, path):
            what = "is" if target == path else "holds"
            return f"{what} {safe_text(str(item))}, which this command reads"
        if path.is_dir() and _contains(path, target):
            return f"lies inside {safe_text(str(item))}, which this command reads"
    return None


def protected_reason(target: Path, protect: Iterable[str | Path] = ()) -> str | None:
    """Why not even ``--force`` may replace ``target`` (a resolved path), or None: what the command reads
    (:func:`reads_reason`), the project's own folders, a git work tree or a folder holding one."""
    reason = reads_reason(target, protect)
    if reason:
        return reason
    for folder, what in project_folders().items():
        if _contains(target, folder):
            return f"is or holds {what}"
    if _contains(Path(__file__).resolve().parent, target):  # a subpackage is trustsim's source as much as the whole
        return "lies inside trustsim's own source"
    if (target / ".git").exists():
        return "is a git work tree"
    for folder, subfolders, names in os.walk(target):  # one inside it would go with it
        if ".git" in subfolders or ".git" in names:
            return f"holds the git work tree {safe_text(Path(folder).relative_to(target).as_posix(), 200)}"
    return None


def guard_target(out: str | Path, kind: str | None, force: bool = False,
                 protect: Iterable[str | Path] = (), words: Words = COMMAND_LINE) -> Path:
    """Whether a command writing a result of ``kind`` may write the folder ``out``: returns it resolved, or
    raises ParamError (one line, exit 2) before anything is written.

    An empty or missing folder may be written. A folder holding a result of the same kind and nothing else
    is replaced. Anything else (another kind of result, a nested result, other files, a folder that is no
    trustsim result) needs ``force``. Never, whatever ``force``: the current folder or one above it, a
    folder the command reads or one inside it, a folder holding a file in ``protect`` (:func:`reads_reason`),
    the project's own folders, a git work tree or a folder holding one. The committed example needs ``force``
    even to be replaced by a run. ``kind=None`` accepts any trustsim result (what a caller that does not say its
    kind used to get). ``words``: how a refusal says what to do (:class:`Words`)."""
    if not isinstance(out, (str, os.PathLike)):  # save(None) from Python: not pathlib's TypeError
        raise ParamError(words.out, None, f"expected a folder's path, got {type(out).__name__}")
    shown = safe_text(str(out))
    refuse_blank(out, words.out, "a folder for the results")
    target = resolve_path(out, shown, verb="written")
    here = Path.cwd().resolve()
    if _contains(target, here):  # even --force never replaces the folder the command runs in
        raise ParamError(shown, None, "is the current folder or holds it; choose a folder for the results")
    reading = reads_reason(target, protect)
    if reading:  # whether or not it exists or holds anything: a command never writes into what it reads
        raise ParamError(shown, None, f"{reading}; a command never writes into a folder it reads, and not even "
                                      f"{words.force} replaces it; {words.another}")
    if target.exists() and not target.is_dir():
        raise ParamError(shown, None, "exists and is not a folder")
    if target.is_dir() and any(target.iterdir()):
        there = result_kind(target)
        problem = None
        if there is None:
            problem = "holds files that are not a trustsim result"
        elif kind is not None and there != kind:
            problem = f"holds a trustsim {there} result, which a {kind} does not replace"
        elif kind is not None:
            extra = foreign_entries(target, there)
            if extra:
                more = f" and {len(extra) - 1} more" if len(extra) > 1 else ""
                problem = f"holds {safe_text(extra[0])}{more} besides its {there} result"
        if problem is None and (locked := read_only_folder(target)) is not None:
            problem = ("is read-only" if locked == target else
                       f"holds the read-only folder {safe_text(locked.relative_to(target))}")
        reason = protected_reason(target, protect)
        if reason:
            raise ParamError(shown, None, f"{reason}; not even {words.force} replaces it")
        if problem and not force:
            raise ParamError(shown, None, f"{problem}; {words.another}, or pass {words.force} to replace it "
                                          f"(its contents are lost)")
        if target in example_folders() and not force:
            raise ParamError(shown, None, f"is the committed example result; pass {words.force} to regenerate it")
    parent = target.parent
    if parent.exists() and not os.access(parent, os.W_OK):
        raise ParamError(shown, None, f"cannot write in {safe_text(str(parent))}")
    return target


def read_only_folder(target: Path) -> Path | None:
    """The first of ``target`` and its folders whose owner may not write in it (its mode without ``u+w``, whoever
    runs the command), or None: a result made read-only is kept unless ``--force``."""
    for folder, _, _ in os.walk(target):
        with contextlib.suppress(OSError):
            if not os.stat(folder).st_mode & 0o200:
                return Path(folder)
    return None


# --- leftovers --------------------------------------------------------------------------------------

_LEFTOVERS: set[Path] = set()  # temporary folders a failure could not remove at once; removed at exit


@atexit.register
def _remove_leftovers() -> None:
    """At exit: the temporary folders a failure could not remove at once."""
    for path in list(_LEFTOVERS):
        shutil.rmtree(path, ignore_errors=True)


def _remove(path: Path) -> None:
    """Remove a folder of ours, also when memory is short (a MemoryError on the way out), and when it was made
    read-only (``--force`` replaces it): its folders are made writable for their owner and the removal tried again."""
    for _ in range(3):
        try:
            shutil.rmtree(path, ignore_errors=True)
            if path.exists():  # made read-only: its folders writable for their owner, and once more
                for folder, _, _ in os.walk(path):
                    with contextlib.suppress(OSError):
                        os.chmod(folder, os.stat(folder).st_mode | 0o700)
                shutil.rmtree(path, ignore_errors=True)
            break
        except MemoryError:
            gc.collect()
    if path.exists():
        _LEFTOVERS.add(path)


def stale_leftovers(target: Path) -> list[Path]:
    """Folders ``.NAME.tmp-PID-…`` and ``.NAME.old-PID`` beside ``target`` that a process which no longer
    runs left (killed, or out of power); also this process's own, which the lock says are stale."""
    pattern = re.compile(rf"\.{re.escape(target.name)}\.(?:tmp-(\d+)-[A-Za-z0-9_]+|old-(\d+)(?:-\d+)?)")
    found = []
    try:
        names = os.listdir(target.parent)
    except OSError:
        return []
    for name in names:
        m = pattern.fullmatch(name)
        if m:
            pid = int(m.group(1) or m.group(2))
            if pid == os.getpid() or not pid_alive(pid):
                found.append(target.parent / name)
    return sorted(found)


def clean_leftovers(target: Path) -> list[Path]:
    """Remove :func:`stale_leftovers` (call with the target's lock held); returns what was removed."""
    gone = stale_leftovers(target)
    for path in gone:
        if path.is_dir() and not path.is_symlink():
            _remove(path)
    return gone


def clean_inside(folder: Path) -> None:
    """Remove the temporary files and folders (``TEMPORARY``) that writers no longer alive left inside a results
    folder, one it goes on writing (call with its lock held)."""
    for rel, _ in list(_entries(folder)):
        m = TEMPORARY.fullmatch(rel.rsplit("/", 1)[-1])
        path = folder / rel
        if m and not pid_alive(int(m.group(1) or m.group(2))) and os.path.lexists(path):
            if path.is_dir() and not path.is_symlink():
                _remove(path)
            else:
                path.unlink(missing_ok=True)
