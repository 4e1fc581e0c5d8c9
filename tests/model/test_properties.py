"""Properties of every run across the declared parameter space (Hypothesis), and runs at every edge.

Parameters are drawn from the schema itself (``schema_table.schema_rows`` and ``params.bounds``), so a new
parameter or a changed range is covered without touching this file. Market sizes are capped to keep
each case small (the engine's scaling is measured in ``benchmarks/``). Each run must give:

- no NaN or infinity in any output (per-step rows, summary, per-buyer frame), but NaN for every figure
  (not a count) of a group with no buyers, and only there;
- trust in [0, 1] both ways, and market shares summing to 1, after every step;
- money conserved each step: what buyers pay equals what suppliers receive (computed on each side);
- the same table again from the same seed.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from conftest import SMALL_PARAMS
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from trustsim import TrustMarket
from trustsim.columns import COUNT_COLUMNS
from trustsim.metrics import COLUMN_NAMES, COUNTED
from trustsim.params import GROUPS, Params, bounds, choices
from trustsim.schema_table import schema_rows

settings.register_profile("trustsim", derandomize=True, max_examples=150, deadline=None, print_blob=True,
                          suppress_health_check=[HealthCheck.too_slow])
PROFILE = settings.get_profile("trustsim")

# the largest value drawn for a size, so that each case runs in milliseconds (1 is always included)
CAPS = {"market.buyers": 60, "market.suppliers": 30, "run.steps": 40, "market.slots_per_buyer": 6,
        "buyers.n_bids": 40}
KEYS = [r["key"] for r in schema_rows()]
DEFAULTS = Params().flat()
CASES = {"property": 0, "edge": 0}


def field(key):
    group, name = key.split(".")
    return GROUPS[group].model_fields[name]


def capped_bounds(key):
    lo, hi = bounds(key)
    return lo, min(hi, CAPS.get(key, hi))


def strategy(key):
    """Values of one parameter: anywhere in its declared range, its edges included."""
    ann = field(key).annotation
    if ann is bool:
        return st.booleans()
    if ann is int:
        lo, hi = capped_bounds(key)
        return st.integers(lo, hi)
    if ann is float:
        lo, hi = capped_bounds(key)
        span = st.floats(lo, hi, allow_nan=False, allow_infinity=False)
        if hi - lo > 100:  # wide ranges: also values of every magnitude, not only the huge ones
            small = st.floats(lo, min(hi, 10.0), allow_nan=False, allow_infinity=False)
            return st.one_of(st.sampled_from([lo, hi]), small, span)
        return st.one_of(st.sampled_from([lo, hi]), span)
    return st.sampled_from(choices(key))


@st.composite
def parameter_sets(draw):
    """A full parameter set; each parameter drawn or (sometimes) left at its default."""
    values = {}
    for key in KEYS:
        if key == "run.seed":
            values[key] = draw(st.integers(0, 2**32))
        elif draw(st.integers(0, 4)) == 0:
            values[key] = DEFAULTS[key]
        else:
            values[key] = draw(strategy(key))
    if "run.steps" not in values or values["run.steps"] > CAPS["run.steps"]:
        values["run.steps"] = min(DEFAULTS["run.steps"], CAPS["run.steps"])
    for key in ("market.buyers", "market.suppliers"):
        values[key] = min(values[key], CAPS[key])
    lo, hi = sorted((values["prices.min_markup"], values["prices.fair_markup"]))  # the cross-field rule
    values["prices.min_markup"], values["prices.fair_markup"] = lo, hi
    return values


def check_run(changes: dict) -> TrustMarket:
    """Run a market step by step, asserting the invariants after every step; return it."""
    params = Params().replace(**changes)
    m = TrustMarket(params, rng=params.run.seed)
    while m.running:
        m.step()
        mk = m.market
        assert np.isfinite(mk.trust_b).all() and np.isfinite(mk.trust_s).all()
        assert mk.trust_b.min() >= 0 and mk.trust_b.max() <= 1, "buyer trust left [0, 1]"
        assert mk.trust_s.min() >= 0 and mk.trust_s.max() <= 1, "supplier trust left [0, 1]"
        assert math.isclose(mk.share.sum(), 1.0, rel_tol=1e-9), f"shares sum to {mk.share.sum()}"
        assert math.isclose(m.recorder.latest("all", "market_share"), 1.0, rel_tol=1e-9)
        paid, received = m.ev.paid_by_buyers.item(), m.ev.received_by_suppliers.item()  # one market
        assert math.isfinite(paid) and math.isfinite(received)
        assert math.isclose(paid, received, rel_tol=1e-9, abs_tol=1e-9), (paid, received)
    assert m.steps == params.run.steps and len(m.recorder.rows) == params.run.steps
    rows = m.recorder.rows
    empty = rows[:, :, COLUMN_NAMES.index("buyers")] == 0                   # (steps, groups)
    expected_nan = empty[:, :, None] & ~COUNTED                         # figures of a group with no buyers
    assert np.array_equal(np.isnan(rows), expected_nan), "NaN where a group has buyers, or a number where not"
    assert not np.isinf(rows).any(), "infinity in the per-step rows"
    assert np.array_equal(m.recorder.frame().drop(columns=["step", "group"]).isna().to_numpy(),
                          expected_nan.reshape(-1, len(COLUMN_NAMES)))
    summary = m.recorder.summary()
    for span in ("long_run", "business_horizon", "short_run"):
        for group, cols in summary.get(span, {}).items():
            none = cols["buyers"] == 0
            bad = [c for c, v in cols.items() if not math.isfinite(v) and not (none and math.isnan(v))]
            assert not bad, f"summary {group}: {bad}"
            if none:
                assert all(math.isnan(v) == (c not in COUNT_COLUMNS) for c, v in cols.items()), cols
    buyers = m.buyer_sums.frame(m)
    numeric = buyers.select_dtypes("number").to_numpy(dtype=float)
    assert numeric.shape[0] == params.market.buyers and np.isfinite(numeric).all(), "NaN in the per-buyer frame"
    return m


@pytest.fixture(scope="module", autouse=True)
def report_counts():
    yield
    print(f"\nproperty cases tried: {CASES['property']}; edge runs: {CASES['edge']}")


@settings(PROFILE)
@given(parameter_sets())
def test_invariants_hold_across_the_parameter_space(changes):
    CASES["property"] += 1
    m = check_run(changes)
    again = TrustMarket(m.params, rng=m.params.run.seed)
    again.run()
    assert np.array_equal(again.recorder.rows, m.recorder.rows, equal_nan=True), "same seed, different run"


@pytest.mark.parametrize("sd", [5e-324, 3.5e-72, 1e-30, 1e-10, 9.9e-7, 1e-6, 1e-5])
@pytest.mark.parametrize("mean", [0.8, 0.3])
def test_a_market_whose_suppliers_integrity_barely_spreads_keeps_every_invariant(sd, mean):
    """An integrity sd of almost nothing (Hypothesis drew 3.5e-72): a Beta that narrow has parameters of 10¹⁴³,
    whose quantiles SciPy gave as NaN, and NaN trust and payments followed. Below 10⁻⁶ every supplier now gets
    the mean; from 10⁻⁶ on they spread, by about the sd."""
    m = check_run({"run.steps": 40, "market.buyers": 40, "market.suppliers": 20, "market.slots_per_buyer": 1,
                   "suppliers.integrity_mean": mean, "suppliers.integrity_sd": sd})
    theta = m.market.integrity
    print(f"sd {sd:g}, mean {mean}: integrities {theta.min():.9f} … {theta.max():.9f}")
    assert np.isfinite(theta).all() and np.abs(theta - mean).max() <= max(10 * sd, 1e-12)


def test_units_per_purchasing_hour_over_almost_no_hours_has_a_finite_long_run_mean():
    """Hypothesis's case: partners that trust fully, one supplier calling every step and administration of
    2.2e-309 hours spend almost no purchasing hours, so their units per hour are near 10³⁰⁷ a step, each a
    number, and the long run's mean of twenty of them overflowed to infinity in the summary."""
    m = check_run({"run.steps": 40, "market.suppliers": 1, "prices.fair_markup": 10.0, "suppliers.contact_interval": 1,
                   "trust.gain": 1.0, "time.h_admin": 2.225073858507203e-309})
    upph = m.recorder.summary()["long_run"]["partner"]["units_per_purchasing_hour"]
    print(f"partners' long-run units per purchasing hour: {upph:.3g}")
    assert 1e300 < upph < np.inf


ALMOST_NOTHING = [k for k in KEYS if field(k).annotation is float and bounds(k)[0] == 0.0]


@pytest.mark.parametrize("key", ALMOST_NOTHING)
def test_a_parameter_of_almost_nothing_runs_without_a_warning(key):
    """Each real parameter whose range starts at 0, set to the smallest number above it (5e-324, a subnormal, as
    Hypothesis draws): every invariant holds and NumPy warns of nothing (a user saw "overflow encountered in
    divide" where trust was divided by such a threshold; the result, ∞ and so 0, was right)."""
    import warnings

    changes = {"run.steps": 40, "market.buyers": 40, "market.suppliers": 20, key: 5e-324}
    if key == "prices.fair_markup":  # the cross-field rule: no minimum markup above the fair one
        changes["prices.min_markup"] = 0.0
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        check_run(changes)


def test_a_beta_of_almost_nothing_against_enormous_costs_runs_without_a_warning():
    """Hypothesis's case (random seed 11): hours at a million each, spread over 10⁻⁹ units, give buyers a cost of
    about 10¹⁹ a unit, and β = 7.6e-292 a Nash margin beyond any float, which is capped as β = 0's is."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        check_run({"run.steps": 40, "buyers.rebid_interval": 1, "suppliers.contact_interval": 1,
                   "time.audit_hours": 10000.0, "time.hour_cost": 1e6, "time.reference_volume": 1e-9,
                   "downstream.price_sensitivity": 7.634680707634608e-292})


# --- edges: every declared range's ends, one parameter at a time, and the named corner markets ----------



def edge_cases():
    for key in KEYS:
        ann = field(key).annotation
        if ann in (int, float):
            lo, hi = capped_bounds(key)
            values = [lo, hi]
        elif ann is bool:
            values = [False, True]
        else:
            values = list(choices(key))
        for v in values:
            changes = {**SMALL_PARAMS, key: v}
            if key == "prices.min_markup" and v > DEFAULTS["prices.fair_markup"]:
                changes["prices.fair_markup"] = v
            if key == "prices.fair_markup" and v < DEFAULTS["prices.min_markup"]:
                changes["prices.min_markup"] = v
            yield pytest.param(changes, id=f"{key}={v}")
    corners = {
        "one_supplier": {"market.suppliers": 1},
        "one_buyer": {"market.buyers": 1},
        "one_buyer_one_supplier_one_slot": {"market.buyers": 1, "market.suppliers": 1, "market.slots_per_buyer": 1},
        "more_slots_than_suppliers": {"market.suppliers": 2, "market.slots_per_buyer": 5},
        "certain_world": {"market.uncertainty": 0.0},
        "sigma_1": {"market.uncertainty": 1.0},
        "all_partners": {"buyers.partner_share": 1.0},
        "all_aggressive": {"buyers.partner_share": 0.0},
        "all_aggressive_rebid_every_step": {"buyers.partner_share": 0.0, "buyers.rebid_interval": 1},
        "no_demand": {"market.demand": 0.0},
        "adaptation_every_step": {"adaptation.enabled": True, "adaptation.imitation_interval": 1},
        "adaptation_one_buyer": {"adaptation.enabled": True, "adaptation.imitation_interval": 1, "market.buyers": 1},
        "broke_suppliers": {"suppliers.supplier_cash": 0.0, "suppliers.contact_cost": 1e9},
        "steep_logit": {"downstream.price_sensitivity": 1000.0, "suppliers.cost_sd": 10.0},
        "zero_own_cost_and_prices": {"downstream.own_cost": 0.0, "prices.fair_markup": 0.0, "prices.min_markup": 0.0},
        **{f"{k.split('.')[1]}={v}": {k: v} for k in ("trust.share_threshold", "trust.no_inspection_trust",
                                                       "buyers.exit_threshold", "trust.initial", "trust.baseline")
           for v in (0.0, 1.0)},
    }
    for name, changes in corners.items():
        yield pytest.param({**SMALL_PARAMS, **changes}, id=name)


@pytest.mark.parametrize("changes", list(edge_cases()))
def test_edge_runs_finish_with_the_invariants(changes):
    CASES["edge"] += 1
    check_run(changes)
