"""Runs per minute of `trustsim sweep`, one run at a time and as ensembles, on 1 and 2 workers.

The sweep is the default market (40 buyers × 2 slots, 20 suppliers, 120 quarters) on a grid of four
uncertainty levels with replications. Each configuration is timed whole, as a user sees it — starting
the workers, every run, the journal and the final tables (figures left out) — and the best of --repeat
attempts is kept. One run at a time (`--batch 1`) is timed on --alone-runs runs, the ensemble engine
(automatic batches) on --runs runs (each rounded down to whole replications of the four levels, at least
one); runs per minute compare the two at the same number of workers.

How close to the machine's limit: a run of the default market is 80 relationships × 120 steps of
relationship-steps. Beside each configuration the benchmark times one elementwise pass, ``a * b + c``, over
as many doubles as the relationship arrays that configuration steps at once (80 for a run alone, 80 × the
batch for an ensemble; ``scale.elementwise_pass``), and reports relationship-steps per second and a step's
cost in such passes (fewer is closer to what memory and NumPy's loops allow).

Targets (ratios in one run): ensemble ≥ 10× one run at a time on the same workers; 2 workers ≥ 1.7× one.

    python benchmarks/sweep.py
    python benchmarks/sweep.py --runs 2000 --dask     # also a local Dask cluster, ensembles on 2 workers
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from scale import at_least_one, elementwise_pass  # benchmarks/scale.py: the same unit for one market and sweeps

from trustsim.ensemble import batch_size
from trustsim.experiments import build_sweep, run_sweep
from trustsim.params import Params

LEVELS = [0.0, 0.3, 0.6, 0.9]


def timed(sweep, tmp: Path, label: str, repeat: int, **kw) -> float:
    best = float("inf")
    for i in range(repeat):
        t0 = time.perf_counter()
        run_sweep(sweep, tmp / f"{label}-{i}".replace(" ", "_"), quiet=True, figures=False, **kw)
        best = min(best, time.perf_counter() - t0)
    return best


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=at_least_one, default=960,
                    help="runs of the ensemble sweeps (default 960; like --alone-runs, a multiple of the grid's 4 "
                    "levels, rounded down, at least 4)")
    ap.add_argument("--alone-runs", type=at_least_one, default=48,
                    help="runs of the one-at-a-time sweeps (default 48)")
    ap.add_argument("--repeat", type=at_least_one, default=2,
                    help="attempts per configuration; the best is kept (default 2)")
    ap.add_argument("--dask", action="store_true", help="also time a local Dask cluster with 2 workers (ensembles)")
    args = ap.parse_args()

    p = Params().replace(**{"run.steps": 120})  # ten business years: the runs the figures below were timed on
    rel_steps = p.market.buyers * p.market.slots_per_buyer * p.run.steps

    def sweep_of(runs: int):
        reps = max(1, runs // len(LEVELS))
        table = {"design": "grid", "replications": reps, "seed": 1, "factors": {"market.uncertainty": LEVELS}}
        return build_sweep("bench", "benchmark", p, table)

    alone, together = sweep_of(args.alone_runs), sweep_of(args.runs)
    print(f"machine: {os.cpu_count()} cores, Python {platform.python_version()}, NumPy {np.__version__}")
    print(f"default market: {p.market.buyers} buyers × {p.market.slots_per_buyer} slots, {p.run.steps} steps = "
          f"{rel_steps:,} relationship-steps per run")
    print(f"{'configuration':<34} {'runs':>5} {'seconds':>8} {'runs/min':>9} {'rel-steps/s':>12} {'batch':>6} "
          f"{'a*b+c µs':>9} {'passes/step':>11}")
    rates: dict[tuple[str, int], float] = {}
    configs = [("one at a time", alone, {"batch": 1}), ("ensemble", together, {})]
    with tempfile.TemporaryDirectory() as tmp:
        for workers in (1, 2):
            for mode, sweep, kw in configs:
                label = f"{mode}, {workers} worker{'s' if workers > 1 else ''}"
                best = timed(sweep, Path(tmp), label, args.repeat, workers=workers, **kw)
                rate = rates[(mode, workers)] = sweep.n_runs / best * 60
                per_s = sweep.n_runs * rel_steps / best
                batch = kw.get("batch") or batch_size(p, sweep.n_runs, workers)
                rel = batch * p.market.buyers * p.market.slots_per_buyer  # relationships stepped at once
                unit = elementwise_pass(rel)  # measured now, beside the configuration: the same machine load
                step = rel * workers / per_s  # seconds of one step of one batch, on one worker
                print(f"{label:<34} {sweep.n_runs:>5} {best:>8.2f} {rate:>9.0f} {per_s:>12,.0f} {batch:>6} "
                      f"{unit * 1e6:>9.2f} {step / unit:>11,.0f}")
        if args.dask:
            best = timed(together, Path(tmp), "dask", args.repeat, workers=2, dask="local")
            rate = together.n_runs / best * 60
            print(f"{'ensemble, Dask local, 2 workers':<34} {together.n_runs:>5} {best:>8.2f} {rate:>9.0f} "
                  f"{together.n_runs * rel_steps / best:>12,.0f}")
    print("batch: markets stepped together; a*b+c µs: one elementwise pass over the batch's relationship arrays; "
          "passes/step: a step's time in such passes (whole sweep: workers, journal and tables included)")
    for workers in (1, 2):
        ratio = rates[("ensemble", workers)] / rates[("one at a time", workers)]
        print(f"ensemble / one at a time, {workers} worker{'s' if workers > 1 else ''}: {ratio:.1f}× (target ≥ 10×)")
    for mode in ("one at a time", "ensemble"):
        print(f"2 workers / 1 worker, {mode}: {rates[(mode, 2)] / rates[(mode, 1)]:.2f}× (target ≥ 1.7×)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
