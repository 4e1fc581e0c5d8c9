"""trustsim from Python: the same numbers as the command line, overrides in every spelling, bad input as
ParamError, tables as DataFrames, and an import that loads nothing heavy."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import BASELINE, SCENARIOS, TINY, small_sweep

import trustsim
from trustsim.cli import main


def test_import_trustsim_loads_nothing_heavy(tmp_path):
    code = ("import sys, trustsim\n"
            "heavy = ('numpy', 'pandas', 'mesa', 'matplotlib', 'solara', 'pydantic', 'scipy')\n"
            "print(sorted(m for m in heavy if m in sys.modules))\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path)
    assert proc.stdout.splitlines()[-1] == "[]", proc.stdout + proc.stderr


def test_simulate_is_trustsim_run(tmp_path, capsys):
    run = trustsim.simulate(BASELINE, seed=4, steps=25, buyers=12, suppliers=6)
    assert isinstance(run.timeseries, pd.DataFrame) and isinstance(run.buyers, pd.DataFrame)
    assert len(run.timeseries) == 25 * 3 and len(run.buyers) == 12
    assert run.long_run.loc["partner", "market_share"] == run.summary["long_run"]["partner"]["market_share"]
    assert run.network.number_of_nodes() == 18
    assert main(["run", str(BASELINE), "--seed", "4", "--steps", "25", "--set", "market.buyers=12", "--set",
                 "market.suppliers=6", "--out", str(tmp_path / "cli"), "--quiet"]) == 0
    run.save(tmp_path / "api")
    for name in ("timeseries.csv", "summary.json", "buyers.csv"):
        assert (tmp_path / "api" / name).read_bytes() == (tmp_path / "cli" / name).read_bytes(), name


def test_overrides_in_every_spelling_and_bad_ones():
    a = trustsim.simulate(None, seed=2, steps=10, uncertainty=0.8, market__buyers=10)
    b = trustsim.simulate(trustsim.Params(), seed=2, steps=10, **{"market.uncertainty": 0.8, "buyers": 10})
    c = trustsim.simulate({"market": {"uncertainty": 0.8, "buyers": 10}, "run": {"seed": 2, "steps": 10}})
    assert a.params == b.params == c.params
    pd.testing.assert_frame_equal(a.timeseries, c.timeseries)
    with pytest.raises(trustsim.ParamError, match='did you mean "uncertainty"'):
        trustsim.simulate(uncertanty=0.3)
    with pytest.raises(trustsim.ParamError, match="out of range"):
        trustsim.simulate(uncertainty=1.5)
    with pytest.raises(trustsim.ParamError, match="expected a path"):
        trustsim.simulate(42)


def test_replicate_compare_and_sweep(tmp_path):
    reps = trustsim.replicate(BASELINE, seeds=3, seed=9, steps=15, buyers=10, suppliers=5, workers=1)
    table = reps.table().set_index("figure")
    assert table.loc["all.tco_per_unit", "mean"] == pytest.approx(reps.runs["all.tco_per_unit"].mean())
    steady = table.loc["steady_share"]  # whether the long runs are a transient's: the summary's share, all 3 runs
    assert steady["mean"] == reps.summary["steady_share"] == reps.runs["steady"].astype(bool).mean()
    assert steady["n"] == 3 and steady[["sd", "low", "high"]].isna().all()
    assert list(reps.timeseries["replicate"].unique()) == [0, 1, 2]
    reps.save(tmp_path / "reps")
    assert (tmp_path / "reps" / "replications.csv").is_file()
    diff = trustsim.compare(BASELINE, BASELINE, seeds=2, steps=15, buyers=10, suppliers=5, workers=1,
                            uncertainty=0.5)
    assert diff.paired and (diff.table()["difference"].dropna() == 0).all()
    sw = trustsim.sweep(BASELINE, {"market.uncertainty": [0.0, 0.9]}, replications=2, steps=15, buyers=10,
                        suppliers=5, workers=1)
    assert list(sw.points["n"]) == [2, 2] and len(sw.runs) == 4


def test_compare_of_two_folders_refuses_what_applies_to_scenarios(tmp_path):
    """Results folders hold their runs already: a seed, steps or an override would be dropped without a word, so
    they are refused, as ``trustsim compare A B --steps N`` refuses them."""
    for name, seed in (("a", 1), ("b", 2)):
        trustsim.simulate(BASELINE, seed=seed, steps=6, buyers=8, suppliers=4).save(tmp_path / name)
    a, b = tmp_path / "a", tmp_path / "b"
    for kwargs, key in (({"seeds": 3}, "seeds"), ({"seed": 9}, "seed"), ({"steps": 5}, "steps"),
                        ({"uncertainty": 0.9}, "uncertainty")):
        with pytest.raises(trustsim.ParamError, match=f"{key}: applies to scenarios"):
            trustsim.compare(a, b, **kwargs)
    assert trustsim.compare(a, b).differences() == {}


def test_replicate_warns_how_many_runs_failed(monkeypatch):
    monkeypatch.setenv("TRUSTSIM_FAIL_RUNS", "1")
    with pytest.warns(RuntimeWarning, match=r"1 of 2 runs failed; their errors are in \.runs\['error'\]"):
        reps = trustsim.replicate(BASELINE, seeds=2, steps=4, buyers=6, suppliers=3, workers=1)
    assert reps.failed == [1] and reps.bands() is not None


@pytest.mark.parametrize("call, needle", [
    (lambda: trustsim.replicate(seeds="3"), "seeds: expected a whole number, got str '3'"),
    (lambda: trustsim.replicate(seeds=None), "seeds: expected a whole number"),
    (lambda: trustsim.replicate(seeds=2, workers=0), "workers: 0 must be at least 1"),
    (lambda: trustsim.compare(None, None, seeds=1.5), "seeds: expected a whole number"),
    (lambda: trustsim.sweep(None, [0.1, 0.2]), "factors: expected a dict"),
    (lambda: trustsim.sweep(None, {None: [1, 2]}), "factors: expected a dict"),
    (lambda: trustsim.sweep(None, {"uncertainty": [0.1, 0.2]}, workers=0), "workers: 0 must be at least 1"),
    (lambda: trustsim.replicate(seeds=2, workers=4097), "workers: 4097 is more than the 4096 worker processes"),
    # the command line's "--seeds: expected a whole number from 1 to 1000000": an option the API does not have,
    # and a least value it refuses
    (lambda: trustsim.replicate(seeds=10**9), "^seeds: 1000000000 must be at most 1000000$"),
    (lambda: trustsim.compare(None, None, seeds=10**9), "^seeds: 1000000000 must be at most 1000000$"),
])
def test_bad_api_arguments_are_param_errors_not_type_errors(call, needle):
    with pytest.raises(trustsim.ParamError, match=needle.replace("(", r"\(").replace(".", r"\.")):
        call()


def test_numpy_integers_are_integers():
    import numpy as np

    run = trustsim.simulate(seed=np.int64(3), steps=np.int64(4), buyers=np.int32(6), suppliers=np.uint8(3))
    assert run.params.run.seed == 3 and run.params.market.buyers == 6 and len(run.timeseries) == 4 * 3
    assert trustsim.Params().replace(**{"market.buyers": np.int64(7)}).market.buyers == 7
    reps = trustsim.replicate(seeds=np.int64(2), steps=3, buyers=6, suppliers=3, workers=np.int64(1))
    assert len(reps.runs) == 2


def test_the_params_constructor_takes_numpy_numbers_as_replace_does():
    """Params(market={"buyers": np.int64(6)}) was refused ("expected an integer, got int64") while replace() and
    scenario tables took the same value: a NumPy scalar is the Python number it holds, however the table is given."""
    import numpy as np

    from trustsim.params import Market

    made = trustsim.Params(market={"buyers": np.int64(6), "uncertainty": np.float64(0.6)}, run={"steps": np.int32(4)})
    assert made == trustsim.Params().replace(**{"market.buyers": 6, "market.uncertainty": 0.6, "run.steps": 4})
    assert type(made.market.buyers) is int and type(made.run.steps) is int
    assert Market(buyers=np.uint16(7)).buyers == 7
    for wrong, needle in ((np.float64(6.5), "expected an integer, got float 6.5"),
                          (np.array([6]), "expected an integer, got ndarray"), (np.bool_(True), "got bool True")):
        with pytest.raises(trustsim.ParamError, match=needle):  # still one line naming the key, as replace gives
            trustsim.Params(market={"buyers": wrong})


def _no_folders(monkeypatch):
    """Make writing a temporary or results folder fail, as ``replicate`` and ``sweep`` must never do (the
    process pool's own listener folder, ``mkdtemp``, stays allowed)."""
    def refuse(*a, **k):
        raise AssertionError("the API wrote a folder")

    monkeypatch.setattr(tempfile, "TemporaryDirectory", refuse)
    from trustsim.experiments import execute, journal

    monkeypatch.setattr(execute, "run_sweep", refuse)
    monkeypatch.setattr(execute, "Journal", refuse)
    monkeypatch.setattr(execute, "prepare_folder", refuse)  # where run_sweep's code finds it
    monkeypatch.setattr(journal, "prepare_folder", refuse)


def test_sweep_tables_in_memory_are_the_tables_trustsim_sweep_writes(tmp_path, capsys, monkeypatch):
    path = tmp_path / "sw.toml"
    path.write_text(small_sweep(BASELINE, replications=2))
    assert main(["sweep", str(path), "--out", str(tmp_path / "cli"), "--workers", "1", "--quiet"]) == 0
    files = pd.read_parquet(tmp_path / "cli" / "runs.parquet"), pd.read_csv(tmp_path / "cli" / "points.csv")
    before, ours = sorted(p.name for p in tmp_path.iterdir()), _ours_in_tmp()
    _no_folders(monkeypatch)
    for workers in (1, 2):
        sw = trustsim.sweep(BASELINE, {"market.uncertainty": [0.0, 0.6]}, replications=2, steps=4, buyers=6,
                            suppliers=3, workers=workers)
        for got, want in zip((sw.runs, sw.points), files, strict=True):
            assert list(got.columns) == list(want.columns)
            pd.testing.assert_frame_equal(got, want, check_exact=False, rtol=1e-12, atol=1e-12)
        print("workers", workers, "runs", len(sw.runs), "points", list(sw.points["n"]))
        assert len(sw.runs) == 4 and (sw.runs["status"] == "ok").all()
    assert sorted(p.name for p in tmp_path.iterdir()) == before
    assert _ours_in_tmp() == ours


def _ours_in_tmp() -> list[str]:
    return sorted(p.name for p in Path(tempfile.gettempdir()).glob("trustsim-*"))


def test_replications_in_memory_are_the_tables_run_seeds_writes(tmp_path, monkeypatch):
    out = tmp_path / "R"
    assert main(["run", str(BASELINE), *TINY, "--seeds", "3", "--seed", "5", "--workers", "1", "--out",
                 str(out)]) == 0
    runs = pd.read_csv(out / "replications.csv", keep_default_na=False, na_values=[""])
    _no_folders(monkeypatch)
    reps = [trustsim.replicate(BASELINE, seeds=3, seed=5, steps=6, buyers=8, suppliers=4, workers=w)
            for w in (1, 2)]
    for rep in reps:
        got = rep.runs.assign(error=rep.runs["error"].replace("", float("nan")))
        pd.testing.assert_frame_equal(got, runs, check_exact=False, rtol=1e-12, atol=1e-12, check_dtype=False)
        for r in range(3):
            want = pd.read_csv(out / "timeseries" / f"replicate-{r:03d}.csv")
            mine = rep.timeseries[rep.timeseries["replicate"] == r].drop(columns="replicate")
            pd.testing.assert_frame_equal(mine.reset_index(drop=True), want, check_exact=False, rtol=1e-12,
                                          atol=1e-12, check_dtype=False)
    pd.testing.assert_frame_equal(reps[0].timeseries, reps[1].timeseries)  # any number of workers: same tables
    pd.testing.assert_frame_equal(reps[0].runs, reps[1].runs)
    print("replicates", reps[0].seeds, "timeseries rows", len(reps[0].timeseries))


def test_a_sweep_file_is_refused_where_one_scenario_belongs(capsys):
    """``trustsim run`` and ``trustsim compare`` refuse a sweep file; run from Python, its base scenario ran
    instead and its [sweep] table was dropped without a word. From Python the refusal names the function that
    runs it, ``trustsim.sweep``, not the command ``trustsim sweep``."""
    path = BASELINE.parent / "sweep_uncertainty.toml"
    for call, compared in ((lambda: trustsim.simulate(path, steps=3), ""),
                           (lambda: trustsim.replicate(path, seeds=2, steps=3, workers=1), ""),
                           (lambda: trustsim.compare(BASELINE, path, seeds=2, steps=3, workers=1),
                            "compare scenarios, or ")):
        with pytest.raises(trustsim.ParamError) as exc:
            call()
        told = f"{path}: sweep: is a sweep file; {compared}run its sweep with trustsim.sweep('{path}')"
        assert str(exc.value) == told
    assert main(["run", str(path), "--steps", "3", "--quiet"]) == 2
    assert f"run it with: trustsim sweep {path}" in capsys.readouterr().err


def test_numpy_numbers_are_numbers_in_every_argument():
    """A root seed from ``np.random``, replications from a DataFrame or a grid from ``np.linspace`` are what
    their Python twins are, as they are for simulate's seed and the overrides."""
    import numpy as np

    reps = trustsim.replicate(seeds=2, seed=np.int64(5), steps=3, buyers=6, suppliers=3, workers=1)
    assert reps.root_seed == 5
    diff = trustsim.compare(None, None, seeds=2, seed=np.uint32(5), steps=3, buyers=6, suppliers=3, workers=1)
    assert diff.sources["root_seed"] == 5
    sw = trustsim.sweep(None, {"uncertainty": np.linspace(0.0, 0.6, 2)}, replications=np.int64(2),
                        seed=np.int64(5), steps=3, buyers=6, suppliers=3, workers=1)
    assert list(sw.points["market.uncertainty"]) == [0.0, 0.6] and list(sw.points["n"]) == [2, 2]
    lhs = trustsim.sweep(None, {"uncertainty": {"min": np.float64(0.0), "max": np.float64(0.9)}}, design="lhs",
                         samples=np.int64(2), steps=3, buyers=6, suppliers=3, workers=1)
    assert len(lhs.points) == 2


@pytest.mark.parametrize("metrics", ["tco_per_unit", 3])
def test_sweep_metrics_that_are_not_a_list_are_refused_as_in_a_sweep_file(metrics):
    """A string was split into its letters ('unknown metric "t"'), a number stopped on a TypeError."""
    with pytest.raises(trustsim.ParamError, match="^metrics: expected a non-empty list of metric names"):
        trustsim.sweep(None, {"uncertainty": [0.1]}, metrics=metrics, steps=2, workers=1)


def test_a_comparison_shows_itself_in_one_line():
    """Its repr was the dataclass's: both scenarios' every parameter and two DataFrames, some 5 000 characters."""
    diff = trustsim.compare(BASELINE, BASELINE.parent / "high_uncertainty.toml", seeds=2, steps=3, buyers=6,
                            suppliers=3, workers=1)
    assert repr(diff) == ("<trustsim comparison of 'baseline' and 'high_uncertainty': 2 and 2 runs, paired on common "
                          "seeds>")


def test_compare_of_a_folder_and_a_scenario_says_it_takes_two_of_a_kind(tmp_path):
    """As ``trustsim compare`` says; the folder was read as a scenario file ('is a directory, not a TOML file')."""
    trustsim.simulate(BASELINE, steps=3, buyers=6, suppliers=3).save(tmp_path / "a")
    for a, b in ((tmp_path / "a", BASELINE), (BASELINE, tmp_path / "a")):
        with pytest.raises(trustsim.ParamError, match=r"a: compare takes two scenarios or two results "
                                                      r"folders, not one of each"):
            trustsim.compare(a, b, seeds=2, steps=3, workers=1)


def test_compare_of_a_folder_and_a_path_that_does_not_exist_names_the_missing_one(tmp_path, capsys):
    """A misspelt folder beside a results folder was called a scenario: the error named the folder that exists and
    said compare takes two of a kind, from Python and on the command line alike."""
    trustsim.simulate(BASELINE, steps=3, buyers=6, suppliers=3).save(tmp_path / "a")
    missing = tmp_path / "a2"
    for a, b in ((tmp_path / "a", missing), (missing, tmp_path / "a")):
        with pytest.raises(trustsim.ParamError) as exc:
            trustsim.compare(a, b)
        assert str(exc.value) == f"{missing}: no such file or folder"
        assert main(["compare", str(a), str(b), "--out", str(tmp_path / "out")]) == 2
        assert capsys.readouterr().err == f"trustsim: error: {missing}: no such file or folder\n"
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("call", [
    lambda seed: trustsim.replicate(seeds=2, seed=seed, steps=3, workers=1),
    lambda seed: trustsim.compare(None, None, seeds=2, seed=seed, steps=3, workers=1),
])
def test_a_bad_root_seed_is_named_as_the_argument_it_is(call):
    """``seed=-1`` was refused as ``--seed: …``, an option the Python call does not have."""
    for seed, needle in ((-1, "seed: expected a whole number from 0 to 2⁶³−1, got -1"),
                         ("1", "seed: expected a whole number from 0 to 2⁶³−1, got '1'"),
                         (True, "seed: expected a whole number from 0 to 2⁶³−1, got True"),
                         (2**63, f"seed: expected a whole number from 0 to 2⁶³−1, got {2**63}")):
        with pytest.raises(trustsim.ParamError) as exc:
            call(seed)
        assert str(exc.value) == needle


def test_a_results_folder_or_manifest_given_as_a_scenario_points_to_rerun(tmp_path):
    """As ``trustsim run`` says; they were refused as 'is a directory' and as a TOML syntax error."""
    trustsim.simulate(BASELINE, steps=3, buyers=6, suppliers=3).save(tmp_path / "r")
    for given in (tmp_path / "r", tmp_path / "r" / "manifest.json"):
        with pytest.raises(trustsim.ParamError, match=r"is a results (folder|manifest), not a scenario; .*rerun"):
            trustsim.simulate(given)


def test_a_scenario_files_own_keys_in_a_mapping_say_what_to_do_instead(tmp_path, monkeypatch):
    """``{"extends": "baseline.toml"}`` was refused as 'unknown table "extends" (did you mean "extends"?)'. A mapping
    holds parameter tables; the file with overrides does what the mapping meant, from the current folder."""
    monkeypatch.chdir(BASELINE.parent)
    with pytest.raises(trustsim.ParamError) as exc:
        trustsim.simulate({"extends": "baseline.toml", "market": {"buyers": 6}})
    message = str(exc.value)
    assert message.startswith("scenario: extends: works in scenario files only") and "did you mean" not in message
    assert "trustsim.simulate('baseline.toml', **{'market.buyers': 6})" in message and "\n" not in message
    meant = trustsim.simulate("baseline.toml", **{"market.buyers": 6}, steps=2, suppliers=3)  # as it says
    assert meant.params == trustsim.simulate(BASELINE, buyers=6, steps=2, suppliers=3).params
    for key, value, needle in (("sweep", {}, "pass the sweep file to trustsim.sweep"),
                               ("description", "mine", "a mapping holds parameter tables only"),
                               ("calibrate", {}, "pass the file to trustsim calibrate")):
        with pytest.raises(trustsim.ParamError, match=f"^scenario: {key}: .*{needle}") as exc:
            trustsim.replicate({key: value}, seeds=2, workers=1)
        assert "did you mean" not in str(exc.value)


def test_a_sweep_file_brings_its_design_and_arguments_replace_its_keys(tmp_path):
    """``trustsim.sweep(FILE)`` ran the file's base scenario on the arguments' design alone: its [sweep] table was
    dropped, so a sweep file without arguments was refused ('expected a table [sweep.factors] …')."""
    path = tmp_path / "sw.toml"
    path.write_text(small_sweep(BASELINE, replications=2, extra="seed = 11\nmetrics = [\"tco_per_unit\"]\n"))
    assert main(["sweep", str(path), "--out", str(tmp_path / "cli"), "--workers", "1", "--quiet"]) == 0
    sw = trustsim.sweep(path, workers=1)
    assert (sw.sweep.seed, sw.sweep.metrics, sw.sweep.replications) == (11, ("tco_per_unit",), 2)
    want = pd.read_parquet(tmp_path / "cli" / "runs.parquet"), pd.read_csv(tmp_path / "cli" / "points.csv")
    for got, file in zip((sw.runs, sw.points), want, strict=True):
        pd.testing.assert_frame_equal(got, file, check_exact=False, rtol=1e-12, atol=1e-12)
    assert trustsim.sweep(trustsim.load_scenario(path), workers=1).runs.equals(sw.runs)  # a loaded file too
    fewer = trustsim.sweep(path, {"market.uncertainty": [0.3]}, replications=1, workers=1)
    assert (fewer.sweep.seed, fewer.sweep.metrics) == (11, ("tco_per_unit",))  # what the arguments leave
    assert list(fewer.points["market.uncertainty"]) == [0.3] and list(fewer.points["n"]) == [1]
    with pytest.raises(trustsim.ParamError, match=r"sw\.toml: sweep\.samples: the lhs design needs samples"):
        trustsim.sweep(path, {"market.uncertainty": {"min": 0.0, "max": 0.6}}, design="lhs", workers=1)


def test_a_comparisons_text_of_an_unknown_figure_says_which_and_suggests_one():
    """``diff.text(["all.tco_per_unt"])`` raised pandas' KeyError, and ``diff.text("all.tco_per_unit")`` looked up
    each of its letters (KeyError: 'a')."""
    diff = trustsim.compare(None, None, seeds=2, steps=3, buyers=6, suppliers=3, workers=1)
    with pytest.raises(trustsim.ParamError) as exc:
        diff.text(["all.tco_per_unit", "all.tco_per_unt"])
    assert str(exc.value) == ("figures: unknown figure 'all.tco_per_unt' (did you mean \"all.tco_per_unit\"?) "
                              "(table() lists them)")
    assert diff.text("all.tco_per_unit").splitlines()[2].startswith("all: cost of ownership per unit")


def test_a_comparisons_text_writes_money_and_small_differences_out_without_exponents():
    """``trustsim compare`` of baseline and high_uncertainty printed the profit advantage as "7907  1.358e+04
    +5.67e+03 [+4.61e+03, +6.73e+03]" and a price difference as "-6.44e-05": figures a reader of a report has to
    decode. They are written out, and the table still fits 100 columns."""
    import pandas as pd

    diff = trustsim.compare(None, None, seeds=2, steps=3, buyers=6, suppliers=3, workers=1)
    rows = {"advantage.profit_cum": (7907.0, 13580.0, 5672.0, 4610.0, 6731.0),
            "partner.component_price": (0.8249, 0.8248, -6.44e-05, -0.00417, 0.00404),
            "partner.trust_supplier": (0.9999, 0.9998, -4.73e-05, -0.000178, 8.39e-05)}
    diff.table = lambda: pd.DataFrame([{"figure": f, "a": a, "b": b, "difference": d, "low": lo, "high": hi}
                                       for f, (a, b, d, lo, hi) in rows.items()])
    lines = diff.text(list(rows)).splitlines()[2:]
    assert lines[0].split()[-5:] == ["7907", "13580", "+5670", "[+4610,", "+6730]"], lines[0]
    assert lines[1].endswith("-0.0000644 [-0.00417, +0.00404]"), lines[1]
    assert not any("e+" in line or "e-" in line for line in lines), lines
    assert max(map(len, lines)) <= 100


def test_saving_to_something_that_is_no_path_is_a_param_error(tmp_path):
    """``run.save(None)`` and ``reps.save(3)`` raised pathlib's TypeError from deep in the folder checks."""
    run = trustsim.simulate(steps=3, buyers=6, suppliers=3)
    reps = trustsim.replicate(seeds=2, steps=3, buyers=6, suppliers=3, workers=1)
    diff = trustsim.compare(None, None, seeds=2, steps=3, buyers=6, suppliers=3, workers=1)
    for save, out in ((run.save, None), (run.save, 3), (reps.save, None), (diff.save, 3.5)):
        with pytest.raises(trustsim.ParamError) as exc:
            save(out)
        assert str(exc.value) == f"out: expected a folder's path, got {type(out).__name__}"


def test_a_save_refused_from_python_names_the_argument_to_pass_and_the_command_line_its_options(tmp_path, capsys):
    """``save()`` over a user's folder said "choose another --out, or pass --force", options a Python caller
    has not got: it is told ``force=True``, and the command line still ``--out`` and ``--force``."""
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("mine")
    small = {"steps": 3, "buyers": 6, "suppliers": 3}
    run = trustsim.simulate(BASELINE, **small)
    reps = trustsim.replicate(BASELINE, seeds=2, workers=1, **small)
    diff = trustsim.compare(BASELINE, BASELINE, seeds=2, workers=1, **small)
    for save in (run.save, reps.save, diff.save):
        with pytest.raises(trustsim.ParamError) as exc:
            save(mine)
        assert str(exc.value).endswith("holds files that are not a trustsim result; save to another folder, or pass "
                                       "force=True to replace it (its contents are lost)"), str(exc.value)
        with pytest.raises(trustsim.ParamError, match="not even force=True replaces it; save to another folder$"):
            save(BASELINE.parent)  # the folder of the scenario it reads
    sizes = ["--steps", "3", "--set", "market.buyers=6", "--set", "market.suppliers=3", "--quiet", "--out", str(mine)]
    for command in (["run", str(BASELINE)], ["run", str(BASELINE), "--seeds", "2", "--workers", "1"],
                    ["compare", str(BASELINE), str(BASELINE), "--seeds", "2", "--workers", "1"]):
        capsys.readouterr()
        assert main([*command, *sizes]) == 2
        assert "; choose another --out, or pass --force to replace it" in capsys.readouterr().err, command
    assert (mine / "notes.txt").read_text() == "mine" and run.save(mine, force=True) == mine.resolve()


def test_sweep_sets_morriss_levels_as_a_sweep_files_key_does():
    """``levels``, the one ``[sweep]`` key the function had no argument for, was taken for a parameter
    ('levels: unknown parameter'), so a Morris grid other than 4 levels needed a sweep file."""
    sw = trustsim.sweep(BASELINE, {"market.uncertainty": {"min": 0.0, "max": 1.0}}, design="morris", samples=2,
                        levels=6, steps=3, buyers=6, suppliers=3, workers=1)
    assert sw.sweep.levels == 6
    assert set(sw.points["market.uncertainty"].round(9)) <= {0.0, 0.2, 0.4, 0.6, 0.8, 1.0}
    with pytest.raises(trustsim.ParamError, match=r"^levels: applies to the morris design only"):
        trustsim.sweep(BASELINE, {"market.uncertainty": [0.1]}, levels=4, steps=3, workers=1)


def test_a_calibration_files_faulty_table_is_refused_as_trustsim_run_refuses_it(tmp_path, capsys):
    """``trustsim run`` on a calibration file checks its [calibrate] table; from Python the check was lost as soon as
    an override or steps were given (the table was dropped with the overrides), and compare made none."""
    path = tmp_path / "cal.toml"
    path.write_text(f'extends = "{BASELINE.as_posix()}"\n[calibrate]\nbudgt = 60\n[calibrate.parameters]\n'
                    '"time.h_admin" = { lo = 2.0, hi = 40.0 }\n[[calibrate.targets]]\nname = "a"\n'
                    'measure = "nonprod_least_trusted"\nvalue = 0.47\nsd = 0.03\n')
    needle = 'cal.toml: calibrate.budgt: unknown key (did you mean "budget"?)'
    for call in (lambda: trustsim.simulate(path, steps=3), lambda: trustsim.simulate(path, uncertainty=0.5),
                 lambda: trustsim.replicate(path, seeds=2, steps=3, workers=1),
                 lambda: trustsim.compare(path, BASELINE, seeds=2, steps=3, workers=1)):
        with pytest.raises(trustsim.ParamError, match=re.escape(needle)):
            call()
    out = tmp_path / "out"
    assert main(["compare", str(path), str(BASELINE), "--steps", "3", "--seeds", "2", "--out", str(out)]) == 2
    assert needle in capsys.readouterr().err and not out.exists()


def test_compare_or_rerun_of_a_folder_that_is_no_result_says_so(tmp_path, capsys):
    """A folder without a manifest was refused as '<folder>/manifest.json: no such file', a file never named."""
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    with pytest.raises(trustsim.ParamError) as exc:
        trustsim.compare(tmp_path / "a", tmp_path / "b")
    assert str(exc.value) == f"{tmp_path / 'a'}: not a results folder (no manifest.json)"
    assert main(["rerun", str(tmp_path / "b"), "--out", str(tmp_path / "out")]) == 2
    assert capsys.readouterr().err == f"trustsim: error: {tmp_path / 'b'}: not a results folder (no manifest.json)\n"


@pytest.mark.parametrize("kwargs, told, options, cli", [
    ({"seed": -3}, "seed: expected a whole number from 0 to 2⁶³−1, got -3", ["--seed", str(2**63)],
     f"trustsim run: error: argument --seed: expected a whole number from 0 to 2⁶³−1, got {2**63} (see 'trustsim "
     f"run --help')"),  # argparse's line, as for every option's type
    ({"steps": 0}, "steps: 0 is out of range (allowed 1 to 1000000)", ["--steps", "1000001"],
     "--steps: 1000001 is out of range (allowed 1 to 1000000)"),
    ({"sets": ["market.buyers"]}, "sets: market.buyers: expected group.name=value", ["--set", "market.buyers"], None),
    ({"sets": ["market.buyerz=3"]}, 'sets: market.buyerz: unknown parameter (did you mean "buyers"?)',
     ["--set", "market.buyerz=3"], None),
    ({"sets": ["market.buyers=-3", "market.buyers=6"]}, "sets: market.buyers: -3 is out of range (allowed 1 to "
                                                        "10000000)",
     ["--set", "market.buyers=-3", "--set", "market.buyers=6"], None),
    ({"sets": ["prices.min_markup=5"]}, "sets: prices.min_markup (5.0) must not exceed prices.fair_markup (0.08)",
     ["--set", "prices.min_markup=5"], None),
])
def test_load_scenario_names_its_arguments_and_the_command_line_its_options(capsys, kwargs, told, options, cli):
    """``trustsim.load_scenario(path, seed=-3)`` said ``--seed: …`` and a bad ``sets=`` entry ``--set: …``, options a
    Python caller has not got: it names ``seed``, ``steps`` and ``sets``; ``trustsim run`` still its options."""
    with pytest.raises(trustsim.ParamError) as exc:
        trustsim.load_scenario(BASELINE, **kwargs)
    assert str(exc.value) == told
    assert main(["run", str(BASELINE), *options, "--quiet", "--out", "unwritten"]) == 2
    line = f"trustsim: error: {cli or told.replace('sets: ', '--set: ', 1)}"
    line = cli if cli and cli.startswith("trustsim run:") else line
    assert capsys.readouterr().err == f"{line}\n"


def test_a_sweep_argument_refused_from_python_is_named_as_the_argument_and_a_sweep_files_key_as_its_key(
        tmp_path, capsys):
    """``trustsim.sweep(BASELINE, factors, seed=-3)`` said ``scenarios/baseline.toml: sweep.seed: …``, a [sweep]
    table the file has not got: it names the argument (``seed``, ``factors: market.x``). A fault in a sweep file's
    own table still names the file and its key, from Python and from ``trustsim sweep`` alike."""
    grid = {"market.uncertainty": [0.1, 0.2]}
    for kwargs, told in (({"seed": -3}, "seed: expected a whole number from 0 to 2⁶³−1, got -3"),
                         ({"replications": 0}, "replications: expected a whole number from 1 to 1000000, got 0"),
                         ({"design": "gird"}, "design: 'gird' is not one of grid, lhs, sobol, morris (did you mean "
                                              "\"grid\"?)"),
                         ({"factors": {"market.uncertaintz": [0.1]}}, 'factors: market.uncertaintz: unknown parameter '
                                                                      '(did you mean "uncertainty"?)')):
        with pytest.raises(trustsim.ParamError) as exc:
            trustsim.sweep(BASELINE, **{"factors": grid, **kwargs}, steps=3, workers=1)
        assert str(exc.value) == told
    path = tmp_path / "bad_seed.toml"
    path.write_text(f'extends = "{BASELINE.as_posix()}"\n[sweep]\nseed = -3\n[sweep.factors]\n'
                    f'"market.uncertainty" = [0.1, 0.2]\n')
    in_file = f"{path}: sweep.seed: expected a whole number from 0 to 2⁶³−1, got -3"
    with pytest.raises(trustsim.ParamError) as exc:
        trustsim.sweep(path, steps=3, workers=1)  # the file's seed, not an argument
    assert str(exc.value) == in_file
    with pytest.raises(trustsim.ParamError) as exc:
        trustsim.sweep(path, seed=-4, steps=3, workers=1)  # the argument replaces the file's
    assert str(exc.value) == "seed: expected a whole number from 0 to 2⁶³−1, got -4"
    assert main(["sweep", str(path), "--out", str(tmp_path / "out"), "--quiet", "--workers", "1"]) == 2
    assert capsys.readouterr().err == f"trustsim: error: {in_file}\n" and not (tmp_path / "out").exists()


BAD_STEPS = [({"steps": 0}, "steps: 0 is out of range (allowed 1 to 1000000)"),
             ({"steps": 2.5}, "steps: expected an integer, got float 2.5"),
             ({"steps": True}, "steps: expected an integer, got bool True"),
             ({"steps": "3"}, "steps: expected an integer, got str '3'")]
BAD_SEEDS = [({"seed": -3}, "seed: expected a whole number from 0 to 2⁶³−1, got -3"),
             ({"seed": 2**64}, f"seed: expected a whole number from 0 to 2⁶³−1, got {2**64}"),
             ({"seed": 1.5}, "seed: expected a whole number from 0 to 2⁶³−1, got 1.5"),
             ({"seed": True}, "seed: expected a whole number from 0 to 2⁶³−1, got True"),
             ({"seed": "3"}, "seed: expected a whole number from 0 to 2⁶³−1, got '3'")]


@pytest.mark.parametrize("call, cases", [
    (lambda **kw: trustsim.simulate(BASELINE, **kw), BAD_STEPS + BAD_SEEDS),
    (lambda **kw: trustsim.simulate(trustsim.load_scenario(BASELINE), **kw), BAD_STEPS + BAD_SEEDS),
    (lambda **kw: trustsim.simulate({"market": {"buyers": 6}}, **kw), BAD_STEPS + BAD_SEEDS),
    (lambda **kw: trustsim.load_scenario(BASELINE, **kw), BAD_STEPS + BAD_SEEDS),  # the wording they all share
    # their seed is the root seed, named seed already (test_a_bad_root_seed_is_named_as_the_argument_it_is)
    (lambda **kw: trustsim.replicate(BASELINE, seeds=2, workers=1, **kw), BAD_STEPS),
    (lambda **kw: trustsim.compare(BASELINE, BASELINE, seeds=2, workers=1, **kw), BAD_STEPS),
    (lambda **kw: trustsim.sweep(BASELINE, {"market.uncertainty": [0.1]}, workers=1, **kw), BAD_STEPS),
])
def test_a_bad_seed_or_steps_is_named_as_the_argument_passed_as_load_scenario_names_it(call, cases):
    """``trustsim.simulate(BASELINE, seed=-3)`` said ``run.seed: -3 is out of range …`` and every function's
    ``steps=0`` ``run.steps: …``, a key the caller never wrote, where ``load_scenario`` says ``seed: …``."""
    for kwargs, told in cases:
        with pytest.raises(trustsim.ParamError) as exc:
            call(**kwargs)
        assert str(exc.value) == told


def test_a_seed_argument_wins_over_run_seed_but_a_bad_run_seed_is_still_refused():
    """As ``load_scenario(…, sets=["run.seed=…"], seed=…)`` does: the argument wins, a mistake in the other is
    still one, named as it was written."""
    assert trustsim.simulate(seed=4, run__seed=9, steps=2, buyers=6, suppliers=3).params.run.seed == 4
    with pytest.raises(trustsim.ParamError) as exc:
        trustsim.simulate(seed=4, run__seed=-9, steps=2)
    assert str(exc.value) == "run.seed: -9 is out of range (allowed 0 to 9223372036854775807)"
    with pytest.raises(trustsim.ParamError) as exc:  # steps likewise, and a fault in the argument is named by it
        trustsim.simulate(steps=2, run__steps=0)
    assert str(exc.value) == "run.steps: 0 is out of range (allowed 1 to 1000000)"
    with pytest.raises(trustsim.ParamError) as exc:
        trustsim.simulate(steps=0, run__steps=2)
    assert str(exc.value) == "steps: 0 is out of range (allowed 1 to 1000000)"


def test_a_parameter_given_twice_in_two_spellings_is_refused_naming_both():
    """``uncertainty=5.0, market__uncertainty=0.5`` ran with 0.5, the first value never checked (the last spelling
    silently won), in simulate, replicate and the Mesa model alike."""
    for call in (lambda **kw: trustsim.simulate(None, steps=2, **kw),
                 lambda **kw: trustsim.replicate(None, seeds=2, steps=2, workers=1, **kw),
                 lambda **kw: trustsim.TrustMarket(None, rng=1, **kw)):
        with pytest.raises(trustsim.ParamError) as exc:
            call(uncertainty=5.0, market__uncertainty=0.5)
        assert str(exc.value) == ("market__uncertainty: gives market.uncertainty a second time (it is also given as "
                                  "uncertainty); give it once")
        with pytest.raises(trustsim.ParamError, match=r"market\.buyers: gives market\.buyers a second time .*buyers"):
            call(buyers="x", **{"market.buyers": 5})


def test_numpy_decimal_and_fraction_values_are_saved_as_the_numbers_the_parameters_hold(tmp_path):
    """An override of ``np.int64(6)``, ``Decimal("0.5")`` or ``Fraction(1, 2)`` ran, and ``save`` then failed after
    the whole run (``TypeError: Object of type int64 is not JSON serializable``): the manifest records the values
    the parameters hold, and a sweep's factor values are floats, as a sweep file's TOML gives them."""
    from decimal import Decimal
    from fractions import Fraction

    run = trustsim.simulate(None, steps=np.int64(3), buyers=np.int64(6), suppliers=3, uncertainty=Decimal("0.5"),
                            partner_in_price=np.bool_(False), trust_scaled_hours=np.array(True))
    run.save(tmp_path / "run")
    overrides = json.loads((tmp_path / "run" / "manifest.json").read_text())["scenario"]["overrides"]
    assert overrides == {"run.steps": 3, "market.buyers": 6, "market.suppliers": 3, "market.uncertainty": 0.5,
                         "service.partner_in_price": False, "time.trust_scaled_hours": True}
    assert trustsim.rerun(tmp_path / "run").timeseries.equals(run.timeseries)
    fraction = trustsim.simulate(None, steps=3, buyers=6, suppliers=3, uncertainty=Fraction(1, 2),
                                 partner_in_price=False, trust_scaled_hours=True)
    pd.testing.assert_frame_equal(fraction.timeseries, run.timeseries)
    sw = trustsim.sweep(None, {"uncertainty": [Fraction(1, 10), Decimal("0.2")]}, replications=1, steps=3, buyers=6,
                        suppliers=3, workers=1)
    sw.save(tmp_path / "sweep")
    assert list(pd.read_csv(tmp_path / "sweep" / "points.csv")["market.uncertainty"]) == [0.1, 0.2]


def test_the_mesa_models_seed_written_in_a_mapping_or_as_run_seed_is_the_runs():
    """``TrustMarket(None, **{"run.seed": 9})`` and ``TrustMarket({"run": {"seed": 9}})`` ran on a fresh seed, the
    9 dropped, and ``rng=1, seed=2`` (or ``seed="abc"``) ran seed 1 without a word: a seed written in what is
    passed is the run's unless rng gives one, and two different seeds are refused. A Params always holds a seed
    (0 by default), so without rng it draws a fresh one, as Mesa's models do."""
    small = {"market": {"buyers": 6, "suppliers": 3}, "run": {"steps": 2}}
    assert trustsim.TrustMarket(None, **{"run.seed": 9}).params.run.seed == 9
    assert trustsim.TrustMarket(None, run__seed=9).params.run.seed == 9
    assert trustsim.TrustMarket({**small, "run": {"steps": 2, "seed": 9}}).params.run.seed == 9
    assert trustsim.TrustMarket(scenario={**small, "run": {"steps": 2, "seed": 9}}).params.run.seed == 9
    assert trustsim.TrustMarket({**small, "run": {"steps": 2, "seed": 9}}, rng=4).params.run.seed == 4
    assert trustsim.TrustMarket(small, rng="3", seed=3).params.run.seed == 3
    with pytest.raises(trustsim.ParamError) as exc:
        trustsim.TrustMarket(small, rng=1, seed=2)
    assert str(exc.value) == "seed: given twice, as 2 and as rng=1; give it once"
    with pytest.raises(trustsim.ParamError, match="seed: expected a whole number from 0 to 2⁶³−1, got 'abc'"):
        trustsim.TrustMarket(small, rng=1, seed="abc")
    params = trustsim.Params(run={"seed": 9, "steps": 2})
    assert trustsim.TrustMarket(params).params.run.seed != trustsim.TrustMarket(params).params.run.seed


def test_the_mesa_models_latest_figure_and_progress_are_checked_as_arguments():
    """``latest("trust_buyr")`` raised a bare KeyError, and ``run(progress=3)`` a TypeError after the first step,
    the market already one step on: each is a ParamError naming the argument, before anything runs."""
    model = trustsim.TrustMarket({"run": {"steps": 3}, "market": {"buyers": 5, "suppliers": 3}}, rng=1)
    for call, told in ((lambda: model.latest("trust_buyr"),
                        """column: 'trust_buyr' is no column (did you mean "trust_buyer"?); """
                        "trustsim columns lists them"),
                       (lambda: model.latest("trust_buyer", "partners"),
                        """group: 'partners' is not one of partner, aggressive, all (did you mean "partner"?)"""),
                       (lambda: model.run(progress=3), "progress: expected a function called with each step's count, "
                                                       "got int")):
        with pytest.raises(trustsim.ParamError) as exc:
            call()
        assert str(exc.value) == told
    assert model.steps == 0
    steps = []
    model.run(progress=steps.append)
    assert steps == [1, 1, 1] and model.latest("trust_buyer", "partner") == model.recorder.latest("partner",
                                                                                                    "trust_buyer")


def test_params_given_a_mapping_positionally_is_a_param_error():
    """``Params({"market": {"buyers": 5}})`` raised pydantic's TypeError (takes 1 positional argument)."""
    from trustsim.params import Market

    for call, name in ((lambda: trustsim.Params({"market": {"buyers": 5}}), "Params"), (lambda: Market(5), "Market")):
        with pytest.raises(trustsim.ParamError) as exc:
            call()
        assert str(exc.value) == f'{name}: takes its values as keywords, e.g. Params(market={{"buyers": 60}})'
    assert trustsim.Params(market={"buyers": 5}).market.buyers == 5


def test_a_comparisons_differences_text_takes_a_whole_number_of_at_least_one():
    """``differences_text(0)`` said "parameters that differ: , and 2 more", ``-1`` one more than differ, and "3" or
    None raised TypeError."""
    diff = trustsim.compare(None, {"market": {"uncertainty": 0.5}, "trust": {"gain": 0.2}}, seeds=2, steps=3,
                            buyers=6, suppliers=3, workers=1)
    assert diff.differences_text(1).endswith(" → 0.5, and 1 more (compare.json)")
    for most, told in ((0, "most: 0 must be at least 1"), (-1, "most: -1 must be at least 1"),
                       ("3", "most: expected a whole number, got str '3'"),
                       (None, "most: expected a whole number, got NoneType None")):
        with pytest.raises(trustsim.ParamError) as exc:
            diff.differences_text(most)
        assert str(exc.value) == told


def test_numpy_bools_are_flags_as_python_bools_are(tmp_path):
    """``timeseries=np.True_`` (a DataFrame's cell) was refused as no True or False, where a parameter took it."""
    sw = trustsim.sweep(None, {"uncertainty": [0.1]}, replications=1, steps=2, buyers=6, suppliers=3, workers=1,
                        timeseries=np.True_)
    assert sw.timeseries is not None and len(sw.timeseries)
    run = trustsim.simulate(None, steps=2, buyers=6, suppliers=3)
    run.save(tmp_path / "r")
    (tmp_path / "r" / "mine.txt").write_text("mine")
    with pytest.raises(trustsim.ParamError, match="force=True"):
        run.save(tmp_path / "r", force=np.False_)
    with pytest.raises(trustsim.ParamError, match="force: expected True or False, got 'no'"):
        run.save(tmp_path / "r", force="no")
    run.save(tmp_path / "r", force=np.True_)
    assert not (tmp_path / "r" / "mine.txt").exists()


@pytest.mark.parametrize("call, told", [
    (lambda: trustsim.sweep(None, {"uncertainty": [0.1]}, replication=2, steps=2),
     "replication: is neither an argument of trustsim.sweep nor a parameter (did you mean replications=?)"),
    (lambda: trustsim.replicate(None, seeds=2, steps=2, workrs=1),
     "workrs: is neither an argument of trustsim.replicate nor a parameter (did you mean workers=?)"),
    (lambda: trustsim.simulate(None, steps=2, workers=1),
     "workers: is neither an argument of trustsim.simulate (trustsim.replicate, trustsim.compare and trustsim.sweep "
     "take it) nor a parameter"),
    (lambda: trustsim.simulate(None, steps=2, uncertanty=0.3), 'uncertanty: unknown parameter (did you mean '
                                                               '"uncertainty"?)'),
])
def test_a_misspelt_or_misplaced_argument_is_named_as_an_argument_not_a_parameter(call, told):
    """``sweep(…, replication=2)`` said "unknown parameter (did you mean "detection"?)": a keyword that is no
    parameter but near an argument of the function, or an argument of another, is told as such."""
    with pytest.raises(trustsim.ParamError) as exc:
        call()
    assert str(exc.value) == told


def test_any_mapping_of_tables_is_a_scenario_as_a_dict_is():
    """A mappingproxy of tables was "expected a path, Params, Scenario or mapping, got mappingproxy" (a mapping),
    and a group given as one "expected a table [market]"."""
    from types import MappingProxyType as Proxy

    tables = {"market": {"buyers": 6, "suppliers": 3}, "run": {"steps": 2, "seed": 4}}
    proxy = Proxy({group: Proxy(table) for group, table in tables.items()})
    assert trustsim.simulate(proxy).params == trustsim.simulate(tables).params
    assert trustsim.TrustMarket(proxy).params == trustsim.TrustMarket(tables).params


def test_failed_runs_are_a_property_of_replications_and_of_a_comparison_alike(monkeypatch):
    """``reps.failed`` was a property and ``diff.failed()`` a method: the same question asked two ways. Both are
    properties, the replicates whose run failed (A's and B's for a comparison)."""
    monkeypatch.setenv("TRUSTSIM_FAIL_RUNS", "1")
    small = {"steps": 3, "buyers": 6, "suppliers": 3, "workers": 1}
    with pytest.warns(RuntimeWarning, match="1 of 2 runs failed"):
        reps = trustsim.replicate(BASELINE, seeds=2, **small)
    with pytest.warns(RuntimeWarning, match="1 of 2 runs failed"):
        diff = trustsim.compare(BASELINE, BASELINE, seeds=2, **small)
    assert reps.failed == [1] and diff.failed == ([1], [1])
    assert not callable(diff.failed) and not callable(reps.failed)


def test_a_results_summary_and_a_comparisons_count_are_properties_as_a_runs_summary_is(tmp_path):
    """``run.summary`` was a property and ``reps.summary()`` a method, and ``diff.compared()`` a method beside the
    ``diff.failed`` property: like things asked two ways. All are properties; ``reps.summary`` is summary.json."""
    small = {"steps": 3, "buyers": 6, "suppliers": 3}
    run = trustsim.simulate(**small)
    reps = trustsim.replicate(seeds=2, workers=1, **small)
    diff = trustsim.compare(None, None, seeds=2, workers=1, **small)
    assert isinstance(run.summary, dict) and isinstance(reps.summary, dict) and diff.compared == 2
    assert set(run.summary) >= {"long_run", "steady_state"} and reps.summary["replications"] == 2
    assert reps.summary == json.loads((reps.save(tmp_path / "reps") / "summary.json").read_text())


def test_rerun_makes_a_run_or_replications_again_from_its_folder_as_trustsim_rerun_does(tmp_path):
    """``trustsim rerun FOLDER`` had no Python twin: ``trustsim.rerun`` gives the :class:`Run` or the replications
    ``simulate`` and ``replicate`` gave, from the manifest alone, whose ``save`` writes the original's tables."""
    small = {"steps": 4, "buyers": 6, "suppliers": 3}
    trustsim.simulate(BASELINE, seed=3, uncertainty=0.7, **small).save(tmp_path / "run")
    trustsim.replicate(BASELINE, seeds=2, seed=5, workers=1, **small).save(tmp_path / "reps")
    run = trustsim.rerun(tmp_path / "run")
    assert isinstance(run, trustsim.Run) and (run.params.run.seed, run.params.market.uncertainty) == (3, 0.7)
    assert str(trustsim.rerun(tmp_path / "run" / "manifest.json").params) == str(run.params)  # the manifest too
    reps = trustsim.rerun(str(tmp_path / "reps"), workers=1)
    assert (reps.root_seed, len(reps.runs), reps.failed) == (5, 2, [])
    run.save(tmp_path / "run2")
    reps.save(tmp_path / "reps2")
    for folder, tables in (("run", ("timeseries.csv", "summary.json", "buyers.csv")),
                           ("reps", ("replications.csv", "summary.json", "bands.csv"))):
        for name in tables:
            assert (tmp_path / f"{folder}2" / name).read_bytes() == (tmp_path / folder / name).read_bytes(), name


def test_rerun_refuses_in_one_line_naming_the_argument_and_never_saves_over_the_original(tmp_path):
    """As ``trustsim rerun`` does, in a Python caller's words: ``workers`` for one run, a folder that is no result;
    and the result made again is never saved into the folder it was made from, not even with ``force=True``."""
    trustsim.simulate(BASELINE, steps=3, buyers=6, suppliers=3).save(tmp_path / "run")
    (tmp_path / "empty").mkdir()
    for folder, kwargs, told in (
            (tmp_path / "run", {"workers": 1}, "workers: applies to replications only (one run uses one core)"),
            (tmp_path / "run", {"workers": 0}, "workers: 0 must be at least 1"),
            (tmp_path / "empty", {}, f"{tmp_path / 'empty'}: not a results folder (no manifest.json)"),
            (tmp_path / "nothing", {}, f"{tmp_path / 'nothing'}: no such file"),
            (None, {}, "folder: expected a results folder's or its manifest's path, got NoneType"),
            (" ", {}, "folder: is empty or blank; name a results folder or its manifest.json")):
        with pytest.raises(trustsim.ParamError) as exc:
            trustsim.rerun(folder, **kwargs)
        assert str(exc.value) == told
    trustsim.replicate(BASELINE, seeds=2, steps=3, buyers=6, suppliers=3, workers=1).save(tmp_path / "reps")
    for folder in ("run", "reps"):
        again = trustsim.rerun(tmp_path / folder, **({"workers": 1} if folder == "reps" else {}))
        with pytest.raises(trustsim.ParamError, match="not even force=True replaces it; save to another folder$"):
            again.save(tmp_path / folder, force=True)


def test_rerun_warns_when_other_versions_made_the_result(tmp_path):
    """``trustsim rerun`` notes a version other than the manifest records; from Python that is a RuntimeWarning."""
    trustsim.simulate(BASELINE, steps=3, buyers=6, suppliers=3).save(tmp_path / "run")
    path = tmp_path / "run" / "manifest.json"
    path.write_text(re.sub(r'"numpy": "[^"]*"', '"numpy": "1.0.0"', path.read_text()))
    with pytest.warns(RuntimeWarning, match=r"^numpy 1\.0\.0 recorded, .* installed; the tables may differ in the "
                                            r"last digits$"):
        trustsim.rerun(tmp_path / "run")


def test_compare_names_the_argument_a_or_b_that_holds_the_fault():
    """``trustsim.compare(BASELINE, 4)`` said ``scenario: …``, an argument compare has not got, whichever side was
    wrong; and ``compare("", "")`` took the blank names for the current folder, "compared with itself"."""
    for a, b, told in ((BASELINE, 4, "b: expected a path, Params, Scenario or mapping, got int"),
                       ([], BASELINE, "a: expected a path, Params, Scenario or mapping, got list"),
                       (BASELINE, {"markt": {}}, 'b: markt: unknown table "markt" (did you mean "market"?)'),
                       ({"market": 3}, BASELINE, "a: market: expected a table [market], got int"),
                       ("", "", "a: is empty or blank; name a scenario TOML file or a results folder"),
                       (BASELINE, " ", "b: is empty or blank; name a scenario TOML file or a results folder")):
        with pytest.raises(trustsim.ParamError) as exc:
            trustsim.compare(a, b, seeds=2, steps=3, workers=1)
        assert str(exc.value) == told
    with pytest.raises(trustsim.ParamError, match=r"^b: extends: works in scenario files only"):
        trustsim.compare(BASELINE, {"extends": "baseline.toml"}, seeds=2, steps=3, workers=1)


def test_load_scenario_refuses_sets_that_are_not_a_list_of_strings_in_one_line():
    """``sets=3`` and ``sets=[3]`` raised TypeError and AttributeError from inside the loop over them; ``sets=None``
    is no overrides, as ``seed=None`` is no seed."""
    assert trustsim.load_scenario(BASELINE, sets=None).params == trustsim.load_scenario(BASELINE).params
    for sets, told in ((3, "got int 3"), ([3], "got int 3 in it"),
                       (("market.buyers=6", None), "got NoneType None in it"),
                       ({"market.buyers": 6}, "got dict {'market.buyers': 6}")):
        with pytest.raises(trustsim.ParamError) as exc:
            trustsim.load_scenario(BASELINE, sets=sets)
        assert str(exc.value) == f'sets: expected a list of "group.name=value" strings, {told}'


def test_calibrate_refuses_an_out_or_a_file_that_names_nothing_in_one_line_naming_the_argument():
    """``calibrate(file, out=3)`` raised pathlib's TypeError, ``out=""`` was refused as the current folder (``.``),
    a folder never named, and ``calibrate("")`` said ``scenario: …``, an argument calibrate has not got."""
    cal = BASELINE.parent / "calibration.toml"
    for kwargs, told in (({"out": 3}, "out: expected a folder's path, got int"),
                         ({"out": []}, "out: expected a folder's path, got list"),
                         ({"out": ""}, "out: is empty or blank; name a folder for the results"),
                         ({"file": " "}, "file: is empty or blank; name a calibration TOML file")):
        with pytest.raises(trustsim.ParamError) as exc:
            trustsim.calibrate(**{"file": cal, **kwargs})
        assert str(exc.value) == told


def test_a_results_folder_given_as_a_scenario_names_trustsim_rerun_from_python(tmp_path, capsys):
    """From Python the refusal said ``trustsim rerun …/manifest.json``, the command; it names the function that
    does it, with the path as given, and the command line still names the command."""
    trustsim.simulate(BASELINE, steps=3, buyers=6, suppliers=3).save(tmp_path / "r")
    for given, what in ((tmp_path / "r", "folder"), (tmp_path / "r" / "manifest.json", "manifest")):
        for call in (trustsim.simulate, trustsim.replicate, trustsim.sweep):
            with pytest.raises(trustsim.ParamError) as exc:
                call(given)
            assert str(exc.value) == (f"{given}: is a results {what}, not a scenario; to make that result again: "
                                      f"trustsim.rerun({str(given)!r})")
        assert isinstance(trustsim.rerun(str(given)), trustsim.Run)  # as it says
        assert main(["run", str(given), "--quiet"]) == 2
        assert capsys.readouterr().err.endswith(f"trustsim rerun {tmp_path / 'r' / 'manifest.json'}\n")


def test_the_mesa_models_seed_is_named_as_passed_and_a_fractional_or_bool_one_refused():
    """``TrustMarket(params, rng=-3)`` said ``run.seed: …``, a key the caller never wrote, where ``rng="x"`` says
    ``seed: …`` (Mesa's rng is the seed); ``rng=1.5`` raised NumPy's TypeError from inside Mesa, and ``rng=True``
    ran seed 1."""
    small = trustsim.Params().replace(**{"market.buyers": 6, "market.suppliers": 3, "run.steps": 2})
    for kwargs, told in (({"rng": -3}, "seed: expected a whole number from 0 to 2⁶³−1, got -3"),
                         ({"seed": 2**63}, f"seed: expected a whole number from 0 to 2⁶³−1, got {2**63}"),
                         ({"rng": 1.5}, "seed: expected a whole number from 0 to 2⁶³−1, got 1.5"),
                         ({"seed": True}, "seed: expected a whole number from 0 to 2⁶³−1, got True"),
                         ({"rng": "x"}, "seed: expected a whole number from 0 to 2⁶³−1, got 'x'")):
        with pytest.raises(trustsim.ParamError) as exc:
            trustsim.TrustMarket(small, **kwargs)
        assert str(exc.value) == told
    assert trustsim.TrustMarket(small, rng="7").params.run.seed == 7  # the app's seed box sends text


def test_a_comparisons_text_of_figures_that_are_no_list_is_a_param_error_and_none_the_key_figures():
    """``diff.text(3)`` and ``diff.text(None)`` raised TypeError ('int' object is not iterable)."""
    diff = trustsim.compare(None, None, seeds=2, steps=3, buyers=6, suppliers=3, workers=1)
    with pytest.raises(trustsim.ParamError) as exc:
        diff.text(3)
    assert str(exc.value) == "figures: expected a figure's name or a list of them (table() lists them), got int"
    assert diff.text(None) == diff.text()
    names = diff.table()["figure"][:2]
    assert diff.text(names) == diff.text(list(names)) != diff.text()  # a column of table() is a list of names too


def test_a_sweeps_factor_values_may_be_a_tuple_or_a_range_as_a_list():
    """``{"market.uncertainty": (0.0, 0.6)}`` was refused: 'expected a list of values for a grid'."""
    small = {"replications": 1, "steps": 3, "buyers": 6, "suppliers": 3, "workers": 1}
    want = trustsim.sweep(None, {"market.uncertainty": [0.0, 0.6], "market.slots_per_buyer": [1, 2]}, **small)
    got = trustsim.sweep(None, {"market.uncertainty": (0.0, 0.6), "market.slots_per_buyer": range(1, 3)}, **small)
    pd.testing.assert_frame_equal(got.points, want.points)
    lhs = trustsim.sweep(None, {"uncertainty": {"min": 0.0, "max": 0.9}}, design="lhs", samples=2, **small)
    assert len(lhs.points) == 2
    with pytest.raises(trustsim.ParamError, match="^factors: uncertainty: expected a list of values for a grid"):
        trustsim.sweep(None, {"uncertainty": {0.1, 0.2}}, **small)  # a set has no order: refused still


@pytest.mark.parametrize("flag", ["force", "resume", "quiet", "predictive", "figures"])
def test_calibrate_refuses_a_flag_that_is_not_true_or_false_as_save_does(tmp_path, monkeypatch, flag):
    """``calibrate(file, out, force="no")`` took "no" for True and would replace the folder, where ``save(out,
    force="no")`` is refused."""
    import trustsim.calibration.run as run

    def started(*args, **kwargs):
        raise AssertionError(f"{flag}='no' started the calibration")

    monkeypatch.setattr(run, "local_executor", started)
    with pytest.raises(trustsim.ParamError) as exc:
        trustsim.calibrate(BASELINE.parent / "calibration.toml", tmp_path / "out", **{flag: "no"})
    assert str(exc.value) == f"{flag}: expected True or False, got 'no'"
    assert not (tmp_path / "out").exists()


def test_a_sweeps_factor_values_may_be_a_pandas_column_as_a_numpy_array():
    """``{"market.uncertainty": table["uncertainty"]}`` was refused ('expected a list of values for a grid') where
    ``np.linspace`` values are taken."""
    small = {"replications": 1, "steps": 3, "buyers": 6, "suppliers": 3, "workers": 1}
    want = trustsim.sweep(None, {"market.uncertainty": [0.0, 0.6]}, **small)
    for values in (pd.Series([0.0, 0.6]), pd.Index([0.0, 0.6])):
        pd.testing.assert_frame_equal(trustsim.sweep(None, {"market.uncertainty": values}, **small).points,
                                      want.points)


def test_a_path_holding_a_nul_character_is_a_param_error_for_rerun_and_calibrates_out(tmp_path):
    """As ``simulate`` and ``save`` refuse one: ``rerun("a\\0b")`` and ``calibrate(file, out="a\\0b")`` raised
    ValueError ('embedded null character in path') from ``open`` and ``os.lstat``."""
    bad = str(tmp_path / "a\0b")
    for call in (lambda: trustsim.rerun(bad), lambda: trustsim.calibrate(BASELINE.parent / "calibration.toml", bad),
                 lambda: trustsim.simulate(bad + ".toml")):
        with pytest.raises(trustsim.ParamError, match=r"a\\x00b(\.toml)?: a path cannot hold a NUL character"):
            call()


def test_a_path_name_too_long_is_a_param_error_wherever_a_path_is_probed(tmp_path):
    """``simulate``, ``compare`` and ``rerun`` of a name longer than the file system allows raised OSError ('File name
    too long') from ``Path.is_dir``, where ``load_scenario`` and ``save`` say it cannot be read or written; and
    ``compare(folder, "a\\0b")`` called a NUL's path missing."""
    long = str(tmp_path / ("x" * 5000))
    for call in (lambda: trustsim.simulate(long + ".toml"), lambda: trustsim.replicate(long + ".toml"),
                 lambda: trustsim.sweep(long + ".toml"), lambda: trustsim.compare(long, long + "y"),
                 lambda: trustsim.compare(BASELINE, long), lambda: trustsim.rerun(long)):
        with pytest.raises(trustsim.ParamError, match=r"characters\): cannot be read \(File name too long\)$"):
            call()
    with pytest.raises(trustsim.ParamError, match=r"a\\x00b: a path cannot hold a NUL character"):
        trustsim.compare(tmp_path, str(tmp_path / "a\0b"))


@pytest.mark.parametrize("seed", [np.random.default_rng(5), np.random.SeedSequence(5), [1, 2]])
def test_a_generator_seed_sequence_or_list_is_refused_as_a_seed_not_set_aside(seed):
    """Mesa takes ``rng=np.random.default_rng(5)``, but a run's draws come by counter from one whole-number seed:
    ``TrustMarket(rng=Generator)`` ran the scenario's seed without a word. It is refused in one line naming
    ``seed``, by the model and by every function of the API that takes a seed."""
    told = (f"seed: expected a whole number from 0 to 2⁶³−1, got {type(seed).__name__}: every random number of a "
            f"run is drawn from one whole-number seed (docs/ODD.md, decision 34)")
    small = trustsim.Params().replace(**{"market.buyers": 6, "market.suppliers": 3, "run.steps": 2})
    for call in (lambda: trustsim.TrustMarket(small, rng=seed), lambda: trustsim.TrustMarket(small, seed=seed),
                 lambda: trustsim.simulate(small, seed=seed), lambda: trustsim.load_scenario(BASELINE, seed=seed),
                 lambda: trustsim.replicate(small, seeds=2, seed=seed, workers=1),
                 lambda: trustsim.sweep(small, {"market.uncertainty": [0.1]}, seed=seed, workers=1),
                 lambda: trustsim.calibrate(SCENARIOS / "calibration.toml", seed=seed)):  # its own check had no why
        with pytest.raises(trustsim.ParamError) as exc:
            call()
        assert str(exc.value) == told
    assert trustsim.TrustMarket(small, rng=np.int64(7)).params.run.seed == 7  # a NumPy integer is a whole number


def test_every_function_words_a_bad_seed_alike():
    """A negative seed was "is out of range (allowed 0 to …)" from simulate, load_scenario and TrustMarket, "must be
    at least 0" from replicate and compare, and "expected a whole number from 0 to 2⁶³−1" from sweep and calibrate:
    one fault, one line."""
    small = trustsim.Params().replace(**{"market.buyers": 6, "market.suppliers": 3, "run.steps": 2})
    calls = {"simulate": lambda s: trustsim.simulate(small, seed=s),
             "load_scenario": lambda s: trustsim.load_scenario(BASELINE, seed=s),
             "TrustMarket": lambda s: trustsim.TrustMarket(small, rng=s),
             "replicate": lambda s: trustsim.replicate(small, seeds=2, seed=s, workers=1),
             "compare": lambda s: trustsim.compare(small, small, seeds=2, seed=s, workers=1),
             "sweep": lambda s: trustsim.sweep(small, {"market.uncertainty": [0.1]}, seed=s, workers=1),
             "calibrate": lambda s: trustsim.calibrate(SCENARIOS / "calibration.toml", seed=s)}
    for seed in (-3, 2**63, 1.5, True):
        told = {}
        for name, call in calls.items():
            with pytest.raises(trustsim.ParamError) as exc:
                call(seed)
            told[name] = str(exc.value)
        assert set(told.values()) == {f"seed: expected a whole number from 0 to 2⁶³−1, got {seed!r}"}, told


@pytest.mark.parametrize("key", ["", "__", "market__", "__buyers", " "])
def test_an_override_with_an_empty_name_is_named_as_given(key):
    """``simulate(**{"": 1})`` said "unknown parameter" naming no key, and ``**{"__": 1}`` '.: unknown group ""'."""
    told = (f"{key!r}: is not a parameter's name; name one as uncertainty=0.9, market__uncertainty=0.9 or "
            f'**{{"market.uncertainty": 0.9}}')
    for call in (lambda: trustsim.simulate(steps=2, **{key: 1}), lambda: trustsim.TrustMarket(**{key: 1})):
        with pytest.raises(trustsim.ParamError) as exc:
            call()
        assert str(exc.value) == told


PYTHON_REMAKES = {"sweep": ("a sweep's manifest", "a sweep is made again from its sweep file: trustsim.sweep(FILE)"),
                  "compare": ("a comparison's manifest", "make it again with: trustsim.compare(A, B)"),
                  "calibration": ("a calibration's manifest", "a calibration is made again from its calibration file, "
                                  "with the seed and budget the manifest records: trustsim.calibrate(FILE, seed=SEED, "
                                  "budget=N)")}


@pytest.mark.parametrize("kind", PYTHON_REMAKES)
def test_rerun_or_a_scenario_of_a_result_made_otherwise_names_the_python_function_that_makes_it(tmp_path, capsys,
                                                                                                 kind):
    """``trustsim.rerun`` of a sweep's, a comparison's or a calibration's folder told a Python caller the command
    (``trustsim sweep FILE``), and ``calibrate`` given a results folder said "is a directory, not a TOML file": from
    Python they name the function; ``trustsim rerun`` still names the command."""
    folder = tmp_path / kind
    folder.mkdir()
    (folder / "manifest.json").write_text(json.dumps({"trustsim": trustsim.__version__, "kind": kind}))
    what, remake = PYTHON_REMAKES[kind]
    with pytest.raises(trustsim.ParamError) as exc:
        trustsim.rerun(folder)
    assert str(exc.value) == f"{folder / 'manifest.json'}: kind: is {what}; {remake}"
    for call in (trustsim.simulate, trustsim.calibrate):
        with pytest.raises(trustsim.ParamError) as exc:
            call(folder)
        assert str(exc.value) == f"{folder}: is a results folder, not a scenario; {remake}"
    assert main(["rerun", str(folder)]) == 2
    assert "trustsim." not in capsys.readouterr().err  # the command line names its commands


def test_calibrate_given_a_runs_folder_points_to_rerun(tmp_path):
    """It said "is a directory, not a TOML file", as if a folder were no more than a misspelt file."""
    run = trustsim.simulate(steps=2, buyers=6, suppliers=3).save(tmp_path / "r")
    with pytest.raises(trustsim.ParamError) as exc:
        trustsim.calibrate(run)
    assert str(exc.value) == (f"{run}: is a results folder, not a scenario; to make that result again: "
                              f"trustsim.rerun({str(run)!r})")


def test_a_sweeps_save_writes_the_folder_trustsim_sweep_writes(tmp_path, capsys):
    """Runs, replications and comparisons had ``save(dir)``, a sweep none: its tables were written by hand with
    ``to_csv``, without the manifest, figures and journal that ``trustsim report`` and ``--resume`` read."""
    path = tmp_path / "s.toml"
    path.write_text(small_sweep(BASELINE, replications=2))
    result = trustsim.sweep(path, workers=1)
    mine, theirs = tmp_path / "py", tmp_path / "cli"
    assert result.save(mine) == mine
    assert main(["sweep", str(path), "--out", str(theirs), "--workers", "1", "--quiet"]) == 0
    assert sorted(p.name for p in mine.rglob("*")) == sorted(p.name for p in theirs.rglob("*"))
    for name in ("runs.csv", "points.csv"):
        assert (mine / name).read_bytes() == (theirs / name).read_bytes()
    assert json.loads((mine / "manifest.json").read_text())["runs"] == 4
    with pytest.raises(trustsim.ParamError) as exc:
        result.save(mine)  # as trustsim sweep and merge: a sweep's folder is replaced only when told
    assert str(exc.value) == f"{mine}: holds a sweep; pass force=True to replace it, or save to another folder"
    result.save(mine, force=True)
    capsys.readouterr()
    assert main(["sweep", str(path), "--resume", "--out", str(mine), "--workers", "1", "--quiet"]) == 0
    assert "(0 computed now)" in "".join(capsys.readouterr())  # its journal holds every run
    assert main(["report", str(mine)]) == 0


def _folder_files(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


@pytest.mark.parametrize("timeseries", [False, True])
def test_a_sweeps_save_writes_the_same_files_and_tables_as_trustsim_sweep(tmp_path, capsys, timeseries):
    """``save`` left out the manifest's ``computed_this_time`` and ``resumed_from``, which ``trustsim sweep``
    writes, and had no time series to write: ``trustsim.sweep(…, timeseries=True)`` keeps them, as
    ``--timeseries`` does, and ``save`` writes them one file a run, so that ``--resume --timeseries`` finds the
    folder its own. Every file and table is the command's, but for when and how long it ran."""
    path = tmp_path / "s.toml"
    path.write_text(small_sweep(replications=2))
    flag = ["--timeseries"] if timeseries else []
    mine, theirs = tmp_path / "py", tmp_path / "cli"
    result = trustsim.sweep(path, workers=1, timeseries=timeseries)
    result.save(mine)
    assert main(["sweep", str(path), "--out", str(theirs), "--workers", "1", "--quiet", *flag]) == 0
    assert _folder_files(mine) == _folder_files(theirs)
    assert (mine / "timeseries").is_dir() is timeseries and (result.timeseries is not None) is timeseries
    for name in [n for n in _folder_files(theirs) if n.endswith(".parquet")]:  # runs.parquet, timeseries/run-…
        pd.testing.assert_frame_equal(pd.read_parquet(mine / name), pd.read_parquet(theirs / name))
    for name in ("runs.csv", "points.csv", "sweep.json"):
        assert (mine / name).read_bytes() == (theirs / name).read_bytes(), name
    when = ("started_utc", "wall_seconds")
    got, want = (json.loads((folder / "manifest.json").read_text()) for folder in (mine, theirs))
    assert {k: v for k, v in got.items() if k not in when} == {k: v for k, v in want.items() if k not in when}
    assert (got["computed_this_time"], got["resumed_from"]) == (4, 0)
    rows = [[json.loads(line)["row"] for line in (f / "journal.jsonl").read_text().splitlines()]
            for f in (mine, theirs)]
    assert rows[0] == sorted(rows[1], key=lambda row: row["run_id"])
    capsys.readouterr()
    assert main(["sweep", str(path), "--resume", "--out", str(mine), "--workers", "1", "--quiet", *flag]) == 0
    assert "(0 computed now)" in capsys.readouterr().out  # the folder is this sweep's, every run done


@pytest.mark.parametrize("blank", ["", "  ", Path(" ")])
def test_an_empty_or_blank_name_is_refused_in_one_wording_naming_the_argument(tmp_path, blank):
    """Three wordings for one fault: "scenario: the file name is empty or blank; …" (simulate, load_scenario),
    "a: is empty or blank; …" (compare) and "folder: expected a results folder's or its manifest's path, got an
    empty or blank name" (rerun); calibrate's file had the first, its out and save's out the second. Each names
    its argument and what to name instead, in the words ``--out`` is refused with."""
    calls = {"simulate": (lambda: trustsim.simulate(blank), "scenario", "a scenario TOML file"),
             "load_scenario": (lambda: trustsim.load_scenario(blank), "scenario", "a scenario TOML file"),
             "replicate": (lambda: trustsim.replicate(blank, seeds=2), "scenario", "a scenario TOML file"),
             "sweep": (lambda: trustsim.sweep(blank), "scenario", "a scenario TOML file"),
             "compare a": (lambda: trustsim.compare(blank, BASELINE), "a", "a scenario TOML file or a results folder"),
             "compare b": (lambda: trustsim.compare(BASELINE, blank), "b", "a scenario TOML file or a results folder"),
             "rerun": (lambda: trustsim.rerun(blank), "folder", "a results folder or its manifest.json"),
             "calibrate": (lambda: trustsim.calibrate(blank), "file", "a calibration TOML file"),
             "calibrate out": (lambda: trustsim.calibrate(SCENARIOS / "calibration.toml", out=blank), "out",
                               "a folder for the results"),
             "save": (lambda: trustsim.simulate(steps=2, buyers=6, suppliers=3).save(blank), "out",
                      "a folder for the results")}
    for what, (call, argument, wanted) in calls.items():
        with pytest.raises(trustsim.ParamError) as exc:
            call()
        assert str(exc.value) == f"{argument}: is empty or blank; name {wanted}", what


@pytest.mark.parametrize("kind", ["sweep", "patterns", "compare", "calibration", "structures", "regimes"])
def test_a_result_made_otherwise_is_given_one_remedy_where_a_scenario_belongs_and_by_rerun(tmp_path, capsys, kind):
    """A results folder of a kind that rerun does not make again is refused with how it is made again, by
    ``trustsim run`` and ``trustsim rerun`` alike (its command), and by ``simulate`` and ``rerun`` alike (from
    Python its function, where it has one): the two refusals choose between the two in one way."""
    from trustsim.reproduce import OTHER_KINDS, PYTHON_REMAKE

    folder = tmp_path / kind
    folder.mkdir()
    (folder / "manifest.json").write_text(json.dumps({"trustsim": trustsim.__version__, "kind": kind}))
    what, command = OTHER_KINDS[kind]
    python = PYTHON_REMAKE.get(kind, command)
    assert (python != command) is (kind in PYTHON_REMAKES)
    for call, told in ((trustsim.simulate, f"{folder}: is a results folder, not a scenario; {python}"),
                       (trustsim.rerun, f"{folder / 'manifest.json'}: kind: is {what}; {python}")):
        with pytest.raises(trustsim.ParamError) as exc:
            call(folder)
        assert str(exc.value) == told
    for argv, told in ((["run", folder], f"{folder}: is a results folder, not a scenario; {command}"),
                       (["rerun", folder], f"{folder / 'manifest.json'}: kind: is {what}; {command}")):
        assert main([str(a) for a in argv]) == 2
        assert capsys.readouterr().err == f"trustsim: error: {told}\n"


@pytest.mark.parametrize("how", ["pool", "dask"])
def test_workers_start_from_a_script_read_from_standard_input(tmp_path, how):
    """``python - <<EOF`` with workers=2: Python's workers import the calling script again by its path, and
    "<stdin>" is none, so none started (a worker's traceback, then BrokenProcessPool; Dask: "Nanny failed to
    start"). They need trustsim alone: the runs are made, the same as on one worker."""
    if how == "dask":
        pytest.importorskip("distributed")
    (tmp_path / "sw.toml").write_text(f'extends = "{BASELINE.as_posix()}"\n[run]\nsteps = 6\n[sweep]\ndesign = "grid"\n'
                                      'replications = 2\nseed = 1\nmetrics = ["tco_per_unit"]\n[sweep.factors]\n'
                                      '"market.uncertainty" = [0.0, 0.6]\n')
    script = {
        "pool": f"import trustsim\nkw = dict(steps=8, buyers=12, suppliers=6)\n"
                f"two = trustsim.replicate({str(BASELINE)!r}, 3, workers=2, **kw).runs\n"
                f"one = trustsim.replicate({str(BASELINE)!r}, 3, workers=1, **kw).runs\n"
                f"print(len(two), two.equals(one))\n",
        "dask": "import pandas as pd\nfrom trustsim.experiments import load_sweep, run_sweep\n"
                "for out, kw in (('d', dict(dask='local', workers=2)), ('o', dict(workers=1))):\n"
                "    run_sweep(load_sweep('sw.toml'), out, quiet=True, figures=False, **kw)\n"
                "two, one = pd.read_parquet('d/runs.parquet'), pd.read_parquet('o/runs.parquet')\n"
                "print(len(two), two.drop(columns='wall_seconds', errors='ignore').equals("
                "one.drop(columns='wall_seconds', errors='ignore')))\n"}[how]
    done = subprocess.run([sys.executable, "-"], input=script, capture_output=True, text=True, cwd=tmp_path,
                          timeout=240)
    print(done.stdout, done.stderr[-2000:])
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr[-2000:]
    assert done.stdout.split() == [{"pool": "3", "dask": "4"}[how], "True"], done.stdout


def test_a_run_stepped_on_shows_its_tables_at_its_step_and_is_not_saved_as_the_shorter_run(tmp_path):
    """``run.model.step()`` after simulate: timeseries and buyers stayed at the run's last step while summary and
    network followed the model, and save() wrote a manifest of 10 steps beside tables of 12 (rerun: "edited")."""
    run = trustsim.simulate(BASELINE, seed=2, steps=10, buyers=12, suppliers=6)
    assert run.timeseries["step"].max() == 10
    before = run.buyers.copy()
    run.model.step()
    run.model.step()
    assert run.timeseries["step"].max() == 12 and not run.buyers.equals(before)
    again = trustsim.simulate(BASELINE, seed=2, steps=12, buyers=12, suppliers=6)
    assert run.timeseries.equals(again.timeseries)  # (buyers' long run is the second half of run.steps: not again's)
    with pytest.raises(trustsim.ParamError, match=r"^out: the model was stepped on to step 12, past its run's 10: "
                                                  r"simulate\(…, steps=12\)"):
        run.save(tmp_path / "r")
    assert not (tmp_path / "r").exists()


def test_a_parameter_set_on_a_built_model_is_refused_in_one_line_naming_replace():
    """``m.params.market.uncertainty = 0.9``: pydantic's "Instance is frozen" in four lines with a web address."""
    m = trustsim.TrustMarket(rng=1, buyers=6, suppliers=3)
    with pytest.raises(trustsim.ParamError) as err:
        m.params.market.uncertainty = 0.9
    assert str(err.value) == ("uncertainty: parameters are fixed once validated: params.replace(uncertainty=…) "
                              "gives a copy")
    assert m.params.market.uncertainty == 0.3 and m.params.replace(uncertainty=0.9).market.uncertainty == 0.9
