"""Batch experiments: designs, replications, seeds, executors, a journal to resume from, shards.

A sweep file is a scenario with a ``[sweep]`` table. Its design (full-factorial grid, Latin
hypercube, Sobol or Morris) gives design points; each point runs ``replications`` times. A run's seed
comes from the root seed and the run's identity through ``numpy.random.SeedSequence``, so results do
not depend on order, worker count or executor. Runs go to any ``concurrent.futures`` executor: a local
process pool, or a Dask cluster's executor. The parent appends each finished run to
``journal.jsonl`` at once, so a killed sweep keeps every finished run and ``--resume`` skips them;
the final tables are built from the journal alone, sorted by run id, so they are the same however
the sweep got there.
"""

from __future__ import annotations

import hashlib
import io
import itertools
import json
import math
import multiprocessing
import os
import shutil
import sys
import tempfile
import time
import traceback
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np

from .metrics import COLUMNS
from .params import (GROUPS as PARAM_GROUPS, ParamError, Params, bounds, load_scenario, resolve_key, suggest,
                     validate)

DESIGNS = ("grid", "lhs", "sobol", "morris")
SAMPLED = ("lhs", "sobol", "morris")
SEED_MODES = ("independent", "common")
SWEEP_KEYS = ("design", "replications", "samples", "seed", "seeds", "levels", "metrics", "factors")
RANGE_KEYS = ("min", "max")

POSTURES = ("partner", "aggressive", "all")
ADVANTAGES = {
    # partner buyers' mean market share minus aggressive buyers', in units of the equal share 1/n
    "advantage.market_share": "partner minus aggressive market share per buyer, in units of the equal share 1/n",
    # cumulative profit per buyer, partner minus aggressive
    "advantage.profit_cum": "partner minus aggressive cumulative profit per buyer",
    # total cost of ownership per unit, aggressive minus partner (positive: partners' components cost less)
    "advantage.tco_per_unit": "aggressive minus partner cost of ownership per unit (positive: partners pay less)",
}
METRIC_COLUMNS = tuple(f"{g}.{c}" for g in POSTURES for c in COLUMNS) + tuple(ADVANTAGES)
ID_COLUMNS = ("run_id", "point", "replicate", "seed", "status", "error")
DEFAULT_METRICS = ("advantage.market_share", "tco_per_unit")

STATE = "sweep.json"
JOURNAL = "journal.jsonl"
OUR_FILES = (STATE, JOURNAL, "runs.csv", "runs.parquet", "manifest.json", "sensitivity.csv")
OUR_DIRS = ("figures", "timeseries")
FAIL_ENV = "TRUSTSIM_FAIL_RUNS"  # test hook: comma-separated run ids that raise on purpose


# --- the sweep: validated once, before any run ----------------------------------------------------

@dataclass(frozen=True)
class Factor:
    key: str                       # "group.name"
    values: tuple | None = None    # grid
    lo: float | None = None        # sampled designs
    hi: float | None = None
    integer: bool = False


@dataclass
class Sweep:
    name: str
    source: str
    base: Params
    table: dict                    # the [sweep] table as written
    design: str
    replications: int
    samples: int | None
    seed: int
    seeds: str
    levels: int
    metrics: tuple[str, ...]
    factors: tuple[Factor, ...]
    points: list[dict]             # the design: factor values of each point, as run
    matrix: np.ndarray | None      # sampled designs: the sample as drawn, for the analysis
    scenario: Any = None

    @property
    def n_runs(self) -> int:
        return len(self.points) * self.replications

    @property
    def keys(self) -> list[str]:
        return [f.key for f in self.factors]

    def problem(self) -> dict:
        return {"num_vars": len(self.factors), "names": self.keys, "bounds": [[f.lo, f.hi] for f in self.factors]}


def _is_int(x) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


def _is_num(x) -> bool:
    return (_is_int(x) or isinstance(x, float)) and math.isfinite(x)


def _annotation(key: str):
    group, name = key.split(".")
    return PARAM_GROUPS[group].model_fields[name].annotation


def load_sweep(path: str | Path) -> Sweep:
    """Read and validate a sweep file (a scenario with a ``[sweep]`` table); ParamError on bad input."""
    scenario = load_scenario(path)
    if scenario.sweep is None:
        raise ParamError(str(path), "sweep", "no [sweep] table: a sweep file is a scenario with a [sweep] table "
                                             "(design, replications, factors)")
    return build_sweep(scenario.name, str(path), scenario.params, scenario.sweep, scenario)


def build_sweep(name: str, source: str, base: Params, table: dict, scenario: Any = None) -> Sweep:
    """Validate a ``[sweep]`` table against the schema and lay out its design."""
    def err(key, message):
        return ParamError(source, f"sweep.{key}" if key else "sweep", message)

    for key in table:
        if key not in SWEEP_KEYS:
            raise err(key, f"unknown key{suggest(key, SWEEP_KEYS)}")
    design = table.get("design", "grid")
    if design not in DESIGNS:
        raise err("design", f"{design!r} is not one of {', '.join(DESIGNS)}{suggest(str(design), DESIGNS)}")
    replications = table.get("replications", 1)
    if not _is_int(replications) or not 1 <= replications <= 1_000_000:
        raise err("replications", f"expected a whole number from 1 to 1000000, got {replications!r}")
    samples = table.get("samples")
    if design == "grid":
        if samples is not None:
            raise err("samples", "applies to the lhs, sobol and morris designs, not to a grid")
    else:
        if samples is None:
            raise err("samples", f"the {design} design needs samples (e.g. samples = 64)")
        if not _is_int(samples) or not 1 <= samples <= 10_000_000:
            raise err("samples", f"expected a whole number from 1 to 10000000, got {samples!r}")
        if design == "sobol" and samples & (samples - 1):
            raise err("samples", f"{samples} is not a power of 2, which Sobol sequences need (e.g. {1 << samples.bit_length()})")
    seed = table.get("seed", base.run.seed)
    if not _is_int(seed) or not 0 <= seed <= 2**63 - 1:
        raise err("seed", f"expected a whole number from 0 to 2⁶³−1, got {seed!r}")
    seeds = table.get("seeds", "independent")
    if seeds not in SEED_MODES:
        raise err("seeds", f"{seeds!r} is not one of {', '.join(SEED_MODES)}{suggest(str(seeds), SEED_MODES)}")
    levels = table.get("levels", 4)
    if "levels" in table and design != "morris":
        raise err("levels", "applies to the morris design only")
    if not _is_int(levels) or levels < 2 or levels % 2:
        raise err("levels", f"expected an even whole number of at least 2, got {levels!r}")

    metrics = table.get("metrics", list(DEFAULT_METRICS))
    if not isinstance(metrics, list) or not metrics or not all(isinstance(m, str) for m in metrics):
        raise err("metrics", "expected a non-empty list of metric names, e.g. [\"advantage.market_share\", \"tco_per_unit\"]")
    for m in metrics:
        if m not in METRIC_COLUMNS and m not in COLUMNS:
            raise err("metrics", f'unknown metric "{m}"{suggest(m, METRIC_COLUMNS + COLUMNS)}')

    raw = table.get("factors")
    if not isinstance(raw, dict) or not raw:
        raise err("factors", "expected a table [sweep.factors] with at least one parameter")
    factors: list[Factor] = []
    seen: dict[str, str] = {}
    for given, spec in raw.items():
        where = f"factors.{given}"
        try:
            group, pname = resolve_key(given)
        except ParamError as exc:
            raise err(where, exc.message) from None
        key = f"{group}.{pname}"
        if key == "run.seed":
            raise err(where, "seeds come from the root seed (sweep.seed) and each run's identity; it cannot be a factor")
        if key in seen:
            raise err(where, f'names the same parameter as "{seen[key]}"')
        seen[key] = given
        ann = _annotation(key)
        if design == "grid":
            if not isinstance(spec, list) or not spec:
                raise err(where, "expected a list of values for a grid, e.g. [0.0, 0.3, 0.6]")
            values = tuple(float(v) if ann is float and _is_int(v) else v for v in spec)
            for v in values:
                if ann in (int, float) and _is_num(v):
                    lo, hi = bounds(key)
                    if (lo is not None and v < lo) or (hi is not None and v > hi):
                        raise err(where, f"{v!r} is out of range (allowed {lo} to {hi})")
            if len(set(map(repr, values))) < len(values):
                raise err(where, "repeats a value")
            factors.append(Factor(key, values=values))
        else:
            if not isinstance(spec, dict):
                raise err(where, f"expected a range {{ min = …, max = … }} for the {design} design")
            for k in spec:
                if k not in RANGE_KEYS:
                    raise err(f"{where}.{k}", f"unknown key{suggest(k, RANGE_KEYS)}")
            if ann not in (int, float):
                raise err(where, f"{key} is not numeric; sampled designs need numeric factors (use a grid)")
            lo_, hi_ = spec.get("min"), spec.get("max")
            if not _is_num(lo_) or not _is_num(hi_):
                raise err(where, "expected numbers min and max")
            if not lo_ < hi_:
                raise err(where, f"min ({lo_}) must be below max ({hi_})")
            lo, hi = bounds(key)
            if (lo is not None and lo_ < lo) or (hi is not None and hi_ > hi):
                raise err(where, f"range {lo_} … {hi_} leaves the allowed range {lo} to {hi}")
            factors.append(Factor(key, lo=float(lo_), hi=float(hi_), integer=ann is int))

    sweep = Sweep(name=name, source=source, base=base, table=table, design=design, replications=replications,
                  samples=samples, seed=seed, seeds=seeds, levels=levels, metrics=tuple(metrics),
                  factors=tuple(factors), points=[], matrix=None, scenario=scenario)
    sweep.points, sweep.matrix = layout(sweep)
    for i, point in enumerate(sweep.points):  # every design point must make valid parameters
        try:
            base.replace(**point)
        except ParamError as exc:
            shown = ", ".join(f"{k}={v!r}" for k, v in point.items())
            key = f"factors.{exc.key}" if exc.key in point else "factors"
            message = exc.message.removeprefix("value error, ")
            raise err(key, f"design point {i} ({shown}): {message}") from None
    return sweep


def _salib(design: str, source: str):
    try:
        import SALib  # noqa: F401
    except ImportError:
        raise ParamError(source, "sweep.design", f'the {design} design needs SALib: pip install "trustsim[salib]"') from None


def layout(sweep: Sweep) -> tuple[list[dict], np.ndarray | None]:
    """The design points (factor values as run) and, for sampled designs, the sample matrix.

    Grid: the full product, first factor slowest. Sampled designs draw from SALib with the root seed;
    integer parameters are rounded for the run, the analysis uses the sample as drawn.
    """
    if sweep.design == "grid":
        keys = sweep.keys
        return [dict(zip(keys, combo)) for combo in itertools.product(*(f.values for f in sweep.factors))], None
    _salib(sweep.design, sweep.source)
    problem, n, seed = sweep.problem(), sweep.samples, sweep.seed % 2**32
    if sweep.design == "lhs":
        from SALib.sample import latin
        X = latin.sample(problem, n, seed=seed)
    elif sweep.design == "sobol":
        from SALib.sample import sobol
        X = sobol.sample(problem, n, calc_second_order=False, scramble=True, seed=seed)
    else:
        from SALib.sample import morris
        X = morris.sample(problem, n, num_levels=sweep.levels, seed=seed)
    points = [{f.key: (int(round(x)) if f.integer else float(x)) for f, x in zip(sweep.factors, row)} for row in X]
    return points, X


def run_seed(root: int, point: int, replicate: int, mode: str = "independent") -> int:
    """A run's seed from the root seed and its identity: ``SeedSequence(root, spawn_key=…)``, 63 bits.

    ``independent``: the key is (point, replicate), every run has its own stream. ``common``: the key is
    (replicate,), so replicate r meets the same random numbers at every design point (common random
    numbers: differences between points are the factors' doing, not the seeds').
    """
    key = (point, replicate) if mode == "independent" else (replicate,)
    state = np.random.SeedSequence(root, spawn_key=key).generate_state(1, dtype=np.uint64)[0]
    return int(state) & (2**63 - 1)


def tasks(sweep: Sweep, run_ids, timeseries: bool = False, fail: frozenset = frozenset()):
    """One task per run id: everything a worker needs, nothing it must look up."""
    for run_id in run_ids:
        point, rep = divmod(run_id, sweep.replications)
        yield {"run_id": run_id, "point": point, "replicate": rep,
               "seed": run_seed(sweep.seed, point, rep, sweep.seeds), "factors": sweep.points[point],
               "base": sweep.base, "timeseries": timeseries, "fail": run_id in fail}


# --- one run, in a worker --------------------------------------------------------------------------

def metric_row(long_run: dict) -> dict[str, float | None]:
    """Long-run figures by posture as ``posture.column``, plus the partner advantages.

    A posture with no buyers reports nothing (None) but its size.
    """
    row: dict[str, float | None] = {}
    for g in POSTURES:
        empty = long_run[g]["buyers"] == 0
        for c in COLUMNS:
            row[f"{g}.{c}"] = None if empty and c != "buyers" else long_run[g][c]
    p, a = long_run["partner"], long_run["aggressive"]
    both = p["buyers"] > 0 and a["buyers"] > 0
    n = p["buyers"] + a["buyers"]
    row["advantage.market_share"] = (p["market_share"] / p["buyers"] - a["market_share"] / a["buyers"]) * n if both else None
    row["advantage.profit_cum"] = p["profit_cum"] - a["profit_cum"] if both else None
    row["advantage.tco_per_unit"] = a["tco_per_unit"] - p["tco_per_unit"] if both else None
    return {k: (None if v is None or not math.isfinite(v) else float(v)) for k, v in row.items()}


def run_one(task: dict) -> dict:
    """Run one design point with one seed; never raises: a failure becomes a row with status "error"."""
    from .model import TrustMarket

    t0 = time.perf_counter()
    row = {"run_id": task["run_id"], "point": task["point"], "replicate": task["replicate"], "seed": task["seed"],
           "status": "ok", "error": "", **task["factors"]}
    ts = None
    try:
        if task["fail"]:
            raise RuntimeError(f"deliberate failure of run {task['run_id']} ({FAIL_ENV} test hook)")
        params = task["base"].replace(**task["factors"])
        model = TrustMarket(params, rng=task["seed"]).run()
        row.update(metric_row(model.recorder.summary()["long_run"]))
        if task["timeseries"]:
            frame = model.recorder.frame()
            frame.insert(0, "run_id", task["run_id"])
            buf = io.BytesIO()
            frame.to_parquet(buf, index=False)
            ts = buf.getvalue()
    except Exception as exc:  # noqa: BLE001 — recorded, the sweep goes on
        row["status"] = "error"
        where = traceback.extract_tb(exc.__traceback__)[-1] if exc.__traceback__ else None
        at = f" (at {Path(where.filename).name}:{where.lineno})" if where else ""
        row["error"] = " ".join(f"{type(exc).__name__}: {exc}{at}".split())
    return {"row": row, "wall": round(time.perf_counter() - t0, 4), "timeseries": ts}


# --- the folder: state, journal, final tables -----------------------------------------------------

def fingerprint(base: Params, table: dict, timeseries: bool) -> str:
    blob = json.dumps({"base": base.nested(), "sweep": table, "timeseries": timeseries}, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()


def _replace_text(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.write_text(text)
    os.replace(tmp, path)


def read_journal(path: Path, repair: bool = False) -> dict[int, dict]:
    """Finished runs by id. A last line cut short by a kill is dropped (and cut off if ``repair``)."""
    runs: dict[int, dict] = {}
    if not path.exists():
        return runs
    good = 0
    with open(path, "rb") as fh:
        for line in fh:
            if not line.endswith(b"\n"):
                break
            try:
                entry = json.loads(line)
                runs.setdefault(int(entry["row"]["run_id"]), entry)
            except (ValueError, KeyError, TypeError):
                break
            good += len(line)
    if repair and good != path.stat().st_size:
        with open(path, "r+b") as fh:
            fh.truncate(good)
    return runs


class Journal:
    """Appends one line per finished run: flushed at once (a killed process loses nothing), fsynced each second."""

    def __init__(self, path: Path):
        self.fh = open(path, "a", encoding="utf-8")
        self.synced = time.monotonic()

    def write(self, entry: dict) -> None:
        self.fh.write(json.dumps(entry, allow_nan=False) + "\n")
        self.fh.flush()
        if time.monotonic() - self.synced > 1.0:
            os.fsync(self.fh.fileno())
            self.synced = time.monotonic()

    def close(self) -> None:
        self.fh.flush()
        os.fsync(self.fh.fileno())
        self.fh.close()


def _clear(out: Path) -> None:
    for name in OUR_FILES:
        (out / name).unlink(missing_ok=True)
    for name in OUR_DIRS:
        shutil.rmtree(out / name, ignore_errors=True)


def prepare_folder(out: Path, state: dict, resume: bool, force: bool, check_only: bool = False) -> dict[int, dict]:
    """Make the folder ready and return the runs already done (``--resume``); refuse a folder of other things.
    ``check_only``: raise what would be refused, change nothing."""
    if out.exists() and not out.is_dir():
        raise ParamError(str(out), None, "exists and is not a folder")
    if out.is_dir() and any(out.iterdir()):
        old = None
        try:
            old = json.loads((out / STATE).read_text())
        except FileNotFoundError:
            pass
        except (OSError, ValueError):
            old = {}
        if old is None and not force:
            raise ParamError(str(out), None, "holds files that are not a trustsim sweep; choose another --out or pass --force")
        if old is not None:
            same = old.get("fingerprint") == state["fingerprint"] and old.get("shard") == state["shard"]
            if resume:
                if not same:
                    raise ParamError(str(out), None, "holds a different sweep (the sweep file, its scenario, --shard or "
                                                     "--timeseries changed); drop --resume to start afresh, or choose another --out")
                done = read_journal(out / JOURNAL, repair=not check_only)
                if done and not (out / "timeseries").exists() and state["timeseries"]:
                    raise ParamError(str(out), None, "the time series of earlier runs are missing")
                return done
            finished = (out / "manifest.json").exists()
            if not finished and not force:
                n = len(read_journal(out / JOURNAL))
                raise ParamError(str(out), None, f"holds an unfinished sweep ({n} runs done); pass --resume to finish it, "
                                                 f"or --force to start afresh")
            if check_only:
                return {}
            _clear(out)
    if check_only:
        return {}
    try:
        out.mkdir(parents=True, exist_ok=True)
        _replace_text(out / STATE, json.dumps(state, indent=2, default=str) + "\n")
    except OSError as exc:
        raise ParamError(str(out), None, f"cannot write the results folder ({exc.strerror})") from None
    return {}


def runs_frame(sweep: Sweep, entries):
    """The runs table, one row per run sorted by run id, with a fixed column order and types."""
    import pandas as pd

    rows = [e["row"] for e in sorted(entries, key=lambda e: e["row"]["run_id"])]
    columns = [*ID_COLUMNS, *sweep.keys, *METRIC_COLUMNS]
    df = pd.DataFrame.from_records(rows, columns=columns)
    for c in ("run_id", "point", "replicate", "seed"):
        df[c] = df[c].astype("int64")
    for c in ("status", "error"):
        df[c] = df[c].astype(str)
    for f in sweep.factors:
        ann = _annotation(f.key)
        kind = {int: "int64", float: "float64", bool: "bool"}.get(ann, str)
        df[f.key] = df[f.key].astype(kind)
    df[list(METRIC_COLUMNS)] = df[list(METRIC_COLUMNS)].astype("float64")
    return df


def write_tables(out: Path, df) -> None:
    """runs.csv and runs.parquet, each written under a temporary name and renamed."""
    tmp = out / f".runs.csv.tmp-{os.getpid()}"
    df.to_csv(tmp, index=False)
    os.replace(tmp, out / "runs.csv")
    tmp = out / f".runs.parquet.tmp-{os.getpid()}"
    df.to_parquet(tmp, index=False)
    os.replace(tmp, out / "runs.parquet")


def finish(out: Path, sweep: Sweep, state: dict, *, started: str, wall: float, figures: bool = True,
           extra: dict | None = None):
    """Final tables, sensitivity, figures and manifest from the journal (the manifest last: it marks the end)."""
    from . import __version__
    from .results import manifest

    entries = read_journal(out / JOURNAL).values()
    df = runs_frame(sweep, entries)
    write_tables(out, df)
    sens = None
    complete = state["shard"] is None
    if complete and sweep.design in ("sobol", "morris"):
        sens = sensitivity(sweep, df)
        tmp = out / f".sensitivity.csv.tmp-{os.getpid()}"
        sens.to_csv(tmp, index=False)
        os.replace(tmp, out / "sensitivity.csv")
    if complete and figures:
        write_figures(out, sweep, df, sens)
    scenario = sweep.scenario or SimpleNamespace(**state["scenario"])
    failed = df.loc[df["status"] != "ok", "run_id"].tolist()
    info = manifest(scenario, sweep.base, started, wall, kind="sweep", version=__version__,
                    sweep=sweep.table, design=sweep.design, root_seed=sweep.seed, seeds=sweep.seeds,
                    replications=sweep.replications, factors=sweep.keys,
                    points=sweep.points, runs=len(df), failed=len(failed), failed_run_ids=failed[:1000],
                    shard=state["shard"], columns={"ids": list(ID_COLUMNS), "factors": sweep.keys,
                                                   "metrics": list(METRIC_COLUMNS), "advantages": ADVANTAGES},
                    **(extra or {}))
    _replace_text(out / "manifest.json", json.dumps(info, indent=2, ensure_ascii=False, default=str) + "\n")
    return df


# --- analysis and figures -------------------------------------------------------------------------

def metric_columns(metric: str) -> list[str]:
    """A bare contract column means its partner and aggressive columns; a full name means itself."""
    return [metric] if metric in METRIC_COLUMNS else [f"partner.{metric}", f"aggressive.{metric}"]


def point_means(sweep: Sweep, df, column: str) -> np.ndarray:
    """Mean of a metric over the replications of each design point (NaN where no run of a point succeeded)."""
    ok = df[df["status"] == "ok"]
    means = ok.groupby("point")[column].mean()
    return means.reindex(range(len(sweep.points))).to_numpy(dtype=float)


def sensitivity(sweep: Sweep, df):
    """Sobol first-order and total indices (95% intervals), or Morris μ*, μ and σ, per metric and factor."""
    import warnings

    import pandas as pd

    _salib(sweep.design, sweep.source)
    problem = sweep.problem()
    records = []
    for metric in sweep.metrics:
        for column in metric_columns(metric):
            Y = point_means(sweep, df, column)
            usable = np.isfinite(Y).all() and np.nanstd(Y) > 0
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                if sweep.design == "sobol":
                    from SALib.analyze import sobol
                    res = sobol.analyze(problem, Y, calc_second_order=False, conf_level=0.95,
                                        seed=sweep.seed % 2**32) if usable else None
                    for i, key in enumerate(sweep.keys):
                        get = (lambda k: float(res[k][i])) if res else (lambda k: math.nan)
                        records.append({"metric": column, "factor": key, "S1": get("S1"), "S1_conf": get("S1_conf"),
                                        "ST": get("ST"), "ST_conf": get("ST_conf")})
                else:
                    from SALib.analyze import morris
                    res = morris.analyze(problem, sweep.matrix, Y, conf_level=0.95, num_levels=sweep.levels,
                                         seed=sweep.seed % 2**32) if usable else None
                    for i, key in enumerate(sweep.keys):
                        get = (lambda k: float(res[k][i])) if res else (lambda k: math.nan)
                        records.append({"metric": column, "factor": key, "mu_star": get("mu_star"),
                                        "mu_star_conf": get("mu_star_conf"), "mu": get("mu"), "sigma": get("sigma")})
    return pd.DataFrame.from_records(records)


def _t95(n: int) -> float:
    if n < 2:
        return math.nan
    try:
        from scipy import stats
        return float(stats.t.ppf(0.975, n - 1))
    except ImportError:
        return 1.96


def _ci(values) -> tuple[float, float]:
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    if not len(v):
        return math.nan, math.nan
    half = _t95(len(v)) * v.std(ddof=1) / math.sqrt(len(v)) if len(v) > 1 else 0.0
    return float(v.mean()), float(half)


def _slug(text: str) -> str:
    return text.replace(".", "-")


def write_figures(out: Path, sweep: Sweep, df, sens=None) -> list[Path]:
    """Each metric against each factor (means with 95% intervals over replications); a heat map for
    two-factor grids; the sensitivity indices. Written to a temporary folder, then renamed to figures/."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    tmp = Path(tempfile.mkdtemp(prefix=".figures.tmp-", dir=out))
    ok = df[df["status"] == "ok"]
    paths = []

    def save(fig, name):
        fig.tight_layout()
        fig.savefig(tmp / name, dpi=110)
        plt.close(fig)
        paths.append(out / "figures" / name)

    for metric in sweep.metrics:
        cols = metric_columns(metric)
        for f in sweep.factors:
            others = [g for g in sweep.factors if g.key != f.key]
            fig, axes = plt.subplots(1, len(cols), figsize=(5.2 * len(cols), 3.8), squeeze=False)
            for ax, col in zip(axes[0], cols):
                if sweep.design == "grid":
                    split = others[0] if len(others) == 1 and len(others[0].values) <= 8 else None
                    levels = split.values if split else [None]
                    cmap = plt.get_cmap("viridis")
                    for i, level in enumerate(levels):
                        sub = ok if split is None else ok[ok[split.key] == level]
                        xs = list(f.values)
                        stats_ = [_ci(sub.loc[sub[f.key] == x, col]) for x in xs]
                        colour = cmap(0.85 * i / max(len(levels) - 1, 1)) if split else "tab:blue"
                        label = f"{split.key} = {level}" if split else None
                        numeric = all(_is_num(x) for x in xs)
                        xpos = xs if numeric else list(range(len(xs)))
                        ax.errorbar(xpos, [m for m, _ in stats_], yerr=[h for _, h in stats_], marker="o",
                                    capsize=3, color=colour, label=label, lw=1.4)
                        if not numeric or len(xs) <= 12:
                            ax.set_xticks(xpos, [str(x) for x in xs])
                    if split:
                        ax.legend(fontsize=7, frameon=False)
                else:
                    ax.scatter(ok[f.key], ok[col], s=6, alpha=0.25, color="0.4", label="runs")
                    edges = np.unique(np.quantile(ok[f.key], np.linspace(0, 1, 9))) if len(ok) else []
                    if len(edges) > 2:
                        bins = np.clip(np.searchsorted(edges, ok[f.key], side="right") - 1, 0, len(edges) - 2)
                        centres, stats_ = [], []
                        for b in range(len(edges) - 1):
                            centres.append((edges[b] + edges[b + 1]) / 2)
                            stats_.append(_ci(ok.loc[bins == b, col]))
                        ax.errorbar(centres, [m for m, _ in stats_], yerr=[h for _, h in stats_], marker="o",
                                    capsize=3, color="tab:blue", lw=1.6, label="binned mean, 95% interval")
                        ax.legend(fontsize=7, frameon=False)
                if col.startswith("advantage."):
                    ax.axhline(0, color="0.6", lw=0.8, ls=":")
                ax.set_xlabel(f.key)
                ax.set_ylabel(col)
            fig.suptitle(f"{metric} against {f.key}\n(long-run means, 95% intervals over replications)", fontsize=9)
            save(fig, f"{_slug(metric)}__{_slug(f.key)}.png")

    if sweep.design == "grid" and len(sweep.factors) == 2:
        fy, fx = sweep.factors
        for metric in sweep.metrics:
            cols = metric_columns(metric)
            fig, axes = plt.subplots(1, len(cols), figsize=(5.4 * len(cols), 4.2), squeeze=False)
            for ax, col in zip(axes[0], cols):
                grid = np.full((len(fy.values), len(fx.values)), np.nan)
                for i, vy in enumerate(fy.values):
                    for j, vx in enumerate(fx.values):
                        grid[i, j] = _ci(ok.loc[(ok[fy.key] == vy) & (ok[fx.key] == vx), col])[0]
                im = ax.imshow(grid, origin="lower", aspect="auto", cmap="viridis")
                ax.set_xticks(range(len(fx.values)), [str(v) for v in fx.values])
                ax.set_yticks(range(len(fy.values)), [str(v) for v in fy.values])
                ax.set_xlabel(fx.key)
                ax.set_ylabel(fy.key)
                ax.set_title(col, fontsize=9)
                finite = grid[np.isfinite(grid)]
                mid = (finite.min() + finite.max()) / 2 if len(finite) else 0
                for i in range(grid.shape[0]):
                    for j in range(grid.shape[1]):
                        if np.isfinite(grid[i, j]):
                            ax.text(j, i, f"{grid[i, j]:.3g}", ha="center", va="center", fontsize=8,
                                    color="white" if grid[i, j] < mid else "black")
                fig.colorbar(im, ax=ax, shrink=0.85)
            fig.suptitle(f"{metric}: mean over {sweep.replications} replications", fontsize=10)
            save(fig, f"heatmap__{_slug(metric)}.png")

    if sens is not None and len(sens):
        metrics = list(dict.fromkeys(sens["metric"]))
        fig, axes = plt.subplots(len(metrics), 1, figsize=(7, 2.2 + 0.35 * len(sweep.factors) * len(metrics)),
                                 squeeze=False)
        for ax, m in zip(axes[:, 0], metrics):
            s = sens[sens["metric"] == m]
            y = np.arange(len(s))
            if sweep.design == "sobol":
                ax.barh(y - 0.2, s["S1"], 0.4, xerr=s["S1_conf"], label="first order S1", color="tab:blue", capsize=2)
                ax.barh(y + 0.2, s["ST"], 0.4, xerr=s["ST_conf"], label="total ST", color="tab:orange", capsize=2)
                ax.set_xlabel("Sobol index (95% interval)")
            else:
                ax.barh(y - 0.2, s["mu_star"], 0.4, xerr=s["mu_star_conf"], label="μ*", color="tab:blue", capsize=2)
                ax.barh(y + 0.2, s["sigma"], 0.4, label="σ", color="tab:orange")
                ax.set_xlabel("Morris elementary effects")
            ax.set_yticks(y, s["factor"])
            ax.invert_yaxis()
            ax.set_title(m, fontsize=9)
            ax.legend(fontsize=7, frameon=False)
        save(fig, "sensitivity.png")

    final = out / "figures"
    if final.exists():
        old = out / f".figures.old-{os.getpid()}"
        os.rename(final, old)
        os.rename(tmp, final)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.rename(tmp, final)
    return paths


# --- executors and progress -----------------------------------------------------------------------

class InProcess:
    """One worker: runs in this process, one at a time, in the same futures interface."""

    def submit(self, fn, *args):
        from concurrent.futures import Future

        fut = Future()
        fut.set_result(fn(*args))
        return fut

    def shutdown(self, wait=True, cancel_futures=False):
        pass


def local_executor(workers: int | None):
    workers = workers or os.cpu_count() or 1
    if workers == 1:
        return InProcess(), 1
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=_context())
    pool.submit(os.getpid).result()  # start the workers now, before a progress bar starts its thread
    return pool, workers


def _context():
    """fork, which starts workers in milliseconds with trustsim already imported, where it is safe (Linux, a
    single-threaded parent); otherwise a fork server that imports trustsim once."""
    try:
        single = len(os.listdir("/proc/self/task")) == 1
    except OSError:
        single = False
    if sys.platform == "linux" and single:
        return multiprocessing.get_context("fork")
    if "forkserver" in multiprocessing.get_all_start_methods():
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload(["trustsim.experiments", "trustsim.model"])
        return ctx
    return None


def dask_executor(address: str, workers: int | None):
    """A concurrent.futures executor on a Dask cluster (``tcp://host:port``) or a local one (``local``)."""
    try:
        import logging

        from distributed import Client, LocalCluster
    except ImportError:
        raise ParamError("--dask", None, 'needs Dask distributed: pip install "trustsim[dask]"') from None
    try:
        if address == "local":
            cluster = LocalCluster(n_workers=workers or os.cpu_count() or 1, threads_per_worker=1, processes=True,
                                   host="127.0.0.1", dashboard_address=None, silence_logs=logging.ERROR)
            client = Client(cluster)
        else:
            cluster = None
            client = Client(address, timeout="15s")
    except (OSError, TimeoutError, ValueError) as exc:
        raise ParamError("--dask", address, f"cannot reach the scheduler ({exc})") from None
    slots = sum(w.get("nthreads", 1) for w in client.scheduler_info().get("workers", {}).values()) or 1

    def close():
        client.close()
        if cluster is not None:
            cluster.close()

    return client.get_executor(pure=False), slots, close


class Progress:
    """A tqdm bar (runs done, failures, time left) on a terminal; plain lines every 10% or 30 s otherwise."""

    def __init__(self, name: str, total: int, done: int, failed: int, quiet: bool):
        self.name, self.total, self.done, self.failed, self.quiet = name, total, done, failed, quiet
        self.start, self.start_done, self.last = time.monotonic(), done, time.monotonic()
        self.bar = None
        if not quiet and sys.stderr.isatty():
            from tqdm import tqdm

            self.bar = tqdm(total=total, initial=done, desc=name, unit="run", file=sys.stderr, dynamic_ncols=True)
            self.bar.set_postfix(failed=failed)
        self.next_pct = (done * 10 // max(total, 1) + 1) * 10

    def update(self, ok: bool) -> None:
        self.done += 1
        self.failed += not ok
        if self.bar is not None:
            self.bar.update(1)
            if not ok:
                self.bar.set_postfix(failed=self.failed)
            return
        if self.quiet:
            return
        now = time.monotonic()
        pct = self.done * 100 // max(self.total, 1)
        if (pct >= self.next_pct and now - self.last >= 5) or now - self.last >= 30 or self.done == self.total:
            self.next_pct = (pct // 10 + 1) * 10
            self.last = now
            rate = (self.done - self.start_done) / max(now - self.start, 1e-9)
            left = (self.total - self.done) / rate if rate > 0 else math.nan
            print(f"{self.name}: {self.done}/{self.total} runs, {self.failed} failed, {now - self.start:.0f} s, "
                  f"about {left:.0f} s left", file=sys.stderr, flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


# --- the sweep ------------------------------------------------------------------------------------

def parse_shard(text: str | None) -> tuple[int, int] | None:
    """``"2/4"`` → (2, 4): runs with ``run_id % 4 == 1``."""
    if text is None:
        return None
    k, slash, n = str(text).partition("/")
    try:
        k, n = int(k), int(n)
    except ValueError:
        k = n = 0
    if not slash or not 1 <= k <= n:
        raise ParamError("--shard", str(text), "expected K/N with 1 ≤ K ≤ N, e.g. 2/4")
    return k, n


def shard_ids(total: int, shard: tuple[int, int] | None) -> range:
    return range(total) if shard is None else range(shard[0] - 1, total, shard[1])


def fail_hook() -> frozenset:
    text = os.environ.get(FAIL_ENV, "").strip()
    if not text:
        return frozenset()
    try:
        return frozenset(int(x) for x in text.split(",") if x.strip())
    except ValueError:
        raise ParamError(FAIL_ENV, None, f"expected comma-separated run ids, got {text!r}") from None


def state_of(sweep: Sweep, shard, timeseries: bool) -> dict:
    sc = sweep.scenario
    return {"trustsim": "sweep state", "name": sweep.name, "source": sweep.source,
            "fingerprint": fingerprint(sweep.base, sweep.table, timeseries),
            "shard": list(shard) if shard else None, "timeseries": timeseries, "runs": len(shard_ids(sweep.n_runs, shard)),
            "base": sweep.base.nested(), "sweep": sweep.table,
            "scenario": {"name": sweep.name, "path": str(Path(sc.path).resolve()) if getattr(sc, "path", None) else None, "sha256": getattr(sc, "sha256", None),
                         "chain": list(getattr(sc, "chain", ())), "overrides": dict(getattr(sc, "overrides", {}))}}


def run_sweep(sweep: Sweep, out: str | Path, *, workers: int | None = None, dask: str | None = None,
              resume: bool = False, shard: tuple[int, int] | None = None, force: bool = False, quiet: bool = False,
              timeseries: bool = False, figures: bool = True) -> dict:
    """Run (the rest of) a sweep into ``out``; returns counts. The journal keeps every finished run."""
    out = Path(out)
    fail = fail_hook()
    state = state_of(sweep, shard, timeseries)
    prepare_folder(out, state, resume, force, check_only=True)   # refuse before starting any worker
    close = None
    if dask:
        executor, slots, close = dask_executor(dask, workers)
    else:
        executor, slots = local_executor(workers)
    try:
        done = prepare_folder(out, state, resume, force)
    except BaseException:
        executor.shutdown(wait=False)
        if close:
            close()
        raise
    started = datetime.now(timezone.utc).isoformat(timespec="seconds")
    t0 = time.perf_counter()
    ids = shard_ids(sweep.n_runs, shard)
    todo = (i for i in ids if i not in done)
    n_todo = sum(1 for i in ids if i not in done) if done else len(ids)
    if timeseries:
        (out / "timeseries").mkdir(exist_ok=True)
    failed_before = sum(1 for e in done.values() if e["row"]["status"] != "ok")
    progress = Progress(sweep.name if shard is None else f"{sweep.name} {shard[0]}/{shard[1]}", len(ids),
                        len(ids) - n_todo, failed_before, quiet)
    journal = Journal(out / JOURNAL)
    computed = 0
    pending: set = set()
    try:
        stream = tasks(sweep, todo, timeseries, fail)
        window = 4 * slots
        exhausted = False
        while True:
            while not exhausted and len(pending) < window:
                task = next(stream, None)
                if task is None:
                    exhausted = True
                    break
                pending.add(executor.submit(run_one, task))
            if not pending:
                break
            finished, pending = wait(pending, return_when=FIRST_COMPLETED)
            for fut in finished:
                result = fut.result()  # run_one never raises; a dead worker process does
                row = result["row"]
                if result["timeseries"] is not None:
                    path = out / "timeseries" / f"run-{row['run_id']:07d}.parquet"
                    tmp = path.with_name(f".{path.name}.tmp")
                    tmp.write_bytes(result["timeseries"])
                    os.replace(tmp, path)
                journal.write({"row": row, "wall": result["wall"]})
                computed += 1
                progress.update(row["status"] == "ok")
    except BaseException:
        for fut in pending:
            fut.cancel()
        executor.shutdown(wait=False, cancel_futures=True)
        journal.close()
        progress.close()
        if close:
            close()
        raise
    executor.shutdown()
    journal.close()
    progress.close()
    if close:
        close()
    wall = time.perf_counter() - t0
    df = finish(out, sweep, state, started=started, wall=wall, figures=figures,
                extra={"computed_this_time": computed, "resumed_from": len(ids) - n_todo})
    failed = df.loc[df["status"] != "ok", "run_id"].tolist()
    return {"runs": len(df), "computed": computed, "failed": failed, "wall": wall}


def sweep_command(args) -> int:
    """``trustsim sweep FILE``: exit 0 when every run succeeded, 1 when some failed (all results kept),
    2 on bad input (nothing written), 130 when interrupted (finished runs kept; finish with --resume)."""
    sweep = load_sweep(args.file)
    shard = parse_shard(getattr(args, "shard", None))
    if getattr(args, "dask", None) == "":
        raise ParamError("--dask", None, "expected tcp://host:port or local")
    out = Path(args.out or os.path.join("results", sweep.name if shard is None else f"{sweep.name}-shard-{shard[0]}-of-{shard[1]}"))
    try:
        res = run_sweep(sweep, out, workers=args.workers, dask=args.dask, resume=args.resume, shard=shard,
                        force=args.force, quiet=args.quiet, timeseries=getattr(args, "timeseries", False))
    except KeyboardInterrupt:
        n = len(read_journal(out / JOURNAL))
        print(f"trustsim: interrupted; {n} finished runs are kept in {out / JOURNAL}; "
              f"finish with: trustsim sweep {args.file} --resume" + (f" --out {args.out}" if args.out else ""),
              file=sys.stderr)
        return 130
    except BrokenProcessPool:
        n = len(read_journal(out / JOURNAL))
        print(f"trustsim: a worker process died (out of memory?); {n} finished runs are kept; "
              f"finish with --resume", file=sys.stderr)
        return 1
    nf = len(res["failed"])
    where = f"{out}/"
    print(f"{sweep.name}: {res['runs']} runs ({res['computed']} computed now) in {res['wall']:.1f} s → {where}")
    if nf:
        shown = ", ".join(map(str, res["failed"][:10])) + (" …" if nf > 10 else "")
        print(f"{nf} of {res['runs']} runs failed (run ids {shown}); see the error column of {where}runs.csv")
        return 1
    print(f"0 of {res['runs']} runs failed")
    return 0


# --- merging shards -------------------------------------------------------------------------------

def merge(dirs: list[str | Path], out: str | Path, force: bool = False, figures: bool = True) -> Path:
    """Combine the folders of ``--shard K/N`` runs into the folder the whole sweep would have written."""
    from .results import write_atomically

    states = []
    for d in map(Path, dirs):
        try:
            st = json.loads((d / STATE).read_text())
        except (OSError, ValueError):
            raise ParamError(str(d), None, "not a sweep folder (no sweep.json)") from None
        if not (d / "manifest.json").exists():
            n = len(read_journal(d / JOURNAL))
            raise ParamError(str(d), None, f"is not finished ({n} of {st.get('runs')} runs); finish it with "
                                           f"'trustsim sweep FILE --shard … --resume'")
        states.append((d, st))
    first = states[0][1]
    for d, st in states[1:]:
        if st["fingerprint"] != first["fingerprint"]:
            raise ParamError(str(d), None, f"is a different sweep from {states[0][0]} (sweep file or scenario differ)")
    shards = [tuple(st["shard"]) if st["shard"] else None for _, st in states]
    if None in shards:
        raise ParamError(str(states[shards.index(None)][0]), None, "is a whole sweep, not a shard; nothing to merge")
    ns = {n for _, n in shards}
    if len(ns) > 1:
        raise ParamError(str(states[0][0]), None, f"shards of different splits ({', '.join(f'{k}/{n}' for k, n in shards)})")
    n = ns.pop()
    ks = [k for k, _ in shards]
    dup = sorted({k for k in ks if ks.count(k) > 1})
    if dup:
        raise ParamError(str(out), None, f"shard {dup[0]}/{n} given twice")
    missing = sorted(set(range(1, n + 1)) - set(ks))
    if missing:
        raise ParamError(str(out), None, f"shard{'s' if len(missing) > 1 else ''} {', '.join(f'{k}/{n}' for k in missing)} missing")
    scenario = SimpleNamespace(**first["scenario"])
    base = validate(first["base"], first["source"])
    sweep = build_sweep(first["name"], first["source"], base, first["sweep"], scenario)
    entries: dict[int, dict] = {}
    for d, _ in states:
        entries.update(read_journal(d / JOURNAL))
    absent = [i for i in range(sweep.n_runs) if i not in entries]
    if absent:
        raise ParamError(str(out), None, f"{len(absent)} runs are missing from the shards (first: run {absent[0]})")
    state = {**first, "shard": None, "runs": sweep.n_runs, "merged_from": [str(d) for d, _ in states]}
    started = datetime.now(timezone.utc).isoformat(timespec="seconds")
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

    return write_atomically(out, write, force)


def merge_command(args) -> int:
    out = merge(args.dirs, args.out, force=args.force)
    print(f"merged {len(args.dirs)} shards → {out}/")
    return 0
