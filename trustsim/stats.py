"""Figures that sweeps and the pattern suite both compute, defined once: the 95% interval of a mean over
seeds or replications, and the partner advantages (partner buyers against aggressive ones)."""

from __future__ import annotations

import math

import numpy as np

ADVANTAGES = {
    # partner buyers' mean market share minus aggressive buyers', in units of the equal share 1/n
    "advantage.market_share": "partner minus aggressive market share per buyer, in units of the equal share 1/n",
    # cumulative profit per buyer, partner minus aggressive
    "advantage.profit_cum": "partner minus aggressive cumulative profit per buyer",
    # total cost of ownership per unit, aggressive minus partner (positive: partners' components cost less)
    "advantage.tco_per_unit": "aggressive minus partner cost of ownership per unit (positive: partners pay less)",
}


def mean_halfwidth(values) -> tuple[float, float]:
    """Mean and half-width of the 95% Student-t interval of the mean. One value: half-width 0; none: NaN, NaN."""
    v = np.asarray(values, dtype=float)
    if not len(v):
        return math.nan, math.nan
    m = float(v.mean())
    if len(v) < 2:
        return m, 0.0
    from scipy import stats

    return m, float(stats.t.ppf(0.975, len(v) - 1) * v.std(ddof=1) / math.sqrt(len(v)))


def mean_ci(values) -> tuple[float, float, float]:
    """Mean and 95% t-interval (low, high) over seeds or replications."""
    m, h = mean_halfwidth(values)
    return m, m - h, m + h


def finite(values) -> np.ndarray:
    """The finite values only (a failed run or a posture with no buyers leaves NaN)."""
    v = np.asarray(values, dtype=float)
    return v[np.isfinite(v)]


def share_advantage(partner: dict, aggressive: dict) -> float | None:
    """Market share per partner buyer minus per aggressive buyer, in units of the equal share 1/n, from the
    two postures' long-run means (``buyers``, ``market_share``); None when a posture has no buyers."""
    n_p, n_a = partner["buyers"], aggressive["buyers"]
    if not (n_p > 0 and n_a > 0):
        return None
    return (partner["market_share"] / n_p - aggressive["market_share"] / n_a) * (n_p + n_a)


def advantages(long_run: dict) -> dict[str, float | None]:
    """The partner advantages of :data:`ADVANTAGES` from a run's long-run means by posture (None when a
    posture has no buyers)."""
    p, a = long_run["partner"], long_run["aggressive"]
    both = p["buyers"] > 0 and a["buyers"] > 0
    return {
        "advantage.market_share": share_advantage(p, a),
        "advantage.profit_cum": p["profit_cum"] - a["profit_cum"] if both else None,
        "advantage.tco_per_unit": a["tco_per_unit"] - p["tco_per_unit"] if both else None,
    }
