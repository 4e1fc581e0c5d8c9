"""The intervals every command reports (trustsim/stats.py) and the paired comparison's table: a 95% interval
needs two values, and a paired table's A, B and B − A rest on the same seeds."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy import stats as scipy_stats

from trustsim.comparison import Comparison
from trustsim.experiments.design import METRIC_COLUMNS
from trustsim.stats import describe, difference, interval_frame, mean_ci


def test_an_interval_needs_two_values_one_gives_its_mean_and_no_interval():
    """Student's t has n − 1 degrees of freedom: one seed gave a zero-width "95% interval" (a difference on one
    seed printed as +0.244 [+0.244, +0.244], as sure as can be). Two or more match scipy's interval."""
    m, lo, hi = mean_ci([0.3])
    assert m == 0.3 and math.isnan(lo) and math.isnan(hi)
    d = describe([0.3, math.nan])
    assert d["mean"] == 0.3 and d["n"] == 1 and all(math.isnan(d[k]) for k in ("sd", "low", "high"))
    paired = difference([0.1, 0.2], [0.344, math.nan], paired=True)
    assert paired["n"] == 1 and math.isnan(paired["low"]) and math.isnan(paired["high"])
    x = np.array([0.1, 0.4, 0.35, 0.2])
    _, lo, hi = mean_ci(x)
    assert np.allclose((lo, hi), scipy_stats.t.interval(0.95, len(x) - 1, loc=x.mean(), scale=scipy_stats.sem(x)))


def test_a_table_of_intervals_by_group_gives_none_to_a_group_of_one_value():
    df = pd.DataFrame({"point": [0, 0, 0, 1, 2, 2], "y": [1.0, 2.0, 4.0, 5.0, 3.0, math.nan]})
    frame = interval_frame(df, "point", ["y"]).set_index("point")
    _, lo, hi = mean_ci([1.0, 2.0, 4.0])
    assert np.allclose(frame.loc[0, ["y.low", "y.high"]].to_numpy(float), (lo, hi))
    for point in (1, 2):  # one value: its mean, no interval
        assert not math.isnan(frame.loc[point, "y"]) and frame.loc[point, ["y.low", "y.high"]].isna().all()


def test_a_paired_comparison_gives_a_b_and_b_minus_a_over_the_same_seeds():
    """A's runs 0.2 and 0.4, B's 0.25 and a run without the figure: paired, the table said A 0.30, B 0.25 and
    B − A +0.05, which contradict each other (B − A was over seed 1 alone, A over both)."""
    figure = METRIC_COLUMNS[0]
    runs_a = pd.DataFrame({"seed": [1, 2], "status": ["ok", "ok"], **{c: [0.2, 0.4] for c in METRIC_COLUMNS}})
    runs_b = pd.DataFrame({"seed": [1, 2], "status": ["ok", "ok"], **{c: [0.25, math.nan] for c in METRIC_COLUMNS}})
    table = Comparison(None, None, runs_a, runs_b, True, {}, "", 0.0).table().set_index("figure")
    row = table.loc[figure]
    print(row[["a", "b", "difference", "n"]].to_dict())
    assert (row["a"], row["b"], row["difference"], row["n"]) == (0.2, 0.25, row["b"] - row["a"], 1)
    unpaired = Comparison(None, None, runs_a, runs_b, False, {}, "", 0.0).table().set_index("figure").loc[figure]
    assert math.isclose(unpaired["a"], 0.3) and unpaired["b"] == 0.25  # unpaired, each side has its own runs
