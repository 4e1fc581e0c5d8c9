"""The engine and the per-agent reference (benchmarks/naive_reference.py) compute the same core rules.

Under the reference's neutral parameters only phases 2–4 and 8 of docs/ODD.md (section 3) have any effect in the
engine; the two implementations then agree on the long-run means of component price, buyer trust and
inspection rate, by posture, within sampling error. Each figure is compared over 12 seeds per
implementation with Welch's t-test; it must not reject at α = 0.001 (six figures: family-wise about
0.6%). Seeds are fixed, so the outcome is deterministic. At this size (40 × 20 × 60 steps, a few
seconds) the test detects differences of about 0.03 in trust or inspection rate and about 0.05 in
component price (whose spread between seeds comes mostly from each market's draw of supplier costs).
The last test shows the comparison has teeth: the reference with a wrong trust rule is rejected.
"""

import importlib.util

import numpy as np
import pytest
from conftest import ROOT
from scipy import stats

from trustsim import TrustMarket

SEEDS = 12
ALPHA = 0.001
SIZE = {"market.buyers": 40, "market.suppliers": 20, "run.steps": 60}
FIGURES = {"price": "component_price", "trust_b": "trust_buyer", "inspected": "inspection_rate"}


def _load_reference():
    spec = importlib.util.spec_from_file_location("naive_reference", ROOT / "benchmarks" / "naive_reference.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


naive = _load_reference()


def engine_means(params, seeds):
    """Long-run means per seed: {(group, figure): array over seeds}."""
    out = {}
    for seed in seeds:
        summary = TrustMarket(params, rng=seed).run().recorder.summary()["long_run"]
        for group in ("partner", "aggressive"):
            for figure, column in FIGURES.items():
                out.setdefault((group, figure), []).append(summary[group][column])
    return {key: np.array(v) for key, v in out.items()}


def reference_means(params, seeds):
    out = {}
    for seed in seeds:
        long_run = naive.run(params, seed).long_run()
        for group in ("partner", "aggressive"):
            for figure in FIGURES:
                out.setdefault((group, figure), []).append(long_run[group][figure])
    return {key: np.array(v) for key, v in out.items()}


def welch_p(a, b):
    return {key: stats.ttest_ind(a[key], b[key], equal_var=False).pvalue for key in a}


@pytest.fixture(scope="module")
def params():
    return naive.neutral_params(**SIZE)


@pytest.fixture(scope="module")
def engine(params):
    return engine_means(params, range(SEEDS))


def test_neutral_parameters_leave_only_the_core_phases(params):
    model = TrustMarket(params, rng=3)
    unit_cost0, base_defect0 = model.market.unit_cost.copy(), model.market.base_defect.copy()
    since_contact = []
    for _ in range(params.run.steps):
        model.step()
        since_contact.append(model.market.since_contact.max())
    frame = model.recorder.frame()
    for column in ("complaints", "exits_silent", "exits_bankruptcy", "bankruptcies", "ideas_received_cum",
                   "cost_service_fee", "cost_downtime", "cost_mismatch", "cost_switching"):
        assert (frame[column] == 0).all(), column
    assert np.array_equal(model.market.unit_cost, unit_cost0)       # no process ideas, no entrants
    assert np.array_equal(model.market.base_defect, base_defect0)
    assert (model.market.defect_mult == 1.0).all()
    assert not model.market.linked.any()
    assert max(since_contact) <= params.suppliers.contact_interval     # silence policy: nothing erodes
    # …while the core phases are busy: play-offs, switches, inspections, trust both ways
    assert frame["exits_outbid"].sum() > 0
    assert frame.query("group == 'aggressive'")["inspection_rate"].mean() > 0
    # at the defaults' trust gain few relationships fall below the exit threshold within 60 steps: a higher one
    strict = TrustMarket(params.replace(**{"buyers.exit_threshold": 0.5}), rng=3).run().recorder.frame()
    assert strict["exits_low_trust"].sum() > 0


def test_engine_and_reference_agree_on_long_run_means(params, engine):
    reference = reference_means(params, range(1000, 1000 + SEEDS))
    p = welch_p(engine, reference)
    lines = [f"{g:<10} {f:<9} engine {engine[g, f].mean():.4f}  reference {reference[g, f].mean():.4f}  "
             f"p = {p[g, f]:.3f}" for g, f in engine]
    print("\n" + "\n".join(lines))
    assert engine["aggressive", "price"].mean() < engine["partner", "price"].mean()  # the figures mean something
    assert engine["aggressive", "inspected"].mean() > engine["partner", "inspected"].mean()
    rejected = [key for key, value in p.items() if value < ALPHA]
    assert not rejected, "\n".join(lines)


def test_the_comparison_rejects_a_reference_with_a_wrong_trust_rule(params, engine):
    wrong = params.replace(**{"trust.loss": params.trust.loss / 2})  # defects cost half as much trust
    reference = reference_means(wrong, range(1000, 1000 + SEEDS))
    p = welch_p(engine, reference)
    assert p["aggressive", "trust_b"] < ALPHA or p["aggressive", "inspected"] < ALPHA, p
