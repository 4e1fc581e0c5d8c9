"""trustsim from Python: one run, replications over seeds, and two scenarios compared, as objects that hold
pandas DataFrames, for notebooks and other tools (the EMA Workbench, SALib, one's own scripts).

    import trustsim
    run = trustsim.simulate("scenarios/baseline.toml", seed=3, steps=60, uncertainty=0.9)
    run.timeseries          # one row per step and posture, the columns of timeseries.csv
    run.buyers              # one row per buyer, the columns of buyers.csv
    run.summary["long_run"]["partner"]["market_share"]
    run.save("results/mine")                      # the folder `trustsim run` writes

    reps = trustsim.replicate("scenarios/baseline.toml", seeds=10)      # `trustsim run … --seeds 10`
    reps.table()            # each long-run figure's mean, sd and 95% interval; the share of steady long runs
    diff = trustsim.compare("scenarios/baseline.toml", "scenarios/high_uncertainty.toml", seeds=10)
    diff.table()            # B − A with 95% intervals, paired on common seeds
    again = trustsim.rerun("results/mine")        # `trustsim rerun`: the Run again from the folder's manifest

A scenario is a TOML file's path, a ``Params``, a ``Scenario`` (``trustsim.load_scenario``), a nested
``{"market": {"buyers": 60}}`` mapping of parameter tables, or None for the defaults. A file's own keys
(``extends``, ``description``, ``[sweep]``, ``[calibrate]``) are refused in a mapping: instead of
``{"extends": "baseline.toml", "market": {…}}`` pass the file and the parameters as overrides. Overrides
are keyword arguments with a parameter's bare name (``uncertainty=0.9``), ``group__name``
(``market__uncertainty=0.9``), or, unpacked, its full key (``**{"market.uncertainty": 0.9}``). Bad input
raises ``trustsim.ParamError``.
"""

from __future__ import annotations

import difflib
import inspect
import os
import time
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .arguments import (
    plain,
    refuse_blank,
    refuse_file_keys,
    resolved_overrides,
    seed_argument,
    tables,
    true_or_false,
    warn_failed,
    whole,
    worker_count,
)
from .commands.run import refuse_other_files, refuse_sweep
from .errors import PYTHON, ParamError


def as_scenario(scenario: Any = None, *, given_as: str = "scenario", seed: int | None = None, steps: int | None = None,
                of: str | None = None, **overrides: Any):
    """A validated :class:`~trustsim.scenario.Scenario` from anything :func:`simulate` accepts; a fault in it is
    named by ``given_as``, the argument that passed it (``scenario``; :func:`compare`'s ``a`` and ``b``). ``of``
    names the function called, whose arguments a keyword that is no parameter may have meant."""
    # on first use: `import trustsim` loads nothing heavy
    from .params import Params, validate
    from .scenario import Scenario, apply_arguments, load_scenario, resolve_path

    refuse_blank(scenario, given_as, "a scenario TOML file")  # load_scenario would call it "scenario" in compare too
    if scenario is None or isinstance(scenario, (str, os.PathLike)):
        if scenario is not None:
            resolve_path(scenario)  # a NUL, a name too long: not the ValueError or OSError of Path.is_dir
            refuse_other_files(str(scenario), python=True)  # a manifest or results folder: trustsim.rerun
        sc = load_scenario(scenario)
    elif isinstance(scenario, Scenario):
        sc = scenario
    elif isinstance(scenario, Params):
        sc = Scenario("params", scenario)
    elif isinstance(scenario, Mapping):  # a dict, or any mapping of tables (a mappingproxy, …) read as one
        scenario = tables(scenario)
        refuse_file_keys(scenario, given_as)
        sc = Scenario("params", validate(scenario, given_as))
    else:
        raise ParamError(given_as, None, f"expected a path, Params, Scenario or mapping, got "
                                         f"{type(scenario).__name__}")
    try:
        changes = resolved_overrides(overrides)
    except ParamError as exc:
        raise misplaced_argument(exc, of) or exc from None
    arguments = apply_arguments(changes, {"run.seed": ("seed", seed_argument(seed)), "run.steps": ("steps", steps)})
    if not changes:
        return sc
    try:
        params = sc.params.replace(**changes)
    except ParamError as exc:  # named as the caller passed it (seed=…), as load_scenario names it, not run.seed
        if exc.key not in arguments:
            raise
        raise ParamError(arguments[exc.key], None, exc.message) from None
    # recorded as the values the parameters hold (an np.int64, a Decimal: the int or float the schema made of it),
    # which a manifest writes as JSON
    flat = params.flat()
    return replace(sc, params=params, overrides={**sc.overrides, **{k: flat[k] for k in changes}})  # [calibrate] too


def misplaced_argument(exc: ParamError, of: str | None) -> ParamError | None:
    """An unknown parameter's ParamError said as what it more likely is, an argument of the function ``of`` misspelt
    (``replication=2``: "did you mean replications=?"; it suggested the parameter "detection"), or one another of
    these functions takes (``seeds=`` given to simulate); None when it is neither."""
    if of is None or not exc.message.startswith("unknown parameter") or not isinstance(exc.key, str):
        return None
    takes = {f.__name__: _arguments(f) for f in (simulate, replicate, compare, sweep)}
    near = difflib.get_close_matches(exc.key, takes[of], n=1, cutoff=0.75)
    if near:
        return ParamError(None, exc.key, f"is neither an argument of trustsim.{of} nor a parameter (did you mean "
                                         f"{near[0]}=?)")
    others = [f"trustsim.{name}" for name, names in takes.items() if exc.key in names]
    if others:
        listed = ", ".join(others[:-1]) + " and " + others[-1] if len(others) > 1 else others[0]
        return ParamError(None, exc.key, f"is neither an argument of trustsim.{of} ({listed} "
                                         f"{'take' if len(others) > 1 else 'takes'} it) nor a parameter")
    return None


def _arguments(function) -> list[str]:
    """A function's named arguments (not its ``**overrides``)."""
    return [n for n, p in inspect.signature(function).parameters.items() if p.kind is not p.VAR_KEYWORD]


def one_scenario(sc, compare: bool = False):
    """``sc``, or the ParamError ``trustsim run`` (``compare``) gives a sweep file, naming :func:`sweep` where the
    command line names ``trustsim sweep``, or a calibration file whose ``[calibrate]`` table has a fault (a
    calibration file runs its scenario, as ``trustsim run`` does)."""
    refuse_sweep(sc, str(sc.path or sc.name), compare, python=True)
    if sc.calibrate is not None:
        # on first use: `import trustsim` loads nothing heavy
        from .calibration.config import build_calibration

        build_calibration(sc.name, str(sc.path or sc.name), sc.params, sc.calibrate, sc)
    return sc


@dataclass
class Run:
    """One run: the model after its last step, with its tables as DataFrames."""

    model: Any
    scenario: Any
    started: str
    wall: float
    _cache: dict = field(default_factory=dict, repr=False)
    reads: tuple = field(default=(), repr=False)  # what it was made from, which save never writes: a rerun's folder

    @property
    def params(self):
        """The run's validated parameters."""
        return self.model.params

    @property
    def timeseries(self):
        """One row per step and posture (``partner``, ``aggressive``, ``all``): the columns of timeseries.csv."""
        return self._made("ts", self.model.recorder.frame)

    @property
    def buyers(self):
        """One row per buyer: posture, long-run trust, non-productive share, … (buyers.csv)."""
        return self._made("buyers", lambda: self.model.buyer_sums.frame(self.model))

    def _made(self, name: str, make):
        """A table made once for the model's step: again after the model was stepped on (``run.model.step()``)."""
        if self._cache.get(name, (None,))[0] != self.model.steps:
            self._cache[name] = self.model.steps, make()
        return self._cache[name][1]

    @property
    def summary(self) -> dict:
        """summary.json: ``long_run`` (means over the second half), ``business_horizon`` (first 40 steps) and
        ``short_run`` (first 8 steps) by posture, ``long_run_steps`` and ``steady_state`` (MSER-5)."""
        return self.model.recorder.summary()

    @property
    def long_run(self):
        """The long-run means as a table: one row per posture, one column per results column."""
        # on first use: `import trustsim` loads nothing heavy
        import pandas as pd

        return pd.DataFrame(self.summary["long_run"]).T

    @property
    def advantages(self) -> dict:
        """The partner advantages in the long run (``advantage.market_share``, …; None with one posture)."""
        # on first use: `import trustsim` loads nothing heavy
        from .stats import advantages

        return advantages(self.summary)

    @property
    def network(self):
        """The relationship network at the last step (networkx)."""
        return self.model.network()

    def save(self, out: str | Path, force: bool = False) -> Path:
        """Write the results folder ``trustsim run`` writes (tables, summary, manifest, network, figures);
        ``force=True`` replaces a folder that holds something else (never one trustsim protects)."""
        # on first use: `import trustsim` loads nothing heavy
        from .results import write_run

        if self.model.steps != self.params.run.steps:  # its manifest would say run.steps, its tables hold more
            raise ParamError(None, "out", f"the model was stepped on to step {self.model.steps}, past its run's "
                                          f"{self.params.run.steps}: simulate(…, steps={self.model.steps}) makes "
                                          f"that run, which can be saved")
        return write_run(self.model, self.scenario, out, started=self.started, wall_seconds=self.wall, force=force,
                         protect=self.reads, words=PYTHON)

    def __repr__(self) -> str:
        return f"<trustsim run {self.scenario.name!r}: {self.params.run.steps} steps, seed {self.params.run.seed}>"


def simulate(scenario: Any = None, *, seed: int | None = None, steps: int | None = None, **overrides: Any) -> Run:
    """Run a scenario once; returns a :class:`Run` (``timeseries``, ``buyers``, ``summary``, ``network``,
    ``save(dir)``). The same scenario and seed give the same numbers as ``trustsim run``."""
    # on first use: `import trustsim` loads nothing heavy
    from .capacity import check_memory
    from .model import TrustMarket

    sc = one_scenario(as_scenario(scenario, seed=seed, steps=steps, of="simulate", **overrides))
    check_memory(sc.params, str(sc.path or sc.name))  # a ParamError naming the estimate, before allocating
    started = datetime.now(UTC).isoformat(timespec="seconds")
    t0 = time.perf_counter()
    model = TrustMarket(sc.params, rng=sc.params.run.seed).run()
    return Run(model, sc, started, time.perf_counter() - t0)


def replicate(scenario: Any = None, seeds: int = 10, *, seed: int | None = None, steps: int | None = None,
              workers: int | None = None, **overrides: Any):
    """Run a scenario on ``seeds`` seeds derived from ``seed`` (default its run.seed) as ``trustsim run
    --seeds`` does; returns a :class:`~trustsim.experiments.replicate.Replicated` (``runs``, ``timeseries``,
    ``summary``, ``table()``, ``bands()``, ``save(dir)``), built in memory: nothing is written until
    ``save``. ``workers``: processes (None: all cores); the tables are the same for any number."""
    # on first use: `import trustsim` loads nothing heavy
    from .capacity import MAX_REPLICATIONS
    from .experiments.replicate import replicate as run_replications

    seeds, workers = whole("seeds", seeds, 2, maximum=MAX_REPLICATIONS), worker_count(workers)
    sc = one_scenario(as_scenario(scenario, steps=steps, of="replicate", **overrides))
    rep = run_replications(sc, seeds, root=seed_argument(seed), workers=workers)
    warn_failed(rep.runs, "runs")
    return rep


def compare(a: Any, b: Any, seeds: int | None = None, *, seed: int | None = None, steps: int | None = None,
            workers: int | None = None, **overrides: Any):
    """Two scenarios on the same ``seeds`` seeds (default 10), or two results folders (paths of folders), which
    hold their runs already (``seeds``, ``seed``, ``steps`` and overrides are refused, as on the command line);
    returns a :class:`~trustsim.comparison.Comparison` (``table()`` of B − A with 95% intervals, ``text()``,
    ``save(dir)``). Overrides apply to both scenarios."""
    # on first use: `import trustsim` loads nothing heavy
    from .capacity import MAX_REPLICATIONS
    from .comparison import compare_folders, compare_scenarios
    from .scenario import resolve_path

    for name, x in (("a", a), ("b", b)):
        refuse_blank(x, name, "a scenario TOML file or a results folder")  # not the current folder, with itself
        if isinstance(x, (str, os.PathLike)):
            resolve_path(x)  # a NUL, a name too long: not the ValueError or OSError of Path.is_dir
    folders = [isinstance(x, (str, os.PathLike)) and Path(x).is_dir() for x in (a, b)]
    if folders[0] != folders[1]:
        other = b if folders[0] else a
        if isinstance(other, (str, os.PathLike)) and not Path(other).exists():  # a misspelt folder, say
            raise ParamError(str(other), None, "no such file or folder")
        raise ParamError(str(a if folders[0] else b), None,  # the folder: the other may be a Params
                         "compare takes two scenarios or two results folders, not one of each")
    if all(folders):
        given = [k for k, v in (("seeds", seeds), ("seed", seed), ("steps", steps)) if v is not None] + list(overrides)
        if given:
            raise ParamError(None, given[0], "applies to scenarios; results folders hold their runs already")
        return compare_folders(a, b)
    seeds, workers = whole("seeds", 10 if seeds is None else seeds, 2, maximum=MAX_REPLICATIONS), worker_count(workers)
    sa = one_scenario(as_scenario(a, given_as="a", steps=steps, of="compare", **overrides), compare=True)
    sb = one_scenario(as_scenario(b, given_as="b", steps=steps, of="compare", **overrides), compare=True)
    diff = compare_scenarios(sa, sb, seeds, root=seed_argument(seed),
                             workers=workers)
    warn_failed(diff.runs_a, "runs_a")
    warn_failed(diff.runs_b, "runs_b")
    return diff


def rerun(folder: str | Path, *, workers: int | None = None):
    """Make a run or replications again from its results folder (or the ``manifest.json`` in it), as ``trustsim
    rerun`` does, with the parameters and seeds the manifest records (no scenario file needed): a :class:`Run` for a
    run's folder, a :class:`~trustsim.experiments.replicate.Replicated` for replications' (``workers`` as for
    :func:`replicate`), built in memory. Its ``save(dir)`` writes a results folder, never into the original; a
    version or code other than the manifest records is a RuntimeWarning. Comparing the tables with the original's,
    file by file, is ``trustsim rerun``'s."""
    # on first use: `import trustsim` loads nothing heavy
    from .experiments.replicate import replicate as run_replications
    from .model import TrustMarket
    from .reproduce import remade_scenario, version_notes
    from .scenario import resolve_path

    refuse_blank(folder, "folder", "a results folder or its manifest.json")
    if not isinstance(folder, (str, os.PathLike)):
        raise ParamError(None, "folder", f"expected a results folder's or its manifest's path, got "
                                         f"{type(folder).__name__}")
    resolve_path(folder)  # a NUL, a name too long: not the ValueError or OSError of reading the manifest
    workers = worker_count(workers)
    info, original, _, sc = remade_scenario(folder, workers, words=PYTHON)
    for note in version_notes(info):
        warnings.warn(note, RuntimeWarning, stacklevel=2)
    started, t0 = datetime.now(UTC).isoformat(timespec="seconds"), time.perf_counter()
    if info["kind"] == "run":
        model = TrustMarket(sc.params, rng=sc.params.run.seed).run()
        return Run(model, sc, started, time.perf_counter() - t0, reads=(str(original),))
    rep = run_replications(sc, info["replications"], root=info["root_seed"], workers=workers)
    warn_failed(rep.runs, "runs")
    return replace(rep, reads=(str(original),))


@dataclass
class SweepResult:
    """A sweep's tables: ``runs`` (runs.csv) and ``points`` (points.csv: means and 95% intervals per point); with
    ``timeseries=True``, ``timeseries``: every run's per-step table, ``run_id`` first (else None)."""

    sweep: Any
    runs: Any
    points: Any
    started: str = ""
    wall: float = 0.0
    journal: list = field(default_factory=list, repr=False)  # each run's entry, as trustsim sweep journals it
    timeseries: Any = None

    def save(self, out: str | Path, force: bool = False) -> Path:
        """Write the results folder ``trustsim sweep`` writes (runs, points, sensitivity, figures, manifest, the
        journal ``--resume`` reads, and with ``timeseries`` each run's time series, as ``--timeseries``);
        ``force=True`` replaces a folder that holds something else (never one trustsim protects)."""
        # on first use: `import trustsim` loads nothing heavy
        from .experiments.journal import write_sweep

        return write_sweep(self.sweep, self.journal, out, started=self.started, wall=self.wall, force=force,
                           timeseries=self.timeseries)

    def __repr__(self) -> str:
        return (f"<trustsim sweep {self.sweep.name!r}: {len(self.sweep.points)} points × "
                f"{self.sweep.replications} replications>")


def sweep(scenario: Any = None, factors: dict | None = None, replications: int | None = None, *,
          design: str | None = None, samples: int | None = None, seed: int | None = None, seeds: str | None = None,
          metrics: list[str] | None = None, levels: int | None = None, steps: int | None = None,
          workers: int | None = None, timeseries: bool = False, **overrides: Any) -> SweepResult:
    """A batch experiment, as a sweep file's ``[sweep]`` table declares it; returns its runs and per-point
    tables, built in memory: the ``runs.csv`` and ``points.csv`` that ``trustsim sweep`` writes, for any
    ``workers``; its ``save(dir)`` writes that command's folder. A sweep file (a scenario with a ``[sweep]``
    table) brings its design, as ``trustsim sweep FILE`` runs it; each argument given replaces that key of the
    table (``factors`` the whole factor table: lists, tuples or ranges of values for a grid, ``{"min": …, "max":
    …}`` for sampled designs; ``levels`` Morris's grid), and one left as None keeps the file's, else the
    ``[sweep]`` default (a grid, 1 replication, independent seeds). ``timeseries=True`` also keeps every run's
    per-step table, as ``--timeseries`` does. A fault in an argument is named by it (``seed: …``,
    ``factors: market.x: …``), one in the file's table by its key."""
    # on first use: `import trustsim` loads nothing heavy
    import pandas as pd

    from .experiments.analysis import point_table
    from .experiments.design import build_sweep
    from .experiments.execute import sweep_tables
    from .metrics import TIMESERIES_HEADER

    workers = worker_count(workers)
    timeseries = true_or_false("timeseries", timeseries)
    if factors is not None and (not isinstance(factors, dict) or not all(isinstance(k, str) for k in factors)):
        raise ParamError(None, "factors", f"expected a dict of parameter names to values, e.g. "
                                          f'{{"market.uncertainty": [0.0, 0.5]}}, got {factors!r:.80}')
    sc = as_scenario(scenario, steps=steps, of="sweep", **overrides)
    table: dict[str, Any] = dict(sc.sweep or {})  # a sweep file's design, which the arguments given replace
    given = {"design": design, "replications": replications, "samples": samples, "seed": seed, "seeds": seeds,
             "levels": levels, "metrics": metrics, "factors": factors}
    for key, value in given.items():
        if value is None:
            continue
        if key == "seed":  # as every function words it: a Generator was "got Generator(PCG64) at 0x…"
            table[key] = seed_argument(value)
        elif key == "factors":
            table[key] = {k: plain(v) for k, v in value.items()}
        else:
            table[key] = list(value) if key == "metrics" and isinstance(value, (list, tuple)) else plain(value)
    try:
        sw = build_sweep(sc.name, str(sc.path or sc.name), sc.params, table, sc)
    except ParamError as exc:  # an argument's fault: not the [sweep] key of a file the caller may not have
        top, _, rest = (exc.key or "").removeprefix("sweep.").partition(".")
        if not (exc.key or "").startswith("sweep.") or (sc.sweep is not None and given.get(top) is None):
            raise
        raise ParamError(top, rest or None, exc.message) from None
    started, t0, journal = datetime.now(UTC).isoformat(timespec="seconds"), time.perf_counter(), []
    runs, ts = sweep_tables(sw, workers=workers, journal=journal, timeseries=timeseries)
    warn_failed(runs, "runs")
    if timeseries and ts is None:  # every run failed: none to keep, but the folder says they were asked for
        ts = pd.DataFrame(columns=["run_id", *TIMESERIES_HEADER])
    return SweepResult(sw, runs, point_table(sw, runs), started, time.perf_counter() - t0, journal, ts)
