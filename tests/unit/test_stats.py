"""The intervals every command reports (trustsim/stats.py) and the paired comparison's table: a 95% interval
needs two values, and a paired table's A, B and B − A rest on the same seeds."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from conftest import ROOT
from scipy import stats as scipy_stats

import trustsim
from trustsim.columns import COLUMN_NAMES
from trustsim.comparison import Comparison
from trustsim.experiments.design import METRIC_COLUMNS
from trustsim.experiments.replicate import Replicated
from trustsim.labels import column_label
from trustsim.stats import describe, difference, interval_frame, mean_ci, mser5


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


def test_the_95_interval_of_a_mean_is_the_textbooks_t_interval():
    """1, 2, 3, 4, 5: mean 3, sample standard deviation √2.5 (n − 1 in the denominator), standard error √2.5/√5,
    and t(0.975, 4 degrees of freedom) = 2.776 from the table: 3 ± 1.963."""
    m, lo, hi = mean_ci([1.0, 2.0, 3.0, 4.0, 5.0])
    half = 2.776445 * math.sqrt(2.5) / math.sqrt(5)
    assert m == 3.0 and lo == pytest.approx(3 - half, abs=1e-5) and hi == pytest.approx(3 + half, abs=1e-5)
    d = describe([2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0])  # sum of squares 32 about the mean 5: sd √(32/7), not 2
    assert d["sd"] == pytest.approx(math.sqrt(32 / 7)) and d["n"] == 8


def test_a_table_of_intervals_is_the_textbooks_t_interval_per_group():
    """Per group, the same interval as one group alone: two values 1 and 3 (1 degree of freedom, t = 12.706,
    sd √2, standard error 1) give 2 ± 12.706; 1 … 5 give 3 ± 1.963."""
    df = pd.DataFrame({"point": [0, 0, 1, 1, 1, 1, 1], "y": [1.0, 3.0, 1.0, 2.0, 3.0, 4.0, 5.0]})
    frame = interval_frame(df, "point", ["y"], counts=True).set_index("point")
    assert frame.loc[0, ["y", "y.low", "y.high"]].to_numpy(float) == pytest.approx([2, 2 - 12.7062, 2 + 12.7062],
                                                                                   abs=1e-4)
    half = 2.776445 * math.sqrt(2.5) / math.sqrt(5)
    assert frame.loc[1, ["y", "y.low", "y.high"]].to_numpy(float) == pytest.approx([3, 3 - half, 3 + half],
                                                                                   abs=1e-5)
    assert frame.loc[1, "y.n"] == 5 and frame.loc[1, "n"] == 5


def test_unpaired_differences_take_welchs_interval():
    """B − A over two groups of runs of unequal spread: Welch's interval, its degrees of freedom by
    Welch–Satterthwaite; the same as scipy's Welch t-test's confidence interval."""
    a = np.array([19.0, 21.5, 20.2, 22.8, 18.9, 20.0])
    b = np.array([25.1, 19.2, 28.4, 22.0, 30.5, 17.9, 26.2, 24.0])
    d = difference(a, b, paired=False)
    va, vb = a.var(ddof=1) / len(a), b.var(ddof=1) / len(b)
    dof = (va + vb) ** 2 / (va ** 2 / (len(a) - 1) + vb ** 2 / (len(b) - 1))
    half = scipy_stats.t.ppf(0.975, dof) * math.sqrt(va + vb)
    diff = b.mean() - a.mean()
    assert (d["difference"], d["low"], d["high"]) == pytest.approx((diff, diff - half, diff + half), rel=1e-12)
    welch = scipy_stats.ttest_ind(b, a, equal_var=False).confidence_interval(0.95)
    assert (d["low"], d["high"]) == pytest.approx((welch.low, welch.high), rel=1e-9)
    assert d["n"] == 6  # the fewer runs


def test_paired_differences_are_the_interval_of_the_mean_of_b_minus_a_seed_by_seed():
    a = np.array([0.31, 0.28, 0.40, 0.35, math.nan])
    b = np.array([0.36, 0.30, 0.47, 0.36, 0.50])
    d = difference(a, b, paired=True)
    rel = scipy_stats.ttest_rel(b[:4], a[:4]).confidence_interval(0.95)  # the seed where A has none left out
    assert d["difference"] == pytest.approx(np.mean(b[:4] - a[:4])) and d["n"] == 4
    assert (d["low"], d["high"]) == pytest.approx((rel.low, rel.high), rel=1e-9)


def test_a_paired_comparison_pairs_each_seed_with_the_same_seed_whatever_the_order_of_the_runs():
    """B's runs listed in another order than A's (seeds 3, 1, 2): each figure's B − A is over the same seeds,
    seed 1 with seed 1, not row by row; and a seed one side lacks is not compared."""
    figure = METRIC_COLUMNS[0]
    runs_a = pd.DataFrame({"seed": [1, 2, 3, 4], "status": "ok", **{c: [1.0, 2.0, 4.0, 9.0] for c in METRIC_COLUMNS}})
    runs_b = pd.DataFrame({"seed": [3, 1, 2, 5], "status": "ok", **{c: [4.5, 1.5, 2.0, 0.0] for c in METRIC_COLUMNS}})
    comparison = Comparison(None, None, runs_a, runs_b, True, {}, "", 0.0)
    row = comparison.table().set_index("figure").loc[figure]
    diffs = np.array([1.5 - 1.0, 2.0 - 2.0, 4.5 - 4.0])  # seeds 1, 2, 3
    _, lo, hi = mean_ci(diffs)
    assert (row["difference"], row["low"], row["high"], row["n"]) == pytest.approx((diffs.mean(), lo, hi, 3))
    assert (row["a"], row["b"]) == pytest.approx(((1 + 2 + 4) / 3, (1.5 + 2 + 4.5) / 3))
    assert comparison.compared == 3


def test_mser5_batches_from_the_first_step_and_leaves_out_the_steps_after_the_last_whole_batch():
    """MSER-5's batch j is the mean of steps 5j − 4 … 5j, j = 1 … ⌊n/5⌋ (White, Cobb & Spratt 2000; Franklin &
    White 2008), and d deleted batches are 5d steps: with n not a multiple of 5, the n mod 5 steps after the last
    whole batch are left out. The batches were aligned to the end, leaving out the first steps instead: a level
    series of 1 203 steps had a warm-up of 3 steps (one that does not vary has none), and a transient of 100 steps
    in 1 200 … 1 204 steps a warm-up of 100, 106, 102, 103 and 104 steps, moving with n mod 5."""
    for n in range(1200, 1205):
        assert mser5(np.full(n, 0.3)) == (0, True), n
    step = np.r_[np.ones(100), np.zeros(1104)] + np.random.default_rng(1).normal(0.0, 0.1, 1204)
    assert [mser5(step[:n]) for n in range(1200, 1205)] == [(100, True)] * 5  # the steps over: no say
    assert mser5(np.r_[5.0, np.zeros(60)]) == (5, True)  # the far-off first step is in batch 1: its 5 steps go
    assert mser5(np.r_[np.zeros(60), 5.0]) == (0, True)  # step 61, after 12 whole batches, is left out


def test_the_cumulative_profit_advantage_is_said_to_be_the_long_run_mean_of_profit_since_step_1():
    """``advantage.profit_cum`` (runs.csv, replications, compare) is the long-run mean of partner minus aggressive
    profit since step 1: neither the profit earned in the long run (structures' and regimes' ``profit_advantage``)
    nor the total at the last step (P2's, the README's table by horizon), three numbers for one run (at the defaults
    some 20 000, 30 000 and 40 000). Its label and the runs table's documentation said only "cumulative profit per
    buyer" under "long-run means", which a reader took for the profit of the long run."""
    run = trustsim.simulate(seed=2, steps=40, buyers=8, suppliers=4)
    ts = run.timeseries.set_index(["group", "step"])["profit_cum"]
    gap = ts["partner"] - ts["aggressive"]
    first, last = run.summary["long_run_steps"]
    got = run.advantages["advantage.profit_cum"]
    assert got == pytest.approx(gap.loc[first:last].mean(), rel=1e-12)
    assert got != pytest.approx(gap.loc[last]) and got != pytest.approx(gap.loc[last] - gap.loc[first - 1])
    label = " ".join(column_label("advantage.profit_cum").split())
    assert "since step 1, mean over the long run" in label and "in money" in label, label
    runs_row = next(line for line in (ROOT / "docs" / "experiments.md").read_text().splitlines()
                    if line.startswith("| `runs.csv`"))
    assert "the profit since step 1, averaged over the long run's steps" in runs_row


def test_the_bands_say_over_how_many_replicates_each_figure_is_taken():
    """Where a posture had no buyers in some runs at a step (imitation, learning), bands.csv's mean and interval were
    over the runs that had it, 2 of 3 under evolution.toml at step 176, beside ``n`` 3: a reader taking n for the
    interval's count redid it wrong, and nothing in the file said how many. Each figure has its count ``c.n``."""
    rng = np.random.default_rng(4)
    rows = [{"replicate": r, "step": step, "group": g, **{c: rng.random() for c in COLUMN_NAMES}}
            for r in range(3) for step in (1, 2) for g in ("partner", "aggressive", "all")]
    ts = pd.DataFrame(rows)
    gone = (ts["replicate"] == 0) & (ts["step"] == 2) & (ts["group"] == "aggressive")
    ts.loc[gone, [c for c in COLUMN_NAMES if c != "buyers"]] = math.nan  # no aggressive buyers in run 0 at step 2
    runs = pd.DataFrame({"replicate": [0, 1, 2], "status": "ok"})
    bands = Replicated(None, 0, runs, ts, "", 0.0).bands().set_index(["step", "group"])
    row = bands.loc[(2, "aggressive")]
    kept = ts.loc[(ts["step"] == 2) & (ts["group"] == "aggressive") & ~gone, "market_share"]
    assert row["n"] == 3 and row["market_share.n"] == 2
    assert (row["market_share"], row["market_share.low"], row["market_share.high"]) == pytest.approx(mean_ci(kept))
    assert bands.loc[(2, "partner"), "market_share.n"] == 3
