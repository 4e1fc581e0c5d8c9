"""One run of a market reduced to the figures the patterns compare, and the runs of every variant over seeds."""

from __future__ import annotations

import math
import os
from concurrent.futures import as_completed

import numpy as np

from ..ensemble import Ensemble, batched
from ..experiments.pool import local_executor
from ..metrics import BUSINESS_STEPS, COLUMN_NAMES
from ..params import Params
from ..state import MarketState, per_market, per_market_mean
from ..stats import window_share_advantage
from .variants import variants

P10_STEPS = 24          # Dyer & Hatch: six years


def defect_drop_by_posture(mk: MarketState) -> np.ndarray:
    """P10, per market: among suppliers serving both postures, the mean fall of the defect rate of lots delivered
    to partner and to aggressive buyers, each relative to the supplier's initial base rate; ``(markets, 2)``,
    NaN for a market with no such supplier."""
    base0 = mk.base_defect0[mk.sup]
    rate = np.divide(mk.defect_rate(), base0, out=np.ones_like(base0), where=base0 > 0)
    partner = mk.rel_partner
    ns = mk.n_suppliers
    n_p = np.bincount(mk.sup[partner], minlength=ns)
    n_a = np.bincount(mk.sup[~partner], minlength=ns)
    both = (n_p > 0) & (n_a > 0) & (mk.base_defect0 > 0)  # a flawless supplier has nothing to improve
    out = np.full((mk.members, 2), np.nan)
    for j, on in enumerate((partner, ~partner)):
        counts = n_p if j == 0 else n_a
        r = np.bincount(mk.sup[on], weights=rate[on], minlength=ns) / np.maximum(counts, 1)
        out[:, j] = 1.0 - per_market_mean(r, both, mk)  # NaN stays NaN
    return out


def trust_fifths(buyers):
    """P3, P4: buyers ranked by how much their suppliers trust them (long run), as Dyer & Chu measured "the most
    trusted buyers": the least and the most trusted fifth and the most trusted tenth (rows of ``buyers``)."""
    b = buyers.sort_values("trusted_by_suppliers", kind="stable")
    n = len(b)
    fifth, tenth = max(n // 5, 1), max(n // 10, 1)
    return b.iloc[:fifth], b.iloc[-fifth:], b.iloc[-tenth:]


def quintile_figures(buyers) -> dict[str, float]:
    """P3, P4: figures of the least and most trusted fifth (and tenth) of buyers (``trust_fifths``)."""
    low, high, top = trust_fifths(buyers)
    upph = lambda part: part["units_per_purchasing_hour"].mean()  # noqa: E731
    top_rate, bottom_rate = upph(high), upph(low)  # NaN for a fifth with no purchasing hours: no ratio
    return {
        "nonprod_low": float(low["nonproductive_share"].mean()),
        "nonprod_high": float(high["nonproductive_share"].mean()),
        "inspection_top_tenth": float(top["inspection_rate"].mean()),
        "units_per_hour_ratio": float(top_rate / bottom_rate) if bottom_rate != 0 else math.inf,
    }


def last_quarter(series: np.ndarray) -> np.ndarray:
    """R3, R4: the last quarter of a run's steps (the first axis of ``series``), its last ⌈n/4⌉ steps of n:
    3 of 10, 4 of 13, and at least the last step of any run."""
    return series[len(series) - (len(series) + 3) // 4:]


def low_integrity_share(mk: MarketState) -> np.ndarray:
    """R4, per market: the share of active relationships held by the bottom quarter of its current suppliers by
    integrity (NaN for a market with none active)."""
    cut = np.quantile(per_market(mk.integrity, mk), 0.25, axis=1)
    active = ~mk.vacant
    return per_market_mean(mk.integrity[mk.sup] <= cut[mk.member_of_rel], active, mk)


def _measured(advantage: float | None) -> float:
    """An advantage as the figures keep it: NaN where it was not measured (a posture with no buyers), never 0."""
    return math.nan if advantage is None else float(advantage)


def measure_many(members: list[Params], seeds: list[int]) -> list[dict[str, float]]:
    """Run markets (alike in ``batch_key``) together and return each one's figures the patterns use; each is
    what the market gives alone (``measure``)."""
    ens = Ensemble(members, seeds)
    mk = ens.market
    quiet = ens.pp.shared.suppliers.contact_interval  # "silent": no complaint for this many steps (P7)
    exits = np.zeros(mk.members)
    silent_exits = np.zeros(mk.members)
    drop = np.full((mk.members, 2), np.nan)
    quiet_share, low_share, terms_share = [], [], []
    for _ in range(ens.pp.shared.run.steps):
        quiet_share.append(per_market(mk.since_complaint >= quiet, mk).mean(axis=1))
        ens.step()
        left = per_market(ens.ev.left_after, mk)
        exits += (left >= 0).sum(axis=1)
        silent_exits += (left >= quiet).sum(axis=1)
        low_share.append(low_integrity_share(mk))
        terms_share.append(per_market_mean(mk.partner_terms, ~mk.vacant, mk))
        if ens.steps == P10_STEPS:
            drop = defect_drop_by_posture(mk)
    quiet_share, low_share, terms_share = (np.array(x) for x in (quiet_share, low_share, terms_share))
    out = []
    for i in range(mk.members):
        rec = ens.recorder.member(i)
        summary = rec.summary()
        s = summary["long_run"]
        p, a = s["partner"], s["aggressive"]
        terms = terms_share[:, i]
        fig = {
            "price_partner": p["component_price"], "price_aggressive": a["component_price"],
            "tco_partner": p["tco_per_unit"], "tco_aggressive": a["tco_per_unit"],
            "share_partner": p["market_share"], "share_aggressive": a["market_share"],
            # market share per buyer of each posture, in units of the equal share 1/n; NaN (not measured) when a
            # posture is empty, as every advantage is
            "share_advantage": _measured(window_share_advantage(summary)),
            "profit_cum_partner": float(rec.latest("partner", "profit_cum")),
            "profit_cum_aggressive": float(rec.latest("aggressive", "profit_cum")),
            "profit_advantage": float(rec.latest("partner", "profit_cum") - rec.latest("aggressive", "profit_cum")),
            # the first ten years (a business horizon): share advantage, and cumulative profit at its end
            "share_advantage_business": _measured(window_share_advantage(summary, "business_horizon")),
            "profit_advantage_business": float(rec.at(BUSINESS_STEPS, "partner", "profit_cum")
                                               - rec.at(BUSINESS_STEPS, "aggressive", "profit_cum")),
            "steady_warm_up": summary["steady_state"]["mser5_warm_up_steps"],
            "ideas_partner": p["ideas_received"], "ideas_aggressive": a["ideas_received"],
            "trust_partner": p["trust_buyer"], "trust_aggressive": a["trust_buyer"],
            "buyer_exits": float(exits[i]),
            # P7: share of buyer-initiated exits with no complaint in the steps before, and the base rate
            "quiet_before_exit": silent_exits[i] / exits[i] if exits[i] else math.nan,
            "quiet_base_rate": float(np.mean(quiet_share[:, i])),
            # R4: the bottom quarter of suppliers by integrity, their share of relationships early and late
            "low_integrity_start": float(np.mean(low_share[:8, i])),
            "low_integrity_end": float(np.mean(last_quarter(low_share[:, i]))),
            # R3: the share of relationships on partner terms, early and late, and step by step; suppliers'
            # integrity
            "terms_start": float(np.mean(terms[:8])),
            "terms_end": float(np.mean(last_quarter(terms))),
            "terms_series": terms.tolist(),
            "integrity_start": float(rec.rows[0, 2, COLUMN_NAMES.index("integrity_active")]),
            "integrity_end": float(rec.rows[-1, 2, COLUMN_NAMES.index("integrity_active")]),
        }
        fig.update(quintile_figures(ens.buyer_sums.frame(ens, i)))
        if np.isfinite(drop[i]).all():
            fig["defect_drop_partner"], fig["defect_drop_aggressive"] = (float(x) for x in drop[i])
        out.append(fig)
    return out


def measure(params: Params, seed: int) -> dict[str, float]:
    """Run one market and return the figures the patterns use."""
    return measure_many([params], [seed])[0]


def _measure_batch(batch):
    names, seeds, members = zip(*batch, strict=True)
    return list(zip(names, seeds, measure_many(list(members), list(seeds)), strict=True))


def run_all(base: Params, seeds: int, workers: int | None = None, names=None, progress=None, first: int = 1,
            executor=None) -> dict[str, list[dict[str, float]]]:
    """Measure every variant over ``seeds`` seeds (``first`` … ``first`` + seeds − 1; the tests' are 1 … 30):
    ``{variant: [figures per seed]}``.

    Runs alike in their shapes and switches (``batch_key``) go together in ensembles, at least two per worker.
    Given an ``executor`` with ``workers`` slots (a calibration's pool or Dask cluster), the runs go to it and it
    stays open; else to a pool of this call's own.
    """
    chosen = variants(base) if names is None else {k: v for k, v in variants(base).items() if k in names}
    jobs = [(name, seed, p) for name, p in chosen.items() for seed in range(first, first + seeds)]
    out: dict[str, list] = {name: [None] * seeds for name in chosen}
    slots = workers or os.cpu_count() or 1
    batches = batched(jobs, lambda job: job[2], slots)
    if executor is None and slots == 1:
        for batch in map(_measure_batch, batches):  # one at a time, here: the progress moves run by run
            _keep(out, batch, first, progress)
        return out
    # the sweep's pool: workers that ignore Ctrl-C and end with this process, all killed at once when it is
    # interrupted (else Python's exit waited for every batch handed to them); the results go by name and seed,
    # so the order they come in changes nothing
    own = executor is None
    if own:
        executor, _ = local_executor(slots)
    try:
        for fut in as_completed([executor.submit(_measure_batch, batch) for batch in batches]):
            _keep(out, fut.result(), first, progress)
    except BaseException:
        if own:
            executor.shutdown(wait=False, cancel_futures=True)
        raise
    if own:
        executor.shutdown()
    return out


def _keep(out: dict, batch: list, first: int, progress) -> None:
    for name, seed, fig in batch:
        out[name][seed - first] = fig
        if progress:
            progress(1)
