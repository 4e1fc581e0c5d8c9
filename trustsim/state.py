"""The model's declared state: the market's arrays and one step's events, every field documented.

``MarketState`` holds what lasts from step to step (per buyer, per supplier, per relationship);
``Events`` holds what happens within one step, written by the phases for later phases and for the
measurements, and cleared at the start of the next step. Both are slotted: a phase can only read and
write a declared field (assigning anything else raises ``AttributeError``), so this file is the one
place to look up what a name means. Relationship ``r`` is slot ``r % k`` of buyer ``r // k``.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field, fields
from typing import Protocol

import numpy as np

from .draws import REL_ROW, Draws
from .members import ParamSpace


def doc(meaning: str, per: str):
    """A declared field: its meaning and what it is indexed by (buyer, supplier, relationship, market)."""
    return field(metadata={"doc": meaning, "per": per})


@dataclass(slots=True, init=False, eq=False, repr=False)
class MarketState:
    """What the market carries from one step to the next (``docs/ODD.md`` section 2)."""

    # sizes and indices (of all markets together: an ensemble's members lie one after another)
    pp: ParamSpace = doc("the members' parameters, as seen per kind of element (read only; members.py)", "market")
    draws: Draws = doc("the members' counter-based random numbers (draws.py)", "market")
    members: int = doc("number of markets held side by side (1 for a single run)", "market")
    buyers_each: int = doc("buyers of each market", "market")
    suppliers_each: int = doc("suppliers of each market", "market")
    n_buyers: int = doc("number of buyers, all markets", "market")
    n_suppliers: int = doc("number of suppliers, all markets", "market")
    k: int = doc("supplier slots per buyer", "market")
    n_rel: int = doc("number of relationships (slots), n_buyers · k", "market")
    buyer_of: np.ndarray = doc("the buyer of each relationship, r // k", "relationship")
    slot_of: np.ndarray = doc("the slot of each relationship, r % k", "relationship")
    member_of_rel: np.ndarray = doc("the market of each relationship", "relationship")
    member_of_buyer: np.ndarray = doc("the market of each buyer", "buyer")
    member_of_supplier: np.ndarray = doc("the market of each supplier", "supplier")
    rel_local: np.ndarray = doc("the relationship's number within its market", "relationship")
    supplier_offset: np.ndarray = doc("global number of the first supplier of the relationship's market",
                                      "relationship")
    base_rel: np.ndarray = doc("counter base of draws per relationship (draws.Draws.base)", "relationship")
    base_buyer: np.ndarray = doc("counter base of draws per buyer", "buyer")
    base_supplier: np.ndarray = doc("counter base of draws per supplier", "supplier")
    base_market: np.ndarray = doc("counter base of draws per market", "market")
    base_bids: np.ndarray = doc("counter base of a relationship's table of bids: its first bid's (sourcing)",
                                "relationship")
    base_fits: np.ndarray = doc("counter base of a relationship's fits to each of its market's suppliers: supplier "
                                "0's", "relationship")

    # buyers
    is_partner: np.ndarray = doc("group: a partner buyer (its posture; under learning, most of its relationships "
                                 "on partner terms)", "buyer")
    attraction_partner: np.ndarray = doc("learned attraction of partner terms, money per unit (learning)", "buyer")
    attraction_market: np.ndarray = doc("learned attraction of market terms, money per unit (learning)", "buyer")
    rebid_phase: np.ndarray = doc("offset of the buyer's rebid calendar (rebids are staggered)", "buyer")
    share: np.ndarray = doc("market share of the final product", "buyer")
    own_cost0: np.ndarray = doc("own cost per unit of final product at the start", "buyer")
    own_cost: np.ndarray = doc("own cost per unit of final product, excluding components", "buyer")
    cash: np.ndarray = doc("cumulative profit kept as cash", "buyer")
    profit: np.ndarray = doc("profit this step", "buyer")
    profit_cum: np.ndarray = doc("profit since the start", "buyer")
    profit_since_imitation: np.ndarray = doc("profit since the last imitation round (adaptation)", "buyer")
    ideas_received: np.ndarray = doc("supplier ideas received since the start", "buyer")
    retail_price: np.ndarray = doc("price of the final product this step (logit-Nash, phase 11)", "buyer")
    mean_retail: np.ndarray = doc("mean final-product price of the last step (NaN before the first)", "market")

    # suppliers
    unit_cost: np.ndarray = doc("current unit cost", "supplier")
    cost_floor: np.ndarray = doc("unit cost reachable through process improvement", "supplier")
    quality: np.ndarray = doc("probability that a lot is conforming at full effort, at entry", "supplier")
    base_defect: np.ndarray = doc("current base defect rate (1 − quality, lowered by process ideas)", "supplier")
    base_defect0: np.ndarray = doc("base defect rate at entry", "supplier")
    alignment: np.ndarray = doc("match of delivery and service to what sales promised (S5)", "supplier")
    integrity: np.ndarray = doc("θ, hidden from the buyers: how far the supplier refrains from exploiting trust "
                                "(S14)", "supplier")
    supplier_cash: np.ndarray = doc("cash: financial health (S12)", "supplier")
    supplier_cash0: np.ndarray = doc("cash at entry", "supplier")
    cash_at_imitation: np.ndarray = doc("cash at the last imitation round (supplier imitation)", "supplier")
    policy: np.ndarray = doc("attention policy code (rules.PASSIVE, PERIODIC, SILENCE)", "supplier")

    # relationships
    sup: np.ndarray = doc("the supplier holding the slot", "relationship")
    partner_terms: np.ndarray = doc("on partner terms (cost-plus, service priced in, no rebids); else market terms",
                                    "relationship")
    value_sum: np.ndarray = doc("value per unit realised on the slot's terms since the last review, summed over "
                                "steps and the slot's relationships (learning; decision 42)", "relationship")
    value_steps: np.ndarray = doc("steps summed in value_sum", "relationship")
    vacant: np.ndarray = doc("the slot's relationship ended (bankruptcy) or never began", "relationship")
    trust_b: np.ndarray = doc("buyer's trust in its supplier, in [0, 1]", "relationship")
    trust_s: np.ndarray = doc("supplier's trust in its buyer, in [0, 1]", "relationship")
    price: np.ndarray = doc("component price per unit", "relationship")
    age: np.ndarray = doc("steps since the relationship began", "relationship")
    since_contact: np.ndarray = doc("steps since the supplier last heard from the buyer", "relationship")
    since_complaint: np.ndarray = doc("steps since the buyer's last complaint", "relationship")
    latent: np.ndarray = doc("unvoiced dissatisfaction built up (S7)", "relationship")
    linked: np.ndarray = doc("the supplier has invested in a link at the buyer (S8)", "relationship")
    defect_mult: np.ndarray = doc("this relationship's defect multiplier (1 at its start)", "relationship")
    inspection_seen: np.ndarray = doc("the supplier's estimate of how often this buyer inspects", "relationship")
    audit_seen: np.ndarray = doc("the supplier's estimate of how often this buyer audits its costs", "relationship")
    fit: np.ndarray = doc("cost factor of the supplier for this buyer's specification, exp(fit_spread · ε)",
                          "relationship")
    spec_epoch: np.ndarray = doc("the step of the slot's last specification change (0: the first one); with "
                                 "market.refit = current_spec, every supplier's fit is drawn for it", "relationship")
    pending_switching: np.ndarray = doc("switching cost per unit owed at the next sourcing (a bankrupt linked "
                                        "supplier's slot)", "relationship")


@dataclass(slots=True, eq=False, repr=False)
class Events:
    """What happened this step, per relationship unless said otherwise; cleared by phase 1."""

    uniforms: np.ndarray = doc("this step's uniform numbers per relationship, one row per site of draws.REL_SITES "
                               "(phase 1; read through Events.uniform)", "relationship")
    spec_change: np.ndarray = doc("a specification change (phase 1)", "relationship")
    rebid: np.ndarray = doc("a bid was run: a new relationship or an aggressive rebid (phase 2)", "relationship")
    played_off: np.ndarray = doc("the incumbent was made to match a rival's quote (phase 2)", "relationship")
    switching: np.ndarray = doc("switching cost per unit paid by the buyer (phase 2)", "relationship")
    reputation: np.ndarray = doc("mean trust of a supplier's customers at this step's sourcing (phase 2)",
                                 "supplier")
    padding: np.ndarray = doc("share by which the supplier padded the cost it reported (phase 2)", "relationship")
    shirked: np.ndarray = doc("the supplier cut corners on this lot (phase 3)", "relationship")
    defect: np.ndarray = doc("the lot was defective (phase 4)", "relationship")
    inspected: np.ndarray = doc("the buyer inspected the lot (phase 4)", "relationship")
    found: np.ndarray = doc("inspection found the defect; the lot went back (phase 4)", "relationship")
    audited: np.ndarray = doc("the buyer audited the cost-plus supplier's costs (phase 4)", "relationship")
    padding_found: np.ndarray = doc("the audit found padding, refunded (phase 4)", "relationship")
    need: np.ndarray = doc("service was needed (phase 5)", "relationship")
    gap: np.ndarray = doc("service shortfall against the promise (phase 5)", "relationship")
    unbundled: np.ndarray = doc("service is billed per call, not in the price (phase 2)", "relationship")
    complained: np.ndarray = doc("the buyer complained (phase 6)", "relationship")
    fixed: np.ndarray = doc("a complaint or surfaced dissatisfaction was fixed (phases 6, 7)", "relationship")
    unfixed_gap: np.ndarray = doc("dissatisfaction voiced or surfaced and left unfixed (phases 6, 7)",
                                  "relationship")
    contacted: np.ndarray = doc("the supplier contacted the buyer (phase 7)", "relationship")
    both_share: np.ndarray = doc("trust is high enough both ways to share plans and ideas (phase 9)",
                                 "relationship")
    supplier_ideas: np.ndarray = doc("ideas the supplier gave the buyer (phase 9)", "relationship")
    own_cost_cut: np.ndarray = doc("cut in the buyer's own cost per unit from this relationship's ideas (phase 9)",
                                   "relationship")
    process_ideas: np.ndarray = doc("process ideas the buyer gave the supplier (phase 9)", "relationship")
    unanticipated: np.ndarray = doc("a specification change the buyer had not shared (phase 9)", "relationship")
    new_link: np.ndarray = doc("the supplier invested in a link this step (phase 9)", "relationship")
    nonproductive: np.ndarray = doc("non-productive face-to-face hours (phase 10)", "relationship")
    productive: np.ndarray = doc("productive face-to-face hours (phase 10)", "relationship")
    cost_price: np.ndarray = doc("cost of ownership per unit: price (phase 11)", "relationship")
    cost_transaction: np.ndarray = doc("cost of ownership per unit: non-productive hours (phase 11)",
                                       "relationship")
    cost_inspection: np.ndarray = doc("cost of ownership per unit: inspection (phase 11)", "relationship")
    cost_failure: np.ndarray = doc("cost of ownership per unit: field failures (phase 11)", "relationship")
    cost_service_fee: np.ndarray = doc("cost of ownership per unit: service billed per call (phase 11)",
                                       "relationship")
    cost_downtime: np.ndarray = doc("cost of ownership per unit: downtime from service gaps (phase 11)",
                                    "relationship")
    cost_mismatch: np.ndarray = doc("cost of ownership per unit: unanticipated changes (phase 11)",
                                    "relationship")
    cost_switching: np.ndarray = doc("cost of ownership per unit: switching suppliers (phase 11)", "relationship")
    tco: np.ndarray = doc("cost of ownership per unit: the sum of the eight parts (phase 11)", "relationship")
    volume: np.ndarray = doc("units bought through the slot this step, share · D_t / k (phase 1)", "relationship")
    exit_low: np.ndarray = doc("relationships the buyer left on low trust (phase 2)", "buyer")
    exit_silent: np.ndarray = doc("relationships the buyer left silently (phase 2)", "buyer")
    exit_outbid: np.ndarray = doc("relationships lost to a cheaper rival at a rebid (phase 2)", "buyer")
    exit_bankrupt: np.ndarray = doc("relationships ended by the supplier's bankruptcy (phase 12)", "buyer")
    left_after: np.ndarray = doc("steps since the last complaint of a relationship the buyer left (phase 2); −1: "
                                 "not left", "relationship")
    entrants: np.ndarray = doc("suppliers replaced by entrants this step (phase 12)", "entrant")
    demand: np.ndarray = doc("final demand D_t this step (phase 1)", "market")
    bankruptcies: np.ndarray = doc("suppliers gone bankrupt this step (phase 12)", "market")
    paid_by_buyers: np.ndarray = doc("money buyers paid suppliers this step: price and service fees (phase 11)",
                                     "market")
    received_by_suppliers: np.ndarray = doc("money suppliers received this step (phase 12)", "market")

    @classmethod
    def cleared(cls, n_rel: int, n_buyers: int, members: int = 1, demand=0.0) -> Events:
        """This step's events before anything happened (figures per market: one per member).

        The relationship events a phase assigns whole start as one read-only zero array per type, shared, and
        shared from step to step (``_shared_zeros``): zeros to read until their phase, and a loud error for a
        phase that wrote into one before assigning it; so clearing a step allocates only the events phases set
        element by element (``_SET_IN_PLACE``) and the counts per buyer and market.
        """
        sizes = {"relationship": n_rel, "buyer": n_buyers, "supplier": 0, "entrant": 0, "market": members}
        values = dict(_shared_zeros(n_rel))
        values.update((name, np.zeros(sizes[per], dtype)) for name, per, dtype in _OWN_EVENTS)
        values["demand"] = np.full((members,), demand, dtype=float)
        return cls(**values)

    def drawn_whole(self, site: str) -> bool:
        """Whether phase 1 drew relationship draw site ``site`` for every relationship: every site in a small
        market; in a large one, the sites of ``draws.REL_WHERE_NEEDED`` are drawn where needed instead."""
        return REL_ROW[site] < len(self.uniforms)

    def uniform(self, site: str) -> np.ndarray:
        """This step's uniform numbers of a relationship draw site (``draws.REL_SITES``), one per relationship
        (a site not drawn whole: read through ``phases._happens``, ``_counts`` or ``_uniform_of`` instead)."""
        if not self.drawn_whole(site):
            raise LookupError(f"draw site {site!r} is drawn where needed in this market (phases._happens)")
        return self.uniforms[REL_ROW[site]]

    @property
    def cost_parts(self) -> dict[str, np.ndarray]:
        """The parts of the cost of ownership per unit, in the order of ``COST_PARTS``."""
        return {part: getattr(self, f"cost_{part}") for part in COST_PARTS}

    def total_cost_parts(self) -> np.ndarray:
        """Cost of ownership per unit of each relationship: the sum of its parts (phase 11 keeps it as ``tco``), in
        the order of ``COST_PARTS`` from 0, as ``sum`` adds them, but each part added into one fresh array."""
        total = 0 + self.cost_price
        for name in _COST_FIELDS[1:]:
            total += getattr(self, name)
        return total


COST_PARTS = ("price", "transaction", "inspection", "failure", "service_fee", "downtime", "mismatch", "switching")
_COST_FIELDS = tuple(f"cost_{part}" for part in COST_PARTS)
_BOOL_EVENTS = frozenset({"spec_change", "rebid", "played_off", "shirked", "defect", "inspected", "found", "need",
                          "unbundled", "complained", "fixed", "contacted", "both_share", "unanticipated",
                          "new_link", "audited", "padding_found"})
_SET_IN_PLACE = frozenset({"rebid", "played_off"})  # relationship events phases set element by element
_COUNT_EVENTS = frozenset({"supplier_ideas", "process_ideas", "left_after"})


def _event_dtype(f) -> type:
    if f.metadata["per"] == "relationship":
        return bool if f.name in _BOOL_EVENTS else (np.int64 if f.name in _COUNT_EVENTS else float)
    if f.metadata["per"] in ("buyer", "entrant"):
        return np.int64
    if f.metadata["per"] == "supplier":
        return float
    return np.int64 if f.name == "bankruptcies" else float


_EVENT_KINDS = tuple((f.name, f.metadata["per"], _event_dtype(f)) for f in fields(Events))
_OWN_EVENTS = tuple((name, per, dtype) for name, per, dtype in _EVENT_KINDS
                    if per != "relationship" or name in _SET_IN_PLACE)  # the events that get arrays of their own


@functools.lru_cache(maxsize=8)
def _shared_zeros(n_rel: int) -> dict[str, np.ndarray]:
    """The relationship events a phase assigns whole, before it does: one read-only zero array per type, the
    same arrays every step (made once per market size)."""
    shared = {}
    for dtype in {dtype for _, per, dtype in _EVENT_KINDS if per == "relationship"}:
        shared[dtype] = np.zeros(n_rel, dtype)
        shared[dtype].flags.writeable = False
    return {name: shared[dtype] for name, per, dtype in _EVENT_KINDS
            if per == "relationship" and name not in _SET_IN_PLACE}


class StepContext(Protocol):
    """What a phase sees: the parameters, the state, this step's events, the random numbers and the step count.

    ``TrustMarket`` is one; phases never call back into the model, so the dependency is one-way.
    """

    pp: ParamSpace
    market: MarketState
    ev: Events
    draws: Draws
    steps: int


def per_market(values: np.ndarray, mk: MarketState) -> np.ndarray:
    """``values`` (one per buyer, relationship or supplier of every market) as a table, one row per market."""
    return values.reshape(mk.members, -1)


def market_means(values: np.ndarray, mk: MarketState) -> np.ndarray:
    """Per market: the mean of ``values`` over all its elements; ``per_market(values, mk).mean(axis=1)``, the same
    sum and division without ``np.mean``'s Python layer (a few microseconds a call, several calls a step)."""
    table = per_market(values, mk)
    return table.sum(axis=1) / table.shape[1]


def per_market_mean(values: np.ndarray, where: np.ndarray, mk: MarketState, empty=np.nan) -> np.ndarray:
    """Per market: the mean of ``values`` over the elements ``where`` holds; ``empty`` (a number, or one per
    market) for a market where it holds for none."""
    n = per_market(where, mk).sum(axis=1)
    total = per_market(np.where(where, values, 0.0), mk).sum(axis=1)
    return np.divide(total, n, out=np.full(n.shape, empty, dtype=float), where=n > 0)


def describe(cls) -> list[tuple[str, str, str]]:
    """``(name, indexed by, meaning)`` of every declared field of ``MarketState`` or ``Events``."""
    return [(f.name, f.metadata["per"], f.metadata["doc"]) for f in fields(cls)]
