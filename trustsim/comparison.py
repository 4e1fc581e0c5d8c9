"""Two scenarios, or two results folders, side by side (``trustsim compare A B``, ``trustsim.compare``):
each long-run figure's difference B − A with its 95% interval.

Two scenarios run on the same seeds (derived from one root seed as replications derive them), so each
difference is paired seed by seed, which removes the noise the two share. Two results folders (runs or
replications) are paired on their seeds when they hold the same two or more seeds, and compared by
Welch's interval otherwise.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from .arguments import whole
from .capacity import check_memory
from .errors import PYTHON, ParamError, safe_text, suggest
from .experiments.design import METRIC_COLUMNS
from .experiments.execute import metric_row
from .experiments.replicate import read_runs, replicate
from .labels import literal, plain_figure
from .metrics import COLUMN_NAMES, POSTURE_GROUPS, POSTURES
from .reading import read_json
from .reproduce import read_manifest, scenario_of
from .results import manifest, redraw_figures, scenario_files, write_atomically
from .stats import ADVANTAGES, describe, difference, null_as_nan

KIND = "compare"
KEY_COLUMNS = {"market_share": "market share", "tco_per_unit": "cost of ownership per unit",
               "component_price": "price per unit", "trust_buyer": "trust in its suppliers",
               "trust_supplier": "trusted by its suppliers", "nonproductive_share": "non-productive share of hours",
               "ideas_received_cum": "cumulative ideas per buyer", "profit_cum": "cumulative profit per buyer"}
# printed under the table: the window every figure is a mean over, and which way round each advantage is taken
TABLE_NOTE = ("each figure: its mean over a run's second half (the long run); cumulative ideas and profit count\n"
              "from step 1. Partner advantages: market share and profit are partner − aggressive per buyer (share\n"
              "in units of 1/n), cost of ownership aggressive − partner (positive: partners pay less)")
COMPARED_FIGURES = (*ADVANTAGES, *(f"{g}.{c}" for g in POSTURE_GROUPS for c in KEY_COLUMNS
                             if (g, c) != ("all", "market_share")))


def number_text(value: float, digits: int, sign: bool = False) -> str:
    """A figure of the printed table to ``digits`` significant figures, written out (24380, +5670, -0.0000644) as a
    reader of money and shares expects, not 2.438e+04; only where that takes more than the table's 10 characters
    (a magnitude below about 10⁻⁵, or of 10¹⁰ and more) does it keep its exponent."""
    text = plain_figure(value, digits)
    text = f"+{text}" if sign and not text.startswith("-") else text
    return text if len(text) <= 10 else f"{value:{'+' if sign else ''}.{digits}g}"


def figure_text(figure: str) -> str:
    """A key figure in a few words: "partner: market share", "advantage: market share"."""
    group, _, column = figure.partition(".")
    if group == "advantage":
        return "partner advantage: " + {"market_share": "market share", "profit_cum": "cumulative profit",
                                        "tco_per_unit": "cost of ownership"}.get(column, column)
    return f"{group}: {KEY_COLUMNS.get(column, column.replace('_', ' '))}"


@dataclass
class Comparison:
    """A against B: ``runs_a`` and ``runs_b`` (one row per run: seed and long-run figures), ``paired``."""

    scenario_a: object
    scenario_b: object
    runs_a: object
    runs_b: object
    paired: bool
    sources: dict
    started: str
    wall: float

    @property
    def names(self) -> tuple[str, str]:
        """The two scenarios' names; when they are the same (two results of one scenario file), the names of
        the compared folders or files if those differ, else the name marked ``A`` and ``B``."""
        a, b = self.scenario_a.name, self.scenario_b.name
        if a != b:
            return a, b
        given = [Path(str(self.sources.get(k) or "")).resolve().name for k in ("a", "b")]
        return (given[0], given[1]) if all(given) and given[0] != given[1] else (f"A {a}", f"B {b}")

    @property
    def labelled(self) -> tuple[str, str]:
        """:attr:`names` marked as the table's columns are: ``("A baseline", "B high_uncertainty")``."""
        a, b = self.names
        marked = (a, b) == (f"A {self.scenario_a.name}", f"B {self.scenario_b.name}")  # names' own fallback
        return (a, b) if marked else (f"A {a}", f"B {b}")

    def table(self):
        """One row per figure: A's and B's means with 95% intervals, B − A with its interval, n, paired. Paired, all
        three rest on the seeds where both A and B have the figure, so that B − A is the difference of the means
        beside it."""
        # on use: only this path needs pandas
        import pandas as pd

        a, b = self._ok(self.runs_a), self._ok(self.runs_b)
        if self.paired:
            joined = a.merge(b, on="seed", suffixes=(".a", ".b"))
            pairs = {c: (joined[f"{c}.a"], joined[f"{c}.b"]) for c in METRIC_COLUMNS}
        else:
            pairs = {c: (a[c], b[c]) for c in METRIC_COLUMNS}
        rows = []
        for c, (x, y) in pairs.items():
            if self.paired:  # A, B and B − A over the same seeds: those where both have the figure
                keep = np.isfinite(np.asarray(x, float)) & np.isfinite(np.asarray(y, float))
                x, y = np.asarray(x, float)[keep], np.asarray(y, float)[keep]
            da, db = describe(x), describe(y)
            rows.append({"figure": c, "a": da["mean"], "a.low": da["low"], "a.high": da["high"], "b": db["mean"],
                         "b.low": db["low"], "b.high": db["high"], **difference(x, y, self.paired),
                         "paired": self.paired})
        return pd.DataFrame.from_records(rows)

    @staticmethod
    def _ok(runs):
        return runs[runs["status"] == "ok"] if "status" in runs else runs

    @property
    def failed(self) -> tuple[list[int], list[int]]:
        """The replicates of A's and of B's runs that failed (a property, as ``Replicated.failed`` is)."""
        return tuple([int(s) for s in r.loc[r["status"] != "ok", "replicate"]] if "status" in r else []
                     for r in (self.runs_a, self.runs_b))

    @property
    def compared(self) -> int:
        """How many runs the table rests on: the seeds both A and B ran without failure when paired, else the
        fewer of A's and B's successful runs (a property, as :attr:`failed` is)."""
        a, b = self._ok(self.runs_a), self._ok(self.runs_b)
        if self.paired:
            return len(set(a["seed"]) & set(b["seed"]))
        return min(len(a), len(b))

    def __repr__(self) -> str:
        a, b = self.names
        return (f"<trustsim comparison of {a!r} and {b!r}: {len(self.runs_a)} and {len(self.runs_b)} runs, "
                f"{'paired on common seeds' if self.paired else 'unpaired'}>")

    def text(self, figures=COMPARED_FIGURES) -> str:
        """The key figures (or ``figures``, a name or names of ``table()``'s figures; None: the key figures) as a
        table of at most 100 columns (numbers to 4 and 3 significant digits, written out: 24380, not 2.438e+04), its
        columns A and B (:attr:`labelled` names them: a name of any length, which a column would cut), then what the
        figures are: long-run means, and the advantages' signs (``TABLE_NOTE``)."""
        figures = COMPARED_FIGURES if figures is None else [figures] if isinstance(figures, str) else figures
        try:
            figures = list(figures)
        except TypeError:  # a number, say: one line, not list()'s TypeError
            raise ParamError(None, "figures", f"expected a figure's name or a list of them (table() lists them), "
                                              f"got {type(figures).__name__}") from None
        t = self.table().set_index("figure")
        unknown = next((f for f in figures if not isinstance(f, str) or f not in t.index), None)
        if unknown is not None:
            raise ParamError(None, "figures", f"unknown figure {safe_text(repr(unknown))}"
                                              f"{suggest(str(unknown), t.index)} (table() lists them)")
        lines = [f"{'figure':<41} {'A':>10} {'B':>10}  B − A [95% interval]", "-" * 99]
        for f in figures:
            r = t.loc[f]
            if r[["a", "b"]].isna().any():
                continue
            interval = "" if r.isna()[["low", "high"]].any() else \
                f" [{number_text(r['low'], 3, True)}, {number_text(r['high'], 3, True)}]"
            lines.append(f"{figure_text(f)[:41]:<41} {number_text(r['a'], 4):>10} {number_text(r['b'], 4):>10}  "
                         f"{number_text(r['difference'], 3, True)}{interval}")
        return "\n".join([*lines, "-" * 99, TABLE_NOTE] if len(lines) > 2 else lines)

    def save(self, out, force: bool = False, *, words=PYTHON) -> Path:
        """The results folder: ``compare.csv``, ``compare.json``, ``runs_a.csv``, ``runs_b.csv``, the figure and
        the manifest; ``force=True`` replaces a folder that holds something else (never one trustsim protects).
        ``words``: how a refusal names ``out`` and ``force`` (``trustsim compare`` says ``--out`` and ``--force``)."""
        table = self.table()

        def write(tmp: Path) -> None:
            table.to_csv(tmp / "compare.csv", index=False)
            self.runs_a.to_csv(tmp / "runs_a.csv", index=False)
            self.runs_b.to_csv(tmp / "runs_b.csv", index=False)
            (tmp / "compare.json").write_text(json.dumps(self.info(), indent=2, ensure_ascii=False) + "\n")
            (tmp / "figures").mkdir()
            draw(table, self.names, self.paired, tmp / "figures" / "compare.png")
            info = manifest(self.scenario_a, self.scenario_a.params, self.started, self.wall, tmp, kind=KIND,
                            compare=self.info(), params_b=self.scenario_b.params.nested())
            (tmp / "manifest.json").write_text(json.dumps(info, indent=2, ensure_ascii=False) + "\n")

        protect = [*scenario_files(self.scenario_a), *scenario_files(self.scenario_b),
                   *(self.sources.get(k) for k in ("a", "b") if self.sources.get(k))]  # compared folders too
        return write_atomically(out, write, force, kind=KIND, protect=[p for p in protect if Path(p).exists()],
                                words=words)

    def differences(self) -> dict[str, list]:
        """The parameters whose values differ between A and B, ``{"group.name": [a, b]}`` (the seed left out: the
        runs' seeds are listed apart). All that B − A can be put down to, besides run-to-run noise: two results
        folders may differ in more than the question asked, such as their number of steps."""
        a, b = self.scenario_a.params.flat(), self.scenario_b.params.flat()
        return {k: [a[k], b[k]] for k in a if k != "run.seed" and a[k] != b[k]}

    def differences_text(self, most: int = 6) -> str:
        """The differing parameters in one line: ``run.steps 1200 → 200, …`` (the first ``most`` of them, at least
        one; a ParamError for another ``most``)."""
        most = whole("most", most, 1)
        diff = self.differences()
        if not diff:
            same_seeds = sorted(self.runs_a["seed"]) == sorted(self.runs_b["seed"])
            return "parameters: the same" + ("" if same_seeds else " (only the seeds differ)")
        shown = [f"{k} {a!r} → {b!r}" for k, (a, b) in list(diff.items())[:most]]
        more = f", and {len(diff) - most} more (compare.json)" if len(diff) > most else ""
        return "parameters that differ: " + ", ".join(shown) + more

    def info(self) -> dict:
        """What ``compare.json`` (and the manifest's ``compare``) holds: names, sources, pairing, run counts, seeds,
        the parameters that differ."""
        return {"a": self.names[0], "b": self.names[1], "sources": self.sources, "paired": self.paired,
                "runs_a": len(self.runs_a), "runs_b": len(self.runs_b),
                "seeds": [int(s) for s in self.runs_a["seed"]] if self.paired else None,
                "parameters_that_differ": self.differences(),
                "difference": "B − A; 95% intervals: paired t on the common seeds, else Welch"}


def compare_scenarios(a, b, seeds: int, *, root: int | None = None, workers: int | None = None,
                      quiet: bool = True) -> Comparison:
    """Run scenarios ``a`` and ``b`` on the same ``seeds`` seeds (from ``root``, default A's run.seed)."""
    for sc in (a, b):  # both, before A's runs
        check_memory(sc.params, sc.path or sc.name)
    started = datetime.now(UTC).isoformat(timespec="seconds")
    t0 = time.perf_counter()
    root = a.params.run.seed if root is None else root
    ra = replicate(a, seeds, root=root, workers=workers, quiet=quiet)  # a root out of range refused as --seed
    rb = replicate(b, seeds, root=root, workers=workers, quiet=quiet)
    a, b = (seeded(sc, root) for sc in (a, b))  # the manifest's seed and parameters: the root the runs derive from
    return Comparison(a, b, ra.runs, rb.runs, True, {"a": a.path, "b": b.path, "root_seed": root, "seeds": seeds},
                      started, time.perf_counter() - t0)


def seeded(scenario, root: int):
    """``scenario`` with ``run.seed`` set to the root seed its replicates derive from (an override, as ``--seed`` is
    to ``trustsim run``), so that what a comparison records is the seed it ran from, not the file's."""
    if scenario.params.run.seed == root:
        return scenario
    return replace(scenario, params=scenario.params.replace(**{"run.seed": root}),
                   overrides={**scenario.overrides, "run.seed": root})


def load_folder(folder: str | Path):
    """A results folder as (scenario, runs table): a run (one row) or replications."""
    # on use: only this path needs pandas, execute, replicate …
    import pandas as pd


    folder = Path(folder)
    info, _ = read_manifest(folder, "compare")
    scenario = scenario_of(info, str(folder / "manifest.json"))
    if info["kind"] == "replications":
        return scenario, read_runs(folder, info["replications"], info.get("seeds"))  # read_manifest checked the first
    try:
        summary = read_json(folder / "summary.json", expected="a run's summary", object_hook=null_as_nan)
        _refuse_unwritten_figures(summary, str(folder / "summary.json"))
        row = metric_row(summary)
    except (ValueError, KeyError, TypeError) as exc:
        raise ParamError(str(folder / "summary.json"), None, f"cannot be read as a run's summary ({exc})") from None
    return scenario, pd.DataFrame([{"replicate": 0, "seed": scenario.params.run.seed, "status": "ok", "error": "",
                                    **row}])


def _refuse_unwritten_figures(summary, shown: str) -> None:
    """ParamError naming the key unless every long-run figure a comparison reads is a number as trustsim writes it:
    finite, or null where a posture had no buyers. Edited by hand, ``true`` was compared as 1, and an infinity (or a
    figure gone) dropped that figure's rows from the table, exit 0."""
    both = summary.get("both_postures") if isinstance(summary, dict) else None
    windows = [("long_run", summary.get("long_run") if isinstance(summary, dict) else None, POSTURE_GROUPS)]
    if isinstance(both, dict) and both.get("long_run") is not None:
        windows.append(("both_postures.long_run", both["long_run"], POSTURES))
    for where, table, groups in windows:
        for g in groups:
            figures = table.get(g) if isinstance(table, dict) else None
            if not isinstance(figures, dict):
                raise ParamError(shown, f"{where}.{g}", "missing: not a run's summary as trustsim wrote it")
            for c in COLUMN_NAMES:
                value = figures.get(c)
                if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isinf(value):
                    got = "nothing" if c not in figures else safe_text(json.dumps(value))
                    raise ParamError(shown, f"{where}.{g}.{c}", f"expected a number (null where the posture had no "
                                                               f"buyers), got {got}; not as trustsim wrote it")


def compare_folders(a: str | Path, b: str | Path) -> Comparison:
    """Two results folders: paired when both hold runs on the same two or more seeds (on those both ran without
    failure: a run failed on one side leaves its seed out, not the pairing), else Welch's interval. One folder
    given twice (however its path is spelled) is refused: it would be compared with itself, every difference 0."""
    if Path(a).resolve() == Path(b).resolve():
        raise ParamError(str(b), None, f"is the same folder as {safe_text(str(a), 200)}: a folder compared with itself "
                                       f"differs in nothing; name two results folders")
    sa, ra = load_folder(a)
    sb, rb = load_folder(b)
    paired = sorted(ra["seed"]) == sorted(rb["seed"]) and ra["seed"].is_unique and len(ra) > 1
    now = datetime.now(UTC).isoformat(timespec="seconds")
    return Comparison(sa, sb, ra, rb, paired, {"a": str(a), "b": str(b)}, now, 0.0)


ADVANTAGE_UNITS = {"advantage.market_share": "share per buyer, units of 1/n",
                   "advantage.profit_cum": "profit per buyer", "advantage.tco_per_unit": "money/unit"}
# which way round each advantage is taken (stats.ADVANTAGES), under its panel's title
ADVANTAGE_SIGNS = {"advantage.market_share": "partner − aggressive", "advantage.profit_cum": "partner − aggressive",
                   "advantage.tco_per_unit": "aggressive − partner"}


def draw(table, names, paired: bool, path: Path) -> None:
    """B − A for the key figures, each relative to A's mean (%), with its 95% interval; the partner advantages,
    differences that can be near 0, in their own units above them (in % of A's they ran to 1000s and squeezed
    every other figure's interval into its dot)."""
    # only drawing needs matplotlib
    from matplotlib.figure import Figure

    names = [literal(n) for n in names]  # scenario names, drawn letter for letter
    t = table.set_index("figure").reindex(list(COMPARED_FIGURES))
    t = t[np.isfinite(t["a"].astype(float)) & np.isfinite(t["b"].astype(float))]
    adv = t[t.index.isin(ADVANTAGES) & np.isfinite(t["difference"].astype(float))]
    t = t[~t.index.isin(ADVANTAGES) & (t["a"].abs() > 1e-12)]
    height = 1.2 + 0.28 * max(len(t), 1)
    fig = Figure(figsize=(8, height + (1.9 if len(adv) else 0)))
    grid = fig.add_gridspec(2 if len(adv) else 1, max(len(adv), 1), height_ratios=[1.9, height] if len(adv) else None)
    for i, (figure, row) in enumerate(adv.iterrows()):
        ax = fig.add_subplot(grid[0, i])
        _interval(ax, [row["difference"]], [0], [row["low"]], [row["high"]])
        ax.set_yticks([])
        title = figure_text(figure).split(": ", 1)[1]  # "partner advantage" is in the figure's title
        ax.set_title(f"{title}\n({ADVANTAGE_SIGNS[figure]})", fontsize=8)
        ax.set_xlabel(f"B − A ({ADVANTAGE_UNITS.get(figure, '')})", fontsize=7)
        ax.tick_params(labelsize=7)
    ax = fig.add_subplot(grid[-1, :])
    scale = 100 / t["a"].abs()
    y = np.arange(len(t))
    _interval(ax, t["difference"] * scale, y, t["low"] * scale, t["high"] * scale)
    ax.set_yticks(y, [figure_text(f) for f in t.index], fontsize=7)
    ax.invert_yaxis()
    ax.set_xlabel(f"{names[1]} − {names[0]}, in % of {names[0]}'s mean\n(95% interval"
                  f"{', paired on common seeds' if paired else ', Welch'})", fontsize=9)
    ax.grid(alpha=0.3, axis="x")
    fig.suptitle(f"{names[1]} against {names[0]}: long-run figures"
                 + ("\n(top: the partner advantages, B − A in their own units)" if len(adv) else ""), fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def _interval(ax, d, y, lo, hi) -> None:
    """Differences ``d`` at heights ``y`` with their intervals (none where an end is not known), and the zero line."""
    d, lo, hi = (np.asarray(v, float) for v in (d, lo, hi))
    has = np.isfinite(lo) & np.isfinite(hi)
    err = np.vstack([np.where(has, d - lo, 0), np.where(has, hi - d, 0)])
    ax.errorbar(d, y, xerr=err, fmt="o", color="tab:blue", capsize=3, ms=4)
    ax.axvline(0, color="0.4", lw=0.8)


TABLE_NUMBERS = ("a", "a.low", "a.high", "b", "b.low", "b.high", "difference", "low", "high")


def _read_table(path: Path):
    """``compare.csv`` as trustsim wrote it (``report.read_table``: its columns, rows and numbers), with a row for every
    figure drawn; ParamError (one line) otherwise: a table cut at a row's end would draw a partial figure."""
    # on use: only this path needs the report's reading of tables (and matplotlib)
    from .report import read_table

    table = read_table(path, ("figure", *TABLE_NUMBERS))
    lacking = [f for f in COMPARED_FIGURES if f not in set(table["figure"])]
    if lacking:
        raise ParamError(str(path), None, f"lacks the row of {lacking[0]}"
                                          f"{f' and {len(lacking) - 1} more' if len(lacking) > 1 else ''}; "
                                          f"not as trustsim wrote it")
    return table


def redraw(folder: str | Path) -> list[Path]:
    """``trustsim report`` on a comparison folder: its figure again from ``compare.csv``."""
    folder = Path(folder)
    table = _read_table(folder / "compare.csv")
    try:
        info = read_json(folder / "compare.json", expected="a comparison's description")
        names, paired = (info["a"], info["b"]), bool(info["paired"])
    except (KeyError, TypeError) as exc:
        raise ParamError(str(folder), None, f"not a complete comparison folder ({exc})") from None

    def draw_one(tmp: Path) -> list[str]:
        draw(table, names, paired, tmp / "compare.png")
        return ["compare.png"]

    return redraw_figures(folder, draw_one)
