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
