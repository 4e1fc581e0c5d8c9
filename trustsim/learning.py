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
from .state import StepContext


def review_terms(model: StepContext) -> None:
    """S14, S18 (learning conduct): at its review, every ``rebid_interval`` steps (staggered), a buyer moves
    the attraction of each set of terms toward the value per unit it realised on them since the last review
    (and, by ``peer_learning``, toward what the whole market realised on them), then puts each relationship
    on partner terms with the logit probability of its attractions and its trust in that supplier."""
    mk, p, rng = model.market, model.params, model.rng
    b = p.buyers
    due_b = rules.due_for_rebid(model.steps, mk.rebid_phase, b.rebid_interval)
    if not due_b.any():
        return
    seen = mk.value_steps > 0
    value = np.divide(mk.value_sum, mk.value_steps, out=np.zeros(mk.n_rel), where=seen)
    reviewed = due_b[mk.buyer_of] & seen
    for on_partner in (True, False):
        attraction = mk.attraction_partner if on_partner else mk.attraction_market
        on = reviewed & (mk.partner_terms == on_partner)
        n = mk.per_buyer(on)
        own = np.divide(mk.per_buyer(np.where(on, value, 0.0)), n, out=np.zeros(mk.n_buyers), where=n > 0)
        attraction = np.where(n > 0, rules.update_attraction(attraction, own, b.memory), attraction)
        market = seen & (mk.partner_terms == on_partner)
        if market.any() and b.peer_learning > 0:
            peers = float(value[market].mean())
            attraction = np.where(due_b, rules.update_attraction(attraction, peers, b.memory * b.peer_learning),
                                  attraction)
        if on_partner:
            mk.attraction_partner = attraction
        else:
            mk.attraction_market = attraction
    rows = np.flatnonzero(due_b[mk.buyer_of])
    chosen = rules.partner_terms_probability(mk.attraction_partner[mk.buyer_of[rows]],
                                             mk.attraction_market[mk.buyer_of[rows]], mk.trust_b[rows],
                                             b.choice_sensitivity, b.trust_weight)
    mk.partner_terms[rows] = rng.random(len(rows)) < chosen
    mk.value_sum[rows] = 0.0
    mk.value_steps[rows] = 0
    mk.is_partner = 2 * mk.per_buyer(mk.partner_terms) >= mk.k  # a buyer's group: most of its terms
