"""``trustsim columns``: print the results columns of ``timeseries.csv`` (the registry in ``trustsim/columns.py``)."""

from __future__ import annotations

NAME = "columns"
HELP = "print the results columns: name, unit, aggregation, meaning"


def arguments(p) -> None:
    """The arguments of ``trustsim columns``."""
    p.add_argument("--markdown", action="store_true", help="as a Markdown table (docs/results.md's table of columns)")


def handle(args) -> int:
    """Print every results column with its unit, how runs are summarised and its meaning; exit 0."""
    # here, not at the top: `trustsim --help` imports this module
    from .. import columns

    if args.markdown:
        print(columns.markdown_table(), end="")
        return 0
    rows = [(c.name, c.unit, columns.HOW_TEXT[c.how], c.meaning) for c in columns.COLUMNS]
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    for row in rows:
        print("  ".join(f"{x:<{w}}" for x, w in zip(row, widths, strict=False)) + "  " + row[3])
    return 0
