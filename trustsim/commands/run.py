"""``trustsim run SCENARIO``: run a scenario and write its results folder."""

from __future__ import annotations

import os
import sys
import time
from datetime import datetime, timezone

from .argtypes import folder, nonneg_int, pos_int

NAME = "run"
HELP = "run a scenario and write its results folder"


def arguments(p) -> None:
    p.add_argument("scenario", help="scenario TOML file (e.g. scenarios/baseline.toml)")
    p.add_argument("--set", action="append", default=[], metavar="GROUP.NAME=VALUE", help="override one parameter")
    p.add_argument("--seed", type=nonneg_int, help="seed of the random generator (overrides run.seed)")
    p.add_argument("--steps", type=pos_int, help="number of steps (overrides run.steps)")
    p.add_argument("--out", type=folder, help="results folder (default results/<scenario name>)")
    p.add_argument("--force", action="store_true",
                   help="replace an --out folder that holds files other than a trustsim result (its contents are lost)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def handle(args) -> int:
    from ..capacity import check_memory
    from ..model import TrustMarket
    from ..params import load_scenario, safe_text
    from ..results import check_target, scenario_files, write_run

    scenario = load_scenario(args.scenario, args.set, seed=args.seed, steps=args.steps)
    check_memory(scenario.params, args.scenario)  # refuse a market this machine cannot hold, before allocating
    out = args.out or os.path.join("results", scenario.name)
    check_target(out, args.force, kind="run", protect=scenario_files(scenario))  # refuse, and lock, before the run
    started = datetime.now(timezone.utc).isoformat(timespec="seconds")
    t0 = time.perf_counter()
    model = TrustMarket(scenario.params, rng=scenario.params.run.seed)
    show = not args.quiet and sys.stderr.isatty()
    if show:
        from tqdm import tqdm

        with tqdm(total=scenario.params.run.steps, desc=scenario.name, unit="step", file=sys.stderr) as bar:
            model.run(progress=bar.update)
    else:
        model.run()
    wall = time.perf_counter() - t0
    write_run(model, scenario, out, started=started, wall_seconds=wall, force=args.force,
              network=scenario.params.market.buyers <= 20_000)
    s = model.recorder.summary()["long_run"]
    print(f"{safe_text(scenario.name)}: {scenario.params.run.steps} steps in {wall:.2f} s → {safe_text(out, 400)}/")
    for g in ("partner", "aggressive"):
        if s[g]["buyers"]:
            print(f"  {g:<10} market share {s[g]['market_share']:.3f}"
                  f"  cost of ownership {s[g]['tco_per_unit']:.3f}/unit  trust {s[g]['trust_buyer']:.2f}"
                  f"  ideas/step {s[g]['ideas_received']:.2f}")
    return 0
