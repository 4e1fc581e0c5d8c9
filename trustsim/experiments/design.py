"""A sweep file read and checked once, before any run, and laid out as design points and run seeds.

A sweep file is a scenario with a ``[sweep]`` table. Its design (full-factorial grid, Latin hypercube,
Sobol or Morris) gives design points; each point runs ``replications`` times. A run's seed comes from
the root seed and the run's identity (:func:`run_seed`), so results do not depend on order, worker
count or executor.
"""

from __future__ import annotations

import functools
import itertools
import math
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

from ..capacity import MAX_REPLICATIONS
from ..errors import ParamError, counted, safe_text, suggest
from ..params import GROUPS as PARAM_GROUPS
from ..params import MAX_SEED, MAX_SEED_TEXT, Params, bounds, parameter_key, range_fault, validate
from ..scenario import load_scenario, quote_the_name

if TYPE_CHECKING:
    import numpy as np

DESIGNS = ("grid", "lhs", "sobol", "morris")
SAMPLED = ("lhs", "sobol", "morris")
SEED_MODES = ("independent", "common")
MAX_LEVELS = 100  # Morris's grid: 4 to 10 levels are usual; a huge number allocated beyond any memory
SWEEP_KEYS = ("design", "replications", "samples", "seed", "seeds", "levels", "metrics", "factors")
RANGE_KEYS = ("min", "max")
# Sobol base samples below this give no usable interval: SALib's 100 bootstrap resamples of N base samples
# draw from C(2N-1, N) distinct ones (1 at N = 1, so every interval is 0 wide; 35 at N = 4, intervals wider
# than an index's range 0 to 1); from 8 (6435 of them) an interval says how uncertain the index is
MIN_SOBOL_SAMPLES = 8

ID_COLUMNS = ("run_id", "point", "replicate", "seed", "status", "error")
STEADY_COLUMNS = ("steady", "mser5_warm_up_steps")  # whether a run's long run is steady (MSER-5), and its warm-up
DEFAULT_METRICS = ("advantage.market_share", "tco_per_unit")


@functools.cache
def _metric_names() -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The long-run metrics a sweep records (``METRIC_COLUMNS``: each group's columns, then the advantages) and
    the bare column names a sweep's ``metrics`` may also give."""
    # on first use: the columns come with the measurements, which load the engine's arrays (numpy, SciPy); a sweep
    # file is read and its other mistakes told without them
    from ..metrics import COLUMN_NAMES, POSTURE_GROUPS
    from ..stats import ADVANTAGES

    return tuple(f"{g}.{c}" for g in POSTURE_GROUPS for c in COLUMN_NAMES) + tuple(ADVANTAGES), COLUMN_NAMES


def __getattr__(name):  # METRIC_COLUMNS, the columns of a sweep's runs table, on first use (_metric_names)
    if name == "METRIC_COLUMNS":
        return _metric_names()[0]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def sobol_samples_fault(samples: int, example: str, typical: int) -> str | None:
    """What is wrong with ``samples`` Sobol base samples (a sweep's ``samples``, ``calibrate --screen``), or None;
    ``example`` shows a number as the user would give it (``"samples = {}"``), ``typical`` one to suggest."""
    if samples < MIN_SOBOL_SAMPLES:
        return (f"{samples} is too few base samples for Sobol indices: their bootstrap intervals need at least "
                f"{MIN_SOBOL_SAMPLES} (e.g. {example.format(typical)})")
    if samples & (samples - 1):
        return (f"{samples} is not a power of 2, which Sobol sequences need "
                f"(e.g. {example.format(1 << samples.bit_length())})")
    return None


@dataclass(frozen=True)
class Factor:
    """A swept parameter (``group.name``): its grid values, or its range and type for a sampled design."""
    key: str                       # "group.name"
    values: tuple | None = None    # grid
    lo: float | None = None        # sampled designs
    hi: float | None = None
    integer: bool = False


@dataclass
class Sweep:
    """A validated ``[sweep]`` table: design, replications, seeds, metrics, factors and the points as run."""
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
        """Runs in the sweep: design points × replications."""
        return len(self.points) * self.replications

    @property
    def keys(self) -> list[str]:
        """The factors' parameter keys, ``group.name``, in the table's order."""
        return [f.key for f in self.factors]

    def problem(self) -> dict:
        """The factors' ranges in SALib's problem format (``num_vars``, ``names``, ``bounds``)."""
        return {"num_vars": len(self.factors), "names": self.keys, "bounds": [[f.lo, f.hi] for f in self.factors]}


def is_int(x) -> bool:
    """True for an int that is not a bool (Python's bools are ints): a count or seed given as true is refused."""
    return isinstance(x, int) and not isinstance(x, bool)


def is_number(x) -> bool:
    """True for a finite int or float that is not a bool."""
    return (is_int(x) or isinstance(x, float)) and math.isfinite(x)


def annotation(key: str):
    """The type the schema declares for parameter ``key`` (``group.name``)."""
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
    if not is_int(replications) or not 1 <= replications <= MAX_REPLICATIONS:
        raise err("replications", f"expected a whole number from 1 to {MAX_REPLICATIONS}, got {replications!r}")
    samples = table.get("samples")
    if design == "grid":
        if samples is not None:
            raise err("samples", "applies to the lhs, sobol and morris designs, not to a grid")
    else:
        if samples is None:
            raise err("samples", f"the {design} design needs samples (e.g. samples = 64)")
        if not is_int(samples) or not 1 <= samples <= 10_000_000:
            raise err("samples", f"expected a whole number from 1 to 10000000, got {samples!r}")
        if design == "sobol" and (fault := sobol_samples_fault(samples, "samples = {}", 256)):
            raise err("samples", fault)
    seed = table.get("seed", base.run.seed)
    if not is_int(seed) or not 0 <= seed <= MAX_SEED:
        raise err("seed", f"expected a whole number from 0 to {MAX_SEED_TEXT}, got {seed!r}")
    seeds = table.get("seeds", "independent")
    if seeds not in SEED_MODES:
        raise err("seeds", f"{seeds!r} is not one of {', '.join(SEED_MODES)}{suggest(str(seeds), SEED_MODES)}")
    levels = table.get("levels", 4)
    if "levels" in table and design != "morris":
        raise err("levels", "applies to the morris design only")
    if not is_int(levels) or levels < 2 or levels % 2 or levels > MAX_LEVELS:
        raise err("levels", f"expected an even whole number from 2 to {MAX_LEVELS}, got {levels!r}")

    metrics = table.get("metrics", list(DEFAULT_METRICS))
    if not isinstance(metrics, list) or not metrics or not all(isinstance(m, str) for m in metrics):
        raise err("metrics", "expected a non-empty list of metric names, "
                             "e.g. [\"advantage.market_share\", \"tco_per_unit\"]")

    raw = table.get("factors", {})
    if not isinstance(raw, dict):
        raise err("factors", "expected a table [sweep.factors] of parameters")
    if not raw and (design != "grid" or replications < 2):
        raise err("factors", "expected a table [sweep.factors] with at least one parameter"
                  + (f" (the {design} design samples factors)" if design != "grid" else
                     ", or replications of at least 2 (replications of the scenario alone)"))
    factors: list[Factor] = []
    seen: dict[str, str] = {}
    for given, spec in raw.items():
        where = f"factors.{given}"
        if given in PARAM_GROUPS and isinstance(spec, dict) and len(spec) == 1:  # market.uncertainty = […], unquoted
            raise err(where, quote_the_name(given, next(iter(spec))))
        key = parameter_key(given, source, f"sweep.{where}")
        if key == "run.seed":
            raise err(where, "seeds come from the root seed (sweep.seed) and each run's identity; "
                             "it cannot be a factor")
        if key in seen:
            raise err(where, f'names the same parameter as "{seen[key]}"')
        seen[key] = given
        ann = annotation(key)
        if design == "grid":
            if not isinstance(spec, list) or not spec:
                raise err(where, "expected a list of values for a grid, e.g. [0.0, 0.3, 0.6]")
            values = tuple(float(v) if ann is float and is_int(v) else v for v in spec)
            for v in values:
                if ann in (int, float) and is_number(v):
                    lo, hi = bounds(key)
                    if (lo is not None and v < lo) or (hi is not None and v > hi):
                        raise err(where, f"{v!r} is out of range (allowed {lo} to {hi})")
            if len({repr(v + 0.0) if is_number(v) else repr(v) for v in values}) < len(values):  # -0.0 is 0.0
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
            if not is_number(lo_) or not is_number(hi_):
                raise err(where, "expected numbers min and max")
            if not lo_ < hi_:
                raise err(where, f"min ({lo_}) must be below max ({hi_})")
            if why := range_fault(key, lo_, hi_):
                raise err(where, why)
            if ann is int and math.ceil(lo_) > math.floor(hi_):  # each run's value is a whole number in the range
                raise err(where, f"{key} takes whole numbers, and the range {lo_} … {hi_} holds none")
            factors.append(Factor(key, lo=float(lo_), hi=float(hi_), integer=ann is int))
    # the metrics' names after the factors: they load the measurements, the rest of the table is checked without
    full, bare = _metric_names()
    for i, m in enumerate(metrics):
        if m not in full and m not in bare:
            raise err("metrics", f'unknown metric "{m}"{suggest(m, full + bare)}')
        if m in metrics[:i]:
            raise err("metrics", f'repeats the metric "{m}"')

    points = _design_points(design, factors, samples)
    if points * replications > MAX_RUNS:
        raise err("factors" if design == "grid" else "samples",
                  f"{points:,} design points × {counted(replications, 'replication')} = {points * replications:,} "
                  f"runs, more than the {MAX_RUNS:,} a sweep can hold; split it into sweeps of fewer "
                  f"{'values' if design == 'grid' else 'samples'} or replications")
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
            raise err(key, f"design point {i} ({shown}): {exc.message}") from None
    return sweep


def rebuilt_sweep(state: dict, state_path: str | Path) -> Sweep:
    """The sweep a folder's ``sweep.json`` records (``state``), built again from its base parameters and its
    [sweep] table, to redraw its figures or merge its shards. Both were checked when the sweep began, so a fault
    now is in ``sweep.json``: the error names that file, not the sweep file the state records."""
    try:
        base = validate(state["base"], str(state_path))
        return build_sweep(state["name"], state["source"], base, state["sweep"], SimpleNamespace(**state["scenario"]))
    except ParamError as exc:
        raise ParamError(str(state_path), exc.key, exc.message) from None


MAX_RUNS = 10_000_000  # runs in one sweep: its design points are laid out, and checked, in memory


def _design_points(design: str, factors: list[Factor], samples: int | None) -> int:
    """How many design points ``layout`` makes, counted before making them: a grid's full product, or SALib's
    samples (one point each for a Latin hypercube, D + 2 for Sobol's first-order sample, D + 1 for a Morris
    trajectory, D factors)."""
    if design == "grid":
        return math.prod(len(f.values) for f in factors)
    return samples * {"lhs": 1, "sobol": len(factors) + 2, "morris": len(factors) + 1}[design]


def needs_salib(design: str, source: str, key: str | None = "sweep.design"):
    """ParamError naming ``source`` (and ``key``) when a sampled ``design`` needs SALib and it is not installed."""
    try:
        import SALib  # noqa: F401
    except ImportError:
        raise ParamError(source, key, f'the {design} design needs SALib: pip install "trustsim[salib]"') from None


def layout(sweep: Sweep) -> tuple[list[dict], np.ndarray | None]:
    """The design points (factor values as run) and, for sampled designs, the sample matrix.

    Grid: the full product, first factor slowest. Sampled designs draw from SALib with the root seed;
    integer parameters are rounded for the run, the analysis uses the sample as drawn.
    """
    if sweep.design == "grid":
        keys = sweep.keys
        combos = itertools.product(*(f.values for f in sweep.factors))
        return [dict(zip(keys, combo, strict=True)) for combo in combos], None
    needs_salib(sweep.design, sweep.source)
    problem, n, seed = sweep.problem(), sweep.samples, sweep.seed % 2**32
    if sweep.design == "lhs":
        # an optional dependency, needed only here
        from SALib.sample import latin
        X = latin.sample(problem, n, seed=seed)
    elif sweep.design == "sobol":
        # an optional dependency, needed only here
        from SALib.sample import sobol
        X = sobol.sample(problem, n, calc_second_order=False, scramble=True, seed=seed)
    else:
        # an optional dependency, needed only here
        from SALib.sample import morris
        X = morris.sample(problem, n, num_levels=sweep.levels, seed=seed)
    points = [{f.key: (_whole(x, f) if f.integer else float(x)) for f, x in zip(sweep.factors, row, strict=True)}
              for row in X]
    return points, X


def _whole(x: float, factor: Factor) -> int:
    """A sampled value of an integer factor as its run takes it: rounded, and kept within the factor's range (2.6 of
    the range 2.5 … 4.7 is 3; 4.6 is 4, not 5)."""
    return min(max(round(x), math.ceil(factor.lo)), math.floor(factor.hi))


def run_seed(root: int, point: int, replicate: int, mode: str = "independent") -> int:
    """A run's seed from the root seed and its identity: ``SeedSequence(root, spawn_key=…)``, 63 bits.

    ``independent``: the key is (point, replicate), every run has its own stream. ``common``: the key is
    (replicate,), so replicate r meets the same random numbers at every design point (common random
    numbers: differences between points are the factors' doing, not the seeds').
    """
    # here, not at the top: a sweep file is read and checked without numpy
    import numpy as np

    key = (point, replicate) if mode == "independent" else (replicate,)
    state = np.random.SeedSequence(root, spawn_key=key).generate_state(1, dtype=np.uint64)[0]
    return int(state) & MAX_SEED


def tasks(sweep: Sweep, run_ids, timeseries: bool = False, fail: frozenset = frozenset()):
    """One task per run id: everything a worker needs, nothing it must look up."""
    for run_id in run_ids:
        point, rep = divmod(run_id, sweep.replications)
        yield {"run_id": run_id, "point": point, "replicate": rep,
               "seed": run_seed(sweep.seed, point, rep, sweep.seeds), "factors": sweep.points[point],
               "base": sweep.base, "timeseries": timeseries, "fail": run_id in fail}


def foreign_row(entry: dict, sweep: Sweep, ids: set[int]) -> str | None:
    """Why a journal row does not belong to this sweep (``--resume`` trusts none blindly), or None: its run id
    outside the design (or this shard), or its point, replicate, seed or factor values not the design's."""
    row = entry.get("row") if isinstance(entry, dict) else None
    if not isinstance(row, dict):
        return "not a run's row"
    run_id = row.get("run_id")
    if not isinstance(run_id, int) or run_id not in ids:
        return "its run id is not in the design" + (" (or this shard)" if len(ids) < sweep.n_runs else "")
    point, rep = divmod(run_id, sweep.replications)
    if row.get("point") != point or row.get("replicate") != rep:
        return "its point or replicate is not its run id's"
    if row.get("seed") != run_seed(sweep.seed, point, rep, sweep.seeds):
        return "its seed is not the design's"
    if row.get("status") not in ("ok", "error"):
        return "its status is neither ok nor error"
    wrong = [k for k, v in sweep.points[point].items() if row.get(k) != v]
    if wrong:
        return f"its {safe_text(wrong[0])} is not the design's"
    return None


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
    """The run ids of shard ``(K, N)``: every N-th from K − 1; all of them when ``shard`` is None."""
    return range(total) if shard is None else range(shard[0] - 1, total, shard[1])
