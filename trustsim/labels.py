"""Axis labels and titles in words: a parameter by its meaning and unit (the schema's), a results column by
its meaning and unit (``columns.py``), a partner advantage by its definition (``stats.ADVANTAGES``)."""

from __future__ import annotations

import math
import textwrap

from .columns import BY_NAME
from .params import GROUPS
from .stats import ADVANTAGES

WIDTH = 46  # characters per line of a label


def _wrap(text: str, width: int = WIDTH) -> str:
    return "\n".join(textwrap.wrap(text, width)) or text


def _with_unit(text: str, unit: str) -> str:
    return f"{text} ({unit})" if unit and unit not in text else text


def literal(text: str) -> str:
    """A name of the user's (a scenario's, from its file name) as Matplotlib draws it letter for letter: each ``$``
    escaped, so that ``fee_$5_vs_$10`` is not read as mathematics between two dollars (an error that stopped the
    figure) and ``a$\\alpha`` is not drawn as α."""
    return text.replace("$", r"\$")


def param_label(key: str, width: int = WIDTH) -> str:
    """``market.uncertainty`` → "σ: chance of a specification change per relationship and step
    (probability)": the schema's meaning up to its first semicolon, with the unit."""
    group, _, name = key.partition(".")
    field = GROUPS[group].model_fields.get(name) if group in GROUPS else None
    if field is None:
        return key
    meaning = (field.description or name).split(";")[0].strip()
    unit = (field.json_schema_extra or {}).get("unit", "")
    return _wrap(_with_unit(meaning, unit), width)


ADVANTAGE_SHORT = {"advantage.market_share": "partner advantage in market share",
                   "advantage.profit_cum": "partner advantage in cumulative profit",
                   "advantage.tco_per_unit": "partner advantage in cost of ownership"}
POSTURE_TEXT = {"partner": "partner buyers", "aggressive": "aggressive buyers", "all": "all buyers"}
# parameters on a figure's axis by name and symbol (not by their keys): the pattern, structures and regime figures
AXES = {"market.uncertainty": "environmental uncertainty σ", "suppliers.integrity_mean": "mean supplier integrity θ̄",
        "market.fit_spread": "fit spread (log cost)"}
TRUST_AXIS = "trust (0–1)"  # the trust figures' axis, a run's and a replications folder's alike


def trust_line_label(column: str, posture: str) -> str:
    """A trust line in words that say who trusts whom: ``trust_buyer`` of partner buyers → "partner buyers' trust
    in their suppliers", ``trust_supplier`` → "suppliers' trust in partner buyers" (not "partner (trust buyer)",
    which read as trust in the buyer, nor "partner buyer → supplier")."""
    buyers = POSTURE_TEXT.get(posture, posture)
    return f"{buyers}' trust in their suppliers" if column == "trust_buyer" else f"suppliers' trust in {buyers}"


def column_label(name: str, width: int = WIDTH) -> str:
    """A results column (``tco_per_unit``), a posture's column (``partner.market_share``) or a partner
    advantage (``advantage.profit_cum``) in words, with its unit; a figure per buyer or a group's total says so
    (``profit_cum``: "profit since the start, per buyer (money)")."""
    if name in ADVANTAGES:  # in its column's unit, before any remark (the share's, units of 1/n, is in its words)
        text, remark = ADVANTAGES[name], ""
        if name != "advantage.market_share":
            head, paren, tail = text.partition(" (")
            text, remark = f"{head}, in {BY_NAME[name.partition('.')[2]].unit}", paren + tail
        return _wrap("partner advantage: " + text + remark, width)
    posture, _, column = name.partition(".") if "." in name else ("", "", name)
    c = BY_NAME.get(column)
    if c is None:
        return name
    meaning = c.meaning.split(":")[0] if "below" in c.meaning else c.meaning  # not "the parts below"
    # how the group's figure is made, where a reader could take one for the other: a buyer's mean or the sum
    meaning += {"per_buyer": ", per buyer", "total": ", group total"}.get(c.how, "")
    text = _with_unit(meaning, c.unit)
    return _wrap(f"{text}, {POSTURE_TEXT.get(posture, posture)}" if posture else text, width)


def short_column_label(name: str) -> str:
    """A column's meaning in one short line (no unit, cut at a comma or parenthesis), for legends and tables."""
    if name in ADVANTAGES:
        return ADVANTAGE_SHORT.get(name, name)
    posture, _, column = name.partition(".") if "." in name else ("", "", name)
    c = BY_NAME.get(column)
    meaning = c.meaning.split(":")[0].split("(")[0].split(",")[0].strip() if c else column
    return f"{meaning}, {posture}" if posture else meaning


def plain_figure(value: float, digits: int = 2) -> str:
    """A figure's value in a heat map's cell to ``digits`` significant figures, without an exponent: -410, 33, 0.12
    (not -4.1e+02); "–" where the cell has none."""
    if not math.isfinite(value):
        return "–"
    rounded = float(f"{value:.{digits}g}")  # 9.96 → 10: the decimals are counted on the rounded value
    if rounded == 0:
        return "0"
    text = f"{rounded:.{max(digits - 1 - math.floor(math.log10(abs(rounded))), 0)}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text
