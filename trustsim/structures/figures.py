"""The figures of ``trustsim structures`` and ``trustsim regimes``, drawn from their CSV tables (so ``trustsim
report`` redraws them): advantage against σ, a line per structure; heat maps of the regime grid, a star where
the 95% interval excludes 0. Both mark the long-run figures of markets that have not settled (``unsettled``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from ..errors import ParamError, counted
from ..folders import read_manifest
from ..labels import AXES, plain_figure
from ..reading import read_csv
from ..results import redraw_figures, result_kind
from .engine import HORIZONS
from .tables import FIGURES, structure_legend

UNSETTLED_BELOW = 0.5  # a long-run figure is marked where MSER-5 finds fewer than this share of its runs steady
UNSETTLED = f"long run steady in fewer than {UNSETTLED_BELOW:.0%} of the runs (MSER-5)"  # the marks' legend
STRUCTURE_COLOURS = tuple(f"C{i}" for i in range(10))  # Matplotlib's ten-colour cycle, one colour per structure
UNITS = {"share_advantage": "share per buyer, units of 1/n", "profit_advantage": "profit per buyer over the horizon"}


def structures_figure(table: pd.DataFrame, path: Path, steps: int | None = None) -> Path:
    """Rows: share and profit advantage; columns: business horizon and long run; a line per structure with
    its 95% intervals (S1, the base's readings, drawn thick); an open circle, a long-run figure whose market has
    not settled (``unsettled``); ``steps``, a run's, in the title when given."""
    legend = structure_legend(table)
    fig = Figure(figsize=(12, 8.5))
    axes = fig.subplots(2, 2, sharex=True)
    offsets = np.linspace(-0.03, 0.03, len(legend))
    for row, (col, name) in enumerate(FIGURES.items()):
        for c, (h, hname) in enumerate(HORIZONS.items()):
            ax = axes[row, c]
            for k, (off, (label, short)) in enumerate(zip(offsets, legend.items(), strict=True)):
                g = table[(table["structure"] == label) & (table["horizon"] == h)].sort_values("market.uncertainty")
                x = g["market.uncertainty"].to_numpy(float) + off
                y = g[col].to_numpy(float)
                err = [y - g[f"{col}.low"].to_numpy(float), g[f"{col}.high"].to_numpy(float) - y]
                # a colour of its own per structure, named: the open circles below took the next colour of the axes'
                # cycle, so the cycle ran at twice the pace and S6, S7, S8 came round to S1's, S2's and S3's colours
                colour = STRUCTURE_COLOURS[k % len(STRUCTURE_COLOURS)]
                ax.errorbar(x, y, yerr=err, marker="o", ms=4, capsize=3, lw=2.4 if short == "S1" else 1.1,
                            color=colour, label=f"{short}: {label}")
                loose = unsettled(g).to_numpy()
                ax.plot(x[loose], y[loose], "o", ms=5, mfc="white", mec=colour, ls="none", zorder=3)
            ax.axhline(0, color="0.4", lw=0.8, ls="--")
            ax.set_title(f"{name}, {hname}", fontsize=10)
            ax.set_ylabel(f"partner − aggressive\n({UNITS[col]})", fontsize=9)
            ax.grid(alpha=0.3)
            if row == 1:
                ax.set_xlabel(AXES["market.uncertainty"])
    handles, labels = axes[0, 0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=2, fontsize=8, frameon=False)
    note = f"\nopen circles: {UNSETTLED}" if unsettled(table).any() else ""
    fig.suptitle("Partner advantage under every reading of the contested choices (mean and 95% interval over seeds"
                 + _steps_text(steps) + ")" + note)
    fig.tight_layout(rect=(0, 0.12, 1, 0.97))
    fig.savefig(path, dpi=100)
    return path


def unsettled(table: pd.DataFrame) -> pd.Series:
    """Which rows are long-run figures of a market that has not settled: MSER-5 finds fewer than half of their
    runs steady over the long run (``steady_share``; a table written before it was recorded marks none)."""
    if "steady_share" not in table:
        return pd.Series(False, index=table.index)
    return (table["horizon"] == "long_run") & (table["steady_share"].astype(float) < UNSETTLED_BELOW)


def _heat(ax, grid: pd.DataFrame, col: str, x: str, y: str, vmax: float):
    xs, ys = sorted(grid[x].unique()), sorted(grid[y].unique())
    g = grid.assign(unsettled=unsettled(grid)).set_index([y, x])

    def cells(name):
        return np.array([[g.loc[(b, a), name] if (b, a) in g.index else np.nan for a in xs] for b in ys], float)

    z, lo, hi, loose = cells(col), cells(f"{col}.low"), cells(f"{col}.high"), cells("unsettled")
    im = ax.imshow(z, origin="lower", cmap="RdBu", vmin=-vmax, vmax=vmax, aspect="auto")
    for i in range(len(ys)):
        for j in range(len(xs)):
            sure = lo[i, j] > 0 or hi[i, j] < 0
            ax.text(j, i, plain_figure(z[i, j]) + ("*" if sure else ""), ha="center", va="center", fontsize=7,
                    fontweight="bold" if sure else "normal")
            if loose[i, j] == 1:
                ax.add_patch(Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False, hatch="///", edgecolor="0.45", lw=0))
    ax.set_xticks(range(len(xs)), [f"{v:g}" for v in xs])
    ax.set_yticks(range(len(ys)), [f"{v:g}" for v in ys])
    return im


def regimes_figure(table: pd.DataFrame, col: str, path: Path, steps: int | None = None) -> Path:
    """Heat maps of one advantage: rows the horizons; columns the idea rates (σ × integrity) and the fit-spread
    map (σ × fit spread). A star marks a cell whose 95% interval excludes 0; blue: partners ahead; hatching, a
    long-run cell whose market has not settled (``unsettled``); ``steps``, a run's, in the title when given."""
    shares = sorted(table.loc[table["map"] == "integrity", "idea_share"].unique())
    vmax = float(np.nanmax(np.abs(table[col].to_numpy(float)))) or 1.0
    fig = Figure(figsize=(3.4 * (len(shares) + 1) + 1.5, 7.5), layout="constrained")
    axes = fig.subplots(len(HORIZONS), len(shares) + 1, squeeze=False)
    for r, (h, hname) in enumerate(HORIZONS.items()):
        t = table[table["horizon"] == h]
        for c, share in enumerate(shares):
            g = t[(t["map"] == "integrity") & (t["idea_share"] == share)]
            im = _heat(axes[r, c], g, col, "market.uncertainty", "suppliers.integrity_mean", vmax)
            axes[r, c].set_title(f"{hname}; idea rates ×{share:g}", fontsize=9)
            if c == 0:
                axes[r, c].set_ylabel(AXES["suppliers.integrity_mean"])
        g = t[t["map"] == "fit_spread"]
        im = _heat(axes[r, -1], g, col, "market.uncertainty", "market.fit_spread", vmax)
        axes[r, -1].set_title(f"{hname}; fit spread", fontsize=9)
        axes[r, -1].set_ylabel(AXES["market.fit_spread"])
        for ax in axes[r]:
            ax.set_xlabel(AXES["market.uncertainty"])
    fig.colorbar(im, ax=axes, shrink=0.6, label=f"{FIGURES[col]} ({UNITS[col]})")
    note = f"; hatched: {UNSETTLED}" if unsettled(table).any() else ""
    fig.suptitle(f"Regime map of the {FIGURES[col]} at the defaults{_steps_text(steps)} (* : 95% interval excludes "
                 f"0{note})")
    fig.savefig(path, dpi=100)
    return path


def _steps_text(steps: int | None) -> str:
    """", N steps a run" for a figure's title, or nothing when the run length is not known."""
    return "" if steps is None else f", {counted(steps, 'step')} a run"


def _manifest_steps(folder: Path) -> int | None:
    """A run's steps as the folder's manifest records them (``steps``), or None where it does not say."""
    steps = (read_manifest(folder) or {}).get("steps")
    return steps if isinstance(steps, int) and not isinstance(steps, bool) else None


def redraw(folder: str | Path) -> list[Path]:
    """``trustsim report`` on a structures or regimes folder: its figures again from its CSV table."""
    folder = Path(folder)
    kind = result_kind(folder)
    name = "structures.csv" if kind == "structures" else "regimes.csv"
    try:
        table = read_csv(folder / name)
    except (OSError, ValueError) as exc:
        raise ParamError(str(folder / name), None, f"cannot redraw from it ({exc})") from None
    names = ["structures.png"] if kind == "structures" else [f"regimes_{c.split('_')[0]}.png" for c in FIGURES]
    steps = _manifest_steps(folder)

    def draw(tmp: Path) -> list[str]:
        if kind == "structures":
            structures_figure(table, tmp / names[0], steps)
        else:
            for c, n in zip(FIGURES, names, strict=True):
                regimes_figure(table, c, tmp / n, steps)
        return names

    return redraw_figures(folder, draw)  # only the figures drawn are replaced: the user's files in figures/ stay
