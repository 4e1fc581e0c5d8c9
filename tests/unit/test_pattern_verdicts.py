"""Each pattern's verdict P1–P10 on runs made by hand, whose figure and 95% interval are known by construction:
just inside its target it passes, just outside it fails. The interval is a t-interval over seeds, so a check must
read its lower (or upper) bound, not its mean; a comparison must take its groups and variants the right way round."""

from __future__ import annotations

import numpy as np
from scipy import stats as scipy_stats

from trustsim import patterns

SEEDS = 10


def spread(centre: float, half: float, n: int = SEEDS) -> np.ndarray:
    """Values around ``centre``: ``centre − half``, ``centre + half`` in turn (mean ``centre``)."""
    return centre + half * np.where(np.arange(n) % 2, 1.0, -1.0)


def interval(x) -> tuple[float, float]:
    """The 95% t-interval of the mean, computed apart from trustsim (the premise of a case)."""
    x = np.asarray(x, float)
    return scipy_stats.t.interval(0.95, len(x) - 1, loc=x.mean(), scale=scipy_stats.sem(x))


def rows(**series) -> list[dict]:
    """Runs (one dict per seed) from per-seed series or constants."""
    return [{k: float(np.broadcast_to(v, SEEDS)[i]) for k, v in series.items()} for i in range(SEEDS)]


def test_p1_passes_only_when_the_price_differences_interval_lies_wholly_above_0():
    sure, unsure = spread(0.1, 0.02), spread(0.05, 0.3)
    assert interval(sure)[0] > 0 and interval(unsure)[0] < 0 < interval(unsure)[1] and unsure.mean() > 0
    assert patterns.p1({"baseline": rows(price_partner=1.0 + sure, price_aggressive=1.0)}).passed
    assert not patterns.p1({"baseline": rows(price_partner=1.0 + unsure, price_aggressive=1.0)}).passed
    assert not patterns.p1({"baseline": rows(price_partner=1.0 - sure, price_aggressive=1.0)}).passed


def test_p2_needs_both_the_share_and_the_profit_advantage_above_0():
    def p2(share, profit):
        return patterns.p2({"baseline": rows(share_advantage=share, profit_cum_partner=1000.0 + profit,
                                             profit_cum_aggressive=1000.0)}).passed
    up, down = spread(0.2, 0.02), spread(-0.2, 0.02)
    assert p2(up, 100 * up) and not p2(up, 100 * down) and not p2(down, 100 * up)


def test_p3_holds_within_0_07_of_each_published_share_and_fails_just_beyond():
    def p3(low, high):
        return patterns.p3({"baseline": rows(nonprod_low=low, nonprod_high=high)}).passed
    assert p3(0.47, 0.24) and p3(0.47 + 0.065, 0.24 - 0.065)
    assert not p3(0.47 + 0.075, 0.24) and not p3(0.47 - 0.075, 0.24)
    assert not p3(0.47, 0.24 + 0.075) and not p3(0.47, 0.24 - 0.075)
    assert not p3(0.24, 0.47)  # the least and the most trusted fifths the wrong way round


def test_p4_allows_an_inspection_rate_of_exactly_5_percent_and_no_more():
    def p4(inspection, ratio):
        return patterns.p4({"baseline": [{"inspection_top_tenth": inspection, "units_per_hour_ratio": ratio}] * 2})
    assert np.mean([0.05, 0.05]) == 0.05  # the premise: the mean is exactly the bound
    assert p4(0.05, 3.0).passed and not p4(0.0501, 3.0).passed
    assert not p4(0.0, 2.99).passed
    # Python's bool, as every verdict is (NumPy's comparisons give NumPy's, which `is True` and JSON tell apart)
    assert p4(0.05, 3.0).passed is True and p4(0.0, 2.99).passed is False


def test_p5_allows_a_ratio_of_exactly_5_and_reads_the_partners_over_the_aggressive():
    def p5(partner, aggressive):
        return patterns.p5({"baseline": rows(ideas_partner=partner, ideas_aggressive=aggressive)})
    assert 0.625 / 0.125 == 5.0
    assert p5(0.625, 0.125).passed and not p5(0.62, 0.125).passed
    assert not p5(0.125, 0.625).passed  # aggressive buyers with five times the partners' ideas


def _sigma_runs(slopes, intercept=-1.0) -> dict:
    """Each seed's advantage at σ: ``intercept + slope·σ`` (its own slope)."""
    return {f"sigma={s}": rows(share_advantage=intercept + np.asarray(slopes) * s) for s in patterns.SIGMAS}


def test_p6_reads_the_slope_of_each_seeds_advantage_over_sigma_and_its_whole_interval():
    sure, unsure = spread(0.3, 0.05), spread(0.1, 1.0)
    assert interval(sure)[0] > 0 and interval(unsure)[0] < 0 < unsure.mean()
    result = patterns.p6(_sigma_runs(sure))  # below 0 everywhere, but rising with σ
    assert result.passed and np.allclose(result.values["slope"], sure)
    assert not patterns.p6(_sigma_runs(-sure, intercept=1.0)).passed  # above 0 everywhere, falling
    assert not patterns.p6(_sigma_runs(unsure)).passed


def _p7(trust_gain, quiet, base=0.5) -> dict:
    return {"passive": rows(trust_partner=0.7, quiet_before_exit=quiet, quiet_base_rate=base),
            "silence": rows(trust_partner=0.7 + np.asarray(trust_gain))}


def test_p7_needs_trust_higher_with_silence_triggered_contact_and_exits_surely_quieter():
    gain, quieter, unsure = spread(0.1, 0.01), 0.5 + spread(0.2, 0.02), 0.5 + spread(0.05, 0.3)
    assert interval(unsure - 0.5)[0] < 0 < (unsure - 0.5).mean()
    assert patterns.p7(_p7(gain, quieter)).passed
    assert not patterns.p7(_p7(-gain, quieter)).passed  # trust higher with passive suppliers
    assert not patterns.p7(_p7(gain, unsure)).passed  # exits quieter on average only


def test_p7_compares_each_exit_figure_with_the_base_rate_of_its_own_seed():
    """Seeds without exits are left out of both figures: the base rates left are those of the seeds with exits."""
    quiet = np.where(np.arange(SEEDS) < 5, np.nan, 0.6)
    base = np.where(np.arange(SEEDS) < 5, 0.9, 0.4 + 0.01 * (np.arange(SEEDS) % 2))
    result = patterns.p7(_p7(spread(0.1, 0.01), quiet, base))
    assert result.passed and np.allclose(result.values["quiet base rate (passive)"], base[5:])


def _p8(tco_up, price_down) -> dict:
    return {"bundled": rows(tco_partner=1.0, price_partner=1.0),
            "unbundled": rows(tco_partner=1.0 + np.asarray(tco_up), price_partner=1.0 - np.asarray(price_down))}


def test_p8_needs_the_total_cost_higher_and_the_price_lower_with_service_billed_on_top():
    up = spread(0.05, 0.005)
    assert patterns.p8(_p8(up, up)).passed
    assert not patterns.p8(_p8(-up, up)).passed and not patterns.p8(_p8(up, -up)).passed


def test_p9_needs_the_paired_drop_above_0_and_a_null_advantage_not_above_0_on_average():
    def p9(base, null):
        return patterns.p9({"baseline": rows(share_advantage=base), "null": rows(share_advantage=null)}).passed
    null = spread(-0.5, 0.2)
    assert p9(null + spread(0.3, 0.01), null)  # the baseline below 0 too, yet above the null model on each seed
    zero = spread(0.0, 0.125)
    assert zero.mean() == 0.0 and p9(zero + 0.3, zero)  # a null advantage of exactly 0 is "not above 0"
    above = spread(0.05, 0.3)
    assert interval(above)[0] < 0 < above.mean() and not p9(above + 0.3, above)


def _p10(partner, aggressive) -> dict:
    return {"baseline": rows(defect_drop_partner=partner, defect_drop_aggressive=aggressive)}


def test_p10_holds_at_dyer_and_hatchs_levels_and_fails_outside_each_bound():
    assert patterns.p10(_p10(0.5, 0.26)).passed is True
    assert not patterns.p10(_p10(0.26, 0.5)).passed  # the postures the wrong way round
    assert patterns.p10(_p10(0.59, 0.35)).passed  # each level 0.09 off, ratio 1.69
    assert not patterns.p10(_p10(0.55, 0.17)).passed  # levels near, ratio 3.2 > 3
    assert not patterns.p10(_p10(0.62, 0.30)).passed  # ratio 2.1, partner lots 0.12 off their level
    assert not patterns.p10(_p10(0.65, 0.30)).passed and not patterns.p10(_p10(0.50, 0.40)).passed
    unsure = 0.5 + spread(0.0, 0.4)
    assert interval(unsure - 0.26)[0] < 0 and not patterns.p10(_p10(unsure, 0.26)).passed


def test_the_horizons_table_shows_the_first_ten_years_before_the_long_run():
    one = rows(share_advantage_business=0.125, profit_advantage_business=10.0, share_advantage=0.75,
               profit_advantage=500.0)
    r = {"baseline": one, **{f"sigma={s}": one for s in patterns.SIGMAS}}
    name, business, long_run = patterns.checks.horizons(r)[0]
    assert name == "baseline" and "share 0.125 [" in business and "profit 10 [" in business
    assert "share 0.750 [" in long_run and "profit (whole run) 500 [" in long_run


def test_the_horizons_table_says_its_long_run_profit_is_the_whole_runs():
    """The long-run column was headed "long run (second half of the run)", yet its profit is P2's cumulative profit
    per buyer at the run's last step, the whole run's (38 439 at the defaults against some 20 000 earned in the second
    half): a reader took it for the second half's profit. The header and the cell name the profit's window."""
    one = rows(share_advantage_business=0.125, profit_advantage_business=10.0, share_advantage=0.75,
               profit_advantage=500.0)
    r = {"baseline": one, **{f"sigma={s}": one for s in patterns.SIGMAS}}
    header = patterns.horizons_table(r).splitlines()[0]
    assert "profit over the whole run" in header and "share over the second half" in header, header
    assert "long run (second half of the run)" not in header
    text = patterns.horizons_text(r)
    assert "long run         share 0.750 [" in text and "; profit (whole run) 500 [" in text, text
    assert max(len(line) for line in text.splitlines()) <= 100
