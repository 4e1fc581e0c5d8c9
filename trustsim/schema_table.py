"""The parameter schema as a reader sees it: one row per parameter with its default, range, unit and meaning
(``trustsim params``; the table in docs/ODD.md is ``schema_markdown()``)."""

from __future__ import annotations

from typing import Any

from .markdown import table_lines
from .params import GROUPS, MAX_SEED, MAX_SEED_TEXT, bounds, choices


def schema_rows() -> list[dict[str, Any]]:
    """One row per parameter: key, default, range, unit, meaning (for `trustsim params` and docs)."""
    rows = []
    for g, cls in GROUPS.items():
        for n, f in cls.model_fields.items():
            key = f"{g}.{n}"
            if f.annotation in (int, float):
                lo, hi = bounds(key)
                rng = f"{_fmt(lo)} … {_fmt(hi)}"
            elif f.annotation is bool:
                rng = "true / false"
            else:
                rng = " / ".join(choices(key))
            rows.append({"key": key, "default": f.default, "range": rng,
                         "unit": (f.json_schema_extra or {}).get("unit", ""), "meaning": f.description})
    return rows


def schema_markdown() -> str:
    """The schema as a Markdown table (``trustsim params --markdown``; docs/ODD.md embeds it)."""
    rows = []
    for r in schema_rows():
        default = str(r["default"]).lower() if isinstance(r["default"], bool) else r["default"]
        default = f'"{default}"' if isinstance(default, str) and r["unit"] == "policy" else default
        rows.append((f"`{r['key']}`", str(default), r["range"], r["unit"], r["meaning"]))
    return "\n".join(table_lines(("parameter", "default", "range", "unit", "meaning"), rows))


def _fmt(x) -> str:
    if x is None:
        return "∞"
    if isinstance(x, float) and (x >= 1e6 or (x != 0 and abs(x) < 1e-3)):
        return f"{x:g}"
    if isinstance(x, int) and x >= 10**6:
        return f"{x:,}".replace(",", " ") if x != MAX_SEED else MAX_SEED_TEXT
    return str(x)
