"""The mechanisms of docs/ODD.md section 7, one small function each: arrays in, arrays out.

Each function reads like its equation and cites the claims (S-numbers) it stands on. The same
function serves one relationship or a million; nothing here draws random numbers — callers pass the
draws (from ``draws.py``) in, so each rule can be tested on hand-computed cases.
"""

from __future__ import annotations

import numpy as np

# --- 1. environment ----------------------------------------------------------------------------

_TINY = np.finfo(float).tiny  # the smallest normal number: below it a float has lost precision
_DIVISOR_FLOOR = 1e-300  # a threshold or band above it divides the model's shares and markups without overflow


def _everywhere(holds: np.ndarray) -> bool:
    """Whether a condition on parameters holds for every element: a number's test read as it is, an array's by
    a reduction (whose call costs a small array's step more than the test)."""
    return bool(holds) if holds.ndim == 0 else bool(holds.all())


def _unit_interval(x):
    """``x`` clipped to [0, 1] (a share, a probability); NaN stays NaN. Two ufunc calls, not ``np.clip``'s wrapper,
    which costs a small array's step several times more."""
    return np.minimum(np.maximum(x, 0.0), 1.0)


def demand_shock(demand, uncertainty, eps):
    """S19: final demand this step, ``D_t = D · exp(σ · 0.2 · ε)``, ε ~ N(0, 1)."""
    return demand * np.exp(uncertainty * 0.2 * eps)


# --- 2. sourcing and pricing -------------------------------------------------------------------

def quote(unit_cost, markup):
    """S18: a supplier's quote, ``unit_cost · (1 + m)``, m ~ U(min_markup, fair_markup), on its cost for the buyer
    (``unit_cost``: its unit cost × fit)."""
    return unit_cost * (1.0 + markup)


def price_floor(unit_cost, min_markup):
    """S18: the lowest price an incumbent accepts when played off, ``unit_cost · (1 + min_markup)``."""
    return unit_cost * (1.0 + min_markup)


def cost_plus_price(unit_cost, service_need, service_cost, fair_markup, service_in_price, padding=0.0):
    """S10, S11, S14: partner cost-plus on the reported cost,
    ``(unit_cost · (1 + padding) + service_need · service_cost) · (1 + fair_markup)``.

    ``unit_cost`` is the supplier's cost for this buyer (its unit cost × the relationship's fit); a
    supplier of low integrity reports it padded (``padding``). With service left out of the price
    (``service_in_price`` false) the service term is dropped and each service event is billed on top
    at ``service_fee`` (phase 11).
    """
    reported = unit_cost * (1.0 + padding)
    return (reported + np.where(service_in_price, service_need * service_cost, 0.0)) * (1.0 + fair_markup)


def padding(integrity, audit_seen, padding_max):
    """S5, S14: the share by which a supplier pads the cost it reports,
    ``padding_max · (1 − θ) · (1 − audit_seen)``: only the unwatched are padded, by the dishonest."""
    return padding_max * (1.0 - integrity) * (1.0 - audit_seen)


def reputation(sup, trust_b, active, n_suppliers, initial):
    """S10, S14: a supplier's reputation, the mean trust of its current customers in it (``initial`` for
    a supplier with none)."""
    held = sup[active]
    n = np.bincount(held, minlength=n_suppliers)
    total = np.bincount(held, weights=trust_b[active], minlength=n_suppliers)
    return np.divide(total, n, out=np.full((n_suppliers,), initial, dtype=float), where=n > 0)


def expected_cost_score(quote_, reputation_, tco_weight):
    """S10: a buyer ranks quotes by expected cost of ownership, ``quote · (1 + tco_weight · (1 − reputation))``."""
    return quote_ * (1.0 + tco_weight * (1.0 - reputation_))


def starting_trust(initial, reputation_, word_of_mouth):
    """S10, S14: a new relationship's buyer trust, ``(1 − word_of_mouth) · initial + word_of_mouth · reputation``
    (word of mouth, docs/ODD.md 7.2)."""
    return (1.0 - word_of_mouth) * initial + word_of_mouth * reputation_


def fit_factor(fit_spread, eps):
    """S14, S19: how well a supplier fits a buyer's specification, as a cost factor ``exp(fit_spread · ε)``."""
    return np.exp(fit_spread * eps)


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

INTEGRITY_SD_RESOLUTION = 1e-6  # an integrity sd below it counts as 0 (docs/ODD.md, decision 31)


def integrity_beta(mean, sd):
    """S14: the Beta distribution's ``(a, b, spread)`` with this mean and standard deviation; ``spread`` is
    false where every supplier gets the mean (sd 0, or a mean of 0 or 1). An sd beyond the largest a Beta
    allows, √(mean · (1 − mean)), is taken as √0.98 (about 0.99) of it; an sd below a millionth
    (``INTEGRITY_SD_RESOLUTION``) as 0: so narrow a Beta has parameters near 10¹¹ and more, whose quantiles
    SciPy gives as NaN (sd 10⁻¹⁰ at mean 0.8), and its suppliers would differ by less than a millionth."""
    mean = np.asarray(mean, dtype=float)
    var_max = mean * (1.0 - mean)
    var = np.minimum(np.square(sd), 0.98 * var_max)
    spread = (np.asarray(sd) >= INTEGRITY_SD_RESOLUTION) & (var > 0)
    common = np.where(spread, var_max / np.where(spread, var, 1.0) - 1.0, 0.0)
    a, b = mean * common, (1.0 - mean) * common
    return a, b, spread & (a > 0) & (b > 0)  # a mean so close to 0 or 1 that a Beta cannot hold it


def shirk_probability(integrity, trust_s, inspection_seen):
    """S5, S14: corners are cut with probability ``(1 − θ) · (1 − inspection_seen) · (1 − θ · trust_s)``.

    An honest supplier (θ = 1) never cuts corners; a pure opportunist (θ = 0) cuts them whenever it is
    not watched, whatever the buyer's trust: trust, by ending inspection, is the vulnerability it exploits.
    """
    return (1.0 - integrity) * (1.0 - inspection_seen) * (1.0 - integrity * trust_s)


def lot_defect_probability(base_defect, defect_multiplier, shirked, shirk_defect):
    """S14, S18: a lot is defective with probability ``base rate × multiplier (+ shirk_defect if corners were cut)``."""
    return _unit_interval(base_defect * defect_multiplier + np.where(shirked, shirk_defect, 0.0))


# --- 4. inspection -----------------------------------------------------------------------------

def inspection_probability(trust_b, no_inspection_trust):
    """S17: the buyer inspects with probability ``clip(1 − trust_b / no_inspection_trust, 0, 1)``: never above
    ``no_inspection_trust`` (and never with a threshold of 0)."""
    threshold = np.asarray(no_inspection_trust)
    if _everywhere(threshold > _DIVISOR_FLOOR):
        return _unit_interval(1.0 - trust_b / no_inspection_trust)
    positive = threshold > 0
    with np.errstate(over="ignore"):  # a threshold so small that trust / threshold overflows: ∞, so 0 (trust > 0)
        return np.where(positive, _unit_interval(1.0 - trust_b / np.where(positive, threshold, 1.0)), 0.0)


def update_inspection_seen(seen, inspected, memory):
    """S14: the supplier's estimate of how often this buyer inspects, an exponential average."""
    return seen + memory * (inspected - seen)


# --- 5. after-sales service --------------------------------------------------------------------

def financial_health(cash, start_cash):
    """S12: a supplier's health, its cash relative to its starting cash, clipped to [0, 1] (1 without starting
    cash). The cash is clipped to [0, starting cash] before the division, which gives the same numbers and cannot
    overflow when the starting cash is tiny."""
    within = np.minimum(np.maximum(cash, 0.0), start_cash)
    return np.divide(within, start_cash, out=np.ones_like(cash, dtype=float), where=start_cash > 0)


def service_level(alignment, health):
    """S2, S5, S12: the service a supplier delivers, ``alignment · (0.5 + 0.5 · health)``."""
    return alignment * (0.5 + 0.5 * health)


def delivered_service(level, unbundled, unbundled_priority):
    """S11: the supplier's ``service_level``, × ``unbundled_priority`` when paid per call."""
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

def betrayal_severity(defect, padding_found, padding, padding_max, proportional):
    """S14: how much of a betrayal a step's evidence is, in [0, 1]. A defective lot (found or failed) is a
    whole one; padding found by an audit is a whole one too, or, ``proportional``, its size relative to the
    most a supplier can pad, ``padding / padding_max`` (an audit that finds a cent is not the betrayal that
    finding a tenth of the price is; docs/ODD.md, decision 38)."""
    size = np.divide(padding, padding_max, out=np.ones(np.shape(padding)), where=np.asarray(padding_max) > 0)
    found = np.where(padding_found, np.where(proportional, np.minimum(size, 1.0), 1.0), 0.0)
    return np.where(defect, 1.0, found)


def buyer_trust_update(trust_b, betrayal, clean, unfixed_gap, fixed, gain, loss):
    """S14: trust builds slowly and falls fast (docs/ODD.md 7.8), in this order: a betrayal of severity
    ``betrayal`` in [0, 1] (``betrayal_severity``: a defective lot, padding found by an audit): ``trust_b −=
    loss · betrayal · trust_b``; a clean step (no defect, no padding found, no service gap): ``trust_b += gain ·
    (1 − trust_b)``; a fixed complaint or surfaced dissatisfaction: ``trust_b += 0.5 · gain · (1 − trust_b)``;
    an unfixed gap (a complaint, or dissatisfaction a contact surfaced, not fixed): ``trust_b −= 0.5 · loss ·
    min(gap, 1) · trust_b``; then clipped to [0, 1]."""
    t = trust_b - loss * betrayal * trust_b
    t = t + np.where(clean, gain * (1.0 - t), 0.0)
    t = t + np.where(fixed, 0.5 * gain * (1.0 - t), 0.0)
    t = t - 0.5 * loss * np.minimum(unfixed_gap, 1.0) * t
    return _unit_interval(t)


def margin_factor(price, cost, min_markup, fair_markup):
    """S14, S18: how fairly a supplier is paid, ``clip((m − min_markup) / (fair_markup − min_markup), 0, 1)``
    with ``m = price / cost − 1`` its markup over its cost for this buyer (all or nothing when the two
    markups are equal)."""
    m = np.divide(price, cost, out=np.full(np.shape(price), np.inf), where=cost > 0) - 1.0
    width = np.asarray(fair_markup - min_markup)
    if _everywhere(width > _DIVISOR_FLOOR):
        return _unit_interval((m - min_markup) / width)
    with np.errstate(over="ignore"):  # a width of almost nothing: the ratio overflows to ±∞, so 0 or 1
        graded = _unit_interval((m - min_markup) / np.where(width > 0, width, 1.0))
    return np.where(width > 0, graded, (m >= min_markup).astype(float))


def supplier_trust_update(trust_s, played_off, gain, margin=1.0, plans_shared=False):
    """S14, S18: a supplier's trust follows the buyer's conduct.

    A step without play-off gains ``gain · margin · (1 − trust_s)`` (a squeezed supplier builds trust
    slowly; ``margin`` from ``margin_factor``); a buyer that shares its plans adds ``gain · (1 − trust_s)``.
    (The play-off's own loss is taken in phase 2, ``playoff_trust``.)
    """
    t = np.where(played_off, trust_s, trust_s + gain * margin * (1.0 - trust_s))
    return t + np.where(plans_shared, gain * (1.0 - t), 0.0)


# --- 9. information sharing and innovation -----------------------------------------------------

def toward_floor(value, floor, step_share, n):
    """S13, S18: ``n`` improvements, each taking ``step_share`` of the distance to ``floor`` off."""
    return floor + (value - floor) * _powers(1.0 - step_share, n)


_POWERS_TABLE_FROM = 1 << 10  # counts: a larger array's powers of one base are looked up in a table


def _powers(base, n):
    """``base ** n`` for counts ``n``. With one base and many counts (most of them 0), each power is computed once,
    ``base ** 0 … base ** max(n)`` by the same ``pow``, and looked up: the same numbers, without a ``pow`` per
    element (ten times a multiplication's cost), unless the table would be longer than the counts."""
    n = np.asarray(n)
    if np.ndim(base) or n.size < _POWERS_TABLE_FROM or (most := int(n.max())) >= n.size:
        return base ** n
    return (base ** np.arange(most + 1, dtype=n.dtype))[n.astype(np.intp, copy=False)]


def shares_plans(trust_b, share_threshold, on_partner_terms, partner_terms_only):
    """S9, S18: a buyer shares its plans with a supplier it trusts (``trust_b ≥ share_threshold``); with
    ``partner_terms_only`` (MODEL 9.3: shared plans are part of partner terms) only on partner terms."""
    trusts = trust_b >= share_threshold
    return trusts & on_partner_terms if partner_terms_only else trusts


def anticipated_probability(trust_b, buyer_shares):
    """S9: a specification change is anticipated with probability ``trust_b`` when the buyer shares plans."""
    return np.where(buyer_shares, trust_b, 0.0)


def invests_in_link(trust_s, age, linked, share_threshold, linkage_age):
    """S8: a trusting supplier invests once in a link at a buyer it has served ``linkage_age`` steps."""
    return (trust_s >= share_threshold) & (age >= linkage_age) & ~linked


# --- 10. face-to-face time and transaction cost ------------------------------------------------

def nonproductive_hours(trust_b, linked, rebid, defect, unanticipated, h, trust_scaled=True, audited=False):
    """S15, S16: ``h_admin (halved by a link) + h_monitor · (1 − trust_b) + h_bid · [rebid] +
    h_dispute · [defect] + h_renegotiate · (1 − trust_b) · [unanticipated change] + audit_hours · [audit]``.

    ``trust_scaled`` false fixes the trust-scaled terms at their zero-trust level (the null model).
    """
    distrust = (1.0 - trust_b) if trust_scaled else np.ones_like(trust_b)
    return (np.where(linked, 0.5 * h.h_admin, h.h_admin) + h.h_monitor * distrust
            + h.h_bid * rebid + h.h_dispute * defect + h.h_renegotiate * distrust * unanticipated
            + h.audit_hours * audited)


def productive_hours(both_share, ideas, h):
    """S13: joint work, ``h_collab · (0.6 + 0.4 · [mutual trust: both ≥ share_threshold]) + h_idea · ideas``."""
    return h.h_collab * (0.6 + 0.4 * both_share) + h.h_idea * ideas


def transaction_cost_per_unit(nonproductive, hour_cost, reference_volume):
    """S15: non-productive hours priced at ``hour_cost``, spent per ``reference_volume`` units."""
    return nonproductive * hour_cost / reference_volume


# --- 11. downstream competition ----------------------------------------------------------------

def nash_price(cost, mean_price, share, price_sensitivity, max_markup):
    """S1, S19: a buyer's profit-maximising price against logit demand, ``p = c + p̄ / (β · (1 − s))``
    (the first-order condition; Berry 1994), on last step's mean price p̄ and its own share s, and no more
    than ``c · (1 + max_markup)`` (where β · (1 − s) is small no finite equilibrium price exists)."""
    denom = price_sensitivity * (1.0 - share)
    with np.errstate(over="ignore"):  # a β of almost nothing: a margin beyond any float, ∞ as at β = 0, then capped
        margin = np.divide(mean_price, denom, out=np.full(np.shape(cost), np.inf), where=denom > 0)
    return cost + np.minimum(margin, cost * max_markup)


def symmetric_nash_mean(mean_cost, n_buyers, price_sensitivity, max_markup):
    """S1, S19: the mean price where all buyers have equal cost and shares, ``c̄ · (1 + 1 / (β · (1 − 1/n) − 1))``
    (capped as ``nash_price``): the p̄ of the first step, which has no last step (docs/ODD.md, decision 44)."""
    denom = np.asarray(price_sensitivity * (1.0 - 1.0 / n_buyers) - 1.0)
    with np.errstate(over="ignore"):  # (as ``nash_price``)
        markup = np.divide(1.0, denom, out=np.full(denom.shape, np.inf), where=denom > 0)
    return mean_cost * (1.0 + np.minimum(markup, max_markup))


def logit_attraction(retail_price, price_sensitivity):
    """S1, S19: ``a_i = exp(−β · p_i / mean p)``, over the buyers of one market (the last axis).

    Only the ratios matter (shares are ``a_i / Σa``): when a steep β underflows every ``a_i`` to 0 or to
    subnormal numbers (which have lost their precision), the same ratios are taken relative to the
    cheapest price, ``exp(−β · (p_i − min p) / mean p)``. A market whose mean price is not positive gets
    equal attractions.
    """
    mean = retail_price.sum(axis=-1, keepdims=True) / retail_price.shape[-1]  # np.mean's sum and division
    positive = mean > 0
    scale = np.where(positive, mean, 1.0)
    a = np.exp(-price_sensitivity * retail_price / scale)
    under = np.maximum.reduce(a, axis=-1, keepdims=True) < _TINY
    if under.any():
        cheapest = retail_price.min(axis=-1, keepdims=True)
        a = np.where(under, np.exp(-price_sensitivity * (retail_price - cheapest) / scale), a)
    return np.where(positive, a, 1.0)


def update_shares(share, attraction, inertia):
    """S1, S19: ``share ← (1 − λ) share + λ a_i / Σa``, Σ over the buyers of one market (the last axis)."""
    return (1.0 - inertia) * share + inertia * attraction / attraction.sum(axis=-1, keepdims=True)


# --- 2. terms chosen and learned (conduct = "learning") -----------------------------------------

def realised_value(tco, own_cost_cut, horizon):
    """S10, S18: a period's value per unit of a relationship to its buyer, ``−(component cost of ownership)
    + horizon · (cut in the buyer's own cost per unit from this relationship's ideas)``: a short-termist
    (small horizon) sees the price and not the ideas."""
    return -tco + horizon * own_cost_cut


def update_attraction(attraction, value, memory):
    """S18: experience-weighted attraction (Camerer & Ho 1999): ``A ← A + memory · (value − A)``."""
    return attraction + memory * (value - attraction)


def partner_terms_probability(attraction_partner, attraction_market, trust_b, choice_sensitivity, trust_weight):
    """S14, S18: a buyer takes partner terms with probability
    ``1 / (1 + exp(−(choice_sensitivity · (A_partner − A_market) + trust_weight · (trust_b − 0.5))))``."""
    x = choice_sensitivity * (attraction_partner - attraction_market) + trust_weight * (trust_b - 0.5)
    return 0.5 * (1.0 + np.tanh(0.5 * x))  # the logistic function, without overflow


# --- 13. adaptation ----------------------------------------------------------------------------

def imitation_probability(own_profit, other_profit, profit_range):
    """S18, S19 (does partnership spread?): replicator dynamics, adopt the other's conduct with p ∝ the profit gap."""
    spread = profit_range > 0
    return np.where(spread, _unit_interval((other_profit - own_profit) / np.where(spread, profit_range, 1.0)), 0.0)
