"""Markdown tables as the reports write them (calibration.md, structures.md, regimes.md), drawn one way."""

from __future__ import annotations

from collections.abc import Iterable, Sequence


def table_lines(header: Sequence[str], rows: Iterable[Sequence[str]]) -> list[str]:
    """A Markdown table's lines: ``header``, the rule under it, then one line per row of cells (already text)."""
    return ["| " + " | ".join(header) + " |", "|" + "---|" * len(header),
            *("| " + " | ".join(cells) + " |" for cells in rows)]
