"""``trustsim compare A B``: two scenarios (on common seeds) or two results folders, side by side."""

from __future__ import annotations

import os

from .argtypes import folder, pathname, pos_int, seed, seed_count, workers

NAME = "compare"
HELP = "compare two scenarios (paired on common seeds) or two results folders: B − A with 95%% intervals"
WANTED = "a scenario TOML file or a results folder"  # what an empty or blank A or B should name, as compare(a, b)


def arguments(p) -> None:
    """The arguments of ``trustsim compare``."""
    p.add_argument("a", type=pathname("a", WANTED),
                   help="scenario TOML file, or a results folder (a run or replications)")
    p.add_argument("b", type=pathname("b", WANTED),
                   help="a scenario file if A is one; else a results folder (a run or replications)")
    p.add_argument("--seeds", type=seed_count, metavar="N",
                   help="scenarios: runs of each on the same N seeds (default 10)")
    p.add_argument("--seed", type=seed, help="scenarios: root seed of the common seeds (default: A's run.seed)")
    p.add_argument("--steps", type=pos_int, help="scenarios: number of steps of every run")
    p.add_argument("--set", action="append", default=[], metavar="GROUP.NAME=VALUE",
                   help="scenarios: override one parameter in both")
    p.add_argument("--out", type=folder, help="results folder (default results/compare-A-vs-B)")
    p.add_argument("--force", action="store_true",
                   help="replace an --out folder that holds other files (its contents are lost)")
    p.add_argument("--workers", type=workers, help="worker processes (default: all cores)")
    p.add_argument("--quiet", action="store_true", help="no progress output")


def handle(args) -> int:
    """Compare two scenarios on common seeds, or two saved results; exit 1 when runs failed, as ``report`` says."""
    # here, not at the top: `trustsim --help` imports this module
    from pathlib import Path

    from ..capacity import check_memory
    from ..errors import COMMAND_LINE, ParamError
    from ..locks import put_back_to_read
    from ..scenario import load_scenario

    for path in (args.a, args.b):  # a result a writer killed while replacing it left moved aside
        put_back_to_read(path)
    folders = [Path(x).is_dir() for x in (args.a, args.b)]
    if folders[0] != folders[1]:
        other = args.a if not folders[0] else args.b
        if not Path(other).exists():  # a misspelt folder, say: not "one of each"
            raise ParamError(other, None, "no such file or folder")
        raise ParamError(args.a if not folders[0] else args.b, None,
                         "compare takes two scenario files or two results folders, not one of each")
    if all(folders):
        given = [f for f, v in (("--seeds", args.seeds), ("--seed", args.seed), ("--steps", args.steps),
                                ("--set", args.set)) if v]
        if given:
            raise ParamError(given[0], None, "applies to scenario files; results folders hold their runs already")
        from ..comparison import compare_folders  # (the engine and the writers once the input is checked)

        comparison = compare_folders(args.a, args.b)
        protect = [args.a, args.b]  # never written into, whatever --force says
    else:
        # here, not at the top: `trustsim --help` imports this module
        from .run import refuse_other_files, refuse_sweep

        scenarios = []
        for path in (args.a, args.b):
            refuse_other_files(path)
            sc = load_scenario(path, args.set, steps=args.steps, words=COMMAND_LINE)
            refuse_sweep(sc, path, compare=True)
            if sc.calibrate is not None:  # a calibration file's scenario, but a fault in its table is one, as in run
                # here, not at the top: `trustsim --help` imports this module
                from ..calibration.config import build_calibration

                build_calibration(sc.name, path, sc.params, sc.calibrate, sc)
            scenarios.append(sc)
        from ..results import scenario_files  # (the engine and the writers once the input is checked)

        protect = [*scenario_files(scenarios[0]), *scenario_files(scenarios[1])]
        for sc, path in zip(scenarios, (args.a, args.b), strict=True):
            check_memory(sc.params, path)  # before the folder is claimed or anything allocated
        comparison = None
    names = [Path(x).stem if not f else Path(x).resolve().name for x, f in zip((args.a, args.b), folders, strict=True)]
    out = args.out or os.path.join("results", f"compare-{names[0]}-vs-{names[1]}")
    # the model and the writers once the input is checked (above): a mistake is told without loading them
    from ..comparison import KIND, compare_scenarios
    from ..experiments.replicate import replication_sweep
    from ..results import check_target, release_claim

    if comparison is None:
        replication_sweep(scenarios[0], args.seeds or 10)  # refuse bad input before the folder is claimed
    check_target(out, args.force, kind=KIND, protect=protect)
    try:
        if comparison is None:
            comparison = compare_scenarios(*scenarios, args.seeds or 10, root=args.seed, workers=args.workers,
                                           quiet=args.quiet)
        told, error, status = report(comparison, out)  # all of it before anything is written: whole or nothing
    except BaseException:
        release_claim(out)
        raise
    comparison.save(out, args.force, words=COMMAND_LINE)
    if error:
        # here, not at the top: `trustsim --help` imports this module
        import sys

        print(error, file=sys.stderr)
    for line in told:
        print(line)
    return status


def report(comparison, out) -> tuple[list[str], str | None, int]:
    """What a comparison found, to print once it is saved: the lines for standard output, the error line (when no
    figure could be compared, instead of the table) and the exit status, 1 when runs failed (their errors are in
    ``runs_a.csv`` and ``runs_b.csv``)."""
    # here, not at the top: `trustsim --help` imports this module
    import textwrap

    from ..errors import counted, safe_text
    from ..experiments.progress import failure_line

    a, b = comparison.labelled  # the table's columns are A and B: this line names them in full
    n = comparison.compared
    ok_a, ok_b = (len(comparison._ok(r)) for r in (comparison.runs_a, comparison.runs_b))
    how = f"paired on {counted(n, 'common seed')}" if comparison.paired else f"{ok_a} and {ok_b} runs, Welch intervals"
    where = safe_text(out, 400)
    fa, fb = comparison.failed
    lines = [failure_line(f, len(r), f"{where}/runs_{x}.csv", f"{name}'s replicates")
             for f, r, x, name in ((fa, comparison.runs_a, "a", "A"), (fb, comparison.runs_b, "b", "B")) if f]
    if n == 0:
        return [], (f"trustsim: error: nothing to compare: {len(fa)} of {len(comparison.runs_a)} runs of A and "
                    f"{len(fb)} of {len(comparison.runs_b)} of B failed, leaving no common seed; see the error column "
                    f"of {where}/runs_a.csv and runs_b.csv"), 1
    told = [f"{b} − {a} ({how}) → {where}/",
            textwrap.fill(safe_text(comparison.differences_text(), 400), 100, subsequent_indent="  "),
            comparison.text(), *lines]
    return told, None, 1 if lines else 0
