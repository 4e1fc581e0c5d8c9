"""The defaults a calibration gives: the rule that turns a posterior into the values the baseline ships with.

A calibrated parameter takes its posterior median, rounded to three significant figures, where the figures
inform it (shrinkage at least ``INFORMED``); where they do not, its posterior is about its prior, whose median
says nothing its default does not, so it keeps its default (the specification's value, but for the three of
docs/ODD.md's decision 41). The record the defaults
come from is ``docs/calibration/`` (``trustsim calibrate scenarios/calibration.toml``); docs/ODD.md,
Calibration, shows the table this module writes.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

from ..markdown import table_lines
from .abc import weighted_quantile

INFORMED = 0.2   # shrinkage from which the published figures are taken to inform a parameter


def three_figures(x: float) -> float:
    """``x`` rounded to three significant figures."""
    if x == 0 or not math.isfinite(x):
        return x
    return round(x, 2 - int(math.floor(math.log10(abs(x)))))


def posterior_summary(folder: str | Path) -> list[dict]:
    """Per calibrated parameter of the record in ``folder``: prior bounds, posterior median and 90% interval,
    shrinkage (1 − posterior variance / prior variance) and the default it gives (None: keeps its value)."""
    # on use: reading the record needs pandas, the rule does not
    import pandas as pd

    folder = Path(folder)
    manifest = json.loads((folder / "manifest.json").read_text())
    post = pd.read_parquet(folder / "posterior.parquet")
    last = post[post.generation == post.generation.max()]
    w = last.weight.to_numpy(dtype=float)
    w = w / w.sum()
    rows = []
    for key in manifest["parameters"]:
        lo, hi = manifest["prior"][key]
        x = last[key].to_numpy(dtype=float)
        mean = float(w @ x)
        shrink = 1.0 - float(w @ (x - mean) ** 2) / ((hi - lo) ** 2 / 12.0)
        median, q05, q95 = (float(v) for v in weighted_quantile(x, w, [0.5, 0.05, 0.95]))
        rows.append({"parameter": key, "lo": lo, "hi": hi, "median": median, "q05": q05, "q95": q95,
                     "shrinkage": shrink, "default": three_figures(median) if shrink >= INFORMED else None})
    return rows


def calibrated_defaults(folder: str | Path) -> dict[str, float]:
    """The defaults the record gives: ``{"group.name": value}`` for each parameter the figures inform."""
    return {r["parameter"]: r["default"] for r in posterior_summary(folder) if r["default"] is not None}


def markdown(folder: str | Path, shipped: dict[str, float]) -> str:
    """The calibration table of docs/ODD.md: the record's provenance, then one row per calibrated parameter
    with its prior, posterior and the default shipped."""
    folder = Path(folder)
    m = json.loads((folder / "manifest.json").read_text())
    head = (f"Record: `docs/calibration/` — `trustsim calibrate {m['calibration_file']['path']}` (sha256 "
            f"`{m['calibration_file']['sha256'][:12]}…`), {m['runs']} market runs of {m['steps']} steps, seed "
            f"{m['calibration_seed']}, stopped by {m['stop']}, {m['wall_seconds']:.0f} s on {m['workers']} "
            f"workers; trustsim {m['trustsim']}. A parameter takes its posterior median (three significant "
            f"figures) where its shrinkage is at least {INFORMED}; below that the figures do not inform it and it "
            "keeps its default (the specification's value, but for the three of decision 41).")
    rows = table_lines(["parameter", "prior", "posterior median", "90% interval", "shrinkage", "default"],
                       ([f"`{r['parameter']}`", f"U({r['lo']:g}, {r['hi']:g})", f"{r['median']:.3g}",
                         f"[{r['q05']:.3g}, {r['q95']:.3g}]", f"{r['shrinkage']:.2f}",
                         f"{shipped[r['parameter']]:g}"
                         + ("" if r["default"] is not None else " (not informed: its default kept)")]
                        for r in posterior_summary(folder)))
    return "\n".join([head, "", *rows])

