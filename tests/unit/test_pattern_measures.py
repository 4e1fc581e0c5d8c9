"""The figures each pattern run takes from a running market (trustsim/patterns/measure.py), checked against the
same figures computed by hand from the market's arrays step by step, or from exits planted by construction: the
windows of steps (the first 8, the last quarter, ⌈n/4⌉ steps of n, the business horizon), the quiet exits and
their base rate, the bottom quarter of suppliers by integrity, the step P10's fall of the defect rate is taken at,
and the batches of ``run_all``, whose every run is what the market gives alone."""

from __future__ import annotations

import importlib
import math
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from trustsim import patterns
from trustsim.ensemble import Ensemble
from trustsim.params import Params

measure_module = importlib.import_module("trustsim.patterns.measure")  # the module (the package's name is its function)

SMALL = {"market.buyers": 10, "market.suppliers": 5}  # five suppliers: the quarter's cut is the second lowest
STEPS = 44          # past the business horizon (40) and P10's step (24); the last quarter is 11 steps
QUIET = Params().suppliers.contact_interval
# exits planted in each market every step, as steps since the last complaint (−1: not left): market 0 has exits
# right after a complaint (0), one step short of quiet, and quiet (twice); market 1 has one loud exit only
PLANTED = {0: [-1, 0, QUIET - 1, QUIET, QUIET + 1], 1: [-1, -1, 0, -1, -1]}


class _Watched(Ensemble):
    """An ensemble that keeps, step by step, the arrays the figures are taken from, and sets a few by hand
    after each step's measurements: planted exits; integrity, set after the first step so that the supplier
    holding most slots is at the cut of the bottom quarter, and falling slowly (so that the record's first step
    differs from its second); and, on odd steps, the first three slots of each market vacant."""

    seen: list[dict] = []
    planted: dict = PLANTED

    def step(self) -> None:
        mk = self.market
        before = {"since": mk.since_complaint.copy()}
        super().step()
        recorded = {k: getattr(mk, k).copy() for k in ("integrity", "sup", "vacant", "is_partner", "share",
                                                          "profit_cum", "partner_terms")}
        recorded["ideas"] = mk.per_buyer(self.ev.supplier_ideas)
        left = np.full_like(self.ev.left_after, -1)
        for m, values in self.planted.items():
            left[np.flatnonzero(mk.member_of_rel == m)[: len(values)]] = values
        self.ev.left_after = left
        if self.steps == 1:  # the supplier holding most slots is each market's second lowest by integrity
            for m in range(mk.members):
                own = np.flatnonzero(mk.member_of_supplier == m)
                held = np.bincount(mk.sup[~mk.vacant], minlength=mk.n_suppliers)[own]
                mk.integrity[own[np.argsort(-held, kind="stable")]] = [0.6, 0.5, 0.7, 0.8, 0.9]
        mk.integrity *= 0.999
        if self.steps % 2:
            for m in range(mk.members):
                mk.vacant[np.flatnonzero(mk.member_of_rel == m)[:3]] = True
        after = {k: getattr(mk, k).copy() for k in ("integrity", "sup", "vacant", "partner_terms")}
        drop = measure_module.defect_drop_by_posture(mk) if self.steps == patterns.P10_STEPS else None
        _Watched.seen.append({"before": before, "recorded": recorded, "after": after, "step": self.steps,
                              "drop": drop, "mk": mk})


@pytest.fixture
def watched(monkeypatch):
    """``measure_many`` of two markets run through ``_Watched``: (their figures, the arrays seen each step)."""
    def run(planted=PLANTED, **changes):
        _Watched.seen = []
        monkeypatch.setattr(_Watched, "planted", planted)
        monkeypatch.setattr(measure_module, "Ensemble", _Watched)
        p = Params().replace(**SMALL, **{"run.steps": STEPS, **changes})
        figures = measure_module.measure_many([p, p], [1, 2])
        return figures, _Watched.seen
    return run


def _in(mk, m: int):
    """Market ``m``'s relationships, suppliers and buyers (masks)."""
    return mk.member_of_rel == m, mk.member_of_supplier == m, mk.member_of_buyer == m


def _low_integrity_share(arrays, mk, m: int) -> float:
    """The share of market ``m``'s active slots whose supplier's integrity is at or below the lower quartile of
    its suppliers' integrity, by hand."""
    rel, sup, _ = _in(mk, m)
    cut = np.quantile(arrays["integrity"][sup], 0.25)
    active = rel & ~arrays["vacant"]
    return float(np.mean(arrays["integrity"][arrays["sup"][active]] <= cut))


def _terms_share(arrays, mk, m: int) -> float:
    rel, _, _ = _in(mk, m)
    return float(np.mean(arrays["partner_terms"][rel & ~arrays["vacant"]]))


def test_exits_count_every_relationship_left_and_quiet_ones_from_the_contact_interval_on(watched):
    """An exit is a slot left (steps since the last complaint ≥ 0, even 0); a quiet one is left at least
    ``contact_interval`` steps after the last complaint: market 0 leaves 4 slots a step, 2 of them quiet; a
    market with no exit has no share of quiet exits (NaN)."""
    figures, _ = watched()
    assert figures[0]["buyer_exits"] == 4 * STEPS and figures[1]["buyer_exits"] == STEPS
    assert figures[0]["quiet_before_exit"] == pytest.approx(0.5)
    assert figures[1]["quiet_before_exit"] == 0.0
    figures, _ = watched(planted={0: PLANTED[0]})  # market 1 leaves nothing: no share of quiet exits, not 0
    assert figures[1]["buyer_exits"] == 0 and math.isnan(figures[1]["quiet_before_exit"])
    assert figures[0]["quiet_before_exit"] == pytest.approx(0.5)


def test_the_quiet_base_rate_is_the_share_of_slots_silent_a_contact_interval_as_each_step_begins(watched):
    figures, seen = watched()
    mk = seen[0]["mk"]
    at_interval = [(s["before"]["since"] == QUIET).any() for s in seen]
    assert any(at_interval)  # the premise: some slot is exactly a contact interval quiet as a step begins
    for m in (0, 1):
        rel = mk.member_of_rel == m
        by_hand = np.mean([np.mean(s["before"]["since"][rel] >= QUIET) for s in seen])
        assert figures[m]["quiet_base_rate"] == pytest.approx(by_hand, rel=1e-12)


def test_the_low_integrity_share_is_of_active_slots_at_the_bottom_quarter_early_and_late(watched):
    """The first 8 steps and the last quarter (11 of 44): per step, the active slots held by suppliers at or below
    the lower quartile of their market's integrity (the second lowest of five, which counts)."""
    figures, seen = watched()
    mk = seen[0]["mk"]
    for m in (0, 1):
        rel, sup, _ = _in(mk, m)
        shares = [_low_integrity_share(s["after"], mk, m) for s in seen]
        assert figures[m]["low_integrity_start"] == pytest.approx(np.mean(shares[:8]), rel=1e-12)
        assert figures[m]["low_integrity_end"] == pytest.approx(np.mean(shares[-11:]), rel=1e-12)
        # the premises: the supplier at the cut holds active slots, and the vacant slots change the share
        second = np.flatnonzero(sup)[np.argsort(seen[0]["after"]["integrity"][sup])[1]]
        assert any(((s["after"]["sup"] == second) & rel & ~s["after"]["vacant"]).any() for s in seen)
        everyone = [np.mean(s["after"]["integrity"][s["after"]["sup"][rel]]
                            <= np.quantile(s["after"]["integrity"][sup], 0.25)) for s in seen]
        assert not np.allclose(everyone, shares)


def test_the_terms_share_is_of_active_slots_over_the_first_8_steps_and_the_last_quarter(watched):
    """With learning, the share of active slots on partner terms moves step by step: its first 8 steps, its
    last quarter and its series, by hand."""
    figures, seen = watched(**{"buyers.conduct": "learning"})
    mk = seen[0]["mk"]
    for m in (0, 1):
        series = [_terms_share(s["after"], mk, m) for s in seen]
        assert figures[m]["terms_series"] == pytest.approx(series, rel=1e-12)
        assert figures[m]["terms_start"] == pytest.approx(np.mean(series[:8]), rel=1e-12)
        assert figures[m]["terms_end"] == pytest.approx(np.mean(series[-11:]), rel=1e-12)
        assert np.std(series) > 0  # the premise: the windows differ


def test_the_last_quarter_of_a_run_not_a_multiple_of_4_steps_is_its_last_ceil_n_over_4_steps(watched):
    """R3's and R4's late window over 10 steps is the last 3 (⌈10/4⌉), not 2; every run has its last step in it."""
    figures, seen = watched(**{"run.steps": 10, "buyers.conduct": "learning"})
    mk = seen[0]["mk"]
    assert len(seen) == 10
    for m in (0, 1):
        terms = [_terms_share(s["after"], mk, m) for s in seen]
        low = [_low_integrity_share(s["after"], mk, m) for s in seen]
        assert figures[m]["terms_end"] == pytest.approx(np.mean(terms[-3:]), rel=1e-12)
        assert figures[m]["low_integrity_end"] == pytest.approx(np.mean(low[-3:]), rel=1e-12)
        # the premise: the last 2 steps give other figures
        assert np.mean(terms[-2:]) != pytest.approx(np.mean(terms[-3:]), rel=1e-9)
        assert np.mean(low[-2:]) != pytest.approx(np.mean(low[-3:]), rel=1e-9)
    steps = {n: len(measure_module.last_quarter(np.arange(n))) for n in (1, 2, 3, 4, 10, 13, 44)}
    assert steps == {1: 1, 2: 1, 3: 1, 4: 1, 10: 3, 13: 4, 44: 11}


def test_p10s_fall_of_the_defect_rate_is_taken_at_step_24(watched):
    figures, seen = watched()
    at = next(s for s in seen if s["step"] == patterns.P10_STEPS)
    for m in (0, 1):
        assert np.isfinite(at["drop"][m]).all()
        assert (figures[m]["defect_drop_partner"], figures[m]["defect_drop_aggressive"]) == tuple(at["drop"][m])


def _group_means(seen, mk, m: int, steps: slice) -> dict:
    """Per posture, over ``steps``: the mean buyers, total market share, ideas per buyer, by hand."""
    out = {}
    for name, posture in (("partner", True), ("aggressive", False)):
        rows = []
        for s in seen[steps]:
            r = s["recorded"]
            b = (mk.member_of_buyer == m) & (r["is_partner"] == posture)
            rows.append((b.sum(), r["share"][b].sum(), r["ideas"][b].mean()))
        out[name] = np.mean(rows, axis=0)
    return out


def test_ideas_share_and_profit_advantages_are_the_postures_figures_over_their_windows(watched):
    """Ideas per buyer over the long run (the second half); the share advantage (share per partner buyer minus
    per aggressive buyer, in units of 1/n) over the long run and over the first 40 steps; the profit advantage
    at the last step and at step 40; the integrity of suppliers holding slots at the first and last step."""
    figures, seen = watched()
    mk = seen[0]["mk"]
    for m in (0, 1):
        long_run, business = (_group_means(seen, mk, m, w) for w in (slice(STEPS // 2, None), slice(0, 40)))
        assert figures[m]["ideas_partner"] == pytest.approx(long_run["partner"][2], rel=1e-9)
        assert figures[m]["ideas_aggressive"] == pytest.approx(long_run["aggressive"][2], rel=1e-9)
        for key, g in (("share_advantage", long_run), ("share_advantage_business", business)):
            (n_p, s_p, _), (n_a, s_a, _) = g["partner"], g["aggressive"]
            assert figures[m][key] == pytest.approx((s_p / n_p - s_a / n_a) * (n_p + n_a), rel=1e-9)
        for key, step in (("profit_advantage", STEPS), ("profit_advantage_business", 40)):
            r = seen[step - 1]["recorded"]
            mine = mk.member_of_buyer == m
            by_hand = (r["profit_cum"][mine & r["is_partner"]].mean() - r["profit_cum"][mine & ~r["is_partner"]].mean())
            assert figures[m][key] == pytest.approx(by_hand, rel=1e-9)
        for key, step in (("integrity_start", 1), ("integrity_end", STEPS)):
            r = seen[step - 1]["recorded"]
            rel = mk.member_of_rel == m
            holding = np.unique(r["sup"][rel & ~r["vacant"]])
            assert figures[m][key] == pytest.approx(r["integrity"][holding].mean(), rel=1e-12)


def test_each_market_of_a_batch_measures_what_it_gives_alone():
    """Two markets of different seeds and postures' shares, run together, each give the figures of its own run."""
    a = Params().replace(**SMALL, **{"run.steps": 12})
    b = a.replace(**{"buyers.partner_share": 0.3})
    together = measure_module.measure_many([a, b], [3, 4])
    for fig, alone in zip(together, (patterns.measure(a, 3), patterns.measure(b, 4)), strict=True):
        assert fig.keys() == alone.keys()
        for k, v in alone.items():
            assert fig[k] == pytest.approx(v, rel=1e-12, nan_ok=True), k


@pytest.mark.parametrize("executor", [None, "threads"])
def test_run_all_gives_every_variant_its_seeds_in_order_from_first(executor):
    """Seeds 5, 6, 7 of two variants, in batches of one (one worker) or handed to an executor: each is the
    variant's own run on that seed."""
    base = Params().replace(**SMALL, **{"run.steps": 6})
    names = ("baseline", "silence")
    pool = ThreadPoolExecutor(2) if executor else None
    try:
        out = patterns.run_all(base, seeds=3, workers=1 if pool is None else 2, names=names, first=5,
                               executor=pool)
    finally:
        if pool:
            pool.shutdown()
    chosen = patterns.variants(base)
    assert set(out) == set(names)
    for name in names:
        assert len(out[name]) == 3
        for seed, fig in zip((5, 6, 7), out[name], strict=True):
            alone = patterns.measure(chosen[name], seed)
            assert fig["terms_series"] == alone["terms_series"] and fig["buyer_exits"] == alone["buyer_exits"]
            assert fig["profit_advantage"] == pytest.approx(alone["profit_advantage"], rel=1e-12, nan_ok=True)
    assert out["baseline"][0]["profit_advantage"] != out["baseline"][1]["profit_advantage"]
