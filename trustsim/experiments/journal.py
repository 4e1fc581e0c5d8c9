"""A sweep's folder: its state file, the journal of finished runs, resuming, and the final tables.

The parent appends each finished run to ``journal.jsonl`` at once, so a killed sweep keeps every
finished run and ``--resume`` skips them. ``sweep.json`` says which sweep a folder holds (a
fingerprint of the base parameters and the ``[sweep]`` table), so a folder is resumed only by the
sweep that began it. The final tables are built from the journal alone, sorted by run id, so they are
the same however the sweep got there; the manifest is written last and marks a finished folder.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import sys
import time
from pathlib import Path
from types import SimpleNamespace

from .. import __version__
from ..errors import PYTHON, ParamError, Words, counted, safe_text
from ..folders import _remove, clean_inside, clean_leftovers, foreign_entries, guard_target, result_kind
from ..params import Params
from ..reading import json_or_none, open_regular, parse_json
from ..reproduce import code_digest, other_code
from ..results import manifest, replace_file, write_atomically
from ..stats import ADVANTAGES
from .analysis import row_fault, runs_frame, sensitivity, write_point_table, write_tables
from .design import ID_COLUMNS, METRIC_COLUMNS, Sweep, foreign_row, shard_ids
from .figures import write_figures

STATE = "sweep.json"
JOURNAL = "journal.jsonl"
OUR_FILES = (STATE, JOURNAL, "runs.csv", "runs.parquet", "points.csv", "manifest.json", "sensitivity.csv")
OUR_DIRS = ("figures", "timeseries")


def timeseries_file(out: Path, run_id: int) -> Path:
    """Where ``--timeseries`` keeps run ``run_id``'s per-step table in the sweep folder ``out``."""
    return out / "timeseries" / f"run-{run_id:07d}.parquet"


def fingerprint(base: Params, table: dict, timeseries: bool) -> str:
    """What makes two sweeps the same sweep: the base parameters, the ``[sweep]`` table, ``--timeseries``."""
    blob = json.dumps({"base": base.nested(), "sweep": table, "timeseries": timeseries}, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()


def _write_text(path: Path, text: str) -> None:
    replace_file(path, lambda tmp: tmp.write_text(text))


def state_of(sweep: Sweep, shard, timeseries: bool) -> dict:
    """The contents of ``sweep.json``: which sweep (and which shard of it) a folder holds."""
    sc = sweep.scenario
    return {"trustsim": "sweep state", "name": sweep.name, "source": sweep.source,
            "fingerprint": fingerprint(sweep.base, sweep.table, timeseries), "code": code_digest(),
            "shard": list(shard) if shard else None, "timeseries": timeseries,
            "runs": len(shard_ids(sweep.n_runs, shard)),
            "base": sweep.base.nested(), "sweep": sweep.table,
            "scenario": {"name": sweep.name,
                         "path": str(Path(sc.path).resolve()) if getattr(sc, "path", None) else None,
                         "sha256": getattr(sc, "sha256", None),
                         "chain": list(getattr(sc, "chain", ())), "overrides": dict(getattr(sc, "overrides", {}))}}


def read_journal(path: Path, repair: bool = False, strict: bool = False) -> dict[int, dict]:
    """Finished runs by id. A last line cut short by a kill is dropped (and cut off if ``repair``). A run that
    failed and was run again (``--resume``) has a later line: that one counts, unless the earlier one succeeded.

    A complete line that is not a run's record (not JSON, or a record whose values are not of their types) was
    edited or damaged, not cut short: reading stops there, and with ``repair`` (``--resume``, which would cut off
    the runs after it) or ``strict`` (a finished shard, merged) it is a ParamError naming the line. A journal that
    is not a regular file (a named pipe) is a ParamError, refused without reading from it."""
    runs: dict[int, dict] = {}
    if not path.exists():
        return runs
    good = 0
    with open_regular(path, expected="a sweep's journal") as fh:
        for number, line in enumerate(fh, start=1):
            if not line.endswith(b"\n"):
                break
            try:
                entry = parse_json(line, str(path), expected="a JSON line")
                fault = row_fault(entry.get("row"), every=strict) if isinstance(entry, dict) else "not a JSON object"
                if fault:
                    raise ValueError(fault)
                run_id = entry["row"]["run_id"]
                if run_id not in runs or runs[run_id]["row"].get("status") != "ok":
                    runs[run_id] = entry
            except (ParamError, ValueError) as exc:
                if repair or strict:
                    why = exc.message.removeprefix("is ") if isinstance(exc, ParamError) else str(exc)
                    fix = ("delete that line to go on (its run is made again)" if repair else
                           "delete that line and finish the shard with --resume (its run is made again)")
                    raise ParamError(str(path), None, f"line {number} is not a finished run's record ({why}); "
                                                      f"{fix}") from None
                break
            good += len(line)
    if repair and good != path.stat().st_size:
        with open(path, "r+b") as fh:
            fh.truncate(good)
    return runs


def open_to_append(path: Path, create: bool = True) -> int:
    """A file descriptor that appends to ``path`` (made if absent, with ``create``), for :func:`append_whole`."""
    return os.open(path, os.O_WRONLY | os.O_APPEND | (os.O_CREAT if create else 0) | getattr(os, "O_CLOEXEC", 0),
                   0o666)


def append_whole(fd: int, line: bytes) -> None:
    """Append ``line`` to the file open at ``fd`` (``O_APPEND``) whole or not at all: a write that fails part way (a
    full disk, a file-size limit) is cut off again, so the file keeps no half line for a reader to trip on."""
    end = os.fstat(fd).st_size
    try:
        view = memoryview(line)
        while view:
            view = view[os.write(fd, view):]
    except BaseException:
        with contextlib.suppress(OSError):
            os.ftruncate(fd, end)
        raise


class FolderRemoved(Exception):
    """A sweep's or calibration's folder, or its journal, removed while it ran: what it finished is lost with it."""


def append_entry(path: Path, entry: dict) -> None:
    """Append ``entry`` as one JSON line, whole and fsynced, to the journal ``path``, made when its folder was
    prepared (a calibration's): never made anew, so that one removed while the calibration ran (FolderRemoved)
    does not start a journal of the later entries alone, which a --resume would read as the whole."""
    try:
        fd = open_to_append(path, create=False)
    except FileNotFoundError:
        raise FolderRemoved(str(path)) from None
    try:
        append_whole(fd, (json.dumps(entry) + "\n").encode())  # a full disk leaves no half line
        os.fsync(fd)
    finally:
        os.close(fd)


def still_there(path: Path) -> None:
    """Raise FolderRemoved when the journal ``path`` is gone, alone or with its folder: one stat, cheap enough for
    a calibration to ask after each finished batch, so that a removed folder stops it then, not at its next
    journal line, a whole generation's runs later (a sweep's :class:`Journal` asks at each finished run)."""
    try:
        os.stat(path)
    except (FileNotFoundError, NotADirectoryError):
        raise FolderRemoved(str(path)) from None


class Journal:
    """Appends one line per finished run: written at once and whole (a killed process loses nothing, a full disk
    leaves no half line), fsynced each second."""

    def __init__(self, path: Path):
        self.fd = open_to_append(path)
        self.path = path
        self.synced = time.monotonic()

    def write(self, entry: dict) -> None:
        """Append ``entry`` as one JSON line (:func:`append_whole`); fsynced when the last sync is over a second
        old. Raises FolderRemoved once the file has no name left (its folder removed): a file open still takes
        lines, which no one would read, while every run left is computed for nothing."""
        if os.fstat(self.fd).st_nlink == 0:
            raise FolderRemoved(str(self.path))
        append_whole(self.fd, (json.dumps(entry, allow_nan=False) + "\n").encode())
        if time.monotonic() - self.synced > 1.0:
            os.fsync(self.fd)
            self.synced = time.monotonic()

    def close(self) -> None:
        """Sync and close; the file is closed even when the sync fails, so nothing is left open to fail again."""
        if self.fd is None:
            return
        try:
            os.fsync(self.fd)
        finally:
            with contextlib.suppress(OSError):
                os.close(self.fd)
            self.fd = None


def _clear(out: Path) -> None:
    for name in OUR_FILES:
        (out / name).unlink(missing_ok=True)
    for name in OUR_DIRS:
        shutil.rmtree(out / name, ignore_errors=True)


def _read_files(state: dict) -> list[str]:
    """The files the sweep was read from (the sweep file and its ``extends`` chain): no --force removes them."""
    sc = state.get("scenario") or {}
    return [p for p in (sc.get("path"), *(sc.get("chain") or ())) if p]


def _guard(out: Path, state: dict, resume: bool, force: bool) -> None:
    """The guard every results writer uses (:func:`trustsim.folders.guard_target`): a folder holding
    anything but a sweep, or a sweep and other things, is started afresh only with ``--force`` (never the
    current folder, one above it, one holding the sweep file, the project's own folders); ``--resume``
    adds to a folder that holds nothing but its sweep."""
    shown = safe_text(str(out))
    if resume and out.is_dir() and result_kind(out) == "sweep":
        extra = foreign_entries(out, "sweep")
        if extra:
            more = f" and {len(extra) - 1} more" if len(extra) > 1 else ""
            raise ParamError(shown, None, f"holds {safe_text(extra[0])}{more} besides its sweep; move "
                                          f"{'them' if more else 'it'} out of the folder before resuming")
    guard_target(out, "sweep", force, protect=_read_files(state))


def resume_command(file, shard, timeseries: bool, out=None, more: str = "") -> str:
    """The command that finishes an unfinished sweep or shard: its sweep file and --resume, with the --shard (K, N)
    and --timeseries it was started with (without them --resume refuses the folder as another sweep's, or, a
    shard's folder being named by its shard, runs the whole sweep into another), ``more`` options (``--dask …``)
    and its folder as --out, where it is not the default."""
    return (f"trustsim sweep {safe_text(file, 400)} --resume" + (f" --shard {shard[0]}/{shard[1]}" if shard else "")
            + (" --timeseries" if timeseries else "") + more + (f" --out {safe_text(out, 400)}" if out else ""))


def _start_afresh(out: Path) -> None:
    """Replace a folder that ``--force`` allows to be replaced by an empty one: moved aside, then removed; the
    folder a symbolic link leads to, as ``run`` replaces it (and the lock is taken), not the link."""
    out = out.resolve()
    old = out.parent / f".{out.name}.old-{os.getpid()}"
    n = 0
    while os.path.lexists(old):
        n += 1
        old = out.parent / f".{out.name}.old-{os.getpid()}-{n}"
    os.rename(out, old)
    out.mkdir()
    _remove(old)


def prepare_folder(out: Path, state: dict, resume: bool, force: bool, check_only: bool = False) -> dict[int, dict]:
    """Make the folder ready and return the runs already done (``--resume``); refuse a folder of other things.
    ``check_only``: raise what would be refused, change nothing. Call with the folder's lock held
    (:func:`trustsim.folders.target_lock`) unless ``check_only``."""
    _guard(out, state, resume, force)
    shown = safe_text(str(out))
    if out.is_dir() and any(out.iterdir()):
        if result_kind(out) != "sweep" or foreign_entries(out, "sweep"):  # --force given: the guard says so
            if check_only:
                return {}
            _start_afresh(out)
        else:
            old = json_or_none(out / STATE)  # none to read (not JSON, a named pipe …): another sweep's, for all we know
            if not isinstance(old, dict):  # JSON, but not the state trustsim wrote: another sweep's, for all we know
                old = {}
            same = old.get("fingerprint") == state["fingerprint"] and old.get("shard") == state["shard"]
            if resume:
                if not same:
                    raise ParamError(shown, None,
                                     "holds a different sweep (the sweep file, its scenario, --shard or --timeseries "
                                     "changed); pass --force instead of --resume to start afresh (its runs go), "
                                     "or choose another --out")
                if why := other_code(old.get("code")):
                    raise ParamError(shown, None, f"{why}; finish it with that code, or pass --force instead of "
                                                  f"--resume to start afresh (its runs go)")
                if not check_only:
                    clean_inside(out)  # what a killed sweep left half-written: a table, a run's time series
                done = read_journal(out / JOURNAL, repair=not check_only)
                if done and not (out / "timeseries").exists() and state["timeseries"]:
                    raise ParamError(shown, None, "the time series of earlier runs are missing")
                return done
            if not force:  # a sweep runs in its folder: the old one would go before the new one is complete
                if (out / "manifest.json").exists():
                    raise ParamError(shown, None, "holds a finished sweep; pass --force to replace it (it is removed "
                                                  "as the new sweep starts), or choose another --out")
                n = len(read_journal(out / JOURNAL))
                raise ParamError(shown, None, f"holds an unfinished sweep ({n} runs done); pass --resume to "
                                              f"finish it, or --force to start afresh")
            if check_only:
                return {}
            _clear(out)
    if check_only:
        return {}
    try:
        clean_leftovers(out.resolve())
        out.mkdir(parents=True, exist_ok=True)
        _write_text(out / STATE, json.dumps(state, indent=2, default=str) + "\n")
    except OSError as exc:
        raise ParamError(shown, None, f"cannot write the results folder ({exc.strerror})") from None
    return {}


def keep_own_runs(out: Path, sweep: Sweep, shard, done: dict[int, dict]) -> dict[int, dict]:
    """The journal's runs that belong to this sweep (:func:`foreign_row`); the others are dropped from the
    journal (and their time series removed), said on standard error, and run again."""

    ids = set(shard_ids(sweep.n_runs, shard))
    dropped = {i: why for i, e in done.items() if (why := foreign_row(e, sweep, ids))}
    if not dropped:
        return done
    kept = {i: e for i, e in done.items() if i not in dropped}
    _write_text(out / JOURNAL, "".join(json.dumps(kept[i], allow_nan=False) + "\n" for i in sorted(kept)))
    for i in dropped:
        timeseries_file(out, i).unlink(missing_ok=True)
    first, why = next(iter(sorted(dropped.items())))
    print(f"trustsim: note: {counted(len(dropped), 'journal row')} of "
          f"{safe_text(out / JOURNAL, 400)} did not belong to this sweep and {'were' if len(dropped) > 1 else 'was'} "
          f"dropped (run {first}: {why}); {'they are' if len(dropped) > 1 else 'it is'} run again if in the design",
          file=sys.stderr)
    return kept


def without_failures(done: dict[int, dict], out: Path, quiet: bool) -> dict[int, dict]:
    """The finished runs ``--resume`` keeps: those that succeeded. A run that failed is run again (on the same
    seed): a lack of memory or a lost worker may not recur, and a fault of the model recurs the same."""
    failed = [i for i, e in sorted(done.items()) if e["row"].get("status") != "ok"]
    if failed and not quiet:
        ids = ", ".join(map(str, failed[:10])) + (" …" if len(failed) > 10 else "")
        many = len(failed) > 1
        print(f"trustsim: note: {safe_text(out, 400)}: {counted(len(failed), 'run')} that failed before "
              f"{'are' if many else 'is'} run again (run id{'s' if many else ''} {ids})", file=sys.stderr)
    return {i: e for i, e in done.items() if e["row"].get("status") == "ok"}


def finish(out: Path, sweep: Sweep, state: dict, *, started: str, wall: float, figures: bool = True,
           extra: dict | None = None):
    """Final tables, sensitivity, figures and manifest from the journal (the manifest last: it marks the end)."""
    entries = read_journal(out / JOURNAL).values()
    df = runs_frame(sweep, entries)
    write_tables(out, df)
    write_point_table(out, sweep, df)
    sens = None
    complete = state["shard"] is None
    if complete and sweep.design in ("sobol", "morris"):
        sens = sensitivity(sweep, df)
        replace_file(out / "sensitivity.csv", lambda tmp: sens.to_csv(tmp, index=False))
    if complete and figures:
        write_figures(out, sweep, df, sens)
    scenario = sweep.scenario or SimpleNamespace(**state["scenario"])
    failed = df.loc[df["status"] != "ok", "run_id"].tolist()
    info = manifest(scenario, sweep.base, started, wall, out, kind="sweep", version=__version__,
                    sweep=sweep.table, design=sweep.design, root_seed=sweep.seed, seeds=sweep.seeds,
                    replications=sweep.replications, factors=sweep.keys,
                    points=sweep.points, runs=len(df), failed=len(failed), failed_run_ids=failed[:1000],
                    shard=state["shard"], columns={"ids": list(ID_COLUMNS), "factors": sweep.keys,
                                                   "metrics": list(METRIC_COLUMNS), "advantages": ADVANTAGES},
                    **(extra or {}))
    _write_text(out / "manifest.json", json.dumps(info, indent=2, ensure_ascii=False, default=str) + "\n")
    return df


def write_sweep(sweep: Sweep, entries, out: str | Path, *, started: str, wall: float, force: bool = False,
                timeseries=None, words: Words = PYTHON) -> Path:
    """The folder ``trustsim sweep`` writes, from a whole sweep's runs held in memory (their journal ``entries``,
    as :func:`~trustsim.experiments.execute.sweep_tables` keeps them; ``trustsim.sweep(…).save``): its state and
    journal as a finished sweep leaves them (``--resume`` finds every run done), each run's time series as
    ``--timeseries`` writes it when ``timeseries`` (the runs' per-step table, ``run_id`` first) is given, then
    :func:`finish`'s tables, figures and manifest (every run computed this time), written whole or not at all,
    never over what a user owns."""
    state = state_of(sweep, None, timeseries is not None)
    if not force and (Path(out) / STATE).is_file():  # as trustsim sweep and merge: an unfinished one's runs are lost
        raise ParamError(safe_text(str(out)), None, f"holds a sweep; pass {words.force} to replace it, or "
                                                    f"{words.another}")

    def write(tmp: Path) -> None:
        _write_text(tmp / STATE, json.dumps(state, indent=2, default=str) + "\n")
        _write_text(tmp / JOURNAL, "".join(json.dumps(e, allow_nan=False) + "\n"
                                           for e in sorted(entries, key=lambda e: e["row"]["run_id"])))
        if timeseries is not None:
            (tmp / "timeseries").mkdir()
            for run_id, frame in timeseries.groupby("run_id", sort=True):
                frame.to_parquet(timeseries_file(tmp, run_id), index=False)
        finish(tmp, sweep, state, started=started, wall=wall,
               extra={"computed_this_time": len(entries), "resumed_from": 0})

    return write_atomically(out, write, force, kind="sweep", protect=_read_files(state), words=words)
