"""Regenerate the generated blocks of docs/ODD.md, docs/results.md and README.md: the parameter and calibration
tables (ODD), the results columns (docs/results.md), the example run's figures (README) and the pattern table and
advantage by horizon (ODD and README).

    python scripts/update_docs.py            # all (the pattern suite, 30 seeds: about 40 s on two cores)
    python scripts/update_docs.py --params   # all but the pattern tables: parameters, calibration, columns, example
    python scripts/update_docs.py --params --check   # exit 1 if one of those blocks is out of date
    python scripts/update_docs.py --structures DIR   # experiments.md's structures block and figure, from a folder
    python scripts/update_docs.py --regimes DIR      # experiments.md's regime map block and figure, from a folder
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def replace_block(text: str, name: str, body: str) -> str:
    pattern = re.compile(rf"(<!-- {name}:begin -->\n).*?(<!-- {name}:end -->)", re.S)
    if not pattern.search(text):
        raise SystemExit(f"no <!-- {name}:begin/end --> block")
    return pattern.sub(lambda m: m.group(1) + body.rstrip() + "\n" + m.group(2), text)


def columns_block(page: str) -> str:
    """docs/results.md with its table of results columns regenerated from the registry (trustsim/columns.py)."""
    from trustsim.columns import markdown_table

    return replace_block(page, "columns", markdown_table())


EXAMPLE_FIGURES = (("price per component", "component_price"), ("costs beyond the price, per unit", None),
                   ("cost of ownership per unit", "tco_per_unit"),
                   ("non-productive share of face-to-face hours", "nonproductive_share"),
                   ("supplier ideas received a step", "ideas_received"), ("market share", "market_share"))


def example_block(summary: dict) -> str:
    """The README's reading of results/example/: its figures by posture over the business horizon and the long
    run, from its summary.json (costs beyond the price: cost of ownership minus the price)."""
    first, last = summary["long_run_steps"]
    rows = [f"| figure | first 40 steps: partners | aggressive | steps {first}–{last}: partners | aggressive |",
            "|---|---|---|---|---|"]
    for label, column in EXAMPLE_FIGURES:
        cells = []
        for span in ("business_horizon", "long_run"):
            for group in ("partner", "aggressive"):
                x = summary[span][group]
                value = x["tco_per_unit"] - x["component_price"] if column is None else x[column]
                cells.append(f"{value:.3f}")
        rows.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(rows)


def generated_tables(runs, seeds: int) -> dict[str, str]:
    """The blocks the pattern suite fills in: the pattern table (with the decomposition apart) and the partner
    advantage by horizon. ``tests/model/test_patterns.py`` renders them from its own runs and compares the README's."""
    from trustsim import patterns

    return {
        "patterns": patterns.markdown_table(patterns.evaluate(runs)) + "\n\nNot counted (a decomposition):\n\n"
        + patterns.markdown_table(patterns.decompose(runs)),
        "horizons": f"Partner advantage over {seeds} seeds (mean [95% interval]): market share per buyer, partner "
        "minus aggressive, in units of the equal share 1/n, and cumulative profit per buyer since step 1: at step 40, "
        "and in the long run at the run's last step (the whole run's profit, as P2 measures it).\n\n"
        + patterns.horizons_table(runs),
    }


def structures_block(folder: Path) -> str:
    """docs/experiments.md's reading of a `trustsim structures` folder: which conclusions hold under all the
    contested readings, some (which) or none, as the command printed them."""
    import pandas as pd

    from trustsim.structures.tables import conclusions, conclusions_table, structure_legend

    info = json.loads((folder / "manifest.json").read_text())
    table = pd.read_csv(folder / "structures.csv")
    verdicts = pd.read_csv(folder / "verdicts.csv") if (folder / "verdicts.csv").is_file() else None
    head = (f"`trustsim structures --seeds {len(info['seeds'])}` at the defaults ({info['steps']} steps a run; pattern "
            f"verdicts over {len(info['suite_seeds'])} seeds a variant"
            f"{', a first reading' if len(info['suite_seeds']) < 30 else ''}), trustsim {info['trustsim']}:")
    text = conclusions_table(conclusions(table, verdicts), structure_legend(table))
    return f"{head}\n\n```\n{text}\n```\n\n![The partner advantage under every reading](images/structures.png)"


def regimes_block(folder: Path) -> str:
    """docs/experiments.md's regime map: the run that drew it, how many cells each sign holds, the figure."""
    import pandas as pd

    info = json.loads((folder / "manifest.json").read_text())
    table = pd.read_csv(folder / "regimes.csv")
    counts = {sign: int(test(table).sum()) for sign, test in (
        ("positive", lambda t: t["share_advantage.low"] > 0), ("negative", lambda t: t["share_advantage.high"] < 0))}
    return (f"`trustsim regimes --seeds {len(info['seeds'])}` at the defaults ({info['steps']} steps a run): the "
            f"share advantage is positive in {counts['positive']}, negative in {counts['negative']} and undecided in "
            f"{len(table) - sum(counts.values())} of {len(table)} cells × horizons (95% intervals).\n\n"
            "![Regime map of the partner share advantage](images/regimes.png)")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--params", action="store_true",
                    help="all but the pattern tables: parameters, calibration, columns, the README's example")
    ap.add_argument("--check", action="store_true", help="write nothing; exit 1 if a block is out of date")
    ap.add_argument("--seeds", type=int, default=30)
    ap.add_argument("--structures", type=Path, metavar="DIR",
                    help="only docs/experiments.md's structures block and figure, from a `trustsim structures` folder")
    ap.add_argument("--regimes", type=Path, metavar="DIR",
                    help="only docs/experiments.md's regime map block and figure, from a `trustsim regimes` folder")
    args = ap.parse_args()
    if args.structures or args.regimes:
        page = ROOT / "docs" / "experiments.md"
        text = page.read_text()
        if args.structures:
            text = replace_block(text, "structures", structures_block(args.structures))
            shutil.copyfile(args.structures / "figures" / "structures.png", ROOT / "docs" / "images" / "structures.png")
        if args.regimes:
            text = replace_block(text, "regimes", regimes_block(args.regimes))
            shutil.copyfile(args.regimes / "figures" / "regimes_share.png", ROOT / "docs" / "images" / "regimes.png")
        page.write_text(text)
        return
    from trustsim.schema_table import schema_markdown

    odd = ROOT / "docs" / "ODD.md"
    text = replace_block(odd.read_text(), "params", schema_markdown())
    from trustsim.calibration.defaults import markdown as calibration_markdown
    from trustsim.params import Params

    record = ROOT / "docs" / "calibration"
    flat = Params().flat()
    shipped = {k: float(flat[k]) for k in json.loads((record / "manifest.json").read_text())["parameters"]}
    text = replace_block(text, "calibration", calibration_markdown(record, shipped))
    results = ROOT / "docs" / "results.md"
    results_text = columns_block(results.read_text())
    readme = ROOT / "README.md"
    summary = json.loads((ROOT / "results" / "example" / "summary.json").read_text())
    readme_text = replace_block(readme.read_text(), "example", example_block(summary))
    if args.check:
        if not args.params:
            raise SystemExit("--check needs --params (the pattern table changes with every recalibration)")
        if text != odd.read_text():
            raise SystemExit("docs/ODD.md: the parameter table differs from the schema, or the calibration table from "
                             "docs/calibration/; run: python scripts/update_docs.py --params")
        if results_text != results.read_text():
            raise SystemExit("docs/results.md: the results columns differ from trustsim/columns.py; "
                             "run: python scripts/update_docs.py --params")
        if readme_text != readme.read_text():
            raise SystemExit("README.md: the example's figures differ from results/example/summary.json; "
                             "run: python scripts/update_docs.py --params")
        return
    if not args.params:
        from trustsim import patterns
        from trustsim.patterns.figures import plot

        runs = patterns.run_all(Params(), seeds=args.seeds)
        table = generated_tables(runs, args.seeds)
        plot(patterns.PATTERNS["P6"](runs), ROOT / "docs" / "images" / "p6_uncertainty.png")  # the README's figure
        text = replace_block(text, "patterns", table["patterns"])
        for name, body in table.items():
            if f"<!-- {name}:begin -->" in readme_text:
                readme_text = replace_block(readme_text, name, body)
    odd.write_text(text)
    results.write_text(results_text)
    readme.write_text(readme_text)


if __name__ == "__main__":
    main()
