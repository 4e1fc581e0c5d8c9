"""Buyers that choose their terms and learn which pay (``buyers.conduct = "learning"``; docs/ODD.md 7.2a).

Every relationship is on partner terms or market terms (``MarketState.partner_terms``). A learning buyer
reviews its terms every ``rebid_interval`` steps: it moves its attraction to each set of terms toward
the value per unit they realised (experience-weighted attraction, Camerer & Ho 1999), and toward what
the market realised on them, then chooses each relationship's terms by a logit on the attractions and
its trust in that supplier. Phase 2 (``phases.sourcing``) calls it before the rebids.
"""

from __future__ import annotations

import numpy as np

from . import rules
from .draws import SITE
from .state import StepContext, per_market, per_market_mean


def review_terms(model: StepContext) -> None:
    """S14, S18 (learning conduct): at its review, every ``rebid_interval`` steps (staggered), a buyer moves
    the attraction of each set of terms toward the value per unit it realised on them since the last review
    (and, by ``peer_learning``, toward what the whole market realised on them), then puts each relationship
    on partner terms with the logit probability of its attractions and its trust in that supplier. A buyer with
    nothing realised yet (its first review at step 1) keeps its terms until the next."""
    mk, pp = model.market, model.pp
    b = pp.buyer.buyers
    due_b = rules.due_for_rebid(model.steps, mk.rebid_phase, pp.shared.buyers.rebid_interval)
    if not due_b.any():
        return
    seen = mk.value_steps > 0
    value = np.divide(mk.value_sum, mk.value_steps, out=np.zeros(mk.n_rel), where=seen)
    reviewed = due_b[mk.buyer_of] & seen
    _first_attractions(mk, due_b, np.where(reviewed, value, np.nan), b.initial_attraction)
    for on_partner in (True, False):
        attraction = mk.attraction_partner if on_partner else mk.attraction_market
        on = reviewed & (mk.partner_terms == on_partner)
        n = mk.per_buyer(on)
        own = np.divide(mk.per_buyer(np.where(on, value, 0.0)), n, out=np.zeros(mk.n_buyers), where=n > 0)
        attraction = np.where(n > 0, rules.update_attraction(attraction, own, b.memory), attraction)
        market = seen & (mk.partner_terms == on_partner)
        peers = per_market_mean(value, market, mk, empty=0.0)  # what each market realised on these terms
        learns = due_b & per_market(market, mk).any(axis=1)[mk.member_of_buyer] & (b.peer_learning > 0)
        attraction = np.where(learns, rules.update_attraction(attraction, peers[mk.member_of_buyer],
                                                              b.memory * b.peer_learning), attraction)
        if on_partner:
            mk.attraction_partner = attraction
        else:
            mk.attraction_market = attraction
    # a buyer with no attractions yet (nothing realised since the run began: a review at step 1) has nothing to
    # choose by: it keeps its terms, and its period goes on to its next review
    decides = due_b & ~np.isnan(mk.attraction_partner)
    rows = decides[mk.buyer_of].nonzero()[0]
    r = pp.at("relationship", rows).buyers
    chosen = rules.partner_terms_probability(mk.attraction_partner[mk.buyer_of[rows]],
                                             mk.attraction_market[mk.buyer_of[rows]], mk.trust_b[rows],
                                             r.choice_sensitivity, r.trust_weight)
    mk.partner_terms[rows] = model.draws.uniform(SITE["terms"], mk.base_rel[rows]) < chosen
    mk.value_sum[rows] = 0.0
    mk.value_steps[rows] = 0
    # a buyer's group: most of its terms, found again in every market where a buyer reviewed (in a market where
    # none did, a posture imitated in phase 13 stands until one does, as in that market run alone)
    reviewing = per_market(due_b, mk).any(axis=1)[mk.member_of_buyer]
    mk.is_partner = np.where(reviewing, 2 * mk.per_buyer(mk.partner_terms) >= mk.k, mk.is_partner)


def _first_attractions(mk, due_b: np.ndarray, value: np.ndarray, initial_attraction) -> None:
    """S18 (learning conduct): a buyer's attractions start, at its first review, on the scale of what terms
    realise: both at the mean value per unit its relationships realised (NaN: not reviewed), the terms of its
    posture ``initial_attraction`` above the other (Camerer & Ho's initial attractions; docs/ODD.md 7.2a)."""
    fresh = due_b & np.isnan(mk.attraction_partner)
    if not fresh.any():
        return
    seen = ~np.isnan(value)
    n = mk.per_buyer(seen)
    start = np.divide(mk.per_buyer(np.where(seen, value, 0.0)), n, out=np.full(mk.n_buyers, np.nan), where=n > 0)
    fresh &= n > 0
    lean = np.where(mk.is_partner, initial_attraction, -initial_attraction)
    mk.attraction_partner = np.where(fresh, start + np.maximum(lean, 0.0), mk.attraction_partner)
    mk.attraction_market = np.where(fresh, start + np.maximum(-lean, 0.0), mk.attraction_market)
