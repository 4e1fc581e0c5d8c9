"""The patterns P1–P10 of MODEL.md, each over 10 seeds, with the measured figure printed beside its target.

Run with ``pytest tests/test_patterns.py -s`` to see the figures. The whole file takes well under a
minute on two cores: a default market runs 120 quarters in a few hundredths of a second.
"""

import math

import numpy as np
import pytest

from trustsim import patterns
from trustsim.params import Params

SEEDS = 10

pytestmark = pytest.mark.patterns


@pytest.fixture(scope="module")
def runs():
    return patterns.run_all(Params(), seeds=SEEDS, workers=2)


def check(result):
    print(f"\n{result.pattern} ({result.claim}): {result.measured}  — target: {result.target}")
    assert result.passed, f"{result.pattern} not reproduced: {result.measured} (target {result.target})"


def test_every_pattern_uses_enough_seeds(runs):
    assert all(len(v) == SEEDS for v in runs.values())
    assert SEEDS >= 10


def test_p1_aggressive_buyers_pay_lower_component_prices(runs):
    check(patterns.p1(runs))


def test_p2_partners_win_market_share_and_profit(runs):
    check(patterns.p2(runs))


def test_p3_nonproductive_time_low_and_high_trust(runs):
    check(patterns.p3(runs))


def test_p4_trusting_buyers_do_not_inspect_and_handle_more_per_hour(runs):
    check(patterns.p4(runs))


def test_p5_partners_receive_many_more_ideas(runs):
    check(patterns.p5(runs))


def test_p6_partner_advantage_grows_with_uncertainty(runs):
    check(patterns.p6(runs))


def test_p7_attention_keeps_trust_and_exits_are_silent(runs):
    check(patterns.p7(runs))


def test_p8_service_left_out_of_the_price_costs_more_in_total(runs):
    check(patterns.p8(runs))


def test_p9_null_model_has_no_partner_advantage(runs):
    check(patterns.p9(runs))


def test_p10_defects_fall_twice_as_fast_for_partners(runs):
    check(patterns.p10(runs))


# --- switching a mechanism off makes the patterns that stand on it fail -------------------------

def test_p5_fails_without_the_playoff_mechanism():
    """S18: ideas stay with partners because play-offs cost suppliers' trust; without that, they flow to all."""
    off = Params().replace(**{"trust.playoff_penalty": 0.0})
    r = patterns.p5(patterns.run_all(off, seeds=SEEDS, workers=2, names={"baseline"}))
    print(f"\nP5 with playoff_penalty = 0: {r.measured}")
    assert not r.passed


def test_p5_fails_without_supplier_ideas():
    off = Params().replace(**{"innovation.idea_rate": 0.0})
    runs = patterns.run_all(off, seeds=SEEDS, workers=2, names={"baseline"})
    r = patterns.p5(runs)
    print(f"\nP5 with idea_rate = 0: {r.measured}")
    assert not r.passed


def test_p6_fails_when_uncertainty_costs_nothing():
    """S19: the advantage grows with σ because unanticipated changes cost low-trust relationships more."""
    off = Params().replace(**{"innovation.mismatch_cost": 0.0, "time.h_renegotiate": 0.0})
    names = {f"sigma={s}" for s in patterns.SIGMAS}
    r = patterns.p6(patterns.run_all(off, seeds=SEEDS, workers=2, names=names))
    print(f"\nP6 with mismatch_cost = h_renegotiate = 0: {r.measured}")
    assert not r.passed


def test_pattern_statistics_are_sound():
    m, lo, hi = patterns.mean_ci([1.0, 2.0, 3.0])
    assert m == 2.0 and lo < 2.0 < hi
    assert math.isclose(hi - m, 4.302652729911275 * 1.0 / math.sqrt(3), rel_tol=1e-9)
    assert patterns.mean_ci(np.zeros(5)) == (0.0, 0.0, 0.0)


def test_patterns_command_prints_the_table_and_writes_a_figure_per_pattern(tmp_path, capsys):
    import json

    from trustsim.cli import main

    code = main(["patterns", "--seeds", "3", "--out", str(tmp_path / "p"), "--workers", "2"])
    out = capsys.readouterr().out
    verdicts = json.loads((tmp_path / "p" / "patterns.json").read_text())
    assert [v["pattern"] for v in verdicts] == [f"P{i}" for i in range(1, 11)]
    assert code == (0 if all(v["passed"] for v in verdicts) else 1)
    for v in verdicts:
        assert v["pattern"] in out and v["measured"] in out
        assert (tmp_path / "p" / "figures" / f"{v['pattern']}.png").stat().st_size > 5000


def test_null_model_scenario_file_is_the_null_model_of_the_patterns():
    from pathlib import Path

    from trustsim.params import load_scenario

    path = Path(__file__).resolve().parents[1] / "scenarios" / "null_model.toml"
    assert load_scenario(path).params == patterns.null_model(Params())
