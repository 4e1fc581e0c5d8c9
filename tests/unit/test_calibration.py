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
