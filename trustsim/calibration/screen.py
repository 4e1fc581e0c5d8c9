"""Screening: which of the candidate parameters move the calibration targets. Sobol indices (Saltelli's
sampling and Jansen's estimators through SALib, as ``trustsim sweep``'s sobol design) of each target over the
priors' box, on common seeds, so that the calibrated set is the few parameters the figures can inform."""

from __future__ import annotations

import warnings

import numpy as np

from ..experiments.design import needs_salib
from .config import Calibration
from .simulate import SCREEN, Simulator

INFORMED = 0.05  # a parameter whose total index on some calibrate-role target reaches this is informed by it


def screening(cal: Calibration, executor, slots: int, samples: int, quiet: bool = True, watch=None):
    """Sobol first-order and total indices (95% intervals) per target and parameter, ``samples`` base samples
    (N × (parameters + 2) runs), every run on the same few seeds (common random numbers); ``watch`` as the
    ``Simulator``'s."""
    # on use: only this path needs pandas, design
    import pandas as pd


    needs_salib("sobol", cal.source, key=None)
    # an optional dependency, needed only here
    from SALib.analyze import sobol as analyze
    from SALib.sample import sobol as sample

    problem = {"num_vars": len(cal.keys), "names": list(cal.keys),
               "bounds": [[a, b] for a, b in zip(cal.lo, cal.hi, strict=True)]}
    X = sample.sample(problem, samples, calc_second_order=False, scramble=True, seed=cal.spec.seed % 2**32)
    measures = [t.measure for t in cal.spec.targets]
    sim = Simulator(cal, executor, slots, measures, (SCREEN,), replicates=2, watch=watch)
    m = np.full(len(X), int(np.argmax(cal.structure_prior)))
    keys = np.zeros((len(X), 3), int)  # common random numbers: every point on the same seeds
    Y = sim(X, m, keys)
    rows = []
    for k, t in enumerate(cal.spec.targets):
        y = Y[:, k]
        filled = int(np.count_nonzero(~np.isfinite(y)))  # points without the figure: given its mean, and counted
        if filled:
            y = np.where(np.isfinite(y), y, np.nanmean(y))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            # a Generator, not the int: SALib takes a seed of 0 for none and draws the intervals at random
            res = analyze.analyze(problem, y, calc_second_order=False, conf_level=0.95,
                                  seed=np.random.default_rng(cal.spec.seed % 2**32))
        for j, key in enumerate(cal.keys):
            rows.append({"target": t.name, "role": t.role, "parameter": key, "S1": float(res["S1"][j]),
                         "S1_conf": float(res["S1_conf"][j]), "ST": float(res["ST"][j]),
                         "ST_conf": float(res["ST_conf"][j]), "filled": filled, "points": len(y)})
    return pd.DataFrame(rows)


def informed(table, roles=("calibrate",)) -> list[tuple[str, float]]:
    """Parameters by their largest total index over the calibrate-role targets, those reaching INFORMED."""
    t = table[table["role"].isin(roles)]
    best = t.groupby("parameter")["ST"].max().sort_values(ascending=False)
    return [(k, float(v)) for k, v in best.items() if v >= INFORMED]
