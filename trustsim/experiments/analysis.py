"""The runs table and what is computed from it: means over replications and SALib sensitivity indices."""

from __future__ import annotations

import math
import sys
import warnings
from pathlib import Path

import numpy as np

from ..errors import counted, safe_text
from ..results import replace_file
from ..stats import interval_frame
from .design import ID_COLUMNS, METRIC_COLUMNS, STEADY_COLUMNS, Sweep, annotation, needs_salib

_WHOLE = ("run_id", "point", "replicate", "seed")
_TYPES = {int: (int,), float: (int, float), bool: (bool,)}  # a factor's declared type: the JSON values it takes


def _is(value, kinds: tuple) -> bool:
    return isinstance(value, kinds) and (bool in kinds or not isinstance(value, bool))


def row_fault(row, every: bool = True) -> str | None:
    """What is wrong with a journal's run record ``row`` as :func:`runs_frame` reads it, or None: its run id a whole
    number and each figure a number or null; with ``every``, also its other ids whole numbers, its status and error
    texts and each parameter of a declared number or truth type one of that type (a record edited by hand:
    ``"banana"``, ``[1]``). Without ``every`` (``--resume``), a row whose ids or factors are not the design's is
    left to be dropped and run again (``journal.keep_own_runs``)."""
    if not isinstance(row, dict):
        return "the run's record is not a JSON object"
    for key in _WHOLE if every else _WHOLE[:1]:
        if not _is(row.get(key), (int,)):
            return f"{key}: expected a whole number, got {safe_text(repr(row.get(key)), 60)}"
    for key in ("status", "error") if every else ():
        if not isinstance(row.get(key), str):
            return f"{key}: expected a text, got {safe_text(repr(row.get(key)), 60)}"
    metrics = set(METRIC_COLUMNS)
    for key, value in row.items():
        if key in metrics:
            kinds = (int, float, type(None))
        elif not every or key in STEADY_COLUMNS:  # not read into the runs table
            continue
        else:
            try:
                kinds = _TYPES.get(annotation(key), ())
            except (ValueError, KeyError, AttributeError):  # not a parameter: not a column runs_frame reads
                kinds = ()
        if kinds and not _is(value, kinds):
            what = "a number" if float in kinds else "a whole number" if int in kinds else "true or false"
            return f"{key}: expected {what}, got {safe_text(repr(value), 60)}"
    return None


def runs_frame(sweep: Sweep, entries, steady: bool = False):
    """The runs table, one row per run sorted by run id, with a fixed column order and types; with ``steady``,
    each run's ``steady`` and ``mser5_warm_up_steps`` last (empty for a failed run)."""
    # on use: only this path needs pandas
    import pandas as pd

    rows = [e["row"] for e in sorted(entries, key=lambda e: e["row"]["run_id"])]
    columns = [*ID_COLUMNS, *sweep.keys, *METRIC_COLUMNS, *(STEADY_COLUMNS if steady else ())]
    df = pd.DataFrame.from_records(rows, columns=columns)
    for c in ("run_id", "point", "replicate", "seed"):
        df[c] = df[c].astype("int64")
    for c in ("status", "error"):
        df[c] = df[c].astype(str)
    for f in sweep.factors:
        ann = annotation(f.key)
        kind = {int: "int64", float: "float64", bool: "bool"}.get(ann, str)
        df[f.key] = df[f.key].astype(kind)
    df[list(METRIC_COLUMNS)] = df[list(METRIC_COLUMNS)].astype("float64")
    if steady:
        df = df.astype(dict(zip(STEADY_COLUMNS, ("boolean", "Int64"), strict=True)))
    return df


def write_tables(out: Path, df) -> None:
    """runs.csv and runs.parquet, each written under a temporary name and renamed."""
    replace_file(out / "runs.csv", lambda tmp: df.to_csv(tmp, index=False))
    replace_file(out / "runs.parquet", lambda tmp: df.to_parquet(tmp, index=False))


def point_table(sweep: Sweep, df):
    """One row per design point: its factor values, ``n`` (its successful runs) and each metric's mean and 95%
    interval over its replications (``c``, ``c.low``, ``c.high``; empty where no run of the point succeeded)
    with ``c.n``, the runs that have the figure, which the mean and interval are taken over: fewer than ``n``
    where a run gave none (a posture with no buyers has no figures, nor any advantage)."""
    # on use: only this path needs pandas, stats
    import pandas as pd

    ok = df[df["status"] == "ok"]
    table = interval_frame(ok, "point", METRIC_COLUMNS, counts=True).set_index("point")
    table = table.reindex(range(len(sweep.points)))
    counts = ["n", *(f"{m}.n" for m in METRIC_COLUMNS)]  # a point with no successful run: 0 runs, 0 values
    table[counts] = table[counts].fillna(0).astype("int64")
    table = table.copy()  # one block per type again, not a column each
    factors = pd.DataFrame.from_records(sweep.points, index=range(len(sweep.points)), columns=sweep.keys)
    return pd.concat([factors, table], axis=1).rename_axis("point").reset_index()


def write_point_table(out: Path, sweep: Sweep, df) -> None:
    """points.csv beside runs.csv, written under a temporary name and renamed."""
    table = point_table(sweep, df)
    replace_file(out / "points.csv", lambda tmp: table.to_csv(tmp, index=False))


def metric_columns(metric: str) -> list[str]:
    """A bare contract column means its partner and aggressive columns; a full name means itself."""
    return [metric] if metric in METRIC_COLUMNS else [f"partner.{metric}", f"aggressive.{metric}"]


def point_means(sweep: Sweep, df, column: str) -> np.ndarray:
    """Mean of a metric over the replications of each design point (NaN where no run of a point succeeded)."""
    ok = df[df["status"] == "ok"]
    means = ok.groupby("point")[column].mean()
    return means.reindex(range(len(sweep.points))).to_numpy(dtype=float)


def _unusable(Y: np.ndarray) -> str:
    """Why SALib cannot analyse the point means ``Y``: points without the figure, or the same figure everywhere."""
    missing = np.flatnonzero(~np.isfinite(Y))
    if not len(missing):
        return "it is the same at every design point"
    shown = ", ".join(map(str, missing[:5])) + (" …" if len(missing) > 5 else "")
    return (f"{counted(len(missing), 'design point')} of {len(Y)} (point {shown}) have no figure: none of their "
            f"runs succeeded, or a posture had no buyers")


def sensitivity(sweep: Sweep, df):
    """Sobol first-order and total indices (95% intervals), or Morris μ*, μ and σ, per metric and factor."""

    # on use: only this path needs pandas
    import pandas as pd

    needs_salib(sweep.design, sweep.source)
    problem = sweep.problem()
    records = []
    for metric in sweep.metrics:
        for column in metric_columns(metric):
            Y = point_means(sweep, df, column)
            usable = np.isfinite(Y).all() and np.nanstd(Y) > 0
            if not usable:  # said, not left as an empty row of sensitivity.csv
                print(f"trustsim: note: no sensitivity indices of {column}: {_unusable(Y)}", file=sys.stderr)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                if sweep.design == "sobol":
                    # an optional dependency, needed only here
                    from SALib.analyze import sobol
                    # a Generator, not the int: SALib takes a seed of 0 for none and draws the intervals at random
                    res = sobol.analyze(problem, Y, calc_second_order=False, conf_level=0.95,
                                        seed=np.random.default_rng(sweep.seed % 2**32)) if usable else None
                    for i, key in enumerate(sweep.keys):
                        get = (lambda k, i=i, res=res: float(res[k][i])) if res else (lambda k: math.nan)
                        records.append({"metric": column, "factor": key, "S1": get("S1"), "S1_conf": get("S1_conf"),
                                        "ST": get("ST"), "ST_conf": get("ST_conf")})
                else:
                    # an optional dependency, needed only here
                    from SALib.analyze import morris
                    res = morris.analyze(problem, sweep.matrix, Y, conf_level=0.95, num_levels=sweep.levels,
                                         seed=sweep.seed % 2**32) if usable else None
                    for i, key in enumerate(sweep.keys):
                        get = (lambda k, i=i, res=res: float(res[k][i])) if res else (lambda k: math.nan)
                        records.append({"metric": column, "factor": key, "mu_star": get("mu_star"),
                                        "mu_star_conf": get("mu_star_conf"), "mu": get("mu"), "sigma": get("sigma")})
    return pd.DataFrame.from_records(records)
