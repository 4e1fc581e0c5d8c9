"""One step of the market, phase by phase, in the order of docs/ODD.md section 3 (submodels in section 7).

Each phase is one function applied to all relationships (or buyers, or suppliers) at once with the
rules of ``rules.py``; what a phase observes for later phases and for the measurements goes into
``model.ev``, this step's events. Random draws come from ``model.draws`` (``draws.py``): each is a function of
the run's seed, the step, the draw's site and the element, so a market draws the same numbers alone or in
an ensemble. Parameters come from ``model.pp`` (``members.py``), as seen per relationship (``pp.rel``), per
buyer, per supplier or per market: numbers in a single run, arrays of members' values in an ensemble whose
members differ.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from . import rules
from .draws import REL_EVERYWHERE, REL_ROW, REL_SITES, SITE, as_normal, as_poisson
from .sourcing import initial_sourcing, sourcing
from .state import Events, StepContext, market_means, per_market

__all__ = ["SCHEDULE", "initial_sourcing", "sourcing"]


_DRAWN_WHOLE_BELOW = 1 << 13  # relationships (all markets together) below which phase 1 draws every site whole
# (the same numbers either way: a draw depends on its site and relationship, not on which others are drawn)
# the site numbers phase 1 draws: per relationship (all, or those every relationship uses), and per market
_REL_SITES, _REL_EVERYWHERE = (tuple(SITE[name] for name in names) for names in (REL_SITES, REL_EVERYWHERE))
_DEMAND = (SITE["demand"],)


def environment(model: StepContext) -> None:
    """Phase 1 (S19): specification changes with probability σ; demand shock; this step's volumes."""
    mk, pp, dr = model.market, model.pp, model.draws
    dr.step = model.steps
    ev = model.ev = Events.cleared(mk.n_rel, mk.n_buyers, mk.members)
    # every relationship's uniform numbers of the step at once: they depend on where they are drawn, not when
    # (a large market draws those needed only where an earlier event happened there, ``_happens``)
    whole = _REL_SITES if mk.n_rel < _DRAWN_WHOLE_BELOW else _REL_EVERYWHERE
    ev.uniforms, demand_draws = dr.uniforms(whole, mk.base_rel, (_DEMAND, mk.base_market))  # one hashing for both
    ev.spec_change = ev.uniform("spec_change") < pp.rel.market.uncertainty
    pm = pp.market.market
    ev.demand = rules.demand_shock(pm.demand, pm.uncertainty, as_normal(demand_draws[0]))  # one row: the site
    ev.volume = mk.share[mk.buyer_of] * ev.demand[mk.member_of_rel] / mk.k


def _uniform_of(model: StepContext, site: str, rows: np.ndarray) -> np.ndarray:
    """This step's uniform numbers of relationship draw site ``site`` for relationships ``rows``: read from phase
    1's block, or drawn now for those rows alone (a number depends on its site and relationship only)."""
    if model.ev.drawn_whole(site):
        return model.ev.uniform(site)[rows]
    return model.draws.uniform(SITE[site], model.market.base_rel[rows])


def _happens(model: StepContext, site: str, p, among: np.ndarray) -> np.ndarray:
    """An event of probability ``p`` that can happen only ``among`` the relationships where an earlier one did:
    ``among & (u < p)``, ``u`` this step's uniform of ``site``. A large market draws ``u`` there alone: the same
    numbers, fewer of them. ``p`` is a number, one per relationship, or a function giving the probabilities of
    the relationships it is given (``slice(None)``: all), so that a large market reads them there alone too."""
    if model.ev.drawn_whole(site):
        return among & (model.ev.uniform(site) < (p(slice(None)) if callable(p) else p))
    rows = among.nonzero()[0]
    happened = np.zeros(len(among), dtype=bool)
    happened[rows] = _uniform_of(model, site, rows) < (p(rows) if callable(p) else p[rows] if np.ndim(p) else p)
    return happened


def _supplier_alignment(mk) -> Callable[[np.ndarray | slice], np.ndarray]:
    """The alignment of the supplier of the relationships given (a function of them, for ``_happens``)."""
    return lambda rows: mk.alignment[mk.sup[rows]]


def _counts(model: StepContext, *draws: tuple[str, object, np.ndarray]) -> list[np.ndarray]:
    """Poisson counts for each draw ``(site, lam, among)``: of mean ``lam`` (a number or one per relationship)
    ``among`` the relationships where they can occur, 0 elsewhere; ``as_poisson`` of this step's uniforms of
    ``site``. Where phase 1 drew the sites whole, all the draws' counts come from one call (an element's count
    depends on its own uniform and mean alone); a large market draws each where it can occur alone."""
    ev = model.ev
    if not all(ev.drawn_whole(site) for site, _, _ in draws):
        return [_counts_where(model, *draw) for draw in draws]
    shape = (len(draws), len(ev.uniforms[0]))
    lam, among = np.empty(shape), np.empty(shape, dtype=bool)
    for i, (_, mean, where) in enumerate(draws):
        lam[i], among[i] = mean, where
    return list(np.where(among, as_poisson(ev.uniforms[[REL_ROW[site] for site, _, _ in draws]], lam), 0))


def _counts_where(model: StepContext, site: str, lam, among: np.ndarray) -> np.ndarray:
    """``_counts`` of one site not drawn whole: drawn ``among`` the relationships where counts can occur alone."""
    rows = among.nonzero()[0]
    counts = np.zeros(len(among), dtype=np.int64)
    counts[rows] = as_poisson(_uniform_of(model, site, rows), lam[rows] if np.ndim(lam) else lam)
    return counts


def supplier_conduct(model: StepContext) -> None:
    """Phase 3 (S5, S14): a supplier cuts corners with probability (1 − θ)(1 − inspection seen)(1 − θ · trust_s)."""
    mk = model.market
    prob = rules.shirk_probability(mk.integrity[mk.sup], mk.trust_s, mk.inspection_seen)
    model.ev.shirked = model.ev.uniform("shirk") < prob


def inspection(model: StepContext) -> None:
    """Phase 4 (S14, S17): lots are defective by hidden quality; the buyer inspects lots, and audits a cost-plus
    supplier's costs, as trust allows; padding found is refunded."""
    mk, ev = model.market, model.ev
    p = model.pp.rel
    q = p.quality
    p_def = rules.lot_defect_probability(mk.base_defect[mk.sup], mk.defect_mult, ev.shirked, p.suppliers.shirk_defect)
    ev.defect = ev.uniform("defect") < p_def
    watch = rules.inspection_probability(mk.trust_b, p.trust.no_inspection_trust)
    ev.inspected = ev.uniform("inspect") < watch
    ev.found = _happens(model, "detect", q.detection, among=ev.defect & ev.inspected)
    mk.inspection_seen = rules.update_inspection_seen(mk.inspection_seen, ev.inspected, q.inspection_memory)
    cost_plus = mk.rel_partner
    ev.audited = _happens(model, "audit", watch, among=cost_plus)
    ev.padding_found = _happens(model, "detect_padding", q.detection, among=ev.audited & (ev.padding > 0))
    refunded = ev.padding_found.nonzero()[0]
    if len(refunded):
        r = model.pp.at("relationship", refunded)
        mk.price[refunded] = rules.cost_plus_price(mk.cost_for_buyer(refunded), r.service.service_need,
                                                   r.service.service_cost, r.prices.fair_markup,
                                                   mk.service_in_price()[refunded])
    # audits are learned of on cost-plus relationships; on market terms the estimate stays (docs/ODD.md, decision 44)
    mk.audit_seen = np.where(cost_plus, rules.update_inspection_seen(mk.audit_seen, ev.audited, q.inspection_memory),
                             mk.audit_seen)


def after_sales_service(model: StepContext) -> None:
    """Phase 5 (S2, S4, S5, S11, S12): service needs, delivered vs promised level, the gap."""
    mk, ev = model.market, model.ev
    s = model.pp.rel.service
    ev.need = ev.uniform("service_need") < s.service_need
    level = rules.service_level(mk.alignment, mk.supplier_health())  # each supplier's
    delivered = rules.delivered_service(level[mk.sup], ev.unbundled, s.unbundled_priority)
    promised = np.where(mk.rel_partner, s.promise_partner, s.promise_aggressive)
    ev.gap = np.where(ev.need, rules.service_gap(promised, delivered), 0.0)


def complaints(model: StepContext) -> None:
    """Phase 6 (S7): dissatisfied buyers speak up as candour allows; unvoiced gaps accumulate unseen.

    A voiced complaint is fixed with probability ``alignment`` (dissatisfaction cleared, small trust
    gain) or, unfixed, turns the gap and what had built up into open distrust (phase 8).
    """
    mk, ev = model.market, model.ev
    p = model.pp.rel
    dissatisfied = ev.gap > p.service.complaint_gap
    recently = mk.since_contact <= p.suppliers.contact_interval
    ev.complained = _happens(model, "candour", rules.candour(mk.trust_b, recently), among=dissatisfied)
    ev.fixed = _happens(model, "fix_complaint", _supplier_alignment(mk), among=ev.complained)
    unfixed = ev.complained & ~ev.fixed
    ev.unfixed_gap = np.where(unfixed, ev.gap + mk.latent, 0.0)
    mk.latent = np.where(ev.complained, 0.0, mk.latent + np.where(dissatisfied, ev.gap, 0.0))
    mk.since_complaint = np.where(ev.complained, 0, mk.since_complaint + 1)
    mk.since_contact = np.where(ev.complained, 0, mk.since_contact)  # answering a complaint is a contact


def attention(model: StepContext) -> None:
    """Phase 7 (S6, S7, S13): suppliers contact buyers by policy; unattended relationships erode."""
    mk, ev = model.market, model.ev
    p = model.pp.rel
    s, t = p.suppliers, p.trust
    ev.contacted = rules.contacts(mk.policy[mk.sup], mk.age, mk.since_contact, s.contact_interval)
    surfaced = ev.contacted & (mk.latent > 0)
    fixed = _happens(model, "fix_surfaced", _supplier_alignment(mk), among=surfaced)
    ev.fixed |= fixed
    ev.unfixed_gap += np.where(surfaced & ~fixed, mk.latent, 0.0)
    mk.latent = np.where(surfaced, 0.0, mk.latent)
    mk.since_contact = np.where(ev.contacted, 0, mk.since_contact)  # the clock advances at the end of the step
    unattended = mk.since_contact > s.contact_interval
    mk.trust_b = rules.erode(mk.trust_b, t.baseline, t.erosion, unattended)
    mk.trust_s = rules.erode(mk.trust_s, t.baseline, t.erosion, unattended)


def trust_update(model: StepContext) -> None:
    """Phase 8 (S14, S18): asymmetric buyer trust update, betrayals (defects, padding found) costing most;
    suppliers trust buyers that pay them fairly and share their plans."""
    mk, ev = model.market, model.ev
    p = model.pp.rel
    t = p.trust
    clean = ~ev.defect & ~(ev.gap > 0) & ~ev.padding_found
    proportional = model.pp.shared.trust.padding_loss == "proportional"
    betrayed = rules.betrayal_severity(ev.defect, ev.padding_found, ev.padding, p.suppliers.padding_max, proportional)
    margin = rules.margin_factor(mk.price, mk.cost_for_buyer(), p.prices.min_markup, p.prices.fair_markup)
    plans_shared = _shares_plans(model)
    mk.trust_b = rules.buyer_trust_update(mk.trust_b, betrayed, clean, ev.unfixed_gap, ev.fixed, t.gain, t.loss)
    mk.trust_s = rules.supplier_trust_update(mk.trust_s, ev.played_off, t.gain, margin, plans_shared)


def _shares_plans(model: StepContext) -> np.ndarray:
    """S9: the relationships whose buyer shares its plans (``buyers.plan_sharing``: on partner terms only, or
    wherever it trusts enough)."""
    mk = model.market
    only_partner = model.pp.shared.buyers.plan_sharing == "partner_terms"
    return rules.shares_plans(mk.trust_b, model.pp.rel.trust.share_threshold, mk.rel_partner, only_partner)


def innovation(model: StepContext) -> None:
    """Phase 9 (S8, S9, S13, S18, S19): information sharing, ideas both ways, spec changes, linkage."""
    mk, ev, pp = model.market, model.ev, model.pp
    p = pp.rel
    inn, t = p.innovation, p.trust
    buyer_shares = _shares_plans(model)
    supplier_shares = mk.trust_s >= t.share_threshold
    mutual = ev.both_share = (mk.trust_b >= t.share_threshold) & supplier_shares  # trust both ways (S18)
    # ideas both ways: the supplier's where it shares, the buyer's process ideas where trust is mutual (S18)
    ev.supplier_ideas, ev.process_ideas = _counts(model,
                                                  ("supplier_ideas", inn.idea_rate * mk.trust_s, supplier_shares),
                                                  ("process_ideas", inn.process_idea_rate * mk.trust_b, mutual))
    # supplier ideas lower the buyer's own cost
    per_buyer = mk.per_buyer(ev.supplier_ideas)
    pb = pp.buyer
    floor = (1.0 - pb.suppliers.improvable) * mk.own_cost0
    before = mk.own_cost
    mk.own_cost = rules.toward_floor(mk.own_cost, floor, pb.innovation.idea_value, per_buyer)
    share = np.divide(ev.supplier_ideas, np.maximum(per_buyer, 1)[mk.buyer_of])  # this relationship's part
    ev.own_cost_cut = (before - mk.own_cost)[mk.buyer_of] * share
    mk.ideas_received += per_buyer
    # buyer process ideas lower the supplier's cost and defects
    per_supplier = np.bincount(mk.sup, weights=ev.process_ideas, minlength=mk.n_suppliers)
    si = pp.supplier.innovation
    mk.unit_cost = rules.toward_floor(mk.unit_cost, mk.cost_floor, si.process_idea_value, per_supplier)
    mk.defect_mult = rules.toward_floor(mk.defect_mult, 1.0 - inn.quality_improvable, inn.quality_idea_value,
                                        ev.process_ideas)
    mk.base_defect = rules.toward_floor(mk.base_defect, (1.0 - si.quality_improvable) * mk.base_defect0,
                                        si.quality_idea_value * si.quality_spillover, per_supplier)
    # specification changes: anticipated where plans are shared (S9)
    anticipated = _happens(model, "anticipated", rules.anticipated_probability(mk.trust_b, buyer_shares),
                           among=ev.spec_change)
    ev.unanticipated = ev.spec_change & ~anticipated
    # a change re-draws how well the incumbent fits; one it anticipated lets it prepare (S14, S19)
    # (a market-terms price is renegotiated at the same markup; cost-plus follows the cost by itself)
    # (drawn for the changed slots only: a draw depends on its element, not on which others are drawn)
    changed = ev.spec_change.nonzero()[0]
    fit_spread = pp.at("relationship", changed).market.fit_spread
    spread = np.where(anticipated[changed], fit_spread * (1.0 - mk.trust_s[changed]), fit_spread)
    new_fit = mk.fit.copy()
    if model.pp.shared.market.refit == "current_spec":  # every supplier's fit is new: the incumbent's is one of them
        mk.spec_epoch[changed] = model.steps
        new_fit[changed] = mk.supplier_fit(changed, mk.sup[changed], spread)
    else:
        new_fit[changed] = rules.fit_factor(spread, as_normal(_uniform_of(model, "refit", changed)))
    mk.price = np.where(mk.rel_partner, mk.price, mk.price * (new_fit / mk.fit))
    mk.fit = new_fit
    # linkage (S8)
    ev.new_link = rules.invests_in_link(mk.trust_s, mk.age, mk.linked, t.share_threshold, p.linkage.linkage_age)
    mk.linked |= ev.new_link


def face_to_face_time(model: StepContext) -> None:
    """Phase 10 (S13, S15, S16): non-productive and productive hours per relationship."""
    mk, ev = model.market, model.ev
    p = model.pp.rel
    ev.nonproductive = rules.nonproductive_hours(mk.trust_b, mk.linked, ev.rebid, ev.defect, ev.unanticipated,
                                                 p.time, p.time.trust_scaled_hours, ev.audited)
    ev.productive = rules.productive_hours(ev.both_share, ev.supplier_ideas + ev.process_ideas, p.time)


def downstream(model: StepContext) -> None:
    """Phase 11 (S1, S10, S19): cost of ownership, logit-Nash retail prices, market shares, buyers' profit."""
    mk, ev, pp = model.market, model.ev, model.pp
    p = pp.rel
    q, s, tm = p.quality, p.service, p.time
    need_fee = ev.need & ev.unbundled
    ev.cost_price = mk.price
    ev.cost_transaction = rules.transaction_cost_per_unit(ev.nonproductive, tm.hour_cost, tm.reference_volume)
    ev.cost_inspection = q.inspection_cost * ev.inspected
    ev.cost_failure = q.failure_cost * (ev.defect & ~ev.found)
    ev.cost_service_fee = s.service_fee * need_fee
    ev.cost_downtime = s.downtime_cost * ev.gap
    ev.cost_mismatch = p.innovation.mismatch_cost * ev.unanticipated
    ev.cost_switching = ev.switching
    ev.tco = ev.total_cost_parts()
    unit_cost = mk.own_cost + mk.per_buyer(ev.tco) / mk.k
    dm, db = pp.market.downstream, pp.buyer.downstream
    mean_price = mk.mean_retail
    if not np.isfinite(mean_price).all():  # a market's first step has no last step's mean price
        first = rules.symmetric_nash_mean(market_means(unit_cost, mk), mk.buyers_each, dm.price_sensitivity,
                                          dm.max_markup)
        mean_price = np.where(np.isfinite(mean_price), mean_price, first)
    retail = mk.retail_price = rules.nash_price(unit_cost, mean_price[mk.member_of_buyer], mk.share,
                                                db.price_sensitivity, db.max_markup)
    mk.mean_retail = market_means(retail, mk)
    volume_b = mk.share * ev.demand[mk.member_of_buyer]
    mk.profit = volume_b * (retail - unit_cost)
    mk.profit_cum += mk.profit
    mk.profit_since_imitation += mk.profit
    mk.cash += mk.profit
    ev.paid_by_buyers = per_market((mk.price + ev.cost_service_fee) * ev.volume, mk).sum(axis=1)
    mk.value_sum += rules.realised_value(ev.tco, ev.own_cost_cut, p.buyers.horizon)
    mk.value_steps += 1
    beta = np.asarray(dm.price_sensitivity).reshape(-1, 1)  # one row per market
    attraction = rules.logit_attraction(per_market(retail, mk), beta)
    inertia = np.asarray(dm.share_inertia).reshape(-1, 1)
    mk.share = rules.update_shares(per_market(mk.share, mk), attraction, inertia).ravel()


def supplier_finance(model: StepContext) -> None:
    """Phase 12 (S12): supplier cash flows; bankrupt suppliers leave and fresh entrants take their place."""
    mk, ev, pp = model.market, model.ev, model.pp
    p, ps = pp.rel, pp.supplier
    v, s, q = ev.volume, p.service, p.quality
    revenue = mk.price * v + s.service_fee * (ev.need & ev.unbundled) * v
    cost = (mk.cost_for_buyer() * (1.0 - p.suppliers.shirk_saving * ev.shirked) * v
            + s.service_cost * ev.need * v + q.rework_cost * ev.found * v)
    net = np.bincount(mk.sup, weights=revenue - cost, minlength=mk.n_suppliers)
    received = np.bincount(mk.sup, weights=revenue, minlength=mk.n_suppliers)
    ev.received_by_suppliers = per_market(received, mk).sum(axis=1)
    net -= np.bincount(mk.sup, weights=ev.contacted, minlength=mk.n_suppliers) * ps.suppliers.contact_cost
    net -= np.bincount(mk.sup[ev.new_link], minlength=mk.n_suppliers) * ps.linkage.linkage_cost  # few: counted
    mk.supplier_cash += net
    broke = (mk.supplier_cash < 0).nonzero()[0]
    ev.bankruptcies = np.bincount(mk.member_of_supplier[broke], minlength=mk.members)
    if len(broke):
        ended = np.isin(mk.sup, broke)
        np.add.at(ev.exit_bankrupt, mk.buyer_of[ended], 1)
        mk.pending_switching = np.where(ended & mk.linked, p.linkage.linkage_switching_cost, 0.0)
        mk.vacant |= ended  # re-sourced at the next sourcing phase
        mk.linked[ended] = False
        mk.new_entrant_traits(broke)
        ev.entrants = broke  # the model gives each entrant a new agent
    mk.age += 1  # the quarter is over for every relationship
    mk.since_contact += 1  # so, during a step, the clock is the steps since the last contact (0: this one)


def adaptation(model: StepContext) -> None:
    """Phase 13 (optional; S18, S19: does partnership spread?): every ``imitation_interval`` steps buyers imitate
    more profitable postures and, with ``supplier_imitation``, suppliers the integrity of more profitable suppliers
    (replicator dynamics; the suppliers' profit is their cash gained since the last round: docs/ODD.md, decision 44)."""
    mk, dr, pp = model.market, model.draws, model.pp
    a = pp.shared.adaptation
    if model.steps % a.imitation_interval != 0:
        return
    if a.enabled and mk.buyers_each >= 2:
        other = _other(dr, "imitate_buyer_other", mk.base_buyer, mk.buyers_each)  # a random other buyer of its market
        gained = mk.profit_since_imitation
        spread = np.ptp(per_market(gained, mk), axis=1)[mk.member_of_buyer]
        prob = rules.imitation_probability(gained, gained[other], spread)
        adopt = dr.uniform(SITE["imitate_buyer"], mk.base_buyer) < prob
        mk.is_partner = np.where(adopt, mk.is_partner[other], mk.is_partner)
        mk.profit_since_imitation = np.zeros(mk.n_buyers)
        if pp.shared.buyers.conduct == "fixed":
            mk.partner_terms = mk.is_partner[mk.buyer_of]
    if a.supplier_imitation and mk.suppliers_each >= 2:
        other = _other(dr, "imitate_supplier_other", mk.base_supplier, mk.suppliers_each)
        gained = mk.supplier_cash - mk.cash_at_imitation
        spread = np.ptp(per_market(gained, mk), axis=1)[mk.member_of_supplier]
        prob = rules.imitation_probability(gained, gained[other], spread)
        adopt = dr.uniform(SITE["imitate_supplier"], mk.base_supplier) < prob
        mutation = pp.supplier.adaptation.integrity_mutation * dr.normal(SITE["mutation"], mk.base_supplier)
        mutated = np.clip(mk.integrity[other] + mutation, 0.0, 1.0)
        mk.integrity = np.where(adopt, mutated, mk.integrity)
        mk.cash_at_imitation = mk.supplier_cash.copy()


def _other(dr, site: str, base: np.ndarray, n: int) -> np.ndarray:
    """For each of ``n`` agents per market (``base``: their counter bases), a random other one of its market."""
    number = np.arange(len(base))
    local = number % n
    step = 1 + (dr.uniform(SITE[site], base) * (n - 1)).astype(np.int64)
    return number - local + (local + step) % n


SCHEDULE = (environment, sourcing, supplier_conduct, inspection, after_sales_service, complaints, attention,
            trust_update, innovation, face_to_face_time, downstream, supplier_finance, adaptation)
