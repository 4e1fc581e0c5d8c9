"""The ensemble engine (trustsim/ensemble.py): a run's tables do not depend on batching.

A market stepped among others, in any batch, in any position, is byte for byte the market run alone; members
may differ in every real-valued parameter; sweeps batch their runs and give the same tables whatever the
batch size or number of workers.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import ROOT, SMALL_PARAMS

from trustsim import TrustMarket
from trustsim.ensemble import Ensemble
from trustsim.members import ParamSpace, batch_key
from trustsim.metrics import COLUMN_NAMES
from trustsim.params import GROUPS, Params


def _params(**changes):
    return Params().replace(**{**SMALL_PARAMS, **changes})


MEMBERS = [  # differ in real-valued parameters of every kind of element
    _params(),
    _params(**{"market.uncertainty": 0.9, "trust.gain": 0.2, "suppliers.integrity_sd": 0.0}),
    _params(**{"downstream.price_sensitivity": 3.0, "innovation.idea_rate": 2.0, "buyers.partner_share": 0.25}),
    _params(**{"suppliers.supplier_cash": 0.0, "suppliers.contact_cost": 500.0, "trust.no_inspection_trust": 0.0,
               "prices.fair_markup": 0.2}),
]
SEEDS = [3, 1, 4, 1]


def _tables(recorder, buyers):
    return recorder.frame().to_csv(index=False).encode(), buyers.to_csv(index=False).encode()


@pytest.fixture(scope="module")
def ensemble():
    return Ensemble(MEMBERS, SEEDS).run()


@pytest.mark.parametrize("i", range(len(MEMBERS)))
def test_a_member_has_the_tables_of_its_run_alone(ensemble, i):
    alone = TrustMarket(MEMBERS[i], rng=SEEDS[i]).run()
    assert _tables(alone.recorder, alone.buyer_sums.frame(alone)) == _tables(
        ensemble.recorder.member(i), ensemble.buyer_sums.frame(ensemble, i))


def test_position_and_company_in_the_batch_do_not_matter(ensemble):
    order = [2, 0, 3, 1]
    shuffled = Ensemble([MEMBERS[j] for j in order] + MEMBERS[:2], [SEEDS[j] for j in order] + [77, 78]).run()
    for pos, j in enumerate(order):
        assert np.array_equal(shuffled.recorder.member(pos).rows, ensemble.recorder.member(j).rows, equal_nan=True)


def test_members_differ_where_their_parameters_do(ensemble):
    """Not one market copied: the members' figures differ, the bankrupt-prone member has bankruptcies."""
    share = [ensemble.recorder.member(i).summary()["long_run"]["all"]["trust_buyer"] for i in range(4)]
    assert len(set(share)) == 4
    column = COLUMN_NAMES.index("bankruptcies")
    bankrupt = [ensemble.recorder.member(i).rows[:, 2, column].sum() for i in range(4)]
    assert bankrupt[3] > 0 and bankrupt[0] == 0


def test_only_real_valued_parameters_may_differ_within_a_batch():
    with pytest.raises(ValueError, match="market.buyers"):
        ParamSpace([_params(), _params(**{"market.buyers": 13})])
    assert batch_key(_params()) == batch_key(_params(**{"trust.gain": 0.5, "run.seed": 9}))
    assert batch_key(_params()) != batch_key(_params(**{"buyers.conduct": "learning"}))
    space = ParamSpace([_params(), _params(**{"trust.gain": 0.5})])
    assert set(space.varying) == {"trust.gain"}
    assert space.rel.trust.gain.shape == (2 * 12 * 2,) and space.rel.trust.loss == 0.35


def test_shared_refuses_a_real_valued_parameter_the_members_differ_in():
    from trustsim.members import VaryingParameter

    space = ParamSpace([_params(), _params(**{"trust.gain": 0.5})])
    with pytest.raises(VaryingParameter, match="trust.gain differs"):
        _ = space.shared.trust.gain
    assert space.shared.trust.loss == 0.35 and space.shared.market.buyers == 12
    alike = ParamSpace([_params(), _params(**{"run.seed": 9})])
    assert alike.shared.trust.gain == _params().trust.gain


def test_sweeps_give_the_same_runs_whatever_the_batching(tmp_path, monkeypatch):
    from trustsim.api import sweep
    from trustsim.experiments import execute

    factors = {"uncertainty": [0.0, 0.5, 1.0], "buyers": [10, 14]}  # buyers: two shapes, never batched together
    kw = dict(replications=3, steps=20, suppliers=6, workers=1)
    batched = sweep(None, factors, **kw).runs
    monkeypatch.setattr(execute, "batch_size", lambda *a: 1)
    one_at_a_time = sweep(None, factors, **kw).runs
    cols = [c for c in batched.columns if c not in ("wall",)]
    a = batched.sort_values("run_id")[cols].reset_index(drop=True)
    b = one_at_a_time.sort_values("run_id")[cols].reset_index(drop=True)
    assert (a["status"] == "ok").all() and a.equals(b)


def test_a_failing_member_fails_alone(monkeypatch):
    from trustsim.experiments import execute

    tasks = [{"run_id": i, "point": i, "replicate": 0, "seed": i, "factors": {"trust.gain": g},
              "base": _params(), "timeseries": False, "fail": i == 1} for i, g in enumerate([0.1, 0.2, 0.3])]
    rows = {r["row"]["run_id"]: r["row"] for r in execute.run_batch(tasks)}
    assert rows[1]["status"] == "error" and rows[0]["status"] == rows[2]["status"] == "ok"
    alone = execute.run_one(tasks[2])["row"]
    assert rows[2] == {**alone, "error": ""} or rows[2] == alone


@pytest.mark.parametrize("where_needed", [False, True])
def test_members_differing_in_every_real_parameter_match_their_runs_alone(where_needed, monkeypatch):
    """The shipped global sensitivity analysis varies all 75 real-valued parameters at once: eight of its design
    points, stepped together, give each point's tables alone (every parameter seen per element where it must be),
    also when the ensemble draws its rarely needed numbers only where needed, as a large one does."""
    from trustsim import phases
    from trustsim.experiments import load_sweep
    from trustsim.experiments.design import tasks
    from trustsim.members import REAL_KEYS

    sweep = load_sweep(ROOT / "scenarios" / "sensitivity_all.toml")
    assert set(sweep.points[0]) == set(REAL_KEYS)
    chosen = list(tasks(sweep, range(0, 8 * 77, 77)))  # eight different base samples
    members = [t["base"].replace(**t["factors"], **{"run.steps": 40}) for t in chosen]
    seeds = [t["seed"] + i for i, t in enumerate(chosen)]
    if where_needed:
        monkeypatch.setattr(phases, "_DRAWN_WHOLE_BELOW", 0)
    ens = Ensemble(members, seeds).run()
    monkeypatch.undo()
    assert len(ParamSpace(members).varying) == len(REAL_KEYS)
    for i in (0, 3, 7):
        alone = TrustMarket(members[i], rng=seeds[i]).run()
        assert _tables(alone.recorder, alone.buyer_sums.frame(alone)) == _tables(
            ens.recorder.member(i), ens.buyer_sums.frame(ens, i))


def test_a_member_of_a_thousand_matches_its_run_alone():
    small = {"market.buyers": 4, "market.suppliers": 3, "run.steps": 12}
    members = [Params().replace(**small, **{"market.uncertainty": u, "trust.gain": 0.02 + u / 10})
               for u in np.linspace(0.0, 1.0, 1000)]
    seeds = list(range(5000, 6000))
    ens = Ensemble(members, seeds).run()
    for i in (0, 499, 998):
        alone = TrustMarket(members[i], rng=seeds[i]).run()
        assert _tables(alone.recorder, alone.buyer_sums.frame(alone)) == _tables(
            ens.recorder.member(i), ens.buyer_sums.frame(ens, i))


def test_a_view_reads_each_group_as_its_own_class_so_a_parameter_leads_to_its_declaration():
    """Views and shared parameters offer every group of params.GROUPS as a property typed as its class, and
    a view's group is an instance of that class holding each element's member's value."""
    from trustsim.members import Shared, View
    for cls in (View, Shared):
        missing = [g for g in GROUPS if not isinstance(getattr(cls, g, None), property)]
        assert not missing, (cls.__name__, missing)
    space = ParamSpace([_params(), _params(**{"trust.gain": 0.5}), _params(**{"trust.gain": 0.25})])
    view = space.at("market", np.array([2, 0, 1]))
    assert isinstance(view.trust, GROUPS["trust"]) and isinstance(view.market, GROUPS["market"])
    assert view.trust.gain.tolist() == [0.25, _params().trust.gain, 0.5]
    assert view.trust.loss == _params().trust.loss and view.market is space.first.market
    assert isinstance(space.shared.trust, GROUPS["trust"])


def test_learning_buyers_who_imitate_postures_match_their_runs_alone():
    """Learning conduct with adaptation: a buyer's group is found again from its terms at a review, and a posture
    imitated in phase 13 stands until then. A member whose market has no buyer due keeps its imitated postures
    while other members review, as it does alone (small markets, whose buyers' staggered reviews leave steps
    with no buyer due in some members and not in others)."""
    changes = {"buyers.conduct": "learning", "adaptation.enabled": True, "adaptation.imitation_interval": 2,
               "market.buyers": 4, "market.suppliers": 4, "run.steps": 40}
    members, seeds = [_params(**changes)] * 6, list(range(20, 26))
    ens = Ensemble(members, seeds).run()
    for i, seed in enumerate(seeds):
        alone = TrustMarket(members[i], rng=seed).run()
        assert _tables(alone.recorder, alone.buyer_sums.frame(alone)) == _tables(
            ens.recorder.member(i), ens.buyer_sums.frame(ens, i)), i


def test_learning_buyers_differing_in_every_learning_parameter_match_their_runs_alone():
    """Under learning conduct each member reviews with its own memory, horizon, choice sensitivity, lean, first
    attractions and peer weight (per element in the ensemble): each member's tables are its run alone."""
    rng = np.random.default_rng(7)
    learning = {"buyers.memory": (0.05, 0.95), "buyers.horizon": (0.0, 30.0), "buyers.choice_sensitivity": (1.0, 200.0),
                "buyers.trust_weight": (0.0, 3.0), "buyers.initial_attraction": (0.0, 0.2),
                "buyers.peer_learning": (0.0, 1.0)}
    members = [_params(**{"buyers.conduct": "learning", "buyers.rebid_interval": 2, "market.buyers": 6,
                          "market.suppliers": 4, "run.steps": 40},
                       **{key: rng.uniform(*span) for key, span in learning.items()}) for _ in range(5)]
    seeds = list(range(40, 45))
    ens = Ensemble(members, seeds).run()
    assert len(ParamSpace(members).varying) >= 6
    for i, seed in enumerate(seeds):
        alone = TrustMarket(members[i], rng=seed).run()
        assert _tables(alone.recorder, alone.buyer_sums.frame(alone)) == _tables(
            ens.recorder.member(i), ens.buyer_sums.frame(ens, i)), i


def test_members_differing_in_any_parameter_that_is_not_a_real_number_are_not_batched_together():
    """Every size, count, step number, switch and setting (every parameter that is not a real number, the seed
    aside) is one the members of a batch must share: a member differing in any one alone is refused."""
    import typing

    from trustsim.errors import ParamError
    from trustsim.members import REAL_KEYS

    base = _params()
    tried = set()
    for key, value in base.flat().items():
        if key in REAL_KEYS or key == "run.seed":
            continue
        group, name = key.split(".")
        annotation = GROUPS[group].model_fields[name].annotation
        if isinstance(value, bool):
            candidates = [not value]
        elif isinstance(value, int):
            candidates = [value + 1, value - 1]
        else:
            candidates = [v for v in typing.get_args(annotation) if v != value] or [value + "x"]
        for other in candidates:
            try:
                changed = base.replace(**{key: other})
            except ParamError:
                continue
            assert batch_key(changed) != batch_key(base), key
            with pytest.raises(ValueError, match=key):
                ParamSpace([base, changed])
            tried.add(key)
            break
    assert "run.steps" in tried and "market.slots_per_buyer" in tried and len(tried) >= 10, tried


def test_an_ensemble_needs_exactly_one_seed_per_member():
    for seeds in ([1], [1, 2, 3], []):
        with pytest.raises(ValueError, match="one seed per member"):
            Ensemble(MEMBERS[:2], seeds)
