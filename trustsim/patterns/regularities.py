"""The regularities R1, R2 and R4 of betrayable trust (docs/ODD.md section 1), and the channel decomposition.

Like the patterns, each is a check over seeds with 95% intervals, registered in the same table; none is
produced by a rule that names it, and one that does not emerge is reported with its figures (its
verdict says so). R3 runs buyers that learn their terms (``buyers.conduct = "learning"``).
"""

from __future__ import annotations

import numpy as np

from ..stats import finite, interval_text, mean_ci
from .checks import (
    NOT_BOTH,
    Result,
    _seeds_left_out,
    col,
    decomposition,
    measured_at_every,
    measured_ci,
    measured_count,
    measured_mean,
    pattern,
)
from .variants import CHANNELS, FIT_SPREADS, INTEGRITIES, SIGMAS, TRUST_LEAN


def _ci_text(x, digits=3, runs=None) -> str:
    """Mean [95% interval] over the measured seeds; with ``runs``, how many of them when not all
    (an advantage is NaN where a posture had no buyers: left out, not taken as 0)."""
    m, lo, hi = measured_ci(x)
    if runs is not None and not measured_count(x):
        return "not measured"
    return interval_text(m, lo, hi, digits, "+") + ("" if runs is None else _seeds_left_out(measured_count(x), runs))


@pattern
def r1(r) -> Result:
    """R1, trust has a price: the partner advantage falls as suppliers' integrity falls."""
    by = [col(r[f"integrity={t}"], "share_advantage") for t in INTEGRITIES]
    target = "slope > 0 (CI excludes 0)"
    ys = measured_at_every(by)  # the seeds measured at every θ̄
    per_seed = np.array([np.polyfit(INTEGRITIES, ys[:, i], 1)[0] for i in range(ys.shape[1])])
    if not len(per_seed):
        return Result("R1", "S14", NOT_BOTH, target, False,
                      {"advantage": [measured_mean(x) for x in by], "by_integrity": by})
    means = np.array([measured_mean(x) for x in by])
    pooled = [finite(x) for x in by]
    slope = np.polyfit(np.repeat(INTEGRITIES, [len(x) for x in pooled]), np.concatenate(pooled), 1)[0]
    m, lo, hi = mean_ci(per_seed)
    steps = zip(INTEGRITIES, INTEGRITIES[1:], means, means[1:], strict=False)  # neighbours: one pair fewer
    crossing = next((f"between θ̄ {a} and {b}" for a, b, x, y in steps if x >= 0 > y or x < 0 <= y), "none in the range")
    shown = ", ".join(f"{t}: {a:+.3f}" for t, a in zip(INTEGRITIES, means, strict=True))
    left_out = _seeds_left_out(len(per_seed), r[f"integrity={INTEGRITIES[0]}"])
    slope_text = interval_text(m, lo, hi, 3, "+")
    return Result("R1", "S14", f"advantage by integrity mean {shown}; slope {slope_text}{left_out} "
                  f"(pooled {slope:+.3f}); crosses 0 {crossing}", target, bool(lo > 0),
                  {"advantage": list(means), "by_integrity": by})


@pattern
def r2(r) -> Result:
    """R2, trust against flexibility: with ideas scarce and a large fit spread the advantage falls with σ."""
    big = FIT_SPREADS[-1]
    grid = {(s, f): col(r[f"scarce,sigma={s},fit={f}"], "share_advantage") for s in SIGMAS for f in FIT_SPREADS}
    d = grid[(SIGMAS[-1], big)] - grid[(SIGMAS[0], big)]
    m, lo, hi = measured_ci(d)
    target = "falls with σ at the largest fit spread (CI below 0)"
    if not measured_count(d):
        return Result("R2", "S14, S19", NOT_BOTH, target, False, {"grid": grid})
    rows = "; ".join(f"fit {f}: " + " ".join(f"{measured_mean(grid[(s, f)]):+.2f}" for s in SIGMAS)
                     for f in FIT_SPREADS)
    left_out = _seeds_left_out(measured_count(d), r[f"scarce,sigma={SIGMAS[0]},fit={big}"])
    return Result("R2", "S14, S19", f"scarce ideas, advantage over σ {SIGMAS} — {rows}; at fit {big}, "
                  f"σ {SIGMAS[-1]} − σ {SIGMAS[0]} = {interval_text(m, lo, hi, 3, "+")}{left_out}",
                  target, bool(hi < 0), {"grid": grid})


R3_SETTINGS = ("learning", "learning, short-termist", "learning, null model", "learning, no peers",
               "learning, trust lean")


@pattern
def r3(r) -> Result:
    """R3, partnership is learned where it pays: with learning buyers (half starting each way) the share of
    relationships on partner terms rises at the defaults and falls with short-termists and in the null model."""
    change = {name: col(r[name], "terms_end") - col(r[name], "terms_start") for name in R3_SETTINGS}
    ci = {name: mean_ci(x) for name, x in change.items()}
    integrity = col(r["learning, suppliers adapt"], "integrity_end") - col(r["learning, suppliers adapt"],
                                                                            "integrity_start")
    def called(name):  # a variant as the table and the figure's legend name it
        return name.replace("learning, trust lean", f"learning with trust_weight {TRUST_LEAN:g}")

    shown = "; ".join(f"{called(name)} {_ci_text(x)}" for name, x in change.items())
    ok = ci["learning"][1] > 0 and ci["learning, short-termist"][2] < 0 and ci["learning, null model"][2] < 0
    series = {called(name): np.array([run["terms_series"] for run in r[name]]) for name in R3_SETTINGS}
    return Result("R3", "S18", f"share on partner terms, late − early: {shown}; suppliers' integrity when both "
                  f"adapt {_ci_text(integrity)}", "rises at the defaults, falls for short-termists and in the "
                  "null model (CIs exclude 0)", ok, {"change": change, "series": series, "integrity": integrity})


R4_NEAR_START = 0.03  # R4: "stays near its start" without word of mouth: the 95% interval within ± this share


@pattern
def r4(r) -> Result:
    """R4, markets discipline opportunists: with word of mouth the bottom quarter by integrity holds a falling
    share of relationships; without it the share stays near its start (its change's 95% interval within
    ± ``R4_NEAR_START``)."""
    change = {name: col(r[name], "low_integrity_end") - col(r[name], "low_integrity_start")
              for name in ("baseline", "no word of mouth")}
    mw, low_w, hi_w = mean_ci(change["baseline"])
    mn, low_n, hi_n = mean_ci(change["no word of mouth"])
    near = low_n >= -R4_NEAR_START and hi_n <= R4_NEAR_START
    return Result("R4", "S14", f"bottom-quarter suppliers' share of relationships, late − early: with word of mouth "
                  f"{_ci_text(change['baseline'])}, without {_ci_text(change['no word of mouth'])}",
                  f"falls with word of mouth (CI below 0); without it the CI within ± {R4_NEAR_START}",
                  hi_w < 0 and near,
                  {"with word of mouth": change["baseline"], "without": change["no word of mouth"]},
                  {"with word of mouth": 0.0, "without": 0.0})


@decomposition
def d(r) -> Result:
    """Where the partner advantage comes from: each channel switched off in turn, on the same seeds."""
    base = col(r["baseline"], "share_advantage")
    contrib = {name: base - col(r[f"off:{name}"], "share_advantage") for name in CHANNELS}
    shown = "; ".join(f"{name} {_ci_text(x, runs=r['baseline'])}" for name, x in contrib.items())
    return Result("D", "S10, S18, S19", f"advantage {_ci_text(base, runs=r['baseline'])}; "
                                        f"lost when switched off: {shown}",
                  "a decomposition (no verdict)", None, {"contribution": contrib})
