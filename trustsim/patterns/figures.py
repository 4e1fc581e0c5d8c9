"""One figure per pattern: each compared quantity over seeds (dots), its mean and 95% interval, and the target."""

from __future__ import annotations

import numpy as np

from ..stats import mean_ci
from .checks import Result
from .variants import SIGMAS


def plot(result: Result, path) -> None:
    """One figure per pattern: each compared quantity over seeds (dots), its mean and 95% interval."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.6), dpi=110)
    if result.pattern == "P6":
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

