"""Draw docs/images/settling.png: the partner share advantage over a long run, by σ, to where the market settles.

Each σ of the pattern suite's (0, 0.3, 0.6, 0.9) runs on 10 seeds (1–10) at the defaults, all in one ensemble;
the figure shows the mean advantage over the seeds in blocks of steps (wider as the run goes on, on a
logarithmic axis of steps) with its 95% interval, and shades the default run's long-run window (steps 601–1200).
docs/experiments.md ("Where the market settles") reads it.

    python scripts/settling_figure.py --force         # redraw the committed figure: 40 000 steps, about two minutes
    python scripts/settling_figure.py --steps 4000 --out /tmp/settling.png

An existing ``--out`` file is replaced only with ``--force``; the figure is written under a temporary name and
renamed, so an interrupted run leaves the old file whole.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from trustsim.commands.argtypes import pos_int, run_steps
from trustsim.ensemble import Ensemble
from trustsim.labels import AXES
from trustsim.params import Params
from trustsim.patterns import SIGMAS
from trustsim.results import replace_file
from trustsim.stats import mean_ci

ROOT = Path(__file__).resolve().parents[1]


def advantages(steps: int, seeds: list[int]) -> np.ndarray:
    """The partner share advantage per step: ``(σ, seeds, steps)``."""
    members = [Params().replace(**{"run.steps": steps, "market.uncertainty": s}) for s in SIGMAS for _ in seeds]
    ens = Ensemble(members, seeds * len(SIGMAS)).run()
    return ens.recorder.steady_series_each().reshape(len(SIGMAS), len(seeds), steps)


def blocks(steps: int) -> list[tuple[int, int]]:
    """Blocks of steps as wide as a tenth of their distance from the start (at least 10 steps): even on a log axis."""
    out, start = [], 0
    while start < steps:
        end = min(steps, start + max(10, start // 10))
        out.append((start, end))
        start = end
    return out


def draw(series: np.ndarray, path: Path) -> None:
    # here, not at the top: --help needs no plotting library
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    spans = blocks(series.shape[2])
    middle = np.array([(a + b) / 2 + 1 for a, b in spans])
    fig, ax = plt.subplots(figsize=(7.5, 4.2), layout="constrained")
    ax.axvspan(601, 1200, color="0.9", label="a default run's long run (steps 601–1200)")
    ax.axhline(0.0, color="0.3", lw=0.8)
    colours = plt.get_cmap("viridis")(np.linspace(0.0, 0.85, len(SIGMAS)))
    for sigma, runs, colour in zip(SIGMAS, series, colours, strict=True):
        ci = np.array([mean_ci(runs[:, a:b].mean(axis=1)) for a, b in spans])  # (mean, low, high) per block
        ax.fill_between(middle, ci[:, 1], ci[:, 2], color=colour, alpha=0.25, lw=0)
        ax.plot(middle, ci[:, 0], color=colour, lw=1.5, label=f"σ = {sigma}")
    ax.set_xscale("log")
    ax.set_xlabel("step (one a quarter; logarithmic)")
    ax.set_ylabel("partner share advantage (× 1/n)")
    ax.set_title(f"Partner share advantage by {AXES['market.uncertainty']}: mean of {series.shape[1]} seeds, "
                 "95% interval", fontsize=9)
    ax.legend(fontsize=8, frameon=False, loc="upper left")
    replace_file(path, lambda tmp: fig.savefig(tmp, dpi=120, format="png"))
    plt.close(fig)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--steps", type=run_steps, default=40_000, help="steps a run (default 40 000)")
    ap.add_argument("--seeds", type=pos_int, default=10, help="seeds a σ (default 10: seeds 1–10)")
    ap.add_argument("--out", type=Path, default=ROOT / "docs" / "images" / "settling.png",
                    help="the figure's file (default docs/images/settling.png)")
    ap.add_argument("--force", action="store_true", help="replace --out if it exists")
    args = ap.parse_args()
    if args.out.is_dir() or not args.out.parent.is_dir():
        ap.error(f"--out: {args.out} " + ("is a folder; name a file" if args.out.is_dir() else
                                          f"cannot be written: there is no folder {args.out.parent}"))
    if args.out.exists() and not args.force:
        ap.error(f"--out: {args.out} exists; --force replaces it")
    series = advantages(args.steps, list(range(1, args.seeds + 1)))
    draw(series, args.out)
    last = series[:, :, -args.steps // 10:].mean(axis=2)
    for sigma, x in zip(SIGMAS, last, strict=True):
        m, lo, hi = mean_ci(x)
        print(f"σ {sigma}: advantage over the last tenth of the run {m:+.3f} [{lo:+.3f}, {hi:+.3f}]")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
