"""One run of a market reduced to the figures the patterns compare, and the runs of every variant over seeds."""

from __future__ import annotations

import math
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor

import numpy as np

from ..experiments.execute import die_with_parent
from ..metrics import COLUMNS
from ..model import TrustMarket
from ..params import Params
from ..stats import share_advantage
from .variants import variants

P10_STEPS = 24          # Dyer & Hatch: six years


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
    """P3, P4: buyers ranked by how much their suppliers trust them (long run), as Dyer & Chu measured "the most
    trusted buyers"; figures of the least and most trusted fifth (and tenth)."""
    b = buyers.sort_values("trusted_by_suppliers", kind="stable")
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


def low_integrity_share(model: TrustMarket) -> float:
    """R4: the share of active relationships held by the bottom quarter of the current suppliers by integrity."""
    mk = model.market
    cut = np.quantile(mk.integrity, 0.25)
    active = ~mk.vacant
    return float((mk.integrity[mk.sup[active]] <= cut).mean()) if active.any() else math.nan


def measure(params: Params, seed: int) -> dict[str, float]:
    """Run one market and return the figures the patterns use."""
    model = TrustMarket(params, rng=seed)
    drop = None
    quiet = params.suppliers.contact_interval  # "silent": no complaint for this many steps (P7)
    exits = silent_exits = 0
    quiet_share, low_share, terms_share = [], [], []
    while model.running:
        quiet_share.append(float((model.market.since_complaint >= quiet).mean()))
        model.step()
        exits += len(model.ev.left_since_complaint)
        silent_exits += int((model.ev.left_since_complaint >= quiet).sum())
        low_share.append(low_integrity_share(model))
        terms_share.append(float(model.market.partner_terms[~model.market.vacant].mean()))
        if model.steps == P10_STEPS:
            drop = defect_drop_by_posture(model)
    s = model.recorder.summary()["long_run"]
    p, a = s["partner"], s["aggressive"]
    out = {
        "price_partner": p["component_price"], "price_aggressive": a["component_price"],
        "tco_partner": p["tco_per_unit"], "tco_aggressive": a["tco_per_unit"],
        "share_partner": p["market_share"], "share_aggressive": a["market_share"],
        # market share per buyer of each posture, in units of the equal share 1/n (0 when a posture is empty)
        "share_advantage": share_advantage(p, a) or 0.0,
        "profit_cum_partner": float(model.recorder.latest("partner", "profit_cum")),
        "profit_cum_aggressive": float(model.recorder.latest("aggressive", "profit_cum")),
        "ideas_partner": p["ideas_received"], "ideas_aggressive": a["ideas_received"],
        "trust_partner": p["trust_buyer"], "trust_aggressive": a["trust_buyer"],
        "buyer_exits": float(exits),
        # P7: share of buyer-initiated exits with no complaint in the steps before, and the base rate
        "quiet_before_exit": silent_exits / exits if exits else math.nan,
        "quiet_base_rate": float(np.mean(quiet_share)),
        # R4: the bottom quarter of suppliers by integrity, their share of relationships early and late
        "low_integrity_start": float(np.mean(low_share[:8])),
        "low_integrity_end": float(np.mean(low_share[-len(low_share) // 4:])),
        # R3: the share of relationships on partner terms, early and late, and step by step; suppliers' integrity
        "terms_start": float(np.mean(terms_share[:8])),
        "terms_end": float(np.mean(terms_share[-len(terms_share) // 4:])),
        "terms_series": terms_share,
        "integrity_start": float(model.recorder.rows[0, 2, COLUMNS.index("integrity_active")]),
        "integrity_end": float(model.recorder.rows[-1, 2, COLUMNS.index("integrity_active")]),
    }
    out.update(quintile_figures(model.buyer_sums.frame(model)))
    if drop is not None:
        out["defect_drop_partner"], out["defect_drop_aggressive"] = drop
    return out

def _measure_job(job):
    return job[0], job[1], measure(job[2], job[1])


def run_all(base: Params, seeds: int, workers: int | None = None, names=None, progress=None
            ) -> dict[str, list[dict[str, float]]]:
    """Measure every variant over ``seeds`` seeds (1 … seeds): ``{variant: [figures per seed]}``."""
    chosen = variants(base) if names is None else {k: v for k, v in variants(base).items() if k in names}
    jobs = [(name, seed, p) for name, p in chosen.items() for seed in range(1, seeds + 1)]
    out: dict[str, list] = {name: [None] * seeds for name in chosen}
    if workers == 1:
        results = map(_measure_job, jobs)
    else:
        pool = ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("forkserver"),
                                   initializer=die_with_parent, initargs=(os.getpid(),))  # none outlives the suite
        results = pool.map(_measure_job, jobs, chunksize=4)
    for name, seed, fig in results:
        out[name][seed - 1] = fig
        if progress:
            progress(1)
    if workers != 1:
        pool.shutdown()
    return out
