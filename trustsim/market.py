"""The market's state: arrays over buyers, suppliers and relationships (buyer × slot).

Every phase of the step reads and writes these arrays; Mesa agents (``agents.py``) are views of
their rows. Relationship ``r`` is slot ``r % k`` of buyer ``r // k``; ``sup[r]`` is its supplier.
"""

from __future__ import annotations

import networkx as nx
import numpy as np

from . import rules
from .draws import SITE, Draws, as_normal
from .members import ParamSpace
from .metrics import POSTURES
from .state import MarketState

POLICY_CODES = {"passive": rules.PASSIVE, "periodic": rules.PERIODIC, "silence": rules.SILENCE}


class Market(MarketState):
    """The market's state (fields declared in ``state.MarketState``), drawn at the start; mutated by the phases."""

    __slots__ = ()

    def __init__(self, space: ParamSpace, draws: Draws):
        """The state of ``space.n`` markets (members) side by side, member after member, drawn from ``draws``.

        Indices are global: buyer ``b`` of member ``i`` is ``i · buyers + b``, and ``sup`` holds global
        supplier numbers, so gathers and per-buyer or per-supplier sums need no member index; what is per
        market (demand, prices' mean, shares' total) is reduced member by member.
        """
        p = space.shared
        m = p.market
        self.pp, self.draws, self.members = space, draws, space.n
        nb, ns, k = m.buyers, m.suppliers, m.slots_per_buyer
        self.buyers_each, self.suppliers_each, self.k = nb, ns, k
        M = self.members
        self.n_buyers, self.n_suppliers = M * nb, M * ns
        self.n_rel = self.n_buyers * k
        self.buyer_of = np.repeat(np.arange(self.n_buyers), k)
        self.slot_of = np.tile(np.arange(k), self.n_buyers)
        self.member_of_rel = space.member_of["relationship"]
        self.member_of_buyer = space.member_of["buyer"]
        self.member_of_supplier = space.member_of["supplier"]
        self.supplier_offset = self.member_of_rel * ns  # global number of the member's supplier 0, per relationship
        self.rel_local = np.tile(np.arange(nb * k), M)
        self.base_rel = draws.base(self.member_of_rel, self.rel_local)
        self.base_buyer = draws.base(self.member_of_buyer, np.tile(np.arange(nb), M))
        self.base_supplier = draws.base(self.member_of_supplier, np.tile(np.arange(ns), M))
        self.base_market = draws.base(np.arange(M), np.zeros(M, dtype=np.int64))
        for base in (self.base_rel, self.base_market):  # read-only: phase 1's draws keep their sum with the sites'
            base.flags.writeable = False
        # tables of draws per relationship, one column per bid or per supplier: element ``local · width + column``
        self.base_bids = draws.base(self.member_of_rel, self.rel_local * p.buyers.n_bids)
        self.base_fits = draws.base(self.member_of_rel, self.rel_local * ns)
        pb = space.buyer

        # buyers
        n_partners = np.round(np.broadcast_to(space.market.buyers.partner_share * nb, (M,)))
        rank = np.empty((M, nb), dtype=np.int64)
        order = np.argsort(draws.uniform(SITE["posture"], self.base_buyer).reshape(M, nb), axis=1, kind="stable")
        np.put_along_axis(rank, order, np.arange(nb)[None, :], axis=1)
        self.is_partner = (rank < n_partners[:, None]).ravel()  # a random partner_share of each market's buyers
        # ODD 7.2a: attractions are set at a buyer's first review, on the scale of the values it realised
        self.attraction_partner = np.full(self.n_buyers, np.nan)
        self.attraction_market = np.full(self.n_buyers, np.nan)
        self.rebid_phase = (draws.uniform(SITE["rebid_calendar"], self.base_buyer) * p.buyers.rebid_interval
                            ).astype(np.int64)
        self.share = np.full(self.n_buyers, 1.0 / nb)
        self.own_cost0 = np.full((self.n_buyers,), pb.downstream.own_cost, dtype=float)
        self.own_cost = self.own_cost0.copy()
        self.cash = np.zeros(self.n_buyers)
        self.profit = np.zeros(self.n_buyers)
        self.profit_cum = np.zeros(self.n_buyers)
        self.profit_since_imitation = np.zeros(self.n_buyers)
        self.ideas_received = np.zeros(self.n_buyers)
        self.retail_price = np.zeros(self.n_buyers)
        self.mean_retail = np.full(M, np.nan)

        # suppliers
        ns = self.n_suppliers
        self.unit_cost = np.empty(ns)
        self.cost_floor = np.empty(ns)
        self.quality = np.empty(ns)
        self.base_defect = np.empty(ns)
        self.base_defect0 = np.empty(ns)
        self.alignment = np.empty(ns)
        self.integrity = np.empty(ns)
        self.cash_at_imitation = np.empty(ns)
        self.supplier_cash = np.empty(ns)
        self.supplier_cash0 = np.empty(ns)
        self.policy = np.full(ns, POLICY_CODES[p.suppliers.attention_policy])
        self.new_entrant_traits(np.arange(ns))

        # relationships
        R = self.n_rel
        pr = space.rel
        self.sup = np.zeros(R, dtype=np.int64)
        self.partner_terms = self.is_partner[self.buyer_of]
        self.value_sum = np.zeros(R)
        self.value_steps = np.zeros(R, dtype=np.int64)
        self.vacant = np.ones(R, dtype=bool)  # a slot whose relationship ended (bankruptcy) or never began
        self.trust_b = np.full((R,), pr.trust.initial, dtype=float)
        self.trust_s = self.trust_b.copy()
        self.price = np.zeros(R)
        self.age = np.zeros(R, dtype=np.int64)
        self.since_contact = np.zeros(R, dtype=np.int64)
        self.since_complaint = np.zeros(R, dtype=np.int64)
        self.latent = np.zeros(R)
        self.linked = np.zeros(R, dtype=bool)
        self.defect_mult = np.ones(R)
        self.inspection_seen = rules.inspection_probability(self.trust_b, pr.trust.no_inspection_trust)
        self.pending_switching = np.zeros(R)
        self.audit_seen = self.inspection_seen.copy()
        self.fit = np.ones(R)
        self.spec_epoch = np.zeros(R, dtype=np.int64)

    # --- traits ---------------------------------------------------------------------------------
    def new_entrant_traits(self, idx: np.ndarray) -> None:
        """ODD 5 (initialisation): fresh random traits for suppliers ``idx`` (at the start, and for entrants)."""
        n = len(idx)
        if n == 0:
            return
        s = self.pp.at("supplier", idx).suppliers
        dr, base = self.draws, self.base_supplier[idx]
        self.unit_cost[idx] = np.maximum(s.cost_mean + s.cost_sd * dr.normal(SITE["cost"], base), 0.5)
        self.cost_floor[idx] = (1.0 - s.improvable) * self.unit_cost[idx]
        self.quality[idx] = np.clip(s.quality + 0.01 * dr.normal(SITE["quality"], base), 0.8, 1.0)
        self.base_defect[idx] = 1.0 - self.quality[idx]
        self.base_defect0[idx] = self.base_defect[idx]
        self.alignment[idx] = np.clip(s.alignment_mean + 0.08 * dr.normal(SITE["alignment"], base), 0.3, 1.0)
        self.supplier_cash[idx] = s.supplier_cash
        self.supplier_cash0[idx] = s.supplier_cash
        self.cash_at_imitation[idx] = s.supplier_cash
        a, b, spread = rules.integrity_beta(s.integrity_mean, s.integrity_sd)
        drawn = dr.beta(SITE["integrity"], base, np.where(spread, a, 1.0), np.where(spread, b, 1.0))
        self.integrity[idx] = np.where(spread, drawn, s.integrity_mean)

    # --- derived views --------------------------------------------------------------------------
    @property
    def rel_partner(self) -> np.ndarray:
        """Whether each relationship is on partner terms (with fixed conduct: its buyer's posture)."""
        return self.partner_terms

    def service_in_price(self) -> np.ndarray:
        """S10, S11: service is in the price of partner contracts (unless partner_in_price is false)."""
        return self.rel_partner & self.pp.shared.service.partner_in_price

    def cost_for_buyer(self, rows: np.ndarray | None = None) -> np.ndarray:
        """Each relationship's supplier cost per unit for this buyer's specification: unit cost × fit (S19);
        of relationships ``rows`` alone when given."""
        if rows is None:
            return self.unit_cost[self.sup] * self.fit
        return self.unit_cost[self.sup[rows]] * self.fit[rows]

    def supplier_fit(self, rows: np.ndarray, suppliers: np.ndarray, fit_spread) -> np.ndarray:
        """S14, S19 (``market.refit = current_spec``): the fit of ``suppliers`` (global numbers; an array whose
        first axis runs along ``rows``) to the current specification of slots ``rows``,
        ``exp(fit_spread · ε)``, with ε drawn once per slot, specification and supplier: the same supplier
        quotes the same fit until the slot's specification changes."""
        rows_b = rows.reshape(rows.shape + (1,) * (np.ndim(suppliers) - 1))
        base = self.draws.shifted(self.base_fits[rows_b], suppliers - self.supplier_offset[rows_b])
        eps = as_normal(self.draws.uniform_at(SITE["supplier_fit"], base, self.spec_epoch[rows_b]))
        return rules.fit_factor(fit_spread, eps)

    def supplier_health(self) -> np.ndarray:
        """Each supplier's financial health now (S12, ``rules.financial_health``): what phase 5 reads and what
        the network view sizes suppliers by."""
        return rules.financial_health(self.supplier_cash, self.supplier_cash0)

    def defect_rate(self) -> np.ndarray:
        """Each relationship's defect probability at full effort: supplier base rate × multiplier."""
        return self.base_defect[self.sup] * self.defect_mult

    def start_relationships(self, rows: np.ndarray, suppliers: np.ndarray, trust_b: np.ndarray,
                            fit: np.ndarray) -> None:
        """A new relationship in each of ``rows``: the buyer's trust ``trust_b`` (word of mouth), the
        supplier's at ``trust.initial``, the winning bid's ``fit``; clocks and links reset."""
        t = self.pp.at("relationship", rows).trust
        self.sup[rows] = suppliers
        self.vacant[rows] = False
        self.fit[rows] = fit
        self.trust_b[rows] = trust_b
        self.trust_s[rows] = t.initial
        self.age[rows] = 0
        self.since_contact[rows] = 0
        self.since_complaint[rows] = 0
        self.latent[rows] = 0.0
        self.linked[rows] = False
        self.defect_mult[rows] = 1.0
        # the supplier expects to be watched as a buyer of this starting trust would watch it
        self.inspection_seen[rows] = self.audit_seen[rows] = rules.inspection_probability(self.trust_b[rows],
                                                                                          t.no_inspection_trust)

    def per_buyer(self, values: np.ndarray, into: np.ndarray | None = None) -> np.ndarray:
        """Sum of relationship values (the last axis) over each buyer's slots, or added ``into`` a total.

        For a few slots, strided adds (k − 1 vector adds) are ~30× faster than a reduction over a short
        axis, and sum in the same order, so the result is bit-identical; from 8 slots NumPy's pairwise sum
        changes the order, so the reduction is kept there. With ``into``, each slot is added to the running
        total in turn (the long-run sums of ``metrics.BuyerAccumulator``).
        """
        k = self.k
        if into is not None:
            for j in range(k):
                into += values[..., j::k]
            return into
        if k >= 8:
            return values.reshape(*values.shape[:-1], self.n_buyers, k).sum(axis=-1)
        total = values[..., 0::k].astype(np.int_ if values.dtype == bool else values.dtype)  # a copy; sum's dtype
        for j in range(1, k):
            total += values[..., j::k]
        return total

    # --- export ---------------------------------------------------------------------------------
    def to_networkx(self) -> nx.Graph:
        """The relationship network: buyers and suppliers as nodes, relationships as edges with trust.

        Built in bulk from the arrays (``add_nodes_from``/``add_edges_from``), so 100 000 buyers take a
        second or two. A buyer holding two slots with one supplier gets one edge with the slots' mean
        trust and price and ``slots=2``.
        """
        g = nx.Graph()
        posture = np.where(self.is_partner, *POSTURES).tolist()
        g.add_nodes_from((f"b{i}", {"kind": "buyer", "posture": po, "market_share": sh, "own_cost": oc, "cash": ca})
                         for i, po, sh, oc, ca in zip(range(self.n_buyers), posture, self.share.tolist(),
                                                      self.own_cost.tolist(), self.cash.tolist(), strict=True))
        health = self.supplier_health()
        g.add_nodes_from((f"s{j}", {"kind": "supplier", "unit_cost": uc, "cash": ca, "health": he, "alignment": al,
                                    "quality": qu, "integrity_hidden": th})
                         for j, uc, ca, he, al, qu, th in zip(range(self.n_suppliers), self.unit_cost.tolist(),
                                                              self.supplier_cash.tolist(), health.tolist(),
                                                              self.alignment.tolist(), self.quality.tolist(),
                                                              self.integrity.tolist(), strict=True))
        rows = np.flatnonzero(~self.vacant)
        pair = self.buyer_of[rows] * self.n_suppliers + self.sup[rows]
        _, first, which, slots = np.unique(pair, return_index=True, return_inverse=True, return_counts=True)
        order = np.argsort(first, kind="stable")  # edges in the order of their first relationship
        first_row = rows[first]

        def mean(values):  # per edge: the mean over the slots it joins
            if len(slots) == len(rows):
                return values[rows]
            return np.bincount(which, weights=values[rows], minlength=len(slots)) / slots

        terms = np.where(self.partner_terms, "partner", "market")
        columns = [self.buyer_of[first_row], self.sup[first_row], mean(self.trust_b), mean(self.trust_s),
                   mean(self.price), mean(self.fit), self.age[first_row], self.linked[first_row], slots,
                   terms[first_row]]
        g.add_edges_from((f"b{b}", f"s{s}", {"trust_buyer": tb, "trust_supplier": ts, "price": pr, "fit": fi,
                                             "age": ag, "linked": li, "slots": n, "terms": te})
                         for b, s, tb, ts, pr, fi, ag, li, n, te in zip(*(c[order].tolist() for c in columns),
                                                                       strict=True))
        return g
