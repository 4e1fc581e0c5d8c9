"""From the runs to what a researcher reads: each point's mean advantages with 95% intervals, each structure's
pattern verdicts, and which conclusions hold under all the readings, some of them, or none."""

from __future__ import annotations

import pandas as pd

from .. import patterns
from ..markdown import table_lines
from ..stats import interval_frame
from .engine import HORIZONS
from .grid import READINGS

FIGURES = {"share_advantage": "partner share advantage", "profit_advantage": "partner profit advantage"}


def interval_table(rows: list[dict], points: list[dict], by: list[str]) -> pd.DataFrame:
    """Per point (its columns ``by``) and horizon: the mean of each figure over seeds with its 95% t-interval
    (``c``, ``c.low``, ``c.high``), the seeds ``n`` and the share of runs that reached steady state. The rows
    are taken in the order of their points and seeds, not the order the workers finished them in: a sum's
    last bits depend on its order."""
    df = pd.DataFrame(rows).sort_values(["point", "seed"], kind="stable")
    keys = pd.DataFrame(points)[by]
    df = df.join(keys, on="point")
    out = interval_frame(df, [*by, "horizon"], [*FIGURES, "steady"])
    out = out.drop(columns=["steady.low", "steady.high"]).rename(columns={"steady": "steady_share"})
    order = {h: k for k, h in enumerate(HORIZONS)}
    first = {v: k for k, v in enumerate(dict.fromkeys(keys[by[0]]))}  # the points' own order
    return out.sort_values([by[0], "horizon", *by[1:]], key=lambda c: c.map(first) if c.name == by[0] else
                           (c.map(order) if c.name == "horizon" else c), kind="stable").reset_index(drop=True)


def pattern_verdicts(runs) -> list[dict]:
    """Each pattern's verdict and figure on one structure's runs (``patterns.evaluate``), as plain values."""
    out = []
    for r in patterns.evaluate(runs):
        name = getattr(r, "name", None) or r.pattern
        verdict = getattr(r, "verdict", None) or ("pass" if r.passed else "FAIL")
        figure = getattr(r, "figure", None) or r.measured
        out.append({"pattern": name, "verdict": str(verdict), "figure": str(figure)})
    return out


def classify(holds: int, of: int) -> str:
    """Whether a conclusion holds under all the structures, some of them, or none."""
    return "all" if holds == of else ("none" if holds == 0 else "some")


def conclusions(table: pd.DataFrame, verdicts: pd.DataFrame | None = None) -> pd.DataFrame:
    """For each figure, horizon and σ: under how many structures the advantage is positive (its interval above
    0) and negative (below 0); for each pattern: under how many it passes. ``under`` names the structures
    where it holds, when not all or none do."""
    out = []
    structures = list(dict.fromkeys(table["structure"]))

    def add(text, holding):
        holding = [s for s in structures if s in set(holding)]
        n = classify(len(holding), len(structures))
        out.append({"conclusion": text, "holds": len(holding), "of": len(structures), "class": n,
                    "under": "; ".join(holding) if n == "some" else ""})

    for fig, name in FIGURES.items():
        for h, hname in HORIZONS.items():
            for s, g in table[table["horizon"] == h].groupby("market.uncertainty", sort=True):
                add(f"{name} > 0 (CI excludes 0), {hname}, σ={s:g}", g.loc[g[f"{fig}.low"] > 0, "structure"])
                add(f"{name} < 0 (CI excludes 0), {hname}, σ={s:g}", g.loc[g[f"{fig}.high"] < 0, "structure"])
    if verdicts is not None and len(verdicts):
        for p, g in verdicts.groupby("pattern", sort=False):
            add(f"{p} passes", g.loc[g["verdict"] == "pass", "structure"])
    return pd.DataFrame(out, columns=["conclusion", "holds", "of", "class", "under"])


def structure_legend(table: pd.DataFrame) -> dict[str, str]:
    """Short names S1, S2, … for the structures, in the table's order (S1: the base's readings)."""
    return {s: f"S{k}" for k, s in enumerate(dict.fromkeys(table["structure"]), start=1)}


def conclusions_table(conc: pd.DataFrame, legend: dict[str, str]) -> str:
    """The conclusions as plain text: holds under all / some (which) / none, with the structures' legend."""
    lines = ["structures:"] + [f"  {short}: {label}" for label, short in legend.items()]
    width = max(len(c) for c in conc["conclusion"]) if len(conc) else 10
    lines.append("")
    lines.append(f"{'conclusion'.ljust(width)}  holds under")
    lines.append("-" * (width + 24))
    for _, r in conc.iterrows():
        which = ""
        if r["class"] == "some":
            which = " (" + ", ".join(legend[s] for s in r["under"].split("; ")) + ")"
        lines.append(f"{r['conclusion'].ljust(width)}  {r['class']:<4} {r['holds']} of {r['of']}{which}")
    return "\n".join(lines)


def readings_of(table: pd.DataFrame) -> list[str]:
    """The reading columns a structures table carries."""
    return [k for k in READINGS if k in table.columns]


def markdown(df: pd.DataFrame) -> str:
    """A table as Markdown (numbers to four significant digits; ``|`` in a cell escaped)."""
    def cell(v):
        text = f"{v:.4g}" if isinstance(v, float) else str(v)
        return text.replace("|", "\\|")

    return "\n".join(table_lines(list(map(str, df.columns)),
                                  ([cell(v) for v in row] for row in df.itertuples(index=False))))
