"""A pattern's check on runs that cannot show it says so, rather than printing a mean of nothing."""

import math
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
    # the two figures are taken over different windows, and the table's line says which: the share's mean over the
    # long run, the profit summed from step 1 to the last (twice what the long run earns at the defaults)
    assert result.measured.startswith("long-run market share per buyer")
    assert "cum. profit per buyer at the last step" in result.measured


def _p7_runs(exits_on: int, seeds: int = 10) -> dict:
    passive = [{"trust_partner": 0.8, "quiet_base_rate": 0.6,
                "quiet_before_exit": 0.9 + 0.01 * (i % 3) if i < exits_on else math.nan} for i in range(seeds)]
    return {"passive": passive, "silence": [{"trust_partner": 0.9 + 0.001 * i} for i in range(seeds)]}


def test_p7_and_p10_say_over_how_many_seeds_when_some_give_no_figure():
    """A seed with no exit (P7) or no supplier serving both postures at step 24 (P10) is left out of the interval;
    the text says so, rather than showing an interval over fewer seeds as if over all."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        seven = patterns.p7(_p7_runs(exits_on=6))
        none = patterns.p7(_p7_runs(exits_on=0))
        every = patterns.p7(_p7_runs(exits_on=10))
    print(seven.measured, none.measured, sep="\n")
    assert "over 6 of 10 seeds" in seven.measured and "seeds)" not in every.measured
    assert "not measured" in none.measured and "nan" not in none.measured and not none.passed
    runs = [{"defect_drop_partner": 0.5 + 0.01 * (i % 3), "defect_drop_aggressive": 0.26} for i in range(7)]
    ten = patterns.p10({"baseline": runs + [{}, {}, {}]})
    print(ten.measured)
    assert "over 7 of 10 seeds" in ten.measured and ten.passed
    assert "seeds)" not in patterns.p10({"baseline": runs}).measured


def test_a_market_with_one_posture_measures_no_partner_advantage_rather_than_none():
    """With no partner buyers the advantages are NaN (not measured), not 0 (a claim of no difference)."""
    small = {"market.buyers": 8, "market.suppliers": 4, "run.steps": 12}
    for share in (0.0, 1.0):
        run = patterns.measure(Params().replace(**small, **{"buyers.partner_share": share}), 1)
        figures = ("share_advantage", "share_advantage_business", "profit_advantage", "profit_advantage_business")
        assert all(math.isnan(run[k]) for k in figures), {k: run[k] for k in figures}
    both = patterns.measure(Params().replace(**small), 1)
    assert all(math.isfinite(both[k]) for k in ("share_advantage", "share_advantage_business"))


def _advantage_runs(measured: int, seeds: int = 8) -> dict:
    """Every variant the advantage checks read, with the share and profit advantages of the first ``measured``
    seeds and NaN (a posture with no buyers) for the rest; the advantage rises with σ and integrity."""
    def runs(level: float) -> list[dict]:
        out = []
        for i in range(seeds):
            x = level + 0.01 * (i % 3) if i < measured else math.nan
            out.append({"share_advantage": x, "share_advantage_business": x, "profit_advantage": 100 * x,
                        "profit_advantage_business": 100 * x, "profit_cum_partner": 1000 + 100 * x,
                        "profit_cum_aggressive": 1000.0 if i < measured else math.nan})
        return out
    r = {"baseline": runs(0.3), "null": runs(-0.1)}
    r.update({f"sigma={s}": runs(0.1 + s) for s in patterns.SIGMAS})
    r.update({f"integrity={t}": runs(t - 0.5) for t in patterns.variants_module.INTEGRITIES})
    r.update({f"scarce,sigma={s},fit={f}": runs(0.5 - s) for s in patterns.SIGMAS
              for f in patterns.variants_module.FIT_SPREADS})
    r.update({f"off:{name}": runs(0.2) for name in patterns.variants_module.CHANNELS})
    return r


def test_advantage_checks_leave_unmeasured_seeds_out_and_say_so():
    """P2, P6, P9, R1, R2, the decomposition and the horizons table take their means and intervals over the seeds
    where both postures had buyers, and say over how many; with none, "not measured" and a FAIL, never a mean of
    NaN nor of zeros."""
    checks = (patterns.p2, patterns.p6, patterns.p9, patterns.PATTERNS["R1"], patterns.PATTERNS["R2"],
              patterns.DECOMPOSITIONS["D"])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        some, none, every = (_advantage_runs(k) for k in (5, 0, 8))
        for check in checks:
            part, nothing, whole = check(some), check(none), check(every)
            print(part.measured, nothing.measured, sep="\n")
            assert "over 5 of 8 seeds" in part.measured and "nan" not in part.measured
            assert part.passed in (True, None), part.measured  # the measured seeds show the effect
            assert "not measured" in nothing.measured and "nan" not in nothing.measured
            assert nothing.passed in (False, None) and "of 8 seeds" not in whole.measured
        text = patterns.horizons_text(some)
        assert "over 5 of 8 seeds" in text and "nan" not in text
        assert "not measured" in patterns.horizons_text(none) and "nan" not in patterns.horizons_text(none)
    # the mean is over the measured seeds: 0.3 + 0.01·(0, 1, 2, 0, 1)/5
    assert "+0.308" in patterns.p2(some).measured


def test_a_figure_that_one_seed_measured_has_its_mean_and_says_there_is_no_interval():
    """With one seed of eight measured, a check gives that seed's figure and "one seed: no interval", never an
    interval of ``nan``, and no interval that excludes 0 passes."""
    one = _advantage_runs(1)
    checks = (patterns.p2, patterns.p6, patterns.p9, patterns.PATTERNS["R1"], patterns.PATTERNS["R2"],
              patterns.DECOMPOSITIONS["D"])
    for check in checks:
        result = check(one)
        print(result.pattern, result.measured)
        assert "nan" not in result.measured, result.measured
        assert "no interval" in result.measured or "not measured" in result.measured, result.measured
        assert result.passed in (False, None), result.measured
    assert "+0.300 (one seed: no interval) (over 1 of 8 seeds)" in patterns.p2(one).measured
    assert "nan" not in patterns.horizons_text(one)


POSTURE_CHECKS = {"P1": ("baseline",), "P5": ("baseline",), "P7": ("passive", "silence"),
                  "P8": ("bundled", "unbundled")}


def _one_posture_runs(share: float) -> dict:
    """The variants P1, P5, P7 and P8 read, measured on a small market whose buyers are all of one posture."""
    small = {"market.buyers": 8, "market.suppliers": 4, "run.steps": 12, "buyers.partner_share": share}
    chosen = patterns.variants(Params().replace(**small))
    return {name: [patterns.measure(chosen[name], seed) for seed in (1, 2)]
            for name in {v for names in POSTURE_CHECKS.values() for v in names}}


def test_partner_comparisons_with_no_buyers_of_a_posture_say_which_and_fail():
    """With no partner buyers P1, P5, P7 and P8 compare figures no seed measured: each says "not measured: no
    partner buyers" and fails, as the advantage checks do, rather than printing nan; with no aggressive buyers
    P1 and P5 say so, and P5 no longer passes on a ratio to nothing, while P7 and P8 (partners only) measure."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        none, only = _one_posture_runs(0.0), _one_posture_runs(1.0)
        for name in POSTURE_CHECKS:
            check = patterns.PATTERNS[name]
            result = check(none)
            print(result.measured)
            assert "not measured: no partner buyers" in result.measured, result.measured
            assert "nan" not in result.measured and result.passed is False and result.verdict == "FAIL"
            result = check(only)
            print(result.measured)
            assert "nan" not in result.measured
            if name in ("P1", "P5"):
                assert result.measured == "not measured: no aggressive buyers" and result.passed is False
            else:
                assert "not measured: no" not in result.measured and "partner" in result.measured


def test_partner_comparisons_leave_out_seeds_without_the_posture_and_say_so():
    """Seeds where a posture had no buyers (NaN) are left out of P1, P5, P7 and P8's means and intervals, and
    the text says over how many: the other seeds still show the pattern."""
    def seed(i: int, partners: bool) -> dict:
        x = 0.01 * (i % 3)
        p = (lambda v: v) if partners else (lambda v: math.nan)
        return {"price_partner": p(1.1 + x), "price_aggressive": 1.0, "ideas_partner": p(0.6 + x),
                "ideas_aggressive": 0.1, "trust_partner": p(0.8 + x), "tco_partner": p(1.2 + x),
                "quiet_before_exit": 0.9 + x, "quiet_base_rate": 0.5}
    runs = [seed(i, partners=i < 6) for i in range(8)]
    nudged = [dict(r, trust_partner=r["trust_partner"] + 0.1, tco_partner=r["tco_partner"] + 0.05,
                   price_partner=r["price_partner"] - 0.05) for r in runs]
    r = {"baseline": runs, "passive": runs, "silence": nudged, "bundled": runs, "unbundled": nudged}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for name in POSTURE_CHECKS:
            result = patterns.PATTERNS[name](r)
            print(result.measured)
            assert "over 6 of 8 seeds" in result.measured and "nan" not in result.measured
            assert result.passed, result.measured
    assert "price partner 1.110 − aggressive 1.000" in patterns.p1(r).measured  # over the six seeds with partners


def test_p3_and_p4_average_the_seeds_that_measured_their_fifths_and_say_over_how_many():
    """A fifth of buyers without face-to-face hours has no non-productive share, a tenth that bought no lot no
    inspection rate: NaN for that seed. P3 and P4 averaged the seeds with NumPy's mean, so one such seed made the
    figure "nan" and the verdict a FAIL; now they average the seeds that measured it and say over how many, and
    with none say "not measured"."""
    n = 8
    low = [math.nan, math.nan, math.nan] + [0.47] * (n - 3)
    p3 = patterns.p3({"baseline": [{"nonprod_low": x, "nonprod_high": 0.24} for x in low]})
    p4 = patterns.p4({"baseline": [{"inspection_top_tenth": x, "units_per_hour_ratio": 4.0}
                                   for x in [0.01] * (n - 2) + [math.nan] * 2]})
    print(p3.measured, p4.measured, sep="\n")
    assert p3.passed and p3.measured.endswith("least-trusted fifth 0.470 (over 5 of 8 seeds), most trusted fifth 0.240")
    assert p4.passed and "top tenth 0.010 (over 6 of 8 seeds); " in p4.measured and "4.00×;" not in p4.measured
    none = patterns.p3({"baseline": [{"nonprod_low": math.nan, "nonprod_high": math.nan}] * n})
    assert none.measured.startswith("not measured") and not none.passed
    inf = patterns.p4({"baseline": [{"inspection_top_tenth": 0.01, "units_per_hour_ratio": r}
                                    for r in [math.inf, 4.0, math.nan]]})
    assert inf.passed and "inf× (over 2 of 3 seeds)" in inf.measured  # nothing handled at the bottom: measured
