"""The mechanisms of MODEL.md section 3, one small function each: arrays in, arrays out.

Each function reads like its equation and cites the claims (S-numbers) it stands on. The same
function serves one relationship or a million; nothing here draws random numbers — callers pass the
draws (from ``model.rng``) in, so each rule can be tested on hand-computed cases.
"""

from __future__ import annotations

import numpy as np


# --- 1. environment ----------------------------------------------------------------------------

def demand_shock(demand, uncertainty, eps):
    """S19: final demand this step, ``D_t = D · exp(σ · 0.2 · ε)``, ε ~ N(0, 1)."""
    return demand * np.exp(uncertainty * 0.2 * eps)


# --- 2. sourcing and pricing -------------------------------------------------------------------

def quote(unit_cost, markup):
    """S18: a supplier's quote, ``unit_cost · (1 + m)``, m ~ U(min_markup, fair_markup)."""
    return unit_cost * (1.0 + markup)


def price_floor(unit_cost, min_markup):
    """S18: the lowest price an incumbent accepts when played off, ``unit_cost · (1 + min_markup)``."""
    return unit_cost * (1.0 + min_markup)


def cost_plus_price(unit_cost, service_need, service_cost, fair_markup, service_in_price):
    """S10, S11: partner cost-plus, ``(unit_cost + service_need · service_cost) · (1 + fair_markup)``.

    With service left out of the price (``service_in_price`` false) the service term is dropped and
    each service event is billed on top (see ``service_fee_per_unit``).
    """
    return (unit_cost + np.where(service_in_price, service_need * service_cost, 0.0)) * (1.0 + fair_markup)


def playoff_trust(trust_s, playoff_penalty):
    """S18: a supplier played off against a rival's quote loses ``playoff_penalty · trust_s``."""
    return trust_s - playoff_penalty * trust_s


def leaves(trust_b, latent, exit_threshold, exit_dissatisfaction):
    """S7, S14: a buyer leaves on low trust or, silently, on accumulated unvoiced dissatisfaction.

    Returns (low_trust, silent); a relationship that qualifies for both counts as low trust.
    """
    low = trust_b < exit_threshold
    silent = ~low & (latent > exit_dissatisfaction)
    return low, silent


def due_for_rebid(step, phase, rebid_interval):
    """S18: an aggressive buyer rebids a slot every ``rebid_interval`` steps, staggered by ``phase``."""
    return (step + phase) % rebid_interval == 0


# --- 3. supplier conduct -----------------------------------------------------------------------

def shirk_probability(opportunism, trust_s, inspection_seen):
    """S5, S14: corners are cut with probability ``opportunism · (1 − trust_s) · (1 − inspection_rate_seen)``."""
    return opportunism * (1.0 - trust_s) * (1.0 - inspection_seen)


def lot_defect_probability(base_defect, defect_multiplier, shirked, shirk_defect):
    """S18: a lot is defective with probability ``base rate × multiplier (+ shirk_defect if corners were cut)``."""
    return np.clip(base_defect * defect_multiplier + np.where(shirked, shirk_defect, 0.0), 0.0, 1.0)


# --- 4. inspection -----------------------------------------------------------------------------

def inspection_probability(trust_b, no_inspection_trust):
    """S17: the buyer inspects with probability ``clip(1 − trust_b / no_inspection_trust, 0, 1)``.

    Above ``no_inspection_trust`` it never inspects (and a threshold of 0 means it never does).
    """
    if no_inspection_trust <= 0:
        return np.zeros_like(trust_b)
    return np.clip(1.0 - trust_b / no_inspection_trust, 0.0, 1.0)


def update_inspection_seen(seen, inspected, memory):
    """S14: the supplier's estimate of how often this buyer inspects, an exponential average."""
    return seen + memory * (inspected - seen)


# --- 5. after-sales service --------------------------------------------------------------------

def financial_health(cash, start_cash):
    """S12: a supplier's health, its cash relative to its starting cash, clipped to [0, 1]."""
    return np.clip(np.divide(cash, start_cash, out=np.ones_like(cash, dtype=float), where=start_cash > 0), 0.0, 1.0)


def delivered_service(alignment, health, unbundled, unbundled_priority):
    """S2, S5, S11, S12: delivered level ``alignment · (0.5 + 0.5 · health)``, × ``unbundled_priority`` when paid per call."""
    level = alignment * (0.5 + 0.5 * health)
    return np.where(unbundled, level * unbundled_priority, level)


def service_gap(promised, delivered):
    """S4: the shortfall against what sales promised, ``max(0, promised − delivered)``."""
    return np.maximum(0.0, promised - delivered)


# --- 6. complaints -----------------------------------------------------------------------------

def candour(trust_b, recently_contacted):
    """S7: a dissatisfied buyer speaks up with probability ``0.2 + 0.8 · trust_b`` if contacted lately, else 0.2."""
    return np.where(recently_contacted, 0.2 + 0.8 * trust_b, 0.2)


# --- 7. attention and erosion ------------------------------------------------------------------

PASSIVE, PERIODIC, SILENCE = 0, 1, 2


def contacts(policy, age, since_contact, contact_interval):
    """S6, S7: who the supplier contacts this step.

    passive: nobody (it only answers complaints); periodic: every ``contact_interval`` steps of the
    relationship's age, on a fixed calendar; silence: a buyer not heard from for ``contact_interval``
    steps (a complaint or a contact counts as hearing from it).
    """
    periodic = (policy == PERIODIC) & (age > 0) & (age % contact_interval == 0)
    silence = (policy == SILENCE) & (since_contact >= contact_interval)
    return periodic | silence


def erode(trust, baseline, erosion, unattended):
    """S6: trust in a relationship nobody looks after moves toward ``baseline`` by ``erosion`` per step."""
    return np.where(unattended, trust + erosion * (baseline - trust), trust)


# --- 8. trust update ---------------------------------------------------------------------------

def buyer_trust_update(trust_b, defect, clean, unfixed_gap, fixed, gain, loss):
    """S14: trust builds slowly and falls fast.

    a defective lot (found or failed): ``trust_b −= loss · trust_b``; a clean lot with no service
    gap: ``trust_b += gain · (1 − trust_b)``; an unfixed voiced gap: ``trust_b −= 0.5 · loss · gap ·
    trust_b``; a fixed complaint: a small gain, ``0.5 · gain · (1 − trust_b)``.
    """
    t = trust_b - np.where(defect, loss * trust_b, 0.0)
    t = t + np.where(clean, gain * (1.0 - t), 0.0)
    t = t + np.where(fixed, 0.5 * gain * (1.0 - t), 0.0)
    t = t - 0.5 * loss * np.minimum(unfixed_gap, 1.0) * t
    return np.clip(t, 0.0, 1.0)


def supplier_trust_update(trust_s, played_off, gain):
    """S14, S18: a supplier's trust grows by ``gain · (1 − trust_s)`` each step the buyer deals fairly."""
    return np.where(played_off, trust_s, trust_s + gain * (1.0 - trust_s))


# --- 9. information sharing and innovation -----------------------------------------------------

def toward_floor(value, floor, step_share, n):
    """S13, S18: ``n`` improvements, each taking ``step_share`` of the distance to ``floor`` off."""
    return floor + (value - floor) * (1.0 - step_share) ** n


def anticipated_probability(trust_b, buyer_shares):
    """S9: a specification change is anticipated with probability ``trust_b`` when the buyer shares plans."""
    return np.where(buyer_shares, trust_b, 0.0)


def invests_in_link(trust_s, age, linked, share_threshold, linkage_age):
    """S8: a trusting supplier invests once in a link at a buyer it has served ``linkage_age`` steps."""
    return (trust_s >= share_threshold) & (age >= linkage_age) & ~linked


# --- 10. face-to-face time and transaction cost ------------------------------------------------

def nonproductive_hours(trust_b, linked, rebid, defect, unanticipated, h, trust_scaled=True):
    """S15, S16: ``h_admin (halved by a link) + h_monitor · (1 − trust_b) + h_bid · [rebid] +
    h_dispute · [defect] + h_renegotiate · (1 − trust_b) · [unanticipated change]``.

    ``trust_scaled`` false fixes the trust-scaled terms at their zero-trust level (the null model).
    """
    distrust = (1.0 - trust_b) if trust_scaled else np.ones_like(trust_b)
    return (np.where(linked, 0.5 * h.h_admin, h.h_admin) + h.h_monitor * distrust
            + h.h_bid * rebid + h.h_dispute * defect + h.h_renegotiate * distrust * unanticipated)


def productive_hours(both_share, ideas, h):
    """S13: joint work, ``h_collab · (0.6 + 0.4 · [both share]) + h_idea · ideas``."""
    return h.h_collab * (0.6 + 0.4 * both_share) + h.h_idea * ideas


def transaction_cost_per_unit(nonproductive, hour_cost, reference_volume):
    """S15: non-productive hours priced at ``hour_cost``, spent per ``reference_volume`` units."""
    return nonproductive * hour_cost / reference_volume


# --- 11. downstream competition ----------------------------------------------------------------

def logit_attraction(retail_price, price_sensitivity):
    """S1, S19: ``a_i = exp(−β · p_i / mean p)``.

    Only the ratios matter (shares are ``a_i / Σa``): when a steep β underflows every ``a_i`` to 0 or to
    subnormal numbers (which have lost their precision), the same ratios are taken relative to the
    cheapest price, ``exp(−β · (p_i − min p) / mean p)``.
    """
    mean = retail_price.mean()
    if not mean > 0:
        return np.ones_like(retail_price)
    a = np.exp(-price_sensitivity * retail_price / mean)
    if a.max() < np.finfo(a.dtype).tiny:
        a = np.exp(-price_sensitivity * (retail_price - retail_price.min()) / mean)
    return a


def update_shares(share, attraction, inertia):
    """S1, S19: ``share ← (1 − λ) share + λ a_i / Σa``."""
    return (1.0 - inertia) * share + inertia * attraction / attraction.sum()


# --- 13. adaptation ----------------------------------------------------------------------------

def imitation_probability(own_profit, other_profit, profit_range):
    """Replicator dynamics: adopt the other's posture with probability ∝ the profit difference."""
    if profit_range <= 0:
        return np.zeros_like(own_profit)
    return np.clip((other_profit - own_profit) / profit_range, 0.0, 1.0)
