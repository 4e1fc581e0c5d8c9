"""A result made again from its manifest (``trustsim rerun results/x/manifest.json``): the manifest holds the
resolved parameters and the seed, so no scenario file is needed, and the new tables are compared byte for
byte with those beside the manifest, and where the bytes differ, number by number within ``RELATIVE_TOLERANCE``
(``relative_gap``): another processor or library build may take floating-point sums in another order, or
NumPy may pick other SIMD code for ``exp`` and ``log``, and change the last bits.

A run's manifest is rerun as one run, a replications manifest as the same replications (root seed and
count). Sweeps are rerun with ``trustsim sweep`` from their sweep file, the pattern suite with
``trustsim patterns``. Any manifest this cannot use is a ParamError (one line, exit 2).
"""

from __future__ import annotations

import functools
import hashlib
import math
import platform
from pathlib import Path

from . import __version__
from .capacity import MAX_REPLICATIONS, check_memory
from .errors import COMMAND_LINE, ParamError, Words, counted
from .locks import put_back_to_read
from .params import GROUPS, bounds, validate
from .reading import json_or_none, parse_json, read_json
from .scenario import Scenario

TABLES = {"run": ("timeseries.csv", "summary.json", "buyers.csv"),
          "replications": ("replications.csv", "summary.json", "bands.csv")}
OTHER_KINDS = {  # kind: (what its manifest is, how it is made again)
    "sweep": ("a sweep's manifest", "a sweep is made again from its sweep file: trustsim sweep FILE"),
    "patterns": ("the pattern suite's manifest", "make it again with: trustsim patterns"),
    "compare": ("a comparison's manifest", "make it again with: trustsim compare A B"),
    "calibration": ("a calibration's manifest", "a calibration is made again from its calibration file, with the "
                                                "seed and budget the manifest records: trustsim calibrate FILE --seed "
                                                "SEED --budget N"),
    "structures": ("the structures' manifest", "make it again with: trustsim structures"),
    "regimes": ("the regime map's manifest", "make it again with: trustsim regimes")}
PYTHON_REMAKE = {  # from Python, the function that makes it again (patterns, structures and regimes are commands)
    "sweep": "a sweep is made again from its sweep file: trustsim.sweep(FILE)",
    "compare": "make it again with: trustsim.compare(A, B)",
    "calibration": "a calibration is made again from its calibration file, with the seed and budget the manifest "
                   "records: trustsim.calibrate(FILE, seed=SEED, budget=N)"}


def kind_of(info: dict):
    """A manifest's kind of result: its ``kind``, or for manifests written before it was recorded (and the state
    files of a sweep and a calibration, ``sweep.json`` and ``calibration.json``, which have none), what its fields
    say (a sweep's, a calibration's, the pattern suite's, else a run's)."""
    return info.get("kind") or ("sweep" if "sweep" in info else "calibration" if "calibrate" in info else
                                "patterns" if "seeds" in info and "root_seed" not in info else "run")


def remedy(kind: str, words: Words = COMMAND_LINE) -> str:
    """How a result of ``kind``, one of ``OTHER_KINDS``, is made again, as ``words`` names it: its command, or from
    Python its function (``PYTHON_REMAKE``; patterns, structures and regimes have their command only)."""
    command = OTHER_KINDS[kind][1]
    return command if words.options else PYTHON_REMAKE.get(kind, command)


def remake_hint(manifest: Path, given: str, words: Words = COMMAND_LINE) -> str:
    """How the result of ``manifest`` (given as ``given``: its folder or itself) is made again, for a message that
    refuses it where a scenario belongs: ``trustsim rerun`` (from Python, ``trustsim.rerun(given)``) for a run or
    replications (and where the manifest cannot be read: rerun says why), else :func:`remedy` of its kind."""
    info = json_or_none(manifest, expected="a JSON manifest")
    kind = kind_of(info) if isinstance(info, dict) else None
    if isinstance(kind, str) and kind in OTHER_KINDS:
        return remedy(kind, words)
    if not words.options:
        return f"to make that result again: trustsim.rerun({given!r})"
    return f"to make that result again: trustsim rerun {manifest}"


def read_manifest(path: str | Path, command: str = "rerun", words: Words = COMMAND_LINE) -> tuple[dict, Path]:
    """The manifest (a file, or a results folder holding ``manifest.json``) of a run or replications, and the
    folder it lies in; another kind is refused with what ``command`` (rerun or compare) can do instead, named as
    ``words`` names it (a command, or from Python a function)."""
    path = Path(path)
    if path.is_dir():
        if not (path / "manifest.json").exists() and not (path / "manifest.json").is_symlink():
            if state := next((n for n in ("sweep", "calibration") if (path / f"{n}.json").is_file()), None):
                raise ParamError(str(path), None, f"holds an unfinished {state} (no manifest.json yet); {command} "
                                                  f"takes runs and replications")
            raise ParamError(str(path), None, "not a results folder (no manifest.json)")
        path = path / "manifest.json"
    shown = str(path)
    info = read_json(path, shown, expected="a JSON manifest")
    if not isinstance(info, dict) or "trustsim" not in info:
        raise ParamError(shown, None, "is not a trustsim manifest (no \"trustsim\" version in it)")
    kind = kind_of(info)
    if not isinstance(kind, str):
        raise ParamError(shown, "kind", f"expected a kind of result such as \"run\", got {kind!r}")
    if kind in OTHER_KINDS:
        what = OTHER_KINDS[kind][0]
        instead = (remedy(kind, words) if command == "rerun" else
                   "compare takes two runs or two replications (the folders of trustsim run, with --seed or --seeds)")
        raise ParamError(shown, "kind", f"is {what}; {instead}")
    if kind not in TABLES:
        raise ParamError(shown, "kind", f"{kind!r} is not a kind of result {command} takes (run, replications)")
    info["kind"] = kind
    if not isinstance(info.get("params"), dict):
        raise ParamError(shown, "params", "missing: the manifest does not hold the resolved parameters")
    if kind == "replications":  # the ranges of run --seed and --seeds, which wrote them
        # on use: stats loads NumPy, which reading a run's manifest does not need
        from .stats import MIN_SEEDS

        for key, (lo, hi) in (("root_seed", bounds("run.seed")), ("replications", (MIN_SEEDS, MAX_REPLICATIONS))):
            value = info.get(key)
            if not isinstance(value, int) or isinstance(value, bool) or not lo <= value <= hi:
                raise ParamError(shown, key, f"expected a whole number from {lo} to {hi}, got {value!r}")
    return info, path.parent


def scenario_of(info: dict, source: str) -> Scenario:
    """The scenario a manifest records: its resolved parameters (validated again, and every one of them there),
    name and provenance."""
    params = validate(info["params"], source)
    if info.get("trustsim_code") == code_digest():  # other code may have made it before a parameter existed
        _every_parameter(info["params"], source)
    sc = info.get("scenario") if isinstance(info.get("scenario"), dict) else {}
    name = sc.get("name") if isinstance(sc.get("name"), str) and sc.get("name") else "rerun"
    chain = sc.get("extends_chain") if isinstance(sc.get("extends_chain"), list) else []
    overrides = sc.get("overrides") if isinstance(sc.get("overrides"), dict) else {}
    path = sc.get("path") if isinstance(sc.get("path"), str) else None
    return Scenario(name=name, params=params, path=path, sha256=sc.get("sha256"),
                    chain=tuple(str(p) for p in chain), overrides=overrides)


def remade_scenario(manifest: str | Path, workers: int | None = None, words: Words = COMMAND_LINE):
    """What ``trustsim rerun MANIFEST`` and ``trustsim.rerun(folder)`` make again: ``(info, folder, source,
    scenario)``, the manifest (of a run or replications), the folder it lies in, its path as messages name it and
    the scenario it records; a ParamError for a manifest it cannot use, a market this machine cannot hold, or
    ``workers`` for one run (``words`` names the option or the argument)."""
    put_back_to_read(manifest)  # a result a writer killed while replacing it left moved aside
    info, folder = read_manifest(manifest, words=words)
    source = str(Path(manifest) / "manifest.json" if Path(manifest).is_dir() else manifest)
    scenario = scenario_of(info, source)
    check_memory(scenario.params, source)  # refuse a market this machine cannot hold, before allocating
    if info["kind"] == "run" and workers is not None:  # as `run --workers` without --seeds: not ignored silently
        raise ParamError(words.name("workers"), None, "applies to replications only (one run uses one core)")
    return info, folder, source, scenario


def _every_parameter(recorded: dict, source: str) -> None:
    """Refuse a manifest's parameters that lack a group or a key, where this code made it: a manifest records
    every parameter (``results.manifest`` writes them all), so one missing was deleted, and the value the result
    was made with is not known; today's default in its place would make another result and call the original's
    differ. (Other code's manifest may predate a parameter: it takes today's default, and ``rerun`` notes the
    other code.)"""
    for group, table in GROUPS.items():
        if group not in recorded:
            raise ParamError(source, f"params.{group}", f"missing: the manifest does not hold the [{group}] "
                             "parameters the result was made with (this code's manifests record every one)")
        absent = [name for name in table.model_fields if name not in recorded[group]]
        if absent:
            raise ParamError(source, f"params.{group}.{absent[0]}",
                             "missing: the manifest does not hold the value the result was made with (this code's "
                             f"manifests record every parameter; {counted(len(absent), 'key')} of [{group}] missing)")


@functools.cache
def code_digest() -> str:
    """The first 16 hex digits of SHA-256 over the package's Python source (each file's path and bytes, in path
    order): which code made a result. The version number names a release; this tells apart any two states of the
    code, so a result made again by changed code says so, and a sweep or calibration is resumed and merged only
    by the code that started it."""
    root = Path(__file__).resolve().parent
    h = hashlib.sha256()
    for path in sorted(root.rglob("*.py")):
        h.update(path.relative_to(root).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()[:16]


def other_code(recorded) -> str | None:
    """Why a folder whose state records the code digest ``recorded`` cannot be resumed or merged by this code, or
    None (the same code, or a folder from before digests were recorded)."""
    if recorded is None or recorded == code_digest():
        return None
    return (f"was started by other trustsim code (code {str(recorded)[:16]} there, {code_digest()} here): its runs "
            f"and new ones would mix two models")


def installed_versions() -> dict[str, str]:
    """``{"trustsim", "trustsim_code", "mesa", "python", "numpy": version}`` as installed, the versions a manifest
    records (``trustsim_code``: :func:`code_digest`)."""
    # on use: mesa and numpy only to name their versions (this module loads neither)
    import mesa
    import numpy

    return {"trustsim": __version__, "trustsim_code": code_digest(), "mesa": mesa.__version__,
            "python": platform.python_version(), "numpy": numpy.__version__}


def version_differences(info: dict) -> list[str]:
    """``"numpy 1.26.4 recorded, 2.1.0 installed"`` for each version that differs from the manifest's."""
    return [f"{name} {info.get(name)} recorded, {now} installed" for name, now in installed_versions().items()
            if info.get(name) is not None and str(info.get(name)) != now]


def version_notes(info: dict) -> list[str]:
    """Each of :func:`version_differences` with what it means for the tables made again (a rerun's notes)."""
    return [f"{line}; " + ("other code than made the result: the tables may differ"
                           if line.startswith("trustsim_code ") else "the tables may differ in the last digits")
            for line in version_differences(info)]


RELATIVE_TOLERANCE = 1e-9
"""Two numbers are the same figure when they differ by at most this share of the larger (rerun, and the
tests holding fresh runs to committed records: ``tests/model/test_golden.py``,
``tests/model/test_example_result.py``)."""
ABSOLUTE_FLOOR = 1e-12
"""... or by at most this much: a figure that is 0 on one machine may be 1e-17 on another."""


def relative_gap(a, b) -> float:
    """The largest ``|a − b| / max(|a|, |b|, ABSOLUTE_FLOOR / RELATIVE_TOLERANCE)`` over two arrays of the
    same shape, so a gap ``<= RELATIVE_TOLERANCE`` means every pair is equal within the relative tolerance
    or the absolute floor; NaN opposite a number is an infinite gap, NaN opposite NaN none."""
    # on use: only this path needs numpy
    import numpy as np

    a, b = np.asarray(a, float), np.asarray(b, float)
    if a.shape != b.shape:
        return math.inf
    same = (a == b) | (np.isnan(a) & np.isnan(b))
    scale = np.maximum(np.maximum(np.abs(a), np.abs(b)), ABSOLUTE_FLOOR / RELATIVE_TOLERANCE)
    with np.errstate(invalid="ignore"):
        gap = np.where(same, 0.0, np.abs(a - b) / scale)
    return float(np.nan_to_num(gap, nan=math.inf).max(initial=0.0))  # NaN or inf opposite another value


def differences(want, got, where: str = "") -> list[str]:
    """Where two JSON-shaped records (dicts, lists, numbers, text) disagree: keys (in any order, as JSON's),
    lengths, text, whole numbers and types exactly, real numbers within ``RELATIVE_TOLERANCE``
    (``relative_gap``)."""
    if isinstance(want, dict) and isinstance(got, dict):
        if set(want) != set(got):
            return [f"{where}: keys {sorted(set(want) ^ set(got))} on one side only"]
        return [d for k in want for d in differences(want[k], got[k], f"{where}/{k}")]
    if isinstance(want, list) and isinstance(got, list):
        if len(want) != len(got):
            return [f"{where}: {len(got)} values, {len(want)} recorded"]
        return [d for i, (w, g) in enumerate(zip(want, got, strict=True)) for d in differences(w, g, f"{where}[{i}]")]
    if type(want) is float and type(got) is float:
        gap = relative_gap(want, got)
        return [f"{where}: {got!r}, {want!r} recorded (relative difference {gap:.2e})"] if gap > RELATIVE_TOLERANCE \
            else []
    return [] if type(want) is type(got) and want == got else [f"{where}: {got!r}, {want!r} recorded"]


def compare_file(new: Path, old: Path) -> tuple[str, float]:
    """("identical", 0) when the bytes agree; else ("close"/"differs", the largest relative difference of
    the real numbers, or inf when the tables' shapes, texts or whole numbers differ); ("missing", nan) without
    the old file."""
    if not old.is_file():
        return "missing", math.nan
    if new.read_bytes() == old.read_bytes():
        return "identical", 0.0
    gap = _relative_gap(new, old)
    return ("close" if gap <= RELATIVE_TOLERANCE else "differs"), gap


def _relative_gap(new: Path, old: Path) -> float:
    # on use: only this path needs pandas
    import pandas as pd

    try:
        if new.suffix == ".json":
            a, b = (pd.json_normalize(parse_json(p.read_bytes(), str(p))) for p in (new, old))
        else:
            a, b = pd.read_csv(new), pd.read_csv(old)
    except (OSError, ValueError, TypeError, NotImplementedError, ParamError):  # not a table or JSON of ours: differs
        return math.inf
    if list(a.columns) != list(b.columns) or a.shape != b.shape:
        return math.inf
    gap = 0.0
    for c in a.columns:
        x, y = a[c], b[c]
        if pd.api.types.is_integer_dtype(x) and pd.api.types.is_integer_dtype(y):
            if not x.equals(y):  # counts, steps, ids and seeds exactly: as floats, a seed's last digits vanish
                return math.inf
        elif pd.api.types.is_numeric_dtype(x) and pd.api.types.is_numeric_dtype(y):
            gap = max(gap, relative_gap(x.to_numpy(float), y.to_numpy(float)))
        elif not x.astype(str).equals(y.astype(str)):
            return math.inf
    return gap
