"""The pattern checks P1–P10: each turns the measured runs into a figure, an interval and a verdict.

A check is one function ``pN(runs) -> Result``, registered with ``@pattern``; ``runs`` maps each variant
(``variants.py``) to the figures of its seeds (``measure.py``). Registration order is the order of the
table. To add a pattern: measure what it needs in ``measure.py`` (and add a variant if it compares
one), then write its check here.
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from ..stats import finite, interval_text, mean_ci
from .measure import P10_STEPS
from .variants import SIGMAS

PATTERNS: dict[str, Callable[[dict], Result]] = {}
DECOMPOSITIONS: dict[str, Callable[[dict], Result]] = {}  # printed apart from the patterns, never counted


def pattern(check: Callable[[dict], Result]) -> Callable[[dict], Result]:
    """Register a pattern check under its name (``p7`` → ``P7``)."""
    PATTERNS[check.__name__.upper()] = check
    return check


def decomposition(check: Callable[[dict], Result]) -> Callable[[dict], Result]:
    """Register a decomposition (a figure with no verdict) under its name."""
    DECOMPOSITIONS[check.__name__.upper()] = check
    return check


def col(runs, key):
    """One figure over the seeds of a variant (seeds that lack it are left out)."""
    return np.array([r[key] for r in runs if key in r], dtype=float)


@dataclass
class Result:
    """One pattern's verdict: what was measured against which target, and the per-seed series its figure draws."""
    pattern: str
    claim: str
    measured: str
    target: str
    passed: bool
    values: dict = field(default_factory=dict)   # per-seed series of the compared quantities
    targets: dict = field(default_factory=dict)  # published figure for a series, where there is one
    tolerances: dict = field(default_factory=dict)  # ± allowed about a series' target, where the check allows one

    def __post_init__(self):
        # a verdict from NumPy's comparisons is NumPy's bool, not Python's: what the API hands on is the same type
        # for every pattern (None for a decomposition, which has no verdict)
        self.passed = None if self.passed is None else bool(self.passed)

    @property
    def verdict(self) -> str:
        """pass, FAIL, or — for a decomposition, which has none."""
        return "—" if self.passed is None else "pass" if self.passed else "FAIL"

    def row(self) -> list[str]:
        """The pattern's line in the table: pattern, claims, measured, target, verdict."""
        return [self.pattern, self.claim, self.measured, self.target, self.verdict]


def _fmt_ci(m, lo, hi, digits=3) -> str:
    return interval_text(m, lo, hi, digits)


def _seeds_left_out(kept: int, runs) -> str:
    """" (over k of n seeds)" when some seeds could not give a figure, so a reader sees the interval's n."""
    return f" (over {kept} of {len(runs)} seeds)" if kept < len(runs) else ""


NOT_BOTH = "not measured: no seed had buyers of both postures"  # an advantage needs both; NaN is not 0


def not_measured(**postures) -> str:
    """Why no seed measured a comparison of the postures' figures (``partner=…``, ``aggressive=…``): "not measured:
    no partner buyers" when no seed measured that posture's, else :data:`NOT_BOTH`."""
    empty = [name for name, values in postures.items() if not measured_count(values)]
    return f"not measured: no {empty[0]} buyers" if len(empty) == 1 else NOT_BOTH


def measured_ci(values) -> tuple[float, float, float]:
    """Mean and 95% interval over the seeds that measured the figure: an advantage is NaN where a posture had no
    buyers, left out (and counted by :func:`_seeds_left_out`), not taken as 0."""
    return mean_ci(finite(values))


def measured_count(values) -> int:
    """How many seeds measured the figure (its finite values)."""
    return int(np.isfinite(np.asarray(values, dtype=float)).sum())


def measured_mean(values) -> float:
    """The mean of the measured values, NaN (without a warning) when none was."""
    v = finite(values)
    return float(v.mean()) if len(v) else math.nan


def measured_at_every(by) -> np.ndarray:
    """Figures ``by`` (one array per setting, the same seeds in order) as ``(settings, seeds)``, keeping only the
    seeds measured under every setting: a seed without one has no paired comparison (left out, not taken as 0)."""
    ys = np.vstack([np.asarray(b, dtype=float)[: min(map(len, by))] for b in by])
    return ys[:, np.isfinite(ys).all(axis=0)]


def paired_slopes(xs, by) -> np.ndarray:
    """Each seed's least-squares slope of its figures ``by`` over ``xs``, for the seeds measured at every x."""
    ys = measured_at_every(by)
    return np.polyfit(np.asarray(xs, dtype=float), ys, 1)[0] if ys.shape[1] else np.array([])


@pattern
def p1(r) -> Result:
    """P1 (S18): partner buyers pay more than aggressive ones; the 95% interval of the seeds' mean
    price difference, partner − aggressive, lies above 0."""
    b = r["baseline"]
    xp, xa = col(b, "price_partner"), col(b, "price_aggressive")
    d, both = xp - xa, np.isfinite(xp - xa)  # the seeds with buyers of both postures
    m, lo, hi = measured_ci(d)
    measured = (f"price partner {xp[both].mean():.3f} − aggressive {xa[both].mean():.3f} = {_fmt_ci(m, lo, hi)}"
                f"{_seeds_left_out(both.sum(), b)}") if both.any() else not_measured(partner=xp, aggressive=xa)
    return Result("P1", "S18", measured, "difference > 0 (CI excludes 0)", bool(lo > 0),
                  {"partner": xp, "aggressive": xa, "partner − aggressive": d}, {"partner − aggressive": 0.0})


@pattern
def p2(r) -> Result:
    """P2 (S18, S19): partner buyers end with the larger market share and cumulative profit per buyer; both
    differences' 95% intervals lie above 0. Share is compared per buyer (in units of the equal share 1/n, as P6):
    the postures' total shares would compare groups of different sizes unless the buyers are split evenly."""
    b = r["baseline"]
    ds = col(b, "share_advantage")
    dp = col(b, "profit_cum_partner") - col(b, "profit_cum_aggressive")
    ms, los, _ = measured_ci(ds)
    mp, lop, hip = measured_ci(dp)
    measured = (f"long-run market share per buyer (× 1/n) partner − aggressive {ms:+.3f} "
                f"{f'(lo {los:+.3f})' if math.isfinite(los) else '(one seed: no interval)'}"
                f"{_seeds_left_out(measured_count(ds), b)}; cum. profit per buyer at the last step "
                f"{_fmt_ci(mp, lop, hip, 0)}"
                f"{_seeds_left_out(measured_count(dp), b)}") if measured_count(ds) and measured_count(dp) else NOT_BOTH
    return Result("P2", "S18, S19", measured, "both > 0 (CIs exclude 0)", bool(los > 0 and lop > 0),
                  {"market share per buyer partner − aggressive": ds, "cum. profit per buyer (÷1000)": dp / 1000},
                  {"market share per buyer partner − aggressive": 0.0, "cum. profit per buyer (÷1000)": 0.0})


P3_LEVELS = {"least-trusted fifth": 0.47, "most trusted fifth": 0.24}  # Dyer & Chu (2003)
P3_TOLERANCE = 0.07


@pattern
def p3(r) -> Result:
    """P3 (S15, S16): the non-productive share of face-to-face hours is 0.47 ± 0.07 for the least-trusted
    fifth of buyers and 0.24 ± 0.07 for the most trusted fifth (Dyer & Chu 2003: buyers ranked by their suppliers'
    trust in them, ``measure.trust_fifths``), as means over the seeds."""
    b = r["baseline"]
    low, high = col(b, "nonprod_low"), col(b, "nonprod_high")
    ml, mh = measured_mean(low), measured_mean(high)  # a fifth without face-to-face hours has no share: left out
    ok = all(abs(m - level) <= P3_TOLERANCE for m, level in zip((ml, mh), P3_LEVELS.values(), strict=True))
    measured = (f"non-productive share: least-trusted fifth {ml:.3f}{_seeds_left_out(measured_count(low), b)}, "
                f"most trusted fifth {mh:.3f}{_seeds_left_out(measured_count(high), b)}"
                if measured_count(low) and measured_count(high) else "not measured: no seed's fifth had face-to-face "
                                                                     "hours")
    target = " and ".join(f"{level:.2f} ± {P3_TOLERANCE:.2f}" for level in P3_LEVELS.values())
    return Result("P3", "S15, S16", measured, target, ok, {"least-trusted fifth": low, "most trusted fifth": high},
                  dict(P3_LEVELS), dict.fromkeys(P3_LEVELS, P3_TOLERANCE))


P4_INSPECTION, P4_RATIO = 0.05, 3.0  # the most trusted tenth's inspection rate at most; the fifths' ratio at least


@pattern
def p4(r) -> Result:
    """P4 (S15, S17): the most trusted tenth of buyers (by their suppliers' trust in them) inspect at most 5% of
    lots, and the most trusted fifth handle at least 3× the units per purchasing hour of the least trusted fifth."""
    b = r["baseline"]
    insp, ratio = col(b, "inspection_top_tenth"), col(b, "units_per_hour_ratio")
    seen = ratio[~np.isnan(ratio)]  # infinite where the least trusted fifth handled nothing: measured, ≥ 3×
    mi, mr = measured_mean(insp), float(seen.mean()) if len(seen) else math.nan  # NaN seeds left out
    measured = (f"inspection rate top tenth {mi:.3f}{_seeds_left_out(measured_count(insp), b)}; units per purchasing "
                f"hour top/bottom fifth {mr:.2f}×{_seeds_left_out(len(seen), b)}"
                if measured_count(insp) and len(seen) else "not measured: no seed's tenth bought a lot or fifth "
                                                            "spent purchasing hours")
    return Result("P4", "S15, S17", measured, f"≤ {P4_INSPECTION:.2f} and ≥ {P4_RATIO:g}×",
                  mi <= P4_INSPECTION and mr >= P4_RATIO,
                  {"inspection rate, top tenth": insp, "units/hour ratio": ratio},
                  {"inspection rate, top tenth": P4_INSPECTION, "units/hour ratio": P4_RATIO})


@pattern
def p5(r) -> Result:
    """P5 (S18): partners receive supplier ideas, and at least 5× as many per buyer and step as aggressive
    buyers."""
    b = r["baseline"]
    xp, xa = col(b, "ideas_partner"), col(b, "ideas_aggressive")
    both = np.isfinite(xp) & np.isfinite(xa)  # a ratio to no aggressive buyers' ideas is no ratio
    target = "ratio ≥ 5 (and partners do receive ideas)"
    if not both.any():
        return Result("P5", "S18", not_measured(partner=xp, aggressive=xa), target, False,
                      {"partner": xp, "aggressive": xa, "ratio": math.nan})
    ip, ia = xp[both].mean(), xa[both].mean()
    ratio = ip / ia if ia > 0 else (math.inf if ip > 0 else 0.0)
    return Result("P5", "S18", f"ideas per buyer and step: partner {ip:.3f}, aggressive {ia:.3f} (ratio {ratio:.1f})"
                               f"{_seeds_left_out(both.sum(), b)}", target, bool(ip > 0 and ratio >= 5),
                  {"partner": xp, "aggressive": xa, "ratio": ratio})


@pattern
def p6(r) -> Result:
    """The advantage grows with σ: the slope of each seed's advantage over σ (the same seeds at every σ, paired)
    has a 95% interval above 0. Whether the mean rises at every step of σ is reported beside it."""
    by_sigma = [col(r[f"sigma={s}"], "share_advantage") for s in SIGMAS]
    adv = [measured_mean(x) for x in by_sigma]
    mono = all(b > a for a, b in zip(adv, adv[1:], strict=False))
    slopes = paired_slopes(SIGMAS, by_sigma)  # one per seed measured at every σ
    m, lo, hi = mean_ci(slopes)
    levels = ", ".join(f"{s}: {_fmt_ci(*measured_ci(x))}{_seeds_left_out(measured_count(x), r[f'sigma={s}'])}"
                       for s, x in zip(SIGMAS, by_sigma, strict=True))
    measured = (f"partner share advantage by σ {levels}; paired slope per unit σ {_fmt_ci(m, lo, hi)}"
                f"{_seeds_left_out(len(slopes), r[f'sigma={SIGMAS[0]}'])}; the mean "
                f"{'rises' if mono else 'does not rise'} at every step of σ") if len(slopes) else NOT_BOTH
    return Result("P6", "S19", measured, "paired slope > 0 (CI excludes 0)", bool(lo > 0),
                  {"advantage": adv, "by_sigma": by_sigma, "slope": slopes})


@pattern
def p7(r) -> Result:
    """P7 (S6, S7): partner trust is higher with silence-triggered contact than with passive suppliers, and
    exits under passive suppliers were quiet (no complaint) before more often than relationships at large are; both
    intervals lie above 0."""
    tp, ts = col(r["passive"], "trust_partner"), col(r["silence"], "trust_partner")
    d, both = ts - tp, np.isfinite(ts - tp)
    m, lo, hi = measured_ci(d)
    trust = (f"partner trust passive {tp[both].mean():.3f} vs silence-triggered {ts[both].mean():.3f}: Δ "
             f"{_fmt_ci(m, lo, hi)}{_seeds_left_out(both.sum(), r['silence'])}" if both.any() else
             f"partner trust {not_measured(partner=d)}")
    quiet, base = col(r["passive"], "quiet_before_exit"), col(r["passive"], "quiet_base_rate")
    q, base = quiet[~np.isnan(quiet)], base[~np.isnan(quiet)]  # seeds with no exit have no figure
    mq, loq, _ = mean_ci(q - base) if len(q) > 1 else (math.nan, math.nan, math.nan)
    exits = (f"exits (passive) with no complaint in the steps before {q.mean():.0%} vs {base.mean():.0%} of all "
             f"relationships{_seeds_left_out(len(q), r['passive'])}" if len(q) else
             "no exits under passive suppliers: their silence not measured")
    return Result("P7", "S6, S7", f"{trust}; {exits}",
                  "trust Δ > 0 and exits quieter than the rest (CIs exclude 0)", bool(lo > 0 and loq > 0),
                  {"trust, passive": tp, "trust, silence-triggered": ts,
                   "quiet before exit (passive)": q, "quiet base rate (passive)": base})


@pattern
def p8(r) -> Result:
    """P8 (S10, S11): partners with service billed on top pay a lower price but a higher total cost of
    ownership than with service priced in (both intervals above 0)."""
    dt = col(r["unbundled"], "tco_partner") - col(r["bundled"], "tco_partner")
    dp = col(r["bundled"], "price_partner") - col(r["unbundled"], "price_partner")
    both = np.isfinite(dt) & np.isfinite(dp)  # the seeds with partner buyers
    mt, lot, hit = mean_ci(dt[both])
    mp, lop, _ = mean_ci(dp[both])
    measured = (f"partners, service billed on top vs priced in: TCO {_fmt_ci(mt, lot, hit, 4)} higher, price "
                f"{mp:.4f} lower{_seeds_left_out(both.sum(), r['bundled'])}") if both.any() else \
        not_measured(partner=dt[both])
    return Result("P8", "S10, S11", measured, "TCO higher and price lower (CIs exclude 0)", bool(lot > 0 and lop > 0),
                  {"TCO: unbundled − bundled": dt, "price: bundled − unbundled": dp},
                  {"TCO: unbundled − bundled": 0.0, "price: bundled − unbundled": 0.0})


@pattern
def p9(r) -> Result:
    """The null model takes the advantage away: on the same seeds, the baseline's advantage minus the null
    model's has a 95% interval above 0, and the null model's own advantage is not above 0."""
    null, base = col(r["null"], "share_advantage"), col(r["baseline"], "share_advantage")
    m, lo, hi = measured_ci(null)
    md, lod, hid = measured_ci(base - null)
    kept, paired = measured_count(null), measured_count(base - null)
    measured = (f"null model partner share advantage {_fmt_ci(m, lo, hi)}{_seeds_left_out(kept, r['null'])}; "
                f"baseline − null {_fmt_ci(md, lod, hid)} (same seeds){_seeds_left_out(paired, r['null'])}"
                ) if paired else NOT_BOTH
    return Result("P9", "—", measured,
                  "baseline − null > 0 (CI excludes 0) and the null advantage ≤ 0 (mean)", bool(lod > 0 and m <= 0),
                  {"null model": null, "baseline": base, "baseline − null": base - null},
                  {"null model": 0.0, "baseline − null": 0.0})


P10_LEVELS = {"partner lots": 0.50, "aggressive lots": 0.26}  # Dyer & Hatch (2006), 1990–96
P10_LEVEL_TOLERANCE = 0.10


@pattern
def p10(r) -> Result:
    """Partner lots' defects fall about twice as fast as aggressive lots' at the same suppliers, and each fall
    is near Dyer & Hatch's level (50% and 26% over six years, ± 0.10)."""
    dp, da = col(r["baseline"], "defect_drop_partner"), col(r["baseline"], "defect_drop_aggressive")
    target = (f"partner fall ≈ 2× aggressive (Δ CI excludes 0, ratio 1.5–3) and levels 50% and 26% "
              f"± {P10_LEVEL_TOLERANCE:.0%}")
    if not len(dp):  # runs shorter than P10_STEPS, or without lots of one posture at that step
        return Result("P10", "S18", f"not measured: no run reached step {P10_STEPS} with lots of both postures", target,
                      False, {}, dict(P10_LEVELS), dict.fromkeys(P10_LEVELS, P10_LEVEL_TOLERANCE))
    m, lo, hi = mean_ci(dp - da)
    ratio = dp.mean() / da.mean() if da.mean() > 0 else math.inf
    levels = all(abs(x.mean() - P10_LEVELS[k]) <= P10_LEVEL_TOLERANCE
                 for k, x in (("partner lots", dp), ("aggressive lots", da)))
    return Result("P10", "S18", f"defect rate fall over {P10_STEPS} steps: partner lots {dp.mean():.0%}, "
                                f"aggressive lots {da.mean():.0%} (ratio {ratio:.2f}; Δ {_fmt_ci(m, lo, hi)})"
                                f"{_seeds_left_out(len(dp), r['baseline'])}",
                  target, lo > 0 and 1.5 <= ratio <= 3 and levels,
                  {"partner lots": dp, "aggressive lots": da, "ratio": ratio}, dict(P10_LEVELS),
                  dict.fromkeys(P10_LEVELS, P10_LEVEL_TOLERANCE))


def horizons(r) -> list[tuple[str, str, str]]:
    """The partner advantage by horizon: for the baseline and each σ, the share advantage (in units of the equal
    share; means over steps 1–40 and over the second half of the run) and the cumulative profit advantage per buyer
    at step 40 and at the run's last step (P2's: the profit of the whole run, not of its second half alone)."""
    rows = []
    for name in ["baseline", *(f"sigma={s}" for s in SIGMAS)]:
        cells = [name]
        for share, profit, whole in (("share_advantage_business", "profit_advantage_business", ""),
                                     ("share_advantage", "profit_advantage", " (whole run)")):
            x, y = col(r[name], share), col(r[name], profit)
            cells.append(f"share {_fmt_ci(*measured_ci(x))}{_seeds_left_out(measured_count(x), r[name])}; "
                         f"profit{whole} {_fmt_ci(*measured_ci(y), 0)}{_seeds_left_out(measured_count(y), r[name])}"
                         if measured_count(x) and measured_count(y) else NOT_BOTH)
        rows.append(tuple(cells))
    return rows


def horizons_text(r) -> str:
    """:func:`horizons` as plain text within 100 columns (``trustsim patterns`` prints it)."""
    rows = horizons(r)
    width = max(len(row[0]) for row in rows)
    lines = []
    for name, business, long_run in rows:
        lines.append(f"{name.ljust(width)}  first ten years  {business}")
        lines.append(f"{' ' * width}  long run         {long_run}")
    return "\n".join(lines)


def horizons_table(r) -> str:
    """:func:`horizons` as Markdown."""
    lines = ["| runs | first ten years (steps 1–40) | long run: share over the second half of the run, profit over the "
             "whole run |", "|---|---|---|"]
    lines += ["| " + " | ".join(row) + " |" for row in horizons(r)]
    return "\n".join(lines)


def evaluate(runs) -> list[Result]:
    """Every registered pattern checked on the same runs, in the order of the table."""
    return [f(runs) for f in PATTERNS.values()]


def decompose(runs) -> list[Result]:
    """The decompositions (no verdict), on the same runs."""
    return [f(runs) for f in DECOMPOSITIONS.values()]


def markdown_table(results: list[Result]) -> str:
    """The pattern table as Markdown (docs/ODD.md and the README embed it)."""
    lines = ["| pattern | claims | measured (mean [95% interval] over seeds) | target | result |",
             "|---|---|---|---|---|"]
    for r in results:
        cells = [c.replace("|", "\\|") for c in r.row()]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def table(results: list[Result], width: int = 100) -> str:
    """A plain-text table no wider than ``width``: pattern, claims, verdict, then what was measured and the
    target, wrapped under each other (the full text in one line each: :func:`markdown_table`)."""

    head = ["pattern", "claims", "result"]
    rows = [[r.pattern, r.claim, r.verdict] for r in results]
    widths = [max(len(row[i]) for row in [head, *rows]) for i in range(3)]
    indent = sum(widths) + 2 * len(widths)
    text_width = max(width - indent, 30)
    title = "  measured (mean [95% interval] over seeds); target"
    lines = ["  ".join(c.ljust(w) for c, w in zip(head, widths, strict=False)) + title,
             "-" * min(width, indent + text_width)]
    for r, row in zip(results, rows, strict=True):
        body = textwrap.wrap(r.measured, text_width) + textwrap.wrap("target: " + r.target, text_width)
        lines.append("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=False)) + "  " + body[0])
        lines += [" " * indent + b for b in body[1:]]
    return "\n".join(line.rstrip() for line in lines)
