"""The after-sales mechanisms in a running market: attention, silence, bankruptcy, ideas, adaptation, money."""

import numpy as np
import pytest

from trustsim import TrustMarket
from trustsim.metrics import COLUMNS


def long_run(model, group, column):
    return model.recorder.summary()["long_run"][group][column]


def total(model, column, group="all"):
    return float(model.recorder.rows[:, ("partner", "aggressive", "all").index(group), COLUMNS.index(column)].sum())


def test_passive_attention_lets_partner_trust_erode():
    passive, silence = [], []
    for seed in range(1, 6):
        for policy, out in (("passive", passive), ("silence", silence)):
            m = TrustMarket(rng=seed, attention_policy=policy)
            m.run()
            out.append(long_run(m, "partner", "trust_buyer"))
    print(f"\npartner trust, passive {np.mean(passive):.3f} vs silence-triggered {np.mean(silence):.3f}")
    assert max(passive) < min(silence)


def test_silent_exits_follow_silence():
    """'Silent' means: no complaint while the dissatisfaction that made the buyer leave built up (S7).

    One service gap is at most 1 = exit_dissatisfaction, so that takes at least two quiet steps; typically
    far more than contact_interval."""
    since, exits = [], 0
    for seed in range(1, 4):
        m = TrustMarket(rng=seed, attention_policy="passive", alignment_mean=0.6)
        while m.running:
            m.step()
            since.extend(m.ev.silent_exit_since_complaint.tolist())
        exits += total(m, "exits_silent")
    print(f"\n{exits:.0f} silent exits; steps since the last complaint: min {min(since)}, median {np.median(since)}")
    assert exits == len(since) > 20
    assert min(since) >= 2
    assert np.median(since) > m.params.suppliers.contact_interval


def test_bankrupt_supplier_is_replaced_and_its_buyers_resourced():
    m = TrustMarket(rng=4, buyers=30, suppliers=10, steps=20)
    for _ in range(5):
        m.step()
    mk = m.market
    j = int(np.bincount(mk.sup, minlength=10).argmax())
    customers = np.flatnonzero(mk.sup == j)
    old_agent = m.suppliers[j]
    old_cost = mk.unit_cost[j]
    mk.supplier_cash[j] = -1e9  # cannot recover this step
    m.step()
    assert m.ev.bankruptcies >= 1
    assert m.ev.exit_bankrupt.sum() >= len(customers)
    assert old_agent not in m.agents and m.suppliers[j] in m.agents
    assert m.suppliers[j].unique_id != old_agent.unique_id
    assert mk.supplier_cash[j] == m.params.suppliers.supplier_cash and mk.unit_cost[j] != old_cost
    assert mk.vacant[customers].all()
    m.step()  # the next sourcing phase fills every vacancy
    assert not mk.vacant.any()
    assert total(m, "exits_bankruptcy") >= len(customers) and total(m, "bankruptcies") >= 1


def test_ideas_flow_only_above_the_sharing_thresholds():
    m = TrustMarket(rng=2, steps=40)
    while m.running:
        m.step()
        mk, ev, th = m.market, m.ev, m.params.trust.share_threshold
        assert (ev.supplier_ideas[mk.trust_s < th] == 0).all()
        mutual = (mk.trust_s >= th) & (mk.trust_b >= th)
        assert (ev.process_ideas[~mutual] == 0).all()
    assert mk.ideas_received.sum() > 0
    closed = TrustMarket(rng=2, steps=40, share_threshold=1.0)
    closed.run()
    assert closed.market.ideas_received.sum() == 0
    assert total(closed, "ideas_received") == 0
    open_ = TrustMarket(rng=2, steps=40, share_threshold=0.0)
    open_.run()
    assert open_.market.ideas_received.min() > 0  # every buyer, aggressive ones too


def test_adaptation_changes_the_partner_share_within_bounds():
    m = TrustMarket(rng=3, enabled=True, partner_share=0.5, imitation_interval=4)
    shares = []
    while m.running:
        m.step()
        shares.append(m.market.is_partner.mean())
    shares = np.array(shares)
    print(f"\npartner share of buyers: start {shares[0]:.2f}, end {shares[-1]:.2f}")
    assert ((shares >= 0) & (shares <= 1)).all()
    assert len(np.unique(shares)) > 1
    still = TrustMarket(rng=3, enabled=False, partner_share=0.5)
    still.run()
    assert still.market.is_partner.mean() == 0.5


def test_money_is_conserved_every_step():
    m = TrustMarket(rng=5, attention_policy="passive", uncertainty=0.6)
    while m.running:
        m.step()
        assert m.paid_by_buyers > 0
        assert m.paid_by_buyers == pytest.approx(m.received_by_suppliers, rel=1e-12)


def test_linkage_halves_admin_and_costs_the_buyer_who_leaves():
    m = TrustMarket(rng=1, steps=60)
    seen_link = seen_switch = False
    while m.running:
        linked_before = m.market.linked.copy()
        m.step()
        mk, ev, p = m.market, m.ev, m.params
        made = ev.new_link
        assert (mk.age[made] >= p.linkage.linkage_age).all() and (mk.trust_s[made] >= p.trust.share_threshold).all()
        seen_link |= made.any()
        left_linked = ev.rebid & linked_before & ~mk.linked & (mk.age == 1)
        if left_linked.any():
            assert (m.cost_parts["switching"][left_linked] >= p.linkage.linkage_switching_cost).all()
            seen_switch = True
    assert seen_link
    low_trust = TrustMarket(rng=1, steps=60, exit_threshold=0.9, linkage_age=1)
    low_trust.run()
    assert seen_switch or total(low_trust, "cost_switching") > 0


def test_unbundled_service_pays_the_fee_and_gets_less():
    bundled = TrustMarket(rng=6, partner_share=1.0)
    unbundled = TrustMarket(rng=6, partner_share=1.0, partner_in_price=False)
    bundled.run(), unbundled.run()
    assert total(bundled, "cost_service_fee") == 0 < total(unbundled, "cost_service_fee")
    assert long_run(unbundled, "partner", "cost_downtime") > long_run(bundled, "partner", "cost_downtime")
    # at equal unit costs (the first step, same seed) the price without service is lower
    first = [TrustMarket(rng=6, partner_share=1.0, partner_in_price=flag, steps=1) for flag in (True, False)]
    for m in first:
        m.run()
    assert first[1].latest("component_price", "partner") < first[0].latest("component_price", "partner")


def test_complaints_need_a_gap_and_candour_rises_with_contact():
    m = TrustMarket(rng=7, attention_policy="periodic")
    complained = dissatisfied = 0
    while m.running:
        m.step()
        ev = m.ev
        gap = ev.gap > m.params.service.complaint_gap
        assert not (ev.complained & ~gap).any()
        complained += ev.complained.sum()
        dissatisfied += gap.sum()
    assert 0.2 < complained / dissatisfied < 1.0


def test_nobody_inspects_above_the_no_inspection_trust():
    from trustsim import phases

    m = TrustMarket(rng=8)
    inspected_any = False
    for _ in range(120):  # run the phases by hand to see trust at the moment of inspection
        for phase in phases.SCHEDULE:
            if phase is phases.inspection:
                trust_then = m.market.trust_b.copy()
            phase(m)
        m.observe()
        assert not (m.ev.inspected & (trust_then >= m.params.trust.no_inspection_trust)).any()
        inspected_any |= m.ev.inspected.any()
    assert inspected_any


def test_every_exit_is_followed_by_a_new_relationship():
    m = TrustMarket(rng=9, attention_policy="passive", alignment_mean=0.6)
    while m.running:
        m.step()
        ev = m.ev
        new = int((m.market.age == 1).sum())  # started this step (age advanced at the end)
        exits = int(ev.exit_low.sum() + ev.exit_silent.sum() + ev.exit_outbid.sum())
        assert new >= exits
    for c in ("exits_low_trust", "exits_silent", "exits_outbid"):
        assert total(m, c) > 0, c
