"""What is measured each step (MODEL.md section 6), by posture and for the market.

Every figure is an array expression over the model's state and this step's events: no per-agent
reporters, so measuring a market of 100 000 buyers costs a few bincounts. ``Recorder`` keeps one
row per step and group in a preallocated array; ``BuyerAccumulator`` keeps each buyer's long-run
sums (second half of the run) for the per-agent outputs and the quintile patterns (P3, P4).
"""

from __future__ import annotations

import numpy as np

GROUPS = ("partner", "aggressive", "all")
COST_PARTS = ("price", "transaction", "inspection", "failure", "service_fee", "downtime", "mismatch", "switching")
COLUMNS = (
    "buyers", "component_price", "tco_per_unit",
    *(f"cost_{c}" for c in COST_PARTS),
    "nonproductive_share", "inspection_rate", "units_per_purchasing_hour", "ideas_received", "ideas_received_cum",
    "trust_buyer", "trust_supplier", "defect_rate", "market_share", "profit", "profit_cum", "complaints",
    "exits_low_trust", "exits_silent", "exits_outbid", "exits_bankruptcy", "bankruptcies",
)
TIMESERIES_HEADER = ("step", "group", *COLUMNS)
SHORT_RUN_STEPS = 8


REL_FIELDS = ("tco", *(f"cost_{c}" for c in COST_PARTS), "nonprod", "prod", "inspected", "purchasing", "units",
              "trust_b", "trust_s", "defect_rate", "complaints")
BUYER_FIELDS = ("buyers", "ideas", "ideas_cum", "share", "profit", "profit_cum", "exit_low", "exit_silent",
                "exit_outbid", "exit_bankrupt")
_COL = {c: i for i, c in enumerate(COLUMNS)}


def step_measurements(model) -> np.ndarray:
    """The contract's columns for this step, one row per group (partner, aggressive, all).

    Group sums of every field come from two matrix products (groups × relationships, groups × buyers),
    so measuring costs the same few calls whatever the market's size.
    """
    mk, ev = model.market, model.ev
    partner_b = mk.is_partner.astype(float)
    groups_b = np.stack([partner_b, 1.0 - partner_b, np.ones(mk.n_buyers)])          # (3, buyers)
    groups_r = np.repeat(groups_b, mk.k, axis=1)                                        # (3, relationships)
    parts = model.cost_parts
    rel = np.stack([
        sum(parts.values()), *(parts[c] for c in COST_PARTS), ev.nonproductive, ev.productive, ev.inspected,
        ev.nonproductive + model.params.time.h_inspect * ev.inspected, model.volume, mk.trust_b, mk.trust_s,
        mk.defect_rate(), ev.complained,
    ])
    buy = np.stack([
        np.ones(mk.n_buyers), mk.per_buyer(ev.supplier_ideas), mk.ideas_received, mk.share, mk.profit,
        mk.profit_cum, ev.exit_low, ev.exit_silent, ev.exit_outbid, ev.exit_bankrupt,
    ])
    R = dict(zip(REL_FIELDS, rel @ groups_r.T))     # each: sums for the three groups
    B = dict(zip(BUYER_FIELDS, buy @ groups_b.T))
    n = B["buyers"]
    slots = np.maximum(n * mk.k, 1)
    per_buyer = np.maximum(n, 1)
    hours = R["nonprod"] + R["prod"]
    rows = np.zeros((len(GROUPS), len(COLUMNS)))
    rows[:, _COL["buyers"]] = n
    rows[:, _COL["component_price"]] = R["cost_price"] / slots
    rows[:, _COL["tco_per_unit"]] = R["tco"] / slots
    for c in COST_PARTS:
        rows[:, _COL[f"cost_{c}"]] = R[f"cost_{c}"] / slots
    rows[:, _COL["nonproductive_share"]] = np.divide(R["nonprod"], hours, out=np.zeros(3), where=hours > 0)
    rows[:, _COL["inspection_rate"]] = R["inspected"] / slots
    rows[:, _COL["units_per_purchasing_hour"]] = np.divide(R["units"], R["purchasing"], out=np.zeros(3),
                                                           where=R["purchasing"] > 0)
    rows[:, _COL["ideas_received"]] = B["ideas"] / per_buyer
    rows[:, _COL["ideas_received_cum"]] = B["ideas_cum"] / per_buyer
    rows[:, _COL["trust_buyer"]] = R["trust_b"] / slots
    rows[:, _COL["trust_supplier"]] = R["trust_s"] / slots
    rows[:, _COL["defect_rate"]] = R["defect_rate"] / slots
    rows[:, _COL["market_share"]] = B["share"]
    rows[:, _COL["profit"]] = B["profit"] / per_buyer
    rows[:, _COL["profit_cum"]] = B["profit_cum"] / per_buyer
    rows[:, _COL["complaints"]] = R["complaints"]
    rows[:, _COL["exits_low_trust"]] = B["exit_low"]
    rows[:, _COL["exits_silent"]] = B["exit_silent"]
    rows[:, _COL["exits_outbid"]] = B["exit_outbid"]
    rows[:, _COL["exits_bankruptcy"]] = B["exit_bankrupt"]
    rows[:, _COL["bankruptcies"]] = ev.bankruptcies
    rows[n == 0, 1:] = 0.0  # an empty group reports nothing but its size
    return rows


class Recorder:
    """One row per step and group, preallocated and grown by doubling for open-ended runs."""

    def __init__(self, expected_steps: int):
        self.data = np.zeros((max(expected_steps, 1), len(GROUPS), len(COLUMNS)))
        self.n = 0

    def append(self, rows: np.ndarray) -> None:
        if self.n == len(self.data):
            self.data = np.concatenate([self.data, np.zeros_like(self.data)])
        self.data[self.n] = rows
        self.n += 1

    @property
    def rows(self) -> np.ndarray:
        return self.data[: self.n]

    def latest(self, group: str, column: str) -> float:
        if self.n == 0:
            return 0.0
        return float(self.data[self.n - 1, GROUPS.index(group), COLUMNS.index(column)])

    def summary(self) -> dict:
        """``long_run`` (means over the second half) and ``short_run`` (first 8 steps), by group."""
        rows = self.rows
        n = len(rows)
        spans = {"long_run": rows[n // 2:] if n > 1 else rows, "short_run": rows[:SHORT_RUN_STEPS]}
        return {name: {g: dict(zip(COLUMNS, (float(x) for x in span[:, i].mean(axis=0))))
                       for i, g in enumerate(GROUPS)} for name, span in spans.items() if len(span)}

    def frame(self):
        """The time series as a tidy table: one row per step and group."""
        import pandas as pd

        rows = self.rows
        n = len(rows)
        df = pd.DataFrame(rows.reshape(n * len(GROUPS), len(COLUMNS)), columns=COLUMNS)
        df.insert(0, "group", np.tile(GROUPS, n))
        df.insert(0, "step", np.repeat(np.arange(1, n + 1), len(GROUPS)))
        for c in ("buyers", "complaints", "exits_low_trust", "exits_silent", "exits_outbid", "exits_bankruptcy",
                  "bankruptcies"):
            df[c] = df[c].astype(np.int64)
        return df


class BuyerAccumulator:
    """Each buyer's sums over the long run (second half of the run): trust, hours, lots, units, ideas."""

    FIELDS = ("trust_b", "nonproductive", "productive", "inspected", "units", "purchasing", "ideas", "tco", "price")

    def __init__(self, n_buyers: int, start_step: int):
        self.start_step = start_step
        self.steps = 0
        self.matrix = np.zeros((len(self.FIELDS), n_buyers))

    def add(self, model) -> None:
        if model.steps <= self.start_step:
            return
        mk, ev = model.market, model.ev
        k = mk.k
        rel = np.stack([
            mk.trust_b / k, ev.nonproductive, ev.productive, ev.inspected, model.volume,
            ev.nonproductive + model.params.time.h_inspect * ev.inspected, ev.supplier_ideas,
            sum(model.cost_parts.values()) / k, mk.price / k,
        ])
        for j in range(k):  # strided adds: far faster than a reduction over a short axis
            self.matrix += rel[:, j::k]
        self.steps += 1

    def frame(self, model):
        """Per buyer: posture, long-run trust, non-productive share, inspection rate, units per hour…"""
        import pandas as pd

        s, mk = dict(zip(self.FIELDS, self.matrix)), model.market
        steps = max(self.steps, 1)
        lots = float(self.steps * mk.k)
        hours = s["nonproductive"] + s["productive"]
        return pd.DataFrame({
            "buyer": np.arange(mk.n_buyers),
            "posture": np.where(mk.is_partner, "partner", "aggressive"),
            "trust": s["trust_b"] / steps,
            "nonproductive_share": np.divide(s["nonproductive"], hours, out=np.zeros_like(hours), where=hours > 0),
            "inspection_rate": s["inspected"] / lots if lots else np.zeros_like(hours),
            "units_per_purchasing_hour": np.divide(s["units"], s["purchasing"], out=np.zeros_like(hours),
                                                   where=s["purchasing"] > 0),
            "ideas_per_step": s["ideas"] / steps,
            "component_price": s["price"] / steps,
            "tco_per_unit": s["tco"] / steps,
            "own_cost": mk.own_cost,
            "market_share": mk.share,
            "profit_cum": mk.profit_cum,
        })
