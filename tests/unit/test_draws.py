"""The counter-based random numbers (trustsim/draws.py): right distributions, no visible dependence between
neighbouring counters, and a market's numbers independent of the ensemble it runs in."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from trustsim.draws import MAX_STEP, SITE, SITES, SLOT_SITES, Draws, as_poisson

N = 200_000


def _uniform(seed=7, step=3, site="defect", n=N):
    d = Draws([seed])
    d.step = step
    return d.uniform(SITE[site], d.base(np.zeros(n, dtype=np.int64), np.arange(n)))


def test_uniforms_are_uniform_on_the_unit_interval():
    u = _uniform()
    assert u.min() >= 0.0 and u.max() < 1.0
    counts = np.histogram(u, bins=50, range=(0, 1))[0]
    p = stats.chisquare(counts).pvalue
    print(f"\nχ² over 50 bins of {N} uniforms: p = {p:.3f}; mean {u.mean():.4f}, var {u.var():.5f}")
    assert p > 1e-4
    assert u.mean() == pytest.approx(0.5, abs=0.005) and u.var() == pytest.approx(1 / 12, abs=0.002)


@pytest.mark.parametrize("other", [dict(step=4), dict(site="inspect"), dict(seed=8)], ids=["step", "site", "seed"])
def test_neighbouring_counters_are_uncorrelated(other):
    u = _uniform()
    v = _uniform(**{"seed": 7, "step": 3, "site": "defect", **other})
    r_lag = np.corrcoef(u[:-1], u[1:])[0, 1]   # neighbouring elements
    r_other = np.corrcoef(u, v)[0, 1]          # the same elements at the next step, site or seed
    print(f"\ncorrelation with the next element {r_lag:+.4f}, with {list(other)[0]} changed {r_other:+.4f}")
    bound = 4 / np.sqrt(N)
    assert abs(r_lag) < bound and abs(r_other) < bound
    assert not np.array_equal(u, v)


def test_normal_poisson_and_beta_have_their_moments():
    d = Draws([11])
    base = d.base(np.zeros(N, dtype=np.int64), np.arange(N))
    z = d.normal(SITE["refit"], base)
    assert stats.kstest(z, "norm").pvalue > 1e-4
    for lam in (0.05, 0.4, 3.0):
        k = as_poisson(d.uniform(SITE["supplier_ideas"], base), np.full(N, lam))
        assert k.mean() == pytest.approx(lam, rel=0.03) and k.var() == pytest.approx(lam, rel=0.05)
    a, b = 4.5, 1.2
    x = d.beta(SITE["integrity"], base, a, b)
    assert stats.kstest(x, "beta", args=(a, b)).pvalue > 1e-4


def _splitmix64(x: int) -> int:
    """The SplitMix64 finaliser in Python integers (Steele, Lea & Flood 2014), the reference the arrays follow."""
    mask = (1 << 64) - 1
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & mask
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & mask
    return x ^ (x >> 31)


def test_uniforms_are_the_top_53_bits_of_splitmix64_of_their_counters():
    """A draw is (key + element · γ + (step · 2⁴⁴ + site · 2³²) · γ) mod 2⁶⁴ through SplitMix64's finaliser, its top
    53 bits · 2⁻⁵³: computed here in Python integers for elements, steps and sites far apart (hashes above 2⁶³
    included: the top bit must not turn a number negative)."""
    gamma, mask = 0x9E3779B97F4A7C15, (1 << 64) - 1
    assert _splitmix64(gamma) == 0xE220A8397B1DCDAF  # SplitMix64's first output from state 0, the published value
    d = Draws([2024])
    key = int(d.keys[0])
    elements = [0, 1, 2, 999_999, 2 ** 32 - 1]
    top_bits = []
    for step, site in ((0, 0), (5, SITE["defect"]), (MAX_STEP - 1, d.slot_site("fit", 49))):
        d.step = step
        got = d.uniform(site, d.base(np.zeros(len(elements), dtype=np.int64), np.array(elements)))
        hashes = [_splitmix64((key + e * gamma + ((step << 44) + (site << 32)) * gamma) & mask) for e in elements]
        assert got.tolist() == [(h >> 11) * 2.0 ** -53 for h in hashes]
        top_bits += [h >> 63 for h in hashes]
    assert 0 < sum(top_bits) < len(top_bits)  # hashes in both halves of the range were checked


def test_a_members_numbers_do_not_depend_on_the_others():
    seeds = [5, 99, 3, 12345]
    together = Draws(seeds)
    together.step = 17
    members = np.repeat(np.arange(4), 50)
    elements = np.tile(np.arange(50), 4)
    u = together.uniform(SITE["candour"], together.base(members, elements)).reshape(4, 50)
    for i, seed in enumerate(seeds):
        alone = Draws([seed])
        alone.step = 17
        assert np.array_equal(alone.uniform(SITE["candour"], alone.base(np.zeros(50, dtype=np.int64),
                                                                        np.arange(50))), u[i])


def test_a_table_rows_base_shifted_by_a_column_is_the_columns_own_base():
    # sourcing keeps one base per relationship for its tables of draws (the bids, every supplier's fit) and adds
    # the column: the counter of base(member, row · width + column), modulo 2⁶⁴, for keys near the top too
    d = Draws([3, 2 ** 62 + 11, 77])
    d.keys[1] = np.uint64(2 ** 64 - 5)  # a key that wraps at once
    member, row, width = np.repeat(np.arange(3), 40), np.tile(np.arange(40), 3), 7
    table = Draws.shifted(d.base(member, row * width)[:, None], np.arange(width))
    assert np.array_equal(table, d.base(member[:, None], row[:, None] * width + np.arange(width)))
    assert np.array_equal(Draws.shifted(d.base(member, row * width), 3), d.base(member, row * width + 3))


def test_sites_have_distinct_counters():
    assert len(set(SITES)) == len(SITES) and len(SITES) < SLOT_SITES
    d = Draws([1])
    slot_sites = {d.slot_site(name, column) for name in SITES for column in range(50)}
    assert len(slot_sites) == len(SITES) * 50 and max(slot_sites) < 2 ** 12
    assert not slot_sites & set(SITE.values())
    assert MAX_STEP > 1_000_000


def test_several_sites_at_once_are_the_numbers_of_each_site_alone():
    d = Draws([21])
    base = d.base(np.zeros(300, dtype=np.int64), np.arange(300))
    sites = [SITE["defect"], SITE["refit"], d.slot_site("bidder", 3)]
    for step in (9, 10, MAX_STEP - 1):  # the sites' parts are kept from step to step; the step's is added
        d.step = step
        together = d.uniforms(sites, base)
        assert together.shape == (3, 300)
        for row, site in zip(together, sites, strict=True):
            assert np.array_equal(row, d.uniform(site, base))
    # draws on other elements hashed in the same pass: each table the numbers it has alone
    markets = d.base(np.zeros(4, dtype=np.int64), np.arange(4))
    grid = base.reshape(30, 10)
    first, second, third = d.uniforms(sites, base, ([SITE["demand"]], markets), (sites[:2], grid))
    assert np.array_equal(first, together) and second.shape == (1, 4) and third.shape == (2, 30, 10)
    assert np.array_equal(second[0], d.uniform(SITE["demand"], markets))
    assert np.array_equal(third, together[:2].reshape(2, 30, 10))


def _poisson_over_every_element(u, lam):
    """The inverse distribution function over the whole array at every round (the definition as_poisson
    computes on the open elements only)."""
    lam = np.broadcast_to(lam, u.shape)
    term = np.exp(-lam)
    cdf, k, more, i = term.copy(), np.zeros(u.shape, dtype=np.int64), u > term, 0
    while more.any() and i < 1000:
        i += 1
        k += more
        term = term * lam / i
        cdf += term
        more &= u > cdf
    return k


@pytest.mark.parametrize("shape, lam", [((5000,), 0.05), ((5000,), 3.0), ((40, 50), "per element"), ((3,), 0.0),
                                        ((0,), 0.2), ((2000,), 40.0), ((80,), 0.7), ((8, 10), "per element"),
                                        ((500,), 40.0)])
def test_poisson_counts_are_those_of_the_whole_array_definition(shape, lam):
    """Large arrays (2 000 elements and more) are counted on the open elements only, small ones over every
    element: both the definition's counts."""
    rng = np.random.default_rng(7)
    u = rng.random(shape)
    lam = rng.random(shape) * 5 if lam == "per element" else lam
    k = as_poisson(u, lam)
    assert k.shape == u.shape and (k == _poisson_over_every_element(u, lam)).all()
    if np.ndim(lam) == 0 and lam > 0 and u.size:
        assert abs(k.mean() - lam) < 4 * np.sqrt(lam / u.size), (k.mean(), lam)  # and they are Poisson counts


def test_poisson_counts_at_the_edge_of_zero_are_those_of_the_definition():
    """A large array skips ``e^(−λ)`` where ``u`` lies below a bound under it: uniforms on either side of ``e^(−λ)``
    and of the bound, for means from 0 to 40 (tiny ones, where ``1 − λ`` rounds to 1, among them), are counted as
    the definition counts them."""
    from trustsim.draws import _below_exp

    rng = np.random.default_rng(11)
    lam = np.concatenate([[0.0, 1e-300, 2.0**-60, 2.0**-30, 1e-6, 0.05, 0.5, 1 - 2.0**-52, 1.0, 1.5, 40.0],
                          rng.random(300) * 0.3, rng.random(100) * 5])
    edges = [np.exp(-lam), np.minimum(_below_exp(lam), np.nextafter(1.0, 0.0))]
    u = np.concatenate([np.nextafter(e, way) for e in edges for way in (0.0, 1.0)] + edges)
    u = np.clip(u, 0.0, np.nextafter(1.0, 0.0))  # uniforms lie in [0, 1)
    n, lam = len(lam), np.tile(lam, 6)
    k = as_poisson(u, lam)
    assert u.size >= 2000 and (k == _poisson_over_every_element(u, lam)).all()
    just_above = u[:n] < np.nextafter(1.0, 0.0)  # e^(−λ) below the largest uniform: one just above it
    assert (k[:n] == 0).all() and (k[n: 2 * n][just_above] == 1).all() and just_above.sum() > 400


@pytest.mark.parametrize("layout", ["contiguous", "transposed", "small"])
def test_hashing_chunk_by_chunk_gives_the_numbers_of_the_whole_array(layout):
    """A large array of counters is hashed a cache-sized chunk at a time: the numbers of the whole-array passes,
    in the array's shape, whatever its memory layout."""
    from trustsim import draws

    rng = np.random.default_rng(11)
    n = 7 if layout == "small" else 3 * draws._CHUNK + 5
    counters = rng.integers(0, 2 ** 63, size=(n, 3), dtype=np.uint64) * np.uint64(2) + np.uint64(1)
    if layout == "transposed":
        counters = counters.T  # Fortran-ordered: hashed through a contiguous copy
    expected = draws._unit(draws._mix(np.array(counters, order="C")))
    got = draws._hashed_units(counters.copy(order="K"))
    assert got.shape == counters.shape and got.dtype == np.float64
    assert np.array_equal(got, expected)


def test_a_zero_uniform_gives_the_normal_number_of_the_smallest_uniform_not_minus_infinity():
    """``as_normal`` lifts a uniform of 0 to 2⁻⁵³, the smallest other uniform the hash gives; others are left."""
    from scipy import special

    from trustsim.draws import as_normal

    u = np.array([0.0, 2.0 ** -53, 0.5, 1 - 2.0 ** -53])
    z = as_normal(u)
    assert np.isfinite(z).all() and z[0] == z[1] == special.ndtri(2.0 ** -53)
    assert np.array_equal(z[1:], special.ndtri(u[1:]))


@pytest.mark.parametrize("n", [1, 2 ** 14 - 1, 2 ** 14, 2 ** 14 + 1, 2 * 2 ** 14 - 1, 2 * 2 ** 14, 2 * 2 ** 14 + 1])
def test_hashing_chunk_by_chunk_hashes_every_element_at_sizes_around_the_chunk(n):
    """Each counter of an array one element either side of a whole number of chunks is hashed, into the number
    the SplitMix64 reference gives it alone (the last element of a last chunk of one among them)."""
    from trustsim import draws

    assert draws._CHUNK == 2 ** 14  # the sizes above straddle its multiples
    rng = np.random.default_rng(n)
    counters = rng.integers(0, 2 ** 63, size=n, dtype=np.uint64) * np.uint64(2) + np.uint64(rng.integers(2))
    got = draws._hashed_units(counters.copy())
    ends = sorted({0, 1, n // 2, n - 2, n - 1} & set(range(n)))  # the first, the last and some between
    assert got.shape == (n,)
    assert [got[i] for i in ends] == [(_splitmix64(int(counters[i])) >> 11) * 2.0 ** -53 for i in ends]
    assert np.array_equal(got, draws._unit(draws._mix(counters.copy())))  # and every element as unchunked


def test_a_number_drawn_as_at_a_step_is_the_number_drawn_at_that_step():
    """``uniform_at`` (a fit drawn as at the step of a specification change) and ``uniforms_of_sites`` (a table of
    draws, one site per slot column) give, element by element, the numbers ``uniform`` draws at that step and site:
    the counter's step part and site part both count, at steps far apart."""
    d = Draws([31, 8])
    member, element = np.repeat(np.arange(2), 60), np.tile(np.arange(60), 2)
    base = d.base(member, element)
    steps = np.array([0, 1, 2, 7, 1000, MAX_STEP - 1])
    at_steps = d.uniform_at(SITE["supplier_fit"], base[:, None], steps[None, :])
    sites = np.array([SITE["bidder"], d.slot_site("fit", 0), d.slot_site("markup", 49)])
    for j, step in enumerate(steps):
        d.step = int(step)
        assert np.array_equal(at_steps[:, j], d.uniform(SITE["supplier_fit"], base)), step
        by_site = d.uniforms_of_sites(sites[None, :], base[:, None])
        for c, site in enumerate(sites):
            assert np.array_equal(by_site[:, c], d.uniform(int(site), base)), (step, site)
    assert len({at_steps[0, j] for j in range(len(steps))}) == len(steps)  # the step changes the number


def test_a_runs_key_is_the_first_64_bit_word_its_seed_sequence_derives():
    """docs/ODD.md (stochasticity): the key is SeedSequence(seed)'s first 64-bit word, i.e. its first two 32-bit
    words, low word first; every member of an ensemble has its own seed's key."""
    seeds = [0, 1, 5, 2 ** 40 + 3, 12345]
    d = Draws(seeds)
    for seed, key in zip(seeds, d.keys, strict=True):
        low, high = (int(w) for w in np.random.SeedSequence(seed).generate_state(2, np.uint32))
        assert int(key) == low | (high << 32), seed


def test_a_poisson_count_is_the_first_whose_cumulative_probability_reaches_the_uniform():
    """The inverse distribution function: a uniform exactly at the cumulative probability of ``k`` (as summed) has
    the count ``k``, one just above it ``k + 1``; in large and small arrays alike. And counts are those of
    scipy's Poisson quantile function away from the rounding at the steps."""
    from scipy import stats

    lam = np.array([0.05, 0.3, 1.0, 2.5, 7.0])
    term = np.exp(-lam)
    cdfs = [term.copy()]
    for i in range(1, 6):  # the cumulative probabilities of 0 … 5, summed as the definition sums them
        term = term * lam / i
        cdfs.append(cdfs[-1] + term)
    cdf = np.array(cdfs)  # (count, mean)
    counts = np.broadcast_to(np.arange(6)[:, None], cdf.shape)
    means = np.broadcast_to(lam, cdf.shape)
    for copies in (1, 400):  # 30 elements (every element each round), 12 000 (the open ones only)
        u, m, k = (np.tile(a.ravel(), copies) for a in (cdf, means, counts))
        assert np.array_equal(as_poisson(u, m), k)
        assert np.array_equal(as_poisson(np.nextafter(u, 1.0), m), k + 1)
    rng = np.random.default_rng(3)
    u, m = rng.random(5000), rng.choice(lam, 5000)
    assert np.array_equal(as_poisson(u, m), stats.poisson.ppf(u, m).astype(np.int64))
