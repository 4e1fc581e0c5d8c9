"""``trustsim params``: print the parameter schema."""

from __future__ import annotations

NAME = "params"
HELP = "print the parameter schema"


def arguments(p) -> None:
    """The arguments of ``trustsim params``."""
    p.add_argument("--markdown", action="store_true", help="as a Markdown table")


def handle(args) -> int:
    """Print every parameter with its default, range, unit and meaning (the schema in ``params.py``); exit 0."""
    # here, not at the top: `trustsim --help` imports this module
    from ..schema_table import schema_markdown, schema_rows

    if args.markdown:
        print(schema_markdown())
        return 0
    rows = schema_rows()
    wk = max(len(r["key"]) for r in rows)
    wd = max(len(str(r["default"])) for r in rows)
    for r in rows:
        print(f"{r['key']:<{wk}}  {str(r['default']):<{wd}}  [{r['range']}] {r['unit']}  {r['meaning']}")
    return 0
