"""What a posterior says about identifiability, and whether the method recovers known truths.

Coverage, the check simulation-based calibration implies (Talts et al. 2018 test the whole rank distribution of
the truth; this tests two of its consequences): pseudo-observed figures made at parameters drawn from the
prior are calibrated as the published ones would be; over many such truths a central 50% (90%) interval
must hold the truth about 50% (90%) of the time. Shrinkage (1 − posterior variance / prior variance, per
parameter) says how much the figures inform each parameter; posterior correlations show which move
together (a ridge: the figures fix a combination, not each parameter).
"""

from __future__ import annotations

import math

import numpy as np

from .abc import Population, intervals

LEVELS = (0.5, 0.9)


def weighted_moments(pop: Population) -> tuple[np.ndarray, np.ndarray]:
    """Posterior mean and covariance of the parameters."""
    theta, _, w, _ = pop.arrays()
    mean = w @ theta
    dev = theta - mean
    return mean, (dev * w[:, None]).T @ dev


def shrinkage(pop: Population, lo, hi) -> np.ndarray:
    """1 − posterior variance / prior variance per parameter (uniform prior: (hi − lo)² / 12)."""
    _, cov = weighted_moments(pop)
    return 1.0 - np.diag(cov) / ((np.asarray(hi) - np.asarray(lo)) ** 2 / 12.0)


def correlations(pop: Population) -> np.ndarray:
    """The posterior correlation matrix of the parameters."""
    _, cov = weighted_moments(pop)
    sd = np.sqrt(np.clip(np.diag(cov), 1e-300, None))
    return cov / np.outer(sd, sd)


def coverage_records(dataset: int, keys, truth, pop: Population) -> list[dict]:
    """One row per parameter: the truth, the posterior mean, the 50% and 90% intervals and whether they hold it."""
    mean, _ = weighted_moments(pop)
    iv = intervals(pop, LEVELS)
    rows = []
    for j, key in enumerate(keys):
        row = {"dataset": dataset, "parameter": key, "truth": float(truth[j]), "posterior_mean": float(mean[j])}
        for lv in LEVELS:
            a, b = iv[lv][j]
            pct = int(lv * 100)
            row.update({f"lo{pct}": float(a), f"hi{pct}": float(b), f"in{pct}": bool(a <= truth[j] <= b)})
        rows.append(row)
    return rows


def coverage_summary(rows: list[dict]) -> list[dict]:
    """Per level: the share of intervals that held the truth, its binomial standard error under the nominal rate,
    and whether it lies within two of them."""
    out = []
    for lv in LEVELS:
        hits = np.array([r[f"in{int(lv * 100)}"] for r in rows], dtype=float)
        se = math.sqrt(lv * (1 - lv) / max(len(hits), 1))
        rate = float(hits.mean()) if len(hits) else math.nan
        out.append({"level": lv, "rate": rate, "n": len(hits), "se": se, "within": abs(rate - lv) <= 2 * se})
    return out
