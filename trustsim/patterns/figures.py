"""One figure per pattern: each compared quantity over seeds (dots), its mean and 95% interval, and the target;
figures over a parameter (P6, R1, R2) draw the means against it. Every axis says what it shows."""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np

from ..errors import ParamError
from ..labels import AXES
from ..reading import read_json
from ..results import redraw_figures
from ..stats import finite, mean_ci
from ..style import POSTURE_COLOURS
from .checks import P4_RATIO, Result
from .variants import FIT_SPREADS, INTEGRITIES, SIGMAS

ADVANTAGE = "partner advantage in market share\n(per buyer, in units of 1/n)"
Y_LABELS = {
    "P1": "component price paid (money/unit)",
    "P2": ("long-run market share per buyer, partner −\naggressive (in units of the equal share 1/n)",
           "cumulative profit per buyer at the last step,\npartner − aggressive (money ÷ 1000)"),
    "P3": "non-productive share of\nface-to-face hours",
    "P4": ("inspection rate of the most trusted\ntenth of buyers (share of lots)",
           "units per purchasing hour, most trusted\nfifth ÷ least trusted fifth (ratio)"),
    "P5": "supplier ideas per buyer and step",
    "P6": ADVANTAGE,
    "P7": "trust (0–1); share of exits",
    "P8": "difference (money/unit)",
    "P9": ADVANTAGE,
    "P10": "fall of the defect rate over the\nfirst steps (share)",
    "R1": ADVANTAGE,
    "R2": ADVANTAGE,
    "R3": "share of relationships\non partner terms",
    "R4": "change in the bottom quarter's\nshare of relationships",
    "D": "advantage lost with the channel off\n(market share per buyer, × 1/n)",
}
INTERVALS = "dots: seeds; bars: mean and 95% interval"
X_CATEGORIES = f"compared quantity ({INTERVALS})"


def _errorbar(ax, xs, series, **kw):
    means = [mean_ci(finite(x)) for x in series]
    ax.errorbar(xs, [m[0] for m in means], yerr=[[m[0] - m[1] for m in means], [m[2] - m[0] for m in means]],
                marker="o", capsize=4, zorder=2, **kw)


def _category_colour(name: str) -> str:
    """A compared quantity of one posture ("partner", "aggressive lots") in that posture's colour, as in every
    other figure; any other quantity (a difference, a ratio, a group of buyers by trust) in a neutral dark grey."""
    first = name.split()[0] if name.split() else ""
    return POSTURE_COLOURS[first] if first in ("partner", "aggressive") and "−" not in name else "0.25"


def _over(ax, xs, series, xlabel):
    for x, values in zip(xs, series, strict=True):
        ax.scatter(np.full(len(values), x), values, s=10, color="0.6", zorder=1)
    _errorbar(ax, xs, series, color="tab:blue")
    ax.axhline(0, color="0.3", lw=0.8)
    ax.set_xlabel(f"{xlabel}\n({INTERVALS})")


def _key(k):
    """A grid key (σ, fit) as the check makes it, or as patterns.json keeps it ("0.3,0.1")."""
    return tuple(k) if isinstance(k, (tuple, list)) else tuple(float(x) for x in str(k).split(","))


def plot(result: Result, path) -> None:
    """One figure per pattern, with both axes labelled."""
    # only drawing needs matplotlib
    from matplotlib import colormaps
    from matplotlib.figure import Figure

    ylabel = Y_LABELS.get(result.pattern, "measured value")
    panels = isinstance(ylabel, tuple)  # quantities in different units (P2): a panel each, on its own scale
    fig = Figure(figsize=(6.4, 3.8), dpi=110)
    axes = list(fig.subplots(1, len(ylabel))) if panels else [fig.subplots()]
    ax = axes[0]
    v = result.values
    if result.pattern == "P6":
        _over(ax, SIGMAS, v["by_sigma"], AXES["market.uncertainty"])
    elif result.pattern == "R1":
        _over(ax, INTEGRITIES, v["by_integrity"], AXES["suppliers.integrity_mean"])
    elif result.pattern == "R2":
        grid = {_key(k): np.asarray(x, float) for k, x in v["grid"].items()}
        cmap = colormaps["viridis"]
        for i, f in enumerate(FIT_SPREADS):
            _errorbar(ax, SIGMAS, [grid[(s, f)] for s in SIGMAS], color=cmap(0.85 * i / max(len(FIT_SPREADS) - 1, 1)),
                      label=f"fit spread {f}")
        ax.axhline(0, color="0.3", lw=0.8)
        ax.set_xlabel(f"{AXES['market.uncertainty']} (ideas scarce)\n(mean and 95% interval over seeds)")
        ax.legend(fontsize=8, frameon=False)
    elif result.pattern == "R3":
        for name, runs in v["series"].items():
            runs = np.asarray(runs, float)
            stats = np.array([mean_ci(step) for step in runs.T])
            steps = np.arange(1, runs.shape[1] + 1)
            ax.plot(steps, stats[:, 0], label=name)
            ax.fill_between(steps, stats[:, 1], stats[:, 2], alpha=0.2)
        ax.set_xlabel("step (quarter)\n(mean over seeds, with its 95% interval shaded)")
        ax.legend(fontsize=7, frameon=False)
    else:
        series = v["contribution"] if result.pattern == "D" else v
        series = {k: np.asarray(x, float) for k, x in series.items() if np.ndim(x) == 1 and len(x) > 1}
        for i, (name, x) in enumerate(series.items()):
            here, at = (axes[i], 0) if panels else (ax, i)
            here.scatter(np.full(len(x), at) + np.linspace(-0.12, 0.12, len(x)), x, s=10, color="0.6", zorder=1)
            _errorbar(here, [at], [x], color=_category_colour(name))
            target = result.targets.get(name)
            if target is not None:
                here.hlines(target, at - 0.3, at + 0.3, color="black", lw=2, zorder=3,
                            label=None if "target" in here.get_legend_handles_labels()[1] else "target")
            tolerance = result.tolerances.get(name)
            if target is not None and tolerance is not None:  # the band the check accepts the mean in (P3, P10)
                said = f"target ± {tolerance:g}"
                here.fill_between([at - 0.3, at + 0.3], target - tolerance, target + tolerance, color="black",
                                  alpha=0.12, lw=0, zorder=0,
                                  label=None if said in here.get_legend_handles_labels()[1] else said)
        names = list(series)
        for j, here in enumerate(axes):
            shown = names[j:j + 1] if panels else names
            here.set_xticks(range(len(shown)), ["\n".join(textwrap.wrap(n, 14)) for n in shown], fontsize=7)
            if panels:
                here.set_xlim(-0.5, 0.5)
            here.set_xlabel(INTERVALS if panels else X_CATEGORIES, fontsize=8)
        if result.pattern == "D":
            ax.axhline(0, color="0.3", lw=0.8)
        if ax.get_legend_handles_labels()[1]:  # panels: above the first, off the targets drawn across it
            ax.legend(fontsize=8, frameon=False, **({"loc": "lower left", "bbox_to_anchor": (0, 1)} if panels else {}))
    for here, label in zip(axes, ylabel if panels else (ylabel,), strict=True):
        here.set_ylabel(label, fontsize=8)
        here.grid(alpha=0.3)
    ratio = v.get("ratio") if isinstance(v, dict) else None  # P5, P10: a ratio of the means, not a series to draw
    said = f"; ratio partner / aggressive {ratio:.2f}" if isinstance(ratio, float) and np.isfinite(ratio) else ""
    title = f"{result.pattern} ({result.claim}): {result.verdict}{said}"
    if panels:
        fig.suptitle(title, fontsize=10)
    else:
        ax.set_title(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(path)


def jsonable(values):
    """A result's per-seed series as JSON keeps them: arrays as lists, grid keys (σ, fit) as "σ,fit"."""
    if isinstance(values, dict):
        return {(",".join(map(str, k)) if isinstance(k, tuple) else str(k)): jsonable(x) for k, x in values.items()}
    if isinstance(values, (list, tuple, np.ndarray)):
        return [jsonable(x) for x in values]
    if isinstance(values, (np.floating, float)):
        return float(values) if np.isfinite(values) else None
    if isinstance(values, (np.integer, int)):
        return int(values)
    return values


def redraw(folder: str | Path) -> list[Path]:
    """``trustsim report`` on a patterns folder: every figure again from ``patterns.json``."""
    folder = Path(folder)
    try:
        rows = read_json(folder / "patterns.json", expected="the suite's results")
        results = [_result(r) for r in rows]
    except (OSError, ValueError, KeyError, TypeError, ParamError) as exc:
        why = exc.message if isinstance(exc, ParamError) else exc  # missing, a named pipe, not JSON: said once
        raise ParamError(str(folder / "patterns.json"), None,
                         f"cannot redraw from it ({why}); a suite run before patterns.json kept its series "
                         f"needs trustsim patterns again") from None

    def draw(tmp: Path) -> list[str]:
        for r in results:
            plot(r, tmp / f"{r.pattern}.png")
        return [f"{r.pattern}.png" for r in results]

    return redraw_figures(folder, draw)


def _result(row) -> Result:
    """One row of ``patterns.json`` as the check's result. P4's ratio, kept ÷ 10 by a suite run before the ratio had
    an axis of its own, is given back in its own units, with its target."""
    values = {k: _nan(x) for k, x in row["values"].items()}
    targets = dict(row.get("targets", {}))
    if "units/hour ratio ÷ 10" in values:
        values["units/hour ratio"] = values.pop("units/hour ratio ÷ 10") * 10
        targets.pop("units/hour ratio ÷ 10", None)
        targets["units/hour ratio"] = P4_RATIO
    return Result(row["pattern"], row["claims"], row["measured"], row["target"],
                  None if row["passed"] is None else bool(row["passed"]), values, targets, row.get("tolerances", {}))


def _nan(x):
    """JSON nulls back to NaN in series (lists of numbers, lists of lists, grids)."""
    if isinstance(x, dict):
        return {k: _nan(v) for k, v in x.items()}
    if isinstance(x, list):
        return [_nan(v) for v in x] if x and isinstance(x[0], (list, dict)) else \
            np.array([np.nan if v is None else v for v in x], dtype=float)
    return x
