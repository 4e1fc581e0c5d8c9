"""The figures of a replications folder: each key figure over time by posture, the mean over replicates
with its 95% interval (shaded), and the partner advantages' long-run values over replicates with their interval."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..labels import TRUST_AXIS, column_label, literal, trust_line_label
from ..metrics import POSTURES
from ..stats import ADVANTAGES, finite, mean_ci
from ..style import POSTURE_COLOURS

OVER_TIME = {  # file name: columns drawn (the second dashed)
    "tco_per_unit": ("tco_per_unit",),
    "component_price": ("component_price",),
    "trust": ("trust_buyer", "trust_supplier"),
    "market_share": ("market_share",),
    "profit_cum": ("profit_cum",),
    "nonproductive_share": ("nonproductive_share",),
    "ideas_received_cum": ("ideas_received_cum",),
}

ADVANTAGE_TITLES = {"advantage.market_share": "market share", "advantage.profit_cum": "cumulative profit",
                    "advantage.tco_per_unit": "cost of ownership"}


def draw(folder: Path, bands, runs, name: str) -> list[Path]:
    """Draw the figures into ``folder`` from the bands table and the replications table."""
    from matplotlib.figure import Figure  # here, not at the top: reading a replications folder draws nothing

    made = []
    ok = runs[runs["status"] == "ok"]
    n = len(ok)
    for file, cols in OVER_TIME.items():
        fig = Figure(figsize=(7.6, 3.9))  # the legend to the right of the axes, off the lines and their bands
        ax = fig.subplots()
        for col, style in zip(cols, ("-", "--"), strict=False):
            for group in POSTURES:
                g = bands[bands["group"] == group]
                if g.empty or not np.isfinite(g[col].to_numpy(float)).any() or not ok[f"{group}.buyers"].max() > 0:
                    continue
                colour = POSTURE_COLOURS[group]
                label = trust_line_label(col, group) if col.startswith("trust_") else group
                ax.plot(g["step"], g[col], style, color=colour, lw=1.4, label=label)
                ax.fill_between(g["step"], g[f"{col}.low"], g[f"{col}.high"], color=colour, alpha=0.2, lw=0)
        ax.set_xlabel("step (quarter)")
        ax.set_ylabel(column_label(cols[0]) if len(cols) == 1 else TRUST_AXIS)
        ax.set_title(f"{literal(name)}: mean over {n} replicates, shaded its 95% interval", fontsize=10)
        ax.grid(alpha=0.3)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=8, frameon=False, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0)
        made.append(_save(fig, folder / f"{file}.png"))

    fig = Figure(figsize=(4.0 * len(ADVANTAGES), 3.9))
    axes = fig.subplots(1, len(ADVANTAGES), squeeze=False)
    legend = None
    for ax, adv in zip(axes[0], ADVANTAGES, strict=True):
        values = finite(ok[adv])
        if len(values):
            m, lo, hi = mean_ci(values)
            ax.scatter(np.linspace(-0.12, 0.12, len(values)), values, s=10, color="0.6", label="replicates")
            ax.errorbar([0], [m], yerr=[[m - lo], [hi - m]], marker="o", capsize=5, color="tab:blue",
                        label="mean, 95% interval")
            legend = legend or ax.get_legend_handles_labels()
            ax.axhline(0, color="0.5", lw=0.8, ls=":")
        else:  # no run had buyers of both postures: an empty panel on a 0-1 axis read as a measured blank
            ax.text(0.5, 0.5, "not measured:\nno run had buyers\nof both postures", transform=ax.transAxes,
                    ha="center", va="center", fontsize=8, color="0.35")
            ax.set_yticks([])
        ax.set_xticks([])
        ax.set_xlim(-0.5, 0.5)
        ax.set_xlabel(f"{n} replicates")
        ax.set_ylabel(column_label(adv, 36), fontsize=8)
        ax.set_title(ADVANTAGE_TITLES[adv], fontsize=9)
    fig.suptitle(f"{literal(name)}: partner advantages in the long run", fontsize=10)
    if legend:  # one legend for the three panels, below them: within a panel it lay on the interval or the dots
        fig.legend(*legend, loc="lower center", ncols=2, fontsize=8, frameon=False)
    made.append(_save(fig, folder / "advantages.png", bottom=0.08 if legend else 0.0))
    return made


def _save(fig, path: Path, bottom: float = 0.0) -> Path:
    fig.tight_layout(rect=(0, bottom, 1, 1))
    fig.savefig(path, dpi=110)
    return path
