"""A calibration's ``journal.jsonl``, read back for ``--resume``: each line checked against the calibration it belongs
to before any of it is used; and what a first session that fails leaves of its folder (nothing).

The calibration appends one JSON object a line: the run-noise estimate (``noise``), each complete generation
(``population``) and each coverage data set (``coverage`` with its ``runs``), each with the calibration's time so far
(``seconds``). A line is appended whole (``experiments.journal.append_whole``), so a last line without its newline
was cut short by a kill and is dropped (and cut off when resuming, so that the next line starts on a line of its
own); any other line that is not such an object was edited or damaged, and is a ParamError naming the file, the
line, the field and what is wrong.
"""

from __future__ import annotations

import contextlib
import json
import math
from concurrent.futures import BrokenExecutor, CancelledError
from pathlib import Path

from ..errors import ParamError, safe_text
from ..experiments.journal import FolderRemoved
from ..reading import open_regular
from .config import JOURNAL, STATE, TABLES, Calibration

POPULATION_FIELDS = ("generation", "theta", "structure", "weight", "distance", "tolerance", "proposed", "used")
WEIGHT_SUM_TOLERANCE = 1e-9  # a generation's weights as written sum to 1 within a few ulps; an edit, by more
COVERAGE_FIELDS = ("dataset", "parameter", "truth", "posterior_mean")


class _Bad(Exception):
    """A journal field and what is wrong with it."""

    def __init__(self, field: str | None, why: str):
        super().__init__(field, why)
        self.field, self.why = field, why


def _whole(x) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


def _number(x) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and not math.isnan(x)


def _shown(x) -> str:
    return safe_text(json.dumps(x), 80)


def _count(entry: dict, field: str, least: int, most: int | None = None) -> int:
    """``entry[field]`` (``field``: its path in the line, ``population.used``), a whole number from least to most."""
    x = entry.get(field.rpartition(".")[2])
    if not _whole(x) or x < least or (most is not None and x > most):
        upto = f" from {least} to {most}" if most is not None else f" of at least {least}"
        raise _Bad(field, f"expected a whole number{upto}, got {_shown(x)}")
    return x


def _items(entry: dict, field: str, n: int, test, one: str) -> list:
    """``entry[field]`` (``field``: its path in the line), a list of ``n`` items, each passing ``test`` (``one``)."""
    xs = entry.get(field.rpartition(".")[2])
    if not isinstance(xs, list) or len(xs) != n:
        raise _Bad(field, f"expected a list of {n} (each {one}), got {_shown(xs)}")
    for i, x in enumerate(xs):
        if not test(x):
            raise _Bad(f"{field}[{i}]", f"expected {one}, got {_shown(x)}")
    return xs


def _noise(noise, cal: Calibration) -> None:
    if not isinstance(noise, dict):
        raise _Bad("noise", f"expected an object, got {type(noise).__name__}")
    _items(noise, "noise.variance", len(cal.spec.targets), lambda v: v is None or (_number(v) and 0 <= v < math.inf),
           "a non-negative finite number or null")
    _count(noise, "noise.runs", 1, cal.spec.budget)


def _population(pop, cal: Calibration, generation: int) -> None:
    if not isinstance(pop, dict):
        raise _Bad("population", f"expected an object, got {type(pop).__name__}")
    if extra := sorted(set(pop) - set(POPULATION_FIELDS)):
        raise _Bad(f"population.{extra[0]}", "is no field of a population")
    if missing := [f for f in POPULATION_FIELDS if f not in pop]:
        raise _Bad(f"population.{missing[0]}", "is missing")
    if pop["generation"] != generation or not _whole(pop["generation"]):
        raise _Bad("population.generation", f"expected {generation} (the generations in order), got "
                                            f"{_shown(pop['generation'])}")
    weight = pop["weight"]
    n = len(weight) if isinstance(weight, list) else 0
    if not 1 <= n <= cal.spec.population:
        raise _Bad("population.weight", f"expected a list of 1 to {cal.spec.population} weights (the population), "
                                        f"got {_shown(weight)}")
    _items(pop, "population.weight", n, lambda w: _number(w) and 0 <= w < math.inf, "a non-negative finite number")
    if not sum(weight) > 0:
        raise _Bad("population.weight", "the weights are all 0")
    if abs(math.fsum(weight) - 1) > WEIGHT_SUM_TOLERANCE:  # every reader takes them as a distribution
        raise _Bad("population.weight", f"the weights sum to {math.fsum(weight):.12g}, not 1 (a population's weights "
                                        f"are normalised)")
    theta = _items(pop, "population.theta", n, lambda t: isinstance(t, list) and len(t) == len(cal.keys),
                   f"a list of {len(cal.keys)} numbers, one per calibrated parameter")
    for i, t in enumerate(theta):
        for j, (x, a, b) in enumerate(zip(t, cal.lo, cal.hi, strict=True)):
            if not _number(x) or not a <= x <= b:
                raise _Bad(f"population.theta[{i}][{j}]", f"expected a number in {cal.keys[j]}'s prior {a} … {b}, "
                                                          f"got {_shown(x)}")
    _items(pop, "population.structure", n,
           lambda m: _whole(m) and 0 <= m < len(cal.structures) and cal.structure_prior[m] > 0,
           f"the number of a structure of prior weight above 0, from 0 to {len(cal.structures) - 1}")
    _items(pop, "population.distance", n, lambda d: _number(d) and 0 <= d < math.inf, "a non-negative finite number")
    if not _number(pop["tolerance"]) or pop["tolerance"] < 0:
        raise _Bad("population.tolerance", f"expected a non-negative number, got {_shown(pop['tolerance'])}")
    _count(pop, "population.proposed", n)
    _count(pop, "population.used", 1, cal.spec.budget)


def _coverage(rows, entry: dict) -> None:
    if not isinstance(rows, list) or not rows or not all(isinstance(r, dict) for r in rows):
        raise _Bad("coverage", "expected a list of objects, one per calibrated parameter")
    for i, r in enumerate(rows):
        if missing := [f for f in COVERAGE_FIELDS if f not in r]:
            raise _Bad(f"coverage[{i}]", f"lacks {missing[0]}")
        if not _whole(r["dataset"]) or r["dataset"] != rows[0]["dataset"] or r["dataset"] < 0:
            raise _Bad(f"coverage[{i}].dataset", f"expected the same whole number in every row, got "
                                                 f"{_shown(r['dataset'])}")
    _count(entry, "runs", 1)


def check_entry(entry, cal: Calibration, generation: int) -> None:
    """Raise ``_Bad`` when ``entry`` is not a journal line of ``cal``; ``generation``: the populations before it."""
    if not isinstance(entry, dict):
        raise _Bad(None, f"expected a JSON object, got {type(entry).__name__}")
    kinds = [k for k in ("noise", "population", "coverage") if k in entry]
    if len(kinds) != 1:
        raise _Bad(None, "expected exactly one of noise, population and coverage"
                           + (f", got {' and '.join(kinds)}" if kinds else ""))
    if unknown := sorted(set(entry) - {kinds[0], "seconds"} - ({"runs"} if kinds == ["coverage"] else set())):
        raise _Bad(unknown[0], "is no field of a calibration's journal")
    if "seconds" in entry and not (_number(entry["seconds"]) and 0 <= entry["seconds"] < math.inf):
        raise _Bad("seconds", f"expected a non-negative finite number, got {_shown(entry['seconds'])}")
    if kinds == ["noise"]:
        _noise(entry["noise"], cal)
    elif kinds == ["population"]:
        _population(entry["population"], cal, generation)
    else:
        _coverage(entry["coverage"], entry)


def read_journal(path: Path, cal: Calibration | None = None, repair: bool = False,
                 force: str = "--force") -> list[dict]:
    """The journal's complete lines, each checked against ``cal`` (when given): a ParamError names the first bad one
    and says to start afresh with ``force`` (``force=True`` from Python). A last line cut short by a kill is dropped,
    and with ``repair`` cut off the file."""
    entries: list[dict] = []
    if not path.exists():
        return entries
    good, populations = 0, 0
    with open_regular(path, expected="a calibration's journal") as fh:  # a named pipe: refused, not read
        for number, line in enumerate(fh, start=1):
            if not line.endswith(b"\n"):
                break
            try:
                entry = json.loads(line)
                if cal is not None:
                    check_entry(entry, cal, populations)
            except (ValueError, RecursionError):  # RecursionError: nested deeper than the parser follows
                raise ParamError(str(path), None, f"line {number} is not JSON (edited or damaged); start afresh with "
                                                  f"{force}") from None
            except _Bad as bad:
                where = f"line {number}: {bad.field}" if bad.field else f"line {number}"
                raise ParamError(str(path), None, f"{where}: {bad.why} (edited or damaged); start afresh with "
                                                  f"{force}") from None
            populations += isinstance(entry, dict) and "population" in entry
            entries.append(entry)
            good += len(line)
    if repair and good != path.stat().st_size:
        with open(path, "r+b") as fh:
            fh.truncate(good)
    return entries


def interrupted(exc: BaseException) -> bool:
    """Whether ``exc`` stopped a calibration from outside it (a full disk, memory, a worker or the cluster lost, its
    folder removed): ``--resume`` finishes it then, so its folder is kept. Any other failure (bad input found late,
    an internal error) would come again on ``--resume``, and a folder of its half-written result would only stand
    in the way of the next try."""
    return (isinstance(exc, (OSError, MemoryError, BrokenExecutor, CancelledError, FolderRemoved))
            or type(exc).__module__.split(".")[0] == "distributed")  # a Dask worker killed, its connection lost


def discard(out: Path, made: list[Path]) -> None:
    """Remove what a calibration's first session wrote in ``out`` (its state, journal, tables and figures) and the
    folders ``made`` for it (deepest first; one that holds anything else stays), after a failure that is not an
    interruption: it leaves nothing. Whatever this cannot remove stays, and the failure is told as it was."""
    with contextlib.suppress(OSError):
        for name in (STATE, JOURNAL, "manifest.json", *TABLES):
            (out / name).unlink(missing_ok=True)
        for png in (out / "figures").glob("*.png"):
            png.unlink(missing_ok=True)
        for folder in (out / "figures", *made):
            with contextlib.suppress(OSError):
                folder.rmdir()
