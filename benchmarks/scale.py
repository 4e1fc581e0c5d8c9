"""Speed and memory of the engine as the market grows, and against the per-agent reference.

Each size runs in a fresh process (so peak memory is that run's own): 20 buyers per supplier, all
mechanisms on, demand scaled so that every slot keeps the baseline's volume. Prints one table:
buyer-steps per second (building and running the market), relationship-steps per second (running it) and
peak resident memory per size, how many elementwise passes over the relationship arrays a step costs (a step's
time over the time of ``a * b + c`` on arrays of as many doubles, measured beside each size: the distance to
what the memory and NumPy's elementwise loops allow), the growth exponent of time in the number of
relationships (log-log slope), the speed ratio against benchmarks/naive_reference.py at 1 000 buyers (for
the whole step and for the same four phases the reference implements), and the default run's model time.

    python benchmarks/scale.py                          # 1 000, 10 000, 100 000 buyers, 120 steps
    python benchmarks/scale.py --sizes 1000 10000 --steps 60
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
CORE = ("sourcing", "supplier_conduct", "inspection", "trust_update")  # phases 2–4 and 8 (docs/ODD.md section 3)


def market(buyers: int, steps: int) -> dict:
    """The parameters a size changes: ``buyers`` with one supplier per 20 and demand for every slot at the
    baseline's volume; 0 buyers is the default market (40 buyers, 20 suppliers), only ``steps`` set."""
    changes = {"run.steps": steps}
    if buyers:
        changes |= {"market.buyers": buyers, "market.suppliers": max(buyers // 20, 1), "market.demand": 250.0 * buyers}
    return changes


def child(kind: str, buyers: int, steps: int) -> None:
    """Run one market in this process and print a JSON line with its figures and its size."""
    import resource

    from trustsim import TrustMarket, phases
    from trustsim.params import Params

    sys.path.insert(0, HERE)
    changes = market(buyers, steps)
    spent = dict.fromkeys(CORE, 0.0)
    if kind == "naive":
        from naive_reference import NaiveMarket, neutral_params

        params = neutral_params(**changes)
        t0 = time.perf_counter()
        model = NaiveMarket(params, rng=1)
        built = time.perf_counter() - t0
        collect, collecting = model.datacollector.collect, []

        def timed_collect(m):  # its measurements, left out of its four phases' time
            t = time.perf_counter()
            collect(m)
            collecting.append(time.perf_counter() - t)

        model.datacollector.collect = timed_collect
        for _ in range(params.run.steps):
            model.step()
        seconds = time.perf_counter() - t0
        spent = {"phases": seconds - built - sum(collecting)}  # the agents' steps alone
    else:
        def timed(f):
            def g(model):
                t = time.perf_counter()
                f(model)
                spent[f.__name__] += time.perf_counter() - t
            g.__name__ = f.__name__
            return g

        if kind == "engine-core":
            phases.SCHEDULE = tuple(timed(f) if f.__name__ in CORE else f for f in phases.SCHEDULE)
        t0 = time.perf_counter()
        model = TrustMarket(Params().replace(**changes), rng=1)
        built = time.perf_counter() - t0
        model.run()
        seconds = time.perf_counter() - t0
        params = model.params
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux → MiB
    out = {"seconds": seconds, "peak_mib": peak, "core_seconds": sum(spent.values()),
           "buyers": params.market.buyers, "suppliers": params.market.suppliers, "steps": params.run.steps,
           "build_seconds": built}
    print(json.dumps(out))


def measure(kind: str, buyers: int, steps: int, repeats: int = 1) -> dict:
    runs = []
    for _ in range(repeats):
        proc = subprocess.run([sys.executable, __file__, "--child", kind, str(buyers), str(steps)],
                              capture_output=True, text=True)
        if proc.returncode:
            sys.exit(f"{kind} run of {buyers or 'the default'} buyers: "
                     f"{(proc.stderr.strip().splitlines() or ['failed'])[-1]}")
        runs.append(json.loads(proc.stdout.strip().splitlines()[-1]))
    return min(runs, key=lambda r: r["seconds"])  # the least disturbed run


def elementwise_pass(n: int, budget: float = 0.2) -> float:
    """Seconds for one ``a * b + c`` over ``n`` doubles (into a preallocated result): the best of repeats
    filling about ``budget`` seconds, the unit a step's cost is counted in."""
    rng = np.random.default_rng(0)
    a, b, c, out = rng.random(n), rng.random(n), rng.random(n), np.empty(n)
    best, spent = float("inf"), 0.0
    while spent < budget or best == float("inf"):
        t0 = time.perf_counter()
        np.multiply(a, b, out=out)
        np.add(out, c, out=out)
        took = time.perf_counter() - t0
        best, spent = min(best, took), spent + took
    return best


def at_least_one(text: str) -> int:
    """An option's whole number of at least 1 (a size, steps, repeats), else argparse's error naming it."""
    if not text.strip().isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of at least 1")
    return int(text)


def machine() -> str:
    cpu = "unknown CPU"
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{os.cpu_count()} cores, {cpu}, {mem:.0f} GiB, Python {platform.python_version()}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=at_least_one, nargs="+", default=[1_000, 10_000, 100_000])
    ap.add_argument("--steps", type=at_least_one, default=120)
    ap.add_argument("--repeats", type=at_least_one, default=3, help="runs per size up to 10 000 buyers (larger "
                    "ones run once), of the reference comparison and of the default run; the fastest is reported")
    args = ap.parse_args()
    from trustsim.errors import ParamError
    from trustsim.params import Params

    for n in args.sizes:  # a size the model refuses is refused here, before any run
        try:
            Params().replace(**market(n, args.steps))
        except ParamError as e:
            ap.error(f"--sizes {n} --steps {args.steps}: {e}")

    print(f"machine: {machine()}")
    print(f"{'buyers':>9} {'suppliers':>9} {'relations':>10} {'steps':>5} {'seconds':>8} {'buyer-steps/s':>14} "
          f"{'rel-steps/s':>12} {'a*b+c ns':>9} {'passes/step':>11} {'peak MiB':>9}")
    rows = []
    for n in args.sizes:
        r = measure("engine", n, args.steps, args.repeats if n <= 10_000 else 1)
        rel = 2 * n  # 2 slots per buyer
        rows.append((rel, r["seconds"]))
        model_seconds = r["seconds"] - r["build_seconds"]
        unit = elementwise_pass(rel)  # measured now, beside the run: the same machine load
        print(f"{n:>9,} {max(n // 20, 1):>9,} {rel:>10,} {args.steps:>5} {r['seconds']:>8.2f} "
              f"{n * args.steps / r['seconds']:>14,.0f} {rel * args.steps / model_seconds:>12,.0f} "
              f"{unit / rel * 1e9:>9.2f} {model_seconds / args.steps / unit:>11,.0f} {r['peak_mib']:>9.0f}")
    print("seconds, buyer-steps/s: building the market and running it; rel-steps/s: relationship-steps per second of "
          "the run alone (without building the market); a*b+c ns: one elementwise pass per relationship; passes/step: "
          "a step's time in such passes over the relationship arrays (the distance to the elementwise limit)")
    if len(rows) >= 2:
        x, y = np.log([r[0] for r in rows]), np.log([r[1] for r in rows])
        slope = np.polyfit(x, y, 1)[0]
        print(f"growth exponent of time in relationships (log-log slope): {slope:.2f}")
        big = dict(rows)
        if 200_000 in big and 20_000 in big:
            print(f"time at 100 000 buyers / time at 10 000: {big[200_000] / big[20_000]:.1f}×")
    ref_n = 1_000
    naive = measure("naive", ref_n, args.steps, args.repeats)
    core = measure("engine-core", ref_n, args.steps, args.repeats)
    whole = measure("engine", ref_n, args.steps, args.repeats)
    print(f"per-agent reference at {ref_n:,} buyers × {args.steps} steps: {naive['seconds']:.2f} s (its four phases "
          f"alone {naive['core_seconds']:.2f} s); engine whole step (13 phases + measurements) "
          f"{whole['seconds']:.3f} s = {naive['seconds'] / whole['seconds']:.0f}× faster; "
          f"the same four phases (2–4, 8) {core['core_seconds']:.3f} s = "
          f"{naive['core_seconds'] / core['core_seconds']:.0f}× faster")
    default = measure("engine", 0, 120, args.repeats)  # 0 buyers: the default market
    print(f"default run ({default['buyers']} buyers × {default['suppliers']} suppliers × {default['steps']} steps): "
          f"{default['seconds'] - default['build_seconds']:.3f} s "
          f"model time ({default['seconds']:.3f} s with building the market)")


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "--child":
        child(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
    else:
        main()
