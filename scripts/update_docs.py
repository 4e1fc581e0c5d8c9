"""Regenerate the generated blocks of docs/ODD.md and README.md: the parameter table and the pattern table.

    python scripts/update_docs.py            # both (the pattern suite takes a few seconds)
    python scripts/update_docs.py --params   # the parameter table only
    python scripts/update_docs.py --params --check   # exit 1 if the parameter table is out of date
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def replace_block(text: str, name: str, body: str) -> str:
    pattern = re.compile(rf"(<!-- {name}:begin -->\n).*?(<!-- {name}:end -->)", re.S)
    if not pattern.search(text):
        raise SystemExit(f"no <!-- {name}:begin/end --> block")
    return pattern.sub(lambda m: m.group(1) + body.rstrip() + "\n" + m.group(2), text)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--params", action="store_true", help="only the parameter table")
    ap.add_argument("--check", action="store_true", help="write nothing; exit 1 if a block is out of date")
    ap.add_argument("--seeds", type=int, default=10)
    args = ap.parse_args()
    from trustsim.params import schema_markdown

    odd = ROOT / "docs" / "ODD.md"
    text = replace_block(odd.read_text(), "params", schema_markdown())
    if args.check:
        if not args.params:
            raise SystemExit("--check needs --params (the pattern table changes with every recalibration)")
        if text != odd.read_text():
            raise SystemExit("docs/ODD.md: the parameter table differs from the schema; "
                             "run: python scripts/update_docs.py --params")
        return
    if not args.params:
        from trustsim import patterns
        from trustsim.params import Params

        table = patterns.markdown_table(patterns.evaluate(patterns.run_all(Params(), seeds=args.seeds)))
        text = replace_block(text, "patterns", table)
        readme = ROOT / "README.md"
        if "<!-- patterns:begin -->" in readme.read_text():
            readme.write_text(replace_block(readme.read_text(), "patterns", table))
    odd.write_text(text)


if __name__ == "__main__":
    main()
