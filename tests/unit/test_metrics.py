"""The figures a run reports (trustsim/metrics.py, from the registry of trustsim/columns.py), checked against the
same figures computed by hand from the market's arrays: each group's sums, means and ratios over the right buyers
and relationships, the windows the summary averages over, and each buyer's long-run sums."""

from __future__ import annotations

import math

import numpy as np
import pytest

from trustsim.columns import COLUMN_NAMES
from trustsim.ensemble import Ensemble
from trustsim.metrics import POSTURE_GROUPS, Recorder, step_measurements
from trustsim.model import TrustMarket
from trustsim.params import Params
from trustsim.stats import mser5

H_INSPECT = 3.0  # hours per inspected lot: not 1, so that a figure that drops it shows


def _measured_market():
    """A small market after a few steps, its postures set so that partner buyers are not the first ones."""
    m = TrustMarket(rng=2, buyers=10, suppliers=5, steps=12, h_inspect=H_INSPECT)
    for _ in range(6):
        m.step()
    partner = np.zeros(10, dtype=bool)
    partner[[1, 4, 5, 8]] = True
    m.market.is_partner[:] = partner
    return m, partner


def _by_hand(m, partner):
    """Each group's members by name: (its buyers, its relationships), a buyer's ``k`` slots consecutive."""
    k = m.market.k
    groups = {"partner": partner, "aggressive": ~partner, "all": np.ones_like(partner)}
    return {g: (b, np.repeat(b, k)) for g, b in groups.items()}


def test_each_groups_figures_are_its_own_buyers_and_relationships_sums_means_and_ratios():
    """A mean over relationships (trust, inspection rate) is over the group's slots, a buyer's slots being
    ``k`` consecutive relationships; a ratio is of the group's totals (non-productive hours over all hours, units
    over purchasing hours, inspection hours weighted by ``h_inspect``); a per-buyer figure over the group's
    buyers; a total (market share, complaints) is the group's sum."""
    m, partner = _measured_market()
    mk, ev = m.market, m.ev
    rows = step_measurements(m)[0]
    col = COLUMN_NAMES.index
    assert ev.inspected.sum() and ev.complained.sum() and ev.padding_found.sum() and mk.ideas_received.any()
    for g, (b, r) in _by_hand(m, partner).items():
        row = rows[POSTURE_GROUPS.index(g)]
        hours = ev.nonproductive[r] + H_INSPECT * ev.inspected[r]
        expected = {
            "buyers": b.sum(),
            "trust_buyer": mk.trust_b[r].mean(),
            "inspection_rate": ev.inspected[r].mean(),
            "nonproductive_share": ev.nonproductive[r].sum() / (ev.nonproductive[r].sum() + ev.productive[r].sum()),
            "units_per_purchasing_hour": ev.volume[r].sum() / hours.sum(),
            "ideas_received_cum": mk.ideas_received[b].mean(),
            "profit": mk.profit[b].mean(),
            "market_share": mk.share[b].sum(),
            "complaints": ev.complained[r].sum(),
            "padding_found": ev.padding_found[r].sum(),
        }
        for name, value in expected.items():
            assert row[col(name)] == pytest.approx(value, rel=1e-12), (g, name)


def test_the_integrity_of_active_suppliers_is_over_the_suppliers_holding_an_occupied_slot():
    m, _ = _measured_market()
    mk = m.market
    mk.vacant[:] = False
    mk.vacant[mk.sup == mk.sup[0]] = True  # supplier sup[0] holds only vacant slots: not active
    active = np.unique(mk.sup[~mk.vacant])
    assert mk.sup[0] not in active
    rows = step_measurements(m)[0]
    assert rows[2, COLUMN_NAMES.index("integrity_active")] == pytest.approx(mk.integrity[active].mean(), rel=1e-12)


def test_a_group_without_buyers_has_no_figures_but_counts_of_zero():
    m, _ = _measured_market()
    m.market.is_partner[:] = False
    rows = step_measurements(m)[0]
    col = COLUMN_NAMES.index
    assert rows[0, col("buyers")] == 0 and rows[0, col("complaints")] == 0 and rows[0, col("padding_found")] == 0
    for name in ("trust_buyer", "component_price", "market_share", "profit_cum", "nonproductive_share"):
        assert math.isnan(rows[0, col(name)]), name
        assert rows[2, col(name)] == pytest.approx(rows[1, col(name)], rel=1e-12)  # aggressive is everyone


def _recorder(values, partner_buyers=None):
    """A recorder whose every figure at step ``t`` (1-based) is ``values[t - 1]``, in each group; the partner
    group's size ``partner_buyers`` per step if given (0: no partner buyers at that step)."""
    values = np.asarray(values, float)
    rec = Recorder(len(values))
    for t, v in enumerate(values):
        rows = np.full((1, len(POSTURE_GROUPS), len(COLUMN_NAMES)), v)
        if partner_buyers is not None:
            rows[0, 0, COLUMN_NAMES.index("buyers")] = partner_buyers[t]
            if partner_buyers[t] == 0:
                rows[0, 0, 1:] = np.nan
        rec.append(rows)
    return rec


def test_the_summary_averages_the_second_half_the_first_40_steps_and_the_first_8():
    """Every figure the square of its step number t: a window's figure is the mean of its steps' t² (not their
    median), the long run's steps 31 to 61 of 61 (the first half, 30 steps, left out)."""
    n = 61
    t = np.arange(1, n + 1)
    s = _recorder(t ** 2).summary()
    assert s["long_run_steps"] == [31, 61]
    for g in POSTURE_GROUPS:
        assert s["long_run"][g]["trust_buyer"] == pytest.approx(np.mean(np.arange(31, 62) ** 2))
        assert s["business_horizon"][g]["trust_buyer"] == pytest.approx(np.mean(np.arange(1, 41) ** 2))
        assert s["short_run"][g]["trust_buyer"] == pytest.approx(np.mean(np.arange(1, 9) ** 2))


def test_a_warm_up_past_the_first_half_is_not_steady_though_mser5_calls_it_so():
    """MSER-5's own sign (d ≤ m/2) counts batches of the steps with the figure; a warm-up in the run's steps, those
    without it included, may end past the long run's start: 61 steps, 11 without the figure, 20 high and 30 level,
    warm up over 31 steps (4 of 10 batches), while the long run starts at step 31 (the first 30 deleted). MSER-5
    says steady; the long run is not."""
    series = np.r_[np.full(11, np.nan), np.ones(20), np.zeros(30)]
    assert mser5(series) == (31, True)
    s = _recorder(series + 1.0, partner_buyers=np.zeros(61)).summary()  # no partner: the steady series is trust
    assert s["steady_state"] == {"mser5_warm_up_steps": 31, "steady": False}


def test_the_steady_series_is_the_partner_share_advantage_in_units_of_the_equal_share():
    rec = _recorder(np.full(3, 0.5))
    rows = rec.data[:, 0]
    b, s = COLUMN_NAMES.index("buyers"), COLUMN_NAMES.index("market_share")
    rows[:, 0, b], rows[:, 1, b] = 4, 6
    rows[:, 0, s], rows[:, 1, s] = [0.5, 0.4, 0.2], [0.5, 0.6, 0.8]
    equal = 1 / 10  # the equal share of each of 10 buyers
    expected = [(sp / 4) / equal - (sa / 6) / equal for sp, sa in ((0.5, 0.5), (0.4, 0.6), (0.2, 0.8))]
    assert np.allclose(rec.steady_series(), expected)
    rows[1, 0, b] = 0  # a step without partner buyers: the series is the buyers' trust
    rows[:, 2, COLUMN_NAMES.index("trust_buyer")] = [0.3, 0.6, 0.9]
    assert np.allclose(rec.steady_series(), [0.3, 0.6, 0.9])


def test_every_markets_steady_series_at_once_is_each_markets_own_and_skips_the_rows_not_yet_recorded():
    """``steady_series_each`` of an ensemble's recorder: one row per market, each its ``member(i)``'s series (the
    share advantage where both postures had buyers, the buyers' trust in the market whose partners left), over the
    steps recorded so far only."""
    rng = np.random.default_rng(5)
    rec = Recorder(8, members=2)  # room for 8 steps, 5 recorded
    for t in range(5):
        rows = rng.uniform(0.1, 1.0, (2, len(POSTURE_GROUPS), len(COLUMN_NAMES)))
        rows[1, 0, COLUMN_NAMES.index("buyers")] = 0.0 if t == 3 else 2.0
        rec.append(rows)
    each = rec.steady_series_each()
    assert each.shape == (2, 5)
    for i in range(2):
        assert np.array_equal(each[i], rec.member(i).steady_series())
    assert np.array_equal(each[1], rec.data[:5, 1, 2, COLUMN_NAMES.index("trust_buyer")])
    assert not np.array_equal(each[0], rec.data[:5, 0, 2, COLUMN_NAMES.index("trust_buyer")])


def _hand_sums(markets, steps):
    """Step ``markets`` (a model or an ensemble) to ``steps``, adding each buyer's figures by hand over the
    second half (steps after ``steps // 2``): its mean trust over its slots, and its hours, lots and units."""
    mk = markets.market
    k = mk.k
    sums = {key: np.zeros(mk.n_buyers) for key in ("trust", "nonproductive", "productive", "inspected", "units",
                                                   "purchasing")}
    counted = 0
    for t in range(1, steps + 1):
        markets.step()
        if t <= steps // 2:
            continue
        ev = markets.ev
        per_buyer = {"trust": mk.trust_b.reshape(-1, k).mean(axis=1),
                     "nonproductive": ev.nonproductive.reshape(-1, k).sum(axis=1),
                     "productive": ev.productive.reshape(-1, k).sum(axis=1),
                     "inspected": ev.inspected.reshape(-1, k).sum(axis=1),
                     "units": ev.volume.reshape(-1, k).sum(axis=1),
                     "purchasing": (ev.nonproductive + H_INSPECT * ev.inspected).reshape(-1, k).sum(axis=1)}
        for key, v in per_buyer.items():
            sums[key] += v
        counted += 1
    return sums, counted


def _check_buyers_frame(frame, sums, counted, k, mine):
    hours = sums["nonproductive"][mine] + sums["productive"][mine]
    assert np.allclose(frame["trust"], sums["trust"][mine] / counted, rtol=1e-12)
    assert np.allclose(frame["nonproductive_share"], sums["nonproductive"][mine] / hours, rtol=1e-12)
    assert np.allclose(frame["inspection_rate"], sums["inspected"][mine] / (counted * k), rtol=1e-12)
    assert np.allclose(frame["units_per_purchasing_hour"], sums["units"][mine] / sums["purchasing"][mine],
                       rtol=1e-12)


def test_each_buyers_long_run_figures_are_its_sums_over_the_second_half():
    """``buyers.csv``: a buyer's trust is its slots' mean trust averaged over the steps of the second half; its
    inspection rate its inspected lots over its lots (``k`` a step); its non-productive share and units per
    purchasing hour ratios of its sums."""
    steps = 9
    m = TrustMarket(rng=3, buyers=8, suppliers=4, steps=steps, h_inspect=H_INSPECT)
    sums, counted = _hand_sums(m, steps)
    assert counted == steps - steps // 2 == m.buyer_sums.steps
    frame = m.buyer_sums.frame(m)
    assert list(frame["posture"]) == ["partner" if x else "aggressive" for x in m.market.is_partner]
    _check_buyers_frame(frame, sums, counted, m.market.k, slice(None))


def test_each_markets_buyers_in_an_ensemble_are_its_own():
    """An ensemble's ``buyers.csv`` of market ``i``: its own buyers' sums (buyers ``6i`` to ``6i + 5``)."""
    steps = 6
    p = Params().replace(**{"market.buyers": 6, "market.suppliers": 3, "run.steps": steps, "time.h_inspect": H_INSPECT})
    ens = Ensemble([p, p], [1, 2])
    sums, counted = _hand_sums(ens, steps)
    for i in range(2):
        mine = slice(i * 6, (i + 1) * 6)
        frame = ens.buyer_sums.frame(ens, i)
        _check_buyers_frame(frame, sums, counted, ens.market.k, mine)
        assert list(frame["posture"]) == ["partner" if x else "aggressive" for x in ens.market.is_partner[mine]]
