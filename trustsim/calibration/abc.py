"""ABC-SMC with adaptive tolerances and model choice, each generation simulated as one batch.

Population Monte Carlo ABC (Beaumont et al. 2009; Toni et al. 2009; adaptive tolerances as Del Moral et al.
2012 and Drovandi & Pettitt 2011): N particles with importance weights; each generation proposes many
candidates at once (particles drawn by weight and perturbed by a Gaussian with twice their weighted
covariance), simulates them all in one call of ``simulate`` (for trustsim: ensembles on every worker),
and keeps the first N whose distance is within the tolerance, a quantile of the last generation's
distances. It stops at the budget, at the number of generations, at the minimum tolerance, or once a
generation accepts fewer of its proposals than the floor.

Parameters live in a box with a uniform prior; the kernel acts on the box's logit coordinates, so every
proposal is inside the box and the kernel's density is exact (a Gaussian truncated to a box with a full
covariance has no closed-form normalising constant). A structural reading (ABC model choice) is one
more, discrete, dimension of a particle: perturbed by switching to another reading with a small
probability; its posterior weight is the sum of its particles' weights.

Observation uncertainty enters as noisy ABC (Wilkinson 2013): each simulated figure has a draw of the
published figure's error (sd) added before the distance is taken; the distance is the sum of squared
differences scaled by sd² plus the run-to-run variance, so neither dominates by its units.
Every random number derives from ``seed`` and the generation, so a generation depends only on the one
before it: the same seed gives the same posterior, resumed or not, on any number of workers.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

import numpy as np
from scipy.special import expit, logit, logsumexp

# simulate(theta (n, d), structure (n,), keys (n, 3) ints) -> figures (n, k); keys identify each simulation
Simulator = Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]


@dataclass
class Problem:
    """What ABC-SMC fits: the prior box, the published figures, their distance scales and the simulator."""
    lo: np.ndarray               # the prior box
    hi: np.ndarray
    observed: np.ndarray         # published figures (k,)
    scale: np.ndarray            # sqrt(sd² + run-to-run variance) per figure
    obs_sd: np.ndarray           # the published figures' sd, added to each simulation (noisy ABC)
    simulate: Simulator
    structure_prior: np.ndarray = field(default_factory=lambda: np.ones(1))
    cost: int = 1                # simulations one proposal costs (replicate runs)


@dataclass
class Settings:
    """When ABC-SMC stops and how it proposes: population size, budget, tolerance quantile and seed."""
    population: int = 200
    budget: int = 3000
    generations: int = 20
    quantile: float = 0.5
    min_acceptance: float = 0.02
    min_tolerance: float = 0.0
    switch_probability: float = 0.1
    seed: int = 0


@dataclass
class Population:
    """One generation's accepted particles, their weights and distances, and what it cost; a journal line as JSON."""
    generation: int
    theta: list                  # (N, d)
    structure: list              # (N,)
    weight: list                 # (N,), normalised
    distance: list
    tolerance: float
    proposed: int                # proposals this generation
    used: int                    # simulations so far, this generation's included

    def arrays(self):
        """``(theta (N, d), structure (N,), weight (N,), distance (N,))`` as NumPy arrays."""
        return (np.array(self.theta, dtype=float).reshape(len(self.weight), -1), np.array(self.structure, dtype=int),
                np.array(self.weight, dtype=float), np.array(self.distance, dtype=float))

    def to_json(self) -> dict:
        """The population as a JSON-ready dict, as the journal keeps it."""
        return asdict(self)


def to_logit(theta, lo, hi):
    """Box coordinates to the unbounded ones the kernel moves in."""
    u = np.clip((theta - lo) / (hi - lo), 1e-12, 1 - 1e-12)
    return logit(u)


def from_logit(z, lo, hi):
    """Unbounded logit coordinates back to the prior box; the inverse of ``to_logit``."""
    return lo + expit(z) * (hi - lo)


def log_prior_z(z) -> np.ndarray:
    """Log density, in logit coordinates, of the uniform prior on the box: ∏ u(1 − u) (up to the box volume)."""
    return np.sum(-np.logaddexp(0, z) - np.logaddexp(0, -z), axis=1)


def distance(sim: np.ndarray, problem: Problem) -> np.ndarray:
    """Σ ((simulated − published) / scale)² over the targets; a figure the run lacks (NaN) is infinitely far."""
    d = np.sum(((sim - problem.observed) / problem.scale) ** 2, axis=1)
    return np.where(np.isfinite(d), d, np.inf)


def weighted_quantile(x, w, q):
    """The q-quantile(s) of x under weights w (the inverse of the weighted distribution function)."""
    order = np.argsort(x, kind="stable")
    x, w = np.asarray(x, dtype=float)[order], np.asarray(w, dtype=float)[order]
    cw = np.cumsum(w) - 0.5 * w
    return np.interp(q, cw / w.sum(), x)


def _rng(settings: Settings, *key) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence(settings.seed, spawn_key=key))


def _kernel(z, weight):
    """Twice the weighted covariance of the particles (Beaumont et al. 2009), kept positive definite."""
    d = z.shape[1]
    cov = np.atleast_2d(np.cov(z.T, aweights=weight)) * 2.0 if len(z) > 1 else np.eye(d)
    cov = cov + np.eye(d) * 1e-9 * max(np.trace(cov) / d, 1e-12)
    return cov


def _structure_kernel(to_m, from_m, settings, allowed):
    """Probability of moving from reading ``from_m`` to ``to_m``: stay with 1 − p, else any other allowed."""
    n_other = max(len(allowed) - 1, 1)
    if len(allowed) == 1:
        return np.ones((len(to_m), len(from_m)))
    same = to_m[:, None] == from_m[None, :]
    return np.where(same, 1 - settings.switch_probability, settings.switch_probability / n_other)


def _propose(prev: Population | None, problem: Problem, settings: Settings, rng, n: int):
    """``n`` candidates: from the prior (first generation) or perturbed from the last population."""
    d = len(problem.lo)
    allowed = np.flatnonzero(problem.structure_prior > 0)
    prior_m = problem.structure_prior[allowed] / problem.structure_prior[allowed].sum()
    if prev is None:
        z = logit(np.clip(rng.random((n, d)), 1e-12, 1 - 1e-12))
        m = allowed[rng.choice(len(allowed), size=n, p=prior_m)] if len(allowed) > 1 else np.full(n, allowed[0])
        return z, m
    theta, m_prev, w, _ = prev.arrays()
    z_prev = to_logit(theta, problem.lo, problem.hi)
    idx = rng.choice(len(w), size=n, p=w)
    chol = np.linalg.cholesky(_kernel(z_prev, w))
    z = z_prev[idx] + rng.standard_normal((n, d)) @ chol.T
    m = m_prev[idx].copy()
    if len(allowed) > 1:
        switch = rng.random(n) < settings.switch_probability
        other = rng.integers(0, len(allowed) - 1, size=n)
        pos = np.searchsorted(allowed, m)
        m = np.where(switch, allowed[other + (other >= pos)], m)
    return z, m


def _weights(z, m, prev: Population | None, problem: Problem, settings: Settings) -> np.ndarray:
    """Importance weights: prior over the mixture of kernels the proposals came from (uniform in generation 0)."""
    if prev is None:
        return np.full(len(z), 1.0 / len(z))
    theta, m_prev, w, _ = prev.arrays()
    z_prev = to_logit(theta, problem.lo, problem.hi)
    cov = _kernel(z_prev, w)
    inv = np.linalg.inv(cov)
    diff = z[:, None, :] - z_prev[None, :, :]
    log_k = -0.5 * np.einsum("ijk,kl,ijl->ij", diff, inv, diff)  # the constant cancels in the normalisation
    allowed = np.flatnonzero(problem.structure_prior > 0)
    k_m = _structure_kernel(m, m_prev, settings, allowed)
    with np.errstate(divide="ignore"):
        log_den = logsumexp(log_k + np.log(k_m) + np.log(w)[None, :], axis=1)
        log_num = log_prior_z(z) + np.log(problem.structure_prior[m])
    lw = log_num - log_den
    lw -= lw.max()
    out = np.exp(lw)
    return out / out.sum()


def run_generation(t: int, prev: Population | None, problem: Problem, settings: Settings, used: int,
                   progress: Callable[[int], None] | None = None) -> tuple[Population | None, str | None, int]:
    """Generation ``t``: proposals in batches until N are accepted. Returns the population (None when the
    budget ran out before half of N were accepted; fewer than N when it ran out after), why the calibration
    stops after it (None: go on) and the simulations so far, this generation's included (kept or not)."""
    n = settings.population
    if prev is None:
        eps = math.inf
        rate = 1.0
    else:
        _, _, w, dist = prev.arrays()
        eps = float(weighted_quantile(dist, w, settings.quantile))
        rate = max(prev_rate(prev) * settings.quantile, settings.min_acceptance)
    rng = _rng(settings, t)
    keep_z, keep_m, keep_d = [], [], []
    proposed, r = 0, 0
    while sum(len(x) for x in keep_d) < n:
        need = n - sum(len(x) for x in keep_d)
        left = (settings.budget - used) // problem.cost
        if left <= 0:  # the budget ends within the generation: keep it if half of it was accepted
            if n - need >= max(n // 2, 2):
                break
            return None, "budget", used
        size = int(min(max(math.ceil(need / rate * 1.1), need), left, max(20 * n, 1)))
        z, m = _propose(prev, problem, settings, rng, size)
        noise = rng.standard_normal((size, len(problem.observed))) * problem.obs_sd
        keys = np.column_stack([np.full(size, t), np.full(size, r), np.arange(size)])
        sim = problem.simulate(from_logit(z, problem.lo, problem.hi), m, keys) + noise
        used += size * problem.cost
        proposed += size
        if progress:
            progress(size * problem.cost)
        dist = distance(sim, problem)
        ok = np.flatnonzero(np.isfinite(dist) & (dist <= eps))[:need]  # a run without a figure is never near (the
        # first generation's tolerance is ∞, and ∞ ≤ ∞)
        keep_z.append(z[ok])
        keep_m.append(m[ok])
        keep_d.append(dist[ok])
        accepted = sum(len(x) for x in keep_d)
        rate = max(accepted / proposed, settings.min_acceptance / 4)
        r += 1
    z, m, dist = np.concatenate(keep_z), np.concatenate(keep_m), np.concatenate(keep_d)
    w = _weights(z, m, prev, problem, settings)
    pop = Population(t, from_logit(z, problem.lo, problem.hi).tolist(), m.tolist(), w.tolist(), dist.tolist(),
                     eps, proposed, used)
    return pop, _stop_after(pop, problem, settings), used


def prev_rate(pop: Population) -> float:
    """The share of a generation's proposals it accepted (its acceptance rate)."""
    return len(pop.weight) / max(pop.proposed, 1)


def abc_smc(problem: Problem, settings: Settings, start: list[Population] = (), used: int = 0,
            on_generation: Callable[[Population], None] | None = None,
            progress: Callable[[int], None] | None = None,
            on_cut: Callable[[int, int], None] | None = None) -> tuple[list[Population], str]:
    """Run (the rest of) an ABC-SMC: returns every complete population and why it stopped. ``start``: the
    populations a journal kept (resume); ``used``: simulations spent before the first generation; ``on_cut(t,
    n)``: told of generation ``t``, which the budget cut short and which is not kept, and the ``n`` simulations
    it made (not in any population's ``used``)."""
    pops = list(start)
    if pops:
        used = pops[-1].used
    stop = _stop_after(pops[-1], problem, settings) if pops else None
    while stop is None:
        t = len(pops)
        pop, stop, spent = run_generation(t, pops[-1] if pops else None, problem, settings, used, progress)
        if pop is None:
            if on_cut:
                on_cut(t, spent - used)
            break
        pops.append(pop)
        used = pop.used
        if on_generation:
            on_generation(pop)
    if not pops:
        raise ValueError("the budget does not cover one generation")
    return pops, stop or "budget"


def _stop_after(pop: Population, problem: Problem, settings: Settings) -> str | None:
    """Why a calibration whose last generation is ``pop`` stops (as run_generation decided it), or None."""
    t = pop.generation
    if t + 1 >= settings.generations:
        return "generations"
    if t > 0 and prev_rate(pop) < settings.min_acceptance:
        return "acceptance"
    if t > 0 and pop.tolerance <= settings.min_tolerance:
        return "tolerance"
    if settings.budget - pop.used < problem.cost * settings.population:
        return "budget"
    return None


def structure_weights(pop: Population, n_structures: int) -> np.ndarray:
    """Posterior weight of each structural reading: the sum of its particles' weights."""
    _, m, w, _ = pop.arrays()
    return np.bincount(m, weights=w, minlength=n_structures)


def intervals(pop: Population, levels=(0.5, 0.9)) -> dict[float, np.ndarray]:
    """Central weighted posterior intervals per parameter: ``{level: (d, 2) array}``."""
    theta, _, w, _ = pop.arrays()
    return {lv: np.array([weighted_quantile(theta[:, j], w, [(1 - lv) / 2, (1 + lv) / 2])
                          for j in range(theta.shape[1])]) for lv in levels}
