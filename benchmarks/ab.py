"""One market's time under two commits, side by side: runs alternate between them in fresh processes.

On a shared or busy machine timings drift by a factor of two within minutes, so a speed-up is only
measured against the old code run in the same invocation, interleaved: each repeat runs every market
once under the old commit, once under the new, and the medians are compared. A market is
``BUYERSxSUPPLIERSxSTEPS`` (``0x0xSTEPS``: the default market).

    python benchmarks/ab.py f522da1 HEAD 0x0x120 0x0x1200 20000x1000x30 --repeats 5
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

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
t1 = time.perf_counter()
model.run()
print(json.dumps({"build": t1 - t0, "run": time.perf_counter() - t1}))
"""


def checkout(commit: str, into: str) -> str:
    """The package ``trustsim`` as it was at ``commit``, unpacked under ``into``."""
    tree = os.path.join(into, commit.replace("/", "_"))
    os.makedirs(tree)
    archive = subprocess.run(["git", "-C", ROOT, "archive", commit, "trustsim"], capture_output=True, check=True)
    subprocess.run(["tar", "-x", "-C", tree], input=archive.stdout, check=True)
    return tree


def once(tree: str, market: str) -> dict:
    out = subprocess.run([sys.executable, "-c", CHILD, *market.split("x")], env=dict(os.environ, PYTHONPATH=tree),
                         capture_output=True, text=True, check=True, cwd=tree)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("old")
    ap.add_argument("new")
    ap.add_argument("markets", nargs="+", help="BUYERSxSUPPLIERSxSTEPS; 0x0xSTEPS is the default market")
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        trees = {"old": checkout(args.old, tmp), "new": checkout(args.new, tmp)}
        for market in args.markets:
            runs: dict[str, list] = {k: [] for k in trees}
            for _ in range(args.repeats):
                for k, tree in trees.items():
                    runs[k].append(once(tree, market))
            med = {k: {f: statistics.median(r[f] for r in v) for f in ("build", "run")} for k, v in runs.items()}
            o, n = med["old"], med["new"]
            print(f"{market}: {args.old} build {o['build']:.3f} s run {o['run']:.3f} s | {args.new} build "
                  f"{n['build']:.3f} s run {n['run']:.3f} s | run {n['run'] / o['run']:.2f}×, build and run "
                  f"{(n['run'] + n['build']) / (o['run'] + o['build']):.2f}× (medians of {args.repeats})")


if __name__ == "__main__":
    main()
