"""Figures that sweeps and the pattern suite both compute, defined once: the 95% interval of a mean over
seeds or replications, and the partner advantages (partner buyers against aggressive ones)."""

from __future__ import annotations

import math

import numpy as np

from .errors import ParamError

MIN_SEEDS = 2  # runs a 95% interval of a mean needs


def require_seeds(option: str, n: int) -> None:
    """ParamError naming ``option`` (``--seeds``) when ``n`` seeds are too few for the intervals."""
    if n < MIN_SEEDS:
        raise ParamError(option, None, f"{n} is too few: the intervals need at least {MIN_SEEDS} seeds")


ADVANTAGES = {
    # partner buyers' mean market share minus aggressive buyers', in units of the equal share 1/n
    "advantage.market_share": "partner minus aggressive market share per buyer, in units of the equal share 1/n",
    # cumulative profit per buyer (profit since step 1), partner minus aggressive, averaged over the long run like
    # every long-run figure: neither the profit earned in the long run nor the total at the last step
    "advantage.profit_cum": "partner minus aggressive cumulative profit per buyer (since step 1, mean over the long "
                            "run)",
    # total cost of ownership per unit, aggressive minus partner (positive: partners' components cost less)
    "advantage.tco_per_unit": "aggressive minus partner cost of ownership per unit (positive: partners pay less)",
}


def mean_halfwidth(values) -> tuple[float, float]:
    """Mean and half-width of the 95% Student-t interval of the mean. One value: its mean, and a half-width of NaN
    (an interval needs n − 1 ≥ 1 degrees of freedom; one seed says nothing of the spread); none: NaN, NaN."""
    v = np.asarray(values, dtype=float)
    if not len(v):
        return math.nan, math.nan
    m = float(v.mean())
    if len(v) < 2:
        return m, math.nan
    # on use: only this path needs scipy
    from scipy import stats

    return m, float(stats.t.ppf(0.975, len(v) - 1) * v.std(ddof=1) / math.sqrt(len(v)))


def mean_ci(values) -> tuple[float, float, float]:
    """Mean and 95% t-interval (low, high) over seeds or replications."""
    m, h = mean_halfwidth(values)
    return m, m - h, m + h


def interval_text(m: float, lo: float, hi: float, digits: int = 3, sign: str = "") -> str:
    """"mean [low, high]" with ``digits`` decimals (``sign="+"`` shows a plus); with a mean but no interval (one
    seed measured it), "mean (one seed: no interval)"; with no mean, "not measured". Never ``nan``."""
    if not math.isfinite(m):
        return "not measured"
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return f"{m:{sign}.{digits}f} (one seed: no interval)"
    return f"{m:{sign}.{digits}f} [{lo:{sign}.{digits}f}, {hi:{sign}.{digits}f}]"


def finite(values) -> np.ndarray:
    """The finite values only (a failed run or a posture with no buyers leaves NaN)."""
    v = np.asarray(values, dtype=float)
    return v[np.isfinite(v)]


def nan_as_null(value):
    """A record as JSON can hold it: a NaN or infinite figure (not measured: a posture with no buyers) as null,
    in dicts and lists at any depth; JSON has no NaN, and ``NaN`` in a file is not JSON."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: nan_as_null(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [nan_as_null(v) for v in value]
    return value


def null_as_nan(record: dict) -> dict:
    """``json.loads``' ``object_hook`` for a summary: a null figure back to NaN (a file written before nulls,
    with ``NaN``, reads the same)."""
    return {k: math.nan if v is None else v for k, v in record.items()}


def share_advantage(partner: dict, aggressive: dict) -> float | None:
    """Market share per partner buyer minus per aggressive buyer, in units of the equal share 1/n, from the
    two postures' long-run means (``buyers``, ``market_share``); None when a posture has no buyers."""
    n_p, n_a = partner["buyers"], aggressive["buyers"]
    if not (n_p > 0 and n_a > 0):
        return None
    return (partner["market_share"] / n_p - aggressive["market_share"] / n_a) * (n_p + n_a)


def posture_means(summary: dict, window: str = "long_run") -> tuple[dict, dict] | None:
    """The partner and aggressive buyers' means over a window of a run's summary (``Recorder.summary``) that an
    advantage compares: over the steps where both postures had buyers (``both_postures``, present where a
    posture was empty in some steps), else the groups' own means; None when no step had both."""
    both = summary.get("both_postures", {}).get(window)
    if both is None:
        return summary[window]["partner"], summary[window]["aggressive"]
    return (both["partner"], both["aggressive"]) if both["steps"] else None


def window_share_advantage(summary: dict, window: str = "long_run") -> float | None:
    """``share_advantage`` over a window of a run's summary, on ``posture_means``; None without both postures."""
    means = posture_means(summary, window)
    return None if means is None else share_advantage(*means)


def advantages(summary: dict) -> dict[str, float | None]:
    """The partner advantages of :data:`ADVANTAGES` from a run's summary: its long-run means by posture over the
    steps both postures had buyers (``posture_means``; None when a posture has no buyers)."""
    means = posture_means(summary)
    if means is None:
        return dict.fromkeys(ADVANTAGES)
    p, a = means
    both = p["buyers"] > 0 and a["buyers"] > 0
    return {
        "advantage.market_share": share_advantage(p, a),
        "advantage.profit_cum": p["profit_cum"] - a["profit_cum"] if both else None,
        "advantage.tco_per_unit": a["tco_per_unit"] - p["tco_per_unit"] if both else None,
    }


def _t975(dof):
    """The 97.5% quantile of Student's t with ``dof`` degrees of freedom (vectorised)."""
    # on use: only this path needs scipy
    from scipy import stats

    return stats.t.ppf(0.975, dof)


def describe(values) -> dict[str, float | int]:
    """Mean, standard deviation, 95% interval (low, high) and count of the finite values (one value: no spread,
    so its standard deviation and interval are NaN)."""
    v = finite(values)
    m, h = mean_halfwidth(v)
    sd = float(v.std(ddof=1)) if len(v) > 1 else math.nan
    return {"mean": m, "sd": sd, "low": m - h, "high": m + h, "n": int(len(v))}


def interval_frame(df, by, columns, counts: bool = False):
    """Per group of ``by``: each column's mean and 95% interval over the rows (NaN left out), as columns
    ``c``, ``c.low``, ``c.high``, after ``n``, the group's rows: :func:`mean_halfwidth` for many groups at once
    (a column with one value in a group: its mean, and no interval). ``counts``: also ``c.n``, the values the
    mean and interval were taken over (fewer than ``n`` where a row has no figure)."""
    # on use: only this path needs pandas
    import pandas as pd

    g = df.groupby(by, sort=True)[list(columns)]
    mean, sd, n = g.mean(), g.std(ddof=1), g.count()
    t = pd.DataFrame(_t975(np.maximum(n.to_numpy(float) - 1, 1)), index=n.index, columns=n.columns)
    half = (t * sd / np.sqrt(n)).where(n > 1)
    out = {}
    for c in columns:
        out[c], out[f"{c}.low"], out[f"{c}.high"] = mean[c], mean[c] - half[c], mean[c] + half[c]
        if counts:
            out[f"{c}.n"] = n[c]
    frame = pd.DataFrame(out)
    frame.insert(0, "n", df.groupby(by, sort=True).size())
    return frame.reset_index()


def difference(a, b, paired: bool) -> dict[str, float | int]:
    """B minus A: the mean difference and its 95% interval. Paired (the same seeds, in order): the interval
    of the mean of the differences, over the seeds where both are numbers; otherwise Welch's interval of the
    difference of the means."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    if paired:
        keep = np.isfinite(a) & np.isfinite(b)
        d = describe(b[keep] - a[keep])
        return {"difference": d["mean"], "low": d["low"], "high": d["high"], "n": d["n"]}
    a, b = finite(a), finite(b)
    if not len(a) or not len(b):
        return {"difference": math.nan, "low": math.nan, "high": math.nan, "n": 0}
    diff = float(b.mean() - a.mean())
    if len(a) < 2 or len(b) < 2:
        return {"difference": diff, "low": math.nan, "high": math.nan, "n": int(min(len(a), len(b)))}
    va, vb = a.var(ddof=1) / len(a), b.var(ddof=1) / len(b)
    se2 = va + vb
    if se2 == 0:
        return {"difference": diff, "low": diff, "high": diff, "n": int(min(len(a), len(b)))}
    dof = se2 ** 2 / (va ** 2 / (len(a) - 1) + vb ** 2 / (len(b) - 1))
    h = float(_t975(dof) * math.sqrt(se2))
    return {"difference": diff, "low": diff - h, "high": diff + h, "n": int(min(len(a), len(b)))}


def mser5(series) -> tuple[int, bool]:
    """The warm-up to delete from a simulated series by MSER-5 (White 1997; White, Cobb & Spratt 2000;
    Franklin & White 2008; Hoad, Robinson & Davies 2010): average the series in batches of 5 from its first step,
    ``z_j = (y_{5j−4} + … + y_{5j}) / 5`` for ``j = 1 … m = ⌊n/5⌋`` (the n mod 5 steps after the last whole batch
    are left out, as the method defines it), and choose the number ``d`` of leading batches that minimises the
    squared standard error of the mean of the rest, ``Σ_{j>d} (z_j − z̄_d)² / (m − d)²``, over all but the last 5
    batches. Returns ``(steps to delete, steady)``: the ``5d`` steps of the deleted batches; ``steady`` is False
    when the minimum lies in the second half of the series, MSER's sign that the run is too short to reach steady
    state. NaN steps (a posture with no buyers) are left out of the batches, and the steps to delete counted
    in the series as given, NaN steps included.

    The statistic is the same for the series shifted by any constant, and a series that does not vary (beyond
    the last bits of its numbers) needs no warm-up: the batches are taken as differences from the last one,
    differences below 10⁻¹² of the series' largest number are 0, and a tie goes to the fewest batches deleted."""
    y = np.asarray(series, dtype=float)
    at = np.flatnonzero(np.isfinite(y))  # where each number lies in the series as given
    y = y[at]
    m = len(y) // 5
    if m < 10:
        return 0, False
    z = y[: 5 * m].reshape(m, 5).mean(axis=1)
    z = z - z[-1]                                    # shifted: no level to cancel below
    z[np.abs(z) <= 1e-12 * np.max(np.abs(y))] = 0.0  # a difference of rounding only
    tail = z[::-1]
    count = np.arange(1, m + 1)
    mean = np.cumsum(tail) / count                  # mean of the last c batches
    sq = np.cumsum(tail ** 2) / count
    sse = np.maximum(sq - mean ** 2, 0.0) * count   # Σ (z − z̄)² over the last c batches
    stat = (sse / count ** 2)[::-1]                 # by d = m − c leading batches deleted
    d = int(np.argmin(stat[: m - 5]))
    return int(at[5 * d]), d <= m // 2
