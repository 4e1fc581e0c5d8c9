"""The contested readings of docs/ODD.md (decisions 36–39), each setting on both sides, and the steady long run.

Each reading is checked on hand-computed cases of its rule and, where it acts through the market, on a run that
shows the two readings apart. The steady state is checked with MSER-5 on series with a known warm-up, and on the
default market over ten seeds; where the market settles, the readings of plan sharing and padding are checked to
decide whether partnership pays.
"""

import numpy as np
import pytest
from numpy.testing import assert_allclose

from trustsim import TrustMarket, rules
from trustsim.draws import SITE, Draws
from trustsim.ensemble import Ensemble
from trustsim.params import Params
from trustsim.stats import interval_text, mean_ci, mser5

A = np.array


# --- what a found padding costs (trust.padding_loss) ---------------------------------------------------------

def test_a_found_padding_costs_trust_in_proportion_or_as_a_whole_betrayal():
    defect, found = A([True, False, False, False]), A([False, True, True, False])
    padding = A([0.0, 0.03, 0.15, 0.09])
    # proportional: 0.03 of a most-possible 0.15 is a fifth of a betrayal; a defect always a whole one
    assert_allclose(rules.betrayal_severity(defect, found, padding, 0.15, True), [1.0, 0.2, 1.0, 0.0])
    assert_allclose(rules.betrayal_severity(defect, found, padding, 0.15, False), [1.0, 1.0, 1.0, 0.0])
    # trust 0.5, loss 0.35: a fifth of a betrayal takes 0.035, a whole one 0.175
    t = rules.buyer_trust_update(A([0.5, 0.5]), A([0.2, 1.0]), A([False, False]), A([0.0, 0.0]),
                                 A([False, False]), 0.08, 0.35)
    assert_allclose(t, [0.465, 0.325])


def test_proportional_padding_loss_keeps_partners_trust_higher_than_betrayal():
    trust = {}
    for reading in ("proportional", "betrayal"):
        ens = Ensemble([Params().replace(**{"trust.padding_loss": reading, "run.steps": 60})] * 4, [1, 2, 3, 4]).run()
        trust[reading] = np.mean([ens.recorder.member(i).summary()["long_run"]["partner"]["trust_buyer"]
                                  for i in range(4)])
    print(f"\npartners' trust, long run: proportional {trust['proportional']:.3f}, betrayal {trust['betrayal']:.3f}")
    assert trust["proportional"] > trust["betrayal"]


# --- who shares plans (buyers.plan_sharing) --------------------------------------------------------------------

def test_plans_are_shared_on_partner_terms_only_or_wherever_trust_allows():
    trust, partner = A([0.7, 0.7, 0.5, 0.5]), A([True, False, True, False])
    assert rules.shares_plans(trust, 0.6, partner, True).tolist() == [True, False, False, False]
    assert rules.shares_plans(trust, 0.6, partner, False).tolist() == [True, True, False, False]


@pytest.mark.parametrize("reading", ["partner_terms", "trust"])
def test_market_terms_buyers_anticipate_changes_only_when_plans_go_with_trust(reading):
    m = TrustMarket(rng=5, steps=40, uncertainty=0.9, plan_sharing=reading)
    anticipated_on_market_terms = 0
    while m.running:
        m.step()
        anticipated_on_market_terms += int((m.ev.spec_change & ~m.ev.unanticipated & ~m.market.rel_partner).sum())
    print(f"\n{reading}: changes anticipated on market terms {anticipated_on_market_terms}")
    assert (anticipated_on_market_terms == 0) == (reading == "partner_terms")


# --- flexibility (market.refit) --------------------------------------------------------------------------------

def test_a_draw_at_an_earlier_step_is_the_draw_made_at_that_step():
    dr = Draws([7, 8])
    base = dr.base(np.array([0, 1, 1]), np.array([3, 4, 5]))
    dr.step = 17
    assert np.array_equal(dr.uniform(SITE["supplier_fit"], base), dr.uniform_at(SITE["supplier_fit"], base, 17))
    assert not np.array_equal(dr.uniform_at(SITE["supplier_fit"], base, np.array([17, 18, 17])),
                              dr.uniform(SITE["supplier_fit"], base))


def test_with_fit_to_the_current_specification_every_incumbent_has_its_own_fit_and_search_ratchets_no_further():
    """σ = 0: no specification ever changes. Fit to the current specification: each relationship's fit is its
    supplier's one fit for that slot, so no rebid can beat the best supplier's fit. A fresh fit at every quote
    (incumbent_keeps): repeated rebids keep the best of ever more draws, below every supplier's one fit."""
    below_best = {}
    for reading in ("current_spec", "incumbent_keeps"):
        m = TrustMarket(rng=3, steps=80, uncertainty=0.0, fit_spread=0.3, refit=reading, partner_share=0.0).run()
        mk = m.market
        rows = np.flatnonzero(~mk.vacant)
        everyone = np.arange(mk.n_suppliers)
        fits = mk.supplier_fit(np.repeat(rows, len(everyone)), np.tile(everyone, len(rows)), 0.3)
        best = fits.reshape(len(rows), -1).min(axis=1)
        if reading == "current_spec":
            assert_allclose(mk.fit[rows], mk.supplier_fit(rows, mk.sup[rows], 0.3), rtol=1e-12)
        below_best[reading] = float(np.mean(mk.fit[rows] < best - 1e-12))
    print(f"\nshare of slots whose fit beats every supplier's one fit: {below_best}")
    assert below_best["current_spec"] == 0.0
    assert below_best["incumbent_keeps"] > 0.3


def test_a_specification_change_makes_every_fit_new():
    """A supplier's fit to a slot changes exactly when the slot's specification changes."""
    m = TrustMarket(rng=4, steps=30, uncertainty=0.5, fit_spread=0.2, partner_share=0.0)
    mk = m.market
    rows = np.arange(mk.n_rel)
    first = mk.supplier_offset  # every slot's view of its market's supplier 0
    before = mk.supplier_fit(rows, first, 0.2)
    while m.running:
        epoch = mk.spec_epoch.copy()
        m.step()
        changed = m.ev.spec_change
        assert (mk.spec_epoch[changed] == m.steps).all() and (mk.spec_epoch[~changed] == epoch[~changed]).all()
        now = mk.supplier_fit(rows, first, 0.2)
        assert (now[changed] != before[changed]).all() and (now[~changed] == before[~changed]).all()
        before = now


# --- the lean toward partner terms (buyers.trust_weight) and initial attractions ------------------------------

def test_a_learning_buyer_starts_its_attractions_at_its_first_realised_value():
    m = TrustMarket(rng=6, steps=12, conduct="learning", initial_attraction=0.02)
    mk = m.market
    assert np.isnan(mk.attraction_partner).all() and np.isnan(mk.attraction_market).all()
    m.run()
    assert np.isfinite(mk.attraction_partner).all() and np.isfinite(mk.attraction_market).all()
    # on the scale of the values realised (−(cost of ownership) + horizon · own-cost cut: about −0.9), not near 0
    assert mk.attraction_partner.max() < -0.3 and mk.attraction_market.max() < -0.3


def test_the_lean_toward_partner_terms_is_zero_by_default_and_moves_the_choice_when_set():
    assert Params().buyers.trust_weight == 0.0
    p0 = rules.partner_terms_probability(A([-0.9]), A([-0.9]), A([0.9]), 50.0, 0.0)
    p2 = rules.partner_terms_probability(A([-0.9]), A([-0.9]), A([0.9]), 50.0, 2.0)
    assert_allclose(p0, [0.5])
    assert_allclose(p2, [1.0 / (1.0 + np.exp(-0.8))])


# --- the steady long run --------------------------------------------------------------------------------------

def test_mser5_finds_a_known_warm_up_and_flags_a_run_too_short():
    rng = np.random.default_rng(1)
    t = np.arange(1000)
    warm, steady = mser5(2.0 * np.exp(-t / 50.0) + rng.normal(0.0, 0.1, 1000))
    print(f"\nexponential transient (time constant 50): warm-up {warm}, steady {steady}")
    assert 100 <= warm <= 300 and steady
    assert mser5(rng.normal(0.0, 1.0, 1000)) == (0, True)  # no transient: nothing to delete
    warm, steady = mser5(t / 1000.0 + rng.normal(0.0, 0.01, 1000))  # a trend to the end: never steady
    assert not steady and warm > 500


def test_a_run_reports_its_long_run_window_and_whether_it_is_steady():
    s = TrustMarket(rng=2, steps=60).run().recorder.summary()
    assert s["long_run_steps"] == [31, 60]
    assert set(s["steady_state"]) == {"mser5_warm_up_steps", "steady"}
    assert set(s["business_horizon"]) == {"partner", "aggressive", "all"}


@pytest.mark.patterns
@pytest.mark.xfail(strict=True, reason="no steady state within 2000 steps: the mean advantage rises to about +0.64 "
                   "between steps 400 and 600, then falls steadily (+0.28 over steps 1801–2000, 10 seeds); over steps "
                   "601–1200 its drift is −0.19, beyond ±0.03, and MSER-5's warm-up is 1130 steps")
def test_the_default_market_is_steady_over_its_long_run_window():
    """At the defaults, over 10 seeds: the mean partner share advantage has no trend over the long-run window
    (|slope × window| ≤ 0.03) and MSER-5's warm-up of the mean series ends within the first half."""
    p = Params()
    seeds = list(range(1, 11))
    ens = Ensemble([p] * len(seeds), seeds).run()
    series = ens.recorder.steady_series_each()
    n = p.run.steps
    window = series[:, n // 2:]
    drift = np.array([np.polyfit(np.arange(window.shape[1]), w, 1)[0] * window.shape[1] for w in window])
    m, lo, hi = mean_ci(drift)
    warm, steady = mser5(series.mean(axis=0))
    print(f"\nlong-run window steps {n // 2 + 1}–{n}: slope × window {m:+.4f} [{lo:+.4f}, {hi:+.4f}]; "
          f"MSER-5 warm-up of the mean series {warm} steps")
    assert abs(m) <= 0.03
    assert steady and warm <= n // 2


@pytest.mark.patterns
def test_the_market_settles_within_10000_steps_where_partnership_pays_more_the_more_uncertain():
    """Beyond the long-run window (decision 40), over 10 seeds of 10 000 steps at σ 0.3 (the default), 0.6 and
    0.9: at each σ the mean partner share advantage is steady over steps 5 001–10 000 (MSER-5's warm-up of the
    mean series ends in the first half, |slope × window| ≤ 0.03); there partnership still pays at the default σ
    (interval above 0), less than over the default run's long-run window, steps 601–1 200 (paired interval below
    0), and more at every step of σ (paired intervals above 0)."""
    sigmas, seeds, n = (0.3, 0.6, 0.9), list(range(1, 11)), 10_000
    members = [Params().replace(**{"run.steps": n, "market.uncertainty": s}) for s in sigmas for _ in seeds]
    ens = Ensemble(members, seeds * len(sigmas)).run()
    series = ens.recorder.steady_series_each()
    series = series.reshape(len(sigmas), len(seeds), n)
    settled = series[:, :, n // 2:].mean(axis=2)                      # σ × seeds
    print()
    for s, runs, at in zip(sigmas, series, settled, strict=True):
        window = runs[:, n // 2:]
        drift = np.array([np.polyfit(np.arange(window.shape[1]), w, 1)[0] * window.shape[1] for w in window])
        warm, steady = mser5(runs.mean(axis=0))
        print(f"σ {s}: advantage over steps {n // 2 + 1}–{n} {np.mean(at):+.3f} [{mean_ci(at)[1]:+.3f}, "
              f"{mean_ci(at)[2]:+.3f}]; slope × window {np.mean(drift):+.4f}; MSER-5 warm-up {warm} steps")
        assert abs(np.mean(drift)) <= 0.03
        assert steady and warm <= n // 2
    assert mean_ci(settled[0])[1] > 0
    m, lo, hi = mean_ci(settled[0] - series[0, :, 600:1200].mean(axis=1))
    print(f"σ 0.3, settled − steps 601–1200: {m:+.3f} [{lo:+.3f}, {hi:+.3f}]")
    assert hi < 0
    for i in range(len(sigmas) - 1):
        m, lo, hi = mean_ci(settled[i + 1] - settled[i])
        print(f"σ {sigmas[i + 1]} − σ {sigmas[i]}: {m:+.3f} [{lo:+.3f}, {hi:+.3f}]")
        assert lo > 0


@pytest.mark.patterns
def test_where_the_market_settles_the_readings_of_plan_sharing_and_padding_decide_whether_partnership_pays():
    """Settled (10 seeds of 10 000 steps, the advantage over steps 5 001–10 000; docs/experiments.md, "Under every
    reading and over the regime map, settled"): at σ 0.3 partnership pays where plans are shared on partner terms
    (the default readings) and loses where any trusting buyer shares them and any padding found is a betrayal;
    at σ 0.9, under plan sharing by trust, a found padding that costs trust by its size leaves partners better
    off than one taken as a betrayal (paired on seeds)."""
    n, seeds = 10_000, list(range(1, 11))

    def settled(plans: str, padding: str, sigma: float) -> np.ndarray:
        members = [Params().replace(**{"run.steps": n, "market.uncertainty": sigma, "buyers.plan_sharing": plans,
                                       "trust.padding_loss": padding})] * len(seeds)
        ens = Ensemble(members, seeds).run()
        return ens.recorder.steady_series_each()[:, n // 2:].mean(axis=1)

    default, betrayal = settled("partner_terms", "proportional", 0.3), settled("trust", "betrayal", 0.3)
    by_size, betrayal_uncertain = settled("trust", "proportional", 0.9), settled("trust", "betrayal", 0.9)
    print()
    for label, x in (("σ 0.3, plans on partner terms", default), ("σ 0.3, plans by trust, betrayal", betrayal),
                     ("σ 0.9, plans by trust, by its size", by_size),
                     ("σ 0.9, plans by trust, betrayal", betrayal_uncertain),
                     ("σ 0.9, by its size − betrayal", by_size - betrayal_uncertain)):
        print(f"{label}: settled advantage {interval_text(*mean_ci(x), sign='+')}")
    assert mean_ci(default)[1] > 0
    assert mean_ci(betrayal)[2] < 0
    assert mean_ci(by_size - betrayal_uncertain)[1] > 0


@pytest.mark.patterns
def test_the_idea_rates_set_how_fast_the_market_settles_not_where():
    """docs/experiments.md ("Under every reading and over the regime map, settled"): at σ 0.6 over 10 seeds of
    40 000 steps, a quarter of both idea rates (the regime map's ×0.25) takes several times as long to settle
    (MSER-5's warm-up of the mean series at least 2.5 times the defaults', and within the first half) and
    settles where the defaults do: the paired difference of the advantage over steps 20 001–40 000 lies within
    ±0.05. Ideas give partners a head start that closes; what partnership is worth settled is the rest."""
    n, seeds = 40_000, list(range(1, 11))
    base = Params().replace(**{"run.steps": n, "market.uncertainty": 0.6})
    inn = base.innovation
    quarter = base.replace(**{"innovation.idea_rate": inn.idea_rate / 4,
                              "innovation.process_idea_rate": inn.process_idea_rate / 4})
    series = Ensemble([base] * len(seeds) + [quarter] * len(seeds), seeds * 2).run().recorder.steady_series_each()
    default, slow = series[: len(seeds)], series[len(seeds):]
    (warm_d, steady_d), (warm_q, steady_q) = mser5(default.mean(axis=0)), mser5(slow.mean(axis=0))
    diff = slow[:, n // 2:].mean(axis=1) - default[:, n // 2:].mean(axis=1)
    print(f"\nMSER-5 warm-up of the mean series: default idea rates {warm_d} steps, a quarter {warm_q}; "
          f"settled advantage, a quarter − default: {interval_text(*mean_ci(diff), sign='+')}")
    assert steady_d and steady_q and warm_q <= n // 2
    assert warm_q >= 2.5 * warm_d
    _, low, high = mean_ci(diff)
    assert low > -0.05 and high < 0.05


def test_mser5_is_the_same_for_a_shifted_series_and_needs_no_warm_up_for_a_constant_one():
    """MSER's statistic is a variance, so a constant added to the series changes nothing; a series that does not
    vary (beyond its numbers' last bits: a share of 1 in a market of partners alone) has no warm-up and is steady.
    The one-pass sums cancelled: 0.7 everywhere gave 1 165 steps to delete, and the step below 845 at a level of 10⁸."""
    rng = np.random.default_rng(1)
    assert mser5(np.full(1200, 0.3)) == mser5(np.full(1200, 0.7)) == (0, True)
    assert mser5(1.0 + rng.normal(0.0, 3e-16, 1200)) == (0, True)
    step = np.r_[np.ones(100), np.zeros(1100)] + rng.normal(0.0, 0.1, 1200)
    found = [mser5(step + level) for level in (0.0, 1e6, 1e8, -3e9)]
    print("warm-up of a step of 100 at levels 0, 10⁶, 10⁸, −3·10⁹:", found)
    assert found == [(100, True)] * 4


def test_mser5_counts_the_steps_to_delete_in_the_series_as_given_with_its_nan_steps():
    """Steps without a number (a posture with no buyers yet) are left out of the batches, but the warm-up is where
    the series settles in its own steps: 100 NaN steps then a 20-step transient is 120, not the 25 it was."""
    rng = np.random.default_rng(2)
    y = np.r_[np.full(100, np.nan), np.linspace(1.0, 0.0, 20), np.zeros(1080)] + rng.normal(0.0, 0.01, 1200)
    warm, steady = mser5(y)
    print("warm-up with 100 leading NaN steps:", warm)
    assert 115 <= warm <= 125 and steady
