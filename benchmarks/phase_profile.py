"""Where one market's time goes: seconds per phase of the step, then cProfile's heaviest functions.

Builds one market, times each phase of ``phases.SCHEDULE``, the measurements (phase 14), Mesa's
DataCollector and the replacement of bankrupt suppliers' agents, and prints their shares; with
``--cprofile N`` it then runs the same market again under cProfile and prints the N functions with the
most time of their own. With ``--ensemble N`` it steps N such markets together (seeds 1…N), as a sweep's
worker does (``ensemble.Ensemble``): the same phases, over N times the rows.

    python benchmarks/phase_profile.py                                    # the default market, 1200 steps
    python benchmarks/phase_profile.py --buyers 20000 --suppliers 1000 --steps 30 --cprofile 25
    python benchmarks/phase_profile.py --ensemble 300 --steps 120         # a sweep's batch
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import time
from collections import defaultdict

from scale import market  # benchmarks/scale.py: a size's market, as every benchmark builds it

from trustsim import TrustMarket, phases
from trustsim.ensemble import Ensemble, Markets
from trustsim.errors import ParamError
from trustsim.params import Params


def params(args) -> Params:
    """The market the options ask for."""
    changes = market(args.buyers, args.steps)
    if args.suppliers:  # with or without --buyers
        changes["market.suppliers"] = args.suppliers
    return Params().replace(**changes)


def build(args) -> TrustMarket | Ensemble:
    if args.ensemble:
        return Ensemble([params(args)] * args.ensemble, [args.seed + i for i in range(args.ensemble)])
    return TrustMarket(params(args), rng=args.seed)


def by_phase(args) -> None:
    spent: dict[str, float] = defaultdict(float)

    def timed(name, f):
        def g(*a):
            t = time.perf_counter()
            f(*a)
            spent[name] += time.perf_counter() - t
        return g

    saved = phases.SCHEDULE, TrustMarket.measure, Markets.measure, TrustMarket.replace_suppliers
    phases.SCHEDULE = tuple(timed(f.__name__, f) for f in saved[0])
    TrustMarket.measure = timed("measurements", saved[1])
    Markets.measure = timed("measurements", saved[2])
    TrustMarket.replace_suppliers = timed("new supplier agents", saved[3])
    try:
        t0 = time.perf_counter()
        model = build(args)
        built = time.perf_counter() - t0
        if not args.ensemble:  # an ensemble keeps its tables in its recorder only
            model.datacollector.collect = timed("DataCollector", model.datacollector.collect)
        t0 = time.perf_counter()
        model.run()
        total = time.perf_counter() - t0
    finally:
        phases.SCHEDULE, TrustMarket.measure, Markets.measure, TrustMarket.replace_suppliers = saved
    rel_steps = model.market.n_rel * args.steps
    market = model.pp.shared.market
    size = f"{market.buyers} buyers, {market.suppliers} suppliers"
    what = f"{args.ensemble} markets together ({size} each)" if args.ensemble else f"the market ({size})"
    print(f"building {what}: {built:.3f} s; running {args.steps} steps: {total:.3f} s "
          f"({total / rel_steps * 1e9:.0f} ns per relationship-step)")
    for name, s in sorted(spent.items(), key=lambda kv: -kv[1]):
        print(f"  {name:<22} {s:8.3f} s {100 * s / total:5.1f} %")
    rest = total - sum(spent.values())
    print(f"  {'(the loop itself)':<22} {rest:8.3f} s {100 * rest / total:5.1f} %")


def count(text: str) -> int:
    """An option's whole number, 0 or more (0: the option's default or off), else argparse's error naming it."""
    if not text.strip().isdigit():
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number (0 or more)")
    return int(text)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--buyers", type=count, default=0, help="0: the default market")
    ap.add_argument("--suppliers", type=count, default=0,
                    help="0: one per 20 buyers (the default market's 20 without --buyers)")
    ap.add_argument("--steps", type=int, default=1200)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--ensemble", type=count, default=0, metavar="N", help="step N markets together, as a sweep does")
    ap.add_argument("--cprofile", type=count, default=0, metavar="N", help="also print cProfile's N heaviest functions")
    args = ap.parse_args()
    try:
        params(args)
    except ParamError as e:  # a size or a number of steps the model refuses, before any run
        ap.error(str(e))
    by_phase(args)
    if args.cprofile:
        prof = cProfile.Profile()
        prof.enable()
        build(args).run()
        prof.disable()
        pstats.Stats(prof).sort_stats("tottime").print_stats(args.cprofile)


if __name__ == "__main__":
    main()
