"""``trustsim calibrate FILE``: a posterior over the parameters the published figures can inform (ABC-SMC)."""

from __future__ import annotations

import os
import sys

from .argtypes import folder, pathname, pos_int, seed, workers

NAME = "calibrate"
HELP = "calibrate parameters to published figures: a posterior by ABC-SMC, with checks"


def arguments(p) -> None:
    """The arguments of ``trustsim calibrate``."""
    p.add_argument("file", nargs="?", type=pathname("file", "a calibration TOML file"),
                   help="calibration TOML file: a scenario with a [calibrate] table")
    p.add_argument("--measures", action="store_true",
                   help="list the measurements a target may name, with what each measures, and exit")
    p.add_argument("--budget", type=pos_int, metavar="N", help="market runs in all (default: the file's budget)")
    p.add_argument("--seed", type=seed, help="root seed of the calibration (default: the file's)")
    p.add_argument("--workers", type=workers, help="worker processes (default: all cores)")
    p.add_argument("--dask", metavar="ADDRESS|local", help="run on a Dask cluster (tcp://host:port) or a local one")
    p.add_argument("--out", type=folder, help="results folder (default results/<file name>)")
    p.add_argument("--resume", action="store_true", help="go on from the last complete generation of a killed run")
    p.add_argument("--force", action="store_true", help="replace an --out folder that holds other files")
    p.add_argument("--check-coverage", type=int, default=0, metavar="N",
                   help="also calibrate N pseudo-observed data sets made at known parameters (coverage.csv); "
                        "N × runs per data set at most 100000000")
    p.add_argument("--coverage-budget", type=pos_int, metavar="N",
                   help="market runs per coverage data set, at least one generation "
                        "(default: the budget, capped at 2000 unless one generation needs more)")
    p.add_argument("--screen", type=pos_int, metavar="N",
                   help="screen instead of calibrating: Sobol indices of the targets over the parameters' priors "
                        "with N base samples, a power of 2 from 8 (N × (parameters + 2) × 2 runs; screening.csv)")
    p.add_argument("--no-predictive", action="store_true", help="skip the posterior predictive checks")
    p.add_argument("--quiet", action="store_true", help="no progress output")


def handle(args) -> int:
    """Exit 0 when done, 1 when a worker died, the Dask scheduler was lost or the folder was removed while it ran,
    2 on bad input (nothing written), 130 when interrupted (complete generations are kept in the journal; finish
    with --resume)."""
    # here, not at the top: `trustsim --help` imports this module
    from concurrent.futures import CancelledError
    from concurrent.futures.process import BrokenProcessPool
    from pathlib import Path

    from ..calibration.config import load_calibration
    from ..errors import ParamError, counted, safe_text

    if args.measures:
        return _list_measures()
    if args.file is None:
        raise ParamError("calibrate", None, "a calibration file is required: trustsim calibrate FILE (--measures "
                                            "lists the measurements its targets may name)")
    if args.check_coverage < 0:
        raise ParamError("--check-coverage", None, "must not be negative")
    cal = load_calibration(args.file)
    # the engine, the executors and the writers once the input is checked (above): a mistake is told without them
    from ..calibration.run import calibrate
    from ..errors import COMMAND_LINE
    from ..experiments.journal import FolderRemoved

    out = Path(args.out or os.path.join("results", cal.name))
    if args.resume and not os.path.lexists(out):  # a mistyped --out would otherwise recompute every run unannounced
        print(f"trustsim: nothing to resume in {safe_text(out, 400)}: the calibration starts there", file=sys.stderr)
    try:
        tables = calibrate(cal, out, budget=args.budget, seed=args.seed, workers=args.workers, dask=args.dask,
                           resume=args.resume, force=args.force, quiet=args.quiet,
                           check_coverage=args.check_coverage, coverage_budget=args.coverage_budget,
                           screen=args.screen or 0, predictive=not args.no_predictive, words=COMMAND_LINE)
    except KeyboardInterrupt:
        if not (out / "calibration.json").exists():  # stopped while the workers started, before the folder was made
            print("trustsim: interrupted before the calibration started; nothing was written", file=sys.stderr)
            return 130
        print(f"trustsim: interrupted; {_kept_and_resume(args, out)}", file=sys.stderr)
        return 130
    except BrokenProcessPool:  # a worker killed, most often by the system when memory ran out
        print(f"trustsim: a worker process died (out of memory?); {_kept_and_resume(args, out)}", file=sys.stderr)
        return 1
    except FolderRemoved:
        print(f"trustsim: error: {safe_text(out, 400)}: the calibration's folder, or its journal.jsonl, was removed "
              f"while it ran, and the generations it had kept with it; start the calibration again", file=sys.stderr)
        return 1
    except CancelledError:  # Dask cancels every pending run when its client loses the scheduler
        if not args.dask:
            raise
        print(f"trustsim: the Dask scheduler {safe_text(args.dask, 200)} was lost; {_kept_and_resume(args, out)}",
              file=sys.stderr)
        return 1
    if "screening" in tables:
        # here, not at the top: `trustsim --help` imports this module
        from ..calibration.screen import informed

        chosen = informed(tables["screening"])
        print(f"{safe_text(cal.name)}: screening, {tables['runs']} runs in {tables['wall_seconds']:.0f} s → "
              f"{safe_text(out, 400)}/")
        print("  informed (total index ≥ 0.05 on a fitted target): "
              + (", ".join(f"{k} ({v:.2f})" for k, v in chosen) or "none"))
        return 0
    gens = tables["generations"]
    cut = tables["cut"]["runs"]
    print(f"{safe_text(cal.name)}: {counted(len(gens), 'generation')}, {int(tables['runs'])} runs"
          + (f" ({cut} in a last generation the budget cut short, not kept)" if cut else "")
          + f" in {tables['wall_seconds']:.0f} s (stopped by {tables['stop']}) → {safe_text(out, 400)}/")
    for _, p in tables["parameters"].iterrows():
        print(f"  {p.parameter}: median {p.q50:.4g} [{p.q05:.4g}, {p.q95:.4g}], shrinkage {p.shrinkage:.2f}")
    if len(tables["structures"]) > 1:
        for _, s in tables["structures"].iterrows():
            print(f"  structure {s.structure}: posterior weight {s.posterior:.3f} (prior {s.prior:.3f})")
    return 0


def _kept_and_resume(args, out) -> str:
    """What a stopped calibration keeps and the command that finishes it, where it started (--dask) on as many
    workers (--workers: without it, every core)."""
    # here, not at the top: `trustsim --help` imports this module
    from ..errors import safe_text

    kept = ("a screening keeps no runs" if args.screen else
            f"the complete generations are kept in {safe_text(out, 400)}/journal.jsonl")
    return (f"{kept}; finish with: trustsim calibrate {safe_text(args.file, 400)} --resume" + _same_calibration(args)
            + (f" --dask {safe_text(args.dask, 200)}" if args.dask else "")  # so that it finishes where it started
            + (f" --workers {args.workers}" if args.workers is not None else "")
            + (f" --out {safe_text(args.out, 400)}" if args.out else ""))


def _same_calibration(args) -> str:
    """The options a resumed calibration must repeat: --budget and --seed (without them it is another
    calibration, which --resume refuses) and those that say what it computes."""
    given = (("--budget", args.budget), ("--seed", args.seed), ("--screen", args.screen),
             ("--check-coverage", args.check_coverage or None), ("--coverage-budget", args.coverage_budget))
    return "".join(f" {flag} {value}" for flag, value in given if value is not None) + (
        " --no-predictive" if args.no_predictive else "")


def _list_measures() -> int:
    """``--measures``: each measurement a target may name, its pattern and what it measures; exit 0."""
    # here, not at the top: `trustsim --help` imports this module
    from ..calibration.targets import MEASUREMENTS

    for name, m in MEASUREMENTS.items():
        print(f"{name} ({m.pattern}): {m.what}")
    return 0
