"""Calibrate trustsim's free parameters to the published figures of patterns P3 and P10, and to nothing else.

The free parameters are those no source fixes: the face-to-face hour constants, the play-off
penalty and the quality learning of process ideas. The targets are the published figures: Dyer &
Chu's non-productive shares (0.47 for the least-trusted fifth of buyers, 0.24 for the most trusted
fifth), Dyer & Hatch's defect reductions (50% for the knowledge-sharing customer's lots, 26% for
the others over six years). Every other pattern (P1, P2, P4–P9) and regularity is held out: no
penalty steers the search toward it, so what the pattern suite then reports is out of sample.

The search is Nelder–Mead (scipy) on common random numbers (the same seeds for every candidate),
from a Latin-hypercube start: it prints the best point and its figures, and writes them as JSON
with the figures of the shipped defaults on the same seeds and, for a point left on an edge of the
search box, the loss a quarter of the box beyond that edge (does the box bind?).

    python scripts/calibrate.py --seeds 12 --starts 24 --out docs/calibration.json

Superseded by ``trustsim calibrate`` (a posterior by ABC-SMC, with coverage and predictive checks); kept
until the defaults are the posterior's, because docs/calibration.json, the record of the current defaults
that docs/ODD.md's calibration table shows, is this script's output.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import numpy as np
from scipy.optimize import minimize
from scipy.stats import qmc

from trustsim.params import Params, bounds
from trustsim.patterns import measure

# name, search range (within the schema's declared range)
FREE = {
    "time.h_admin": (2.0, 24.0),
    "time.h_monitor": (4.0, 40.0),
    "time.h_collab": (10.0, 60.0),
    "trust.playoff_penalty": (0.1, 0.6),
    "innovation.quality_idea_value": (0.02, 0.4),
    "innovation.quality_spillover": (0.02, 0.5),
}
# the specification's first calibration of the same parameters, kept in the record for comparison
MODEL_MD = {"time.h_admin": 8.0, "time.h_monitor": 15.0, "time.h_collab": 30.0, "trust.playoff_penalty": 0.1,
            "innovation.quality_idea_value": 0.1, "innovation.quality_spillover": 0.15}
TARGETS = {"nonprod_low": 0.47, "nonprod_high": 0.24, "defect_drop_partner": 0.50, "defect_drop_aggressive": 0.26}


def figures(theta: np.ndarray, base: Params, seeds: list[int], workers) -> dict[str, float]:
    params = base.replace(**dict(zip(FREE, (float(x) for x in theta), strict=True)))
    runs = list(workers.map(measure, [params] * len(seeds), seeds)) if workers else [measure(params, s) for s in seeds]
    keys = set.intersection(*(set(r) for r in runs))
    out = {k: float(np.mean([r[k] for r in runs])) for k in keys}
    out["ideas_ratio"] = out["ideas_partner"] / max(out["ideas_aggressive"], 1e-9)
    out["share_diff"] = out["share_partner"] - out["share_aggressive"]
    return out


def loss(f: dict[str, float]) -> float:
    """Squared distance to the published figures of P3 and P10 (a missing figure counts as far off)."""
    return float(sum((f.get(k, t + 1.0) - t) ** 2 for k, t in TARGETS.items()))


def rounded(f: dict[str, float]) -> dict[str, float]:
    return {k: round(v, 4) for k, v in sorted(f.items())}


def beyond_edges(theta: np.ndarray, loss_at) -> dict[str, dict[str, float]]:
    """For each parameter the search left on an edge of its box: the loss a quarter of the box beyond
    that edge (within the schema's range), the others held. A higher loss there says the box does not bind."""
    out = {}
    for i, (key, (lo, hi)) in enumerate(FREE.items()):
        side = hi if theta[i] >= hi - 0.01 * (hi - lo) else lo if theta[i] <= lo + 0.01 * (hi - lo) else None
        if side is None:
            continue
        dlo, dhi = bounds(key)
        step = 0.25 * (hi - lo) * (1 if side == hi else -1)
        outside = theta.copy()
        outside[i] = float(np.clip(side + step, dlo, dhi))
        if outside[i] != side:
            out[key] = {"edge": float(side), "beyond": outside[i], "loss_beyond": loss_at(outside)}
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--starts", type=int, default=12, help="Latin-hypercube points tried before the local search")
    ap.add_argument("--maxiter", type=int, default=300)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--out", default=None, help="write the result as JSON here")
    args = ap.parse_args(argv)
    for key, (lo, hi) in FREE.items():
        dlo, dhi = bounds(key)
        assert dlo <= lo < hi <= dhi, key
    base, seeds = Params(), list(range(101, 101 + args.seeds))  # seeds apart from the pattern tests'
    lo = np.array([r[0] for r in FREE.values()])
    hi = np.array([r[1] for r in FREE.values()])
    from concurrent.futures import ProcessPoolExecutor

    pool = ProcessPoolExecutor(args.workers) if args.workers > 1 else None
    t0 = time.perf_counter()
    evals = []

    def objective(z):  # z in the unit cube
        theta = lo + np.clip(z, 0, 1) * (hi - lo)
        f = figures(theta, base, seeds, pool)
        value = loss(f)
        evals.append((value, theta, f))
        return value

    current = np.array([(getattr(getattr(base, k.split(".")[0]), k.split(".")[1]) - a) / (b - a)
                        for k, (a, b) in FREE.items()]).clip(0, 1)
    starts = np.vstack([current, qmc.LatinHypercube(d=len(FREE), seed=1).random(args.starts)])
    scored = sorted(((objective(z), i) for i, z in enumerate(starts)))
    best_start = starts[scored[0][1]]
    print(f"best of {len(starts)} starting points: loss {scored[0][0]:.5f}", file=sys.stderr)
    res = minimize(objective, best_start, method="Nelder-Mead",
                   options={"maxiter": args.maxiter, "xatol": 1e-3, "fatol": 1e-6, "initial_simplex": None})
    value, theta, f = min(evals, key=lambda e: e[0])
    chosen = {k: round(float(v), 4) for k, v in zip(FREE, theta, strict=True)}
    seconds = round(time.perf_counter() - t0, 1)
    shipped = np.array([float(base.flat()[k]) for k in FREE])
    f_shipped = figures(shipped, base, seeds, pool)
    report = {"loss": value, "evaluations": len(evals), "seeds": seeds, "parameters": chosen,
              "figures": rounded(f), "targets": TARGETS,
              "optimiser": f"Nelder-Mead from the best of {len(starts)} Latin-hypercube starts; {res.message}",
              "seconds": seconds, "model_md": MODEL_MD,
              "defaults": {"parameters": dict(zip(FREE, shipped.tolist(), strict=True)), "loss": loss(f_shipped),
                           "figures": rounded(f_shipped)},
              "edges": beyond_edges(theta, lambda th: loss(figures(th, base, seeds, pool)))}
    print(json.dumps(report, indent=2))
    if args.out:
        with open(args.out, "w") as fh:
            json.dump(report, fh, indent=2)
            fh.write("\n")
    if pool:
        pool.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
