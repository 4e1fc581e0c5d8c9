"""Shards merged: the folders of ``trustsim sweep --shard K/N`` runs combined into the folder the whole
sweep would have written."""

from __future__ import annotations

import json
import shutil
import time
from datetime import UTC, datetime
from pathlib import Path

from ..errors import ParamError, counted
from ..reading import json_or_none, read_json
from ..results import write_atomically
from .design import foreign_row, rebuilt_sweep, shard_ids
from .figures import redraw as redraw_finished
from .journal import JOURNAL, STATE, finish, read_journal, resume_command

_STATE_TYPES = {"name": str, "source": str, "fingerprint": str, "runs": int, "base": dict, "sweep": dict,
                "scenario": dict}


def _shard_state(folder: Path) -> dict:
    """A shard's ``sweep.json``, with the keys and types the merge reads; ParamError naming the file otherwise (a
    state edited by hand, or a file of that name that trustsim did not write)."""
    path = folder / STATE
    if not folder.is_dir():
        raise ParamError(str(folder), None, "no such folder" if not folder.exists() else "is not a folder")
    if not path.exists():
        raise ParamError(str(folder), None, "not a sweep folder (no sweep.json)")
    st = read_json(path, expected="a sweep's state")
    if not isinstance(st, dict):
        raise ParamError(str(path), None, "is not a sweep's state (not a JSON object)")
    for key, kind in _STATE_TYPES.items():
        if not isinstance(st.get(key), kind) or isinstance(st.get(key), bool):
            raise ParamError(str(path), key, f"missing or not a {kind.__name__}; not the state trustsim wrote")
    shard = st.get("shard", ...)
    ok = shard is None or (isinstance(shard, list) and len(shard) == 2 and all(
        isinstance(x, int) and not isinstance(x, bool) for x in shard) and 1 <= shard[0] <= shard[1])
    if not ok:
        raise ParamError(str(path), "shard", f"expected [K, N] with 1 ≤ K ≤ N, or null, got {shard!r}")
    if not isinstance(st["scenario"].get("name"), str):
        raise ParamError(str(path), "scenario.name", "missing or not a str; not the state trustsim wrote")
    return st


def _finish_command(folder: Path, st: dict, k: int | None = None) -> str:
    """The command that finishes shard folder ``folder`` (``k``: its part, else the one its state records), with the
    folder itself as --out (without it, the shard's default folder, not this one)."""
    path, shard = (st.get("scenario") or {}).get("path"), st.get("shard")
    return resume_command(path if isinstance(path, str) else "FILE", shard and (k or shard[0], shard[1]),
                          bool(st.get("timeseries")), folder)


def redraw(folder: str | Path) -> list[Path]:
    """``trustsim report`` on a sweep folder: an unfinished sweep is named with the command that finishes it there
    (``--resume`` alone would start it afresh in its default folder); a finished one's figures are drawn again."""
    folder = Path(folder)
    if not (folder / "manifest.json").is_file():
        st = _shard_state(folder)
        if not st.get("shard"):  # a shard's folder: figures.redraw says to merge the shards
            finish_it = _finish_command(folder, st)
            raise ParamError(str(folder), None, f"holds an unfinished sweep; finish it with '{finish_it}'")
    return redraw_finished(folder)


def _same_sweep(state, shard_state: dict) -> bool:
    """Whether a finished sweep's state (``sweep.json``) is the sweep the shards make, by the same code: merging
    them there again writes the same tables, so it needs no ``--force`` (as a run replaces its own result)."""
    return isinstance(state, dict) and all(state.get(k) == shard_state.get(k) for k in ("fingerprint", "code"))


def merge(dirs: list[str | Path], out: str | Path, force: bool = False, figures: bool = True) -> Path:
    """Combine the folders of ``--shard K/N`` runs into the folder the whole sweep would have written."""
    states = []
    for d in map(Path, dirs):
        st = _shard_state(d)
        if not (d / "manifest.json").exists():
            n = len(read_journal(d / JOURNAL))
            raise ParamError(str(d), None, f"is not finished ({n} of {st.get('runs')} runs); finish it with "
                                           f"'{_finish_command(d, st)}'")
        states.append((d, st))
    first = states[0][1]
    for d, st in states[1:]:
        if st["fingerprint"] != first["fingerprint"]:
            raise ParamError(str(d), None, f"is a different sweep from {states[0][0]} (sweep file or scenario differ)")
        if st.get("code") != first.get("code"):
            raise ParamError(str(d), None, f"was made by other trustsim code than {states[0][0]} (code "
                                           f"{st.get('code')} against {first.get('code')}): merged, the sweep would "
                                           f"mix two models")
    shards = [tuple(st["shard"]) if st["shard"] else None for _, st in states]
    if None in shards:
        raise ParamError(str(states[shards.index(None)][0]), None, "is a whole sweep, not a shard; nothing to merge")
    ns = {n for _, n in shards}
    if len(ns) > 1:
        splits = ", ".join(f"{k}/{n}" for k, n in shards)
        raise ParamError(str(states[0][0]), None, f"shards of different splits ({splits})")
    n = ns.pop()
    ks = [k for k, _ in shards]
    dup = sorted({k for k in ks if ks.count(k) > 1})
    if dup:
        twice = [str(d) for (d, _), k in zip(states, ks, strict=True) if k == dup[0]]
        same = "the same folder" if len({Path(d).resolve() for d in twice}) == 1 else "two folders"
        raise ParamError(twice[-1], None, f"shard {dup[0]}/{n} given twice ({same}: {', '.join(twice)})")
    missing = sorted(set(range(1, n + 1)) - set(ks))
    if missing:
        shown = ", ".join(f"{k}/{n}" for k in missing)
        raise ParamError(str(out), None, f"shard{'s' if len(missing) > 1 else ''} {shown} missing")
    sweep = rebuilt_sweep(first, states[0][0] / STATE)
    entries: dict[int, dict] = {}
    for (d, st), k in zip(states, ks, strict=True):
        runs = read_journal(d / JOURNAL, strict=True)
        ids = set(shard_ids(sweep.n_runs, (k, n)))
        for i, entry in runs.items():  # as --resume checks its journal: a row edited, or of another sweep
            if why := foreign_row(entry, sweep, ids):
                raise ParamError(str(d / JOURNAL), None, f"run {i}: {why} (edited, or another sweep's); run it "
                                                         f"again with '{_finish_command(d, st, k)}'")
        entries.update(runs)
    absent = [i for i in range(sweep.n_runs) if i not in entries]
    if absent:  # a shard's journal cut short or edited after it finished: name that shard's folder
        k = absent[0] % n + 1
        where = next(d for (d, _), kd in zip(states, ks, strict=True) if kd == k)
        lacks = counted(sum(1 for i in absent if i % n + 1 == k), "run")
        raise ParamError(str(where), JOURNAL, f"lacks {lacks} of shard {k}/{n} (first: run {absent[0]}); finish it "
                                              f"with '{_finish_command(where, first, k)}'")
    target = Path(out)
    if not force and (target / STATE).is_file() and not (target / "manifest.json").exists():
        done = counted(len(read_journal(target / JOURNAL)), "run")  # its runs are in no other folder
        raise ParamError(str(out), None, f"holds an unfinished sweep ({done} done), which a merge does not replace; "
                                         f"choose another --out, or pass --force to replace it (its runs are lost)")
    if not force and (target / STATE).is_file() and not _same_sweep(json_or_none(target / STATE), first):
        raise ParamError(str(out), None, "holds a finished sweep of another design or code, which a merge does not "
                                         "replace; choose another --out, or pass --force to replace it (its runs are "
                                         "lost)")
    # the shards and the sweep file are read: no --force removes a folder that holds them
    read = first.get("scenario") or {}
    protect = [*map(str, dirs), *(p for p in (read.get("path"), *(read.get("chain") or ())) if p)]
    state = {**first, "shard": None, "runs": sweep.n_runs, "merged_from": [str(d) for d, _ in states]}
    started = datetime.now(UTC).isoformat(timespec="seconds")
    t0 = time.perf_counter()

    def write(tmp: Path) -> None:
        (tmp / STATE).write_text(json.dumps(state, indent=2, default=str) + "\n")
        with open(tmp / JOURNAL, "w", encoding="utf-8") as fh:
            for i in sorted(entries):
                fh.write(json.dumps(entries[i], allow_nan=False) + "\n")
        if first["timeseries"]:
            (tmp / "timeseries").mkdir()
            for d, _ in states:
                for f in sorted((d / "timeseries").glob("run-*.parquet")):
                    shutil.copyfile(f, tmp / "timeseries" / f.name)
        finish(tmp, sweep, state, started=started, wall=time.perf_counter() - t0, figures=figures,
               extra={"merged_from": [str(Path(d).resolve()) for d, _ in states]})

    return write_atomically(out, write, force, kind="sweep", protect=protect)
