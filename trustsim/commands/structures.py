"""``trustsim structures``: the headline figures and every pattern's verdict under every combination of the
contested readings, and which conclusions hold under all of them, some or none."""

from __future__ import annotations

import sys
from datetime import UTC

from ..errors import counted
from .argtypes import folder, pos_int, seed_count, workers

NAME = "structures"
ADVISED_SEEDS = 30
SUITE_SEEDS = 30  # the pattern suite's own seeds: its verdicts under each structure are the suite's
HELP = "does partnership pay under every reading of the contested choices? (figures, verdicts, conclusions)"


def common_arguments(p, out: str, seeds: int) -> None:
    """The arguments ``structures`` and ``regimes`` share."""
    p.add_argument("--seeds", type=seed_count, default=seeds, help=f"seeds per point (default {seeds})")
    p.add_argument("--out", type=folder, default=out, help=f"results folder (default {out})")
    p.add_argument("--workers", type=workers, help="worker processes (default: all cores)")
    p.add_argument("--steps", type=pos_int, help="steps per run (default: run.steps; the long run is its "
                                                 "second half)")
    p.add_argument("--force", action="store_true",
                   help="replace an --out folder that holds other files (its contents are lost)")


def arguments(p) -> None:
    """The arguments of ``trustsim structures``."""
    common_arguments(p, "results/structures", ADVISED_SEEDS)
    p.add_argument("--suite-seeds", type=seed_count, default=SUITE_SEEDS,
                   help=f"seeds of the pattern suite under each structure (default {SUITE_SEEDS}, the suite's own: "
                        f"its 41 variants under 8 structures; the command takes about 5 minutes on 2 cores; fewer "
                        f"give a first reading)")


def start(args, kind: str):
    """Check the input and claim the folder before any run; the base parameters."""
    # here, not at the top: `trustsim --help` imports this module
    from ..errors import COMMAND_LINE
    from ..results import check_target
    from ..scenario import load_scenario
    from ..stats import require_seeds

    require_seeds("--seeds", args.seeds)
    if hasattr(args, "suite_seeds"):
        require_seeds("--suite-seeds", args.suite_seeds)
    # the defaults; a fault in --steps is named so
    base = load_scenario(None, [], steps=args.steps, words=COMMAND_LINE).params
    check_target(args.out, args.force, kind=kind)  # refuse, and lock, before the runs
    return base


def execute(args, base, points, total: int, desc: str, **suites):
    """The runs, with a progress bar on a terminal; the folder is released if they are interrupted."""
    # here, not at the top: `trustsim --help` imports this module
    from tqdm import tqdm

    from ..results import release_claim
    from ..structures import run_points

    try:
        with tqdm(total=total, desc=desc, unit="run", disable=not sys.stderr.isatty()) as bar:
            return run_points(base, points, args.seeds, args.workers, progress=bar.update, **suites)
    except BaseException:
        release_claim(args.out)  # interrupted before anything was written: the folder is free again
        raise


def write_manifest(tmp, base, started: str, wall: float, kind: str, **extra) -> None:
    """Write ``manifest.json`` into the temporary folder ``tmp``, for a run of the defaults ``base``."""
    # here, not at the top: `trustsim --help` imports this module
    import json

    from ..results import manifest
    from ..scenario import Scenario

    info = manifest(Scenario("defaults", base), base, started, wall, tmp, kind=kind, **extra)
    (tmp / "manifest.json").write_text(json.dumps(info, indent=2, ensure_ascii=False) + "\n")


def handle(args) -> int:
    """Exit 0; the folder holds structures.csv, verdicts.csv, conclusions.csv, structures.md, the figure
    (figures/structures.png) and the manifest."""
    # here, not at the top: `trustsim --help` imports this module
    import time
    from datetime import datetime

    import pandas as pd

    from .. import patterns
    from ..errors import safe_text
    from ..results import write_atomically
    from ..structures import READINGS, conclusions, conclusions_table, interval_table, structure_points
    from ..structures.figures import structures_figure
    from ..structures.grid import params_of
    from ..structures.tables import markdown, pattern_verdicts, structure_legend

    base = start(args, NAME)
    started = datetime.now(UTC).isoformat(timespec="seconds")
    t0 = time.perf_counter()
    points = structure_points(base)
    suites = {p["structure"]: params_of(base, {k: p[k] for k in READINGS}) for p in points}
    total = len(points) * args.seeds + len(suites) * len(patterns.variants(base)) * args.suite_seeds
    rows, suite_runs = execute(args, base, points, total, "structure runs", suites=suites,
                               suite_seeds=args.suite_seeds)
    table = interval_table(rows, points, ["structure", *READINGS, "market.uncertainty"])
    verdicts = pd.DataFrame([{"structure": label, **{k: suites[label].flat()[k] for k in READINGS}, **v,
                              "seeds": args.suite_seeds}
                             for label in suites for v in pattern_verdicts(suite_runs[label])])
    conc = conclusions(table, verdicts)
    legend = structure_legend(table)
    text = conclusions_table(conc, legend)
    print(text)
    wall = time.perf_counter() - t0
    note = (f"Headline figures over {args.seeds} seeds a point, {counted(base.run.steps, 'step')} a run; pattern "
            f"verdicts over {args.suite_seeds} seeds a variant"
            + (" (fewer than the suite's 30: a verdict here is a first reading, not the suite's)"
               if args.suite_seeds < 30 else ""))

    def write(tmp):
        table.to_csv(tmp / "structures.csv", index=False)
        verdicts.to_csv(tmp / "verdicts.csv", index=False)
        conc.to_csv(tmp / "conclusions.csv", index=False)
        (tmp / "figures").mkdir()
        structures_figure(table, tmp / "figures" / "structures.png", base.run.steps)
        (tmp / "structures.md").write_text(
            "# Does partnership pay, under each reading?\n\n" + note + ".\n\n"
            "Share advantage: partner minus aggressive market share per buyer, in units of the equal share 1/n. "
            "Profit advantage: partner minus aggressive profit per buyer summed over the horizon's steps. "
            f"A conclusion holds under a structure when its 95% interval excludes 0. Each interval is 95% on its "
            f"own, not adjusted for the {2 * len(table)} read together: where an advantage is 0, about one in "
            f"twenty excludes 0 by chance.\n\n"
            "```\n" + text + "\n```\n\n## Figures by structure, σ and horizon\n\n"
            + markdown(table) + "\n\n## Pattern verdicts\n\n"
            + markdown(verdicts) + "\n")
        write_manifest(tmp, base, started, wall, NAME, seeds=list(range(1, args.seeds + 1)),
                       suite_seeds=list(range(1, args.suite_seeds + 1)), readings=list(READINGS))

    write_atomically(args.out, write, force=args.force, kind=NAME)
    print(f"{note}; {wall:.0f} s. Tables and figure in {safe_text(args.out, 400)}/")
    return 0
