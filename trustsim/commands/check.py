"""``trustsim check SCENARIO``: validate a scenario, sweep or calibration file and show what it resolves to."""

from __future__ import annotations

from .argtypes import pathname

NAME = "check"
HELP = "validate a scenario, sweep or calibration file and show what it resolves to (runs nothing)"


def arguments(p) -> None:
    """The arguments of ``trustsim check``."""
    p.add_argument("scenario", type=pathname("scenario", "a scenario, sweep or calibration TOML file"),
                   help="scenario, sweep or calibration TOML file; a [sweep] table is checked whole "
                        "(design, factors, metrics, every design point) and its runs counted, "
                        "a [calibrate] table whole (priors, structures, targets)")
    p.add_argument("--set", action="append", default=[], metavar="GROUP.NAME=VALUE",
                   help="override one parameter, as trustsim run does (repeatable)")


def handle(args) -> int:
    """Exit 0 when the file and its overrides are valid, printing how they differ from the defaults and what a
    [sweep] or [calibrate] table would run; bad input raises (exit 2)."""
    # here, not at the top: `trustsim --help` imports this module
    from ..capacity import check_memory, check_sweep_memory
    from ..errors import COMMAND_LINE, ParamError, counted, safe_text
    from ..params import Params
    from ..scenario import load_scenario
    from .run import refuse_other_files

    refuse_other_files(args.scenario)  # a manifest or a results folder: the line run gives, naming rerun
    scenario = load_scenario(args.scenario, args.set, words=COMMAND_LINE)
    sweep = None
    if scenario.sweep is not None:  # checked whole before anything is printed
        # here, not at the top: `trustsim --help` imports this module
        from ..experiments import build_sweep

        sweep = build_sweep(scenario.name, args.scenario, scenario.params, scenario.sweep, scenario)
    cal = None
    if scenario.calibrate is not None:
        # here, not at the top: `trustsim --help` imports this module
        from ..calibration.config import build_calibration

        cal = build_calibration(scenario.name, args.scenario, scenario.params, scenario.calibrate, scenario)
    # the refusal run gives a market this machine cannot hold; a sweep's largest market only noted, as a sweep
    # on a remote Dask cluster runs on other machines (`sweep --dask ADDRESS` does not ask this one's memory)
    too_large = None
    if sweep is None:
        check_memory(scenario.params, args.scenario)
    else:
        try:
            check_sweep_memory(sweep, None, 1, args.scenario)
        except ParamError as exc:
            too_large = exc.message
    print(f"{safe_text(args.scenario, 400)}: valid")
    if too_large is not None:
        print(f"note: the largest market of its [sweep] does not fit this machine ({too_large}); trustsim sweep "
              f"refuses it here, a Dask cluster's workers may hold it (--dask ADDRESS)")
    if len(scenario.chain) > 1:
        print("extends: " + " -> ".join(safe_text(p, 400) for p in scenario.chain))
    defaults = Params().flat()
    changed = [(k, v) for k, v in scenario.params.flat().items() if v != defaults[k]]
    if changed:
        print("differs from the defaults:")
        for k, v in changed:
            print(f"  {k} = {v!r}  (default {defaults[k]!r})")
    else:
        print("every parameter at its default")
    if sweep is not None:
        factors = ", ".join(sweep.keys) or "none (replications of the scenario)"
        print(f"[sweep] valid: {sweep.design} design, {counted(len(sweep.points), 'design point')} × "
              f"{counted(sweep.replications, 'replication')} = {counted(sweep.n_runs, 'run')} of "
              f"{counted(scenario.params.run.steps, 'step')}")
        print(f"  factors: {factors}")
        print(f"  metrics: {', '.join(sweep.metrics)}")
        print(f"  seeds: root {sweep.seed}, {sweep.seeds}; run it with: trustsim sweep {args.scenario}")
    if cal is not None:
        spec = cal.spec
        print(f"[calibrate] valid: {counted(len(cal.keys), 'parameter')}, {counted(len(cal.structures), 'structure')}, "
              f"{counted(len(cal.calibrate_targets), 'target')} to fit and "
              f"{len(spec.targets) - len(cal.calibrate_targets)} held out; budget {spec.budget} runs, "
              f"population {spec.population}")
        for key, lo, hi in zip(cal.keys, cal.lo, cal.hi, strict=True):
            print(f"  {key} ~ uniform({lo:g}, {hi:g})")
        for m, w in enumerate(cal.structure_prior):
            if len(cal.structures) > 1:
                print(f"  structure {cal.structure_label(m)}: prior weight {w:.3g}")
        for t in spec.targets:
            print(f"  target {t.name} ({t.role}): {t.measure} = {t.value:g} ± {t.sd:g}")
        print(f"  run it with: trustsim calibrate {args.scenario}")
    return 0
