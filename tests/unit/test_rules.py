"""Each rule of rules.py against its equation in docs/ODD.md section 7, on cases computed by hand."""

import math
import re
import warnings
from types import SimpleNamespace

import numpy as np
import pytest
from conftest import ROOT
from numpy.testing import assert_allclose, assert_array_equal

from trustsim import rules

A = np.array


def test_demand_shock():
    # D · exp(σ · 0.2 · ε): 1000 · exp(0.5 · 0.2 · 1) = 1105.17
    assert_allclose(rules.demand_shock(1000.0, 0.5, 1.0), 1105.1709180756477)
    assert rules.demand_shock(1000.0, 0.0, 3.0) == 1000.0


def test_quote_floor_and_cost_plus():
    assert_allclose(rules.quote(A([1.0, 0.8]), A([0.05, 0.02])), [1.05, 0.816])
    assert_allclose(rules.price_floor(0.9, 0.02), 0.918)
    # partner: (unit_cost + need · service_cost) · (1 + fair) = (1.0 + 0.3 · 0.03) · 1.08 = 1.08972
    assert_allclose(rules.cost_plus_price(A([1.0, 1.0]), 0.3, 0.03, 0.08, A([True, False])), [1.08972, 1.08])


def test_playoff_and_supplier_trust():
    assert_allclose(rules.playoff_trust(A([0.8]), 0.35), [0.52])
    # fair dealing: + gain · (1 − t); played off: unchanged here (the penalty is applied at the rebid)
    assert_allclose(rules.supplier_trust_update(A([0.5, 0.5]), A([False, True]), 0.08), [0.54, 0.5])


def test_leaves_low_trust_before_silent():
    low, silent = rules.leaves(A([0.1, 0.5, 0.1, 0.5]), A([0.0, 0.0, 2.0, 2.0]), 0.2, 1.0)
    assert low.tolist() == [True, False, True, False]
    assert silent.tolist() == [False, False, False, True]


def test_due_for_rebid_is_staggered():
    due = [rules.due_for_rebid(step, 1, 4) for step in range(8)]
    assert due == [False, False, False, True, False, False, False, True]


def test_shirk_probability():
    # (1 − θ) · (1 − seen) · (1 − θ · trust_s): θ 0.5, trust 0.4, seen 0.5 → 0.5 · 0.5 · 0.8 = 0.2;
    # θ 0.5, trust 1, seen 0 → 0.5 · 1 · 0.5 = 0.25 (a trusted opportunist still cheats when unwatched)
    assert_allclose(rules.shirk_probability(0.5, A([0.4, 1.0]), A([0.5, 0.0])), [0.2, 0.25])
    # a pure opportunist cheats whenever unwatched, whatever the trust; an honest supplier never
    assert_allclose(rules.shirk_probability(A([0.0, 0.0, 1.0]), A([0.0, 1.0, 0.0]), A([0.0, 0.0, 0.0])),
                    [1.0, 1.0, 0.0])


def test_integrity_beta_has_the_asked_mean_and_spread():
    a, b, spread = rules.integrity_beta(0.8, 0.15)
    # mean a / (a + b), variance ab / ((a + b)² (a + b + 1))
    assert spread and a / (a + b) == pytest.approx(0.8)
    assert math.sqrt(a * b / ((a + b) ** 2 * (a + b + 1))) == pytest.approx(0.15)
    assert not rules.integrity_beta(0.8, 0.0)[2] and not rules.integrity_beta(1.0, 0.2)[2]
    a, b, _ = rules.integrity_beta(0.5, 0.5)  # beyond the largest Beta spread (0.5): √0.98 of it
    assert math.sqrt(a * b / ((a + b) ** 2 * (a + b + 1))) == pytest.approx(math.sqrt(0.98) * 0.5)
    # per member: each mean and sd gets its own Beta
    a, b, spread = rules.integrity_beta(np.array([0.8, 0.5, 1.0]), np.array([0.15, 0.0, 0.2]))
    assert spread.tolist() == [True, False, False] and a[0] / (a[0] + b[0]) == pytest.approx(0.8)
    # an sd below a millionth is none: every supplier gets the mean (so narrow a Beta's quantiles come out NaN)
    spread = rules.integrity_beta(np.full(4, 0.8), np.array([3.5e-72, 1e-10, 9.9e-7, 1e-6]))[2]
    assert spread.tolist() == [False, False, False, True]


def test_padding_and_cost_plus_on_the_reported_cost():
    # padding_max · (1 − θ) · (1 − audit_seen) = 0.15 · 0.6 · 0.5 = 0.045
    assert_allclose(rules.padding(A([0.4, 1.0]), A([0.5, 0.0]), 0.15), [0.045, 0.0])
    # (1.0 · 1.045 + 0.3 · 0.03) · 1.08 = 1.13832
    assert_allclose(rules.cost_plus_price(A([1.0]), 0.3, 0.03, 0.08, A([True]), A([0.045])), [1.13832])


def test_reputation_is_the_mean_trust_of_current_customers():
    sup, trust, active = A([0, 0, 2, 2]), A([0.2, 0.6, 0.9, 0.1]), A([True, True, True, False])
    assert_allclose(rules.reputation(sup, trust, active, 3, 0.5), [0.4, 0.5, 0.9])  # supplier 1 has none
    # quote · (1 + w · (1 − rep)): 1.0 · (1 + 0.3 · 0.6) = 1.18
    assert_allclose(rules.expected_cost_score(A([1.0, 1.0]), A([0.4, 1.0]), 0.3), [1.18, 1.0])
    assert_allclose(rules.starting_trust(0.5, A([0.9, 0.1]), 0.5), [0.7, 0.3])
    assert_allclose(rules.starting_trust(0.5, A([0.9]), 0.0), [0.5])  # no word of mouth: the starting trust alone


def test_fit_factor_and_margin_factor():
    assert_allclose(rules.fit_factor(0.1, A([0.0, 1.0])), [1.0, math.exp(0.1)])
    assert_allclose(rules.fit_factor(0.0, A([2.5])), [1.0])
    # markup m = price / cost − 1; (m − 0.02) / (0.08 − 0.02), clipped: m 0.05 → 0.5, m 0.01 → 0, m 0.2 → 1
    assert_allclose(rules.margin_factor(A([1.05, 1.01, 1.2]), A([1.0, 1.0, 1.0]), 0.02, 0.08), [0.5, 0.0, 1.0])
    assert_allclose(rules.margin_factor(A([1.05, 1.01]), A([1.0, 1.0]), 0.02, 0.02), [1.0, 0.0])  # all or nothing


def test_supplier_trust_follows_margin_and_shared_plans():
    # not played off, margin 0.5: 0.5 + 0.08 · 0.5 · 0.5 = 0.52; then plans shared: 0.52 + 0.08 · 0.48 = 0.5584
    got = rules.supplier_trust_update(A([0.5, 0.5, 0.5]), A([False, False, True]), 0.08, A([0.5, 0.5, 1.0]),
                                      A([False, True, False]))
    assert_allclose(got, [0.52, 0.5584, 0.5])


def test_learning_rules():
    # value = −tco + horizon · own-cost cut: −1.0 + 12 · 0.002 = −0.976; a short-termist (horizon 0) sees −1.0
    assert_allclose(rules.realised_value(A([1.0, 1.0]), A([0.002, 0.002]), 12.0), [-0.976, -0.976])
    assert_allclose(rules.realised_value(A([1.0]), A([0.002]), 0.0), [-1.0])
    # A ← A + memory · (value − A): −1 + 0.3 · (−0.9 + 1) = −0.97
    assert_allclose(rules.update_attraction(A([-1.0]), A([-0.9]), 0.3), [-0.97])
    # logistic(50 · (−0.97 + 1.0) + 2 · (0.75 − 0.5)) = logistic(2) = 0.880797
    assert_allclose(rules.partner_terms_probability(A([-0.97]), A([-1.0]), A([0.75]), 50.0, 2.0), [0.8807970779778823])
    # equal attractions and trust 0.5: a coin; no overflow for huge differences
    assert_allclose(rules.partner_terms_probability(A([0.0, 1e6, -1e6]), A([0.0, 0.0, 0.0]), A([0.5, 0.5, 0.5]),
                                                    50.0, 2.0), [0.5, 1.0, 0.0])


def test_repeated_better_value_makes_partner_terms_preferred():
    """Derived from the equations: if partner terms keep realising more value than market terms, the
    attractions converge to the two values and the probability of partner terms exceeds one half."""
    ap, am = A([0.0]), A([0.02])
    for _ in range(30):
        ap, am = rules.update_attraction(ap, -0.95, 0.3), rules.update_attraction(am, -1.0, 0.3)
    assert ap[0] == pytest.approx(-0.95, abs=1e-3) and am[0] == pytest.approx(-1.0, abs=1e-3)
    assert rules.partner_terms_probability(ap, am, A([0.5]), 50.0, 2.0)[0] > 0.9
    assert rules.partner_terms_probability(am, ap, A([0.5]), 50.0, 2.0)[0] < 0.1  # and the reverse


def test_nash_price():
    # p = c + p̄ / (β (1 − s)): 1 + 1.2 / (8 · 0.75) = 1.2
    assert_allclose(rules.nash_price(A([1.0]), 1.2, A([0.25]), 8.0, 1.0), [1.2])
    # capped at c · (1 + max_markup) where β (1 − s) is small, or a monopoly
    assert_allclose(rules.nash_price(A([1.0, 2.0]), 1.2, A([0.25, 1.0]), 0.1, 0.5), [1.5, 3.0])
    # symmetric start: c̄ · (1 + 1 / (β (1 − 1/n) − 1)) = 1 · (1 + 1 / (8 · 0.75 − 1)) = 1.2 for n = 4
    assert rules.symmetric_nash_mean(1.0, 4, 8.0, 1.0) == pytest.approx(1.2)
    assert rules.symmetric_nash_mean(1.0, 1, 8.0, 0.5) == pytest.approx(1.5)


def test_lot_defect_probability():
    assert_allclose(rules.lot_defect_probability(A([0.03, 0.03]), A([0.5, 1.0]), A([False, True]), 0.25), [0.015, 0.28])
    assert rules.lot_defect_probability(A([0.9]), A([1.0]), A([True]), 0.25)[0] == 1.0  # clipped


def test_inspection_probability():
    assert_allclose(rules.inspection_probability(A([0.0, 0.4, 0.8, 0.95]), 0.8), [1.0, 0.5, 0.0, 0.0])
    assert_allclose(rules.inspection_probability(A([0.0, 0.5]), 0.0), [0.0, 0.0])  # threshold 0: never
    assert_allclose(rules.inspection_probability(A([0.0, 0.5]), A([0.0, 1.0])), [0.0, 0.5])  # one threshold each
    assert_allclose(rules.inspection_probability(A([0.0, 0.5, 1.0]), 1.0), [1.0, 0.5, 0.0])


def test_inspection_seen_is_an_exponential_average():
    assert_allclose(rules.update_inspection_seen(A([0.4, 0.4]), A([1.0, 0.0]), 0.25), [0.55, 0.3])


def test_financial_health():
    assert_allclose(rules.financial_health(A([3000.0, 1000.0, -5.0, 7.0]), A([2000.0, 2000.0, 2000.0, 0.0])),
                    [1.0, 0.5, 0.0, 1.0])
    with warnings.catch_warnings():  # a tiny starting cash: no overflow on the way to 1 (or 0)
        warnings.simplefilter("error")
        assert_array_equal(rules.financial_health(A([1e300, -1e300, 0.0]), A([1e-310, 1e-310, 1e-310])),
                           [1.0, 0.0, 0.0])
    cash, start = np.random.default_rng(3).normal(0, 2, (2, 10_000))
    start = np.abs(start)
    with np.errstate(all="ignore"):
        assert_array_equal(rules.financial_health(cash, start), np.clip(cash / start, 0.0, 1.0))  # the same numbers


def test_delivered_service_and_gap():
    # alignment · (0.5 + 0.5 · health), × unbundled_priority when paid per call
    assert_allclose(rules.service_level(A([0.8, 0.6]), A([0.5, 1.0])), [0.6, 0.6])
    assert_allclose(rules.delivered_service(A([0.6, 0.6]), A([False, True]), 0.8), [0.6, 0.48])
    assert_allclose(rules.service_gap(A([1.0, 0.5]), A([0.6, 0.7])), [0.4, 0.0])


def test_candour():
    assert_allclose(rules.candour(A([0.5, 0.5, 1.0]), A([True, False, True])), [0.6, 0.2, 1.0])


def test_contacts_by_policy():
    policy = A([rules.PASSIVE, rules.PERIODIC, rules.PERIODIC, rules.SILENCE, rules.SILENCE])
    age = A([8, 8, 9, 9, 9])
    since = A([10, 3, 10, 4, 3])
    assert rules.contacts(policy, age, since, 4).tolist() == [False, True, False, True, False]


def test_erosion_moves_toward_baseline():
    assert_allclose(rules.erode(A([0.9, 0.9, 0.1]), 0.3, 0.1, A([True, False, True])), [0.84, 0.9, 0.12])


def test_buyer_trust_update_is_asymmetric():
    t = A([0.5, 0.5, 0.5, 0.5])
    defect = A([True, False, False, False])
    clean = A([False, True, False, False])
    unfixed = A([0.0, 0.0, 0.4, 0.0])
    fixed = A([False, False, False, True])
    # defect: 0.5 − 0.35·0.5 = 0.325; clean: 0.5 + 0.08·0.5 = 0.54; unfixed gap 0.4: 0.5 − 0.5·0.35·0.4·0.5 = 0.465;
    # fixed complaint: 0.5 + 0.5·0.08·0.5 = 0.52
    assert_allclose(rules.buyer_trust_update(t, defect, clean, unfixed, fixed, 0.08, 0.35), [0.325, 0.54, 0.465, 0.52])
    # falls fast, builds slowly: one defect undoes several clean steps
    assert 0.5 - 0.325 > 4 * (0.54 - 0.5)
    assert rules.buyer_trust_update(A([1.0]), A([False]), A([True]), A([0.0]), A([False]), 0.5, 0.3)[0] == 1.0


def test_buyer_trust_update_applies_its_events_in_the_odds_order():
    """docs/ODD.md 7.8 (and the rule's docstring): betrayal, clean step, fixed complaint, then the unfixed gap,
    capped at 1, each on the trust the one before left. A step with a fixed complaint and an unfixed gap of 2
    (one from a complaint, one surfaced by a contact): 0.5 + 0.5·0.1·0.5 = 0.525, then 0.525 − 0.5·0.4·1·0.525."""
    got = rules.buyer_trust_update(A([0.5]), A([0.0]), A([False]), A([2.0]), A([True]), 0.1, 0.4)
    assert_allclose(got, [0.525 * (1 - 0.5 * 0.4)])


def test_toward_floor():
    # floor + (value − floor)(1 − share)^n: 0.7 + 0.3 · 0.9² = 0.943
    assert_allclose(rules.toward_floor(A([1.0, 1.0]), 0.7, 0.1, A([2, 0])), [0.943, 1.0])


def test_toward_floor_on_a_large_array_gives_each_element_its_own_power():
    # a large array looks its powers up in a table: the numbers of one pow per element (counts as ints, or as
    # floats: a supplier's count is a bincount's sum)
    rng = np.random.default_rng(5)
    value = rng.random(5000)
    huge = np.zeros(5000)
    huge[7] = 1e12  # a count beyond the array's length: no table of a trillion powers
    for counts in (rng.poisson(0.4, 5000), rng.poisson(3.0, 5000).astype(float), np.zeros(5000, dtype=np.int64), huge):
        for share in (0.05, 0.5, 1.0, 0.0):
            expected = 0.3 + (value - 0.3) * (1.0 - share) ** counts  # one pow per element
            assert_array_equal(rules.toward_floor(value, 0.3, share, counts), expected)


def test_anticipation_and_linkage():
    assert_allclose(rules.anticipated_probability(A([0.7, 0.7]), A([True, False])), [0.7, 0.0])
    got = rules.invests_in_link(A([0.7, 0.7, 0.5, 0.7]), A([8, 7, 9, 9]), A([False, False, False, True]), 0.6, 8)
    assert got.tolist() == [True, False, False, False]


H = SimpleNamespace(audit_hours=6.0, h_admin=8.0, h_monitor=15.0, h_collab=30.0, h_bid=20.0, h_dispute=15.0,
                    h_renegotiate=25.0, h_idea=4.0)


def test_nonproductive_hours():
    # 8 + 15·(1 − 0.6) + 20 + 15 + 25·0.4 = 59; linked halves admin: 4 + 6 = 10
    got = rules.nonproductive_hours(A([0.6, 0.6]), A([False, True]), A([1, 0]), A([1, 0]), A([1, 0]), H)
    assert_allclose(got, [59.0, 10.0])
    # null model: trust-scaled terms fixed at zero trust: 8 + 15 + 25 = 48
    assert_allclose(rules.nonproductive_hours(A([0.6]), A([False]), A([0]), A([0]), A([1]), H, trust_scaled=False),
                    [48.0])


def test_productive_hours_and_transaction_cost():
    assert_allclose(rules.productive_hours(A([True, False]), A([2, 0]), H), [38.0, 18.0])
    assert_allclose(rules.transaction_cost_per_unit(A([20.0]), 0.5, 125.0), [0.08])


def test_logit_shares():
    p = A([1.0, 1.2])
    a = rules.logit_attraction(p, 8.0)
    assert_allclose(a, np.exp(-8.0 * p / 1.1))
    s = rules.update_shares(A([0.5, 0.5]), a, 0.2)
    assert_allclose(s.sum(), 1.0)
    assert_allclose(s[0], 0.8 * 0.5 + 0.2 * a[0] / a.sum())
    assert s[0] > 0.5 > s[1]
    # a table of markets (one row each, its own β): each row on its own mean price, as np.mean gives it; a row
    # whose attractions all underflow is taken relative to its cheapest price; a non-positive mean: equal
    table = np.array([[1.0, 1.2, 0.9, 1.1], [2.0, 2.5, 2.2, 2.4], [5.0, 5.5, 5.2, 6.0], [0.0, 0.0, 0.0, 0.0]])
    beta = A([[8.0], [3.0], [1000.0], [8.0]])
    a = rules.logit_attraction(table, beta)
    assert np.array_equal(a[:2], np.exp(-beta[:2] * table[:2] / table[:2].mean(axis=1, keepdims=True)))
    mean = table[2].mean()
    assert np.array_equal(a[2], np.exp(-1000.0 * (table[2] - 5.0) / mean)) and a[2, 0] == 1.0
    assert a[3].tolist() == [1.0] * 4


def test_imitation_probability():
    assert_allclose(rules.imitation_probability(A([10.0, 30.0]), A([30.0, 10.0]), 40.0), [0.5, 0.0])
    assert_allclose(rules.imitation_probability(A([1.0]), A([2.0]), 0.0), [0.0])


# --- edges: trust 0 and 1, thresholds 0, clipping ------------------------------------------------

def test_edges_of_the_sourcing_rules():
    assert_allclose(rules.demand_shock(1000.0, 1.0, -1.0), 818.7307530779818)  # 1000 · exp(−0.2)
    assert_allclose(rules.quote(A([0.9]), A([0.0])), [0.9])
    # no markup, service always needed: (0.9 + 1 · 0.03) · 1 = 0.93
    assert_allclose(rules.cost_plus_price(A([0.9]), 1.0, 0.03, 0.0, A([True])), [0.93])
    assert_allclose(rules.playoff_trust(A([0.0, 1.0, 1.0]), A([0.5, 0.0, 1.0])), [0.0, 1.0, 0.0])
    # thresholds 0: nobody leaves on trust, even at trust 0; dissatisfaction must exceed the threshold
    low, silent = rules.leaves(A([0.0, 1.0, 1.0]), A([0.0, 0.0, 1e-9]), 0.0, 0.0)
    assert low.tolist() == [False, False, False] and silent.tolist() == [False, False, True]
    low, silent = rules.leaves(A([0.2, 0.19]), A([1.0, 5.0]), 0.2, 1.0)  # at the thresholds: stays
    assert low.tolist() == [False, True] and silent.tolist() == [False, False]
    assert all(rules.due_for_rebid(step, 0, 1) for step in range(5))


def test_edges_of_conduct_and_inspection():
    # untrusted and never inspected: 1 − θ; fully trusted: (1 − θ)²; always inspected: never
    assert_allclose(rules.shirk_probability(0.5, A([0.0, 1.0, 0.0]), A([0.0, 0.0, 1.0])), [0.5, 0.25, 0.0])
    assert_allclose(rules.lot_defect_probability(A([0.0, 0.03]), A([1.0, 0.3]), A([False, False]), 0.25), [0.0, 0.009])
    # trust exactly at the threshold: no inspection; trust 1 with threshold 1: none; trust 0: always
    assert_allclose(rules.inspection_probability(A([0.8, 1.0, 0.0]), 0.8), [0.0, 0.0, 1.0])
    assert_allclose(rules.inspection_probability(A([0.0, 1.0]), 1.0), [1.0, 0.0])
    assert_allclose(rules.update_inspection_seen(A([0.4]), A([1.0]), 0.0), [0.4])  # no memory: never learns
    assert_allclose(rules.update_inspection_seen(A([0.4]), A([0.0]), 1.0), [0.0])  # all memory: the last lot


def test_edges_of_service_and_complaints():
    # health 0: half the aligned level; health 1: all of it; a supplier paid per call with priority 0 gives nothing
    level = rules.service_level(A([0.6, 0.6, 0.6]), A([0.0, 1.0, 1.0]))
    assert_allclose(rules.delivered_service(level, A([False, False, True]), 0.0), [0.3, 0.6, 0.0])
    assert_allclose(rules.service_gap(A([0.8, 0.8]), A([0.8, 1.0])), [0.0, 0.0])
    # candour: 0.2 whatever the trust when not contacted; from 0.2 at trust 0 to 1 at trust 1 when contacted
    assert_allclose(rules.candour(A([0.0, 1.0, 0.0, 0.25]), A([False, False, True, True])), [0.2, 0.2, 0.2, 0.4])


def test_edges_of_attention_and_erosion():
    P, Q, S = rules.PASSIVE, rules.PERIODIC, rules.SILENCE
    # periodic: not at age 0 (the sale), then every interval; interval 1: every step after the first
    assert rules.contacts(A([Q, Q, Q]), A([0, 4, 12]), A([0, 0, 0]), 4).tolist() == [False, True, True]
    assert rules.contacts(A([Q, Q, S, S]), A([1, 2, 5, 5]), A([0, 0, 0, 1]), 1).tolist() == [True, True, False, True]
    # passive never contacts, however long the silence
    assert not rules.contacts(A([P]), A([100]), A([100]), 4).any()
    # at the baseline nothing moves; erosion 1 jumps to the baseline; below it, trust rises toward it
    assert_allclose(rules.erode(A([0.3, 0.9, 0.0]), 0.3, A([0.5, 1.0, 0.5]), True), [0.3, 0.3, 0.15])
    assert_allclose(rules.erode(A([0.9]), 0.3, 0.0, A([True])), [0.9])


def test_edges_of_the_trust_update():
    no, yes = A([False]), A([True])
    # trust 0: a clean step gains the full `gain`; a defect cannot push it below 0
    assert_allclose(rules.buyer_trust_update(A([0.0]), no, yes, A([0.0]), no, 0.08, 0.35), [0.08])
    assert_allclose(rules.buyer_trust_update(A([0.0]), yes, no, A([5.0]), no, 0.08, 1.0), [0.0])
    # trust 1: a defect takes `loss` of it: 1 − 0.35 = 0.65
    assert_allclose(rules.buyer_trust_update(A([1.0]), yes, no, A([0.0]), no, 0.08, 0.35), [0.65])
    # an unfixed gap counts at most 1: gap 3 costs what gap 1 does, 0.5 − 0.5 · 0.35 · 1 · 0.5 = 0.4125
    assert_allclose(rules.buyer_trust_update(A([0.5, 0.5]), A([False, False]), A([False, False]), A([3.0, 1.0]),
                                             A([False, False]), 0.08, 0.35), [0.4125, 0.4125])
    # in order: defect 0.5 → 0.325, then a fixed complaint + 0.5 · 0.08 · 0.675 = 0.352
    assert_allclose(rules.buyer_trust_update(A([0.5]), yes, no, A([0.0]), yes, 0.08, 0.35), [0.352])
    # defect 0.5 → 0.325, then an unfixed gap of 0.4: − 0.5 · 0.35 · 0.4 · 0.325 = 0.30225
    assert_allclose(rules.buyer_trust_update(A([0.5]), yes, no, A([0.4]), no, 0.08, 0.35), [0.30225])
    assert_allclose(rules.supplier_trust_update(A([0.0, 1.0]), A([False, False]), 0.08), [0.08, 1.0])


def test_edges_of_innovation_and_linkage():
    # at the floor nothing moves; a step share of 1 reaches the floor at once; no improvement, no change
    assert_allclose(rules.toward_floor(A([0.7, 1.0, 1.0]), 0.7, A([0.1, 1.0, 0.5]), A([3, 1, 0])), [0.7, 0.7, 1.0])
    assert_allclose(rules.anticipated_probability(A([0.0, 1.0, 1.0]), A([True, True, False])), [0.0, 1.0, 0.0])
    # threshold 0 and linkage age 0: every unlinked relationship, even a new one at trust 0; trust exactly at it
    got = rules.invests_in_link(A([0.0, 0.0]), A([0, 0]), A([False, True]), 0.0, 0)
    assert got.tolist() == [True, False]
    assert rules.invests_in_link(A([0.6]), A([8]), A([False]), 0.6, 8).tolist() == [True]


def test_edges_of_hours_and_shares():
    # trust 1: no monitoring, no renegotiation however the specification changes: 8 + 20 + 15 = 43
    assert_allclose(rules.nonproductive_hours(A([1.0]), A([False]), A([1]), A([1]), A([1]), H), [43.0])
    # trust 0, unlinked, nothing else: 8 + 15 = 23
    assert_allclose(rules.nonproductive_hours(A([0.0]), A([False]), A([0]), A([0]), A([0]), H), [23.0])
    assert_allclose(rules.transaction_cost_per_unit(A([0.0]), 0.5, 125.0), [0.0])
    # β = 0: price does not matter; equal prices: equal attraction; no retail price at all: equal attraction
    assert_allclose(rules.logit_attraction(A([1.0, 3.0]), 0.0), [1.0, 1.0])
    assert_allclose(rules.logit_attraction(A([0.0, 0.0]), 8.0), [1.0, 1.0])
    # a1/a2 = exp(8 · 0.2 / 1.1) = 4.2825, so a1/Σa = 0.81070 and the share moves to 0.4 + 0.2 · 0.81070
    a = rules.logit_attraction(A([1.0, 1.2]), 8.0)
    assert_allclose(a, [6.942160929985587e-4, 1.621039556043436e-4], rtol=1e-9)
    assert_allclose(rules.update_shares(A([0.5, 0.5]), a, 0.2), [0.5621394, 0.4378606], rtol=1e-6)
    # inertia 1: straight to the logit shares; inertia 0: shares stay
    assert_allclose(rules.update_shares(A([0.5, 0.5]), A([3.0, 1.0]), 1.0), [0.75, 0.25])
    assert_allclose(rules.update_shares(A([0.7, 0.3]), A([3.0, 1.0]), 0.0), [0.7, 0.3])
    # imitation: a difference larger than the range is certain; a poorer model is never copied
    assert_allclose(rules.imitation_probability(A([0.0, 5.0]), A([50.0, 0.0]), 10.0), [1.0, 0.0])


def test_every_rule_cites_a_claim_or_its_source():
    for name in dir(rules):
        f = getattr(rules, name)
        if callable(f) and getattr(f, "__module__", "") == "trustsim.rules" and not name.startswith("_"):
            doc = f.__doc__ or ""
            assert re.search(r"S\d+|[Rr]eplicator", doc), f"{name} cites no claim"


def test_odd_submodels_name_real_functions_and_every_rule():
    import importlib

    import trustsim.phases as phases

    text = (ROOT / "docs" / "ODD.md").read_text()
    section = text.split("## 7. Submodels", 1)[1].split("\n## ", 1)[0]
    named = re.findall(r"`trustsim/(\w+)\.py:([\w.]+)`", section)
    assert named, "docs/ODD.md's submodels name no function"
    for module, name in named:
        target = importlib.import_module(f"trustsim.{module}")
        for part in name.split("."):
            assert hasattr(target, part), f"trustsim/{module}.py:{name} does not exist"
            target = getattr(target, part)
        assert callable(target), f"trustsim/{module}.py:{name} is not a function"
    public = {n for n in dir(rules) if not n.startswith("_")
              and callable(getattr(rules, n)) and getattr(getattr(rules, n), "__module__", "") == "trustsim.rules"}
    missing = public - {n for m, n in named if m == "rules"}
    assert not missing, f"rules missing from docs/ODD.md's submodels: {sorted(missing)}"
    unnamed = {(f.__module__.rsplit(".", 1)[1], f.__name__) for f in phases.SCHEDULE} - set(named)
    assert not unnamed, f"phases of the step missing from docs/ODD.md's submodels: {sorted(unnamed)}"


def test_the_unit_interval_clips_as_numpy_does():
    """Rules clip shares and probabilities with two ufuncs instead of ``np.clip``: the same numbers, NaN kept."""
    x = np.array([-2.0, -0.0, 0.0, 0.3, 1.0, 1.5, np.inf, -np.inf, np.nan])
    assert_allclose(rules._unit_interval(x), np.clip(x, 0.0, 1.0), rtol=0, atol=0)
    assert rules._unit_interval(0.4) == 0.4 and rules._unit_interval(-1.0) == 0.0


# --- inputs that tell a rule's terms apart (where the cases above would come out the same without one) ----------

def test_reputation_without_customers_is_the_starting_trust_asked_for():
    # ODD 7.2: trust.initial for a supplier with none, whatever trust.initial is (the cases above use 0.5)
    sup, trust = A([0, 0]), A([0.2, 0.6])
    assert_allclose(rules.reputation(sup, trust, A([True, True]), 2, 0.3), [0.4, 0.3])
    assert_allclose(rules.reputation(sup, trust, A([False, False]), 2, 0.9), [0.9, 0.9])


def test_padding_falls_as_the_supplier_expects_more_audits():
    # padding_max · (1 − θ) · (1 − audit_seen), θ 0.4: 0.15 · 0.6 · (1, 0.75, 0) = 0.09, 0.0675, 0 (at audit_seen
    # 0.5, 1 − seen and seen are the same number)
    assert_allclose(rules.padding(A([0.4, 0.4, 0.4]), A([0.0, 0.25, 1.0]), 0.15), [0.09, 0.0675, 0.0])


def test_a_draw_below_the_mean_fits_better_than_average():
    # exp(fit_spread · ε): a negative ε gives a cost factor below 1
    assert_allclose(rules.fit_factor(0.1, A([-1.0, -2.0])), [math.exp(-0.1), math.exp(-0.2)])


def test_betrayal_severity_takes_the_larger_of_a_defect_and_found_padding_and_caps_padding_at_one():
    # ODD 7.8: a defect is a whole betrayal, with or without padding found the same step; found padding alone is
    # π / padding_max with "proportional" (0.06 / 0.15 = 0.4), a whole one with "betrayal"
    defect, found, padding = A([True, True, False]), A([False, True, True]), A([0.0, 0.06, 0.06])
    assert_allclose(rules.betrayal_severity(defect, found, padding, 0.15, True), [1.0, 1.0, 0.4])
    assert_allclose(rules.betrayal_severity(defect, found, padding, 0.15, False), [1.0, 1.0, 1.0])
    # min(1, π / padding_max): padding beyond padding_max, or any padding with a padding_max of 0, is one whole betrayal
    got = rules.betrayal_severity(A([False, False]), A([True, True]), A([0.3, 0.01]), A([0.15, 0.0]), True)
    assert_allclose(got, [1.0, 1.0])


def test_plans_are_shared_from_trust_exactly_at_the_threshold():
    # ODD 7.9: the buyer shares its plans when t_b ≥ share_threshold
    assert rules.shares_plans(A([0.584, 0.5839]), 0.584, A([True, True]), True).tolist() == [True, False]


def test_an_audit_adds_its_hours():
    # ODD 7.10: + audit_hours · [audit]: 8 + 15 · 0.4 + 6 = 20 with an audit, 14 without
    got = rules.nonproductive_hours(A([0.6, 0.6]), A([False, False]), A([0, 0]), A([0, 0]), A([0, 0]), H,
                                    audited=A([True, False]))
    assert_allclose(got, [20.0, 14.0])


def test_a_market_whose_mean_price_is_not_positive_gets_equal_attractions_whatever_its_prices():
    assert_allclose(rules.logit_attraction(A([-1.0, 1.0]), 8.0), [1.0, 1.0])
    a = rules.logit_attraction(A([[-3.0, 1.0], [1.0, 3.0]]), 1.0)  # a table: only the first market's mean is 0
    assert_allclose(a[0], [1.0, 1.0])
    assert_allclose(a[1], np.exp(-A([1.0, 3.0]) / 2.0))


def test_margin_factor_with_equal_markups_pays_a_supplier_at_exactly_that_markup_in_full():
    # all or nothing when min_markup = fair_markup: a markup of exactly that much is all (1.5 / 1 − 1 = 0.5 exactly)
    assert_allclose(rules.margin_factor(A([1.5, 1.4999]), A([1.0, 1.0]), 0.5, 0.5), [1.0, 0.0])
