"""A sweep's figures: each metric against each factor (means with 95% intervals over replications), a heat
map for two-factor grids, and the sensitivity indices."""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np

from ..errors import ParamError
from ..labels import column_label, param_label, plain_figure, short_column_label
from ..reading import read_csv, read_json, read_parquet
from ..results import redraw_figures
from ..stats import finite, mean_halfwidth
from .analysis import metric_columns
from .design import Sweep, foreign_row, is_number, rebuilt_sweep

SENSITIVITY_TOP = 15  # factors shown per metric in sensitivity.png (every factor's indices are in the table)


def _ci(values) -> tuple[float, float]:
    """Mean and 95% half-width over the runs that produced a figure."""
    return mean_halfwidth(finite(values))


def _slug(text: str) -> str:
    return text.replace(".", "-")


def write_figures(out: Path, sweep: Sweep, df, sens=None) -> list[Path]:
    """Draw the figures into ``out/figures``, replacing only those files (:func:`trustsim.results.redraw_figures`)."""
    return redraw_figures(out, lambda tmp: draw(tmp, sweep, df, sens))


def draw(folder: Path, sweep: Sweep, df, sens=None) -> list[str]:
    """Each metric against each factor (means with 95% intervals over replications); a heat map for
    two-factor grids; the sensitivity indices. Returns the file names drawn into ``folder``."""
    # only drawing needs matplotlib
    from matplotlib import colormaps
    from matplotlib.figure import Figure

    ok = df[df["status"] == "ok"]
    names = []

    def save(fig, name):
        fig.tight_layout()
        fig.savefig(folder / name, dpi=110)
        names.append(name)

    for metric in sweep.metrics:
        cols = metric_columns(metric)
        for f in sweep.factors:
            others = [g for g in sweep.factors if g.key != f.key]
            # a grid's lines split by the other factor's values (a sampled design's factors are ranges: no values)
            split_by = others[0] if sweep.design == "grid" and len(others) == 1 and len(others[0].values) <= 8 else None
            if sweep.design != "grid":  # what a point and its interval are taken over, for the title
                over = "long-run means of the runs: binned means, 95% intervals"
            elif others and split_by is None:
                over = "long-run means over the runs of every point at each value, 95% intervals"
            else:
                over = f"long-run means, 95% intervals over {sweep.replications} replications"
            fig = Figure(figsize=(5.2 * len(cols), 3.8))
            # a metric's partner and aggressive panels on one scale, as its heat map's on one colour scale: apart,
            # each panel filled its own axis, and a reader comparing their heights compared nothing
            axes = fig.subplots(1, len(cols), squeeze=False, sharey=True)
            for ax, col in zip(axes[0], cols, strict=True):
                if sweep.design == "grid":
                    split = split_by
                    levels = split.values if split else [None]
                    cmap = colormaps["viridis"]
                    xs = list(f.values)
                    numeric = all(is_number(x) for x in xs)
                    xpos = xs if numeric else list(range(len(xs)))
                    measured = [False] * len(xs)  # at each value, by any level
                    for i, level in enumerate(levels):
                        sub = ok if split is None else ok[ok[split.key] == level]
                        stats_ = [_ci(sub.loc[sub[f.key] == x, col]) for x in xs]
                        measured = [was or bool(np.isfinite(m)) for was, (m, _) in zip(measured, stats_, strict=True)]
                        colour = cmap(0.85 * i / max(len(levels) - 1, 1)) if split else "tab:blue"
                        label = f"{split.key.split('.')[1]} = {level}" if split else None
                        if label and not any(np.isfinite(m) for m, _ in stats_):  # e.g. no partner buyers to compare
                            label += " (not measured)"
                        ax.errorbar(xpos, [m for m, _ in stats_], yerr=[h for _, h in stats_], marker="o",
                                    capsize=3, color=colour, label=label, lw=1.4)
                    if not numeric or len(xs) <= 12:  # a value no run measured says so under its tick
                        ax.set_xticks(xpos, [str(x) if m else f"{x}\n(not measured)" for x, m in zip(xs, measured,
                                                                                                      strict=True)])
                    if split:
                        ax.legend(fontsize=7, frameon=False)
                elif not np.isfinite(ok[col].to_numpy(float)).any():  # e.g. no run had buyers of both postures
                    ax.text(0.5, 0.5, "not measured by any run", transform=ax.transAxes, ha="center", va="center",
                            fontsize=8, color="0.3")
                else:
                    ax.scatter(ok[f.key], ok[col], s=6, alpha=0.25, color="0.4", label="runs")
                    edges = np.unique(np.quantile(ok[f.key], np.linspace(0, 1, 9))) if len(ok) else []
                    if len(edges) > 2:
                        bins = np.clip(np.searchsorted(edges, ok[f.key], side="right") - 1, 0, len(edges) - 2)
                        centres, stats_ = [], []
                        for b in range(len(edges) - 1):
                            centres.append((edges[b] + edges[b + 1]) / 2)
                            stats_.append(_ci(ok.loc[bins == b, col]))
                        ax.errorbar(centres, [m for m, _ in stats_], yerr=[h for _, h in stats_], marker="o",
                                    capsize=3, color="tab:blue", lw=1.6, label="binned mean, 95% interval")
                        ax.legend(fontsize=7, frameon=False)
                if col.startswith("advantage."):
                    ax.axhline(0, color="0.6", lw=0.8, ls=":")
                ax.set_xlabel(param_label(f.key))
                ax.set_ylabel(column_label(col, 40), fontsize=8)
                ax.tick_params(labelleft=True)  # a shared axis hides its inner panels' numbers: each keeps its own
                if len(cols) > 1:
                    ax.set_title(col.split(".")[0] + " buyers", fontsize=9)
            what = short_column_label(metric) if metric in cols else short_column_label(cols[0]).rsplit(",", 1)[0]
            against = textwrap.fill(f"{what} against {param_label(f.key, 10_000)}", 68 * len(cols))  # the width
            fig.suptitle(f"{against}\n({over})", fontsize=9)
            save(fig, f"{_slug(metric)}__{_slug(f.key)}.png")

    if sweep.design == "grid" and len(sweep.factors) == 2:
        fy, fx = sweep.factors
        for metric in sweep.metrics:
            cols = metric_columns(metric)
            fig = Figure(figsize=(5.4 * len(cols), 4.2))
            axes = fig.subplots(1, len(cols), squeeze=False)
            grids = [np.array([[_ci(ok.loc[(ok[fy.key] == vy) & (ok[fx.key] == vx), col])[0] for vx in fx.values]
                               for vy in fy.values], dtype=float)
                     for col in cols]
            # the postures' panels of one metric on one colour scale: one colour, one value, across the panels
            every = np.concatenate([g[np.isfinite(g)] for g in grids])
            scale = {"vmin": every.min(), "vmax": every.max()} if len(every) else {}
            for ax, col, grid in zip(axes[0], cols, grids, strict=True):
                im = ax.imshow(grid, origin="lower", aspect="auto", cmap="viridis", **scale)
                if not np.isfinite(grid).all():  # a cell without a figure is hatched and says so: a blank said nothing
                    ax.patch.set_hatch("//")
                    ax.patch.set_edgecolor("0.75")
                ax.set_xticks(range(len(fx.values)), [str(v) for v in fx.values])
                ax.set_yticks(range(len(fy.values)), [str(v) for v in fy.values])
                ax.set_xlabel(param_label(fx.key, 40), fontsize=8)
                ax.set_ylabel(param_label(fy.key, 40), fontsize=8)
                ax.set_title(column_label(col, 50), fontsize=8)
                mid = (scale["vmin"] + scale["vmax"]) / 2 if scale else 0
                for i in range(grid.shape[0]):
                    for j in range(grid.shape[1]):
                        if np.isfinite(grid[i, j]):
                            ax.text(j, i, plain_figure(grid[i, j], 3), ha="center", va="center", fontsize=8,
                                    color="white" if grid[i, j] < mid else "black")
                        else:
                            ax.text(j, i, "not measured", ha="center", va="center", fontsize=8, color="0.3",
                                    bbox={"facecolor": "white", "edgecolor": "none", "pad": 1.5})
                fig.colorbar(im, ax=ax, shrink=0.85)
            what = short_column_label(metric) if metric in cols else short_column_label(cols[0]).rsplit(",", 1)[0]
            fig.suptitle(f"{what}: long-run mean over {sweep.replications} replications", fontsize=10)
            save(fig, f"heatmap__{_slug(metric)}.png")

    if sens is not None and len(sens):
        save(sensitivity_figure(sens, sweep.design, len(sweep.factors)), "sensitivity.png")

    return names


MORRIS_LEGEND = {"mu_star": "mean absolute elementary effect (Morris μ*)",
                 "sigma": "spread of elementary effects (Morris σ)"}
_ROW_INCHES, _LINE_INCHES = 0.5, 0.14  # a factor's row at least, and one line of its 7-point label


def sensitivity_figure(sens, design: str, n_factors: int):
    """The sensitivity indices (``sens``: sensitivity.csv's rows) of each metric, one panel per metric: Sobol's S1
    and ST, or Morris's μ* and σ, of the ``SENSITIVITY_TOP`` most influential of ``n_factors`` factors, largest
    first. A factor's row is as tall as its label's lines need, so that long meanings do not run into their
    neighbours'."""
    # only drawing needs matplotlib
    from matplotlib.figure import Figure

    sobol = design == "sobol"
    shown = min(n_factors, SENSITIVITY_TOP)
    panels = []
    for m in dict.fromkeys(sens["metric"]):
        s = sens[sens["metric"] == m]
        # the most influential, by total index (Morris: μ*), largest first: the legend's corner, bottom right, is
        # the least influential's; in the file's order a large index there ran under the legend
        s = s.sort_values("ST" if sobol else "mu_star", ascending=False, kind="stable").head(shown)
        labels = [param_label(k, 36) for k in s["factor"]]
        rows = np.maximum(1.0, np.array([label.count("\n") + 1 for label in labels]) * _LINE_INCHES / _ROW_INCHES)
        panels.append((m, s, labels, rows))
    # + the panel's title and axis (Morris: and its legend, a row of its own above the bars)
    heights = [rows.sum() * _ROW_INCHES + (1.6 if sobol else 1.85) for *_, rows in panels]
    fig = Figure(figsize=(7.5, sum(heights) + 0.6))
    axes = fig.subplots(len(panels), 1, squeeze=False, gridspec_kw={"height_ratios": heights})
    for ax, (m, s, labels, rows) in zip(axes[:, 0], panels, strict=True):
        y = np.cumsum(rows) - rows / 2  # each row's middle, rows as tall as their labels
        if sobol:
            ax.barh(y - 0.2, s["S1"], 0.4, xerr=s["S1_conf"], label="first order S1", color="tab:blue", capsize=2)
            ax.barh(y + 0.2, s["ST"], 0.4, xerr=s["ST_conf"], label="total ST", color="tab:orange", capsize=2)
            ax.set_xlabel("Sobol index (95% interval)")
        else:
            # σ in words: in every other figure σ is the environmental uncertainty
            ax.barh(y - 0.2, s["mu_star"], 0.4, xerr=s["mu_star_conf"], label=MORRIS_LEGEND["mu_star"],
                    color="tab:blue", capsize=2)
            ax.barh(y + 0.2, s["sigma"], 0.4, label=MORRIS_LEGEND["sigma"], color="tab:orange")
            # SALib scales each factor's range to [0, 1]: an effect is the metric's change over the whole range
            ax.set_xlabel("Morris elementary effects: change in the metric over the factor's whole range\n"
                          "(μ*'s whiskers: its 95% interval)")
        ax.set_yticks(y, labels, fontsize=7)
        ax.set_ylim(rows.sum(), 0)  # the first factor on top
        more = (f"\n(the {shown} of {n_factors} parameters with the largest "
                f"{'total index' if sobol else 'μ*'}; all in sensitivity.csv)" if n_factors > shown else "")
        if sobol:
            ax.set_title(column_label(m, 80) + more, fontsize=9)
            ax.legend(fontsize=7, frameon=False, loc="lower right")  # the least influential's corner
        else:  # Morris's names in words are too long for that corner: in a row between the title and the bars
            ax.set_title(column_label(m, 80) + more, fontsize=9, pad=19)
            ax.legend(fontsize=7, frameon=False, loc="lower center", bbox_to_anchor=(0.5, 1.0), ncols=2,
                      borderaxespad=0.2)
    return fig


def redraw(folder: str | Path) -> list[Path]:
    """A finished sweep folder's figures again from ``sweep.json``, the runs table and ``sensitivity.csv`` (``trustsim
    report`` asks ``shards.redraw``, which names an unfinished sweep first)."""
    folder = Path(folder)
    try:
        state = read_json(folder / "sweep.json", expected="a sweep's state")
        sweep = rebuilt_sweep(state, folder / "sweep.json")
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ParamError(str(folder / "sweep.json"), None, f"cannot be read as a sweep's state ({exc})") from None
    if state.get("shard"):
        raise ParamError(str(folder), None, "is one shard of a sweep; merge the shards (trustsim merge) and "
                                            "report on the merged folder")
    try:
        df = read_parquet(folder / "runs.parquet")
        sens = read_csv(folder / "sensitivity.csv") if (folder / "sensitivity.csv").is_file() else None
    except (OSError, ValueError) as exc:
        raise ParamError(str(folder), None, f"its tables cannot be read ({str(exc).splitlines()[0]})") from None
    refuse_other_runs(df, sweep, folder / "runs.parquet")
    return write_figures(folder, sweep, df, sens)


def refuse_other_runs(df, sweep: Sweep, path: Path) -> None:
    """ParamError unless the runs table ``df`` holds the sweep's runs, each once in run-id order, every row its run's
    as ``--resume`` checks a journal's (``design.foreign_row``: point, replicate, seed and factor values): an empty
    table or another sweep's in its place drew figures of other runs over the sweep's (exit 0)."""
    rows, ids = df.to_dict("records"), list(range(sweep.n_runs))
    why = None if [r.get("run_id") for r in rows] == ids else f"it holds {len(rows)} rows"
    design = set(ids)
    why = why or next((f"run {r['run_id']}: {w}" for r in rows if (w := foreign_row({"row": r}, sweep, design))), None)
    if why:
        raise ParamError(str(path), None, f"does not hold this sweep's {sweep.n_runs} runs as its sweep.json describes "
                                          f"them ({why}: another sweep's table, or edited); not as trustsim wrote it")
