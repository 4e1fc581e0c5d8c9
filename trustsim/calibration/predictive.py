"""Posterior predictive checks: every target (its role named) re-simulated at posterior draws on fresh seeds,
against its published figure and against the defaults; and how often each pattern P1–P10 and regularity
R1–R4 holds under the posterior against at the defaults."""

from __future__ import annotations

import sys
import warnings

import numpy as np

from ..patterns import evaluate, run_all, variants
from .abc import Population
from .config import Calibration
from .simulate import PREDICTIVE, Simulator, calibration_seed

PATTERN_SEED_BASE = 1_000_000  # the pattern runs' seeds start here: far from the tests' 1–30 and 101–112


def posterior_draws(cal: Calibration, pop: Population, n: int, stream: int):
    """``n`` draws (parameters, structure) from the weighted population, by the calibration's seed."""
    rng = np.random.default_rng(np.random.SeedSequence(cal.spec.seed, spawn_key=(PREDICTIVE, stream)))
    theta, m, w, _ = pop.arrays()
    idx = rng.choice(len(w), size=n, p=w)
    return theta[idx], m[idx], rng


def predictive_table(cal: Calibration, pop: Population, sim: Simulator, slots: int, quiet: bool = True):
    """The posterior predictive checks: per target, the 90% interval of ``draws`` re-simulated figures at posterior
    draws and at the scenario's own parameters (each figure, as the fit's, the mean over ``replicates`` runs with a
    draw of the published figure's error added), and whether it holds the published value; then the patterns' rows."""
    # on use: only this path needs pandas
    import pandas as pd

    spec = cal.spec.predictive
    targets = cal.spec.targets
    theta, m, rng = posterior_draws(cal, pop, spec.draws, 0)
    keys = np.column_stack([np.zeros(len(m), int), np.zeros(len(m), int), np.arange(len(m))])
    sd = np.array([t.sd for t in targets])
    post = sim(theta, m, keys) + rng.standard_normal((len(m), len(targets))) * sd  # a new published figure
    # each default draw, as each posterior one, the mean over the particle's replicate runs: a single run's figure
    # would have the wider spread of one run, not the fitted figure's; its first run on the seed it always had
    reps = sim.replicates
    seeds = [calibration_seed(cal.spec.seed, PREDICTIVE, 1, i, *((r,) if r else ())) for i in range(spec.draws)
             for r in range(reps)]
    runs = sim.runs([cal.base] * (spec.draws * reps), seeds).reshape(spec.draws, reps, len(targets))
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a draw none of whose runs has the figure: NaN, left out
        dflt = np.nanmean(runs, axis=1) + rng.standard_normal((spec.draws, len(targets))) * sd
    rows = []
    for k, t in enumerate(targets):
        x, y = post[:, k][np.isfinite(post[:, k])], dflt[:, k][np.isfinite(dflt[:, k])]
        lo, hi = (np.quantile(x, [0.05, 0.95]) if len(x) else (np.nan, np.nan))
        dlo, dhi = (np.quantile(y, [0.05, 0.95]) if len(y) else (np.nan, np.nan))
        rows.append({"kind": "target", "name": t.name, "role": t.role, "measure": t.measure, "published": t.value,
                     "sd": t.sd, "mean": float(np.mean(x)) if len(x) else np.nan, "lo90": lo, "hi90": hi,
                     "inside90": bool(lo <= t.value <= hi), "defaults_mean": float(np.mean(y)) if len(y) else np.nan,
                     "defaults_lo90": dlo, "defaults_hi90": dhi, "draws": len(x), "source": t.source})
    if spec.pattern_draws:
        rows += pattern_rows(cal, pop, sim.executor, slots, quiet)
    return pd.DataFrame(rows)


def pattern_rows(cal: Calibration, pop: Population, executor, slots: int, quiet: bool) -> list[dict]:
    """How often each pattern and regularity holds at ``pattern_draws`` posterior draws and, on the same seeds,
    at the scenario's own parameters (each with ``pattern_seeds`` seeds per variant), run on the calibration's
    ``executor`` (its ``slots`` workers, local or a cluster's), not on a pool of their own beside it."""
    # on use: only this path needs tqdm, patterns
    from tqdm import tqdm


    spec = cal.spec.predictive
    theta, m, _ = posterior_draws(cal, pop, spec.pattern_draws, 2)
    sets = [cal.base] + [cal.params(th, int(mm)) for th, mm in zip(theta, m, strict=True)]
    held: dict[str, list] = {}
    with tqdm(total=len(sets) * len(variants(cal.base)) * spec.pattern_seeds, desc="pattern runs", unit="run",
              file=sys.stderr, disable=quiet or not sys.stderr.isatty()) as bar:
        for i, params in enumerate(sets):
            runs = run_all(params, seeds=spec.pattern_seeds, workers=slots, progress=bar.update,
                           first=PATTERN_SEED_BASE + i * spec.pattern_seeds, executor=executor)
            for r in evaluate(runs):
                if r.pattern.startswith(("P", "R")):
                    held.setdefault(r.pattern, []).append(bool(r.passed))
    fitted = cal.fitted_patterns  # a pattern whose published figures are fitted is checked in sample
    return [{"kind": "pattern", "name": name, "role": "calibrate" if name in fitted else "held_out",
             "p_posterior": float(np.mean(v[1:])),
             "p_defaults": float(v[0]), "draws": len(v) - 1, "seeds": spec.pattern_seeds} for name, v in held.items()]
