"""Runs per minute of `trustsim sweep` with 1 and 2 local workers (and optionally a local Dask cluster).

A fixed small sweep: the default market (40 buyers, 20 suppliers, 120 quarters), a grid of four
uncertainty levels with 6 replications each = 24 runs. Each configuration is timed whole, as a user
sees it — starting the workers, every run, the journal and the final tables (figures left out) — and
the best of --repeat attempts is kept. Target on a 2-core machine: 2 workers ≥ 1.7 × one worker.

    python benchmarks/sweep.py
    python benchmarks/sweep.py --replications 12 --dask     # 48 runs; also a local Dask cluster
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

from trustsim.experiments import build_sweep, run_sweep
from trustsim.params import Params


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--replications", type=int, default=6,
                    help="replications per uncertainty level (default 6: 24 runs)")
    ap.add_argument("--repeat", type=int, default=3, help="attempts per configuration; the best is kept (default 3)")
    ap.add_argument("--dask", action="store_true", help="also time a local Dask cluster with 2 workers")
    args = ap.parse_args()

    table = {"design": "grid", "replications": args.replications, "seed": 1,
             "factors": {"market.uncertainty": [0.0, 0.3, 0.6, 0.9]}}
    sweep = build_sweep("bench", "benchmark", Params(), table)
    configs = [("1 worker", {"workers": 1}), ("2 workers", {"workers": 2})]
    if args.dask:
        configs.append(("Dask local, 2 workers", {"workers": 2, "dask": "local"}))
    print(f"machine: {os.cpu_count()} cores, Python {platform.python_version()}; sweep: {sweep.n_runs} default runs "
          f"({Params().market.buyers} buyers, {Params().run.steps} steps)")
    rates = {}
    with tempfile.TemporaryDirectory() as tmp:
        for label, kw in configs:
            best = float("inf")
            for i in range(args.repeat):
                t0 = time.perf_counter()
                run_sweep(sweep, Path(tmp) / f"{label}-{i}".replace(" ", "_"), quiet=True, figures=False, **kw)
                best = min(best, time.perf_counter() - t0)
            rates[label] = sweep.n_runs / best * 60
            print(f"{label:<22} {best:6.2f} s  {rates[label]:8.0f} runs/min")
    ratio = rates["2 workers"] / rates["1 worker"]
    print(f"2 workers / 1 worker: {ratio:.2f}× (target ≥ 1.7×)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
