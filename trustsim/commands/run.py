"""``trustsim run SCENARIO``: run a scenario and write its results folder."""

from __future__ import annotations

import os
import sys
import time
from datetime import UTC, datetime

from .argtypes import folder, pathname, pos_int, seed, seed_count, workers

NAME = "run"
HELP = "run a scenario and write its results folder"


def arguments(p) -> None:
    """The arguments of ``trustsim run``."""
    p.add_argument("scenario", type=pathname("scenario", "a scenario TOML file"),
                   help="scenario TOML file (e.g. scenarios/baseline.toml)")
    p.add_argument("--set", action="append", default=[], metavar="GROUP.NAME=VALUE", help="override one parameter")
    p.add_argument("--seed", type=seed, help="seed of the random generator (overrides run.seed)")
    p.add_argument("--steps", type=pos_int, help="number of steps (overrides run.steps)")
    p.add_argument("--out", type=folder, help="results folder (default results/<scenario name>)")
    p.add_argument("--force", action="store_true",
                   help="replace an --out folder that holds files other than a trustsim result (its contents are lost)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--seeds", type=seed_count, metavar="N",
                   help="replications: N runs with seeds derived from the seed as sweeps derive them, on all cores; "
                        "writes each run, replications.csv, summary.json (means, sd, 95%% intervals) and band figures")
    p.add_argument("--workers", type=workers, help="with --seeds: worker processes (default: all cores)")


def handle(args) -> int:
    """One run, or with ``--seeds N`` replications; exit 0, or 1 when a replication failed."""
    # here, not at the top: `trustsim --help` imports this module; the model, its measurements and the results'
    # writers only once the input is checked, so that a mistake in a scenario file is told in a fraction of a second
    from ..capacity import check_memory
    from ..errors import COMMAND_LINE, ParamError, counted, safe_text
    from ..scenario import load_scenario

    refuse_other_files(args.scenario)
    scenario = load_scenario(args.scenario, args.set, seed=args.seed, steps=args.steps,
                             words=COMMAND_LINE)
    if scenario.sweep is not None:
        # here, not at the top: `trustsim --help` imports this module
        from ..experiments import build_sweep

        build_sweep(scenario.name, args.scenario, scenario.params, scenario.sweep, scenario)  # its own faults first
        refuse_sweep(scenario, args.scenario)
    if scenario.calibrate is not None:  # a calibration file runs its scenario, but a fault in its table is one
        # here, not at the top: `trustsim --help` imports this module
        from ..calibration.config import build_calibration

        build_calibration(scenario.name, args.scenario, scenario.params, scenario.calibrate, scenario)
    check_memory(scenario.params, args.scenario)  # refuse a market this machine cannot hold, before allocating
    if args.seeds is not None:
        return replications(args, scenario)
    if args.workers is not None:
        raise ParamError("--workers", None, "applies to --seeds N only (one run uses one core)")
    # the model and the writers once the input is checked (above): a mistake is told without loading them
    from ..metrics import POSTURES
    from ..model import TrustMarket
    from ..results import check_target, scenario_files, write_run

    out = args.out or os.path.join("results", scenario.name)
    check_target(out, args.force, kind="run", protect=scenario_files(scenario))  # refuse, and lock, before the run
    started = datetime.now(UTC).isoformat(timespec="seconds")
    t0 = time.perf_counter()
    model = TrustMarket(scenario.params, rng=scenario.params.run.seed)
    show = not args.quiet and sys.stderr.isatty()
    if show:
        # here, not at the top: `trustsim --help` imports this module
        from tqdm import tqdm

        with tqdm(total=scenario.params.run.steps, desc=scenario.name, unit="step", file=sys.stderr) as bar:
            model.run(progress=bar.update)
    else:
        model.run()
    wall = time.perf_counter() - t0
    write_run(model, scenario, out, started=started, wall_seconds=wall, force=args.force)
    summary = model.recorder.summary()
    s, (first, last) = summary["long_run"], summary["long_run_steps"]
    print(f"{safe_text(scenario.name)}: {counted(scenario.params.run.steps, 'step')} in {wall:.2f} s "
          f"→ {safe_text(out, 400)}/")
    print(f"  long-run means, steps {first}–{last} (summary.json: also the first 40 and the first 8 steps):")
    for g in POSTURES:
        if s[g]["buyers"]:
            print(f"  {g:<10} market share {s[g]['market_share']:.3f}"
                  f"  cost of ownership {s[g]['tco_per_unit']:.3f}/unit  trust {s[g]['trust_buyer']:.2f}"
                  f"  ideas/step {s[g]['ideas_received']:.2f}")
    return 0


def refuse_sweep(scenario, shown: str, compare: bool = False, python: bool = False) -> None:
    """The ParamError ``run`` (``compare``: ``compare``) gives a sweep file ``shown``: running its base scenario
    instead would drop its [sweep] table without a word. The Python API (``python``) gives it too, naming
    :func:`trustsim.sweep` where the command line names ``trustsim sweep``."""
    # here, not at the top: `trustsim --help` imports this module
    from ..errors import ParamError

    if scenario.sweep is None:
        return
    if python:
        raise ParamError(shown, "sweep", f"is a sweep file; {'compare scenarios, or ' if compare else ''}run its "
                                         f"sweep with trustsim.sweep({shown!r})")
    raise ParamError(shown, "sweep", "is a sweep file; " + ("compare scenarios, or sweep with trustsim sweep"
                                                          if compare else f"run it with: trustsim sweep {shown}"))


def refuse_other_files(path: str, python: bool = False) -> None:
    """A manifest or a results folder given where a scenario belongs: say which command (``python``: for a run or
    replications, which function) takes it."""
    # here, not at the top: `trustsim --help` imports this module
    from pathlib import Path

    from ..errors import COMMAND_LINE, PYTHON, ParamError
    from ..reproduce import remake_hint

    p = Path(path)
    if p.suffix.lower() == ".json" or (p.is_dir() and (p / "manifest.json").is_file()):
        shown = p if p.suffix.lower() == ".json" else p / "manifest.json"
        what = "a results manifest" if p.suffix.lower() == ".json" else "a results folder"
        remake = remake_hint(shown, path, PYTHON if python else COMMAND_LINE)
        raise ParamError(path, None, f"is {what}, not a scenario; {remake}")


def replications(args, scenario) -> int:
    """``--seeds N``: N runs of the scenario, summarised with 95% intervals (exit 1 when a run failed)."""
    # here, not at the top: `trustsim --help` imports this module
    from ..errors import counted, safe_text
    from ..experiments.progress import failure_line
    from ..experiments.replicate import replicate, replication_sweep, write_replications
    from ..metrics import POSTURES
    from ..results import check_target, release_claim, scenario_files

    out = args.out or os.path.join("results", f"{scenario.name}-replications")
    replication_sweep(scenario, args.seeds)  # refuse bad input before the folder is claimed
    check_target(out, args.force, kind="replications", protect=scenario_files(scenario))
    try:
        rep = replicate(scenario, args.seeds, workers=args.workers, quiet=args.quiet)
    except BaseException:
        release_claim(out)
        raise
    write_replications(rep, out, args.force, protect=scenario_files(scenario))
    print(f"{safe_text(scenario.name)}: {counted(args.seeds, 'replication')} of "
          f"{counted(scenario.params.run.steps, 'step')} in {rep.wall:.1f} s → {safe_text(out, 400)}/")
    summary = rep.summary
    steps = scenario.params.run.steps
    print(f"  long-run means, each run's steps {steps // 2 + 1 if steps > 1 else 1}–{steps}, [95% interval] over "
          f"the replications:")
    finished = len(rep.runs) - len(rep.failed)
    for g in POSTURES:
        s = summary["long_run"][g]
        if s["buyers"]["mean"]:
            n = s["market_share"]["n"]  # fewer where a run's long run had no buyers of the posture (imitation)
            print(f"  {g:<10} market share {_ci(s['market_share'])}  cost of ownership {_ci(s['tco_per_unit'])}"
                  f"  trust {_ci(s['trust_buyer'], 2)}" + (f"  (over {n} of {finished} runs)" if n < finished else ""))
    if finished:
        steady = int(rep.runs["steady"].sum())
        print(f"  long run steady (MSER-5) in {steady} of {counted(finished, 'run')}")
    if finished == 1:
        print("  (one run succeeded: means without intervals)")
    if rep.failed:
        line = failure_line(rep.failed, args.seeds, f"{safe_text(out, 400)}/replications.csv", "replicates")
        if len(rep.failed) == args.seeds:  # nothing to summarise: an error, not a result
            print(f"trustsim: error: every run failed: {line}", file=sys.stderr)
        else:
            print(line)
        return 1
    return 0


def _ci(d: dict, digits: int = 3) -> str:
    """A summary's figure as "mean [low, high]", or its mean alone where one replicate had it (no interval)."""
    if d["mean"] is None:
        return "–"
    if d["low"] is None or d["high"] is None:
        return f"{d['mean']:.{digits}f}"
    return f"{d['mean']:.{digits}f} [{d['low']:.{digits}f}, {d['high']:.{digits}f}]"
