"""trustsim/market.py: the market's arrays over buyers, suppliers and relationships (one entry per element they
are declared for, numbered member by member), their per-buyer and per-market reductions, what is read through
each relationship's supplier, and the relationship network exported from them."""

import numpy as np
import pytest

from trustsim import TrustMarket
from trustsim.draws import REL_EVERYWHERE, REL_SITES, Draws
from trustsim.market import Market
from trustsim.members import ParamSpace
from trustsim.params import Params
from trustsim.state import MarketState, describe, per_market, per_market_mean


def test_network_export():
    m = TrustMarket(rng=1, buyers=10, suppliers=5, steps=5)
    m.run()
    g = m.network()
    assert sum(1 for _, d in g.nodes(data=True) if d["kind"] == "buyer") == 10
    assert sum(d["slots"] for *_, d in g.edges(data=True)) == 20
    assert all(0 <= d["trust_buyer"] <= 1 for *_, d in g.edges(data=True))


def tiny_market(members=2, **overrides):
    """The state of ``members`` markets of 3 buyers with 2 slots each and 4 suppliers, side by side, as drawn
    at the start (before the first sourcing)."""
    p = Params().replace(**{"market.buyers": 3, "market.suppliers": 4, "market.slots_per_buyer": 2, **overrides})
    return Market(ParamSpace([p] * members), Draws(list(range(1, members + 1))))


def test_every_array_has_one_entry_per_element_it_is_declared_for():
    mk = tiny_market()
    length = {"buyer": 6, "supplier": 8, "relationship": 12}
    assert (mk.n_buyers, mk.n_suppliers, mk.n_rel, mk.k) == (6, 8, 12, 2)
    for name, per, _ in describe(MarketState):
        value = getattr(mk, name)
        if per in length:
            assert np.shape(value)[0] == length[per], (name, per, np.shape(value))
        elif isinstance(value, np.ndarray):  # per market: one entry per member
            assert value.shape == (2,), (name, value.shape)


def test_relationships_are_numbered_buyer_by_buyer_and_member_by_member():
    mk = tiny_market()
    assert mk.buyer_of.tolist() == [0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5]
    assert mk.slot_of.tolist() == [0, 1] * 6
    assert mk.member_of_rel.tolist() == [0] * 6 + [1] * 6
    assert mk.rel_local.tolist() == [0, 1, 2, 3, 4, 5] * 2
    assert mk.supplier_offset.tolist() == [0] * 6 + [4] * 6  # member 1's supplier 0 is supplier 4
    assert mk.vacant.all() and np.allclose(mk.share, 1 / 3)  # no slot filled before the first sourcing


def test_integrity_of_active_suppliers_is_over_those_holding_a_slot_or_all_when_none_does():
    from trustsim.columns import _active_integrity

    mk = tiny_market()  # two markets, every slot vacant before the first sourcing
    mk.integrity[:] = [0.1, 0.2, 0.3, 0.6, 0.5, 0.7, 0.9, 1.0]
    assert np.allclose(_active_integrity(mk), [0.3, 0.775])  # nobody holds a slot: every supplier's mean
    mk.vacant[6:] = False  # market 1's slots, held by its suppliers 0 and 2 (global 4 and 6)
    mk.sup[6:] = [4, 6] * 3
    assert np.allclose(_active_integrity(mk), [0.3, 0.7])


def test_each_market_has_its_share_of_partners():
    mk = tiny_market(**{"buyers.partner_share": 1 / 3})
    assert per_market(mk.is_partner, mk).sum(axis=1).tolist() == [1, 1]
    assert np.array_equal(mk.rel_partner, np.repeat(mk.is_partner, 2))


@pytest.mark.parametrize("k", [2, 3, 8])
def test_per_buyer_sums_each_buyers_slots(k):
    mk = tiny_market(**{"market.slots_per_buyer": k})
    values = np.arange(mk.n_rel, dtype=float)
    expected = [sum(range(b * k, (b + 1) * k)) for b in range(6)]
    assert mk.per_buyer(values).tolist() == expected
    assert mk.per_buyer(np.stack([values, 2 * values])).tolist() == [expected, [2 * e for e in expected]]
    assert mk.per_buyer(values % 2 == 0).tolist() == [(k + 1) // 2 if (b * k) % 2 == 0 else k // 2 for b in range(6)]
    total = np.ones(6)
    assert mk.per_buyer(values, into=total) is total and total.tolist() == [e + 1 for e in expected]


def test_per_market_helpers_reduce_member_by_member():
    mk = tiny_market()
    values = np.array([1.0, 2.0, 3.0, 10.0, 20.0, 30.0])  # one per buyer
    assert per_market(values, mk).tolist() == [[1, 2, 3], [10, 20, 30]]
    assert per_market_mean(values, np.array([True, False, True, False, False, True]), mk).tolist() == [2.0, 30.0]
    empty = per_market_mean(values, np.array([True, True, False, False, False, False]), mk, empty=-1.0)
    assert empty.tolist() == [1.5, -1.0]


def test_costs_and_defects_are_read_through_each_relationships_supplier():
    mk = tiny_market(members=1)
    mk.unit_cost[:] = [1.0, 2.0, 3.0, 4.0]
    mk.base_defect[:] = [0.01, 0.02, 0.03, 0.04]
    mk.sup[:] = [3, 0, 1, 2, 2, 3]
    mk.fit[:] = [1.0, 1.0, 0.5, 2.0, 1.0, 1.0]
    mk.defect_mult[:] = [1.0, 2.0, 1.0, 1.0, 3.0, 1.0]
    assert mk.cost_for_buyer().tolist() == [4.0, 1.0, 1.0, 6.0, 3.0, 4.0]
    assert np.allclose(mk.defect_rate(), [0.04, 0.02, 0.02, 0.03, 0.09, 0.04])


def test_a_started_relationship_begins_afresh():
    mk = tiny_market(members=1, **{"trust.initial": 0.4})
    mk.age[:], mk.linked[:], mk.latent[:], mk.trust_s[:] = 7, True, 0.5, 0.9
    rows = np.array([1, 4])
    mk.start_relationships(rows, np.array([2, 3]), np.array([0.7, 0.2]), np.array([1.1, 0.9]))
    assert mk.sup[rows].tolist() == [2, 3] and not mk.vacant[rows].any() and mk.vacant.sum() == 4
    assert mk.trust_b[rows].tolist() == [0.7, 0.2] and mk.trust_s[rows].tolist() == [0.4, 0.4]
    assert mk.fit[rows].tolist() == [1.1, 0.9]
    assert (mk.age[rows] == 0).all() and not mk.linked[rows].any() and (mk.latent[rows] == 0).all()
    others = np.setdiff1d(np.arange(6), rows)
    assert (mk.age[others] == 7).all() and mk.linked[others].all() and (mk.trust_s[others] == 0.9).all()


def test_a_cleared_steps_events_are_zeros_and_only_those_set_in_place_can_be_written_into():
    """Phase 1 clears the step's events: every one reads as zeros; the relationship events a phase assigns whole
    share one read-only array per type, from step to step (writing into one before its phase assigned it
    fails), while the events set element by element and the per-buyer counts are arrays of their own."""
    from trustsim.state import _EVENT_KINDS, _SET_IN_PLACE, Events

    ev = Events.cleared(6, 3, 2)
    kinds = {name: per for name, per, _ in _EVENT_KINDS}
    for name in kinds:
        assert not np.any(getattr(ev, name)), name
    assigned = [getattr(ev, n) for n, per in kinds.items() if per == "relationship" and n not in _SET_IN_PLACE]
    assert all(not a.flags.writeable for a in assigned)
    with pytest.raises(ValueError, match="read-only"):
        ev.defect[0] = True
    own = [getattr(ev, n) for n, per in kinds.items() if n in _SET_IN_PLACE or per in ("buyer", "market")]
    assert all(a.flags.writeable for a in own)
    assert len({id(a) for a in own}) == len(own)  # none shared
    ev.rebid[1] = True
    np.add.at(ev.exit_low, [0, 0], 1)
    assert ev.rebid.sum() == 1 and ev.exit_low[0] == 2 and not ev.played_off.any() and not ev.exit_silent.any()
    after = Events.cleared(6, 3, 2)  # the next step: the read-only zeros again, fresh arrays for the rest
    assert after.defect is ev.defect and not after.rebid.any() and after.exit_low[0] == 0
    assert not {id(getattr(after, n)) for n in kinds if n in _SET_IN_PLACE or kinds[n] in ("buyer", "market")} & {
        id(a) for a in own}


def test_market_means_are_numpys_means_of_each_markets_row():
    from trustsim.state import market_means

    mk = tiny_market(members=3)
    values = np.random.default_rng(4).lognormal(size=mk.n_buyers) * 1e3
    expected = per_market(values, mk).mean(axis=1)
    assert market_means(values, mk).shape == (3,)
    assert np.array_equal(market_means(values, mk), expected)


@pytest.mark.parametrize("scenario", ["baseline", "passive_attention", "service_unbundled", "evolution"])
def test_draws_made_only_where_needed_give_the_run_of_draws_made_for_every_relationship(scenario, monkeypatch):
    """A large market draws the sites of ``draws.REL_WHERE_NEEDED`` (a defect to detect, a complaint to fix, a
    changed specification to refit…) for the relationships where they decide something, a small one for every
    relationship; forced either way, the same market has the same events and figures, number for number."""
    from conftest import ROOT

    from trustsim import phases
    from trustsim.scenario import load_scenario

    params = load_scenario(ROOT / "scenarios" / f"{scenario}.toml").params.replace(**{"run.steps": 80})
    events = ("found", "audited", "padding_found", "complained", "fixed", "supplier_ideas", "process_ideas",
              "unanticipated")

    def run(drawn_whole_below):
        monkeypatch.setattr(phases, "_DRAWN_WHOLE_BELOW", drawn_whole_below)
        model, seen = TrustMarket(params, rng=11), []
        while model.running:
            model.step()
            seen.append([getattr(model.ev, name).copy() for name in events])
        return model, seen

    whole, where_needed = run(1 << 40), run(0)
    assert len(whole[0].ev.uniforms) == len(REL_SITES) and len(where_needed[0].ev.uniforms) == len(REL_EVERYWHERE)
    assert np.array_equal(whole[0].recorder.data, where_needed[0].recorder.data, equal_nan=True)
    for a, b in zip(whole[1], where_needed[1], strict=True):
        assert all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))
    happened = {name: sum(int(step[i].sum()) for step in whole[1]) for i, name in enumerate(events)}
    print(scenario, happened)
    assert all(v > 0 for v in happened.values())  # the route is exercised, not a run where nothing happens


def test_a_started_relationship_resets_every_clock_and_expects_inspection_at_its_buyers_trust():
    """Besides age, links and latent dissatisfaction: the clocks since the last contact and complaint restart at
    zero, defects come at the supplier's base rate again (multiplier 1) and the supplier expects to be inspected
    and audited as often as a buyer of this starting trust inspects (clip(1 − trust / no_inspection_trust, 0, 1))."""
    mk = tiny_market(members=1, **{"trust.initial": 0.4, "trust.no_inspection_trust": 0.8})
    mk.since_contact[:], mk.since_complaint[:], mk.defect_mult[:] = 5, 3, 2.5
    mk.inspection_seen[:], mk.audit_seen[:], mk.trust_s[:] = 0.9, 0.8, 0.95
    rows = np.array([0, 3, 5])
    mk.start_relationships(rows, np.array([1, 0, 3]), np.array([0.2, 0.6, 1.0]), np.ones(3))
    assert mk.since_contact[rows].tolist() == [0, 0, 0] and mk.since_complaint[rows].tolist() == [0, 0, 0]
    assert mk.defect_mult[rows].tolist() == [1.0, 1.0, 1.0]
    expected = [0.75, 0.25, 0.0]  # 1 − 0.2 / 0.8, 1 − 0.6 / 0.8, and nothing above 0.8
    assert np.allclose(mk.inspection_seen[rows], expected) and np.allclose(mk.audit_seen[rows], expected)
    others = np.setdiff1d(np.arange(6), rows)
    assert (mk.since_contact[others] == 5).all() and (mk.since_complaint[others] == 3).all()
    assert (mk.defect_mult[others] == 2.5).all() and (mk.inspection_seen[others] == 0.9).all()
    assert (mk.audit_seen[others] == 0.8).all()


def test_a_started_relationship_takes_its_own_markets_parameters():
    """In an ensemble whose members differ in trust.initial and no_inspection_trust, a relationship started in
    member 1 has member 1's supplier trust and expected inspection, one in member 0 member 0's."""
    p = Params().replace(**{"market.buyers": 3, "market.suppliers": 4, "market.slots_per_buyer": 2})
    members = [p.replace(**{"trust.initial": 0.3, "trust.no_inspection_trust": 0.6}),
               p.replace(**{"trust.initial": 0.7, "trust.no_inspection_trust": 0.9})]
    mk = Market(ParamSpace(members), Draws([1, 2]))
    rows = np.array([1, 4, 6, 9, 11])  # members 0, 0, 1, 1, 1
    mk.start_relationships(rows, np.array([0, 3, 4, 5, 7]), np.full(5, 0.45), np.ones(5))
    assert mk.trust_s[rows].tolist() == [0.3, 0.3, 0.7, 0.7, 0.7]
    assert np.allclose(mk.inspection_seen[rows], [0.25, 0.25, 0.5, 0.5, 0.5])


def test_tables_of_draws_give_every_bid_and_every_supplier_of_every_relationship_its_own_element():
    """Relationship r's bid j is element r · n_bids + j and its fit to supplier s element r · suppliers + s of its
    market: within a member no two (relationship, column) pairs share a counter base, so neighbouring rows'
    tables do not repeat each other's numbers."""
    from trustsim.draws import Draws

    mk = tiny_market(members=2, **{"buyers.n_bids": 3})
    for base, width in ((mk.base_bids, 3), (mk.base_fits, 4)):
        table = Draws.columns(base, width)  # (relationships, columns)
        assert len(np.unique(table)) == table.size, width
        member0 = table[: mk.n_rel // 2].ravel()
        assert np.array_equal(member0, mk.draws.base(np.zeros(member0.size, dtype=np.int64), np.arange(member0.size)))


def test_a_markets_supplier_fits_are_those_it_draws_alone_and_change_with_its_specification():
    """S19: a slot's fit to a supplier is drawn once per specification: the same whatever else is in the ensemble
    (member 1 of two draws what the same market draws alone, by its own supplier numbers), the same again while
    the specification stands, new once it changes."""
    both = tiny_market(members=2)  # seeds 1 and 2
    p = Params().replace(**{"market.buyers": 3, "market.suppliers": 4, "market.slots_per_buyer": 2})
    alone = Market(ParamSpace([p]), Draws([2]))  # member 1 of the pair, on its own
    rows = np.arange(6)
    suppliers = np.tile(np.arange(4), (6, 1))
    fits = alone.supplier_fit(rows, suppliers, 0.3)
    assert np.array_equal(both.supplier_fit(rows + 6, suppliers + 4, 0.3), fits)
    assert np.array_equal(alone.supplier_fit(rows, suppliers, 0.3), fits)
    alone.spec_epoch[[1, 4]] = 9  # a specification change at step 9 on two slots
    after = alone.supplier_fit(rows, suppliers, 0.3)
    changed = np.zeros(6, dtype=bool)
    changed[[1, 4]] = True
    assert np.array_equal(after[~changed], fits[~changed]) and (after[changed] != fits[changed]).all()


def test_partners_are_the_rounded_share_of_each_markets_buyers_and_rebid_phases_cover_the_interval():
    """docs/ODD.md 5: round(partner_share · buyers) partners in each market (0.6 · 3 = 1.8: two), and each buyer's
    rebid phase is one of 0 … rebid_interval − 1, every one of them taken among many buyers."""
    mk = tiny_market(members=3, **{"buyers.partner_share": 0.6})
    assert per_market(mk.is_partner, mk).sum(axis=1).tolist() == [2, 2, 2]
    many = tiny_market(members=2, **{"market.buyers": 200, "buyers.rebid_interval": 4})
    assert set(many.rebid_phase.tolist()) == {0, 1, 2, 3}
