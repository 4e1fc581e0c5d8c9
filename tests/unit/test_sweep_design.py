"""A sweep's design and what is computed from its runs (trustsim/experiments/design.py, analysis.py), against
the properties each design promises: a Latin hypercube's strata, a Morris grid's levels, the run seeds'
formula, shards that partition the runs, means over replications and Sobol and Morris indices of toy functions
whose indices are known. Sweeps themselves are run in tests/cli/test_experiments.py."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from trustsim.errors import ParamError
from trustsim.experiments.analysis import point_means, point_table, runs_frame, sensitivity
from trustsim.experiments.design import (
    ID_COLUMNS,
    METRIC_COLUMNS,
    build_sweep,
    parse_shard,
    run_seed,
    shard_ids,
    tasks,
)
from trustsim.params import Params

UNIT = {"market.uncertainty": {"min": 0.0, "max": 1.0}, "buyers.partner_share": {"min": 0.0, "max": 1.0}}
METRIC = "advantage.market_share"


def sweep_of(table: dict, base: Params | None = None):
    return build_sweep("toy", "toy.toml", base or Params(), {"metrics": [METRIC], **table})


def runs_of(sweep, y: np.ndarray) -> pd.DataFrame:
    """A runs table whose one metric at each design point is ``y[point]`` (one replication each)."""
    return pd.DataFrame({"point": np.arange(len(y)), "status": "ok", METRIC: y})


def test_a_grid_is_the_full_product_of_its_values_first_factor_slowest():
    sweep = sweep_of({"factors": {"market.uncertainty": [0.0, 0.5], "buyers.partner_share": [0.2, 0.4, 0.6]}})
    assert sweep.points == [{"market.uncertainty": u, "buyers.partner_share": s}
                            for u in (0.0, 0.5) for s in (0.2, 0.4, 0.6)]
    assert sweep.matrix is None and sweep.n_runs == 6


def test_a_latin_hypercube_has_its_samples_and_one_point_in_each_stratum_of_every_factor():
    n = 16
    factors = {"market.uncertainty": {"min": 0.2, "max": 0.6}, "trust.gain": {"min": 0.0, "max": 1.0}}
    sweep = sweep_of({"design": "lhs", "samples": n, "seed": 5, "factors": factors})
    assert len(sweep.points) == n and sweep.matrix.shape == (n, 2)
    for j, (lo, hi) in enumerate(((0.2, 0.6), (0.0, 1.0))):
        strata = np.floor((sweep.matrix[:, j] - lo) / (hi - lo) * n).astype(int)
        assert sorted(strata) == list(range(n))


def test_an_integer_factor_runs_at_the_whole_number_nearest_its_sample():
    sweep = sweep_of({"design": "lhs", "samples": 32, "seed": 3, "factors": {"market.buyers": {"min": 5, "max": 40}}})
    for point, (x,) in zip(sweep.points, sweep.matrix, strict=True):
        assert isinstance(point["market.buyers"], int) and abs(point["market.buyers"] - x) <= 0.5


def test_morris_points_lie_on_its_levels_and_each_step_moves_one_factor_by_its_delta():
    levels = 6
    sweep = sweep_of({"design": "morris", "samples": 5, "levels": levels, "seed": 2, "factors": UNIT})
    X = sweep.matrix
    assert X.shape == (5 * 3, 2)
    on_grid = X * (levels - 1)
    assert np.allclose(on_grid, np.round(on_grid))
    delta = levels / (2 * (levels - 1))
    for start in range(0, len(X), 3):
        steps = np.abs(np.diff(X[start:start + 3], axis=0))
        assert np.allclose(np.sort(steps, axis=1), [[0, delta]] * 2)


def test_morris_levels_must_be_even():
    with pytest.raises(ParamError) as err:
        sweep_of({"design": "morris", "samples": 4, "levels": 5, "factors": UNIT})
    assert err.value.key == "sweep.levels"


def test_a_sweep_without_its_own_seed_takes_the_scenarios():
    base = Params().replace(**{"run.seed": 4321})
    assert sweep_of({"replications": 2}, base).seed == 4321
    assert sweep_of({"replications": 2, "seed": 7}, base).seed == 7


def test_a_runs_seed_is_the_first_word_of_its_seed_sequence_with_the_top_bit_cleared():
    root = 99
    for point, rep in ((0, 0), (3, 1), (1, 3)):
        word = np.random.SeedSequence(root, spawn_key=(point, rep)).generate_state(1, np.uint64)[0]
        assert run_seed(root, point, rep) == int(word) & (2**63 - 1)
        common = np.random.SeedSequence(root, spawn_key=(rep,)).generate_state(1, np.uint64)[0]
        assert run_seed(root, point, rep, "common") == int(common) & (2**63 - 1)
    independent = {run_seed(root, p, r) for p in range(4) for r in range(4)}
    assert len(independent) == 16
    assert {run_seed(root, p, 2, "common") for p in range(4)} == {run_seed(root, 0, 2, "common")}


@pytest.mark.parametrize("seeds", ["independent", "common"])
def test_the_tasks_run_every_point_replicate_pair_once_with_its_seed(seeds):
    sweep = sweep_of({"replications": 3, "seed": 8, "seeds": seeds,
                      "factors": {"market.uncertainty": [0.0, 0.5], "buyers.partner_share": [0.2, 0.4, 0.6, 0.8]}})
    made = list(tasks(sweep, range(sweep.n_runs)))
    assert sweep.n_runs == 8 * 3
    assert sorted((t["point"], t["replicate"]) for t in made) == [(p, r) for p in range(8) for r in range(3)]
    for t in made:
        assert t["run_id"] == t["point"] * 3 + t["replicate"]
        assert t["factors"] == sweep.points[t["point"]]
        assert t["seed"] == run_seed(8, t["point"], t["replicate"], seeds)


def test_shards_partition_the_runs():
    for total in range(0, 14):
        for n in range(1, 6):
            parts = [list(shard_ids(total, parse_shard(f"{k}/{n}"))) for k in range(1, n + 1)]
            assert sorted(sum(parts, [])) == list(range(total))
            assert all(len(p) in (total // n, -(-total // n)) for p in parts)
    assert list(shard_ids(5, None)) == list(range(5))
    for bad in ("0/3", "4/3", "3", "a/b"):
        with pytest.raises(ParamError):
            parse_shard(bad)


def _rows(n_points: int, reps: int, values) -> list[dict]:
    rows = []
    for run_id in range(n_points * reps):
        point, rep = divmod(run_id, reps)
        v = values[run_id]
        rows.append({"run_id": run_id, "point": point, "replicate": rep, "seed": (run_id * 7919) % 31,
                     "status": "ok" if v is not None else "error", "error": "" if v is not None else "boom",
                     "market.uncertainty": [0.0, 0.5][point], METRIC: v})
    return rows


def test_the_runs_table_is_in_run_id_order_whatever_order_the_runs_finished_in():
    sweep = sweep_of({"replications": 3, "factors": {"market.uncertainty": [0.0, 0.5]}})
    rows = _rows(2, 3, [1.0, 2.0, 3.0, 4.0, 5.0, 6.0])
    df = runs_frame(sweep, [{"row": r} for r in reversed(rows)])
    assert df["run_id"].tolist() == list(range(6))
    assert df[METRIC].tolist() == [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]
    assert list(df.columns[:len(ID_COLUMNS)]) == list(ID_COLUMNS) and set(METRIC_COLUMNS) <= set(df.columns)


def test_a_points_mean_and_interval_are_over_its_successful_replications():
    from scipy import stats

    sweep = sweep_of({"replications": 4, "factors": {"market.uncertainty": [0.0, 0.5]}})
    values = [1.0, 2.0, 9.0, None, 10.0, 10.5, 12.0, 20.0]  # point 0: one failed run
    df = runs_frame(sweep, [{"row": r} for r in _rows(2, 4, values)])
    assert point_means(sweep, df, METRIC).tolist() == [4.0, 13.125]
    table = point_table(sweep, df).set_index("point")
    assert table["n"].tolist() == [3, 4]
    for p, xs in ((0, [1.0, 2.0, 9.0]), (1, [10.0, 10.5, 12.0, 20.0])):
        half = stats.t.ppf(0.975, len(xs) - 1) * np.std(xs, ddof=1) / np.sqrt(len(xs))
        assert table.loc[p, METRIC] == pytest.approx(np.mean(xs))
        assert table.loc[p, f"{METRIC}.low"] == pytest.approx(np.mean(xs) - half)
        assert table.loc[p, f"{METRIC}.high"] == pytest.approx(np.mean(xs) + half)


def test_sobol_indices_of_a_product_are_three_sevenths_first_order_and_four_sevenths_total():
    """Y = x₁x₂ on the unit square: Var Y = 7/144, each Var E[Y|xᵢ] = 3/144, so Sᵢ = 3/7 and STᵢ = 1 − 3/7; a
    third factor Y ignores has both indices 0."""
    factors = {**UNIT, "trust.gain": {"min": 0.0, "max": 1.0}}
    sweep = sweep_of({"design": "sobol", "samples": 4096, "seed": 1, "factors": factors})
    X = sweep.matrix
    res = sensitivity(sweep, runs_of(sweep, X[:, 0] * X[:, 1])).set_index("factor")
    assert res.loc[sweep.keys[:2], "S1"].to_numpy() == pytest.approx([3 / 7] * 2, abs=0.04)
    assert res.loc[sweep.keys[:2], "ST"].to_numpy() == pytest.approx([4 / 7] * 2, abs=0.04)
    assert res.loc["trust.gain", ["S1", "ST"]].to_numpy() == pytest.approx([0, 0], abs=0.02)


def test_sobol_intervals_are_95_percent_ones():
    """SALib's interval is the bootstrap sd times the normal quantile of its level: 1.96 for 95%."""
    from SALib.analyze import sobol

    sweep = sweep_of({"design": "sobol", "samples": 64, "seed": 12, "factors": UNIT})
    y = sweep.matrix[:, 0] + 0.3 * sweep.matrix[:, 1] ** 2
    res = sensitivity(sweep, runs_of(sweep, y))
    ref = sobol.analyze(sweep.problem(), y, calc_second_order=False, conf_level=0.95,
                        seed=np.random.default_rng(12))
    assert res["S1_conf"].to_numpy() == pytest.approx(ref["S1_conf"])
    assert res["ST_conf"].to_numpy() == pytest.approx(ref["ST_conf"])


def test_morris_mu_star_is_the_mean_absolute_elementary_effect_and_mu_keeps_its_sign():
    """Y = −3x₁ + 2x₂ on the unit square: every elementary effect of x₁ is −3 and of x₂ is 2."""
    sweep = sweep_of({"design": "morris", "samples": 6, "seed": 4, "factors": UNIT})
    X = sweep.matrix
    res = sensitivity(sweep, runs_of(sweep, -3 * X[:, 0] + 2 * X[:, 1])).set_index("factor")
    assert res["mu"].to_numpy() == pytest.approx([-3, 2])
    assert res["mu_star"].to_numpy() == pytest.approx([3, 2])
    assert res["sigma"].to_numpy() == pytest.approx([0, 0], abs=1e-9)


def test_a_metric_the_same_at_every_point_has_no_indices_and_is_said_to_be_so(capsys):
    sweep = sweep_of({"design": "sobol", "samples": 8, "seed": 1, "factors": UNIT})
    res = sensitivity(sweep, runs_of(sweep, np.full(len(sweep.points), 0.25)))
    assert res[["S1", "S1_conf", "ST", "ST_conf"]].isna().all().all()
    assert f"no sensitivity indices of {METRIC}: it is the same at every design point" in capsys.readouterr().err
