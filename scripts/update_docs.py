"""Regenerate the generated blocks of docs/ODD.md, docs/results.md and README.md: the parameter table (ODD),
the results columns (docs/results.md) and the pattern table and advantage by horizon (ODD and README).

    python scripts/update_docs.py            # all (the pattern suite takes a few seconds)
    python scripts/update_docs.py --params   # the parameter and column tables only
    python scripts/update_docs.py --params --check   # exit 1 if the parameter or column table is out of date
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def replace_block(text: str, name: str, body: str) -> str:
    pattern = re.compile(rf"(<!-- {name}:begin -->\n).*?(<!-- {name}:end -->)", re.S)
    if not pattern.search(text):
        raise SystemExit(f"no <!-- {name}:begin/end --> block")
    return pattern.sub(lambda m: m.group(1) + body.rstrip() + "\n" + m.group(2), text)


def calibration_markdown(record: dict, defaults: dict[str, float]) -> str:
    """The calibration's outcome from docs/calibration.json: the point found and the shipped defaults,
    their figures against the targets, and whether the search box binds where the point sits on its edge."""
    start, shipped = record.get("model_md", {}), record["defaults"]
    rows = ["| parameter | specification | calibrated | default |", "|---|---|---|---|"]
    rows += [f"| `{k}` | {start.get(k, '')} | {v:.4g} | {defaults[k]:g} |" for k, v in record["parameters"].items()]
    figs = ["| figure | target | calibrated point | defaults |", "|---|---|---|---|"]
    targets = [(k, f"{t:g}") for k, t in record["targets"].items()]
    targets += [("ideas_ratio", "≥ 5 (P5)"), ("units_per_hour_ratio", "≥ 3 (P4)"),
                ("inspection_top_tenth", "≤ 0.05 (P4)"), ("share_diff", "> 0 (P2)")]
    figs += [f"| `{k}` | {t} | {record['figures'][k]:.3f} | {shipped['figures'][k]:.3f} |" for k, t in targets]
    figs.append(f"| loss | 0 | {record['loss']:.2g} | {shipped['loss']:.2g} |")
    head = (f"Outcome: loss {record['loss']:.2g} after {record['evaluations']} evaluations "
            f"({record['optimiser']}) on seeds {record['seeds'][0]}–{record['seeds'][-1]}, "
            f"{record['seconds']:.0f} s. The last column evaluates the defaults as shipped on the same seeds; "
            "the pattern table gives them on the pattern tests' own seeds.")
    edges = [f"`{k}` ends on the edge {e['edge']:g} of its search box; a quarter of the box beyond it "
             f"({e['beyond']:.4g}, the others held) the loss is {e['loss_beyond']:.2g} against {record['loss']:.2g}, "
             f"so the box {'does not bind' if e['loss_beyond'] > record['loss'] else 'binds: widen it'}."
             for k, e in record.get("edges", {}).items()]
    return "\n".join([head, "", *rows, "", *figs, *([""] + edges if edges else [])])


def columns_block(page: str) -> str:
    """docs/results.md with its table of results columns regenerated from the registry (trustsim/columns.py)."""
    from trustsim.columns import markdown_table

    return replace_block(page, "columns", markdown_table())


def generated_tables(runs, seeds: int) -> dict[str, str]:
    """The blocks the pattern suite fills in: the pattern table (with the decomposition apart) and the partner
    advantage by horizon. ``tests/test_patterns.py`` renders them from its own runs and compares the README's."""
    from trustsim import patterns

    return {
        "patterns": patterns.markdown_table(patterns.evaluate(runs)) + "\n\nNot counted (a decomposition):\n\n"
        + patterns.markdown_table(patterns.decompose(runs)),
        "horizons": f"Partner advantage over {seeds} seeds (mean [95% interval]): market share per buyer, partner "
        "minus aggressive, in units of the equal share 1/n, and cumulative profit per buyer.\n\n"
        + patterns.horizons_table(runs),
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--params", action="store_true", help="only the parameter and column tables")
    ap.add_argument("--check", action="store_true", help="write nothing; exit 1 if a block is out of date")
    ap.add_argument("--seeds", type=int, default=30)
    args = ap.parse_args()
    from trustsim.params import schema_markdown

    odd = ROOT / "docs" / "ODD.md"
    text = replace_block(odd.read_text(), "params", schema_markdown())
    from trustsim.params import Params

    record = json.loads((ROOT / "docs" / "calibration.json").read_text())
    defaults = {k: float(Params().flat()[k]) for k in record["parameters"]}
    text = replace_block(text, "calibration", calibration_markdown(record, defaults))
    results = ROOT / "docs" / "results.md"
    results_text = columns_block(results.read_text())
    readme = ROOT / "README.md"
    readme_text = readme.read_text()
    if args.check:
        if not args.params:
            raise SystemExit("--check needs --params (the pattern table changes with every recalibration)")
        if text != odd.read_text():
            raise SystemExit("docs/ODD.md: the parameter table differs from the schema; "
                             "run: python scripts/update_docs.py --params")
        if results_text != results.read_text():
            raise SystemExit("docs/results.md: the results columns differ from trustsim/columns.py; "
                             "run: python scripts/update_docs.py --params")
        return
    if not args.params:
        from trustsim import patterns

        runs = patterns.run_all(Params(), seeds=args.seeds)
        table = generated_tables(runs, args.seeds)
        text = replace_block(text, "patterns", table["patterns"])
        for name, body in table.items():
            if f"<!-- {name}:begin -->" in readme_text:
                readme_text = replace_block(readme_text, name, body)
    odd.write_text(text)
    results.write_text(results_text)
    readme.write_text(readme_text)


if __name__ == "__main__":
    main()
