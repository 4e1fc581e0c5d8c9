"""Memory over a long run: 10 000 steps of the default market.

Prints, at a tenth, half and the end of the run (steps 1 000, 5 000 and 10 000 by default, or the
--checkpoints given): peak resident memory, its growth since the first of them, and the size of what the
run keeps as output (the recorder's per-step rows and Mesa's DataCollector table).
Memory may grow by the outputs and nothing else: the last line compares the two.

    python benchmarks/long_run.py
    python benchmarks/long_run.py --steps 20000 --checkpoints 2000 10000 20000
    python benchmarks/long_run.py --steps 300                # a quick check: steps 30, 150 and 300
"""

from __future__ import annotations

import argparse
import resource
import sys
import time


def peak_rss_mb() -> float:
    kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return kb / 1024 if sys.platform != "darwin" else kb / 1024 / 1024  # macOS reports bytes


def current_rss_mb() -> float | None:
    try:
        with open("/proc/self/statm") as f:
            pages = int(f.read().split()[1])
    except OSError:
        return None
    return pages * resource.getpagesize() / 1024 / 1024


def output_mb(model) -> tuple[float, float]:
    """The recorder's rows (as recorded so far) and the DataCollector's table, in MB."""
    rec = model.recorder.rows.nbytes / 1024 / 1024
    dc = model.datacollector.model_vars
    # a Python float in a list: the 8-byte pointer plus the 24-byte float object
    dc_mb = sum(len(v) for v in dc.values()) * (8 + 24) / 1024 / 1024
    return rec, dc_mb


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--steps", type=int, default=10_000)
    ap.add_argument("--checkpoints", type=int, nargs="+", help="steps to report at (default: a tenth, half "
                    "and the end of the run)")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args(argv)
    if args.steps < 1:
        ap.error(f"--steps: {args.steps} is not a number of steps (at least 1)")
    outside = [c for c in args.checkpoints or () if not 1 <= c <= args.steps]
    if outside:
        ap.error(f"--checkpoints: {' '.join(map(str, outside))} not within the run's steps 1 to {args.steps}")
    marks = sorted({c for c in args.checkpoints or (args.steps // 10, args.steps // 2, args.steps) if c >= 1})

    from trustsim import TrustMarket

    model = TrustMarket(rng=args.seed, steps=args.steps)
    print(f"default market ({model.params.market.buyers} buyers, {model.params.market.suppliers} suppliers), "
          f"{args.steps} steps, seed {args.seed}")
    print(f"{'step':>7} {'peak RSS MB':>12} {'RSS now MB':>11} {'growth MB':>10} {'recorder MB':>12} "
          f"{'DataCollector MB':>17} {'rows':>7} {'s/1000 steps':>13}")
    first = None
    t0 = time.perf_counter()
    last_t, last_step = t0, 0
    while model.running:
        model.step()
        if marks and model.steps == marks[0]:
            marks.pop(0)
            now = time.perf_counter()
            peak, cur = peak_rss_mb(), current_rss_mb()
            rec, dc = output_mb(model)
            if first is None:
                first = (peak, rec + dc)
            rate = (now - last_t) / (model.steps - last_step) * 1000
            last_t, last_step = now, model.steps
            print(f"{model.steps:>7} {peak:>12.1f} {cur if cur is not None else float('nan'):>11.1f} "
                  f"{peak - first[0]:>10.1f} {rec:>12.2f} {dc:>17.2f} {len(model.recorder.rows) * 3:>7} {rate:>13.2f}")
    peak = peak_rss_mb()
    rec, dc = output_mb(model)
    grew, outputs = peak - first[0], rec + dc - first[1]
    print(f"memory grew {grew:.1f} MB after the first checkpoint while the outputs grew {outputs:.1f} MB "
          f"(the recorder's {model.recorder.data.nbytes / 1024 / 1024:.1f} MB array is allocated at the start); "
          f"{'within' if grew <= outputs + 5 else 'BEYOND'} the outputs (+5 MB allowance for the allocator)")
    print(f"wall time {time.perf_counter() - t0:.1f} s")
    return 0 if grew <= outputs + 5 else 1


if __name__ == "__main__":
    sys.exit(main())
