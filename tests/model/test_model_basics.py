"""TrustMarket as a Mesa model: conventions, batch_run, reproducibility, invariants, pattern P1."""

import mesa
import numpy as np
import pytest

from trustsim import TrustMarket
from trustsim.agents import Buyer, Supplier
from trustsim.errors import ParamError
from trustsim.metrics import COLUMN_NAMES
from trustsim.params import Params


def test_batch_run_returns_the_model_level_measurements():
    rows = mesa.batch_run(TrustMarket, parameters={"buyers": 20, "suppliers": 10, "uncertainty": [0.0, 0.6]},
                          rng=[1, 2], max_steps=30, number_processes=1, display_progress=False)
    assert len(rows) == 4
    for row in rows:
        assert row["Step"] == 30
        assert 0 < row["market_share_partner"] < 1
        assert np.isclose(row["market_share_partner"] + row["market_share_aggressive"], 1.0)
        assert row["component_price_aggressive"] > 0
    by_seed = {(r["uncertainty"], r["rng"]): r["tco_per_unit"] for r in rows}
    assert by_seed[(0.0, 1)] != by_seed[(0.0, 2)]


def test_seed_as_text_equals_seed_as_int():
    a, b = TrustMarket(rng="7", buyers=10, suppliers=5, steps=20), TrustMarket(rng=7, buyers=10, suppliers=5, steps=20)
    a.run(), b.run()
    assert np.array_equal(a.recorder.rows, b.recorder.rows)
    assert a.params.run.seed == 7
    with pytest.raises(ParamError):
        TrustMarket(rng="seven")


def test_params_object_and_keyword_overrides():
    p = Params().replace(**{"market.buyers": 12, "market.suppliers": 4})
    m = TrustMarket(p, rng=1, gain=0.2)
    assert m.params.trust.gain == 0.2 and m.params.market.buyers == 12
    assert len(m.agents_by_type[Buyer]) == 12 and len(m.agents_by_type[Supplier]) == 4
    with pytest.raises(ParamError, match="did you mean"):
        TrustMarket(gian=0.2)
    with pytest.raises(ParamError):
        TrustMarket(buyers=0)


def test_a_mapping_of_tables_is_taken_as_simulate_takes_it_and_anything_else_refused_in_a_line():
    """``TrustMarket({"market": {"buyers": 6}})`` raised AttributeError ('dict' object has no attribute 'replace')
    deep inside; a mapping is now validated as a scenario's tables, the same market as from its Params."""
    tables = {"market": {"buyers": 6, "suppliers": 3}, "run": {"steps": 5}}
    m = TrustMarket(tables, rng=4).run()
    same = TrustMarket(Params().replace(buyers=6, suppliers=3, steps=5), rng=4).run()
    assert m.params == same.params and np.array_equal(m.recorder.rows, same.recorder.rows)
    with pytest.raises(ParamError) as exc:
        TrustMarket({"market": {"buyer": 6}})
    assert str(exc.value) == 'params: market.buyer: unknown parameter (did you mean "buyers"?)'
    for other in ("scenarios/baseline.toml", 3):
        with pytest.raises(ParamError) as exc:
            TrustMarket(other)
        assert "\n" not in str(exc.value) and str(exc.value).startswith("params: expected Params or a mapping")


def test_scenario_takes_what_params_takes_and_mesas_own_scenario_as_mesas_models_do():
    """``TrustMarket(scenario=X)`` used X only when it was a Params: a mapping of tables, a loaded scenario or a path
    gave the default market without a word. Now it takes what ``params`` takes, or is the same one line; Mesa's own
    Scenario (SolaraViz's Reset sends an empty one) gives its values as parameters and its rng as the seed."""
    from mesa.experimental.scenarios import Scenario as MesaScenario

    from trustsim import load_scenario

    tables = {"market": {"buyers": 6, "suppliers": 3}, "run": {"steps": 5}}
    m = TrustMarket(scenario=tables, rng=4).run()
    same = TrustMarket(tables, rng=4).run()
    assert m.params == same.params and np.array_equal(m.recorder.rows, same.recorder.rows)
    assert TrustMarket(scenario=same.params, rng=4).params == same.params
    assert TrustMarket(scenario=MesaScenario(), rng=4).params == TrustMarket(rng=4).params
    # a Mesa Scenario's values are parameters and its rng the seed, as Mesa's models take them (it was ignored)
    assert TrustMarket(scenario=MesaScenario(rng=3, buyers=4)).params == TrustMarket(rng=3, buyers=4).params
    with pytest.raises(ParamError, match="^buyers: given twice"):
        TrustMarket(scenario=MesaScenario(buyers=4), buyers=5)
    with pytest.raises(ParamError, match="^rng: 5 and the scenario's rng 3 differ"):
        TrustMarket(scenario=MesaScenario(rng=3), rng=5)
    with pytest.raises(ParamError) as exc:
        TrustMarket(scenario={"market": {"buyer": 6}})
    assert str(exc.value) == 'scenario: market.buyer: unknown parameter (did you mean "buyers"?)'
    for other in ("scenarios/baseline.toml", 3, load_scenario(None)):
        with pytest.raises(ParamError) as exc:
            TrustMarket(scenario=other)
        assert "\n" not in str(exc.value) and str(exc.value).startswith("scenario: expected Params or a mapping")
    with pytest.raises(ParamError, match="^scenario: the parameters are given twice"):
        TrustMarket(tables, scenario=same.params)

def test_agents_are_views_of_the_arrays():
    m = TrustMarket(rng=2, buyers=10, suppliers=5, steps=10)
    m.run()
    b = m.buyers[3]
    assert b.posture in ("partner", "aggressive")
    assert np.array_equal(b.trust_in_suppliers, m.market.trust_b[6:8])
    assert b.market_share == m.market.share[3]
    s = m.suppliers[2]
    assert s.unit_cost == m.market.unit_cost[2] and s.cash == m.market.supplier_cash[2]
    assert set(s.customers) <= set(range(10))



def test_an_entrant_starts_with_no_customers_and_no_buyer_counts_it_among_its_suppliers():
    """Between a bankruptcy and the next sourcing the bankrupt's slots are vacant while its row is the entrant's:
    the agents show the relationships held, as the network and reputation count them (docs/ODD.md 7.12)."""
    m = TrustMarket({"suppliers": {"supplier_cash": 50.0}, "prices": {"fair_markup": 0.0, "min_markup": 0.0}}, rng=3)
    while not len(m.ev.entrants):
        m.step()
        assert m.steps < 30, "no supplier went bankrupt"
    mk, entrants = m.market, set(m.ev.entrants.tolist())
    print(f"step {m.steps}: {len(entrants)} entrants, {int(mk.vacant.sum())} vacant slots")
    assert mk.vacant.any()
    for j in entrants:
        assert len(m.suppliers[j].customers) == 0 and len(m.suppliers[j].trust_in_buyers) == 0
    held = sorted((int(mk.buyer_of[r]), int(mk.sup[r])) for r in np.flatnonzero(~mk.vacant))
    assert sorted((b.index, int(j)) for b in m.buyers for j in b.suppliers) == held
    assert sorted((int(i), s.index) for s in m.suppliers for i in s.customers) == held
    assert all(np.array_equal(s.trust_in_buyers, mk.trust_s[(mk.sup == s.index) & ~mk.vacant]) for s in m.suppliers)


def test_a_model_pickles_and_goes_on_as_the_original_does():
    """The key figures' reporters were lambdas: a TrustMarket could not be pickled (to send it to another process,
    or keep it), as a plain Mesa model with a DataCollector can."""
    import pickle

    m = TrustMarket(rng=5, buyers=12, suppliers=6)
    m.step()
    again = pickle.loads(pickle.dumps(m))
    for model in (m, again):
        model.step()
        model.step()
    assert again.recorder.rows.tolist() == m.recorder.rows.tolist()
    assert again.datacollector.get_model_vars_dataframe().equals(m.datacollector.get_model_vars_dataframe())


def test_reset_rng_keeps_the_seed_and_refuses_another_in_a_line():
    """Mesa's reset_rng(2) was accepted and changed nothing: the market's draws are counters of its seed. None or
    the seed itself leave the run as it is; another seed is refused, naming the way to a market on it."""
    m = TrustMarket(rng=3, buyers=8, suppliers=4)
    m.step()
    m.reset_rng()
    m.reset_rng(3)
    m.step()
    plain = TrustMarket(rng=3, buyers=8, suppliers=4)
    plain.step()
    plain.step()
    assert m.recorder.rows.tolist() == plain.recorder.rows.tolist()
    for reset in (m.reset_rng, m.reset_randomizer):
        with pytest.raises(ParamError, match=r"^rng: the market draws from its seed 3 .*TrustMarket\(…, rng=2\)"):
            reset(2)


def test_a_param_error_pickles_whole_so_batch_run_on_two_processes_reports_it():
    """A worker's ParamError reaches its parent pickled: rebuilt from its line alone it failed, and mesa.batch_run
    with a misspelt parameter on two processes waited for ever; on one it raised at once."""
    import pickle
    import subprocess
    import sys

    err = pickle.loads(pickle.dumps(ParamError("f.toml", "market.buyers", "bad")))
    assert (str(err), err.source, err.key, err.message) == ("f.toml: market.buyers: bad", "f.toml", "market.buyers",
                                                           "bad")
    code = ("import mesa\nfrom trustsim import TrustMarket\nif __name__ == '__main__':\n"
            "    mesa.batch_run(TrustMarket, {'buyerz': 8, 'steps': 3}, number_processes=2, rng=[1],"
            " display_progress=False)\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 1 and 'buyerz: unknown parameter (did you mean "buyers"?)' in done.stderr, done.stderr


def test_a_market_too_large_to_show_makes_its_agents_on_first_use(monkeypatch):
    monkeypatch.setattr("trustsim.model.EAGER_AGENTS", 5)
    m = TrustMarket(rng=2, buyers=10, suppliers=5, steps=10)
    assert len(m.agents) == 0 and len(m.buyers) == 10 and len(m.suppliers) == 5
    m.run()
    b = m.buyers[3]
    assert b is m.buyers[-7] and isinstance(b, Buyer) and b in m.agents and len(m.agents) == 1
    assert np.array_equal(b.trust_in_suppliers, m.market.trust_b[6:8])
    assert [s.index for s in m.suppliers[1:4]] == [1, 2, 3] and len(m.agents_by_type[Supplier]) == 3
    old = m.suppliers[2]
    m.replace_suppliers(np.array([2, 4]))  # an entrant is a new agent; one never asked for stays unmade
    assert old not in m.agents and m.suppliers[2] is not old and m.suppliers[2].index == 2
    assert len(m.agents_by_type[Supplier]) == 3
    with pytest.raises(IndexError):
        m.buyers[10]


@pytest.mark.parametrize("seed", range(5))
def test_invariants_every_step(seed):
    m = TrustMarket(rng=seed, buyers=30, suppliers=8, uncertainty=0.9, steps=60)
    while m.running:
        m.step()
        mk = m.market
        assert ((mk.trust_b >= 0) & (mk.trust_b <= 1)).all() and ((mk.trust_s >= 0) & (mk.trust_s <= 1)).all()
        assert np.isclose(mk.share.sum(), 1.0)
        assert np.isclose(m.ev.paid_by_buyers, m.ev.received_by_suppliers, rtol=1e-12)
    assert np.isfinite(m.recorder.rows).all()
    assert m.steps == 60 and not m.running


def test_runs_stop_at_their_steps_and_count_like_mesa():
    m = TrustMarket(rng=1, steps=7)
    m.run()
    assert m.steps == 7 and len(m.recorder.rows) == 7
    assert len(m.datacollector.get_model_vars_dataframe()) == 7


def test_p1_aggressive_buyers_pay_lower_component_prices_over_ten_seeds():
    partner, aggressive = [], []
    for seed in range(1, 11):
        m = TrustMarket(rng=seed, steps=120)
        m.run()
        s = m.recorder.summary()["long_run"]
        partner.append(s["partner"]["component_price"])
        aggressive.append(s["aggressive"]["component_price"])
    diffs = np.array(partner) - np.array(aggressive)
    print(f"\nP1: long-run component price over 10 seeds: partners {np.mean(partner):.3f}, "
          f"aggressive {np.mean(aggressive):.3f}; smallest difference {diffs.min():.3f}")
    assert (diffs > 0).all()


def test_every_contract_column_is_measured():
    m = TrustMarket(rng=1, attention_policy="passive", steps=120)
    m.run()
    totals = dict(zip(COLUMN_NAMES, np.abs(m.recorder.rows).sum(axis=(0, 1)), strict=True))
    zero = [c for c, v in totals.items() if v == 0 and c not in ("exits_bankruptcy", "bankruptcies", "cost_inspection")]
    assert not zero, f"never non-zero: {zero}"
