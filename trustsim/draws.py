"""Counter-based random numbers: every draw is a function of (run seed, step, draw site, element).

A run's random numbers do not come from a stream whose position depends on what was drawn before, but
from a hash of where the draw is made: the run's key (from its seed), the step, the *site* (which draw
of the step: one name per ``rng`` call in ``phases.py``) and the element (the relationship, buyer or
supplier within its own market, and the bidder). So a market gets the same numbers whether it runs
alone or as one member of an ensemble of a thousand (``ensemble.py``), on any worker, in any batch.

The hash is SplitMix64 (Steele, Lea & Flood 2014): the 64-bit counter ``step·2⁴⁴ + site·2³² + element``
is multiplied by the golden-ratio constant, added to the run's key and passed through the SplitMix64
finaliser; the top 53 bits give a uniform number in [0, 1). Normal numbers are its inverse normal
distribution function, Poisson counts its inverse distribution function, Beta numbers its inverse
regularised incomplete beta function: one uniform per draw, so an element's draw never depends on the
others'. docs/ODD.md (design concepts, stochasticity) states the scheme.
"""

from __future__ import annotations

import functools
import itertools
import math
from collections.abc import Sequence

import numpy as np
from scipy import special

_GAMMA_INT = 0x9E3779B97F4A7C15
_GAMMA = np.uint64(_GAMMA_INT)
_MASK = (1 << 64) - 1
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_TO_UNIT = 2.0 ** -53
_SHIFT_53, _S30, _S27, _S31 = (np.uint64(n) for n in (11, 30, 27, 31))
MAX_STEP = 2 ** 20        # steps a run can take under this scheme (params cap run.steps at 1 000 000)
MAX_ELEMENT = 2 ** 32     # elements one draw can cover

SITES = (  # every draw of a step, by name; a site's number is its place here (append only: never reorder)
    "posture", "rebid_calendar", "cost", "quality", "alignment", "integrity",
    "spec_change", "demand", "bidder", "markup", "fit", "fallback", "rebid_bidder", "rebid_markup", "rebid_fit",
    "shirk", "defect", "inspect", "detect", "audit", "detect_padding", "service_need",
    "candour", "fix_complaint", "fix_surfaced", "supplier_ideas", "process_ideas", "anticipated", "refit",
    "imitate_buyer_other", "imitate_buyer", "imitate_supplier_other", "imitate_supplier", "mutation", "terms",
    "supplier_fit",
)
SITE = {name: i for i, name in enumerate(SITES)}
# the draws a step makes per relationship, drawn together in phase 1 (Events.uniform reads them): first those
# every relationship uses, then those that decide something only where an earlier event happened (a defect to
# detect, a complaint to fix, ideas where trust lets them flow, a changed specification to refit), which a large
# market draws there alone
REL_EVERYWHERE = ("spec_change", "shirk", "defect", "inspect", "service_need")
REL_WHERE_NEEDED = ("detect", "audit", "detect_padding", "candour", "fix_complaint", "fix_surfaced", "supplier_ideas",
                    "process_ideas", "anticipated", "refit")
REL_SITES = REL_EVERYWHERE + REL_WHERE_NEEDED  # a block's rows; a number depends on its site, not on its row
REL_ROW = {name: i for i, name in enumerate(REL_SITES)}
SLOT_SITES = 64  # a site drawn once per slot column adds (column + 1) · 64 (columns < 50): sites stay < 2¹²


def run_key(seed: int) -> np.uint64:
    """The 64-bit key of a run: the first word NumPy's SeedSequence derives from the seed."""
    return np.random.SeedSequence(int(seed)).generate_state(1, np.uint64)[0]


def _unit(z: np.ndarray) -> np.ndarray:
    """Hashes as uniform numbers in [0, 1): their top 53 bits, written over the hashes' own memory (a fresh
    uint64 array; the conversion is exact, so the numbers are those of ``(z >> 11) · 2⁻⁵³``). The 53 bits are
    converted as signed integers (they fit, and the same numbers result): NumPy converts int64 to float64 in
    fewer instructions than uint64."""
    z >>= _SHIFT_53
    u = z.view(np.float64)
    np.multiply(z.view(np.int64), _TO_UNIT, out=u, casting="unsafe")
    return u


def _mix(z: np.ndarray, t: np.ndarray | None = None) -> np.ndarray:
    """The SplitMix64 finaliser (in place on a fresh uint64 array, through one scratch array ``t`` of its shape:
    no temporaries to allocate and fault in per operation)."""
    t = np.empty_like(z) if t is None else t
    for shift, m in ((_S30, _M1), (_S27, _M2)):
        np.right_shift(z, shift, out=t)
        z ^= t
        z *= m
    np.right_shift(z, _S31, out=t)
    z ^= t
    return z


_CHUNK = 1 << 14  # counters hashed at a time: 128 KiB, so a chunk's eleven passes stay in the core's cache


def _hashed_units(z: np.ndarray) -> np.ndarray:
    """Fresh counters ``z`` (a new uint64 array, overwritten) hashed into uniform numbers in [0, 1):
    ``_unit(_mix(z))``, chunk by chunk where ``z`` is large. The same numbers: each element's are computed
    alone; chunks only keep the passes over a large array in cache instead of memory (twice as fast on
    three million counters)."""
    if z.size <= _CHUNK:
        return _unit(_mix(z))
    flat = np.ascontiguousarray(z).reshape(-1)  # z itself unless it is laid out otherwise
    scratch = np.empty(_CHUNK, dtype=np.uint64)
    for start in range(0, flat.size, _CHUNK):
        part = flat[start: start + _CHUNK]
        _unit(_mix(part, scratch[: len(part)]))
    return flat.view(np.float64).reshape(np.shape(z))


_STEP_GAMMA = np.uint64(((1 << 44) * _GAMMA_INT) & _MASK)  # 2⁴⁴ · γ and 2³² · γ modulo 2⁶⁴
_SITE_GAMMA = np.uint64(((1 << 32) * _GAMMA_INT) & _MASK)


def _counters(step, site) -> np.ndarray:
    """``(step · 2⁴⁴ + site · 2³²) · γ`` modulo 2⁶⁴ where the step or the site differs from element to element
    (``Draws._counter`` is the same for one step and site, in Python integers), as ``step · (2⁴⁴ · γ) + site ·
    (2³² · γ)``: the same number modulo 2⁶⁴, in fewer ufunc calls; ufuncs wrap silently, as the counter is meant
    (scalar arithmetic would warn)."""
    return np.asarray(step, dtype=np.uint64) * _STEP_GAMMA + np.asarray(site, dtype=np.uint64) * _SITE_GAMMA


@functools.lru_cache(maxsize=16)
def _site_parts(sites: tuple[int, ...]) -> np.ndarray:
    """``site · 2³² · γ`` modulo 2⁶⁴ of each site (``_counters`` at step 0): a counter's part that does not change
    with the step; kept, so read-only."""
    parts = _counters(0, sites)
    parts.flags.writeable = False
    return parts


class Draws:
    """The random numbers of an ensemble of runs (one key per member, from its seed).

    A draw names its site and gives, per element, its member and its element number within that member's
    market (``member`` and ``element`` broadcast together); ``step`` is the model's step count.
    """

    def __init__(self, seeds: Sequence[int]):
        self.keys = np.array([run_key(s) for s in seeds], dtype=np.uint64)
        self.step = 0
        self._kept = None  # the step-free part of the counters phase 1 draws every step (``_step_free``)

    def base(self, member: np.ndarray, element: np.ndarray) -> np.ndarray:
        """``key[member] + element · γ``: the part of the counter that does not change between steps."""
        return self.shifted(self.keys[member], element)

    @staticmethod
    def shifted(base: np.ndarray, element: np.ndarray) -> np.ndarray:
        """``base + element · γ``: the base of an element ``element`` further on (modulo 2⁶⁴, so a table's row
        base ``base(member, row · width)`` shifted by a column is ``base(member, row · width + column)``)."""
        return base + np.asarray(element, dtype=np.uint64) * _GAMMA

    def _counter(self, site: int) -> int:
        """``(step · 2⁴⁴ + site · 2³²) · γ`` modulo 2⁶⁴ (Python integers: no overflow warnings)."""
        return (((self.step << 44) + (site << 32)) * _GAMMA_INT) & _MASK

    def uniform(self, site: int, base: np.ndarray) -> np.ndarray:
        """Uniform numbers in [0, 1), one per element of ``base`` (``self.base(member, element)``)."""
        return _hashed_units(base + np.uint64(self._counter(site)))

    def uniform_at(self, site: int, base: np.ndarray, step: np.ndarray) -> np.ndarray:
        """Like ``uniform``, but drawn as at ``step`` (an array broadcast with ``base``) rather than the current
        step: a number fixed by an earlier event, such as a supplier's fit to the specification of that step."""
        return _hashed_units(base + _counters(step, site))

    def uniforms(self, sites: Sequence[int], base: np.ndarray, *more: tuple[Sequence[int], np.ndarray]):
        """The uniforms of several sites on the same elements at once, one row per site: the numbers of
        ``uniform(site, base)`` for each, in a few whole-array calls instead of a dozen per site. Further
        ``(sites, base)`` pairs (``more``: draws on other elements, such as each market's) are hashed in the same
        pass, and then a list of tables, one per pair, is returned. (A counter is its step's part plus a part
        that does not change with the step, its element's base plus its site's, ``step · 2⁴⁴ · γ + (base + site ·
        2³² · γ)`` modulo 2⁶⁴: ``_step_free`` keeps the latter while the same sites are drawn on the same bases.)"""
        pairs = ((sites, base), *more)
        step_free, tables = self._step_free(pairs)
        units = _hashed_units(step_free + np.uint64(self._counter(0)))  # a fresh array, hashed in place
        tables = [units[place].reshape(shape) for shape, place in tables]
        return tables if more else tables[0]

    def _step_free(self, pairs):
        """The counters of ``uniforms``'s ``pairs`` without their step's part, every pair's one after the other,
        and each pair's table's shape and place among them. Kept from step to step while the same sites are drawn
        on the same read-only bases (phase 1 draws the same every step), else made anew."""
        key = tuple((tuple(s), b) for s, b in pairs)
        kept = self._kept
        if kept is not None and len(kept[0]) == len(key) and all(
                s == ks and b is kb for (s, b), (ks, kb) in zip(key, kept[0], strict=True)):
            return kept[1], kept[2]
        shapes = [(len(s), *np.shape(b)) for s, b in key]
        sizes = [math.prod(shape) for shape in shapes]
        places = [slice(end - size, end) for size, end in zip(sizes, itertools.accumulate(sizes), strict=True)]
        z = np.empty(sum(sizes), dtype=np.uint64)
        for (s, b), shape, place in zip(key, shapes, places, strict=True):
            np.add(b[None, ...], _site_parts(s).reshape((-1,) + (1,) * np.ndim(b)), out=z[place].reshape(shape))
        z.flags.writeable = False
        tables = list(zip(shapes, places, strict=True))
        if all(not np.ndim(b) or not b.flags.writeable for _, b in key):  # bases that cannot change under the kept
            self._kept = (key, z, tables)
        return z, tables

    def uniforms_of_sites(self, sites: np.ndarray, base: np.ndarray) -> np.ndarray:
        """Uniforms whose site differs from element to element (``sites``, broadcast with ``base``): a table of
        draws for rows of several slot columns, each column drawing at its own site. The numbers of
        ``uniform(site, base)`` element by element (the same counter, modulo 2⁶⁴)."""
        return _hashed_units(base + _counters(self.step, sites))

    def normal(self, site: int, base: np.ndarray) -> np.ndarray:
        """Standard normal numbers: the inverse normal distribution function of uniforms."""
        return as_normal(self.uniform(site, base))

    def beta(self, site: int, base: np.ndarray, a, b) -> np.ndarray:
        """Beta(a, b) numbers: the inverse regularised incomplete beta function of uniforms."""
        return special.betaincinv(a, b, self.uniform(site, base))

    def slot_site(self, name: str | Sequence[str], column):
        """The site of a draw made once per slot column (sourcing fills and rebids slot by slot); ``column`` a
        number or one per row. Several names give one row of sites per name (a table's draws at once)."""
        site = SITE[name] if isinstance(name, str) else _site_rows(tuple(name), np.ndim(column))
        return site + SLOT_SITES * (column + 1)

    @staticmethod
    def columns(row_base: np.ndarray, width: int) -> np.ndarray:
        """Counter bases of a table of draws ``width`` wide, one row per relationship, from the rows' kept bases
        (the market's ``base_bids`` or ``base_fits``): ``shifted(row_base[:, None], np.arange(width))``, column ``j``
        element ``local row · width + j``."""
        return row_base[:, None] + _column_shifts(width)


@functools.lru_cache(maxsize=16)
def _site_rows(names: tuple[str, ...], ndim: int) -> np.ndarray:
    """The sites of ``names``, one row each, shaped to broadcast with an array of ``ndim`` axes; read-only."""
    sites = np.array([SITE[n] for n in names]).reshape((-1,) + (1,) * ndim)
    sites.flags.writeable = False
    return sites


@functools.lru_cache(maxsize=16)
def _column_shifts(width: int) -> np.ndarray:
    """``j · γ`` modulo 2⁶⁴ for ``j`` < ``width`` (``Draws.columns``); read-only."""
    shifts = Draws.shifted(np.uint64(0), np.arange(width))
    shifts.flags.writeable = False
    return shifts


def as_normal(u: np.ndarray) -> np.ndarray:
    """Standard normal numbers from uniforms: the inverse normal distribution function."""
    u = np.maximum(u, _TO_UNIT)  # a zero would give −∞ (uniforms are multiples of 2⁻⁵³: only 0 lies below it)
    return special.ndtri(u)


_ROUNDS_ON_ALL_BELOW = 1 << 10  # elements: a smaller array's Poisson counts are computed over every element


def as_poisson(u: np.ndarray, lam) -> np.ndarray:
    """Poisson counts of mean ``lam`` (small: ideas per step) from uniforms, by the inverse distribution
    function: the count is the first ``k`` whose cumulative probability reaches ``u``. In a large array each
    round works on the elements still above their cumulative probability only (with small means, a few in a
    hundred after the first); in a small one, where a call costs more than its elements, on all of them (a
    cumulative probability only grows, so an element once below it stays below). Each element's terms are
    computed in the same order either way."""
    lam = np.full(u.shape, lam, dtype=float)  # a number, or one per element
    if u.size < _ROUNDS_ON_ALL_BELOW:
        return _poisson_rounds_on_all(u, lam)
    u_all, lam_all = u.ravel(), lam.ravel()
    maybe = (u_all >= _below_exp(lam_all)).nonzero()[0]  # below the bound, u ≤ e^(−λ): a count of 0
    term = np.exp(-lam_all[maybe])
    above = u_all[maybe] > term
    open_ = maybe[above]  # the elements whose count is above 0
    u_o, lam_o, term_o = u_all[open_], lam_all[open_], term[above]
    cdf_o = term_o
    k = np.zeros(u.shape, dtype=np.int64)
    counts = k.reshape(-1)
    i = 0
    while len(open_) and i < 1000:
        i += 1
        counts[open_] += 1
        term_o = term_o * lam_o / i
        cdf_o = cdf_o + term_o
        more = u_o > cdf_o
        open_, u_o, lam_o, term_o, cdf_o = open_[more], u_o[more], lam_o[more], term_o[more], cdf_o[more]
    return k


_UNDER_ONE = 1.0 - 2.0**-20


def _below_exp(lam: np.ndarray) -> np.ndarray:
    """A bound below ``e^(−λ)`` as computed, without computing it: ``e^(−λ) ≥ 1 − λ``, and a millionth less covers
    the rounding of ``1 − λ``, of the product and of any ``exp`` many times over (their errors are 2⁻⁵² or so, and
    ``e^(−λ) − (1 − λ)`` only grows with λ). A uniform below it has a Poisson count of 0; with small means most do,
    and their ``exp`` is skipped."""
    return (1.0 - lam) * _UNDER_ONE


def _poisson_rounds_on_all(u: np.ndarray, lam: np.ndarray) -> np.ndarray:
    """``as_poisson`` for a small array: every round over every element."""
    term = np.exp(-lam)
    cdf = term
    k = np.zeros(u.shape, dtype=np.int64)
    above = u > cdf
    i = 0
    while i < 1000 and above.any():
        i += 1
        k += above
        term = term * lam / i
        cdf = cdf + term
        above = u > cdf
    return k
