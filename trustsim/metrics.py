"""What is measured each step (docs/ODD.md section 7.14), by posture and for the market.

Every figure is an array expression over the model's state and this step's events: no per-agent
reporters, so measuring a market of 100 000 buyers costs a few bincounts. ``Recorder`` keeps one
row per step and group in a preallocated array; ``BuyerAccumulator`` keeps each buyer's long-run
sums (second half of the run) for the per-agent outputs and the quintile patterns (P3, P4).
"""

from __future__ import annotations

import contextlib
import functools
import warnings
from typing import NamedTuple

import numpy as np

from .columns import COLUMN_NAMES, COLUMNS, COUNT_COLUMNS, purchasing_hours
from .state import COST_PARTS  # noqa: F401  (re-exported for the figures)
from .stats import mser5

POSTURES = ("partner", "aggressive")  # a buyer's posture (is_partner: the first)
POSTURE_GROUPS = (*POSTURES, "all")  # the rows of each step's measurements: by posture, then the market
COUNTED = np.array([c.count for c in COLUMNS])  # counts of events: 0 where nothing was counted; other figures NaN
_EMPTY_GROUP = np.where(COUNTED, 0.0, np.nan)  # a group without buyers: its size and counts 0, every other figure NaN
TIMESERIES_HEADER = ("step", "group", *COLUMN_NAMES)
SHORT_RUN_STEPS = 8
_GROUP_AT = {g: i for i, g in enumerate(POSTURE_GROUPS)}  # where a group and a column sit in a step's rows
_COLUMN_AT = {c: i for i, c in enumerate(COLUMN_NAMES)}
BUSINESS_STEPS = 40  # a business horizon of ten years (docs/ODD.md, Observation)


_DIVISORS = ("total", "mean", "per_buyer")  # what a column's group total is divided by: 1, relationships, buyers


class _Plan(NamedTuple):
    """Where every column's figure comes from (once, at import). The step's group totals form one table,
    the relationship values' totals first, then the buyer values'; a column is its total divided by 1, the
    group's relationships or its buyers (``cols``, ``src``, ``divisor``: a place in ``_DIVISORS``), a ratio of
    totals (``ratio_*``: ``terms`` holds the places of its denominator's terms, one row per term, added in
    order; a ratio with fewer terms than the most has the table's last place, a column of zeros, for the rest:
    ``x + 0`` is ``x``), or one figure per market (``market``)."""

    rel: list
    buy: list
    cols: np.ndarray
    src: np.ndarray
    divisor: np.ndarray
    ratio_cols: np.ndarray
    ratio_src: np.ndarray
    ratio_terms: np.ndarray
    market: tuple


def _plan() -> _Plan:
    """The measurement plan of ``COLUMNS``."""
    rel = [c.value for c in COLUMNS if c.on == "relationships"]
    over = {}
    for i, c in enumerate(COLUMNS):
        if c.on == "relationships" and c.over:
            over[i] = list(range(len(rel), len(rel) + len(c.over)))
            rel.extend(c.over)
    buy = [c.value for c in COLUMNS if c.on == "buyers"]
    at = {i: n for n, i in enumerate(i for i, c in enumerate(COLUMNS) if c.on == "relationships")}
    at |= {i: len(rel) + n for n, i in enumerate(i for i, c in enumerate(COLUMNS) if c.on == "buyers")}
    plain = [i for i in at if COLUMNS[i].how != "ratio"]
    ratios = [i for i in at if COLUMNS[i].how == "ratio"]
    zeros = len(rel) + len(buy)  # the totals' last place: a column of zeros
    terms = np.full((max((len(over[i]) for i in ratios), default=0), len(ratios)), zeros)
    for j, i in enumerate(ratios):
        terms[: len(over[i]), j] = over[i]
    divide = {"buyers": "total", "total": "total", "mean": "mean", "per_buyer": "per_buyer"}
    return _Plan(rel, buy, np.array(plain), np.array([at[i] for i in plain]),
                 np.array([_DIVISORS.index(divide[COLUMNS[i].how]) for i in plain]),
                 np.array(ratios), np.array([at[i] for i in ratios]), terms,
                 tuple((i, c.value) for i, c in enumerate(COLUMNS) if c.on == "market"))


_PLAN = _plan()


@functools.cache
def _buyers_per_divisor(k: int) -> np.ndarray:
    """Per plain column of ``_PLAN``, what its group total is divided by per buyer of the group: 0 for a total
    (divided by 1: ``max(0, 1)``), ``k`` slots for a mean over relationships, 1 for a mean over buyers."""
    per_buyer = {"total": 0.0, "mean": float(k), "per_buyer": 1.0}
    return np.array([per_buyer[d] for d in _DIVISORS])[_PLAN.divisor]


def _ratio(top, below):
    """``top / below``, 0 where ``below`` is 0 or so small that the ratio overflows (no hours: no productivity)."""
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        r = np.divide(top, below, out=np.zeros(np.shape(top)), where=below > 0)
    r[~np.isfinite(r)] = 0.0
    return r


def _mean_over_steps(rows: np.ndarray) -> np.ndarray:
    """Each column's mean over the steps (``rows``: steps × columns) where it is a number, NaN where it never is.
    Where the sum overflows though every figure is finite (units per purchasing hour when an hour parameter is
    almost 0: 10³⁰⁷ a step), the mean of the figures each divided by their count first."""
    mean = np.nanmean(rows, axis=0)
    over = np.isinf(mean)
    if over.any():
        counted = np.count_nonzero(~np.isnan(rows[:, over]), axis=0)
        mean[over] = np.nansum(rows[:, over] / counted, axis=0)
    return mean


def _group_totals(values: list, groups: np.ndarray, members: int, masks: np.ndarray | None = None) -> np.ndarray:
    """Totals of each value over each group, per market: ``(markets, groups, values)``; ``groups`` is each
    element's membership, ``(elements, groups)``, and ``masks`` the same as booleans, ``(groups, elements)``.

    Matrix products per market, each on its own contiguous block, so a market's totals are the same numbers
    whether it is measured alone or among others. A small market's values are copied into one table
    (values × elements) for one product; a large market's are multiplied one by one where they lie, rather
    than copied into a table larger than the processor's caches (a market has one way or the other by its
    own size, so alone and among others alike). Given ``masks``, a large market's events (booleans) are counted
    instead (``_event_counts``: the same numbers).
    """
    n = len(groups) // members
    g = groups.reshape(members, n, groups.shape[1])
    if n < _PER_VALUE_FROM:  # one copy into (values, markets, elements), converting bools and counts; each
        # market's (values, elements) block is then one matrix with rows apart in memory, which BLAS reads as such
        v = np.concatenate(values, dtype=float).reshape(len(values), members, n).transpose(1, 0, 2)
        with _one_blas_thread(v.size):
            return np.matmul(v, g).transpose(0, 2, 1)
    out = np.empty((members, groups.shape[1], len(values)))
    with _one_blas_thread(members * len(values) * n):
        for j, value in enumerate(values):
            if masks is not None and value.dtype == bool:
                out[:, :, j] = _event_counts(value.reshape(members, n), masks.reshape(len(masks), members, n))
            else:
                out[:, :, j] = np.matmul(value.reshape(members, 1, n).astype(float, copy=False), g)[:, 0, :]
    return out


def _event_counts(events: np.ndarray, masks: np.ndarray) -> np.ndarray:
    """Totals of booleans ``events`` (markets × elements) over each group (``masks``: groups × markets × elements):
    ``(markets, groups)``, by counting. A sum of ones and zeros is a whole number, exact in floating point in any
    order below 2⁵³, so these are the numbers the matrix product gives, without converting the events to floats
    or reading the memberships as floats."""
    return np.array([[np.count_nonzero(e & m) for m in member_masks]
                     for e, member_masks in zip(events, masks.transpose(1, 0, 2), strict=True)], dtype=float)


_PER_VALUE_FROM = 1 << 14  # elements of one market
_THREADED_SIZE = 1 << 16


@functools.cache
def _blas_threads():
    """threadpoolctl's controller of BLAS's threads, or None if it is not installed (created on first use)."""
    try:
        # optional, on first use: installed with SciPy's and scikit-learn's extras; without it BLAS keeps its threads
        from threadpoolctl import ThreadpoolController
    except ImportError:
        return None
    return ThreadpoolController()


def _one_blas_thread(size: int):
    """A context that runs BLAS on one thread for products over ``size`` numbers (nothing if threadpoolctl is
    not installed, or below ``_THREADED_SIZE``, where BLAS runs on one thread anyway).

    The group totals are products of a few values by three groups: threads cost more to wake than they save
    (on a busy machine a product of 11 values × 20 000 buyers took 8 ms on two threads and 0.25 ms on one),
    and under ensembles on every core they only contend. OpenBLAS splits a product's rows and columns among
    threads, never its sums, so the totals are the same numbers on any number of threads.
    """
    controller = _blas_threads() if size >= _THREADED_SIZE else None
    return contextlib.nullcontext() if controller is None else controller.limit(limits=1, user_api="blas")


class _Memberships(NamedTuple):
    """Each element's membership of the groups partner, aggressive and all: as numbers ``(elements, 3)`` for the
    products, and as booleans ``(3, elements)`` for counting events (``_group_totals``)."""

    groups: np.ndarray
    masks: np.ndarray


@functools.lru_cache(maxsize=1)
def _memberships(is_partner: bytes, k: int, members: int) -> tuple[_Memberships, _Memberships, np.ndarray, np.ndarray]:
    """Each buyer's and each relationship's memberships, for the buyers' postures ``is_partner`` (as bytes), and
    what the plain columns' totals are divided by and which groups are empty, per market (from the groups' buyers,
    a count: the numbers the totals hold): kept from step to step while the postures stay (only the market last
    measured: the memory a step needed for them anyway); read-only."""
    partner = np.frombuffer(is_partner, dtype=bool)
    masks_b = np.stack([partner, ~partner, np.ones_like(partner)])
    masks_r = np.repeat(masks_b, k, axis=1)
    groups_b, groups_r = (np.ascontiguousarray(m.T, dtype=float) for m in (masks_b, masks_r))  # rows in memory
    n = groups_b.reshape(members, -1, groups_b.shape[1]).sum(axis=1)  # buyers in each group
    divisors, empty = np.maximum(n[:, :, None] * _buyers_per_divisor(k), 1), n == 0
    for a in (masks_b, masks_r, groups_b, groups_r, divisors, empty):
        a.flags.writeable = False
    return _Memberships(groups_b, masks_b), _Memberships(groups_r, masks_r), divisors, empty


def step_measurements(model) -> np.ndarray:
    """The registry's columns for this step: ``(markets, groups, columns)``, groups partner, aggressive, all.

    Group totals of every column's values come from matrix products per market (values × relationships by
    relationships × groups, and the same over buyers; one product per value in a large market,
    ``_group_totals``), so measuring costs a few calls whatever the market's size; each column's
    aggregation (``columns.HOWS``) then turns totals into its figure, every column at once (``_PLAN``): a total
    divided by 1, by the group's relationships or by its buyers, or a ratio of totals.
    """
    mk = model.market
    buyers, relationships, divisors, empty = _memberships(mk.is_partner.tobytes(), mk.k, mk.members)
    totals = np.concatenate([_group_totals([f(model) for f in _PLAN.rel], relationships.groups, mk.members,
                                           relationships.masks),
                             _group_totals([f(model) for f in _PLAN.buy], buyers.groups, mk.members, buyers.masks),
                             np.zeros((mk.members, len(POSTURE_GROUPS), 1))], axis=2)  # ratio_terms' zeros
    rows = np.empty((mk.members, len(POSTURE_GROUPS), len(COLUMN_NAMES)))
    rows[:, :, _PLAN.cols] = totals[:, :, _PLAN.src] / divisors
    if len(_PLAN.ratio_cols):
        below = totals[:, :, _PLAN.ratio_terms[0]]
        for places in _PLAN.ratio_terms[1:]:  # a ratio's denominator's further terms, added in order
            below += totals[:, :, places]
        rows[:, :, _PLAN.ratio_cols] = _ratio(totals[:, :, _PLAN.ratio_src], below)
    for col, f in _PLAN.market:  # one value per market, or one for every market
        rows[:, :, col] = np.asarray(f(model)).reshape(-1, 1)
    if empty.any():
        rows[empty] = _EMPTY_GROUP
    return rows


def _over_both_postures(span: np.ndarray) -> dict | None:
    """The two postures' means over the steps of ``span`` (steps × groups × columns) where both had buyers, and
    how many those were (``steps``): the window an advantage compares them over, when a posture was empty in some
    of its steps (learning or imitated postures; fixed postures never are: None, the groups' own means serve).
    A group's means are over the steps it had buyers while its size (``buyers``) counts every step, so a posture
    present in a few steps of a window had a tiny mean size and a share per buyer many times the market's. (Called
    where ``Recorder.summary`` quiets the warnings of a mean over no step.)"""
    sizes = span[:, :2, _COLUMN_AT["buyers"]]
    both = (sizes > 0).all(axis=1)
    if both.all():
        return None
    return {"steps": int(both.sum()),
            **{g: dict(zip(COLUMN_NAMES, (float(x) for x in _mean_over_steps(span[both, i])), strict=True))
               for i, g in enumerate(POSTURES)}}


class Recorder:
    """One row per step, market and group, preallocated and grown by doubling for open-ended runs.

    ``rows``, ``latest``, ``summary`` and ``frame`` are the first market's (a single run's); ``member(i)``
    gives the same for market ``i`` of an ensemble.
    """

    def __init__(self, expected_steps: int, members: int = 1):
        self.data = np.zeros((max(expected_steps, 1), members, len(POSTURE_GROUPS), len(COLUMN_NAMES)))
        self.n = 0

    def append(self, rows: np.ndarray) -> None:
        """This step's ``(markets, groups, columns)`` figures."""
        if self.n == len(self.data):
            self.data = np.concatenate([self.data, np.zeros_like(self.data)])
        self.data[self.n] = rows
        self.n += 1

    def member(self, i: int) -> Recorder:
        """Market ``i``'s record alone (a copy)."""
        one = Recorder.__new__(Recorder)
        one.data, one.n = self.data[: self.n, i: i + 1].copy(), self.n
        return one

    @property
    def rows(self) -> np.ndarray:
        """The recorded steps' ``(steps, groups, columns)`` figures of the first market."""
        return self.data[: self.n, 0]

    def latest(self, group: str, column: str) -> float:
        """The last step's figure; NaN (a count: 0) for a group with no buyers, or before the first step."""
        if self.n == 0:
            return 0.0 if COUNTED[_COLUMN_AT[column]] else float("nan")
        return float(self.data[self.n - 1, 0, _GROUP_AT[group], _COLUMN_AT[column]])

    def latest_of(self, groups: np.ndarray, columns: np.ndarray) -> list[float]:
        """``latest`` of several figures at once (groups and columns by position, ``POSTURE_GROUPS`` and
        ``COLUMN_NAMES``): one gather of the last step's row."""
        if self.n == 0:
            return [self.latest(POSTURE_GROUPS[g], COLUMN_NAMES[c]) for g, c in zip(groups, columns, strict=True)]
        return self.data[self.n - 1, 0, groups, columns].tolist()

    def at(self, step: int, group: str, column: str) -> float:
        """A figure at ``step`` (1-based; the last step if the run is shorter)."""
        n = min(step, self.n)
        if n == 0:
            return float("nan")
        return float(self.data[n - 1, 0, POSTURE_GROUPS.index(group), COLUMN_NAMES.index(column)])

    def summary(self) -> dict:
        """``long_run`` (means over the second half, the steps ``long_run_steps``), ``business_horizon`` (the
        first 40 steps, ten years) and ``short_run`` (first 8 steps), by group; a figure is the mean over the
        steps its group had buyers, NaN if it had none. ``steady_state``: MSER-5's warm-up of this run's partner
        share advantage (of its buyers' trust when a posture is empty), and whether it ends in the first half,
        so that the long run is steady (docs/ODD.md, Observation)."""
        rows = self.rows
        n = len(rows)
        first = n // 2 if n > 1 else 0
        spans = {"long_run": rows[first:], "business_horizon": rows[:BUSINESS_STEPS],
                 "short_run": rows[:SHORT_RUN_STEPS]}
        with np.errstate(invalid="ignore"), warnings.catch_warnings():  # over the steps a group had buyers
            warnings.simplefilter("ignore", RuntimeWarning)             # (NaN when it had none)
            out = {name: {g: dict(zip(COLUMN_NAMES, (float(x) for x in _mean_over_steps(span[:, i])), strict=True))
                          for i, g in enumerate(POSTURE_GROUPS)} for name, span in spans.items() if len(span)}
            both = {name: means for name, span in spans.items()
                    if len(span) and (means := _over_both_postures(span)) is not None}
        if both:
            out["both_postures"] = both
        warm_up, steady = mser5(self.steady_series())
        out["long_run_steps"] = [first + 1, n]
        out["steady_state"] = {"mser5_warm_up_steps": warm_up, "steady": bool(steady and warm_up <= first)}
        return out

    def steady_series(self, market: int = 0) -> np.ndarray:
        """The series whose warm-up decides the steady state: the partner share advantage per step (in units of
        the equal share), or the buyers' mean trust when a posture has no buyers; of the first market or ``market``."""
        rows = self.data[: self.n, market]
        b, s = COLUMN_NAMES.index("buyers"), COLUMN_NAMES.index("market_share")
        p, a = rows[:, 0], rows[:, 1]
        if (p[:, b] > 0).all() and (a[:, b] > 0).all():
            return (p[:, s] / p[:, b] - a[:, s] / a[:, b]) * (p[:, b] + a[:, b])
        return rows[:, 2, COLUMN_NAMES.index("trust_buyer")]

    def steady_series_each(self) -> np.ndarray:
        """``steady_series`` of every market: ``(markets, steps)``."""
        return np.array([self.steady_series(i) for i in range(self.data.shape[1])])

    def frame(self):
        """The time series as a tidy table: one row per step and group."""
        # on use: only this path needs pandas
        import pandas as pd

        rows = self.rows
        n = len(rows)
        df = pd.DataFrame(rows.reshape(n * len(POSTURE_GROUPS), len(COLUMN_NAMES)), columns=COLUMN_NAMES)
        df.insert(0, "group", np.tile(POSTURE_GROUPS, n))
        df.insert(0, "step", np.repeat(np.arange(1, n + 1), len(POSTURE_GROUPS)))
        for c in COUNT_COLUMNS:
            df[c] = df[c].astype(np.int64)
        return df


class BuyerAccumulator:
    """Each buyer's sums over the long run (second half of the run): trust, hours, lots, units, ideas."""

    FIELDS = ("trust_b", "nonproductive", "productive", "inspected", "units", "purchasing", "ideas", "tco", "price",
              "trust_s", "integrity")

    def __init__(self, n_buyers: int, start_step: int):
        self.start_step = start_step
        self.steps = 0
        self.matrix = np.zeros((len(self.FIELDS), n_buyers))

    def add(self, model) -> None:
        """Add this step's per-buyer figures to the sums, from the first step of the run's second half."""
        if model.steps <= self.start_step:
            return
        mk, ev = model.market, model.ev
        k = mk.k
        rel = np.array([  # one row per figure (np.stack's table, without its Python layer)
            mk.trust_b / k, ev.nonproductive, ev.productive, ev.inspected, ev.volume,
            purchasing_hours(model), ev.supplier_ideas,
            ev.tco / k, mk.price / k, mk.trust_s / k, mk.integrity[mk.sup] / k,
        ])
        mk.per_buyer(rel, into=self.matrix)
        self.steps += 1

    def frame(self, model, member: int = 0):
        """Per buyer of market ``member``: posture, long-run trust, non-productive share, inspection rate, units
        per hour…"""
        # on use: only this path needs pandas
        import pandas as pd

        mk = model.market
        mine = slice(member * mk.buyers_each, (member + 1) * mk.buyers_each)
        s = dict(zip(self.FIELDS, self.matrix[:, mine], strict=True))
        steps = max(self.steps, 1)
        lots = float(self.steps * mk.k)
        hours = s["nonproductive"] + s["productive"]
        return pd.DataFrame({
            "buyer": np.arange(mk.buyers_each),
            "posture": np.where(mk.is_partner[mine], *POSTURES),
            "trust": s["trust_b"] / steps,
            "trusted_by_suppliers": s["trust_s"] / steps,
            "nonproductive_share": _ratio(s["nonproductive"], hours),
            "inspection_rate": s["inspected"] / lots if lots else np.zeros_like(hours),
            "units_per_purchasing_hour": _ratio(s["units"], s["purchasing"]),
            "ideas_per_step": s["ideas"] / steps,
            "component_price": s["price"] / steps,
            "tco_per_unit": s["tco"] / steps,
            "supplier_integrity_hidden": s["integrity"] / steps,
            "own_cost": mk.own_cost[mine],
            "market_share": mk.share[mine],
            "profit_cum": mk.profit_cum[mine],
        })
