"""``trustsim compare A B``: two scenarios (on common seeds) or two results folders, side by side."""

from __future__ import annotations

import os

from .argtypes import folder, nonneg_int, pos_int

NAME = "compare"
HELP = "compare two scenarios (paired on common seeds) or two results folders: B − A with 95%% intervals"


def arguments(p) -> None:
    p.add_argument("a", help="scenario TOML file, or a results folder (a run or replications)")
    p.add_argument("b", help="the same kind as A")
    p.add_argument("--seeds", type=pos_int, metavar="N",
                   help="scenarios: runs of each on the same N seeds (default 10)")
    p.add_argument("--seed", type=nonneg_int, help="scenarios: root seed of the common seeds (default: A's run.seed)")
    p.add_argument("--steps", type=pos_int, help="scenarios: number of steps of every run")
    p.add_argument("--set", action="append", default=[], metavar="GROUP.NAME=VALUE",
                   help="scenarios: override one parameter in both")
    p.add_argument("--out", type=folder, help="results folder (default results/compare-A-vs-B)")
    p.add_argument("--force", action="store_true",
                   help="replace an --out folder that holds other files (its contents are lost)")
    p.add_argument("--workers", type=pos_int, help="worker processes (default: all cores)")
    p.add_argument("--quiet", action="store_true", help="no progress output")


def handle(args) -> int:
    from pathlib import Path

    from ..comparison import KIND, compare_folders, compare_scenarios
    from ..experiments.replicate import replication_sweep
    from ..params import ParamError, load_scenario
    from ..results import check_target, release_claim, scenario_files

    folders = [Path(x).is_dir() for x in (args.a, args.b)]
    if folders[0] != folders[1]:
        raise ParamError(args.a if not folders[0] else args.b, None,
                         "compare takes two scenario files or two results folders, not one of each")
    if all(folders):
        given = [f for f, v in (("--seeds", args.seeds), ("--seed", args.seed), ("--steps", args.steps),
                                ("--set", args.set)) if v]
        if given:
            raise ParamError(given[0], None, "applies to scenario files; results folders hold their runs already")
        comparison = compare_folders(args.a, args.b)
        protect = [args.a, args.b]  # never written into, whatever --force says
    else:
        from .run import refuse_other_files

        scenarios = []
        for path in (args.a, args.b):
            refuse_other_files(path)
            sc = load_scenario(path, args.set, steps=args.steps)
            if sc.sweep is not None:
                raise ParamError(path, "sweep", "is a sweep file; compare scenarios, or sweep with trustsim sweep")
            scenarios.append(sc)
        protect = [*scenario_files(scenarios[0]), *scenario_files(scenarios[1])]
        comparison = None
    names = [Path(x).stem if not f else Path(x).resolve().name for x, f in zip((args.a, args.b), folders)]
    out = args.out or os.path.join("results", f"compare-{names[0]}-vs-{names[1]}")
    if comparison is None:
        replication_sweep(scenarios[0], args.seeds or 10)  # refuse bad input before the folder is claimed
    check_target(out, args.force, kind=KIND, protect=protect)
    try:
        if comparison is None:
            comparison = compare_scenarios(*scenarios, args.seeds or 10, root=args.seed, workers=args.workers,
                                           quiet=args.quiet)
    except BaseException:
        release_claim(out)
        raise
    comparison.save(out, args.force)
    a, b = comparison.names
    how = (f"paired on {len(comparison.runs_a)} common seeds" if comparison.paired
           else f"{len(comparison.runs_a)} and {len(comparison.runs_b)} runs, Welch intervals")
    print(f"{b} − {a} ({how}) → {out}/")
    print(comparison.text())
    return 0
