"""A pattern's check on runs that cannot show it says so, rather than printing a mean of nothing."""

import warnings

from trustsim import patterns
from trustsim.params import Params


def test_p10_on_runs_shorter_than_its_six_years_is_not_measured_and_fails_without_a_warning():
    runs = [patterns.measure(Params().replace(**{"run.steps": patterns.P10_STEPS - 4}), seed) for seed in (1, 2)]
    assert not any("defect_drop_partner" in r for r in runs)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = patterns.p10({"baseline": runs})
    print(result.measured)
    assert result.passed is False and result.verdict == "FAIL"
    assert result.measured.startswith("not measured") and "nan" not in result.measured
    long = [patterns.measure(Params().replace(**{"run.steps": patterns.P10_STEPS}), seed) for seed in (1, 2)]
    assert "not measured" not in patterns.p10({"baseline": long}).measured


def test_p2_compares_market_share_per_buyer_when_the_postures_differ_in_size():
    """A quarter of 40 buyers are partners and each holds more share than an aggressive buyer: their posture's
    total is smaller (0.3 against 0.7), yet P2 holds, as their cumulative profit per buyer is higher too."""
    n_p, n_a = 10, 30
    runs = []
    for seed in range(10):
        sp = 0.30 + 0.002 * (seed % 3)
        sa = 1.0 - sp
        runs.append({"share_partner": sp, "share_aggressive": sa,
                     "share_advantage": (sp / n_p - sa / n_a) * (n_p + n_a),
                     "profit_cum_partner": 1000.0 + seed, "profit_cum_aggressive": 800.0})
    result = patterns.p2({"baseline": runs})
    print(result.measured)
    assert result.passed, result.measured
