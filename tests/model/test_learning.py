"""Buyers that learn their terms (``buyers.conduct = "learning"``, docs/ODD.md 7.2) in running markets.

The direction of each effect is derived from the rules, not from the runs' own bookkeeping: the value a
set of terms realises is −(cost of ownership) + horizon · (own-cost cut from ideas); raising the cost of
one set of terms lowers the value it realises, so its attraction, and with it the probability of
choosing it, must fall.
"""

import mesa
import numpy as np
import pytest

from trustsim import TrustMarket, learning, rules
from trustsim.metrics import COLUMN_NAMES, POSTURE_GROUPS

SEEDS = range(1, 7)


def share_on_partner_terms(**overrides) -> np.ndarray:
    """Per seed: the share of relationships on partner terms over the last quarter of 80 steps."""
    out = []
    for seed in SEEDS:
        m = TrustMarket(rng=seed, conduct="learning", steps=80, **overrides).run()
        col = m.recorder.rows[:, POSTURE_GROUPS.index("all"), COLUMN_NAMES.index("partner_terms_share")]
        out.append(col[-20:].mean())
    return np.array(out)


def test_costly_rebids_make_partner_terms_preferred_and_costly_partnership_the_reverse():
    base = share_on_partner_terms()
    costly_market = share_on_partner_terms(h_bid=400.0)        # every rebid costs 400 hours
    costly_partner = share_on_partner_terms(fair_markup=0.6)   # cost-plus at a 60% markup
    print(f"\nshare on partner terms: baseline {base.mean():.2f}, rebids costly {costly_market.mean():.2f}, "
          f"cost-plus costly {costly_partner.mean():.2f}")
    assert (costly_market > base).all()
    assert (costly_partner < base).all()


def test_reviews_follow_the_equations(monkeypatch):
    """At a review the attractions move as update_attraction says, and the terms chosen follow the logit."""
    m = TrustMarket(rng=3, conduct="learning", peer_learning=0.0, steps=40)
    for _ in range(7):
        m.step()
    mk, p = m.market, m.params
    due = rules.due_for_rebid(m.steps + 1, mk.rebid_phase, p.buyers.rebid_interval)
    value = np.divide(mk.value_sum, mk.value_steps, out=np.zeros(mk.n_rel), where=mk.value_steps > 0)
    b = int(np.flatnonzero(due & (mk.value_steps.reshape(-1, mk.k) > 0).all(axis=1))[0])
    rows = np.arange(b * mk.k, (b + 1) * mk.k)
    on_p = mk.partner_terms[rows]
    ap, am = mk.attraction_partner[b], mk.attraction_market[b]
    want_p = rules.update_attraction(ap, value[rows][on_p].mean(), p.buyers.memory) if on_p.any() else ap
    want_m = rules.update_attraction(am, value[rows][~on_p].mean(), p.buyers.memory) if (~on_p).any() else am
    seen = {}
    real = learning.review_terms

    def spy(model):
        real(model)
        seen.update(ap=model.market.attraction_partner[b], am=model.market.attraction_market[b])

    monkeypatch.setattr(learning, "review_terms", spy)
    m.step()
    assert seen["ap"] == pytest.approx(want_p, rel=1e-12) and seen["am"] == pytest.approx(want_m, rel=1e-12)
    assert mk.value_steps[rows].max() == 1  # reviewed: the period starts again (this step's value only)


def test_fixed_conduct_keeps_every_relationship_on_its_posture_terms():
    m = TrustMarket(rng=2, steps=30).run()
    mk = m.market
    assert np.array_equal(mk.partner_terms, mk.is_partner[mk.buyer_of])


def test_batch_run_compares_fixed_and_learning_conduct():
    rows = mesa.batch_run(TrustMarket, parameters={"conduct": ["fixed", "learning"], "steps": 12},
                          rng=[5], number_processes=1, display_progress=False)
    last = {r["conduct"]: r for r in rows if r["Step"] == 12}
    assert set(last) == {"fixed", "learning"}
    assert all(np.isfinite(r["market_share"]) for r in last.values())


def test_suppliers_imitate_more_profitable_integrity():
    """With supplier imitation, integrity changes only at imitation rounds and stays in [0, 1]."""
    m = TrustMarket(rng=4, conduct="learning", supplier_imitation=True, integrity_mutation=0.05, steps=40)
    before = m.market.integrity.copy()
    changed_at = []
    while m.running:
        prev = m.market.integrity.copy()
        m.step()
        if m.ev.bankruptcies == 0 and not np.array_equal(prev, m.market.integrity):
            changed_at.append(m.steps)
    assert changed_at and all(s % m.params.adaptation.imitation_interval == 0 for s in changed_at)
    assert ((m.market.integrity >= 0) & (m.market.integrity <= 1)).all()
    assert not np.array_equal(before, m.market.integrity)


def test_a_relationship_that_replaces_one_mid_period_continues_its_slots_terms_and_their_sum():
    """Decision 42: the value a review learns from is the slot's, on the terms the buyer chose for it; a supplier
    replaced between reviews (an exit, a lost rebid) changes neither the terms nor the period, so the new
    relationship's values are added to the same sum."""
    replaced_mid_period = 0
    for seed in range(1, 7):  # pooled: one seed's run may replace no supplier between reviews
        m = TrustMarket(rng=seed, conduct="learning", steps=60)
        mk, p = m.market, m.params
        for _ in range(60):
            reviewed = rules.due_for_rebid(m.steps + 1, mk.rebid_phase, p.buyers.rebid_interval)[mk.buyer_of]
            sup, terms, steps = mk.sup.copy(), mk.partner_terms.copy(), mk.value_steps.copy()
            summed = mk.value_sum.copy()
            m.step()
            new = (mk.sup != sup) & ~reviewed & (steps > 0)
            replaced_mid_period += int(new.sum())
            assert np.array_equal(mk.partner_terms[new], terms[new])
            assert np.array_equal(mk.value_steps[new], steps[new] + 1)
            assert np.all(mk.value_sum[new] != summed[new])
    print(f"\nrelationships replaced between their buyer's reviews, seeds 1-6: {replaced_mid_period}")
    assert replaced_mid_period > 0


def test_an_advantage_compares_the_postures_over_the_steps_both_had_buyers():
    """Under learning a posture may be empty for most of the long run. A group's means are over the steps it had
    buyers, its size over every step: the share per buyer of a posture present in 8 of 600 steps came out many
    times the market's, and the long-run share advantage −64.9 where, step by step, partners were ahead."""
    from trustsim.stats import advantages, share_advantage

    m = TrustMarket(rng=2, conduct="learning").run()
    summary = m.recorder.summary()
    first, last = summary["long_run_steps"]
    span = m.recorder.rows[first - 1: last]
    sizes = span[:, :2, COLUMN_NAMES.index("buyers")]
    both = (sizes > 0).all(axis=1)
    share = span[:, :2, COLUMN_NAMES.index("market_share")]
    assert 0 < both.sum() < len(span)  # the case: partners alone in some steps of the long run, not all
    per_buyer = share[both].mean(axis=0) / sizes[both].mean(axis=0)
    want = (per_buyer[0] - per_buyer[1]) * sizes[both].sum(axis=1).mean()
    got = advantages(summary)["advantage.market_share"]
    print(f"\nlong run: both postures in {both.sum()} of {len(span)} steps; share advantage {got:.3f} "
          f"(step by step {np.mean((share[both] / sizes[both]) @ [1, -1] * sizes[both].sum(axis=1)):.3f})")
    assert got == pytest.approx(want, rel=1e-12)
    assert summary["both_postures"]["long_run"]["steps"] == both.sum()
    # fixed postures: never an empty posture, so the groups' own means, as before
    fixed = TrustMarket(rng=2, steps=200).run().recorder.summary()
    assert "both_postures" not in fixed
    assert advantages(fixed)["advantage.market_share"] == share_advantage(fixed["long_run"]["partner"],
                                                                           fixed["long_run"]["aggressive"])


def test_every_review_moves_attractions_from_their_first_values_by_own_and_peer_experience():
    """docs/ODD.md 7.2a, at every review of a buyer (one market, default ``peer_learning`` 0.5): at its first, both
    attractions start at the mean value per unit its relationships realised, its posture's terms
    ``initial_attraction`` above the other; then each set of terms moves ``memory`` of the way to the mean value its
    own relationships realised on them, then ``memory · peer_learning`` of the way to the mean value every
    relationship of the market realised on them (each step only where there is such a value)."""
    reviews = first_reviews = 0
    for seed in (1, 2):
        m = TrustMarket(rng=seed, conduct="learning", steps=30)
        mk, b = m.market, m.params.buyers
        while m.running:
            ap, am = mk.attraction_partner.copy(), mk.attraction_market.copy()
            seen = mk.value_steps > 0
            value = np.divide(mk.value_sum, mk.value_steps, out=np.zeros(mk.n_rel), where=seen)
            terms = mk.partner_terms.copy()
            due = rules.due_for_rebid(m.steps + 1, mk.rebid_phase, b.rebid_interval)
            posture = mk.is_partner.copy()
            m.step()
            for buyer in np.flatnonzero(due):
                rows = np.zeros(mk.n_rel, dtype=bool)
                rows[buyer * mk.k:(buyer + 1) * mk.k] = True
                if not (rows & seen).any():
                    continue
                want = {True: ap[buyer], False: am[buyer]}
                if np.isnan(ap[buyer]):
                    start = value[rows & seen].mean()
                    lean = b.initial_attraction if posture[buyer] else -b.initial_attraction
                    want = {True: start + max(lean, 0.0), False: start + max(-lean, 0.0)}
                    first_reviews += 1
                for on in (True, False):
                    own, market = rows & seen & (terms == on), seen & (terms == on)
                    if own.any():
                        want[on] += b.memory * (value[own].mean() - want[on])
                    if market.any():
                        want[on] += b.memory * b.peer_learning * (value[market].mean() - want[on])
                got = {True: mk.attraction_partner[buyer], False: mk.attraction_market[buyer]}
                assert got == {on: pytest.approx(a, rel=1e-12) for on, a in want.items()}
                reviews += 1
    print(f"\n{reviews} reviews checked, {first_reviews} of them first reviews")
    assert first_reviews > 20 and reviews > 100


@pytest.mark.parametrize("interval", [4, 1])
def test_a_review_with_nothing_realised_yet_keeps_the_buyers_terms(interval):
    """At step 1 nothing has been realised: a buyer whose review falls there has no attractions to choose by. Its
    choice probability was NaN, which no uniform is below, so it put every relationship on market terms before any
    experience (with ``rebid_interval`` 1, all the partners of the market: 20 partners became 0). It keeps its terms,
    and its period goes on to its next review, where its first attractions are formed."""
    for seed in (1, 2, 3):
        m = TrustMarket(rng=seed, conduct="learning", steps=10, rebid_interval=interval)
        mk = m.market
        terms, partners = mk.partner_terms.copy(), mk.is_partner.copy()
        due = rules.due_for_rebid(1, mk.rebid_phase, interval)
        assert due.any()
        m.step()
        print(f"seed {seed}, interval {interval}: {due.sum()} buyers reviewed at step 1, partners "
              f"{partners.sum()} → {mk.is_partner.sum()}")
        kept = due[mk.buyer_of]
        assert np.array_equal(mk.partner_terms[kept], terms[kept]) and np.array_equal(mk.is_partner, partners)
        assert (mk.value_steps[due[mk.buyer_of]] > 0).all()  # the period goes on: step 1's value is counted
        m.step()
        second = rules.due_for_rebid(2, mk.rebid_phase, interval)
        assert np.isfinite(mk.attraction_partner[second]).all()  # formed at the first review with experience


@pytest.mark.parametrize("mutation", [0.0, 0.05])
def test_an_imitating_supplier_takes_anothers_integrity_plus_a_mutation(monkeypatch, mutation):
    """Phase 13 (replicator dynamics, docs/ODD.md 7.13): a supplier that imitates takes the integrity of another
    supplier of its market plus a normal mutation of sd ``integrity_mutation``: without mutation every new
    integrity is one a supplier held before the round; with it, none is."""
    from trustsim import phases

    schedule = tuple(phases.SCHEDULE)
    at = schedule.index(phases.adaptation)  # wherever it stands in the step
    before = {}

    def adaptation(model, real=schedule[at]):
        before["integrity"] = model.market.integrity.copy()
        real(model)

    monkeypatch.setattr(phases, "SCHEDULE", (*schedule[:at], adaptation, *schedule[at + 1:]))
    held = changed = 0
    for seed in (4, 5):
        m = TrustMarket(rng=seed, conduct="learning", supplier_imitation=True, integrity_mutation=mutation, steps=40)
        while m.running:
            m.step()
            old = before["integrity"]
            new = m.market.integrity[m.market.integrity != old]
            changed += len(new)
            held += int(np.isin(new, old).sum())
    print(f"\nintegrity_mutation {mutation}: {changed} integrities changed by imitation, {held} of them to one "
          "held before the round")
    assert changed > 10
    assert held == (changed if mutation == 0.0 else 0)


def test_a_buyer_with_half_its_relationships_on_partner_terms_counts_as_a_partner():
    """docs/ODD.md 7.2a: a learning buyer's group is the terms of most of its relationships, at least half: with two
    slots, one on partner terms makes a partner buyer. Read after every step whose reviews set the groups."""
    m = TrustMarket(rng=5, conduct="learning", steps=40)
    mk, half = m.market, 0
    while m.running:
        m.step()
        if not rules.due_for_rebid(m.steps, mk.rebid_phase, m.params.buyers.rebid_interval).any():
            continue
        on_partner = mk.per_buyer(mk.partner_terms)
        assert np.array_equal(mk.is_partner, 2 * on_partner >= mk.k)
        half += int((2 * on_partner == mk.k).sum())
    print(f"\n{half} buyer-reviews with exactly half their relationships on partner terms")
    assert half > 10


def test_an_imitated_integrity_plus_its_mutation_stays_within_0_and_1():
    """docs/ODD.md 7.13: an imitating supplier takes another's integrity plus a mutation N(0, integrity_mutation)
    clipped to [0, 1]; a wide mutation from integrities near 1 reaches the bounds."""
    m = TrustMarket(rng=4, conduct="learning", supplier_imitation=True, integrity_mutation=0.5, steps=40).run()
    integrity = m.market.integrity
    assert ((integrity >= 0) & (integrity <= 1)).all()
    assert ((integrity == 0) | (integrity == 1)).any()  # the clip was needed
