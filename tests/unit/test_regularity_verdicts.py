"""The regularities R1–R4 and the decomposition on runs made by hand (figures and intervals known by
construction), the variants they compare, the per-run figures P3, P4 and P10 take from a market, and the
structures' headline figures and regime points: what the published verdicts rest on."""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from test_pattern_verdicts import interval, rows, spread  # runs made by hand, as the patterns' verdicts take

from trustsim import patterns, structures
from trustsim.params import Params
from trustsim.patterns.measure import defect_drop_by_posture
from trustsim.patterns.variants import CHANNELS, FIT_SPREADS, INTEGRITIES, SIGMAS

R1, R2, R3, R4, D = (patterns.PATTERNS.get(k) or patterns.DECOMPOSITIONS[k] for k in ("R1", "R2", "R3", "R4", "D"))


SURE, UNSURE = spread(0.3, 0.03), spread(0.1, 1.0)  # intervals above 0; straddling 0 with a mean above it


def test_the_premises_of_these_cases():
    assert interval(SURE)[0] > 0 and interval(UNSURE)[0] < 0 < interval(UNSURE)[1] and UNSURE.mean() > 0


def _r1(slopes) -> dict:
    return {f"integrity={t}": rows(share_advantage=-0.5 + np.asarray(slopes) * t) for t in INTEGRITIES}


def test_r1_reads_each_seeds_slope_over_integrity_and_its_whole_interval():
    """The integrities are listed from high to low: an advantage that rises with integrity has a positive slope."""
    assert R1(_r1(SURE)).passed
    assert not R1(_r1(-SURE)).passed and not R1(_r1(UNSURE)).passed


def _r2(at_largest_fit, elsewhere=None) -> dict:
    """The advantage at each σ: ``at_largest_fit[σ]`` at the largest fit spread, ``elsewhere`` at the others."""
    elsewhere = elsewhere or {s: 0.0 for s in SIGMAS}
    return {f"scarce,sigma={s},fit={f}": rows(share_advantage=(at_largest_fit if f == FIT_SPREADS[-1] else
                                                                elsewhere)[s])
            for s in SIGMAS for f in FIT_SPREADS}


def test_r2_compares_the_largest_and_smallest_sigma_at_the_largest_fit_spread_and_needs_the_whole_interval_below_0():
    falls = {s: 0.5 - s + (SURE - 0.3 if s == SIGMAS[-1] else 0) for s in SIGMAS}
    rises = {s: s for s in SIGMAS}
    assert R2(_r2(falls, rises)).passed  # rising with σ at the smaller fit spreads changes nothing
    assert not R2(_r2(rises, falls)).passed
    unsure = {s: 0.5 if s != SIGMAS[-1] else 0.5 - UNSURE for s in SIGMAS}
    assert not R2(_r2(unsure)).passed
    dips = {SIGMAS[0]: 0.5, SIGMAS[1]: 0.3, SIGMAS[2]: 0.1, SIGMAS[-1]: 0.6 + SURE - 0.3}
    assert not R2(_r2(dips)).passed  # below at σ 0.6, yet above at the largest σ


R3_CHANGES = {"learning": SURE, "learning, short-termist": -SURE, "learning, null model": -SURE,
              "learning, no peers": SURE, "learning, trust lean": SURE}


def _r3(**changes) -> dict:
    r = {name: [{"terms_start": 0.5, "terms_end": 0.5 + x, "terms_series": [0.5, 0.5 + x]} for x in change]
         for name, change in {**R3_CHANGES, **changes}.items()}
    r["learning, suppliers adapt"] = rows(integrity_start=0.5, integrity_end=0.6)
    return r


def test_r3_needs_a_sure_rise_at_the_defaults_and_sure_falls_for_short_termists_and_in_the_null_model():
    assert R3(_r3()).passed is True  # Python's bool, as every verdict is
    for name, sign in (("learning", 1), ("learning, short-termist", -1), ("learning, null model", -1)):
        assert not R3(_r3(**{name: sign * UNSURE})).passed, name
        assert not R3(_r3(**{name: -sign * SURE})).passed, name


def _r4(with_word, without) -> dict:
    return {"baseline": rows(low_integrity_start=0.25, low_integrity_end=0.25 + np.asarray(with_word)),
            "no word of mouth": rows(low_integrity_start=0.25, low_integrity_end=0.25 + np.asarray(without))}


def test_r4_needs_a_sure_fall_with_word_of_mouth_and_without_it_an_interval_within_0_03_of_no_change():
    still, low, high, wide = spread(0.0, 0.02), spread(-0.02, 0.01), spread(0.02, 0.01), spread(0.0, 0.05)
    assert -0.03 < interval(low)[0] < interval(high)[1] < 0.03 and interval(wide)[1] > 0.03
    assert R4(_r4(-SURE, still)).passed and R4(_r4(-SURE, low)).passed and R4(_r4(-SURE, high)).passed
    assert not R4(_r4(-SURE, low - 0.01)).passed and not R4(_r4(-SURE, high + 0.01)).passed
    assert R4(_r4(-SURE, wide)).passed is False  # Python's bool, as every verdict is
    assert not R4(_r4(-UNSURE, still)).passed and not R4(_r4(SURE, still)).passed


def test_the_decomposition_counts_what_switching_a_channel_off_takes_away():
    r = {"baseline": rows(share_advantage=spread(0.5, 0.01))}
    r.update({f"off:{name}": rows(share_advantage=spread(0.5 - 0.1 * k, 0.01)) for k, name in enumerate(CHANNELS)})
    contribution = D(r).values["contribution"]
    for k, name in enumerate(CHANNELS):
        assert np.allclose(contribution[name], 0.1 * k)


def test_each_variant_changes_only_its_own_mechanism():
    base = Params()
    v, flat = patterns.variants(base), base.flat()

    def changed(name):
        return {k: x for k, x in v[name].flat().items() if x != flat[k]}
    for name, off in CHANNELS.items():
        want = {k: base.prices.fair_markup if x == "fair" else x for k, x in off.items()}
        assert {k: v[f"off:{name}"].flat()[k] for k in off} == want and set(changed(f"off:{name}")) <= set(off), name
    assert v["silence"].suppliers.attention_policy == "silence" and v["passive"].suppliers.attention_policy == "passive"
    assert v["unbundled"].service.partner_in_price is False and v["bundled"].service.partner_in_price is True
    null = patterns.null_model(base)
    assert (null.innovation.idea_rate, null.innovation.process_idea_rate, null.market.uncertainty) == (0, 0, 0)
    assert null.time.trust_scaled_hours is False


def test_the_quintiles_of_p3_and_p4_are_the_least_and_most_trusted_buyers():
    rank = np.random.default_rng(3).permutation(20)  # 20 buyers: fifths of 4, tenths of 2
    buyers = pd.DataFrame({"trusted_by_suppliers": rank / 20, "nonproductive_share": rank / 100,
                           "inspection_rate": rank / 1000, "units_per_purchasing_hour": 1.0 + rank})
    q = patterns.quintile_figures(buyers)
    assert q["nonprod_low"] == pytest.approx(np.mean([0, 1, 2, 3]) / 100)
    assert q["nonprod_high"] == pytest.approx(np.mean([16, 17, 18, 19]) / 100)
    assert q["inspection_top_tenth"] == pytest.approx(np.mean([18, 19]) / 1000)
    assert q["units_per_hour_ratio"] == pytest.approx(np.mean([17, 18, 19, 20]) / np.mean([1, 2, 3, 4]))
    none = buyers.assign(units_per_purchasing_hour=np.where(rank < 4, np.nan, 1.0 + rank))  # the bottom: no hours
    assert np.isnan(patterns.quintile_figures(none)["units_per_hour_ratio"])  # no ratio, not an infinite one
    idle = buyers.assign(units_per_purchasing_hour=np.where(rank < 4, 0.0, 1.0 + rank))  # hours, no units
    assert patterns.quintile_figures(idle)["units_per_hour_ratio"] == math.inf


def test_the_defect_rates_fall_is_one_minus_the_rate_over_the_base_at_suppliers_serving_both_postures():
    """Supplier 0 serves both postures: partner lots at 0.4 of its base rate, aggressive at 0.8; supplier 1 serves
    partners only (left out); supplier 2 has a flawless base (left out)."""
    rates = np.array([0.04, 0.04, 0.08, 0.2, 0.0, 0.0])
    mk = SimpleNamespace(base_defect0=np.array([0.1, 0.2, 0.0]), sup=np.array([0, 0, 0, 1, 2, 2]),
                         rel_partner=np.array([True, True, False, True, True, False]), n_suppliers=3, members=1,
                         defect_rate=lambda: rates)
    assert np.allclose(defect_drop_by_posture(mk), [[0.6, 0.2]])


class _Recorder:
    """A recorder of 100 steps whose summary gives the postures' means in each window."""
    n = 100

    def summary(self):
        def window(p_profit, a_profit):
            return {"partner": {"buyers": 4, "market_share": 0.6, "profit": p_profit},
                    "aggressive": {"buyers": 6, "market_share": 0.4, "profit": a_profit}}
        return {"long_run": window(3.0, 1.0), "business_horizon": window(2.0, 1.5), "long_run_steps": [51, 100],
                "steady_state": {"steady": True, "mser5_warm_up_steps": 10}}


def test_headline_profit_advantage_is_partner_minus_aggressive_summed_over_the_windows_steps():
    """Steps 51 … 100 are 50 steps; the business horizon is the first 40."""
    figures = {f["horizon"]: f for f in structures.headline_figures(_Recorder())}
    assert figures["long_run"]["profit_advantage"] == pytest.approx(2.0 * 50)
    assert figures["business_horizon"]["profit_advantage"] == pytest.approx(0.5 * 40)
    assert figures["long_run"]["share_advantage"] == pytest.approx((0.6 / 4 - 0.4 / 6) * 10)


def test_the_regime_maps_idea_rates_are_the_bases_times_the_points_share():
    base = Params()
    for p in structures.regime_points(base):
        assert p["innovation.idea_rate"] == pytest.approx(base.innovation.idea_rate * p["idea_share"])
        assert p["innovation.process_idea_rate"] == pytest.approx(base.innovation.process_idea_rate * p["idea_share"])
    assert {p["idea_share"] for p in structures.regime_points(base)} == {0.25, 1.0, 2.0}


def test_r3s_figure_names_the_lean_variant_as_its_table_does():
    """R3's table says "learning with trust_weight 2"; its figure's legend (the series' names) said "learning, trust
    lean", a name the reader finds nowhere else."""
    result = R3(_r3())
    lean = [name for name in result.values["series"] if "trust" in name]
    assert lean == ["learning with trust_weight 2"] and "learning with trust_weight 2 " in result.measured
