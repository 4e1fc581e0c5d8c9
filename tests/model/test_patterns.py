"""The patterns P1–P10 and the regularities R1–R4 of docs/ODD.md section 1, each over 30 seeds (fixed in advance),
with the measured figure printed beside its target.

At the defaults some of them do not emerge (docs/ODD.md, "Pattern tests"): their tests are strict expected
failures whose reason states the measured cause, so a change that makes one emerge fails here and must be
reported, not silently taken. Run with ``pytest tests/model/test_patterns.py -s`` to see the figures.
"""

import importlib.util
import math
import re

import numpy as np
import pytest
from conftest import ROOT

from trustsim import patterns
from trustsim.params import Params

SEEDS = 30  # fixed in advance: 30 seeds narrow the intervals

pytestmark = pytest.mark.patterns


@pytest.fixture(scope="module")
def runs():
    return patterns.run_all(Params(), seeds=SEEDS, workers=2)


def check(result):
    print(f"\n{result.pattern} ({result.claim}): {result.measured}  — target: {result.target}")
    assert result.passed, f"{result.pattern} not reproduced: {result.measured} (target {result.target})"


def test_every_variant_ran_on_every_seed(runs):
    assert all(len(v) == SEEDS and all(run is not None for run in v) for v in runs.values())


def test_p1_aggressive_buyers_pay_lower_component_prices(runs):
    check(patterns.p1(runs))


def test_p2_partners_win_market_share_and_profit(runs):
    check(patterns.p2(runs))


def test_p3_nonproductive_time_low_and_high_trust(runs):
    """In sample: P3's published figures are calibration targets (docs/ODD.md, Calibration)."""
    check(patterns.p3(runs))


def test_p4_trusting_buyers_do_not_inspect_and_handle_more_per_hour(runs):
    check(patterns.p4(runs))


def test_p5_partners_receive_many_more_ideas(runs):
    check(patterns.p5(runs))


def test_p6_partner_advantage_grows_with_uncertainty(runs):
    check(patterns.p6(runs))


@pytest.mark.xfail(strict=True, reason="by the specification's own test (decision 23) P6 does not hold at the "
                   "defaults: the mean advantage dips from σ 0 (0.687) to σ 0.3 (0.552), 30 seeds, before it rises; "
                   "the pattern's pass is its paired slope's")
def test_p6_by_the_specifications_test_the_mean_rises_at_every_step_of_sigma(runs):
    advantage = patterns.p6(runs).values["advantage"]
    print(f"\nP6, mean advantage by σ {patterns.SIGMAS}: {', '.join(f'{a:.3f}' for a in advantage)}")
    assert all(b > a for a, b in zip(advantage, advantage[1:], strict=False))


@pytest.fixture(scope="module")
def specification_runs():
    """The suite at the specification's values of the three defaults model 1's search fitted (decision 41)."""
    from trustsim.scenario import load_scenario

    return patterns.run_all(load_scenario(ROOT / "scenarios" / "specification_values.toml").params, seeds=SEEDS,
                            workers=2)


def test_at_the_specifications_values_partnership_pays_less_and_p4_p5_fail_where_p10_holds(runs,
                                                                                          specification_runs):
    """Decision 41's table, kept true: with the specification's play-off penalty, monitoring hours and quality
    spillover the long-run advantage at σ 0.3 is a quarter of the shipped defaults', it rises at every step of σ,
    P10 emerges, and P4 and P5 do not. A change that moves these must be reported there and in the README."""
    found = {r.pattern: r for r in patterns.evaluate(specification_runs)}
    shipped = patterns.p6(runs).values["advantage"]
    advantage = found["P6"].values["advantage"]
    for name in ("P4", "P5", "P10"):
        print(f"\n{name} at the specification's values: {found[name].measured} ({found[name].passed})")
    print(f"advantage by σ at the specification's values {[round(float(a), 3) for a in advantage]}, "
          f"shipped {[round(float(a), 3) for a in shipped]}")
    assert advantage[1] < shipped[1] / 2 and advantage[1] > 0
    assert all(b > a for a, b in zip(advantage, advantage[1:], strict=False))
    assert found["P10"].passed and not found["P4"].passed and not found["P5"].passed


def test_p7_attention_keeps_trust_and_exits_are_silent(runs):
    check(patterns.p7(runs))


def test_p8_service_left_out_of_the_price_costs_more_in_total(runs):
    check(patterns.p8(runs))


def test_p9_null_model_has_no_partner_advantage(runs):
    check(patterns.p9(runs))


@pytest.mark.xfail(strict=True, reason="levels short of Dyer & Hatch's though calibrated to them: over 24 steps "
                   "partner lots' defects fall 38% and aggressive lots' 15% (30 seeds), against 50% and 26% ± 10%; "
                   "the ratio, 2.56, is within 1.5–3. The posterior predicts both levels within its 90% intervals, "
                   "but its median parameters do not reach them")
def test_p10_defects_fall_twice_as_fast_for_partners(runs):
    check(patterns.p10(runs))


# --- the regularities R1–R4 and the channel decomposition ------------------------------------------------

def test_r1_trust_has_a_price(runs):
    check(patterns.PATTERNS["R1"](runs))


@pytest.mark.xfail(strict=True, reason="does not emerge: with scarce ideas and fit spread 0.3 the advantage rises "
                   "from σ 0 to 0.9 by +0.33 (30 seeds): unanticipated changes cost market-terms buyers mismatch and "
                   "renegotiation, and their search gains less than partners' anticipation saves")
def test_r2_trust_against_flexibility(runs):
    check(patterns.PATTERNS["R2"](runs))


@pytest.mark.xfail(strict=True, reason="does not emerge both ways: the share on partner terms rises by about +0.5 at "
                   "the defaults, for short-termists (horizon 2) and in the null model alike (30 seeds): partner terms "
                   "pay there through bids saved and cost-plus, not ideas")
def test_r3_partnership_is_learned_where_it_pays(runs):
    check(patterns.PATTERNS["R3"](runs))


def test_r3_partnership_spreads_among_learning_buyers_at_the_defaults(runs):
    """The half of R3 that emerges: at the defaults the share of relationships on partner terms rises."""
    r = patterns.PATTERNS["R3"](runs)
    m, lo, hi = patterns.mean_ci(r.values["change"]["learning"])
    print(f"\nR3 at the defaults: share on partner terms, late − early {m:+.3f} [{lo:+.3f}, {hi:+.3f}]")
    assert lo > 0


@pytest.mark.xfail(strict=True, reason="half emerges: with word of mouth low-integrity suppliers' share falls "
                   "(−0.075), but without it it falls almost as much (−0.060, 30 seeds): exits after betrayals "
                   "discipline them without any word of mouth")
def test_r4_markets_discipline_opportunists(runs):
    check(patterns.PATTERNS["R4"](runs))


def test_r3_reported_with_and_without_the_lean_toward_partner_terms(runs):
    """R3 at trust_weight 0 (the default) and 2 (MODEL 9.3's lean): both are measured and printed."""
    change = patterns.PATTERNS["R3"](runs).values["change"]
    for name in ("learning", "learning, trust lean"):
        m, lo, hi = patterns.mean_ci(change[name])
        print(f"\nR3 {name}: share on partner terms, late − early {m:+.3f} [{lo:+.3f}, {hi:+.3f}]")
        assert np.isfinite(m) and len(change[name]) == SEEDS


def test_the_decomposition_is_apart_from_the_counted_patterns(runs):
    assert "D" not in patterns.PATTERNS and "D" in patterns.DECOMPOSITIONS
    assert set(patterns.PATTERNS) == {f"P{i}" for i in range(1, 11)} | {f"R{i}" for i in range(1, 5)}


def test_the_decomposition_names_where_the_advantage_comes_from(runs):
    r = patterns.DECOMPOSITIONS["D"](runs)
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
    assert verdicts[-1]["passed"] is None  # the decomposition has no verdict and is not counted
    assert code == (0 if all(v["passed"] for v in verdicts[:-1]) else 1)
    assert "of 14 patterns and regularities" in out and "partner advantage by horizon" in out
    assert max(len(line) for line in out.splitlines() if str(tmp_path) not in line) <= 100
    flowing = " ".join(out.split())  # the table wraps the measured text within 100 columns
    full = (tmp_path / "p" / "patterns.md").read_text()
    for v in verdicts:
        assert v["pattern"] in out and " ".join(v["measured"].split()) in flowing and v["measured"] in full
        assert (tmp_path / "p" / "figures" / f"{v['pattern']}.png").stat().st_size > 5000


def test_null_model_scenario_file_is_the_null_model_of_the_patterns():

    from trustsim.scenario import load_scenario

    path = ROOT / "scenarios" / "null_model.toml"
    assert load_scenario(path).params == patterns.null_model(Params())


def _numbers(text: str) -> list[str]:
    return re.findall(r"[-+−]?\d+(?:\.\d+)?", text)


def test_the_readme_and_odd_show_what_the_suite_now_measures(runs):
    """The README's pattern table and advantage by horizon, and docs/ODD.md's pattern table, are what
    ``scripts/update_docs.py`` renders from these runs: the same words, every number within one unit of its
    last printed digit (another processor may move a last bit across a rounding edge)."""
    spec = importlib.util.spec_from_file_location("update_docs", ROOT / "scripts" / "update_docs.py")
    update_docs = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(update_docs)
    for path, blocks in ((ROOT / "README.md", ("patterns", "horizons")), (ROOT / "docs" / "ODD.md", ("patterns",))):
        text = path.read_text()
        want = update_docs.generated_tables(runs, SEEDS)
        for name in blocks:
            shown = text.split(f"<!-- {name}:begin -->\n", 1)[1].split(f"<!-- {name}:end -->", 1)[0].strip()
            fresh = want[name].strip()
            assert re.sub(r"[-+−]?\d+(?:\.\d+)?", "#", shown) == re.sub(r"[-+−]?\d+(?:\.\d+)?", "#", fresh), \
                f"{path.name} {name}: the words differ; run python scripts/update_docs.py"
            for a, b in zip(_numbers(shown), _numbers(fresh), strict=True):
                unit = 10.0 ** -len(a.split(".")[1]) if "." in a else 1.0
                assert abs(float(a.replace("−", "-")) - float(b.replace("−", "-"))) <= unit * 1.001, \
                    f"{path.name} {name}: {a} shown, {b} measured; run python scripts/update_docs.py"
