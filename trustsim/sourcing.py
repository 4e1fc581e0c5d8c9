"""Phase 2 of the step (docs/ODD.md 7.2): exits, filling slots from the best quote, aggressive rebids that
play incumbents off against rivals, and partners' cost-plus prices; also the first sourcing (ODD 5).

Like every phase, each function applies one rule to all the rows it is given at once; the slots of every
column are quoted together, then taken one column after another so that a buyer's suppliers stay distinct.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from . import learning, rules
from .draws import Draws, as_normal
from .state import StepContext


def _holds_any(bidders: np.ndarray, others: np.ndarray) -> np.ndarray:
    """Whether each bidder (``(n, bids)``) is one of its row's ``others`` (``(n, k)``): compared slot by slot, as
    a few whole-table comparisons rather than a reduction over a short axis."""
    barred = bidders == others[:, :1]
    for j in range(1, others.shape[1]):
        barred |= bidders == others[:, j: j + 1]
    return barred


class _Quotes(NamedTuple):
    """Each row's table of quotes, one column per bidder: who bids, at what markup, fit, price and expected cost
    of ownership (the buyer's score)."""

    bidders: np.ndarray
    markup: np.ndarray
    fits: np.ndarray
    quotes: np.ndarray
    scores: np.ndarray


def _quotes(model: StepContext, rows: np.ndarray, exclude_incumbent: bool) -> _Quotes:
    """S3, S10, S18, S19: ``n_bids`` random suppliers quote for each row (of any slot columns: each column draws
    at its own sites).

    Each bidder quotes on its cost for the buyer's specification, unit cost × its fit (with ``market.refit =
    current_spec`` its one draw for the slot's current specification, else a fresh draw; the incumbent, when it
    bids, keeps its fit); the buyer scores quotes by ``expected_cost_score`` on the bidders'
    reputations. Nothing here depends on which suppliers the buyer's other slots hold, so the rows of every
    column are quoted at once; ``_best_quote`` then chooses column by column.
    """
    mk, ev, dr = model.market, model.ev, model.draws
    nb, ns = model.pp.shared.buyers.n_bids, mk.suppliers_each
    p = model.pp.at("relationship", rows, grid=True)
    kind = "rebid_" if not exclude_incumbent else ""
    column = mk.slot_of[rows, None]
    base = Draws.columns(mk.base_bids[rows], nb)
    current_spec = model.pp.shared.market.refit == "current_spec"
    names = ("bidder", "markup") if current_spec else ("bidder", "markup", "fit")  # no site depends on the others
    u_bid, u_markup, *u_fit = dr.uniforms_of_sites(dr.slot_site([kind + name for name in names], column), base)
    bidders = mk.supplier_offset[rows, None] + (u_bid * ns).astype(np.int64)
    markup = p.prices.min_markup + (p.prices.fair_markup - p.prices.min_markup) * u_markup
    if current_spec:  # each supplier's fit to the slot's current specification: a repeated search finds no new fit
        fits = mk.supplier_fit(rows, bidders, p.market.fit_spread)
    else:             # a fresh fit at every quote
        fits = rules.fit_factor(p.market.fit_spread, as_normal(u_fit[0]))
    if not exclude_incumbent:
        fits = np.where(bidders == mk.sup[rows, None], mk.fit[rows, None], fits)
    quotes = rules.quote(mk.unit_cost[bidders] * fits, markup)
    return _Quotes(bidders, markup, fits, quotes, rules.expected_cost_score(quotes, ev.reputation[bidders],
                                                                            p.buyers.tco_weight))


def _best_quote(model: StepContext, rows: np.ndarray, table: _Quotes, exclude_incumbent: bool):
    """S3, S18: the best of each row's quotes (``table``, rows of one slot column) by expected cost of ownership.

    A supplier already holding another slot of the same buyer does not bid (dual sourcing), nor, when
    ``exclude_incumbent``, the supplier being left. When every bidder is barred, a rebid leaves the incumbent
    unchallenged and a slot to fill goes to a random supplier the buyer does not hold. Returns the winning
    quote, supplier, fit and score.
    """
    mk, dr = model.market, model.draws
    n, ns = len(rows), mk.suppliers_each
    bidders, fits = table.bidders, table.fits
    buyer = mk.buyer_of[rows]
    held = mk.sup.reshape(mk.n_buyers, mk.k)[buyer]  # (n, k): the buyer's slots
    if exclude_incumbent:  # filling slots: a vacant one holds nobody (a rebid comes after every slot is filled)
        others = np.where(mk.vacant.reshape(mk.n_buyers, mk.k)[buyer], -1, held)
    else:                  # the incumbent may bid unless left
        others = np.where(held == mk.sup[rows, None], -2, held)
    scores = np.where(_holds_any(bidders, others), np.inf, table.scores)
    best = scores.argmin(axis=1)
    pick = (np.arange(n), best)
    q, winner, fit, score = table.quotes[pick], bidders[pick], fits[pick], scores[pick]
    barred_all = ~np.isfinite(score)
    q[barred_all] = np.inf
    if not exclude_incumbent:  # a rebid that drew no eligible rival: the incumbent keeps the slot unchallenged
        winner[barred_all] = mk.sup[rows[barred_all]]
    elif barred_all.any():     # a slot to fill and every bidder barred: ask a supplier it does not hold
        column = int(mk.slot_of[rows[0]])
        fb = np.flatnonzero(barred_all)
        offset = mk.supplier_offset[rows[fb], None]
        candidates = offset + np.arange(ns)  # (fb, ns): every supplier of the row's market
        free = ~_holds_any(candidates, others[fb])
        free[~free.any(axis=1)] = True  # fewer suppliers than slots: a duplicate cannot be avoided
        pick_free = dr.uniform(dr.slot_site("fallback", column), Draws.columns(mk.base_fits[rows[fb]], ns)) * free
        winner[fb] = offset[:, 0] + np.argmax(pick_free, axis=1)
        spread = np.broadcast_to(model.pp.at("relationship", rows[fb]).market.fit_spread, (len(fb),))
        current_spec = model.pp.shared.market.refit == "current_spec"
        fit[fb] = mk.supplier_fit(rows[fb], winner[fb], spread) if current_spec else fits[fb, 0]
        q[fb] = rules.quote(mk.unit_cost[winner[fb]] * fit[fb], table.markup[fb, 0])
    return q, winner, fit, score


def _column_by_column(model: StepContext, rows: np.ndarray, exclude_incumbent: bool):
    """The rows of each slot column in turn, with their tables of quotes: ``(column's rows, their table)``, all
    quoted at once (``_quotes``, in column order so that a column's rows and quotes are slices of the table),
    chosen and settled one column after another so that a buyer's suppliers stay distinct."""
    if len(rows) == 0:  # most steps, no slot to fill
        return
    column = model.market.slot_of[rows]
    rows = rows[column.argsort(kind="stable")]  # column after column: each column's rows are one slice
    table = _quotes(model, rows, exclude_incumbent)
    start = 0
    for end in np.bincount(column).cumsum().tolist():
        if end > start:
            yield rows[start:end], _Quotes(*(t[start:end] for t in table))
        start = end


def _start(model: StepContext, rows: np.ndarray, winner: np.ndarray, price: np.ndarray, fit: np.ndarray) -> None:
    """S10, S14: new relationships in ``rows``; the buyer's starting trust follows the winner's reputation."""
    mk = model.market
    p = model.pp.at("relationship", rows)
    trust_b = rules.starting_trust(p.trust.initial, model.ev.reputation[winner], p.buyers.word_of_mouth)
    mk.start_relationships(rows, winner, trust_b, fit)
    mk.price[rows] = price


def fill_slots(model: StepContext, rows: np.ndarray) -> None:
    """S3: fill ``rows`` (vacant or just left) with the best quote, slot column by slot column (also ODD 5)."""
    for col, table in _column_by_column(model, rows, exclude_incumbent=True):
        q, winner, fit, _ = _best_quote(model, col, table, exclude_incumbent=True)
        _start(model, col, winner, q, fit)
        model.ev.rebid[col] = True


def initial_sourcing(model: StepContext) -> None:
    """ODD 5: every slot goes to the best of ``n_bids`` quotes; every supplier has the reputation ``trust.initial``."""
    mk = model.market
    model.ev.reputation = np.full((mk.n_suppliers,), model.pp.supplier.trust.initial, dtype=float)
    fill_slots(model, np.arange(mk.n_rel))


def _rebid(model: StepContext, rows: np.ndarray, table: _Quotes) -> None:
    """S3, S10, S18: the incumbent answers the best rival bid; it matches (played off) or loses the slot.

    The buyer judges its incumbent on its own trust and rivals on reputation: the incumbent keeps the
    slot at the price whose expected cost of ownership equals the rival's, if that is above its floor.
    """
    mk, ev = model.market, model.ev
    p = model.pp.at("relationship", rows)
    w = p.buyers.tco_weight
    ev.rebid[rows] = True
    q, winner, fit, score = _best_quote(model, rows, table, exclude_incumbent=False)
    inc, price, trust = mk.sup[rows], mk.price[rows], mk.trust_b[rows]
    by_incumbent = winner == inc
    per_price = rules.expected_cost_score(1.0, trust, w)  # the incumbent's score per unit of its price
    cheaper = np.where(by_incumbent, q < price, score < price * per_price)
    match = np.where(by_incumbent, q, score / per_price)  # the price whose score is the rival's
    can_match = rules.price_floor(mk.unit_cost[inc] * mk.fit[rows], p.prices.min_markup) <= match
    stays = by_incumbent | can_match
    switch = cheaper & ~stays
    kept = cheaper & stays
    mk.price[rows[kept]] = match[kept]
    matched = rows[~(switch | by_incumbent)]  # made to answer a rival's quote: played off, whatever the price
    penalty = model.pp.at("relationship", matched).trust.playoff_penalty
    mk.trust_s[matched] = rules.playoff_trust(mk.trust_s[matched], penalty)
    ev.played_off[matched] = True
    gone = rows[switch]
    if len(gone) == 0:  # most rebids keep every incumbent: nothing to start
        return
    np.add.at(ev.exit_outbid, mk.buyer_of[gone], 1)
    ev.switching[gone] += np.where(mk.linked[gone], model.pp.at("relationship", gone).linkage.linkage_switching_cost,
                                   0.0)
    _start(model, gone, winner[switch], q[switch], fit[switch])


def sourcing(model: StepContext) -> None:
    """Phase 2 (S3, S7, S8, S10, S11, S14, S18, S19): exits and re-sourcing, aggressive rebids, partner cost-plus."""
    mk, ev, pp = model.market, model.ev, model.pp
    p = pp.rel
    ev.reputation = rules.reputation(mk.sup, mk.trust_b, ~mk.vacant, mk.n_suppliers, pp.supplier.trust.initial)
    # exits: low trust, or silently on accumulated unvoiced dissatisfaction; vacancies from bankruptcy
    low, silent = rules.leaves(mk.trust_b, mk.latent, p.buyers.exit_threshold, p.buyers.exit_dissatisfaction)
    low &= ~mk.vacant
    silent &= ~mk.vacant
    np.add.at(ev.exit_low, mk.buyer_of[low], 1)
    np.add.at(ev.exit_silent, mk.buyer_of[silent], 1)
    leaving = low | silent
    ev.left_after = np.where(leaving, mk.since_complaint, -1)  # steps since the last complaint, for P7
    ev.switching = np.where(leaving & mk.linked, p.linkage.linkage_switching_cost, 0.0) + mk.pending_switching
    mk.pending_switching = np.zeros(mk.n_rel)
    fill_slots(model, (leaving | mk.vacant).nonzero()[0])

    if pp.shared.buyers.conduct == "learning":
        learning.review_terms(model)

    # rebids on market terms: play the incumbent off against the lowest quote
    due_b = rules.due_for_rebid(model.steps, mk.rebid_phase, pp.shared.buyers.rebid_interval)  # each buyer's
    due = ~mk.rel_partner & due_b[mk.buyer_of]
    due &= ~ev.rebid
    # (slot columns in turn, so that a switch sees the supplier the buyer's other slot just took)
    for rows, table in _column_by_column(model, due.nonzero()[0], exclude_incumbent=False):
        _rebid(model, rows, table)

    # partners pay cost-plus every step, so supplier cost reductions are shared; the dishonest pad the cost
    partner = mk.rel_partner
    s = p.service
    ev.padding = np.where(partner, rules.padding(mk.integrity[mk.sup], mk.audit_seen, p.suppliers.padding_max), 0.0)
    cp = rules.cost_plus_price(mk.cost_for_buyer(), s.service_need, s.service_cost, p.prices.fair_markup,
                               mk.service_in_price(), ev.padding)
    mk.price = np.where(partner, cp, mk.price)
    ev.unbundled = ~mk.service_in_price()
