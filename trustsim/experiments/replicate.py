"""Replications of one scenario (``trustsim run SCENARIO --seeds N``, ``trustsim.replicate``): a sweep with
one design point and N replications, run on all cores by the sweep machinery, so replicate r gets the seed a
sweep gives it, ``SeedSequence(root, spawn_key=(0, r))``, and is the run ``trustsim run SCENARIO --seed S``
makes with that seed. The result: each run's time series, each run's long-run figures and whether its long
run is steady (MSER-5), and their mean, standard deviation and 95% interval by posture, with the share of
steady runs, as tables in memory (written only by ``save``).
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from ..errors import COMMAND_LINE, PYTHON, ParamError, counted, safe_text
from ..metrics import COLUMN_NAMES, POSTURE_GROUPS
from ..reading import read_csv, read_json, refuse_words
from ..results import manifest, redraw_figures, scenario_files, write_atomically
from ..stats import ADVANTAGES, describe, interval_frame, nan_as_null, require_seeds
from .design import METRIC_COLUMNS, STEADY_COLUMNS, build_sweep, is_int
from .execute import sweep_tables
from .replicate_figures import draw

KIND = "replications"
ID_COLUMNS = ("replicate", "seed", "status", "error")


@dataclass
class Replicated:
    """The runs of one scenario over seeds: ``runs`` (one row per replicate: seed, status, the long-run
    figures as in a sweep's runs table, then ``steady`` and ``mser5_warm_up_steps``, the run's summary's
    ``steady_state``) and ``timeseries`` (every run's per-step table, ``replicate`` first)."""

    scenario: object
    root_seed: int
    runs: object
    timeseries: object
    started: str
    wall: float
    reads: tuple = field(default=(), repr=False)  # what it was made from, which save never writes: a rerun's folder

    @property
    def seeds(self) -> list[int]:
        """The replicates' seeds, in replicate order."""
        return [int(s) for s in self.runs["seed"]]

    @property
    def failed(self) -> list[int]:
        """The replicates whose run failed."""
        return [int(r) for r in self.runs.loc[self.runs["status"] != "ok", "replicate"]]

    @property
    def summary(self) -> dict:
        """summary.json (a property, as a run's ``summary`` is): ``long_run``: by posture, each contract column's
        mean, sd, 95% interval and count over the replicates; ``advantages``: the same for the partner advantages;
        ``steady_share``: the share of the finished replicates whose long run is steady (MSER-5), and
        ``mser5_warm_up_steps``: their warm-ups' ``min`` and ``max`` (null when no replicate finished)."""
        ok = self.runs[self.runs["status"] == "ok"]
        long_run = {g: {c: describe(ok[f"{g}.{c}"]) for c in COLUMN_NAMES} for g in POSTURE_GROUPS}
        adv = {a: describe(ok[a]) for a in ADVANTAGES}
        steady, warm_up = ok["steady"].astype(bool), ok["mser5_warm_up_steps"].astype(int)
        return nan_as_null({"scenario": self.scenario.name, "replications": len(self.runs), "root_seed": self.root_seed,
                            "seeds": self.seeds, "failed": self.failed, "long_run": long_run, "advantages": adv,
                            "steady_share": float(steady.mean()) if len(ok) else None,
                            "mser5_warm_up_steps": {"min": int(warm_up.min()), "max": int(warm_up.max())}
                            if len(ok) else None})

    def table(self):
        """The summary as a table: one row per figure (``partner.market_share``, …, the advantages), then
        ``steady_share``: the share of the finished replicates whose long run is steady (MSER-5; its mean and
        count, no interval), so that a table of a transient's figures says so."""
        # on use: only this path needs pandas
        import pandas as pd

        ok = self.runs[self.runs["status"] == "ok"]
        rows = [{"figure": c, **describe(ok[c])} for c in METRIC_COLUMNS]
        share = float(ok["steady"].astype(bool).mean()) if len(ok) else math.nan
        rows.append({"figure": "steady_share", "mean": share, "sd": math.nan, "low": math.nan, "high": math.nan,
                     "n": len(ok)})
        return pd.DataFrame.from_records(rows)

    def save(self, out, force: bool = False) -> Path:
        """Write the results folder ``trustsim run SCENARIO --seeds N`` writes; ``force=True`` replaces a folder
        that holds something else (never one trustsim protects)."""
        return write_replications(self, out, force, protect=[*(p for p in scenario_files(self.scenario)
                                                               if Path(p).exists()), *self.reads], words=PYTHON)

    def __repr__(self) -> str:
        return f"<trustsim replications of {self.scenario.name!r}: {len(self.runs)} seeds from {self.root_seed}>"

    def bands(self):
        """Per step and posture: ``n``, the replicates, then each column's mean and 95% interval and the count of
        replicates they are over (``c``, ``c.low``, ``c.high``, ``c.n``: fewer than ``n`` where a posture had no
        buyers in some runs at that step); None when no run succeeded (there is nothing to summarise)."""
        ts = self.timeseries
        if ts is None:
            return None
        ok = ts[ts["replicate"].isin(self.runs.loc[self.runs["status"] == "ok", "replicate"])]
        return interval_frame(ok, ["step", "group"], [c for c in COLUMN_NAMES if c != "buyers"], counts=True)


def replication_sweep(scenario, n: int, root: int | None = None):
    """The sweep that replicates ``scenario`` ``n`` times from the root seed (default: its ``run.seed``)."""
    if isinstance(n, bool) or not isinstance(n, int):
        raise ParamError("--seeds", None, f"expected a whole number, got {type(n).__name__} {n!r}")
    require_seeds("--seeds", n)
    table = {"replications": n, "seed": scenario.params.run.seed if root is None else root}
    try:
        return build_sweep(scenario.name, scenario.path or scenario.name, scenario.params, table, scenario)
    except ParamError as exc:  # the table is made from --seeds and --seed: name them, not the sweep's keys
        flag = {"sweep.replications": "--seeds", "sweep.seed": "--seed"}.get(exc.key)
        if flag is None:
            raise
        raise ParamError(flag, None, exc.message) from None


def replicate(scenario, n: int, *, root: int | None = None, workers: int | None = None,
              quiet: bool = True) -> Replicated:
    """Run ``scenario`` with ``n`` seeds derived from ``root`` (default its ``run.seed``) on ``workers``
    processes (default: all cores); a failed run is a row with status "error". The tables are built in
    memory (:func:`~trustsim.experiments.execute.sweep_tables`): nothing is written."""
    sweep = replication_sweep(scenario, n, root)
    started = datetime.now(UTC).isoformat(timespec="seconds")
    t0 = time.perf_counter()
    df, ts = sweep_tables(sweep, workers=workers, quiet=quiet, timeseries=True, steady=True)
    runs = df[[*ID_COLUMNS, *METRIC_COLUMNS, *STEADY_COLUMNS]].reset_index(drop=True)  # one point: run id = replicate
    ts = ts.rename(columns={"run_id": "replicate"}) if ts is not None else None
    return Replicated(scenario, sweep.seed, runs, ts, started, time.perf_counter() - t0)


def write_replications(rep: Replicated, out, force: bool = False, protect=(), words=COMMAND_LINE) -> Path:
    """The results folder: ``replications.csv``, ``summary.json``, ``bands.csv``, each run's time series
    (``timeseries/replicate-NNN.csv``, as ``trustsim run --seed S`` writes it), figures, manifest; ``words`` as
    for :func:`~trustsim.folders.guard_target`."""
    def write(tmp: Path) -> None:
        rep.runs.to_csv(tmp / "replications.csv", index=False)
        (tmp / "summary.json").write_text(json.dumps(rep.summary, indent=2, allow_nan=False) + "\n")
        bands = rep.bands()
        if bands is not None:  # every run failed: the table of their errors, no bands or figures
            bands.to_csv(tmp / "bands.csv", index=False)
            (tmp / "timeseries").mkdir()
            for r, frame in rep.timeseries.groupby("replicate", sort=True):
                frame.drop(columns="replicate").to_csv(tmp / "timeseries" / f"replicate-{r:03d}.csv", index=False)
            (tmp / "figures").mkdir()
            draw(tmp / "figures", bands, rep.runs, rep.scenario.name)
        info = manifest(rep.scenario, rep.scenario.params, rep.started, rep.wall, tmp, kind=KIND,
                        root_seed=rep.root_seed, replications=len(rep.runs), seeds=rep.seeds, failed=rep.failed,
                        seed_rule="replicate r: SeedSequence(root_seed, spawn_key=(0, r)), 63 bits, as in sweeps")
        (tmp / "manifest.json").write_text(json.dumps(info, indent=2, ensure_ascii=False) + "\n")

    return write_atomically(out, write, force, kind=KIND, protect=protect, words=words)


def read_runs(folder: Path, replications: int | None = None, seeds=None):
    """The replications table of a replications folder (ParamError when it is not one, or was edited out of its
    shape: a blank or a word where a whole number or a figure belongs, a last row cut short, or, given the number
    of ``replications`` its manifest records, not one row for each, on the ``seeds`` it lists when it lists them)."""
    # on use: only this path needs pandas and the report's check of a table's end
    import pandas as pd

    from ..report import refuse_cut_short

    path = Path(folder) / "replications.csv"
    try:
        df = read_csv(path, expected="a replications table")
    except (OSError, ValueError) as exc:
        raise ParamError(str(path), None, f"cannot be read as a replications table ({exc})") from None
    missing = [c for c in (*ID_COLUMNS, *METRIC_COLUMNS) if c not in df.columns]
    if missing or df.empty:
        lacks = missing[0] if missing else "rows"
        raise ParamError(str(path), None, f"not a trustsim replications table (lacks {lacks})")
    refuse_cut_short(path)  # a row cut part way reads as a shorter row: blanks where its last figures were
    for c in ("replicate", "seed"):
        if not pd.api.types.is_integer_dtype(df[c]):
            raise ParamError(str(path), c, "holds values that are not whole numbers (a blank, a word); not as "
                                           "trustsim wrote it")
    if df["status"].isna().any():
        raise ParamError(str(path), "status", "holds a blank; not as trustsim wrote it")
    if replications is not None and (len(df) != replications or sorted(df["replicate"]) != list(range(replications))):
        raise ParamError(str(path), None, f"holds {counted(len(df), 'row')} for the {replications} replications its "
                                          f"manifest records (one row each); not as trustsim wrote it")
    if replications is not None and isinstance(seeds, list) and len(seeds) == replications:
        listed = dict(zip(df["replicate"], df["seed"], strict=True))
        wrong = next((r for r, seed in enumerate(seeds) if listed[r] != seed), None)
        if wrong is not None:
            raise ParamError(str(path), "seed", f"replicate {wrong} ran on seed {listed[wrong]}, its manifest records "
                                                f"{safe_text(seeds[wrong])}; not as trustsim wrote it")
    refuse_words(df, path, METRIC_COLUMNS)
    df["status"] = df["status"].astype(str)
    df["error"] = ["" if pd.isna(x) else str(x) for x in df["error"]]
    return df


def read_bands(folder: Path, steps):
    """The bands table of a replications folder: every posture's row at every step up to ``steps`` (the run's
    length its manifest records; None: up to its last), numbers where numbers belong; ParamError (one line) for a
    table without rows, cut short (also at a row's end) or edited."""
    # on use: reading a table loads pandas and the report's checks
    from ..report import LABELS, read_table

    path = Path(folder) / "bands.csv"
    bands = read_table(path, ("step", "group", "n"))
    refuse_words(bands, path, [c for c in bands.columns if c not in LABELS])  # the bands of every column
    last = int(bands["step"].max()) if steps is None else steps
    want = {(s, g) for s in range(1, last + 1) for g in POSTURE_GROUPS}
    if len(bands) != len(want) or set(zip(bands["step"], bands["group"], strict=True)) != want:
        raise ParamError(str(path), None, f"lacks rows: not every group at every step up to {last}; not as trustsim "
                                          f"wrote it")
    return bands


def redraw(folder: str | Path) -> list[Path]:
    """``trustsim report`` on a replications folder: the figures again from ``bands.csv`` and
    ``replications.csv``."""
    folder = Path(folder)
    try:
        info = read_json(folder / "manifest.json", expected="a JSON manifest")
        name, steps = info["scenario"]["name"], info["params"]["run"]["steps"]
    except (KeyError, TypeError) as exc:
        raise ParamError(str(folder), None, f"not a complete replications folder ({exc})") from None
    made = info.get("replications")
    runs = read_runs(folder, made if is_int(made) else None, info.get("seeds"))
    if not isinstance(steps, int) or isinstance(steps, bool) or steps < 1:
        raise ParamError(str(folder / "manifest.json"), "params.run.steps", f"expected a whole number, got {steps!r}")
    bands = read_bands(folder, steps)
    return redraw_figures(folder, lambda tmp: draw(tmp, bands, runs, name))
