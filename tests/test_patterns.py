"""The patterns P1–P10 and the regularities R1, R2, R4 of docs/ODD.md section 1, each over 30 seeds, with the
measured figure printed beside its target.

Under model 2's defaults some patterns of model 1 no longer emerge (docs/ODD.md, "Pattern tests"): their
tests are strict expected failures, so a change that makes one emerge again fails here and must be
reported, not silently taken. Run with ``pytest tests/test_patterns.py -s`` to see the figures.
"""

import math

import numpy as np
import pytest

from trustsim import patterns
from trustsim.params import Params

SEEDS = 30  # the ensemble engine runs the suite in seconds; 30 seeds narrow the intervals

pytestmark = pytest.mark.patterns


@pytest.fixture(scope="module")
def runs():
    return patterns.run_all(Params(), seeds=SEEDS, workers=2)


def check(result):
    print(f"\n{result.pattern} ({result.claim}): {result.measured}  — target: {result.target}")
    assert result.passed, f"{result.pattern} not reproduced: {result.measured} (target {result.target})"


def test_every_pattern_uses_enough_seeds(runs):
    assert all(len(v) == SEEDS for v in runs.values())
    assert SEEDS >= 30


def test_p1_aggressive_buyers_pay_lower_component_prices(runs):
    check(patterns.p1(runs))


@pytest.mark.xfail(strict=True, reason="model 2: aggressive buyers earn suppliers' trust and ideas too")
def test_p2_partners_win_market_share_and_profit(runs):
    check(patterns.p2(runs))


def test_p3_nonproductive_time_low_and_high_trust(runs):
    check(patterns.p3(runs))


@pytest.mark.xfail(strict=True, reason="model 2's defaults: units per hour ratio about 2, not 3")
def test_p4_trusting_buyers_do_not_inspect_and_handle_more_per_hour(runs):
    check(patterns.p4(runs))


@pytest.mark.xfail(strict=True, reason="model 2: aggressive buyers who share plans get ideas (ratio 2.4)")
def test_p5_partners_receive_many_more_ideas(runs):
    check(patterns.p5(runs))


def test_p6_partner_advantage_grows_with_uncertainty(runs):
    check(patterns.p6(runs))


def test_p7_attention_keeps_trust_and_exits_are_silent(runs):
    check(patterns.p7(runs))


@pytest.mark.xfail(strict=True, reason="model 2's defaults: the price difference no longer has a clear sign")
def test_p8_service_left_out_of_the_price_costs_more_in_total(runs):
    check(patterns.p8(runs))


def test_p9_null_model_has_no_partner_advantage(runs):
    check(patterns.p9(runs))


@pytest.mark.xfail(strict=True, reason="model 2's defaults: partner lots' defects fall 1.48× as fast as aggressive "
                                       "ones over 30 seeds, just short of the 1.5–3 band")
def test_p10_defects_fall_twice_as_fast_for_partners(runs):
    check(patterns.p10(runs))


# --- model 2's regularities and the channel decomposition --------------------------------------------

def test_r1_trust_has_a_price(runs):
    check(patterns.PATTERNS["R1"](runs))


@pytest.mark.xfail(strict=True, reason="does not emerge: with a large fit spread the advantage rises with σ, "
                   "because anticipated changes keep partners' fit near 1")
def test_r2_trust_against_flexibility(runs):
    check(patterns.PATTERNS["R2"](runs))


@pytest.mark.xfail(strict=True, reason="short-termist buyers and the null model learn partnership too")
def test_r3_partnership_is_learned_where_it_pays(runs):
    check(patterns.PATTERNS["R3"](runs))


def test_r3_partnership_spreads_among_learning_buyers_at_the_defaults(runs):
    """The half of R3 that emerges: at the defaults the share of relationships on partner terms rises."""
    r = patterns.PATTERNS["R3"](runs)
    m, lo, hi = patterns.mean_ci(r.values["change"]["learning"])
    print(f"\nR3 at the defaults: share on partner terms, late − early {m:+.3f} [{lo:+.3f}, {hi:+.3f}]")
    assert lo > 0


def test_r4_markets_discipline_opportunists(runs):
    check(patterns.PATTERNS["R4"](runs))


def test_the_decomposition_names_where_the_advantage_comes_from(runs):
    r = patterns.PATTERNS["D"](runs)
    print(f"\nD: {r.measured}")
    contrib = r.values["contribution"]
    assert set(contrib) == set(patterns.variants_module.CHANNELS)
    ideas = patterns.mean_ci(contrib["ideas"])
    assert ideas[1] > 0, "switching ideas off must cost partners share (its interval above 0)"
    assert all(abs(np.mean(x)) <= abs(np.mean(contrib["ideas"])) for x in contrib.values())


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
    assert [v["pattern"] for v in verdicts] == [f"P{i}" for i in range(1, 11)] + ["R1", "R2", "R3", "R4", "D"]
    assert code == (0 if all(v["passed"] for v in verdicts) else 1)
    assert max(len(line) for line in out.splitlines() if str(tmp_path) not in line) <= 100
    flowing = " ".join(out.split())  # the table wraps the measured text within 100 columns
    full = (tmp_path / "p" / "patterns.md").read_text()
    for v in verdicts:
        assert v["pattern"] in out and " ".join(v["measured"].split()) in flowing and v["measured"] in full
        assert (tmp_path / "p" / "figures" / f"{v['pattern']}.png").stat().st_size > 5000


def test_null_model_scenario_file_is_the_null_model_of_the_patterns():
    from pathlib import Path

    from trustsim.params import load_scenario

    path = Path(__file__).resolve().parents[1] / "scenarios" / "null_model.toml"
    assert load_scenario(path).params == patterns.null_model(Params())
