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


def _ratio(num, den):
    return num / den if den > 0 else 0.0


def step_measurements(model) -> np.ndarray:
    """The contract's columns for this step, one row per group (partner, aggressive, all)."""
    mk, ev = model.market, model.ev
    k = mk.k
    purchasing = ev.nonproductive + model.params.time.h_inspect * ev.inspected
    tco = sum(model.cost_parts.values())
    per_rel = {  # relationship arrays summed per buyer (then per group)
        "tco": tco, "nonprod": ev.nonproductive, "prod": ev.productive, "inspected": ev.inspected,
        "purchasing": purchasing, "units": model.volume, "trust_b": mk.trust_b, "trust_s": mk.trust_s,
        "defect_rate": mk.defect_rate(), "complaints": ev.complained,
        **{f"cost_{c}": v for c, v in model.cost_parts.items()},
    }
    buyer_sums = {name: mk.per_buyer(np.asarray(v, dtype=float)) for name, v in per_rel.items()}
    per_buyer_ideas = mk.per_buyer(ev.supplier_ideas.astype(float))
    rows = np.zeros((len(GROUPS), len(COLUMNS)))
    masks = (mk.is_partner, ~mk.is_partner, np.ones(mk.n_buyers, dtype=bool))
    col = {c: i for i, c in enumerate(COLUMNS)}
    for g, mask in enumerate(masks):
        n = int(mask.sum())
        row = rows[g]
        row[col["buyers"]] = n
        if n == 0:
            continue
        mean_per_slot = lambda name: buyer_sums[name][mask].sum() / (n * k)  # noqa: E731
        row[col["component_price"]] = mean_per_slot("cost_price")
        row[col["tco_per_unit"]] = mean_per_slot("tco")
        for c in COST_PARTS:
            row[col[f"cost_{c}"]] = mean_per_slot(f"cost_{c}")
        nonprod, prod = buyer_sums["nonprod"][mask].sum(), buyer_sums["prod"][mask].sum()
        row[col["nonproductive_share"]] = _ratio(nonprod, nonprod + prod)
        row[col["inspection_rate"]] = mean_per_slot("inspected")
        row[col["units_per_purchasing_hour"]] = _ratio(buyer_sums["units"][mask].sum(), buyer_sums["purchasing"][mask].sum())
        row[col["ideas_received"]] = per_buyer_ideas[mask].mean()
        row[col["ideas_received_cum"]] = mk.ideas_received[mask].mean()
        row[col["trust_buyer"]] = mean_per_slot("trust_b")
        row[col["trust_supplier"]] = mean_per_slot("trust_s")
        row[col["defect_rate"]] = mean_per_slot("defect_rate")
        row[col["market_share"]] = mk.share[mask].sum()
        row[col["profit"]] = mk.profit[mask].mean()
        row[col["profit_cum"]] = mk.profit_cum[mask].mean()
        row[col["complaints"]] = buyer_sums["complaints"][mask].sum()
        row[col["exits_low_trust"]] = ev.exit_low[mask].sum()
        row[col["exits_silent"]] = ev.exit_silent[mask].sum()
        row[col["exits_outbid"]] = ev.exit_outbid[mask].sum()
        row[col["exits_bankruptcy"]] = ev.exit_bankrupt[mask].sum()
        row[col["bankruptcies"]] = ev.bankruptcies
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

    FIELDS = ("steps", "trust_b", "nonproductive", "productive", "inspected", "lots", "units", "purchasing",
              "ideas", "tco", "price")

    def __init__(self, n_buyers: int, start_step: int):
        self.start_step = start_step
        self.sums = {f: np.zeros(n_buyers) for f in self.FIELDS}

    def add(self, model) -> None:
        if model.steps <= self.start_step:
            return
        mk, ev, s = model.market, model.ev, self.sums
        k = mk.k
        s["steps"] += 1
        s["trust_b"] += mk.per_buyer(mk.trust_b) / k
        s["nonproductive"] += mk.per_buyer(ev.nonproductive)
        s["productive"] += mk.per_buyer(ev.productive)
        s["inspected"] += mk.per_buyer(ev.inspected.astype(float))
        s["lots"] += k
        s["units"] += mk.per_buyer(model.volume)
        s["purchasing"] += mk.per_buyer(ev.nonproductive + model.params.time.h_inspect * ev.inspected)
        s["ideas"] += mk.per_buyer(ev.supplier_ideas.astype(float))
        s["tco"] += mk.per_buyer(sum(model.cost_parts.values())) / k
        s["price"] += mk.per_buyer(mk.price) / k

    def frame(self, model):
        """Per buyer: posture, long-run trust, non-productive share, inspection rate, units per hour…"""
        import pandas as pd

        s, mk = self.sums, model.market
        steps = np.maximum(s["steps"], 1)
        hours = s["nonproductive"] + s["productive"]
        return pd.DataFrame({
            "buyer": np.arange(mk.n_buyers),
            "posture": np.where(mk.is_partner, "partner", "aggressive"),
            "trust": s["trust_b"] / steps,
            "nonproductive_share": np.divide(s["nonproductive"], hours, out=np.zeros_like(hours), where=hours > 0),
            "inspection_rate": np.divide(s["inspected"], s["lots"], out=np.zeros_like(hours), where=s["lots"] > 0),
            "units_per_purchasing_hour": np.divide(s["units"], s["purchasing"], out=np.zeros_like(hours),
                                                   where=s["purchasing"] > 0),
            "ideas_per_step": s["ideas"] / steps,
            "component_price": s["price"] / steps,
            "tco_per_unit": s["tco"] / steps,
            "own_cost": mk.own_cost,
            "market_share": mk.share,
            "profit_cum": mk.profit_cum,
        })
