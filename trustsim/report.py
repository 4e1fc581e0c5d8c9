"""Figures from a results folder: cost of ownership by posture, trust, market share, time use against trust."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from .columns import BY_NAME
from .errors import ParamError
from .labels import TRUST_AXIS, column_label, trust_line_label
from .metrics import COST_PARTS, POSTURE_GROUPS, POSTURES
from .reading import open_regular, read_csv, read_json, refuse_words
from .style import COST_COLOURS
from .style import POSTURE_COLOURS as COLOURS


def _save(fig, path: Path) -> None:
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def tco_breakdown(ts: pd.DataFrame, path: Path) -> None:
    """Stacked bars of the eight parts of component cost of ownership per unit (long-run means), by posture;
    the right panel zooms in on the parts other than the price."""
    half = ts[ts["step"] > ts["step"].max() // 2]
    means = half.groupby("group")[[f"cost_{c}" for c in COST_PARTS]].mean().reindex(list(POSTURES))
    means = means[half.groupby("group")["buyers"].max().reindex(means.index) > 0]
    fig = Figure(figsize=(8, 4.2))
    axes = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1, 1]})
    for ax, parts, title in ((axes[0], COST_PARTS, "all parts"), (axes[1], COST_PARTS[1:], "without the price")):
        bottom = pd.Series(0.0, index=means.index)
        for part in parts:
            colour = COST_COLOURS[part]
            ax.bar(means.index, means[f"cost_{part}"], bottom=bottom, color=colour, width=0.55,
                   label=part.replace("_", " "))
            bottom += means[f"cost_{part}"]
        for x, total in enumerate(bottom):
            ax.text(x, total, f"{total:.3f}", ha="center", va="bottom", fontsize=9)
        ax.set_ylim(0, max(bottom.max(), 1e-9) * 1.15)
        ax.set_title(title, fontsize=10)
    axes[0].set_ylabel(f"cost of ownership per unit ({BY_NAME['tco_per_unit'].unit})")
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, fontsize=8, ncol=4, loc="lower center", frameon=False)
    fig.suptitle("Component cost of ownership by posture (long-run means)")
    fig.tight_layout(rect=(0, 0.1, 1, 1))
    fig.savefig(path, dpi=110)


def over_time(ts: pd.DataFrame, columns: dict[str, str], ylabel: str, title: str, path: Path) -> None:
    """Lines over steps, one per posture (and per column, dashed for the second); a trust column's lines are
    labelled by who trusts whom (:func:`trustsim.labels.trust_line_label`)."""
    fig = Figure(figsize=(6.4, 3.8))
    ax = fig.subplots()
    for (col, label), style in zip(columns.items(), ("-", "--", ":"), strict=False):
        for group in POSTURES:
            g = ts[ts["group"] == group]
            if g["buyers"].max() > 0:
                text = trust_line_label(col, group) if col.startswith("trust_") else f"{group} {label}".strip()
                ax.plot(g["step"], g[col], style, color=COLOURS[group], label=text, lw=1.4)
    ax.set_xlabel("step (quarter)")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, frameon=False)
    _save(fig, path)


def nonproductive_vs_trust(buyers: pd.DataFrame, path: Path) -> None:
    """Each buyer's long-run share of non-productive face-to-face time against its suppliers' trust in it: Dyer &
    Chu's fifths, drawn beside the points, rank buyers by how much their suppliers trust them, as P3 does
    (``patterns.measure.trust_fifths``), not by the buyer's own trust in its suppliers."""
    fig = Figure(figsize=(6.4, 4))
    ax = fig.subplots()
    for group in POSTURES:
        b = buyers[buyers["posture"] == group]
        ax.scatter(b["trusted_by_suppliers"], b["nonproductive_share"], s=14, alpha=0.7, color=COLOURS[group],
                   label=group)
    # Dyer & Chu's figures, named in the legend: a label on the line lay under the points near it
    ax.axhline(0.47, color="0.5", ls="--", lw=0.8, label="Dyer & Chu: least trusted fifth 0.47")
    ax.axhline(0.24, color="0.5", ls=":", lw=0.8, label="Dyer & Chu: most trusted fifth 0.24")
    ax.set_xlabel("its suppliers' trust in the buyer (long-run mean)")
    ax.set_ylabel("non-productive share of face-to-face time")
    ax.set_title("Time spent haggling, monitoring and assigning blame")
    ax.grid(alpha=0.3)
    # the best place for the legend is searched among the points: seconds for a large market's, so there a fixed one
    ax.legend(fontsize=8, frameon=False, loc="best" if len(buyers) <= _LEGEND_SEARCHED_UP_TO else "upper right")
    _save(fig, path)


_LEGEND_SEARCHED_UP_TO = 10_000  # buyers

TIMESERIES_COLUMNS = ("step", "group", "buyers", "tco_per_unit", "component_price", "trust_buyer", "trust_supplier",
                      "market_share", *(f"cost_{c}" for c in COST_PARTS))
BUYERS_COLUMNS = ("posture", "trust", "nonproductive_share")


def refuse_cut_short(path: Path) -> None:
    """ParamError unless the table ``path`` ends with a newline, as trustsim ends every row it writes: without
    one, a copy stopped part way (or a full disk) cut its last row."""
    with open_regular(path, expected="a trustsim table") as fh:
        if fh.seek(0, 2) == 0:  # empty: nothing cut (read_table says it has no rows)
            return
        fh.seek(-1, 2)
        last = fh.read(1)
    if last != b"\n":
        raise ParamError(str(path), None, "is cut short (its last row is incomplete); not as trustsim wrote it")


LABELS = ("group", "posture", "figure")  # a results table's columns of names; every other column holds numbers


def read_table(path: Path, columns: tuple[str, ...]) -> pd.DataFrame:
    """A results table with the columns the figures draw, at least one row and numbers where numbers
    belong (a measure of an empty group may be NaN); ParamError (one line, exit 2) naming the file otherwise."""
    try:
        df = read_csv(path, expected="a trustsim table")
    except pd.errors.EmptyDataError:
        raise ParamError(str(path), None, "is empty; not a trustsim table") from None
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as exc:
        raise ParamError(str(path), None, f"is not a readable CSV table ({str(exc).splitlines()[0]})") from None
    except OSError as exc:
        raise ParamError(str(path), None, f"cannot read ({exc.strerror})") from None
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise ParamError(str(path), None, f"lacks the column{'s' if len(missing) > 1 else ''} "
                                          f"{', '.join(missing[:5])}{' …' if len(missing) > 5 else ''}; "
                                          f"not a trustsim table")
    if df.empty:
        raise ParamError(str(path), None, "has no rows")
    refuse_cut_short(path)
    refuse_words(df, path, [c for c in columns if c not in LABELS])
    for c in ("step", "buyers"):
        if c in columns and not np.isfinite(df[c].to_numpy(float)).all():  # measures may be NaN
            raise ParamError(str(path), c, "holds values that are not finite numbers")
    return df


def _check_whole(folder: Path, ts: pd.DataFrame, buyers: pd.DataFrame | None) -> None:
    """ParamError unless the time series has a row per group at every step, up to the steps (and buyers.csv, there,
    the buyers) the folder's manifest records: a table cut at a row's end reads as a shorter run."""
    steps = int(ts["step"].max())
    if len(ts) != len(POSTURE_GROUPS) * steps or set(zip(ts["step"], ts["group"], strict=True)) != {
            (s, g) for s in range(1, steps + 1) for g in POSTURE_GROUPS}:
        raise ParamError(str(folder / "timeseries.csv"), None, f"lacks rows: not every group at every step up to "
                                                               f"{steps}; not as trustsim wrote it")
    try:
        params = read_json(folder / "manifest.json")["params"]
        want = [("timeseries.csv", "steps", steps, int(params["run"]["steps"]))]
        if buyers is not None:
            want.append(("buyers.csv", "buyers", len(buyers), int(params["market"]["buyers"])))
    except (ParamError, KeyError, TypeError, ValueError):
        return  # no manifest to say how long the run was (the run being written, or tables without it)
    if buyers is None:  # every run writes it: its figure would be left as drawn from the table that was there
        raise ParamError(str(folder / "buyers.csv"), None, "is missing; every run writes one")
    for name, what, has, made in want:
        if has != made:
            raise ParamError(str(folder / name), None, f"is cut short: {has} {what} of the {made} its manifest "
                                                       f"records; not as trustsim wrote it")


def figures(folder: str | Path, into: str | Path | None = None) -> list[Path]:
    """Draw every figure of a results folder into ``into`` (default ``folder/figures``); returns their paths.

    The tables are read and checked first: a table that is empty, cut short or not trustsim's is a
    ParamError and no ``figures/`` folder is made; a failure while drawing removes a ``figures/`` it made."""
    folder = Path(folder)
    ts = read_table(folder / "timeseries.csv", TIMESERIES_COLUMNS)
    buyers = read_table(folder / "buyers.csv", BUYERS_COLUMNS) if (folder / "buyers.csv").exists() else None
    _check_whole(folder, ts, buyers)
    out = Path(into) if into is not None else folder / "figures"
    made_folder = not out.exists()
    out.mkdir(exist_ok=True)
    try:
        made = [out / "tco_breakdown.png", out / "costs.png", out / "trust.png", out / "market_share.png"]
        tco_breakdown(ts, made[0])
        # units as the column registry has them, as a replications folder's figures say them
        over_time(ts, {"tco_per_unit": "cost of ownership", "component_price": "price"},
                  f"cost per unit of component ({BY_NAME['tco_per_unit'].unit})",
                  "Component price and cost of ownership per unit", made[1])
        over_time(ts, {"trust_buyer": "", "trust_supplier": ""}, TRUST_AXIS, "Trust both ways", made[2])
        over_time(ts, {"market_share": ""}, column_label("market_share"), "Market share by posture", made[3])
        if buyers is not None:
            made.append(out / "nonproductive_vs_trust.png")
            nonproductive_vs_trust(buyers, made[-1])
    except BaseException:
        if made_folder:
            shutil.rmtree(out, ignore_errors=True)
        raise
    return made
