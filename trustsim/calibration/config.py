"""A calibration file: a scenario with a ``[calibrate]`` table, read and checked once, before any run.

The table names the parameters to calibrate with their priors, the structural readings to compare with
their prior weights, the targets (a measurement of ``targets.py``, a published value, its uncertainty, its
source, its role) and the budget. Every fault is one ``ParamError`` line naming the key (exit status 2).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from pathlib import Path
from types import UnionType
from typing import Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator, model_validator

from ..errors import ParamError, safe_text, suggest
from ..params import GROUPS, MAX_SEED, ORDERED, Params, bounds, parameter_key, plain_number, range_fault
from ..scenario import load_scenario, quote_the_name
from .targets import MEASUREMENTS

# a target's value is within ±FIGURE_LIMIT and its sd from 1 / FIGURE_LIMIT to FIGURE_LIMIT: then each term of the
# distance, ((figure + error − value) / scale)² with scale ≥ sd, is below 1e203 and the sum of them stays finite
FIGURE_LIMIT, FIGURE_LIMIT_TEXT = 1e50, "1e50"
# a prior at least this share of its larger end wide (and 1e-100 at least): narrower, its draws are a handful of
# floating-point numbers, which the sampler's moves and the figures' bins cannot tell apart
MIN_WIDTH, MIN_WIDTH_TEXT = 1e-9, "1e-9"


class _Table(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, allow_inf_nan=False)


class Prior(_Table):
    """A uniform prior over [lo, hi] (default: the range ``trustsim params`` shows)."""
    distribution: Literal["uniform"] = "uniform"
    lo: float | int | None = None
    hi: float | int | None = None


class Structure(_Table):
    """A contested reading the calibration chooses between: its values and their prior weights (default equal)."""
    values: list[Any] = Field(min_length=1)
    weights: list[float | int] | None = None

    @model_validator(mode="after")
    def _weights(self):
        if self.weights is not None:
            if len(self.weights) != len(self.values):
                raise ValueError(f"{len(self.weights)} weights for {len(self.values)} values")
            if any(w < 0 for w in self.weights) or sum(self.weights) <= 0:
                raise ValueError("weights must be non-negative and not all zero")
            if not math.isfinite(sum(self.weights)):  # 1e308 twice: each weight over the sum would be 0
                raise ValueError(f"weights must have a finite sum, not {sum(self.weights)}")
        return self


class Target(_Table):
    """A published figure: its measure (``targets.MEASUREMENTS``), value, sd, source and role (fitted or held out)."""
    name: str = Field(min_length=1)
    measure: str
    value: float | int
    sd: float | int = Field(gt=0)
    source: str = ""
    role: Literal["calibrate", "held_out"] = "calibrate"

    @field_validator("value", "sd")
    @classmethod
    def _finite_distance(cls, v, info: ValidationInfo):
        if info.field_name == "value" and not -FIGURE_LIMIT <= v <= FIGURE_LIMIT:
            raise ValueError(f"{v!r} is too large: a target's value must be within ±{FIGURE_LIMIT_TEXT}, so that its "
                             "distance ((figure − value) / sd)² stays finite")
        if info.field_name == "sd" and not 1 / FIGURE_LIMIT <= v <= FIGURE_LIMIT:
            raise ValueError(f"{v!r} is out of range: a target's sd must be from 1e-50 to {FIGURE_LIMIT_TEXT}, so that "
                             "its distance ((figure − value) / sd)² stays finite")
        return v

    @model_validator(mode="after")
    def _measure(self):
        if self.measure not in MEASUREMENTS:
            raise ValueError(f'unknown measure "{self.measure}"{suggest(self.measure, MEASUREMENTS)}; '
                             f"one of {', '.join(MEASUREMENTS)}")
        return self


class Predictive(_Table):
    """How many posterior draws the predictive checks re-simulate, for the targets and for the pattern suite."""
    draws: int = Field(50, ge=1, le=100_000)            # posterior draws re-simulated for the targets
    pattern_draws: int = Field(10, ge=0, le=10_000)     # posterior draws the pattern suite runs at
    pattern_seeds: int = Field(4, ge=2, le=1000)        # seeds per pattern variant and draw


MAX_RUNS = 100_000_000  # market runs a calibration makes at most: its budget, and its coverage check's data sets in all


class Calibrate(_Table):
    """A ``[calibrate]`` table, validated: budget, ABC-SMC settings, priors, structures, targets (docs/ODD.md,
    Calibration)."""
    budget: int = Field(3000, ge=10, le=MAX_RUNS)        # market runs in all (the noise estimate included)
    population: int = Field(200, ge=4, le=1_000_000)     # particles per generation
    generations: int = Field(20, ge=1, le=10_000)        # at most
    min_tolerance: float | int = Field(0.0, ge=0)        # stop when the tolerance falls to this
    min_acceptance: float = Field(0.02, gt=0, le=1)     # stop when a generation accepts fewer of its proposals
    quantile: float = Field(0.5, gt=0, lt=1)            # next tolerance: this quantile of the distances
    replicates: int = Field(1, ge=1, le=1000)            # runs (seeds) per particle, their figures averaged
    noise_replicates: int = Field(12, ge=2, le=10_000)   # runs at the prior's centre: run-to-run variance
    switch_probability: float = Field(0.1, ge=0, le=1)  # chance a perturbed particle changes structure
    seed: int = Field(20250125, ge=0, le=MAX_SEED)      # root of every seed of the calibration
    parameters: dict[str, Prior] = Field(min_length=1)
    structures: dict[str, Structure] = {}
    targets: list[Target] = Field(min_length=1)
    predictive: Predictive = Predictive()


TABLE_KEYS = tuple(Calibrate.model_fields)
MAX_STRUCTURES = 100_000  # combinations of [calibrate.structures] readings (the product of their numbers of values)
# a calibration folder: its state, the journal of its runs, and the tables the report writes
STATE, JOURNAL = "calibration.json", "journal.jsonl"
TABLES = ("posterior.parquet", "coverage.csv", "predictive.csv", "screening.csv", "calibration.md")


@dataclass(frozen=True)
class Calibration:
    """A validated calibration: the scenario's parameters, the priors and structures, the targets."""
    name: str
    source: str
    base: Params
    table: dict                         # [calibrate] as written
    spec: Calibrate
    keys: tuple[str, ...]               # calibrated parameters, "group.name"
    lo: tuple[float, ...]
    hi: tuple[float, ...]
    structures: tuple[dict, ...]        # each structure: {"group.name": value}
    structure_prior: tuple[float, ...]
    sha256: str | None = None
    scenario: Any = None

    @property
    def calibrate_targets(self) -> list[Target]:
        """The targets the calibration fits, without the held-out ones."""
        return [t for t in self.spec.targets if t.role == "calibrate"]

    @property
    def fitted_patterns(self) -> list[str]:
        """The patterns whose measurements the fitted targets are (``targets.MEASUREMENTS``): the posterior
        predictive checks test them in sample, not held out."""
        return sorted({MEASUREMENTS[t.measure].pattern for t in self.calibrate_targets},
                      key=lambda name: (name[0], int(name[1:])))

    def structure_label(self, m: int) -> str:
        """Structure ``m`` as ``group.name=value`` pairs, or ``as the scenario`` when it changes nothing."""
        s = self.structures[m]
        return ", ".join(f"{k}={_shown(v)}" for k, v in s.items()) or "as the scenario"

    def params(self, theta, m: int) -> Params:
        """The scenario's parameters with ``theta`` (one value per calibrated key) and structure ``m``."""
        return self.base.replace(**dict(zip(self.keys, (float(x) for x in theta), strict=True)), **self.structures[m])


def _shown(v) -> str:
    return str(v).lower() if isinstance(v, bool) else str(v)


def _key_parts(loc: tuple) -> list[str]:
    """The parts of a validation error's location that are keys of the table, without the names pydantic adds for
    the member of a union it tried (``min_tolerance``'s ``float``, not ``min_tolerance.float``)."""
    parts, ann = [], Calibrate
    for part in loc:
        if str(part).startswith(("function-after", "union")):
            continue
        if get_origin(ann) in (Union, UnionType):
            members = [a for a in get_args(ann) if a is not type(None)]
            tried = next((a for a in members if getattr(a, "__name__", None) == part), None)
            if tried is not None:  # the union member pydantic tried, not a key
                ann = tried
                continue
            ann = members[0] if len(members) == 1 else None  # X | None: the part belongs to X
        parts.append(str(part))
        if isinstance(ann, type) and issubclass(ann, BaseModel):
            field = ann.model_fields.get(str(part))
            ann = field.annotation if field else None
        elif get_origin(ann) in (dict, list):
            ann = get_args(ann)[-1]
        else:
            ann = None
    return parts


def _error(source: str, exc: ValidationError) -> ParamError:
    """The first validation error as one line naming its key, with a suggestion for a misspelt key."""
    errors = exc.errors()
    err = next((e for e in errors if e["type"] == "extra_forbidden"), errors[0])  # a misspelt key first
    loc = _key_parts(err["loc"])
    key = ".".join(["calibrate", *loc])
    if err["type"] == "extra_forbidden" and loc[0] == "parameters" and len(loc) == 3 and loc[1] in GROUPS:
        # time.h_admin = { … } unquoted: TOML's table time holding h_admin
        return ParamError(source, f"calibrate.parameters.{loc[1]}", quote_the_name(*loc[1:]))
    if err["type"] == "extra_forbidden":
        model: Any = Calibrate
        for part in loc[:-1]:
            field = model.model_fields.get(part) if isinstance(model, type) else None
            ann = getattr(field, "annotation", None)
            inner = [a for a in getattr(ann, "__args__", ()) if isinstance(a, type) and issubclass(a, BaseModel)]
            model = ann if isinstance(ann, type) and issubclass(ann, BaseModel) else (inner[-1] if inner else model)
        return ParamError(source, key, f"unknown key{suggest(loc[-1], list(model.model_fields))}")
    if err["type"] in ("model_type", "dict_type"):  # "… or instance of Target": the class is no name of the file's
        return ParamError(source, key, f"expected a table, got {type(err['input']).__name__}")
    msg = err["msg"].removeprefix("Value error, ")
    return ParamError(source, key, msg[0].lower() + msg[1:])


def budget_fault(spec: Calibrate, budget: int) -> str | None:
    """Why ``budget`` runs cannot give a posterior, or None: they must cover the run-noise estimate and one whole
    generation (ABC-SMC keeps a generation the budget cuts short only when half of it was accepted)."""
    least = spec.noise_replicates + spec.population * spec.replicates
    if budget >= least:
        return None
    return (f"{budget} runs do not cover the run-noise estimate and one generation: at least {least} "
            f"(noise_replicates {spec.noise_replicates} + population {spec.population} × replicates "
            f"{spec.replicates})")


def coverage_budget_fault(spec: Calibrate, budget: int) -> str | None:
    """Why ``budget`` runs per coverage data set cannot give its posterior, or None: they must cover one whole
    generation (a data set's calibration reuses the run-noise estimate, so it draws no noise runs of its own)."""
    least = spec.population * spec.replicates
    if budget > MAX_RUNS:
        return f"{safe_text(budget)} runs per data set are more than the {MAX_RUNS} a calibration makes at most"
    if budget >= least:
        return None
    return (f"{budget} runs per data set do not cover one generation: at least {least} (population "
            f"{spec.population} × replicates {spec.replicates})")


def coverage_fault(datasets: int, runs: int) -> str | None:
    """Why ``datasets`` coverage data sets of ``runs`` runs each are too many, or None: each is a calibration of its
    own, and together they may make no more runs than one calibration's budget may (``MAX_RUNS``)."""
    if datasets * runs <= MAX_RUNS:
        return None
    return (f"{safe_text(datasets)} data sets of {runs} runs each make more than the {MAX_RUNS} market runs a "
            f"calibration makes at most; at most {MAX_RUNS // runs} at {runs} runs each")


def box_fault(base: Params, keys, lo, hi) -> tuple[str, str] | None:
    """The first limit between parameters (``params.ORDERED``: low ≤ high) that a point of the prior box breaks, as
    (the calibrated key to name, why), else None. A comparison of two fields holds on the whole box when it holds
    where the low field is highest and the high field lowest, so one look per limit decides, whatever the box's
    dimension (the fields outside the box keep the scenario's values; a structure sets no real-valued field)."""
    box, fixed = {k: (a, b) for k, a, b in zip(keys, lo, hi, strict=True)}, base.flat()
    for low, high in ORDERED:
        if low not in box and high not in box:
            continue
        top = box[low][1] if low in box else fixed[low]
        bottom = box[high][0] if high in box else fixed[high]
        if top <= bottom:
            continue
        rule = f"{low} must not exceed {high}"
        if low in box and high in box:
            return low, (f"its prior reaches {top}, above {bottom}, the lowest value of {high}'s prior ({rule}); "
                         f"keep this prior's hi at or below that prior's lo")
        if low in box:
            return low, f"its prior reaches {top}, above {high} ({bottom}) ({rule}); keep hi at or below {bottom}"
        return high, f"its prior reaches down to {bottom}, below {low} ({top}) ({rule}); keep lo at or above {top}"
    return None


def whole(name: str, value, least: int, most: int | None):
    """``value`` (a Python or NumPy integer, or None) as an int from ``least`` to ``most``, else a ParamError naming
    ``name``: the argument from Python, the option (``Words.name``) from the command line, which checks no more."""
    value = plain_number(value)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < least or (most and value > most):
        upto = f" from {least} to {most}" if most else f" of at least {least}"
        raise ParamError(name, None, f"expected a whole number{upto}, got {safe_text(repr(value))}")
    return value


def build_calibration(name: str, source: str, base: Params, table: Any, scenario: Any = None) -> Calibration:
    """Validate a ``[calibrate]`` table against the schema and lay out its priors and structures."""
    if not isinstance(table, dict):
        raise ParamError(source, "calibrate", "expected a table [calibrate]")
    try:
        spec = Calibrate.model_validate(table)
    except ValidationError as exc:
        raise _error(source, exc) from None
    if fault := budget_fault(spec, spec.budget):
        raise ParamError(source, "calibrate.budget", fault)
    keys, lo, hi, given_as = [], [], [], {}
    # on use: only this path needs members
    from ..members import REAL_KEYS

    for given, prior in spec.parameters.items():
        where = f"calibrate.parameters.{given}"
        key = parameter_key(given, source, where)
        if key not in REAL_KEYS:
            raise ParamError(source, where, "is not a real-valued parameter; compare its values as a structure "
                                            "([calibrate.structures]) instead")
        if key in keys:
            raise ParamError(source, where, "names the same parameter twice")
        dlo, dhi = bounds(key)
        a = dlo if prior.lo is None else float(prior.lo)
        b = dhi if prior.hi is None else float(prior.hi)
        if a is None or b is None or not math.isfinite(a) or not math.isfinite(b):
            raise ParamError(source, where, "has no finite range; give lo and hi")
        if why := range_fault(key, a, b):
            raise ParamError(source, where, why)
        if not a < b:  # naming only what the file gives: a missing end is the parameter's range's
            if prior.lo is None:
                why = f"hi ({b}) must be above {a}, the lowest value of the parameter's range"
            elif prior.hi is None:
                why = f"lo ({a}) must be below {b}, the highest value of the parameter's range"
            else:
                why = f"lo ({a}) must be below hi ({b})"
            raise ParamError(source, where, why)
        if b - a < max(MIN_WIDTH * max(abs(a), abs(b)), 1e-100):
            raise ParamError(source, where, f"lo ({a}) and hi ({b}) are too close to sample or draw: a prior must be "
                                            f"at least {MIN_WIDTH_TEXT} of its larger end (and 1e-100) wide; to hold "
                                            "the parameter fixed, set it in the scenario instead")
        given_as[key] = given
        keys.append(key)
        lo.append(float(a))
        hi.append(float(b))
    if fault := box_fault(base, keys, lo, hi):
        key, why = fault
        raise ParamError(source, f"calibrate.parameters.{given_as[key]}", why)
    settings, values, weights = [], [], []
    for given, st in spec.structures.items():
        where = f"calibrate.structures.{given}"
        key = parameter_key(given, source, where)
        if key in REAL_KEYS or key in keys or key == "run.seed":
            raise ParamError(source, where, "a structure is a setting that is not a real number (a choice of words "
                                            "or true/false); calibrate a real-valued parameter under parameters")
        for v in st.values:
            try:
                base.replace(**{key: v})
            except ParamError as exc:
                raise ParamError(source, where, exc.message) from None
        if len(set(map(repr, st.values))) < len(st.values):
            raise ParamError(source, where, "repeats a value")
        settings.append(key)
        values.append(st.values)
        w = st.weights or [1.0] * len(st.values)
        weights.append([x / sum(w) for x in w])
    if (count := math.prod(len(v) for v in values)) > MAX_STRUCTURES:  # each one is laid out, with its weight
        sizes = " × ".join(str(len(v)) for v in values)
        raise ParamError(source, "calibrate.structures", f"{count:,} combinations of readings ({sizes}), more "
                                                         f"than the {MAX_STRUCTURES:,} a calibration compares; "
                                                         "give fewer values")
    combos = list(itertools.product(*[range(len(v)) for v in values]))
    structures = tuple({k: values[j][i] for j, (k, i) in enumerate(zip(settings, c, strict=True))} for c in combos)
    prior = tuple(math.prod(weights[j][i] for j, i in enumerate(c)) for c in combos)
    names = [t.name for t in spec.targets]
    for i, n in enumerate(names):
        if n in names[:i]:
            raise ParamError(source, f"calibrate.targets.{i}.name", f'"{n}" names two targets')
    if not any(t.role == "calibrate" for t in spec.targets):
        raise ParamError(source, "calibrate.targets", "no target has role \"calibrate\"")
    for s, p in zip(structures, prior, strict=True):
        if p > 0:
            base.replace(**s)  # every structure must make valid parameters
    return Calibration(name=name, source=source, base=base, table=table, spec=spec, keys=tuple(keys), lo=tuple(lo),
                       hi=tuple(hi), structures=structures, structure_prior=prior,
                       sha256=getattr(scenario, "sha256", None), scenario=scenario)


def load_calibration(path: str | Path) -> Calibration:
    """Read and validate a calibration file (a scenario with a ``[calibrate]`` table); ParamError on bad input."""
    scenario = load_scenario(path)
    if scenario.calibrate is None:
        inherited = "; the one of a file it extends is not inherited: write it out here" if scenario.chain[1:] else ""
        raise ParamError(str(path), "calibrate", "no [calibrate] table: a calibration file is a scenario with a "
                                                 f"[calibrate] table (parameters, targets, budget){inherited}")
    return build_calibration(scenario.name, str(path), scenario.params, scenario.calibrate, scenario)

