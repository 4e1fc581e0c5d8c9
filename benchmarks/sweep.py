"""Runs per minute of `trustsim sweep`, one run at a time and as ensembles, on 1 and 2 workers.

The sweep is the default market (40 buyers × 2 slots, 20 suppliers, 120 quarters) on a grid of four
uncertainty levels with replications. Each configuration is timed whole, as a user sees it — starting
the workers, every run, the journal and the final tables (figures left out) — and the best of --repeat
attempts is kept. One run at a time (`--batch 1`) is timed on --alone-runs runs, the ensemble engine
(automatic batches) on --runs runs; runs per minute compare the two at the same number of workers.

How close to the machine's limit: a run of the default market is 80 relationships × 120 steps of
relationship-steps; the benchmark measures, in the same invocation, how many elementwise array operations
per second NumPy does on this machine (a multiply over 2²² doubles, out of cache), and reports how many
such operations one relationship-step costs in each mode (fewer is closer to the limit).

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

from trustsim.experiments import build_sweep, run_sweep
from trustsim.params import Params

LEVELS = [0.0, 0.3, 0.6, 0.9]


def elementwise_rate(n: int = 1 << 22, repeat: int = 7) -> float:
    """Elementwise operations per second: the best of ``repeat`` multiplies of two arrays of ``n`` doubles."""
    a, b, c = np.random.default_rng(0).random(n), np.random.default_rng(1).random(n), np.empty(n)
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        np.multiply(a, b, out=c)
        best = min(best, time.perf_counter() - t0)
    return n / best


def timed(sweep, tmp: Path, label: str, repeat: int, **kw) -> float:
    best = float("inf")
    for i in range(repeat):
        t0 = time.perf_counter()
        run_sweep(sweep, tmp / f"{label}-{i}".replace(" ", "_"), quiet=True, figures=False, **kw)
        best = min(best, time.perf_counter() - t0)
    return best


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=960, help="runs of the ensemble sweeps (default 960)")
    ap.add_argument("--alone-runs", type=int, default=48, help="runs of the one-at-a-time sweeps (default 48)")
    ap.add_argument("--repeat", type=int, default=2, help="attempts per configuration; the best is kept (default 2)")
    ap.add_argument("--dask", action="store_true", help="also time a local Dask cluster with 2 workers (ensembles)")
    args = ap.parse_args()

    p = Params()
    rel_steps = p.market.buyers * p.market.slots_per_buyer * p.run.steps

    def sweep_of(runs: int):
        reps = max(1, runs // len(LEVELS))
        table = {"design": "grid", "replications": reps, "seed": 1, "factors": {"market.uncertainty": LEVELS}}
        return build_sweep("bench", "benchmark", p, table)

    alone, together = sweep_of(args.alone_runs), sweep_of(args.runs)
    ops = elementwise_rate()
    print(f"machine: {os.cpu_count()} cores, Python {platform.python_version()}, NumPy {np.__version__}; "
          f"elementwise: {ops / 1e9:.2f}·10⁹ operations/s")
    print(f"default market: {p.market.buyers} buyers × {p.market.slots_per_buyer} slots, {p.run.steps} steps = "
          f"{rel_steps:,} relationship-steps per run")
    print(f"{'configuration':<34} {'runs':>5} {'seconds':>8} {'runs/min':>9} {'rel-steps/s':>12} {'ops/rel-step':>13}")
    rates: dict[tuple[str, int], float] = {}
    configs = [("one at a time", alone, {"batch": 1}), ("ensemble", together, {})]
    with tempfile.TemporaryDirectory() as tmp:
        for workers in (1, 2):
            for mode, sweep, kw in configs:
                label = f"{mode}, {workers} worker{'s' if workers > 1 else ''}"
                best = timed(sweep, Path(tmp), label, args.repeat, workers=workers, **kw)
                rate = rates[(mode, workers)] = sweep.n_runs / best * 60
                per_s = sweep.n_runs * rel_steps / best
                print(f"{label:<34} {sweep.n_runs:>5} {best:>8.2f} {rate:>9.0f} {per_s:>12,.0f} {ops / per_s:>13,.0f}")
        if args.dask:
            best = timed(together, Path(tmp), "dask", args.repeat, workers=2, dask="local")
            rate = together.n_runs / best * 60
            print(f"{'ensemble, Dask local, 2 workers':<34} {together.n_runs:>5} {best:>8.2f} {rate:>9.0f} "
                  f"{together.n_runs * rel_steps / best:>12,.0f}")
    for workers in (1, 2):
        ratio = rates[("ensemble", workers)] / rates[("one at a time", workers)]
        print(f"ensemble / one at a time, {workers} worker{'s' if workers > 1 else ''}: {ratio:.1f}× (target ≥ 10×)")
    for mode in ("one at a time", "ensemble"):
        print(f"2 workers / 1 worker, {mode}: {rates[(mode, 2)] / rates[(mode, 1)]:.2f}× (target ≥ 1.7×)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
