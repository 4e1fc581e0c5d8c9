"""One figure per pattern: each compared quantity over seeds (dots), its mean and 95% interval, and the target."""

from __future__ import annotations

import numpy as np

from ..stats import mean_ci
from .checks import Result
from .variants import FIT_SPREADS, INTEGRITIES, SIGMAS


def _band(ax, x, runs, label):
    """Mean over seeds with its 95% interval as a band."""
    stats = np.array([mean_ci(col) for col in np.asarray(runs, float).T])
    ax.plot(x, stats[:, 0], label=label)
    ax.fill_between(x, stats[:, 1], stats[:, 2], alpha=0.2)


def _regularity(result: Result, ax) -> bool:
    """The figure a researcher would draw for R1–R4 and the decomposition; False for any other result."""
    v = result.values
    if result.pattern == "R1":
        stats = [mean_ci(x) for x in v["by_integrity"]]
        ax.errorbar(INTEGRITIES, [m[0] for m in stats], yerr=[[m[0] - m[1] for m in stats],
                                                               [m[2] - m[0] for m in stats]], marker="o", capsize=4)
        ax.axhline(0, color="0.3", lw=0.8)
        ax.set_xlabel("mean supplier integrity")
        ax.set_ylabel("partner advantage\n(market share per buyer, × 1/n)")
    elif result.pattern == "R2":
        grid = np.array([[v["grid"][(s, f)].mean() for s in SIGMAS] for f in FIT_SPREADS])
        lim = float(np.abs(grid).max()) or 1.0
        im = ax.imshow(grid, cmap="RdBu", vmin=-lim, vmax=lim, aspect="auto", origin="lower")
        ax.set_xticks(range(len(SIGMAS)), [str(s) for s in SIGMAS])
        ax.set_yticks(range(len(FIT_SPREADS)), [str(f) for f in FIT_SPREADS])
        for (i, j), x in np.ndenumerate(grid):
            ax.text(j, i, f"{x:+.2f}", ha="center", va="center", fontsize=8)
        ax.figure.colorbar(im, ax=ax, label="partner advantage")
        ax.set_xlabel("environmental uncertainty σ (ideas scarce)")
        ax.set_ylabel("fit spread")
    elif result.pattern == "R3":
        for name, runs in v["series"].items():
            _band(ax, np.arange(1, runs.shape[1] + 1), runs, name)
        ax.set_xlabel("step (quarter)")
        ax.set_ylabel("share of relationships\non partner terms")
        ax.legend(fontsize=7, frameon=False)
    elif result.pattern == "D":
        names = list(v["contribution"])
        stats = [mean_ci(x) for x in v["contribution"].values()]
        ax.barh(range(len(names)), [m[0] for m in stats], xerr=[[m[0] - m[1] for m in stats],
                                                               [m[2] - m[0] for m in stats]], capsize=3)
        ax.set_yticks(range(len(names)), names, fontsize=8)
        ax.axvline(0, color="0.3", lw=0.8)
        ax.set_xlabel("partner advantage lost when the channel is switched off")
    else:
        return False
    return True


def plot(result: Result, path) -> None:
    """One figure per pattern: each compared quantity over seeds (dots), its mean and 95% interval."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.6), dpi=110)
    if _regularity(result, ax):
        pass
    elif result.pattern == "P6":
        adv = result.values["by_sigma"]
        for i, (s, x) in enumerate(zip(SIGMAS, adv)):
            ax.scatter(np.full(len(x), s), x, s=10, color="0.6", zorder=1)
        means = [mean_ci(x) for x in adv]
        ax.errorbar(SIGMAS, [m[0] for m in means], yerr=[[m[0] - m[1] for m in means], [m[2] - m[0] for m in means]],
                    marker="o", color="tab:blue", capsize=4, zorder=2)
        ax.axhline(0, color="0.3", lw=0.8)
        ax.set_xlabel("environmental uncertainty σ")
        ax.set_ylabel("partner advantage\n(market share per buyer, × 1/n)")
    else:
        series = {k: np.asarray(v, float) for k, v in result.values.items() if np.ndim(v) == 1 and len(v) > 1}
        for i, (name, x) in enumerate(series.items()):
            m, lo, hi = mean_ci(x)
            ax.scatter(np.full(len(x), i) + np.linspace(-0.12, 0.12, len(x)), x, s=10, color="0.6", zorder=1)
            ax.errorbar([i], [m], yerr=[[m - lo], [hi - m]], marker="o", color="tab:blue", capsize=5, zorder=2)
            target = result.targets.get(name)
            if target is not None:
                ax.hlines(target, i - 0.3, i + 0.3, color="tab:red", lw=2, zorder=3, label="target" if i == 0 or
                          "target" not in ax.get_legend_handles_labels()[1] else None)
        ax.set_xticks(range(len(series)), [n.replace(", ", "\n").replace(" (", "\n(") for n in series], fontsize=8)
        if any(t is not None for t in result.targets.values()):
            ax.legend(fontsize=8, frameon=False)
    ax.set_title(f"{result.pattern} ({result.claim}): {'pass' if result.passed else 'FAIL'}", fontsize=10)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)

