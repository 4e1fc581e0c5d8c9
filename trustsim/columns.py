"""The results columns of ``timeseries.csv``, each declared once.

A column has a name, a unit, a one-line meaning, how it aggregates over a group of buyers and where
its value comes from (an array expression over the market's state and this step's events). The
recorder (``metrics.py``), ``summary.json``, the README's results table, ``trustsim columns``, the
DataCollector's reporters and the app's figures are all derived from this list: a new column is one
``Column(...)`` line here.

Aggregations (``how``), for a group of buyers (partner, aggressive, all):

- ``buyers``: the number of buyers in the group;
- ``mean``: mean over the group's relationships (slots);
- ``ratio``: the group's total of ``value`` over its total of ``over`` (0 when that is 0);
- ``per_buyer``: the group's total over its number of buyers;
- ``total``: the group's total (``count`` columns are whole numbers);
- ``market``: one figure for the whole market, the same in every group.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .state import COST_PARTS, market_means, per_market_mean

HOWS = ("buyers", "mean", "ratio", "per_buyer", "total", "market")
HOW_TEXT = {
    "buyers": "number of buyers", "mean": "mean over relationships", "ratio": "ratio of group totals",
    "per_buyer": "per buyer", "total": "group total", "market": "whole market",
}
UNIT_FORMATS = {"money/unit": "{:.4f}", "money": "{:,.0f}", "money/step": "{:,.0f}", "ideas": "{:.2f}",
                "ideas/step": "{:.2f}"}  # other units: three decimals


@dataclass(frozen=True)
class Column:
    """One results column: ``value(model)`` gives an array per relationship (``on="relationships"``) or per
    buyer (``on="buyers"``), or one number per market (``on="market"``); ``over`` (ratios) the arrays whose
    group totals, added, divide it."""

    name: str
    unit: str
    meaning: str
    how: str
    value: Callable
    on: str = "relationships"
    over: tuple[Callable, ...] = ()
    count: bool = False        # a whole number in the tables
    key_figure: bool = False   # reported by the DataCollector and shown in the app's key figures
    label: str = ""            # a short name for tables and charts; by default the meaning without its claims

    @property
    def title(self) -> str:
        """The column's short name: ``label``, else its meaning without a trailing "(S…)" citation."""
        return self.label or re.sub(r"\s*\(S\d+[^)]*\)$", "", self.meaning)

    @property
    def unit_text(self) -> str:
        """The unit as the app shows it beside the short name: figures per buyer say so ("ideas per buyer")."""
        return f"{self.unit} per buyer" if self.how == "per_buyer" else self.unit

    @property
    def number_format(self) -> str:
        """How tables write a value: counts whole, money to the unit (both in thousands: 100,000), rates by their
        unit's precision."""
        return "{:,.0f}" if self.count else UNIT_FORMATS.get(self.unit, "{:.3f}")

    def format(self, value: float) -> str:
        """A value as tables show it (``number_format``); "–" for a figure a group without buyers does not have
        (NaN)."""
        return "–" if value != value else self.number_format.format(value)


def _ev(name):
    return lambda m: getattr(m.ev, name)


def _mk(name):
    return lambda m: getattr(m.market, name)


def purchasing_hours(m):
    """Purchasing workload: non-productive hours plus inspection hours (P4's productivity measure)."""
    return m.ev.nonproductive + m.pp.rel.time.h_inspect * m.ev.inspected


def _active_integrity(mk) -> np.ndarray:
    """Per market: mean integrity of the suppliers that hold at least one relationship (of all its suppliers when
    none does)."""
    held = np.bincount(mk.sup[~mk.vacant], minlength=mk.n_suppliers) > 0
    return per_market_mean(mk.integrity, held, mk, empty=market_means(mk.integrity, mk))


COST_TEXT = {  # part: (short name, meaning)
    "price": ("price", "component price"), "transaction": ("transaction", "non-productive face-to-face hours, priced"),
    "inspection": ("inspection", "inspection"), "failure": ("field failures", "field failures of defects not found"),
    "service_fee": ("service fees", "service billed per call"),
    "downtime": ("downtime", "downtime from service shortfalls"),
    "mismatch": ("spec mismatch", "unanticipated specification changes"),
    "switching": ("switching", "switching suppliers"),
}

COLUMNS: tuple[Column, ...] = (
    Column("buyers", "buyers", "buyers in the group", "buyers", lambda m: np.ones(m.market.n_buyers, dtype=bool),
           on="buyers", count=True, label="buyers"),
    Column("component_price", "money/unit", "component price paid", "mean", _ev("cost_price"), key_figure=True,
           label="component price"),
    Column("tco_per_unit", "money/unit", "total cost of ownership of components: the eight parts below", "mean",
           _ev("tco"), key_figure=True, label="cost of ownership per unit"),
    *(Column(f"cost_{part}", "money/unit", f"cost of ownership: {COST_TEXT[part][1]}", "mean", _ev(f"cost_{part}"),
             label=COST_TEXT[part][0]) for part in COST_PARTS),
    Column("nonproductive_share", "share", "non-productive share of face-to-face hours with suppliers (S16)",
           "ratio", _ev("nonproductive"), over=(_ev("nonproductive"), _ev("productive")), key_figure=True,
           label="non-productive share of hours"),
    Column("inspection_rate", "share", "share of lots inspected (S17)", "mean", _ev("inspected"), key_figure=True),
    Column("units_per_purchasing_hour", "units/hour", "units bought per purchasing hour (S17)", "ratio",
           _ev("volume"), over=(purchasing_hours,)),
    Column("ideas_received", "ideas/step", "supplier ideas received this step", "per_buyer",
           lambda m: m.market.per_buyer(m.ev.supplier_ideas), on="buyers"),
    Column("ideas_received_cum", "ideas", "supplier ideas received since the start", "per_buyer",
           _mk("ideas_received"), on="buyers", key_figure=True, label="ideas received to date"),
    Column("trust_buyer", "trust", "buyers' trust in their suppliers", "mean", _mk("trust_b"), key_figure=True),
    Column("trust_supplier", "trust", "suppliers' trust in their buyers", "mean", _mk("trust_s"), key_figure=True),
    Column("defect_rate", "probability", "defect probability of a lot at full effort", "mean",
           lambda m: m.market.defect_rate()),
    Column("integrity", "share", "hidden integrity θ of the suppliers the group buys from (not seen by agents)", "mean",
           lambda m: m.market.integrity[m.market.sup]),
    Column("reputation", "trust", "reputation of the suppliers the group buys from, at this step's sourcing", "mean",
           lambda m: m.ev.reputation[m.market.sup]),
    Column("audit_rate", "share", "share of relationships whose costs were audited (cost-plus only)", "mean",
           _ev("audited")),
    Column("padding_found", "relationships", "audits that found padded costs (refunded)", "total",
           _ev("padding_found"), count=True, label="padded costs found"),
    Column("fit", "cost factor", "suppliers' cost factor for the buyers' specifications (1: average fit)", "mean",
           _mk("fit")),
    Column("partner_terms_share", "share", "share of relationships on partner terms", "mean", _mk("partner_terms"),
           label="on partner terms"),
    Column("integrity_active", "share", "mean hidden integrity of the suppliers holding relationships (whole market)",
           "market", lambda m: _active_integrity(m.market), on="market", label="integrity of active suppliers"),
    Column("retail_price", "money/unit", "price of the final product (logit-Nash)", "per_buyer", _mk("retail_price"),
           on="buyers"),
    Column("market_share", "share", "share of the final-product market", "total", _mk("share"), on="buyers",
           key_figure=True, label="market share"),
    Column("profit", "money/step", "profit this step", "per_buyer", _mk("profit"), on="buyers"),
    Column("profit_cum", "money", "profit since the start", "per_buyer", _mk("profit_cum"), on="buyers",
           key_figure=True, label="profit to date"),
    Column("complaints", "complaints", "complaints voiced this step", "total", _ev("complained"), count=True,
           label="complaints"),
    Column("exits_low_trust", "relationships", "relationships the buyer left on low trust", "total",
           _ev("exit_low"), on="buyers", count=True, label="exits for low trust"),
    Column("exits_silent", "relationships",
           "relationships the buyer left silently, on unvoiced dissatisfaction above the exit level (S7)", "total",
           _ev("exit_silent"), on="buyers", count=True, label="silent exits"),
    Column("exits_outbid", "relationships", "relationships lost to a cheaper rival at a rebid", "total",
           _ev("exit_outbid"), on="buyers", count=True, label="exits outbid"),
    Column("exits_bankruptcy", "relationships", "relationships ended by the supplier's bankruptcy", "total",
           _ev("exit_bankrupt"), on="buyers", count=True, label="exits by bankruptcy"),
    Column("bankruptcies", "suppliers", "suppliers gone bankrupt this step (whole market)", "market",
           _ev("bankruptcies"), on="market", count=True, label="bankruptcies"),
)

COLUMN_NAMES: tuple[str, ...] = tuple(c.name for c in COLUMNS)
BY_NAME: dict[str, Column] = {c.name: c for c in COLUMNS}
KEY_FIGURES: tuple[str, ...] = tuple(c.name for c in COLUMNS if c.key_figure)
COUNT_COLUMNS: tuple[str, ...] = tuple(c.name for c in COLUMNS if c.count)
assert all(c.how in HOWS for c in COLUMNS) and len(set(COLUMN_NAMES)) == len(COLUMN_NAMES)


def markdown_table() -> str:
    """The columns as a Markdown table (README's results section and ``trustsim columns --markdown``)."""
    lines = ["| column | unit | aggregation | meaning |", "|---|---|---|---|"]
    lines += [f"| `{c.name}` | {c.unit} | {HOW_TEXT[c.how]} | {c.meaning} |" for c in COLUMNS]
    return "\n".join(lines) + "\n"
