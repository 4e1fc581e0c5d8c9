"""The patterns P1–P10 of MODEL.md section 1, measured over many seeds.

Each pattern names the runs it needs (scenario variants of the baseline) and a function that turns
those runs' measurements into a figure, an interval and a verdict against MODEL.md section 7's
tolerance. No rule of the model names a pattern: these are only measurements of what emerges.
"""

from __future__ import annotations

import math
import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from .model import TrustMarket
from .params import Params

P10_STEPS = 24          # Dyer & Hatch: six years
SIGMAS = (0.0, 0.3, 0.6, 0.9)


# --- one run, measured ------------------------------------------------------------------------

def defect_drop_by_posture(model: TrustMarket) -> tuple[float, float] | None:
    """P10: among suppliers serving both postures, the mean fall of the defect rate of lots delivered to
    partner and to aggressive buyers, each relative to the supplier's initial base rate."""
    mk = model.market
    base0 = mk.base_defect0[mk.sup]
    rate = np.divide(mk.defect_rate(), base0, out=np.ones_like(base0), where=base0 > 0)
    partner = mk.rel_partner
    ns = mk.n_suppliers
    n_p = np.bincount(mk.sup[partner], minlength=ns)
    n_a = np.bincount(mk.sup[~partner], minlength=ns)
    both = (n_p > 0) & (n_a > 0) & (mk.base_defect0 > 0)  # a flawless supplier has nothing to improve
    if not both.any():
        return None
    r_p = np.bincount(mk.sup[partner], weights=rate[partner], minlength=ns)[both] / n_p[both]
    r_a = np.bincount(mk.sup[~partner], weights=rate[~partner], minlength=ns)[both] / n_a[both]
    return float(1 - r_p.mean()), float(1 - r_a.mean())


def quintile_figures(buyers) -> dict[str, float]:
    """P3, P4: buyers ranked by long-run trust; figures of the least and most trusting fifth (and tenth)."""
    b = buyers.sort_values("trust", kind="stable")
    n = len(b)
    fifth, tenth = max(n // 5, 1), max(n // 10, 1)
    low, high, top = b.iloc[:fifth], b.iloc[-fifth:], b.iloc[-tenth:]
    upph = lambda part: part["units_per_purchasing_hour"].mean()  # noqa: E731
    return {
        "nonprod_low": float(low["nonproductive_share"].mean()),
        "nonprod_high": float(high["nonproductive_share"].mean()),
        "inspection_top_tenth": float(top["inspection_rate"].mean()),
        "units_per_hour_ratio": float(upph(high) / upph(low)) if upph(low) > 0 else math.inf,
    }


def measure(params: Params, seed: int) -> dict[str, float]:
    """Run one market and return the figures the patterns use."""
    model = TrustMarket(params, rng=seed)
    drop = None
    quiet = params.suppliers.contact_interval  # "silent": no complaint for this many steps (P7)
    exits = silent_exits = 0
    quiet_share = []
    while model.running:
        quiet_share.append(float((model.market.since_complaint >= quiet).mean()))
        model.step()
        exits += len(model.ev.left_since_complaint)
        silent_exits += int((model.ev.left_since_complaint >= quiet).sum())
        if model.steps == P10_STEPS:
            drop = defect_drop_by_posture(model)
    s = model.recorder.summary()["long_run"]
    p, a = s["partner"], s["aggressive"]
    n_p, n_a = p["buyers"], a["buyers"]
    out = {
        "price_partner": p["component_price"], "price_aggressive": a["component_price"],
        "tco_partner": p["tco_per_unit"], "tco_aggressive": a["tco_per_unit"],
        "share_partner": p["market_share"], "share_aggressive": a["market_share"],
        # market share per buyer of each posture, in units of the equal share 1/n
        "share_advantage": (p["market_share"] / n_p - a["market_share"] / n_a) * (n_p + n_a) if n_p and n_a else 0.0,
        "profit_cum_partner": float(model.recorder.latest("partner", "profit_cum")),
        "profit_cum_aggressive": float(model.recorder.latest("aggressive", "profit_cum")),
        "ideas_partner": p["ideas_received"], "ideas_aggressive": a["ideas_received"],
        "trust_partner": p["trust_buyer"], "trust_aggressive": a["trust_buyer"],
        "buyer_exits": float(exits),
        # P7: share of buyer-initiated exits with no complaint in the steps before, and the base rate
        "quiet_before_exit": silent_exits / exits if exits else math.nan,
        "quiet_base_rate": float(np.mean(quiet_share)),
    }
    out.update(quintile_figures(model.buyer_sums.frame(model)))
    if drop is not None:
        out["defect_drop_partner"], out["defect_drop_aggressive"] = drop
    return out


# --- the variants the patterns need ---------------------------------------------------------

def variants(base: Params) -> dict[str, Params]:
    """Named parameter sets: the baseline and the variants some patterns compare against it."""
    v = {"baseline": base}
    for s in SIGMAS:
        v[f"sigma={s}"] = base.replace(**{"market.uncertainty": s})
    v["passive"] = base.replace(**{"suppliers.attention_policy": "passive"})
    v["silence"] = base.replace(**{"suppliers.attention_policy": "silence"})
    v["unbundled"] = base.replace(**{"service.partner_in_price": False})
    v["bundled"] = base.replace(**{"service.partner_in_price": True})
    v["null"] = null_model(base)
    return v


def null_model(base: Params) -> Params:
    """P9: innovation off, no uncertainty, transaction time independent of trust."""
    return base.replace(**{
        "innovation.idea_rate": 0.0, "innovation.process_idea_rate": 0.0, "market.uncertainty": 0.0,
        "time.trust_scaled_hours": False,
    })


def _measure_job(job):
    return job[0], job[1], measure(job[2], job[1])


def run_all(base: Params, seeds: int = 10, workers: int | None = None, names=None, progress=None
            ) -> dict[str, list[dict[str, float]]]:
    """Measure every variant over ``seeds`` seeds (1 … seeds): ``{variant: [figures per seed]}``."""
    chosen = variants(base) if names is None else {k: v for k, v in variants(base).items() if k in names}
    jobs = [(name, seed, p) for name, p in chosen.items() for seed in range(1, seeds + 1)]
    out: dict[str, list] = {name: [None] * seeds for name in chosen}
    if workers == 1:
        results = map(_measure_job, jobs)
    else:
        pool = ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("forkserver"))
        results = pool.map(_measure_job, jobs, chunksize=4)
    for name, seed, fig in results:
        out[name][seed - 1] = fig
        if progress:
            progress(1)
    if workers != 1:
        pool.shutdown()
    return out


# --- statistics ------------------------------------------------------------------------------

def mean_ci(x) -> tuple[float, float, float]:
    """Mean and 95% t-interval over seeds."""
    from scipy import stats

    x = np.asarray(x, dtype=float)
    m = float(x.mean())
    if len(x) < 2:
        return m, m, m
    h = float(stats.t.ppf(0.975, len(x) - 1) * x.std(ddof=1) / math.sqrt(len(x)))
    return m, m - h, m + h


def col(runs, key):
    return np.array([r[key] for r in runs if key in r], dtype=float)


@dataclass
class Result:
    pattern: str
    claim: str
    measured: str
    target: str
    passed: bool
    values: dict = field(default_factory=dict)   # per-seed series of the compared quantities
    targets: dict = field(default_factory=dict)  # published figure for a series, where there is one

    def row(self) -> list[str]:
        return [self.pattern, self.claim, self.measured, self.target, "pass" if self.passed else "FAIL"]


def _fmt_ci(m, lo, hi, digits=3) -> str:
    return f"{m:.{digits}f} [{lo:.{digits}f}, {hi:.{digits}f}]"


def p1(r) -> Result:
    d = col(r["baseline"], "price_partner") - col(r["baseline"], "price_aggressive")
    m, lo, hi = mean_ci(d)
    pa, pg = col(r["baseline"], "price_partner").mean(), col(r["baseline"], "price_aggressive").mean()
    return Result("P1", "S18", f"price partner {pa:.3f} − aggressive {pg:.3f} = {_fmt_ci(m, lo, hi)}",
                  "difference > 0 (CI excludes 0)", lo > 0,
                  {"partner": col(r["baseline"], "price_partner"), "aggressive": col(r["baseline"], "price_aggressive"),
                   "partner − aggressive": d}, {"partner − aggressive": 0.0})


def p2(r) -> Result:
    b = r["baseline"]
    ds = col(b, "share_partner") - col(b, "share_aggressive")
    dp = col(b, "profit_cum_partner") - col(b, "profit_cum_aggressive")
    ms, los, _ = mean_ci(ds)
    mp, lop, hip = mean_ci(dp)
    return Result("P2", "S18, S19",
                  f"share partner − aggressive {ms:+.3f} (lo {los:+.3f}); cum. profit per buyer {_fmt_ci(mp, lop, hip, 0)}",
                  "both > 0 (CIs exclude 0)", los > 0 and lop > 0,
                  {"market share partner − aggressive": ds, "cum. profit per buyer (÷1000)": dp / 1000},
                  {"market share partner − aggressive": 0.0, "cum. profit per buyer (÷1000)": 0.0})


def p3(r) -> Result:
    low, high = col(r["baseline"], "nonprod_low"), col(r["baseline"], "nonprod_high")
    ml, mh = low.mean(), high.mean()
    ok = abs(ml - 0.47) <= 0.07 and abs(mh - 0.24) <= 0.07
    return Result("P3", "S15, S16", f"non-productive share: least-trusting fifth {ml:.3f}, most trusting fifth {mh:.3f}",
                  "0.47 ± 0.07 and 0.24 ± 0.07", ok,
                  {"least-trusting fifth": low, "most trusting fifth": high},
                  {"least-trusting fifth": 0.47, "most trusting fifth": 0.24})


def p4(r) -> Result:
    insp, ratio = col(r["baseline"], "inspection_top_tenth"), col(r["baseline"], "units_per_hour_ratio")
    mi, mr = insp.mean(), ratio.mean()
    return Result("P4", "S15, S17", f"inspection rate top tenth {mi:.3f}; units per purchasing hour top/bottom fifth {mr:.2f}×",
                  "≤ 0.05 and ≥ 3×", mi <= 0.05 and mr >= 3,
                  {"inspection rate, top tenth": insp, "units/hour ratio ÷ 10": ratio / 10},
                  {"inspection rate, top tenth": 0.05, "units/hour ratio ÷ 10": 0.3})


def p5(r) -> Result:
    xp, xa = col(r["baseline"], "ideas_partner"), col(r["baseline"], "ideas_aggressive")
    ip, ia = xp.mean(), xa.mean()
    ratio = ip / ia if ia > 0 else (math.inf if ip > 0 else 0.0)
    return Result("P5", "S18", f"ideas per buyer and step: partner {ip:.3f}, aggressive {ia:.3f} (ratio {ratio:.1f})",
                  "ratio ≥ 5 (and partners do receive ideas)", ip > 0 and ratio >= 5, {"partner": xp, "aggressive": xa, "ratio": ratio})


def p6(r) -> Result:
    by_sigma = [col(r[f"sigma={s}"], "share_advantage") for s in SIGMAS]
    adv = [x.mean() for x in by_sigma]
    mono = all(b > a for a, b in zip(adv, adv[1:]))
    return Result("P6", "S19", "partner share advantage by σ " + ", ".join(f"{s}: {a:+.3f}" for s, a in zip(SIGMAS, adv)),
                  "increasing in σ (mean over seeds)", mono, {"advantage": adv, "by_sigma": by_sigma})


def p7(r) -> Result:
    d = col(r["silence"], "trust_partner") - col(r["passive"], "trust_partner")
    m, lo, hi = mean_ci(d)
    tp, ts = col(r["passive"], "trust_partner").mean(), col(r["silence"], "trust_partner").mean()
    quiet, base = col(r["passive"], "quiet_before_exit"), col(r["passive"], "quiet_base_rate")
    q = quiet[~np.isnan(quiet)]
    mq, loq, _ = mean_ci(q - base[~np.isnan(quiet)]) if len(q) > 1 else (math.nan, math.nan, math.nan)
    return Result("P7", "S6, S7",
                  f"partner trust passive {tp:.3f} vs silence-triggered {ts:.3f}: Δ {_fmt_ci(m, lo, hi)}; "
                  f"exits (passive) with no complaint in the steps before {q.mean():.0%} vs {base.mean():.0%} of all relationships",
                  "trust Δ > 0 and exits quieter than the rest (CIs exclude 0)", lo > 0 and loq > 0,
                  {"trust, passive": col(r["passive"], "trust_partner"),
                   "trust, silence-triggered": col(r["silence"], "trust_partner"),
                   "quiet before exit (passive)": q, "quiet base rate (passive)": base})


def p8(r) -> Result:
    dt = col(r["unbundled"], "tco_partner") - col(r["bundled"], "tco_partner")
    dp = col(r["bundled"], "price_partner") - col(r["unbundled"], "price_partner")
    mt, lot, hit = mean_ci(dt)
    mp, lop, _ = mean_ci(dp)
    return Result("P8", "S10, S11", f"partners, service billed on top vs priced in: TCO {_fmt_ci(mt, lot, hit, 4)} higher, price {mp:.4f} lower",
                  "TCO higher and price lower (CIs exclude 0)", lot > 0 and lop > 0,
                  {"TCO: unbundled − bundled": dt, "price: bundled − unbundled": dp},
                  {"TCO: unbundled − bundled": 0.0, "price: bundled − unbundled": 0.0})


def p9(r) -> Result:
    adv = col(r["null"], "share_advantage")
    m, lo, hi = mean_ci(adv)
    return Result("P9", "—", f"null model partner share advantage {_fmt_ci(m, lo, hi)}",
                  "≤ 0: gone (mean over seeds)", m <= 0,
                  {"null model": adv, "baseline": col(r["baseline"], "share_advantage")}, {"null model": 0.0})


def p10(r) -> Result:
    dp, da = col(r["baseline"], "defect_drop_partner"), col(r["baseline"], "defect_drop_aggressive")
    m, lo, hi = mean_ci(dp - da)
    ratio = dp.mean() / da.mean() if da.mean() > 0 else math.inf
    return Result("P10", "S18", f"defect rate fall over {P10_STEPS} steps: partner lots {dp.mean():.0%}, aggressive lots {da.mean():.0%} (ratio {ratio:.2f}; Δ {_fmt_ci(m, lo, hi)})",
                  "partner fall ≈ 2× aggressive (Δ CI excludes 0, ratio 1.5–3)", lo > 0 and 1.5 <= ratio <= 3,
                  {"partner lots": dp, "aggressive lots": da, "ratio": ratio},
                  {"partner lots": 0.50, "aggressive lots": 0.26})


PATTERNS: dict[str, Callable] = {"P1": p1, "P2": p2, "P3": p3, "P4": p4, "P5": p5, "P6": p6, "P7": p7, "P8": p8,
                                 "P9": p9, "P10": p10}


def evaluate(runs) -> list[Result]:
    return [f(runs) for f in PATTERNS.values()]


def markdown_table(results: list[Result]) -> str:
    """The pattern table as Markdown (docs/ODD.md and the README embed it)."""
    lines = ["| pattern | claims | measured (mean [95% interval] over seeds) | target | result |", "|---|---|---|---|---|"]
    for r in results:
        cells = [c.replace("|", "\\|") for c in r.row()]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def plot(result: Result, path) -> None:
    """One figure per pattern: each compared quantity over seeds (dots), its mean and 95% interval."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.6), dpi=110)
    if result.pattern == "P6":
        adv = result.values["by_sigma"]
        for i, (s, x) in enumerate(zip(SIGMAS, adv)):
            ax.scatter(np.full(len(x), s), x, s=10, color="0.6", zorder=1)
        means = [mean_ci(x) for x in adv]
        ax.errorbar(SIGMAS, [m[0] for m in means], yerr=[[m[0] - m[1] for m in means], [m[2] - m[0] for m in means]],
                    marker="o", color="tab:blue", capsize=4, zorder=2)
        ax.axhline(0, color="0.3", lw=0.8)
        ax.set_xlabel("environmental uncertainty σ")
        ax.set_ylabel("partner advantage\n(market share per buyer, × 1/n)")
    else:
        series = {k: np.asarray(v, float) for k, v in result.values.items() if np.ndim(v) == 1 and len(v) > 1}
        for i, (name, x) in enumerate(series.items()):
            m, lo, hi = mean_ci(x)
            ax.scatter(np.full(len(x), i) + np.linspace(-0.12, 0.12, len(x)), x, s=10, color="0.6", zorder=1)
            ax.errorbar([i], [m], yerr=[[m - lo], [hi - m]], marker="o", color="tab:blue", capsize=5, zorder=2)
            target = result.targets.get(name)
            if target is not None:
                ax.hlines(target, i - 0.3, i + 0.3, color="tab:red", lw=2, zorder=3, label="target" if i == 0 or
                          "target" not in ax.get_legend_handles_labels()[1] else None)
        ax.set_xticks(range(len(series)), [n.replace(", ", "\n").replace(" (", "\n(") for n in series], fontsize=8)
        if any(t is not None for t in result.targets.values()):
            ax.legend(fontsize=8, frameon=False)
    ax.set_title(f"{result.pattern} ({result.claim}): {'pass' if result.passed else 'FAIL'}", fontsize=10)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def table(results: list[Result]) -> str:
    """A plain-text table: pattern, claim, measured figure with its interval, target, verdict."""
    rows = [["pattern", "claims", "measured", "target", "result"]] + [r.row() for r in results]
    widths = [max(len(row[i]) for row in rows) for i in range(5)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def patterns_command(args) -> int:
    """`trustsim patterns`: run the suite, print the table, write one figure per pattern and the figures' table."""
    import json

    from .results import write_atomically

    seeds = getattr(args, "seeds", None) or 10
    out = getattr(args, "out", None) or "results/patterns"
    workers = getattr(args, "workers", None)
    if seeds < 2:
        from .params import ParamError

        raise ParamError("--seeds", None, f"{seeds} is too few: the intervals need at least 2 seeds")
    base = Params()
    total = len(variants(base)) * seeds
    from tqdm import tqdm

    import sys

    with tqdm(total=total, desc="pattern runs", unit="run", disable=not sys.stderr.isatty()) as bar:
        runs = run_all(base, seeds=seeds, workers=workers, progress=bar.update)
    results = evaluate(runs)
    print(table(results))
    failed = [r.pattern for r in results if not r.passed]

    def write(tmp):
        import pathlib

        tmp = pathlib.Path(tmp)
        (tmp / "figures").mkdir(parents=True, exist_ok=True)
        for r in results:
            plot(r, tmp / "figures" / f"{r.pattern}.png")
        (tmp / "patterns.txt").write_text(table(results) + "\n")
        (tmp / "patterns.json").write_text(json.dumps(
            [{"pattern": r.pattern, "claims": r.claim, "measured": r.measured, "target": r.target, "passed": bool(r.passed)}
             for r in results], indent=2, ensure_ascii=False) + "\n")
        from . import __version__

        (tmp / "manifest.json").write_text(json.dumps(
            {"trustsim": __version__, "kind": "patterns", "seeds": list(range(1, seeds + 1)), "params": base.nested()},
            indent=2) + "\n")

    write_atomically(out, write, force=getattr(args, "force", False))
    print(f"{10 - len(failed)} of 10 patterns reproduced" + (f"; failed: {', '.join(failed)}" if failed else "")
          + f"; figures in {out}/figures")
    return 0 if not failed else 1
