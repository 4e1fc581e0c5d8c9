"""One market's time under two commits, side by side: runs alternate between them in fresh processes.

On a shared or busy machine timings drift by a factor of two within minutes, so a speed-up is only
measured against the old code run in the same invocation, interleaved: each repeat runs every market
once under the old commit, once under the new (the old first in odd repeats, the new first in even ones), and the
medians are compared. A market is
``BUYERSxSUPPLIERSxSTEPS`` (``0x0xSTEPS``: the default market). Prints a line per market: each commit's
median seconds to build the market and to run it, and the new commit's over the old's for the run, for
building and running, and for the run's CPU time.

    python benchmarks/ab.py f522da1 HEAD 0x0x120 0x0x1200 20000x1000x30 --repeats 5

When the machine's speed drifts faster than a fresh process starts (a shared host), ``--same-process``
imports both commits' packages into one process, renamed side by side, and alternates their runs there
(the order swapped every repeat): a change of a few per cent shows that fresh processes would drown in
noise. It leaves out what a fresh process pays once (imports, first calls), so judge those without it.

    python benchmarks/ab.py ab999dc HEAD 0x0x120 --repeats 60 --same-process

Each run's CPU time (``time.process_time``) is compared beside its wall time: when other tenants take the
processor away from a shared host, wall times stretch and CPU times much less. CPU time counts every thread's,
so where one commit runs BLAS on two threads and the other on one (large markets before the group sums ran on
one BLAS thread) only the wall time compares them.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile

from scale import at_least_one  # benchmarks/scale.py: one check of a count for every benchmark

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CHILD = r"""
import json, sys, time
from trustsim import TrustMarket
from trustsim.params import Params
b, s, steps = map(int, sys.argv[1:4])
changes = {"run.steps": steps}
if b:
    changes |= {"market.buyers": b, "market.suppliers": s, "market.demand": 250.0 * b}
t0 = time.perf_counter()
model = TrustMarket(Params().replace(**changes), rng=1)
t1, c1 = time.perf_counter(), time.process_time()
model.run()
print(json.dumps({"build": t1 - t0, "run": time.perf_counter() - t1, "cpu": time.process_time() - c1}))
"""

SAME_PROCESS_CHILD = r"""
import importlib, json, sys, time
b, s, steps, repeats = map(int, sys.argv[1:5])
changes = {"run.steps": steps}
if b:
    changes |= {"market.buyers": b, "market.suppliers": s, "market.demand": 250.0 * b}
kinds = ("old", "new")
code = {k: (importlib.import_module(f"trustsim_{k}.model").TrustMarket,
            importlib.import_module(f"trustsim_{k}.params").Params) for k in kinds}
if "trustsim" in sys.modules:
    sys.exit("a commit's package imports itself as trustsim (an absolute import): it cannot run renamed")
times = {k: [] for k in kinds}
for i in range(repeats):
    for k in kinds if i % 2 == 0 else kinds[::-1]:
        market, params = code[k]
        t0 = time.perf_counter()
        model = market(params().replace(**changes), rng=1)
        t1, c1 = time.perf_counter(), time.process_time()
        model.run()
        times[k].append({"build": t1 - t0, "run": time.perf_counter() - t1, "cpu": time.process_time() - c1})
print(json.dumps(times))
"""


def checkout(commit: str, into: str, name: str = "trustsim") -> str:
    """The package ``trustsim`` as it was at ``commit``, unpacked into the folder ``into`` as ``name``."""
    os.makedirs(into, exist_ok=True)
    archive = subprocess.run(["git", "-C", ROOT, "archive", commit, "trustsim"], capture_output=True, check=True)
    subprocess.run(["tar", "-x", "-C", into], input=archive.stdout, check=True)
    if name != "trustsim":
        os.rename(os.path.join(into, "trustsim"), os.path.join(into, name))
    return into


def once(tree: str, market: str) -> dict:
    out = subprocess.run([sys.executable, "-c", CHILD, *market.split("x")], env=dict(os.environ, PYTHONPATH=tree),
                         capture_output=True, text=True, cwd=tree)
    if out.returncode:
        sys.exit(f"{market}: {(out.stderr.strip().splitlines() or ['failed'])[-1]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def market_spec(text: str) -> str:
    """A market argument as the runs read it: BUYERSxSUPPLIERSxSTEPS, both sizes 0 (the default market) or
    neither, at least one step."""
    m = re.fullmatch(r"(\d+)x(\d+)x(\d+)", text)
    if not m or (m[1] == "0") != (m[2] == "0") or int(m[3]) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not BUYERSxSUPPLIERSxSTEPS (0x0xSTEPS: the default market; "
                                         "at least 1 step)")
    return text


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("old")
    ap.add_argument("new")
    ap.add_argument("markets", nargs="+", type=market_spec,
                    help="BUYERSxSUPPLIERSxSTEPS; 0x0xSTEPS is the default market")
    ap.add_argument("--repeats", type=at_least_one, default=5, help="runs of each market under each commit (default 5)")
    ap.add_argument("--same-process", action="store_true",
                    help="alternate both commits' runs within one process (see above)")
    args = ap.parse_args()
    for commit in (args.old, args.new):
        found = subprocess.run(["git", "-C", ROOT, "rev-parse", "--verify", "--quiet", f"{commit}^{{commit}}"],
                               capture_output=True)
        if found.returncode:
            ap.error(f"{commit!r} is not a commit of this repository")
    with tempfile.TemporaryDirectory() as tmp:
        if args.same_process:  # both packages beside each other, renamed
            trees = {kind: checkout(commit, tmp, f"trustsim_{kind}") for kind, commit in (("old", args.old),
                                                                                           ("new", args.new))}
        else:
            trees = {kind: checkout(commit, os.path.join(tmp, kind)) for kind, commit in (("old", args.old),
                                                                                          ("new", args.new))}
        for market in args.markets:
            if args.same_process:
                out = subprocess.run([sys.executable, "-c", SAME_PROCESS_CHILD, *market.split("x"), str(args.repeats)],
                                     env=dict(os.environ, PYTHONPATH=tmp), capture_output=True, text=True, cwd=tmp)
                if out.returncode:
                    sys.exit(f"{market}: {out.stderr.strip().splitlines()[-1]}")
                runs = json.loads(out.stdout.strip().splitlines()[-1])
            else:
                runs = {k: [] for k in trees}
                for i in range(args.repeats):  # the order swapped every repeat: neither always runs first
                    for k in list(trees) if i % 2 == 0 else list(trees)[::-1]:
                        runs[k].append(once(trees[k], market))
            med = {k: {f: statistics.median(r[f] for r in v) for f in ("build", "run", "cpu")}
                   for k, v in runs.items()}
            o, n = med["old"], med["new"]
            print(f"{market}: {args.old} build {o['build']:.3f} s run {o['run']:.3f} s | {args.new} build "
                  f"{n['build']:.3f} s run {n['run']:.3f} s | run {n['run'] / o['run']:.2f}×, build and run "
                  f"{(n['run'] + n['build']) / (o['run'] + o['build']):.2f}×, run's CPU time "
                  f"{n['cpu'] / o['cpu']:.2f}× (medians of {args.repeats}"
                  f"{', in one process' if args.same_process else ''})")


if __name__ == "__main__":
    main()
