"""``trustsim patterns``: run the pattern suite, print its table, write a figure per pattern."""

from __future__ import annotations

import sys
from datetime import UTC

from .argtypes import folder, pathname, seed_count, workers

NAME = "patterns"
ADVISED_SEEDS = 30
HELP = "run the pattern suite P1–P10 and R1–R4 and print its table (exit 1 when one is not reproduced)"


def arguments(p) -> None:
    """The arguments of ``trustsim patterns``."""
    p.add_argument("scenario", nargs="?", type=pathname("scenario", "a scenario TOML file"),
                   help="scenario TOML file whose parameters the suite's variants start from (default: the defaults)")
    p.add_argument("--set", action="append", default=[], metavar="GROUP.NAME=VALUE", help="override one parameter")
    p.add_argument("--seeds", type=seed_count, default=ADVISED_SEEDS,
                   help=f"seeds per scenario variant (default {ADVISED_SEEDS})")
    p.add_argument("--out", type=folder, default="results/patterns",
                   help="folder for the figures (default results/patterns)")
    p.add_argument("--workers", type=workers, help="worker processes (default: all cores)")
    p.add_argument("--force", action="store_true",
                   help="replace an --out folder that holds other files (its contents are lost)")


def handle(args) -> int:
    """Exit 0 when every pattern is reproduced, 1 when one is not; the folder holds the figures
    (``figures/P1.png`` …), the table (``patterns.txt`` at most 100 columns wide, ``patterns.md`` with the
    full text, ``patterns.json`` with every series the figures draw) and the manifest."""
    # here, not at the top: `trustsim --help` imports this module
    import json
    import time
    from datetime import datetime

    from ..capacity import check_memory
    from ..errors import COMMAND_LINE, ParamError, safe_text
    from ..scenario import load_scenario
    from ..stats import require_seeds
    from .run import refuse_other_files

    require_seeds("--seeds", args.seeds)
    if args.scenario is not None:
        refuse_other_files(args.scenario)  # a manifest or results folder: say that rerun makes it again
    given = load_scenario(args.scenario, args.set, words=COMMAND_LINE)  # no file: the defaults
    if given.sweep is not None:  # the suite would start from its base scenario, its [sweep] dropped without a word
        raise ParamError(args.scenario, "sweep", "is a sweep file; the suite starts from a scenario: give the scenario "
                                                 f"it extends, or run it with: trustsim sweep {args.scenario}")
    if given.calibrate is not None:  # a calibration file's scenario, but a fault in its table is one, as in run
        # here, not at the top: `trustsim --help` imports this module
        from ..calibration.config import build_calibration

        build_calibration(given.name, args.scenario, given.params, given.calibrate, given)
    if "run.seed" in given.overrides:
        raise ParamError("--set", "run.seed", "the suite runs every variant on seeds 1 … n of --seeds; "
                                              "a run seed would have no effect")
    # the suite, its figures and the results' writers once the input is checked: a mistake is told at once
    from tqdm import tqdm

    from .. import patterns
    from ..patterns.figures import jsonable
    from ..results import check_target, manifest, release_claim, scenario_files, write_atomically

    base = given.params
    for params in patterns.variants(base).values():
        check_memory(params, "patterns")  # every variant's market fits, before the folder is claimed
    protect = scenario_files(given)  # never written into, whatever --force says
    check_target(args.out, args.force, kind="patterns", protect=protect)  # refuse, and lock, before the runs
    if args.seeds < ADVISED_SEEDS:
        print(f"trustsim: warning: with {args.seeds} seeds the 95% intervals are so wide that a pattern can fail "
              f"by chance; the suite's verdicts are made with --seeds {ADVISED_SEEDS} or more", file=sys.stderr)
    started = datetime.now(UTC).isoformat(timespec="seconds")
    t0 = time.perf_counter()
    total = len(patterns.variants(base)) * args.seeds
    try:
        with tqdm(total=total, desc="pattern runs", unit="run", disable=not sys.stderr.isatty()) as bar:
            runs = patterns.run_all(base, seeds=args.seeds, workers=args.workers, progress=bar.update)
    except BaseException:
        release_claim(args.out)  # interrupted before anything was written: the folder is free again
        raise
    results = patterns.evaluate(runs)
    parts = patterns.decompose(runs)
    print(patterns.table(results))
    print("\nwhere the baseline's partner advantage comes from (no verdict, not counted):")
    print(patterns.table(parts))
    print("\npartner advantage by horizon (mean [95% interval] over seeds):")
    print(patterns.horizons_text(runs))
    failed = [r.pattern for r in results if not r.passed]
    wall = time.perf_counter() - t0

    def write(tmp):
        (tmp / "figures").mkdir(parents=True, exist_ok=True)
        for r in results + parts:
            patterns.plot(r, tmp / "figures" / f"{r.pattern}.png")
        (tmp / "patterns.txt").write_text(patterns.table(results) + "\n\n" + patterns.table(parts) + "\n")
        (tmp / "patterns.md").write_text(patterns.markdown_table(results) + "\n\n" + patterns.markdown_table(parts)
                                         + "\n\n" + patterns.horizons_table(runs) + "\n")
        (tmp / "patterns.json").write_text(json.dumps(
            [{"pattern": r.pattern, "claims": r.claim, "measured": r.measured, "target": r.target,
              "passed": None if r.passed is None else bool(r.passed),  # None: a decomposition
              "values": jsonable(r.values), "targets": jsonable(r.targets),
              "tolerances": jsonable(r.tolerances)}
             for r in results + parts], indent=2, ensure_ascii=False) + "\n")
        info = manifest(given, base, started, wall, tmp, kind="patterns",
                        seeds=list(range(1, args.seeds + 1)))
        (tmp / "manifest.json").write_text(json.dumps(info, indent=2, ensure_ascii=False) + "\n")

    write_atomically(args.out, write, force=args.force, kind="patterns", protect=protect)
    print(f"{len(results) - len(failed)} of {len(results)} patterns and regularities (P1–P10, R1–R4) reproduced"
          + (f"; failed: {', '.join(failed)}" if failed else ""))
    print(f"figures in {safe_text(args.out, 400)}/figures; the full table in {safe_text(args.out, 400)}/patterns.md")
    return 0 if not failed else 1
