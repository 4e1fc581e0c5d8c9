"""The calibration core (trustsim/calibration/): ABC-SMC against analytic posteriors on toy models, coverage,
reproducibility and resuming. `trustsim calibrate` itself is checked in tests/cli/test_calibrate.py."""

from __future__ import annotations

import numpy as np
import pytest

from trustsim.calibration.abc import Problem, Settings, abc_smc, structure_weights
from trustsim.calibration.diagnostics import coverage_records, coverage_summary, weighted_moments


def _normal_toy(y, s=1.0, tau=0.5, lo=-10.0, hi=10.0):
    """A figure that is the parameter plus run noise (sd s), published with error sd tau."""
    def simulate(theta, m, keys):
        rng = np.random.default_rng(np.random.SeedSequence(11, spawn_key=tuple(int(k) for k in keys[0])))
        return theta + s * rng.standard_normal(theta.shape)

    return Problem(lo=np.array([lo]), hi=np.array([hi]), observed=np.array([y]), scale=np.array([np.hypot(s, tau)]),
                   obs_sd=np.array([tau]), simulate=simulate)


def test_abc_smc_finds_the_analytic_posterior_of_a_normal_mean():
    """Flat prior, figure ~ N(μ, s²), published with error τ: the posterior is N(y, s² + τ²), so both the run
    noise and the observation uncertainty must widen it."""
    s, tau, y = 1.0, 0.5, 1.3
    pops, why = abc_smc(_normal_toy(y, s, tau), Settings(population=1000, budget=60000, generations=30, seed=3))
    mean, cov = weighted_moments(pops[-1])
    sd, exact = float(np.sqrt(cov[0, 0])), float(np.hypot(s, tau))
    print(f"ABC posterior {mean[0]:.3f} ± {sd:.3f}, analytic {y} ± {exact:.3f} ({len(pops)} generations, {why})")
    assert len(pops) >= 4 and pops[-1].tolerance < 0.1
    assert abs(mean[0] - y) < 0.2
    assert abs(sd / exact - 1) < 0.12


def test_abc_model_choice_matches_the_analytic_bayes_factor():
    """Two readings of one figure: the sum of squares of n draws with sd 1 or 1.5; the Bayes factor is
    (σ_B/σ_A)^(n−1) exp(−S/2 (1/σ_A² − 1/σ_B²))."""
    n, sig, S = 10, np.array([1.0, 1.5]), 12.0

    def simulate(theta, m, keys):
        rng = np.random.default_rng(np.random.SeedSequence(5, spawn_key=tuple(int(k) for k in keys[0])))
        x = theta + sig[m][:, None] * rng.standard_normal((len(m), n))
        return ((x - x.mean(1, keepdims=True)) ** 2).sum(1)[:, None]

    problem = Problem(lo=np.array([-5.0]), hi=np.array([5.0]), observed=np.array([S]), scale=np.array([6.0]),
                      obs_sd=np.zeros(1), simulate=simulate, structure_prior=np.array([0.5, 0.5]))
    pops, _ = abc_smc(problem, Settings(population=1000, budget=50000, generations=30, seed=1))
    bf = (sig[1] / sig[0]) ** (n - 1) * np.exp(-S / 2 * (1 / sig[0] ** 2 - 1 / sig[1] ** 2))
    exact, got = bf / (1 + bf), structure_weights(pops[-1], 2)[0]
    print(f"posterior weight of reading A: ABC {got:.3f}, analytic {exact:.3f}")
    assert abs(got - exact) < 0.06


def test_intervals_cover_the_truth_at_their_nominal_rates_on_the_toy():
    """Simulation-based calibration: truths drawn from the prior, pseudo-observed figures made from them."""
    rng = np.random.default_rng(2024)
    rows = []
    for i in range(40):
        truth = rng.uniform(-3, 3)
        y = truth + rng.standard_normal() * 1.0 + rng.standard_normal() * 0.5
        pops, _ = abc_smc(_normal_toy(y, lo=-3.0, hi=3.0), Settings(population=300, budget=8000, seed=100 + i))
        rows += coverage_records(i, ["mu"], [truth], pops[-1])
    for s in coverage_summary(rows):
        print(f"{s['level']:.0%} intervals held the truth in {s['rate']:.0%} of {s['n']} (se {s['se']:.3f})")
        assert abs(s["rate"] - s["level"]) <= 3 * s["se"]


def test_the_same_seed_gives_the_same_posterior_and_another_seed_another():
    a, _ = abc_smc(_normal_toy(0.5), Settings(population=100, budget=2000, seed=7))
    b, _ = abc_smc(_normal_toy(0.5), Settings(population=100, budget=2000, seed=7))
    c, _ = abc_smc(_normal_toy(0.5), Settings(population=100, budget=2000, seed=8))
    assert [p.to_json() for p in a] == [p.to_json() for p in b]
    assert a[-1].theta != c[-1].theta


def test_resuming_from_the_kept_generations_gives_the_same_posterior():
    settings = Settings(population=100, budget=3000, seed=9)
    whole, _ = abc_smc(_normal_toy(0.5), settings)
    assert len(whole) >= 3
    resumed, _ = abc_smc(_normal_toy(0.5), settings, start=whole[:2])
    assert [p.to_json() for p in resumed] == [p.to_json() for p in whole]


def test_a_run_without_the_figure_is_never_accepted_not_even_under_the_first_tolerance():
    """The first generation's tolerance is ∞, and ∞ ≤ ∞: runs lacking the figure (NaN, infinitely far) were
    accepted, and where they were more than half the population the tolerance stayed ∞ and they were never
    removed. Here the figure exists only below θ = 0.4 (observed 0.2): every accepted particle lies there."""
    def simulate(theta, m, keys):
        rng = np.random.default_rng(np.random.SeedSequence(5, spawn_key=tuple(int(k) for k in keys[0])))
        y = theta + 0.05 * rng.standard_normal(theta.shape)
        return np.where(theta > 0.4, np.nan, y)

    problem = Problem(lo=np.array([0.0]), hi=np.array([1.0]), observed=np.array([0.2]), scale=np.array([0.1]),
                      obs_sd=np.array([0.01]), simulate=simulate)
    pops, why = abc_smc(problem, Settings(population=200, budget=6000, generations=4, seed=1))
    worst = max(float(np.max(np.asarray(p.theta))) for p in pops)
    mean, _ = weighted_moments(pops[-1])
    print(f"largest accepted θ over {len(pops)} generations: {worst:.3f}; posterior mean {mean[0]:.3f} ({why})")
    assert worst <= 0.4 and all(np.isfinite(np.asarray(p.distance)).all() for p in pops)


def test_screening_says_how_many_points_lacked_a_target_and_were_given_its_mean():
    """Sobol indices need a figure at every point: a missing one is given the target's mean, which changes the
    indices; the table counts them (``filled`` of ``points``) and the report says so, for each such target."""
    import pandas as pd

    from trustsim.calibration.report import screening_lines

    rows = [{"target": t, "role": "calibrate", "parameter": k, "S1": 0.1, "S1_conf": 0.01, "ST": 0.2,
             "ST_conf": 0.02, "filled": filled, "points": 64}
            for t, filled in (("trust", 0), ("share", 7)) for k in ("trust.gain", "buyers.n_bids")]
    text = "\n".join(screening_lines(pd.DataFrame(rows)))
    assert "were given the target's mean before its indices were computed: share 7 of 64." in text
    assert "trust 0" not in text
    complete = "\n".join(screening_lines(pd.DataFrame(rows).assign(filled=0)))
    assert "given the target's mean" not in complete


def test_abc_smc_tells_of_the_runs_of_a_generation_the_budget_cut_short():
    """Generation 1 accepts nothing (every run lacks the figure) until the budget is spent: it is not kept, and
    ``on_cut`` is told of its runs, which no population's ``used`` counts."""
    made = []

    def simulate(theta, m, keys):
        made.append(len(theta))
        return np.where(keys[:, :1] >= 1, np.nan, theta)

    problem = Problem(lo=np.array([0.0]), hi=np.array([1.0]), observed=np.array([0.5]), scale=np.array([0.1]),
                      obs_sd=np.array([0.01]), simulate=simulate)
    cut = []
    pops, why = abc_smc(problem, Settings(population=20, budget=300, seed=2), on_cut=lambda t, n: cut.append((t, n)))
    assert len(pops) == 1 and why == "budget" and cut == [(1, 300 - pops[-1].used)]
    assert pops[-1].used + cut[0][1] == sum(made) == 300


def _population(theta, structure, weight, distance=None, generation=0):
    from trustsim.calibration.abc import Population

    n = len(weight)
    return Population(generation, [[float(t)] for t in theta], list(structure), list(weight),
                      list(distance if distance is not None else range(n)), 1.0, n, n)


def test_an_importance_weight_is_prior_over_the_mixture_of_kernels_on_a_hand_computed_case():
    """Three particles in (0, 1) with weights 0.5, 0.3, 0.2 and readings 0, 1, 2 of prior 0.2, 0.3, 0.5; a new
    particle's weight ∝ π(θ) π(m) / Σⱼ wⱼ N(z; zⱼ, 2 × weighted var) k(m | mⱼ), in logit coordinates z, where the
    uniform prior has density u(1 − u) and k keeps a reading with 1 − p and moves to each of the other two with
    p / 2."""
    from scipy import stats

    from trustsim.calibration.abc import _weights

    prev = _population([0.2, 0.5, 0.7], [0, 1, 2], [0.5, 0.3, 0.2])
    prior_m, p = np.array([0.2, 0.3, 0.5]), 0.1
    problem = Problem(lo=np.array([0.0]), hi=np.array([1.0]), observed=np.zeros(1), scale=np.ones(1),
                      obs_sd=np.zeros(1), simulate=None, structure_prior=prior_m)
    zp, wp, mp = np.log([0.2 / 0.8, 0.5 / 0.5, 0.7 / 0.3]), np.array([0.5, 0.3, 0.2]), np.array([0, 1, 2])
    mean = np.sum(wp * zp)
    var = 2 * np.sum(wp * (zp - mean) ** 2) / (1 - np.sum(wp ** 2))  # the unbiased weighted variance, doubled
    u = np.array([0.1, 0.4, 0.45, 0.9])
    z, m = np.log(u / (1 - u)), np.array([0, 2, 1, 1])
    k_m = np.where(m[:, None] == mp[None, :], 1 - p, p / 2)
    mixture = (wp * stats.norm.pdf(z[:, None], zp[None, :], np.sqrt(var)) * k_m).sum(axis=1)
    expected = u * (1 - u) * prior_m[m] / mixture
    got = _weights(z[:, None], m, prev, problem, Settings(switch_probability=p))
    assert got == pytest.approx(expected / expected.sum(), rel=1e-6)


def test_a_weighted_quantile_with_equal_weights_is_the_midpoint_quantile_of_the_values():
    from trustsim.calibration.abc import weighted_quantile

    x = np.array([5.0, 1.0, 4.0, 2.0, 3.0, 8.0])
    for q in (0.1, 0.25, 0.5, 0.8):
        expected = np.quantile(x, q, method="hazen")
        assert weighted_quantile(x, np.ones(6), q) == pytest.approx(expected)
        assert weighted_quantile(x, np.full(6, 0.3), q) == pytest.approx(expected)


def test_each_tolerance_is_the_weighted_quantile_of_the_last_generations_distances_and_bounds_its_own():
    from trustsim.calibration.abc import weighted_quantile

    settings = Settings(population=100, budget=6000, generations=5, quantile=0.3, seed=4)
    pops, _ = abc_smc(_normal_toy(0.5), settings)
    assert len(pops) >= 3
    for before, pop in zip(pops, pops[1:], strict=False):
        assert pop.tolerance == pytest.approx(weighted_quantile(before.distance, before.weight, 0.3))
        assert max(pop.distance) <= pop.tolerance
        assert len(pop.weight) == settings.population


def test_a_calibration_of_costly_proposals_stays_within_its_budget_and_stops_before_a_generation_it_cannot_pay():
    """Each proposal costs 3 simulations: ``used`` counts 3 per proposal, never passes the budget, and a
    generation begins only while what is left can pay for a population of proposals (3 × 50). Every run hits
    the figure; the budget leaves 100 simulations after four generations (enough for 33 proposals, not 50), or
    200, which a fifth generation wanting more proposals than that must not overrun."""
    calls = []

    def simulate(theta, m, keys):
        calls.append(len(theta))
        return np.full((len(theta), 1), 0.5)

    problem = Problem(lo=np.array([0.0]), hi=np.array([1.0]), observed=np.array([0.5]), scale=np.array([0.1]),
                      obs_sd=np.zeros(1), simulate=simulate, cost=3)
    unbounded = Settings(population=50, budget=10**6, generations=4, min_tolerance=-1.0, seed=6)
    four = abc_smc(problem, unbounded)[0][-1].used
    for extra, generations in ((100, 4), (200, 5)):
        calls.clear()
        settings = Settings(population=50, budget=four + extra, generations=30, min_tolerance=-1.0, seed=6)
        cut = []
        pops, why = abc_smc(problem, settings, on_cut=lambda t, n: cut.append(t))  # noqa: B023
        assert why == "budget" and 3 * sum(calls) <= settings.budget
        assert pops[-1].used == 3 * sum(p.proposed for p in pops)  # a generation cut short is in no population
        started = pops if cut else pops[:-1]  # the populations after which another generation began
        assert all(settings.budget - p.used >= 3 * settings.population for p in started)
        assert cut or settings.budget - pops[-1].used < 3 * settings.population
        assert len(pops) == generations and all(len(p.weight) == settings.population for p in pops)


def test_every_simulation_of_a_calibration_has_its_own_key():
    seen = []
    base = _normal_toy(0.5)

    def simulate(theta, m, keys):
        seen.extend(map(tuple, keys.tolist()))
        return base.simulate(theta, m, keys)

    problem = Problem(lo=base.lo, hi=base.hi, observed=base.observed, scale=base.scale, obs_sd=base.obs_sd,
                      simulate=simulate)
    pops, _ = abc_smc(problem, Settings(population=50, budget=3000, generations=6, quantile=0.2, seed=3))
    assert sum(p.proposed for p in pops) > 5 * 50  # some generation needed more than one batch
    assert len(seen) == len(set(seen))


def test_a_calibration_runs_exactly_its_number_of_generations():
    pops, why = abc_smc(_normal_toy(0.5), Settings(population=50, budget=100000, generations=3, seed=1))
    assert len(pops) == 3 and why == "generations"


def test_the_first_generation_draws_readings_from_their_prior():
    problem = _normal_toy(0.5)
    problem.structure_prior = np.array([0.2, 0.0, 0.8])
    pops, _ = abc_smc(problem, Settings(population=2000, budget=2000, generations=1, seed=2))
    share = np.mean(np.asarray(pops[0].structure) == 0)
    assert set(pops[0].structure) <= {0, 2}
    assert abs(share - 0.2) < 3 * np.sqrt(0.2 * 0.8 / 2000)


def test_proposals_come_from_particles_drawn_by_weight_and_a_switch_always_leaves_the_reading():
    """Two particles at the same θ, of readings 0 and 1, weighted 0.9 and 0.1: without switching, 90% of the
    proposals keep reading 0; with switching certain, a particle of reading 1 of three moves to 0 or 2."""
    from trustsim.calibration.abc import _propose

    problem = Problem(lo=np.array([0.0]), hi=np.array([1.0]), observed=np.zeros(1), scale=np.ones(1),
                      obs_sd=np.zeros(1), simulate=None, structure_prior=np.ones(3) / 3)
    rng = np.random.default_rng(0)
    prev = _population([0.5, 0.5], [0, 1], [0.9, 0.1])
    _, m = _propose(prev, problem, Settings(switch_probability=0.0), rng, 4000)
    assert abs(np.mean(m == 0) - 0.9) < 3 * np.sqrt(0.09 / 4000)
    _, m = _propose(_population([0.5, 0.5], [1, 1], [0.5, 0.5]), problem, Settings(switch_probability=1.0), rng, 4000)
    assert set(m) == {0, 2} and abs(np.mean(m == 0) - 0.5) < 0.05


def test_a_readings_posterior_weight_is_the_sum_of_its_particles_weights_and_intervals_are_central():
    from trustsim.calibration.abc import intervals

    pop = _population([0.1, 0.2, 0.3, 0.4], [0, 1, 1, 0], [0.4, 0.3, 0.2, 0.1])
    assert structure_weights(pop, 3) == pytest.approx([0.5, 0.5, 0.0])
    even = _population(np.arange(1, 9) / 10, [0] * 8, [1 / 8] * 8)
    got = intervals(even, levels=(0.5,))[0.5][0]
    assert got == pytest.approx(np.quantile(np.arange(1, 9) / 10, [0.25, 0.75], method="hazen"))


def test_the_predictive_figures_at_the_defaults_are_replicate_means_as_the_posteriors_are():
    """With ``replicates`` runs per particle, a posterior draw's predictive figure is the mean of that many runs;
    the defaults' must be too, or their 90% interval is that of one run, wider by the run noise alone (it was: 3.3
    against 0.85 on runs of unit noise and 16 replicates)."""
    from trustsim.calibration.config import build_calibration
    from trustsim.calibration.predictive import predictive_table
    from trustsim.params import Params

    reps, draws = 16, 2000
    table = {"budget": 400, "population": 10, "replicates": reps, "noise_replicates": 3,
             "predictive": {"draws": draws, "pattern_draws": 0},
             "parameters": {"time.h_monitor": {"lo": 2.0, "hi": 40.0}},
             "targets": [{"name": "low", "measure": "nonprod_least_trusted", "value": 0.0, "sd": 0.01}]}
    cal = build_calibration("toy", "toy.toml", Params(), table)

    class Runs:
        """Every run's figure drawn N(0, 1) by its seed: run noise alone, the same at every parameter."""
        replicates = reps

        def runs(self, params, seeds):
            return np.array([[np.random.default_rng(s).standard_normal()] for s in seeds])

        def __call__(self, theta, m, keys):
            seeds = [hash((tuple(k), r)) % 2**32 for k in keys for r in range(reps)]
            return self.runs([None] * len(seeds), seeds).reshape(len(theta), reps, 1).mean(axis=1)

    row = predictive_table(cal, _population([5.0], [0], [1.0]), Runs(), 1).iloc[0]
    expected = 2 * 1.6449 * np.hypot(1 / np.sqrt(reps), 0.01)  # the 90% interval of a 16-run mean, plus the error
    assert row["hi90"] - row["lo90"] == pytest.approx(expected, rel=0.1)
    assert row["defaults_hi90"] - row["defaults_lo90"] == pytest.approx(expected, rel=0.1)
