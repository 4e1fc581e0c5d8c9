"""The core rules written the plain Mesa way, one agent's ``step`` at a time: a baseline and a cross-check.

Phases 2–4 and 8 of docs/ODD.md — sourcing and pricing (exits on low trust, aggressive rebids with
play-off, partner cost-plus), supplier conduct, inspection with hidden quality, the trust update —
each buyer running them for its own slots with Python objects and one random draw at a time.

The engine computes the same thing when the other mechanisms are neutralised by parameters
(``NEUTRAL``): no service needs (no gaps, complaints or silent exits), no ideas (costs and defect
rates constant), no uncertainty, no links, silence-triggered attention (no erosion), suppliers too rich
to go bankrupt. Prices, trust and inspection then depend on these four phases only, so the two
implementations must agree on their long-run means within sampling error (``tests/model/test_naive_reference.py``).

Run alone, it times the reference on one market and prints its buyer-steps per second and its long-run
means by posture (component price, buyer trust, inspection rate):

    python benchmarks/naive_reference.py --buyers 1000 --steps 120
"""

from __future__ import annotations

import argparse
import time

import mesa

from trustsim.errors import ParamError
from trustsim.params import Params

NEUTRAL = {
    "service.service_need": 0.0, "innovation.idea_rate": 0.0, "innovation.process_idea_rate": 0.0,
    "market.uncertainty": 0.0, "linkage.linkage_age": 1_000_000, "suppliers.attention_policy": "silence",
    "suppliers.supplier_cash": 1e12, "suppliers.integrity_sd": 0.0, "suppliers.padding_max": 0.0,
    "buyers.tco_weight": 0.0, "buyers.word_of_mouth": 0.0, "market.fit_spread": 0.0,
}


def neutral_params(**changes) -> Params:
    return Params().replace(**NEUTRAL, **changes)


class NaiveSupplier(mesa.Agent):
    def __init__(self, model):
        super().__init__(model)
        s = model.p.suppliers
        self.unit_cost = max(model.rng.normal(s.cost_mean, s.cost_sd), 0.5)
        self.quality = min(max(model.rng.normal(s.quality, 0.01), 0.8), 1.0)
        self.integrity = s.integrity_mean


class NaiveBuyer(mesa.Agent):
    def __init__(self, model, partner: bool):
        super().__init__(model)
        self.partner = partner
        self.rebid_phase = int(model.rng.integers(0, model.p.buyers.rebid_interval))
        self.slots: list[dict] = []

    # -- helpers ------------------------------------------------------------------------------
    def best_quote(self, barred):
        p, rng, sups = self.model.p, self.model.rng, self.model.suppliers_list
        best = None
        for _ in range(p.buyers.n_bids):
            s = sups[int(rng.integers(0, len(sups)))]
            m = rng.uniform(p.prices.min_markup, p.prices.fair_markup)
            if s in barred:
                continue
            q = s.unit_cost * (1 + m)
            if best is None or q < best[0]:
                best = (q, s)
        return best

    def new_slot(self, barred):
        found = self.best_quote(barred)
        t = self.model.p.trust
        q, s = found if found else (None, self.model.suppliers_list[0])
        seen = min(max(1 - t.initial / t.no_inspection_trust, 0.0), 1.0) if t.no_inspection_trust > 0 else 0.0
        return {"supplier": s, "price": q, "trust_b": t.initial, "trust_s": t.initial, "seen": seen}

    def price_partner(self, slot):
        p = self.model.p
        slot["price"] = slot["supplier"].unit_cost * (1 + p.prices.fair_markup)

    # -- the step: phases 2, 3, 4, 8 for this buyer's slots -------------------------------------
    def step(self):
        p, rng = self.model.p, self.model.rng
        for i, slot in enumerate(self.slots):
            others = [s["supplier"] for j, s in enumerate(self.slots) if j != i]
            played_off = False
            if slot["trust_b"] < p.buyers.exit_threshold:                       # exit on low trust
                self.slots[i] = slot = self.new_slot(others + [slot["supplier"]])
            elif not self.partner and (self.model.steps + self.rebid_phase) % p.buyers.rebid_interval == 0:
                found = self.best_quote(others)                                  # rebid: play-off
                if found and found[1] is not slot["supplier"]:
                    q, rival = found
                    if q < slot["price"] and slot["supplier"].unit_cost * (1 + p.prices.min_markup) > q:
                        self.slots[i] = slot = {**self.new_slot([]), "supplier": rival, "price": q}
                    else:
                        slot["price"] = min(slot["price"], q)
                        slot["trust_s"] -= p.trust.playoff_penalty * slot["trust_s"]
                        played_off = True
                elif found:
                    slot["price"] = min(slot["price"], found[0])
            if self.partner:
                self.price_partner(slot)
            s = slot["supplier"]                                                # conduct
            theta = s.integrity
            shirk = rng.random() < (1 - theta) * (1 - slot["seen"]) * (1 - theta * slot["trust_s"])
            p_def = min((1 - s.quality) + (p.suppliers.shirk_defect if shirk else 0.0), 1.0)
            defect = rng.random() < p_def                                        # inspection
            x = p.trust.no_inspection_trust
            inspected = rng.random() < (min(max(1 - slot["trust_b"] / x, 0.0), 1.0) if x > 0 else 0.0)
            slot["seen"] += p.quality.inspection_memory * (inspected - slot["seen"])
            t = slot["trust_b"]                                                  # trust update
            shares_plans = t >= p.trust.share_threshold and (self.partner or p.buyers.plan_sharing == "trust")
            t = t - p.trust.loss * t if defect else t + p.trust.gain * (1 - t)
            slot["trust_b"] = min(max(t, 0.0), 1.0)
            lo, hi = p.prices.min_markup, p.prices.fair_markup
            markup = slot["price"] / s.unit_cost - 1
            margin = (markup >= lo) * 1.0 if hi <= lo else min(max((markup - lo) / (hi - lo), 0.0), 1.0)
            if not played_off:
                slot["trust_s"] += p.trust.gain * margin * (1 - slot["trust_s"])
            if shares_plans:
                slot["trust_s"] += p.trust.gain * (1 - slot["trust_s"])
            slot["inspected"] = inspected


class NaiveMarket(mesa.Model):
    def __init__(self, params: Params, rng=0):
        super().__init__(rng=rng)
        self.p = params
        m = params.market
        self.suppliers_list = [NaiveSupplier(self) for _ in range(m.suppliers)]
        n_partners = round(params.buyers.partner_share * m.buyers)
        self.buyers_list = [NaiveBuyer(self, i < n_partners) for i in range(m.buyers)]
        for b in self.buyers_list:
            for _ in range(m.slots_per_buyer):
                b.slots.append(b.new_slot([s["supplier"] for s in b.slots]))
                if b.partner:
                    b.price_partner(b.slots[-1])
        self.datacollector = mesa.DataCollector(model_reporters={
            f"{what}_{name}": (lambda m, what=what, partner=partner: m.mean_over_slots(partner, what))
            for what in ("price", "trust_b", "inspected")
            for partner, name in ((True, "partner"), (False, "aggressive"))
        })

    def mean_over_slots(self, partner: bool, what: str) -> float:
        values = [slot[what] for b in self.buyers_list if b.partner == partner for slot in b.slots]
        return sum(values) / len(values) if values else 0.0

    def step(self):
        self.agents_by_type[NaiveBuyer].shuffle_do("step")
        self.datacollector.collect(self)

    def long_run(self) -> dict:
        """Means over the second half: component price, buyer trust and inspection rate, by posture."""
        df = self.datacollector.get_model_vars_dataframe()
        half = df.iloc[len(df) // 2:]
        out = {}
        for name in ("partner", "aggressive"):
            if any(b.partner == (name == "partner") for b in self.buyers_list):
                out[name] = {what: float(half[f"{what}_{name}"].mean()) for what in ("price", "trust_b", "inspected")}
        return out


def run(params: Params, seed: int) -> NaiveMarket:
    m = NaiveMarket(params, rng=seed)
    for _ in range(params.run.steps):
        m.step()
    return m


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--buyers", type=int, default=1000)
    ap.add_argument("--steps", type=int, default=120)
    args = ap.parse_args()
    try:
        p = neutral_params(**{"market.buyers": args.buyers, "market.suppliers": max(args.buyers // 20, 1),
                              "run.steps": args.steps})
    except ParamError as e:  # a size or a number of steps the model refuses
        ap.error(str(e))
    t0 = time.perf_counter()
    m = run(p, 1)
    dt = time.perf_counter() - t0
    print(f"naive reference: {args.buyers} buyers × {args.steps} steps in {dt:.2f} s "
          f"({args.buyers * args.steps / dt:,.0f} buyer-steps/s)")
    print(m.long_run())
