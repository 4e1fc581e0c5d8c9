"""`trustsim calibrate`: the calibration file, a small calibration written and redrawn, resuming, workers, coverage
on the model itself, screening, and bad options (docs/ODD.md, Calibration). The ABC-SMC core is checked on toy
models in tests/unit/test_calibration.py."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from conftest import BASELINE, SCENARIOS


@pytest.mark.parametrize("table, key, needle", [
    ("[calibrate]\nbudjet = 10", "calibrate.budjet", 'did you mean "budget"'),
    ('[calibrate.parameters]\n"time.h_admn" = {}', "calibrate.parameters.time.h_admn", 'did you mean'),
    ('[calibrate.parameters]\n"time.h_admin" = { lo = 1, hii = 2 }', "hii", 'did you mean "hi"'),
    ('[calibrate.structures]\n"suppliers.attention_policy" = { values = ["silence", "periodc"] }',
     "attention_policy", "'periodc' is not one of"),
    ('[calibrate.structures]\n"trust.gain" = { values = [0.1, 0.2] }', "trust.gain", "not a real number"),
    ('[calibrate.structures]\n"suppliers.atention_policy" = { values = ["silence"] }',
     "calibrate.structures.suppliers.atention_policy", 'unknown parameter (did you mean "attention_policy"?)'),
    ('[calibrate.parameters]\n"trust.gain" = { lo = 0.1, hi = 1.5 }', "calibrate.parameters.trust.gain",
     "range 0.1 … 1.5 leaves the allowed range 0.0 to 1.0"),
    # an end the file leaves out is the parameter's range's: the message names no lo the file does not give
    ('[calibrate.parameters]\n"trust.gain" = { hi = -1.0 }', "calibrate.parameters.trust.gain",
     "hi (-1.0) must be above 0.0, the lowest value of the parameter's range"),
    ('[calibrate.parameters]\n"trust.gain" = { lo = 1.0 }', "calibrate.parameters.trust.gain",
     "lo (1.0) must be below 1.0, the highest value of the parameter's range"),
    ('[calibrate.parameters]\n"trust.gain" = { lo = 0.5, hi = 0.5 }', "calibrate.parameters.trust.gain",
     "lo (0.5) must be below hi (0.5)"),
    ("[calibrate]\nbudget = 100\npopulation = 150", "calibrate.budget", "at least 162 (noise_replicates 12"),
    # the key as written, not with the union member pydantic tried (min_tolerance.float); a table called a table
    ("[calibrate]\nmin_tolerance = inf", "calibrate.min_tolerance: ", "a finite number"),
    ('[calibrate.parameters]\n"time.h_admin" = { lo = "2", hi = 40.0 }', "calibrate.parameters.time.h_admin.lo: ",
     "a valid number"),
    ('[calibrate.structures]\n"suppliers.attention_policy" = { values = ["silence", "periodic"], weights = [nan, 1] }',
     "calibrate.structures.suppliers.attention_policy.weights.0: ", "a finite number"),
    ("[calibrate]\npredictive = 3", "calibrate.predictive: ", "expected a table, got int"),
    # weights whose sum overflows: each weight over the sum was 0, and calibrate failed with an IndexError
    ('[calibrate.structures]\n"suppliers.attention_policy" = { values = ["silence", "periodic"], '
     'weights = [1e308, 1e308] }', "calibrate.structures.suppliers.attention_policy", "weights must have a finite sum"),
    # readings whose combinations are laid out one by one: 40⁵ of them ran the machine out of memory
    ("[calibrate.structures]\n" + "".join(f'"{k}" = {{ values = {list(range(lo, lo + 11))} }}\n' for k, lo in (
        ("market.buyers", 4), ("market.suppliers", 2), ("buyers.n_bids", 1), ("run.steps", 2),
        ("market.slots_per_buyer", 1))), "calibrate.structures",
     "161,051 combinations of readings (11 × 11 × 11 × 11 × 11), more than the 100,000 a calibration compares"),
    # a prior box with points beyond a limit between parameters: calibrate failed at its first such run, after
    # writing its folder; checked at the box's extremes (min_markup at its highest, fair_markup at its lowest)
    ('[calibrate.parameters]\n"prices.min_markup" = { lo = 0.01, hi = 5.0 }', "calibrate.parameters.prices.min_markup",
     "its prior reaches 5.0, above prices.fair_markup (0.08) (prices.min_markup must not exceed prices.fair_markup)"),
    ('[calibrate.parameters]\n"prices.fair_markup" = { lo = 0.0, hi = 0.6 }', "calibrate.parameters.prices.fair_markup",
     "its prior reaches down to 0.0, below prices.min_markup (0.02)"),
    ('[calibrate.parameters]\nmin_markup = { lo = 0.01, hi = 0.5 }\n"prices.fair_markup" = { lo = 0.02, hi = 0.6 }',
     "calibrate.parameters.min_markup: ", "its prior reaches 0.5, above 0.02, the lowest value of prices.fair_markup"),
    # a target whose distance overflows: an internal error, or a nonsense posterior
    ('[[calibrate.targets]]\nname = "b"\nmeasure = "nonprod_most_trusted"\nvalue = 1e308\nsd = 0.03',
     "calibrate.targets.0.value: ", "1e+308 is too large: a target's value must be within ±1e50"),
    ('[[calibrate.targets]]\nname = "b"\nmeasure = "nonprod_most_trusted"\nvalue = 0.5\nsd = 1e308',
     "calibrate.targets.0.sd: ", "a target's sd must be from 1e-50 to 1e50"),
    ('[[calibrate.targets]]\nname = "b"\nmeasure = "nonprod_most_trusted"\nvalue = 0.5\nsd = 1e-300',
     "calibrate.targets.0.sd: ", "a target's sd must be from 1e-50 to 1e50"),
    # a prior a few floating-point numbers wide: the figures' bins could not be drawn
    ('[calibrate.parameters]\n"time.h_monitor" = { lo = 2.0, hi = 2.0000000000000004 }',
     "calibrate.parameters.time.h_monitor", "are too close to sample or draw: a prior must be at least 1e-9 of its"),
    # a dotted name unquoted: TOML's table time holding h_admin ("unknown key" said nothing of the quotes)
    ("[calibrate.parameters]\ntime.h_admin = { lo = 2.0, hi = 40.0 }", "calibrate.parameters.time: ",
     'write the name in quotes, "time.h_admin" = …: unquoted, TOML reads time.h_admin as a table time'),
])
def test_a_bad_calibration_file_is_one_line_and_exit_2(tmp_path, capsys, table, key, needle):
    from trustsim.cli import main

    baseline = BASELINE.as_posix()
    text = (f'extends = "{baseline}"\n{table}\n[[calibrate.targets]]\nname = "a"\n'
            f'measure = "nonprod_least_trusted"\nvalue = 0.47\nsd = 0.03\n')
    if "parameters" not in table:
        text += '[calibrate.parameters]\n"time.h_admin" = { lo = 2.0, hi = 40.0 }\n'
    path = tmp_path / "cal.toml"
    path.write_text(text)
    code = main(["check", str(path)])
    err = capsys.readouterr().err
    print(err)
    assert code == 2 and err.count("\n") == 1 and key in err and needle in err


# --- trustsim calibrate on a small market ---------------------------------------------------------------

SMALL = """extends = "{baseline}"
[run]
steps = 30
[market]
buyers = 10
suppliers = 5
[calibrate]
budget = {budget}
population = 10
noise_replicates = 3
seed = 5
[calibrate.predictive]
draws = 4
pattern_draws = {pattern_draws}
pattern_seeds = 2
[calibrate.parameters]
"time.h_monitor" = {{ lo = 2.0, hi = 40.0 }}
"innovation.quality_idea_value" = {{ lo = 0.02, hi = 0.4 }}
[calibrate.structures]
"suppliers.attention_policy" = {{ values = ["silence", "periodic"], weights = [0.7, 0.3] }}
[[calibrate.targets]]
name = "nonprod_low"
measure = "nonprod_least_trusted"
value = 0.47
sd = 0.03
[[calibrate.targets]]
name = "drop_partner"
measure = "defect_drop_partner"
value = 0.5
sd = 0.08
[[calibrate.targets]]
name = "ratio"
measure = "units_per_hour_ratio"
value = 5
sd = 1.5
role = "held_out"
"""


def small_file(tmp_path, budget=100, pattern_draws=0) -> Path:
    path = tmp_path / "small.toml"
    baseline = BASELINE.as_posix()
    path.write_text(SMALL.format(baseline=baseline, budget=budget, pattern_draws=pattern_draws))
    return path


def test_calibrate_writes_its_folder_and_report_redraws_it(tmp_path, capsys):
    import hashlib
    import json

    import pandas as pd

    from trustsim.cli import main

    path, out = small_file(tmp_path, pattern_draws=1), tmp_path / "cal"
    assert main(["calibrate", str(path), "--out", str(out), "--workers", "1", "--quiet"]) == 0
    print(capsys.readouterr().out)
    post = pd.read_parquet(out / "posterior.parquet")
    assert {"generation", "weight", "structure", "time.h_monitor", "innovation.quality_idea_value"} <= set(post)
    last = post[post.generation == post.generation.max()]
    assert 5 <= len(last) <= 10 and abs(last.weight.sum() - 1) < 1e-9  # a generation cut by the budget keeps ≥ half
    assert post["time.h_monitor"].between(2, 40).all()
    pred = pd.read_csv(out / "predictive.csv")
    assert set(pred.loc[pred.kind == "target", "role"]) == {"calibrate", "held_out"}
    assert {"P3", "P10", "R1", "R4"} <= set(pred.loc[pred.kind == "pattern", "name"])
    # nonprod_low measures P3 and drop_partner P10: those two patterns are checked in sample, not held out
    roles = dict(zip(pred.loc[pred.kind == "pattern", "name"], pred.loc[pred.kind == "pattern", "role"], strict=True))
    print("pattern roles:", roles)
    assert {name for name, role in roles.items() if role == "calibrate"} == {"P3", "P10"}
    assert roles["P4"] == "held_out"
    info = json.loads((out / "manifest.json").read_text())
    assert info["kind"] == "calibration" and info["calibration_file"]["sha256"] == hashlib.sha256(
        path.read_bytes()).hexdigest()
    report = (out / "calibration.md").read_text()
    assert "## Posterior" in report
    assert "Held out: ratio = 5, and every pattern but P3 and P10, whose published figures are the fitted" in report
    assert "| P3 | calibrate |" in report and "| P4 | held_out |" in report
    tables = [[line.count("|") - line.count("\\|") for line in block.splitlines() if line.startswith("|")]
              for block in report.split("\n\n") if block.startswith("| ")]
    print("calibration.md tables, cells per line:", tables)
    assert len(tables) >= 4 and all(len(set(t)) == 1 and len(t) >= 3 for t in tables)  # every row as wide as its header
    for png in (out / "figures").glob("*.png"):
        png.unlink()
    assert main(["report", str(out)]) == 0
    assert {p.name for p in (out / "figures").glob("*.png")} >= {"marginals.png", "pairs.png", "predictive.png"}
    # a second run into the same folder: a finished calibration is replaced only with --force (the new one runs in
    # the folder, so the old would go before it is complete); an unfinished one needs --resume or --force
    manifest = (out / "manifest.json").read_bytes()
    assert main(["calibrate", str(path), "--out", str(out), "--workers", "1", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "finished calibration" in err and "--force" in err and len(err.splitlines()) == 1
    assert (out / "manifest.json").read_bytes() == manifest
    (out / "manifest.json").unlink()
    assert main(["calibrate", str(path), "--out", str(out), "--workers", "1", "--quiet"]) == 2
    assert "--resume" in capsys.readouterr().err


def test_the_pattern_checks_of_a_calibration_run_on_its_own_workers(tmp_path, capsys, monkeypatch):
    """The posterior predictive pattern checks go to the calibration's pool (or Dask cluster), not to a second pool
    of as many workers started beside it: a pattern suite that starts a pool of its own fails this calibration."""
    import importlib

    import pandas as pd

    from trustsim.cli import main

    measure = importlib.import_module("trustsim.patterns.measure")  # the module, which the package's function hides

    def second_pool(*args, **kwargs):
        raise AssertionError("the pattern checks started a second pool")

    monkeypatch.setattr(measure, "local_executor", second_pool)
    path, out = small_file(tmp_path, budget=40, pattern_draws=1), tmp_path / "cal"
    assert main(["calibrate", str(path), "--out", str(out), "--workers", "2", "--quiet"]) == 0, capsys.readouterr()
    pred = pd.read_csv(out / "predictive.csv")
    print(pred.loc[pred.kind == "pattern", ["name", "p_posterior", "p_defaults"]].to_string())
    assert {"P3", "P10", "R1"} <= set(pred.loc[pred.kind == "pattern", "name"])


def test_resume_after_a_kill_gives_the_same_posterior(tmp_path):
    """A kill after the first generation leaves the journal's noise estimate and that generation: --resume goes
    on from there to the posterior of a run never interrupted."""
    import json

    import pandas as pd

    from trustsim.cli import main

    path, out = small_file(tmp_path, budget=200), tmp_path / "cal"
    assert main(["calibrate", str(path), "--out", str(out), "--workers", "1", "--quiet", "--no-predictive"]) == 0
    whole = pd.read_parquet(out / "posterior.parquet")
    assert whole.generation.max() >= 2
    lines = (out / "journal.jsonl").read_text().splitlines(keepends=True)
    kept = [ln for ln in lines if "noise" in json.loads(ln) or json.loads(ln)["population"]["generation"] == 0]
    (out / "journal.jsonl").write_text("".join(kept) + lines[2][:40])  # and a line cut short by the kill
    for name in ("manifest.json", "posterior.parquet", "calibration.md"):
        (out / name).unlink()
    assert main(["calibrate", str(path), "--out", str(out), "--workers", "1", "--quiet", "--no-predictive",
                 "--resume"]) == 0
    pd.testing.assert_frame_equal(pd.read_parquet(out / "posterior.parquet"), whole)


def test_a_resumed_calibrations_wall_time_counts_its_earlier_sessions(tmp_path, capsys, monkeypatch):
    """A calibration interrupted after its first generation, whose first session ran (on a clock set 1000 s ahead
    once it began) to 1000 s, then resumed: the manifest's wall_seconds, calibration.md and the printed line gave
    the last session's seconds alone."""
    import json
    import time
    from types import SimpleNamespace

    import trustsim.calibration.run as run
    from trustsim.cli import main

    real_smc, calls = run.abc_smc, []

    def a_clock_ahead_once_started():
        calls.append(1)
        return time.perf_counter() + (1000.0 if len(calls) > 1 else 0.0)

    def interrupted_after_the_first_generation(*args, on_generation, **kwargs):
        def kept_then_stopped(population):
            on_generation(population)
            raise KeyboardInterrupt
        return real_smc(*args, on_generation=kept_then_stopped, **kwargs)

    path, out = small_file(tmp_path, budget=200), tmp_path / "cal"
    args = ["calibrate", str(path), "--out", str(out), "--workers", "1", "--quiet", "--no-predictive"]
    with monkeypatch.context() as m:
        m.setattr(run, "time", SimpleNamespace(perf_counter=a_clock_ahead_once_started))
        m.setattr(run, "abc_smc", interrupted_after_the_first_generation)
        assert main(args) == 130
    capsys.readouterr()
    t0 = time.perf_counter()
    assert main([*args, "--resume"]) == 0
    session = time.perf_counter() - t0
    wall = json.loads((out / "manifest.json").read_text())["wall_seconds"]
    assert 1000 <= wall <= 1000 + session, (wall, session)
    assert f"in {wall:.0f} s" in capsys.readouterr().out and f"in {wall:.0f} s" in (out / "calibration.md").read_text()


@pytest.mark.parametrize("when", ["while it runs", "while it writes its tables"])
def test_a_calibration_whose_folder_is_removed_while_it_runs_ends_in_one_line(tmp_path, capsys, monkeypatch, when):
    """`rm -rf` of a calibration's folder while it ran ended in "internal error: FileNotFoundError" at its next
    journal line, or an OSError from pandas as it wrote its tables: now one line says the folder went, exit 1."""
    import shutil

    import trustsim.calibration.run as run
    from trustsim.cli import main

    path, out = small_file(tmp_path), tmp_path / "cal"
    real_smc, real_outputs = run.abc_smc, run.write_outputs

    def removed_before_the_first_generation(*args, on_generation, **kwargs):
        def removed_then_kept(population):
            shutil.rmtree(out, ignore_errors=True)
            on_generation(population)
        return real_smc(*args, on_generation=removed_then_kept, **kwargs)

    def removed_then_written(folder, *args, **kwargs):
        shutil.rmtree(folder)
        return real_outputs(folder, *args, **kwargs)

    if when == "while it runs":
        monkeypatch.setattr(run, "abc_smc", removed_before_the_first_generation)
    else:
        monkeypatch.setattr(run, "write_outputs", removed_then_written)
    code = main(["calibrate", str(path), "--out", str(out), "--workers", "1", "--quiet", "--no-predictive"])
    err = capsys.readouterr().err
    assert code == 1 and len(err.splitlines()) == 1 and "internal error" not in err, err
    assert err.startswith(f"trustsim: error: {out}: the calibration's folder, or its journal.jsonl, was removed"), err
    assert not out.exists()


def test_a_calibration_whose_folder_is_removed_stops_at_its_next_finished_batch_not_its_next_generation(
        tmp_path, capsys, monkeypatch):
    """A calibration noticed its folder removed only when it next wrote its journal, at the end of a generation:
    a user who removed the folder to stop it waited for every run of the generation. Now it looks after each
    finished batch, as a sweep does after each run: the folder removed while the first generation's first
    batch ran, only the batch already handed on behind it (two per worker) runs after, not the generation's
    other runs; the same one line, exit 1."""
    import shutil

    from trustsim import ensemble
    from trustsim.calibration import simulate
    from trustsim.cli import main

    path, out = small_file(tmp_path), tmp_path / "cal"
    real_jobs, after = simulate.measure_jobs, []

    def removed_in_the_first_generation(jobs):  # on --workers 1 a batch runs here, as it is handed on
        if after:
            after.append(len(jobs))
        elif (out / "journal.jsonl").exists() and (out / "journal.jsonl").stat().st_size:  # the noise estimate kept
            shutil.rmtree(out)
            after.append(0)
        return real_jobs(jobs)

    monkeypatch.setattr(ensemble, "batch_size", lambda *args: 1)  # a batch per run: the generation's 11 runs in 11
    monkeypatch.setattr(simulate, "measure_jobs", removed_in_the_first_generation)
    code = main(["calibrate", str(path), "--out", str(out), "--workers", "1", "--quiet", "--no-predictive"])
    err = capsys.readouterr().err
    assert code == 1 and len(err.splitlines()) == 1, err
    assert err.startswith(f"trustsim: error: {out}: the calibration's folder, or its journal.jsonl, was removed"), err
    assert after and sum(after) <= 1, f"{sum(after)} runs made after the folder was removed"
    assert not out.exists()


def test_a_calibration_whose_journal_is_removed_while_it_runs_starts_no_journal_of_its_later_entries(
        tmp_path, capsys, monkeypatch):
    """Its journal.jsonl removed while it ran, a calibration made a new one of the entries after, which a later
    --resume would read as the whole calibration: the journal is made with the folder and never again, and the
    calibration ends with one line, exit 1."""
    import trustsim.calibration.run as run
    from trustsim.cli import main

    path, out = small_file(tmp_path), tmp_path / "cal"
    real_smc = run.abc_smc

    def journal_removed(*args, on_generation, **kwargs):
        def removed_then_kept(population):
            (out / "journal.jsonl").unlink()
            on_generation(population)
        return real_smc(*args, on_generation=removed_then_kept, **kwargs)

    monkeypatch.setattr(run, "abc_smc", journal_removed)
    code = main(["calibrate", str(path), "--out", str(out), "--workers", "1", "--quiet", "--no-predictive"])
    err = capsys.readouterr().err
    assert code == 1 and len(err.splitlines()) == 1 and "was removed while it ran" in err, err
    assert not (out / "journal.jsonl").exists() and (out / "calibration.json").exists()


def test_one_generation_is_said_in_the_singular(tmp_path, capsys):
    """A budget that keeps one generation printed "1 generations", and calibration.md said it too."""
    from trustsim.cli import main

    path, out = small_file(tmp_path, budget=20), tmp_path / "cal"  # a budget that keeps one generation
    assert main(["calibrate", str(path), "--out", str(out), "--workers", "1", "--quiet", "--no-predictive"]) == 0
    printed = capsys.readouterr().out
    print(printed)
    assert printed.startswith("small: 1 generation, "), printed
    assert "1 generation of " in (out / "calibration.md").read_text()


def test_the_runs_reported_count_a_last_generation_the_budget_cut_short(tmp_path, capsys, monkeypatch):
    """A budget of 100 runs out in generation 2 before half its particles are accepted: the generation is not kept,
    but its runs were made, and the runs the command, calibration.md and the manifest report count them."""
    import json

    from trustsim.calibration import simulate
    from trustsim.cli import main

    made, real = [], simulate.Simulator.runs
    monkeypatch.setattr(simulate.Simulator, "runs", lambda self, params, seeds: made.append(len(params)) or
                        real(self, params, seeds))
    path, out = small_file(tmp_path, budget=100), tmp_path / "cal"
    assert main(["calibrate", str(path), "--out", str(out), "--workers", "1", "--quiet", "--no-predictive"]) == 0
    printed = capsys.readouterr().out
    info = json.loads((out / "manifest.json").read_text())
    print(printed, info.get("cut_generation"))
    assert sum(made) == 100 and info["runs"] == 100, (sum(made), info["runs"])
    cut = info["cut_generation"]
    assert cut["generation"] == 2 and cut["runs"] > 0
    assert f"2 generations, 100 runs ({cut['runs']} in a last generation the budget cut short, not kept)" in printed
    assert (f"100 market runs of a budget of 100 (run-noise estimate included; {cut['runs']} of them in generation 2,"
            in (out / "calibration.md").read_text())


def test_a_calibration_is_resumed_only_by_the_code_that_started_it(tmp_path, capsys):
    import json

    from trustsim.cli import main

    path, out = small_file(tmp_path, budget=200), tmp_path / "cal"
    assert main(["calibrate", str(path), "--out", str(out), "--workers", "1", "--quiet", "--no-predictive"]) == 0
    (out / "manifest.json").unlink()  # unfinished, as after a kill
    state = json.loads((out / "calibration.json").read_text())
    (out / "calibration.json").write_text(json.dumps({**state, "code": "0" * 16}))
    before = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()}
    assert main(["calibrate", str(path), "--out", str(out), "--workers", "1", "--quiet", "--no-predictive",
                 "--resume"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "started by other trustsim code" in err and "--force" in err
    assert {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()} == before


def test_the_same_seed_gives_the_same_posterior_on_one_worker_two_or_dask(tmp_path):
    import pandas as pd

    import trustsim

    path = small_file(tmp_path, budget=70)
    one = trustsim.calibrate(path, workers=1, predictive=False)
    two = trustsim.calibrate(path, workers=2, predictive=False)
    print(one["parameters"].to_string())
    pd.testing.assert_frame_equal(one["posterior"], two["posterior"])
    pytest.importorskip("distributed")
    on_dask = trustsim.calibrate(path, workers=2, dask="local", predictive=False)
    pd.testing.assert_frame_equal(one["posterior"], on_dask["posterior"])
    other = trustsim.calibrate(path, workers=1, predictive=False, seed=6)
    assert not other["posterior"].equals(one["posterior"])


@pytest.mark.slow
def test_coverage_on_trustsim_at_known_parameters(tmp_path):
    """Simulation-based calibration on the model itself (small market, small budget): truths drawn from the
    prior, their figures simulated on fresh seeds; the intervals hold them at about their nominal rates."""
    import trustsim
    from trustsim.calibration.diagnostics import coverage_summary

    tables = trustsim.calibrate(small_file(tmp_path, budget=60), workers=2, predictive=False, check_coverage=8,
                                coverage_budget=80)
    cov = tables["coverage"]
    assert cov["dataset"].nunique() == 8 and set(cov["parameter"]) == {"time.h_monitor",
                                                                      "innovation.quality_idea_value"}
    for s in coverage_summary(cov.to_dict("records")):
        print(f"{s['level']:.0%} intervals held the truth in {s['rate']:.0%} of {s['n']} (se {s['se']:.3f})")
        assert abs(s["rate"] - s["level"]) <= 3 * s["se"] + 1e-9
    r = cov[cov.parameter == "innovation.quality_idea_value"][["truth", "posterior_mean"]].corr().iloc[0, 1]
    print(f"recovery of innovation.quality_idea_value: corr(truth, posterior mean) {r:.2f}")


def test_coverage_runs_one_whole_generation_per_data_set_unless_told():
    """The default runs per coverage data set (the budget, at most 2000) never fall below one generation, which a
    data set's calibration needs whole: a population of 1500 with 2 replicates gets 3000."""
    from trustsim.calibration.config import load_calibration
    from trustsim.calibration.run import default_coverage_budget

    spec = load_calibration(SCENARIOS / "calibration.toml").spec
    for population, replicates, budget, expected in ((200, 1, 3000, 2000), (200, 1, 500, 500),
                                                     (1500, 2, 9000, 3000), (1500, 2, 3012, 3000)):
        runs = default_coverage_budget(spec.model_copy(update={"population": population, "replicates": replicates,
                                                               "budget": budget}))
        print(population, replicates, budget, "→", runs)
        assert runs == expected


def test_screening_names_the_parameters_each_target_moves(tmp_path, capsys):
    """Sobol indices of the targets over the priors: the defect fall of partner lots cannot depend on
    monitoring hours (hours move no defect), and does depend on what a process idea does to quality."""
    import pandas as pd

    from trustsim.cli import main

    out = tmp_path / "screen"
    assert main(["calibrate", str(small_file(tmp_path)), "--screen", "8", "--out", str(out), "--workers", "1",
                 "--quiet"]) == 0
    print(capsys.readouterr().out)
    sc = pd.read_csv(out / "screening.csv").set_index(["target", "parameter"])
    assert sc.loc[("drop_partner", "time.h_monitor"), "ST"] < 0.02
    assert sc.loc[("drop_partner", "innovation.quality_idea_value"), "ST"] > 0.2
    n_params = sc.index.get_level_values("parameter").nunique()
    assert (sc["points"] == 8 * (n_params + 2)).all() and (sc["filled"] >= 0).all()  # a missing figure is counted
    assert (out / "figures" / "screening.png").exists() and not (out / "posterior.parquet").exists()


@pytest.mark.parametrize("args, needle", [(["--seed", "-3"], "--seed"),
                                          (["--screen", "12"], "--screen: 12 is not a power of 2"),
                                          (["--screen", "0"], "--screen: 0 must be at least 1"),
                                          # as a sweep's sobol samples: fewer give meaningless indices
                                          (["--screen", "4"], "--screen: 4 is too few base samples for Sobol "
                                                              "indices: their bootstrap intervals need at least 8 "
                                                              "(e.g. --screen 32)"),
                                          (["--screen", "1"], "--screen: 1 is too few base samples"),
                                          (["--screen", "2"], "--screen: 2 is too few base samples"),
                                          (["--check-coverage", "-1"], "--check-coverage"),
                                          (["--screen", "8", "--check-coverage", "2"],
                                           "--check-coverage: a screening calibrates nothing"),
                                          (["--budget", "100"], "--budget: 100 runs do not cover the run-noise "
                                                                "estimate and one generation: at least 212"),
                                          (["--coverage-budget", "300"], "--coverage-budget: applies to the "
                                                                         "coverage check"),
                                          (["--check-coverage", "2", "--coverage-budget", "150"],
                                           "--coverage-budget: 150 runs per data set do not cover one generation: "
                                           "at least 200")])
def test_a_bad_option_is_one_line_and_exit_2_with_nothing_written(tmp_path, capsys, args, needle):
    from trustsim.cli import main

    out = tmp_path / "cal"
    code = main(["calibrate", str(SCENARIOS / "calibration.toml"), "--out", str(out),
                 *args])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and needle in err and not out.exists()


@pytest.mark.parametrize("missing, args, needle", [
    ("SALib", ["--screen", "8"], '--screen: the sobol design needs SALib: pip install "trustsim[salib]"'),
    ("distributed", ["--dask", "local"], '--dask: needs Dask distributed: pip install "trustsim[dask]"'),
])
def test_a_missing_optional_library_is_one_line_and_exit_2_with_nothing_written(tmp_path, capsys, monkeypatch,
                                                                                missing, args, needle):
    """Checked before the folder is made: a calibration refused for a library it lacks leaves nothing behind that
    would then refuse the same command once the library is installed ("holds an unfinished calibration")."""
    from trustsim.cli import main

    monkeypatch.setitem(__import__("sys").modules, missing, None)  # as if it were not installed
    out = tmp_path / "cal"
    code = main(["calibrate", str(small_file(tmp_path)), "--out", str(out), "--quiet", *args])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and needle in err, err
    assert not out.exists()


def test_a_screening_with_a_root_seed_of_0_gives_the_same_intervals_twice(tmp_path, capsys):
    """SALib takes a seed of 0 for none: the bootstrap intervals must still come from the calibration's seed."""
    from trustsim.cli import main

    tables = []
    for name in ("a", "b"):
        out = tmp_path / name
        assert main(["calibrate", str(small_file(tmp_path)), "--screen", "8", "--seed", "0", "--out", str(out),
                     "--workers", "1", "--quiet"]) == 0
        tables.append((out / "screening.csv").read_text())
    capsys.readouterr()
    assert tables[0] == tables[1]


def test_force_leaves_none_of_the_old_calibrations_figures(tmp_path, capsys):
    """--force replaces a finished calibration whole: a figure the new one does not draw (the screening's, here)
    must not stay behind, listed in the new manifest as if it were the new calibration's."""
    import json

    from trustsim.cli import main

    path, out = small_file(tmp_path), tmp_path / "cal"
    assert main(["calibrate", str(path), "--screen", "8", "--out", str(out), "--workers", "1", "--quiet"]) == 0
    assert (out / "figures" / "screening.png").exists()
    assert main(["calibrate", str(path), "--out", str(out), "--workers", "1", "--quiet", "--no-predictive",
                 "--force"]) == 0
    capsys.readouterr()
    drawn = sorted(p.name for p in (out / "figures").glob("*.png"))
    assert drawn == ["marginals.png", "pairs.png"] == json.loads((out / "manifest.json").read_text())["figures"]


def test_ctrl_c_prints_a_resume_command_that_resumes(tmp_path, capsys, monkeypatch):
    """Interrupted, a calibration run with --budget and --seed prints the command that finishes it: without them
    the resumed calibration would be another one, and --resume would refuse it."""
    import shlex

    import trustsim.calibration.run as run
    from trustsim.cli import main

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    path, out = small_file(tmp_path), tmp_path / "cal"
    monkeypatch.setattr(run, "local_executor", interrupted)  # while the workers start: no folder yet
    assert main(["calibrate", str(path), "--out", str(out), "--quiet"]) == 130
    assert "nothing was written" in capsys.readouterr().err and not out.exists()
    monkeypatch.undo()
    monkeypatch.setattr(run, "abc_smc", interrupted)
    assert main(["calibrate", str(path), "--out", str(out), "--workers", "1", "--quiet", "--no-predictive",
                 "--budget", "150", "--seed", "9"]) == 130
    err = capsys.readouterr().err
    print(err)
    assert err.count("\n") == 1 and "finish with: trustsim calibrate" in err
    monkeypatch.undo()
    command = shlex.split(err.split("finish with: ")[1])
    assert main([*command[1:], "--workers", "1", "--quiet"]) == 0, capsys.readouterr().err
    assert (out / "manifest.json").exists() and not (out / "predictive.csv").exists()


def test_the_resume_command_of_a_calibration_on_a_cluster_finishes_it_there(tmp_path):
    """A calibration stopped on a Dask cluster is finished there: its printed command repeats --dask (without it
    the resumed calibration ran on the local machine's cores), as a sweep's does."""
    import argparse

    from trustsim.commands.calibrate import _kept_and_resume

    args = argparse.Namespace(file="cal.toml", screen=None, budget=300, seed=None, check_coverage=0,
                              coverage_budget=None, no_predictive=False, dask="tcp://10.0.0.5:8786", workers=None,
                              out="out")
    line = _kept_and_resume(args, tmp_path)
    print(line)
    assert line.endswith("finish with: trustsim calibrate cal.toml --resume --budget 300 --dask tcp://10.0.0.5:8786"
                         " --out out")
    assert "--dask" not in _kept_and_resume(argparse.Namespace(**{**vars(args), "dask": None}), tmp_path)


def test_an_interrupted_calibrations_resume_command_repeats_its_workers(tmp_path, capsys, monkeypatch):
    """After Ctrl-C on `--workers 1`, the command that finishes the calibration left --workers out: it finished on
    every core of the machine."""
    import trustsim.calibration.run as run
    from trustsim.cli import main

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    path, out = small_file(tmp_path), tmp_path / "cal"
    monkeypatch.setattr(run, "abc_smc", interrupted)
    assert main(["calibrate", str(path), "--out", str(out), "--workers", "1", "--quiet", "--budget", "150"]) == 130
    err = capsys.readouterr().err
    assert err.endswith(f"finish with: trustsim calibrate {path} --resume --budget 150 --workers 1 --out {out}\n"), err


def test_resume_into_a_folder_that_does_not_exist_says_it_starts_the_calibration(tmp_path, capsys, monkeypatch):
    """``--resume`` with a mistyped ``--out`` starts a calibration, but says so at once."""
    import trustsim.calibration.run as run
    from trustsim.cli import main

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(run, "local_executor", interrupted)  # the note comes before anything runs
    out = tmp_path / "typo"
    assert main(["calibrate", str(small_file(tmp_path)), "--out", str(out), "--resume", "--quiet"]) == 130
    err = capsys.readouterr().err
    print(err)
    assert err.splitlines()[0] == f"trustsim: nothing to resume in {out}: the calibration starts there"


def test_a_calibration_that_loses_its_dask_scheduler_says_how_to_finish_it(tmp_path, capsys, monkeypatch):
    """Dask cancels every pending run when its client loses the scheduler: a calibration then stops as a sweep does,
    one line keeping its complete generations and giving the command that finishes it, exit 1 (it was an internal
    error that gave none)."""
    from concurrent.futures import CancelledError

    import trustsim.calibration.run as run
    from trustsim.cli import main

    def lost(*args, **kwargs):
        raise CancelledError

    monkeypatch.setattr(run, "calibrate", lost)
    out = tmp_path / "cal"
    code = main(["calibrate", str(small_file(tmp_path)), "--out", str(out), "--dask", "tcp://127.0.0.1:9",
                 "--budget", "150", "--quiet"])
    err = capsys.readouterr().err
    print(err)
    assert code == 1 and err.count("\n") == 1
    assert err.startswith("trustsim: the Dask scheduler tcp://127.0.0.1:9 was lost; the complete generations are kept")
    assert "finish with: trustsim calibrate" in err and "--resume --budget 150 --dask tcp://127.0.0.1:9" in err


def test_report_redraws_the_committed_record(tmp_path, capsys):
    """docs/calibration/ keeps a finished calibration without its state and journal: `trustsim report` draws its
    figures from the manifest instead of calling it unfinished."""
    import shutil

    from trustsim.cli import main

    record = tmp_path / "calibration"
    shutil.copytree(SCENARIOS.parent / "docs" / "calibration", record)
    shutil.rmtree(record / "figures", ignore_errors=True)
    assert not (record / "calibration.json").exists()
    assert main(["report", str(record)]) == 0, capsys.readouterr().err
    assert {p.name for p in (record / "figures").glob("*.png")} >= {"marginals.png", "pairs.png", "predictive.png",
                                                                    "patterns.png"}


def test_the_committed_record_checks_its_fitted_patterns_in_sample():
    """P3's and P10's published figures are the committed record's four fitted targets: neither its report nor its
    predictive table may call those patterns held out (a figure fitted is not an out-of-sample prediction)."""
    import pandas as pd

    record = SCENARIOS.parent / "docs" / "calibration"
    report = (record / "calibration.md").read_text()
    assert "and every pattern but P3 and P10, whose published figures are the fitted targets" in report
    assert "| P3 | calibrate |" in report and "| P10 | calibrate |" in report and "| P5 | held_out |" in report
    pred = pd.read_csv(record / "predictive.csv")
    patterns = pred[pred.kind == "pattern"].set_index("name").role
    print(patterns.to_dict())
    assert set(patterns[patterns == "calibrate"].index) == {"P3", "P10"}


def test_a_mean_outside_its_90_percent_interval_is_drawn(tmp_path, capsys):
    """A weighted posterior's mean can lie outside its 5%–95% quantiles (a coverage data set of a small calibration
    gave trust.gain mean 0.0320, interval [0.0226, 0.0299]); error bars measured from the mean were negative, and
    the calibration failed with an internal error after all its runs, before its manifest."""
    import shutil

    import pandas as pd

    from trustsim.cli import main

    record = tmp_path / "calibration"
    shutil.copytree(SCENARIOS.parent / "docs" / "calibration", record)
    pd.DataFrame([{"dataset": 0, "parameter": "trust.gain", "truth": 0.03, "posterior_mean": 0.0320, "lo50": 0.024,
                   "hi50": 0.028, "in50": False, "lo90": 0.0226, "hi90": 0.0299, "in90": False,
                   "structure_truth": "as the scenario", "structure_weight_of_truth": 1.0, "generations": 3,
                   "tolerance": 1.0}]).to_csv(record / "coverage.csv", index=False)
    pred = pd.read_csv(record / "predictive.csv")
    pred.loc[0, ["mean", "defaults_mean"]] = pred.loc[0, "hi90"] + 0.1, pred.loc[0, "defaults_lo90"] - 0.1
    pred.to_csv(record / "predictive.csv", index=False)
    assert main(["report", str(record)]) == 0, capsys.readouterr().err
    assert {"coverage.png", "predictive.png"} <= {p.name for p in (record / "figures").glob("*.png")}


def test_a_coverage_data_set_kept_on_other_runs_is_done_again_on_resume(tmp_path, capsys):
    """A data set the journal kept from a --coverage-budget other than the resumed one's is calibrated again:
    the coverage table is the one an uninterrupted calibration on the resumed options gives, not a mixture."""
    import json

    import pandas as pd

    from trustsim.cli import main

    path = small_file(tmp_path)
    args = ["calibrate", str(path), "--workers", "1", "--quiet", "--no-predictive", "--check-coverage", "2"]
    whole, out = tmp_path / "whole", tmp_path / "cal"
    assert main([*args, "--out", str(whole), "--coverage-budget", "30"]) == 0
    assert main([*args, "--out", str(out), "--coverage-budget", "10"]) == 0
    lines = (out / "journal.jsonl").read_text().splitlines(keepends=True)
    (out / "journal.jsonl").write_text("".join(lines[:-1]))  # killed before the second data set was kept
    (out / "manifest.json").unlink()
    assert json.loads(lines[-1])["coverage"][0]["dataset"] == 1
    assert main([*args, "--out", str(out), "--coverage-budget", "30", "--resume"]) == 0, capsys.readouterr().err
    pd.testing.assert_frame_equal(pd.read_csv(out / "coverage.csv"), pd.read_csv(whole / "coverage.csv"))


def test_a_calibration_table_is_not_inherited_and_the_error_says_so(tmp_path, capsys):
    from trustsim.cli import main

    path = tmp_path / "mine.toml"
    path.write_text(f'extends = "{(SCENARIOS / "calibration.toml").as_posix()}"\n[market]\nbuyers = 12\n')
    assert main(["calibrate", str(path), "--out", str(tmp_path / "cal")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "mine.toml: calibrate: no [calibrate] table" in err and "extends" in err
    assert not (tmp_path / "cal").exists()


def test_a_calibration_table_changing_a_setting_of_its_parents_is_told_the_parents_is_not_inherited(tmp_path, capsys):
    """A file extending a calibration file with a [calibrate] of its own that sets only its budget does not get the
    parent's priors and targets: the one line says so, not merely that a field is required."""
    from trustsim.cli import main

    path = tmp_path / "mine.toml"
    path.write_text(f'extends = "{(SCENARIOS / "calibration.toml").as_posix()}"\n[calibrate]\nbudget = 3000\n')
    for command in (["check", str(path)], ["calibrate", str(path), "--out", str(tmp_path / "cal")]):
        assert main(command) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "mine.toml: calibrate.parameters: none here" in err
        assert "not inherited" in err and "parameters and targets" in err
    assert not (tmp_path / "cal").exists()
    path.write_text(path.read_text() + '[calibrate.parameters]\n"trust.gain" = {}\n')
    assert main(["check", str(path)]) == 2
    assert "calibrate.targets: none here" in capsys.readouterr().err


def test_measures_lists_every_measurement_a_target_may_name_and_a_file_is_otherwise_required(capsys):
    from trustsim.calibration.targets import MEASUREMENTS
    from trustsim.cli import main

    assert main(["calibrate", "--measures"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert [line.split(" ", 1)[0] for line in out] == list(MEASUREMENTS)
    assert all(f"({m.pattern}): {m.what}" in line for line, m in zip(out, MEASUREMENTS.values(), strict=True))
    assert main(["calibrate"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "a calibration file is required" in err and "--measures" in err


def test_a_worker_that_dies_is_one_line_with_the_command_that_finishes_the_calibration(tmp_path, capsys, monkeypatch):
    """A worker killed (by the system, when memory runs out) ends the calibration as it ends a sweep: one line,
    exit 1, the complete generations kept and the --resume that finishes them, not an internal error."""
    from concurrent.futures.process import BrokenProcessPool

    from trustsim.calibration import run
    from trustsim.cli import main

    def dies(cal, out, **kw):
        out.mkdir()
        (out / "calibration.json").write_text("{}")
        raise BrokenProcessPool("A process in the process pool was terminated abruptly")

    monkeypatch.setattr(run, "calibrate", dies)
    out = tmp_path / "cal"
    assert main(["calibrate", str(SCENARIOS / "calibration.toml"), "--out", str(out), "--seed", "4"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "a worker process died" in err
    assert err.rstrip().endswith(f"--resume --seed 4 --out {out}")


@pytest.mark.parametrize("args, needle", [
    (["--check-coverage", "50001"], "--check-coverage: 50001 data sets of 2000 runs each make more than the 100000000 "
                                    "market runs a calibration makes at most; at most 50000 at 2000 runs each"),
    (["--check-coverage", str(10**30)], "--check-coverage: 1000000000000000"),
    (["--check-coverage", "1000", "--coverage-budget", "200000"], "at most 500 at 200000 runs each"),
    (["--check-coverage", "1", "--coverage-budget", "100000001"],
     "--coverage-budget: 100000001 runs per data set are more than the 100000000 a calibration makes at most")])
def test_a_coverage_check_beyond_a_calibrations_runs_is_refused_before_anything_runs(tmp_path, capsys, monkeypatch,
                                                                                      args, needle):
    """Each coverage data set is a calibration of its own: N of them make N times its runs. Without a bound, a huge
    --check-coverage (or --coverage-budget) started a calibration that never ended, its coverage table growing; now
    together they make no more runs than a calibration's budget may."""
    from trustsim.calibration import run
    from trustsim.cli import main

    def no_runs(*a, **k):
        raise AssertionError("a calibration started")

    monkeypatch.setattr(run, "_calibrate", no_runs)
    out = tmp_path / "cal"
    code = main(["calibrate", str(SCENARIOS / "calibration.toml"), "--out", str(out), "--workers", "1", *args])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and needle in err and not out.exists(), err


@pytest.mark.parametrize("kwargs, needle, options, told", [
    ({"workers": 0}, "workers: expected a whole number of at least 1, got 0", None, None),
    ({"workers": "2"}, "workers: expected a whole number of at least 1, got '2'", None, None),
    ({"workers": 2**40}, f"workers: {2**40} is more than the 4096 worker processes a command starts", None, None),
    ({"screen": "8"}, "screen: expected a whole number of at least 0, got '8'", None, None),
    ({"check_coverage": -1}, "check_coverage: expected a whole number of at least 0, got -1", None, None),
    ({"check_coverage": "2"}, "check_coverage: expected a whole number", None, None),
    ({"check_coverage": 1, "coverage_budget": "50"}, "coverage_budget: expected a whole number", None, None),
    ({"check_coverage": np.int64(10**12)}, "check_coverage: 1000000000000 data sets of 100 runs each make more "
                                           "than the 100000000 market runs", None, None),
    ({"seed": True}, "seed: expected a whole number from 0 to 2⁶³−1, got True", None, None),
    ({"seed": -1}, "seed: expected a whole number from 0 to 2⁶³−1, got -1",
     ["--seed", "-1"], "trustsim calibrate: error: argument --seed: expected a whole number from 0 to 2⁶³−1, got -1 "
                       "(see 'trustsim calibrate --help')"),  # argparse's line, as for every option's type
    # the schema caps a file's budget; --budget and budget= skipped the cap and started a calibration of 10¹² runs
    ({"budget": 10**12}, "budget: expected a whole number from 10 to 100000000, got 1000000000000",
     ["--budget", str(10**12)], "--budget: expected a whole number from 10 to 100000000, got 1000000000000"),
    ({"resume": True}, "resume: goes on in the folder of a calibration: give it with out=FOLDER", None, None),
    # NumPy integers are whole numbers, as everywhere in the API: the budget is then checked on its merits
    ({"budget": np.int64(12), "seed": np.int64(3)}, "budget: 12 runs do not cover the run-noise estimate",
     ["--budget", "12"], "--budget: 12 runs do not cover the run-noise estimate and one generation: at least 13 "
                         "(noise_replicates 3 + population 10 × replicates 1)"),
    ({"screen": 12}, "screen: 12 is not a power of 2, which Sobol sequences need (e.g. screen=16)",
     ["--screen", "12"], "--screen: 12 is not a power of 2, which Sobol sequences need (e.g. --screen 16)"),
    ({"screen": 8, "check_coverage": 2}, "check_coverage: a screening calibrates nothing whose coverage it could "
                                         "check; give it without screen",
     ["--screen", "8", "--check-coverage", "2"], "--check-coverage: a screening calibrates nothing whose coverage it "
                                                 "could check; give it without --screen"),
    ({"coverage_budget": 50}, "coverage_budget: applies to the coverage check: give it with check_coverage=N",
     ["--coverage-budget", "50"], "--coverage-budget: applies to the coverage check: give it with --check-coverage N"),
    ({"check_coverage": 1, "coverage_budget": 5}, "coverage_budget: 5 runs per data set do not cover one generation",
     ["--check-coverage", "1", "--coverage-budget", "5"], "--coverage-budget: 5 runs per data set do not cover one "
                                                          "generation: at least 10 (population 10 × replicates 1)"),
])
def test_bad_arguments_of_trustsim_calibrate_are_param_errors_before_any_run(tmp_path, capsys, monkeypatch, kwargs,
                                                                              needle, options, told):
    """From Python the calibration's arguments are not checked by argparse: a string, a negative coverage count, a
    resume with no folder to resume or workers=0 raised a TypeError deep in the executor, or ran a calibration
    (all cores, no coverage, afresh) other than the one asked for. The refusal names the argument as the caller
    wrote it (``check_coverage``, ``screen=16``), where ``trustsim calibrate`` names its options, word for word as
    before (``--check-coverage``, ``--screen 16``)."""
    import trustsim
    from trustsim.calibration import run
    from trustsim.cli import main

    def no_runs(*a, **k):
        raise AssertionError("a calibration started")

    monkeypatch.setattr(run, "_calibrate", no_runs)
    with pytest.raises(trustsim.ParamError) as exc:
        trustsim.calibrate(small_file(tmp_path), **kwargs)
    assert str(exc.value).startswith(needle) and "\n" not in str(exc.value), str(exc.value)
    if options is not None:
        out = tmp_path / "cal"
        assert main(["calibrate", str(small_file(tmp_path)), "--out", str(out), "--quiet", *options]) == 2
        line = told if told.startswith("trustsim calibrate:") else f"trustsim: error: {told}"
        assert capsys.readouterr().err == f"{line}\n" and not out.exists()


@pytest.mark.parametrize("file", [42, None, {"market": {"buyers": 10}}])
def test_a_calibration_file_that_is_no_path_is_a_param_error(file):
    import trustsim

    with pytest.raises(trustsim.ParamError, match="file: expected a calibration file's path, got"):
        trustsim.calibrate(file)


@pytest.mark.parametrize("out", ["small.toml/x", "/proc/trustsim-calibration"])
def test_an_out_that_cannot_be_made_is_one_line_and_exit_2(tmp_path, capsys, out):
    """--out under a file, or where the system makes no folder: NotADirectoryError or FileNotFoundError, an
    internal error with exit 1, where every other writer says it cannot write there."""
    from trustsim.cli import main

    path = small_file(tmp_path)
    code = main(["calibrate", str(path), "--out", str(tmp_path / out if out.startswith("small") else out), "--quiet",
                 "--workers", "1"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "cannot write in" in err, err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["small.toml"]


@pytest.mark.parametrize("table", [
    '"prices.min_markup" = { lo = 0.01, hi = 5.0 }',
    '"time.h_monitor" = { lo = 2.0, hi = 2.0000000000000004 }',
    '"time.h_monitor" = { lo = 2.0, hi = 40.0 }\n[[calibrate.targets]]\nname = "b"\nmeasure = "nonprod_most_trusted"\n'
    'value = 1e308\nsd = 0.03',
])
def test_calibrate_refuses_a_prior_or_target_it_cannot_use_before_writing_anything(tmp_path, capsys, table):
    """What ``check`` refuses, ``calibrate`` refuses before its folder is made: it wrote calibration.json and
    journal.jsonl first, and then refused every later try as an unfinished calibration."""
    from trustsim.cli import main

    path, out = tmp_path / "cal.toml", tmp_path / "out"
    path.write_text(f'extends = "{BASELINE.as_posix()}"\n[calibrate]\nbudget = 40\npopulation = 4\n'
                    f'noise_replicates = 3\n[calibrate.parameters]\n{table}\n[[calibrate.targets]]\nname = "a"\n'
                    'measure = "nonprod_least_trusted"\nvalue = 0.47\nsd = 0.03\n')
    assert main(["calibrate", str(path), "--out", str(out), "--workers", "1", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and str(path) in err and not out.exists()


@pytest.mark.parametrize("where", ["abc_smc", "write_outputs"])
def test_a_calibration_that_fails_leaves_nothing_in_the_way_of_the_next(tmp_path, capsys, monkeypatch, where):
    """A first session that fails other than by an interruption (bad input found late, an internal error) would
    fail again on --resume: it removes what it wrote, and the folders it made, so the next try starts as the first
    did (it left calibration.json and journal.jsonl, and every later try was refused as an unfinished calibration)."""
    from trustsim.calibration import run
    from trustsim.cli import main

    def fails(*args, **kwargs):
        raise ValueError("the budget does not cover one generation")

    path, out = small_file(tmp_path, budget=40), tmp_path / "new" / "cal"
    monkeypatch.setattr(run, where, fails)
    args = ["calibrate", str(path), "--out", str(out), "--workers", "1", "--quiet", "--no-predictive"]
    assert main(args) == 1
    assert "internal error: ValueError" in capsys.readouterr().err
    assert not (tmp_path / "new").exists()


def test_a_failed_resume_keeps_the_runs_of_the_earlier_session(tmp_path, capsys, monkeypatch):
    """What an earlier session kept is the user's: a resumed session that fails leaves it as it was."""
    from trustsim.calibration import run
    from trustsim.cli import main

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    def fails(*args, **kwargs):
        raise ValueError("boom")

    path, out = small_file(tmp_path, budget=40), tmp_path / "cal"
    args = ["calibrate", str(path), "--out", str(out), "--workers", "1", "--quiet", "--no-predictive"]
    monkeypatch.setattr(run, "abc_smc", interrupted)
    assert main(args) == 130
    kept = (out / "journal.jsonl").read_text()
    monkeypatch.setattr(run, "abc_smc", fails)
    assert main([*args, "--resume"]) == 1
    assert (out / "journal.jsonl").read_text() == kept and (out / "calibration.json").exists()


POPULATION = {"generation": 0, "theta": [[5.0, 0.1]], "structure": [0], "weight": [1.0], "distance": [0.5],
              "tolerance": float("inf"), "proposed": 10, "used": 10}


@pytest.mark.parametrize("line, needle", [
    ({"population": {**POPULATION, "generation": "x"}}, 'population.generation: expected 0 (the generations in order), '
                                                        'got "x"'),
    ({"population": None}, "population: expected an object, got NoneType"),
    ({"noise": {"variance": [], "runs": 3}}, "noise.variance: expected a list of 3 (each a non-negative finite number "
                                             "or null), got []"),
    ({"noise": {"variance": ["x", 0.1, 0.1], "runs": 3}}, 'noise.variance[0]: expected a non-negative finite number '
                                                          'or null, got "x"'),
    ({"noise": {"variance": [-1, 0.1, 0.1], "runs": 3}}, "noise.variance[0]: expected a non-negative finite number "
                                                         "or null, got -1"),
    ({"population": {**POPULATION, "theta": [[5.0]]}}, "population.theta[0]: expected a list of 2 numbers"),
    ({"population": {**POPULATION, "theta": [5.0]}}, "population.theta[0]: expected a list of 2 numbers, one per"),
    ({"population": {**POPULATION, "theta": [[500.0, 0.1]]}}, "population.theta[0][0]: expected a number in "
                                                              "time.h_monitor's prior 2.0 … 40.0, got 500.0"),
    ({"population": {**POPULATION, "structure": [7]}}, "population.structure[0]: expected the number of a structure"),
    ({"population": {**POPULATION, "weight": [0.0]}}, "population.weight: the weights are all 0"),
    ({"population": {**POPULATION, "weight": [2.0]}}, "population.weight: the weights sum to 2, not 1"),
    ([1, 2], "line 2: expected a JSON object, got list"),
    ("{oops", "line 2 is not JSON"),
])
def test_resume_refuses_a_journal_line_that_is_not_the_calibrations(tmp_path, capsys, monkeypatch, line, needle):
    """--resume reads each journal line against its calibration: a line edited by hand is one line naming the
    file, the line and the field, exit 2, before any run (it was an ArrowTypeError, a TypeError, an IndexError, a
    ValueError or an AttributeError, a negative variance gave a posterior after a sqrt warning, and weights summing
    to 2 a structure's posterior weight of 2 and a posterior mean twice the particles')."""
    import json

    from trustsim.calibration import run
    from trustsim.cli import main

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    path, out = small_file(tmp_path, budget=40), tmp_path / "cal"
    args = ["calibrate", str(path), "--out", str(out), "--workers", "1", "--quiet", "--no-predictive"]
    monkeypatch.setattr(run, "abc_smc", interrupted)
    assert main(args) == 130  # the run-noise estimate kept, as line 1
    monkeypatch.undo()
    journal = out / "journal.jsonl"
    noise = journal.read_text()
    assert noise.count("\n") == 1
    if isinstance(line, dict) and "noise" in line:
        noise = ""  # the line replaces the estimate: it is line 1
    journal.write_text(noise + (line if isinstance(line, str) else json.dumps(line)) + "\n")
    capsys.readouterr()
    assert main([*args, "--resume"]) == 2
    err = capsys.readouterr().err
    print(err)
    number = 1 if not noise else 2
    assert err.count("\n") == 1 and str(journal) in err and f"line {number}" in err and needle in err
    assert journal.read_text().count("\n") == (1 if not noise else 2)  # left as it was


def test_a_calibration_folder_refused_from_python_names_its_arguments_and_the_command_line_its_options(
        tmp_path, capsys, monkeypatch):
    """``trustsim.calibrate(file, out)`` over a folder it may not write told a Python caller to pass --force or
    --resume, or to choose another --out: it is told ``force=True`` and ``resume=True`` (and ``budget``, ``seed``),
    and ``trustsim calibrate`` still names its options, word for word as before."""
    import json

    import trustsim
    from trustsim.calibration import run
    from trustsim.cli import main

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    path, out = small_file(tmp_path, budget=40), tmp_path / "cal"
    cli = ["calibrate", str(path), "--out", str(out), "--workers", "1", "--quiet", "--no-predictive"]
    monkeypatch.setattr(run, "abc_smc", interrupted)
    assert main(cli) == 130  # unfinished: its state and the run-noise estimate kept
    monkeypatch.undo()
    capsys.readouterr()
    state, journal = json.loads((out / "calibration.json").read_text()), (out / "journal.jsonl").read_text()
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("mine")

    def told(python: dict, options: list[str], target=out) -> tuple[str, str]:
        with pytest.raises(trustsim.ParamError) as exc:
            trustsim.calibrate(path, target, workers=1, predictive=False, **python)
        assert main([*cli[:3], str(target), *cli[4:], *options]) == 2
        err = capsys.readouterr().err
        assert err.startswith("trustsim: error: ") and err.count("\n") == 1, err
        return str(exc.value), err.removeprefix("trustsim: error: ").removesuffix("\n")

    python, command = told({}, [])
    assert python == f"{out}: holds an unfinished calibration; pass resume=True to finish it, or force=True to start " \
                     f"afresh"
    assert command == f"{out}: holds an unfinished calibration; pass --resume to finish it, or --force to start afresh"
    python, command = told({"resume": True, "seed": 6}, ["--resume", "--seed", "6"])
    assert python.endswith("holds a different calibration (the file, budget or seed changed); pass force=True "
                           "instead of resume=True to start afresh (its runs go), or save to another folder"), python
    assert command == (f"{out}: holds a different calibration (the file, --budget or --seed changed); pass --force "
                       f"instead of --resume to start afresh (its runs go), or choose another --out")
    (out / "calibration.json").write_text(json.dumps({**state, "code": "0" * 16}))
    python, command = told({"resume": True}, ["--resume"])
    assert python.endswith("; finish it with that code, or pass force=True instead of resume=True to start afresh "
                           "(its runs go)"), python
    assert command.endswith("; finish it with that code, or pass --force instead of --resume to start afresh "
                            "(its runs go)"), command
    (out / "calibration.json").write_text(json.dumps(state))
    (out / "journal.jsonl").write_text(journal + "{oops\n")
    python, command = told({"resume": True}, ["--resume"])
    assert python == f"{out / 'journal.jsonl'}: line 2 is not JSON (edited or damaged); start afresh with force=True"
    assert command == f"{out / 'journal.jsonl'}: line 2 is not JSON (edited or damaged); start afresh with --force"
    (out / "manifest.json").write_text(json.dumps({"trustsim": trustsim.__version__, "kind": "calibration"}))
    python, command = told({}, [])
    assert python.endswith("holds a finished calibration; pass force=True to replace it (it is removed as the new "
                           "one starts), or save to another folder"), python
    assert command == (f"{out}: holds a finished calibration; pass --force to replace it (it is removed as the new "
                       f"one starts), or choose another --out")
    python, command = told({}, [], target=mine)
    assert python.endswith("holds files that are not a trustsim result; save to another folder, or pass force=True "
                           "to replace it (its contents are lost)"), python
    assert command.endswith("holds files that are not a trustsim result; choose another --out, or pass --force to "
                            "replace it (its contents are lost)"), command
    assert (out / "journal.jsonl").read_text() == journal + "{oops\n" and (mine / "notes.txt").read_text() == "mine"


def test_a_dask_cluster_refused_from_python_names_the_argument_dask(tmp_path, capsys, monkeypatch):
    """``trustsim.calibrate(file, dask=…)`` without Dask installed said ``--dask: needs Dask distributed``; from
    Python it names ``dask``, and ``trustsim calibrate --dask`` still ``--dask``."""
    import sys

    import trustsim
    from trustsim.cli import main

    monkeypatch.setitem(sys.modules, "distributed", None)  # not installed: importing it raises ImportError
    needs = 'needs Dask distributed: pip install "trustsim[dask]"'
    with pytest.raises(trustsim.ParamError) as exc:
        trustsim.calibrate(small_file(tmp_path), dask="local", workers=1)
    assert str(exc.value) == f"dask: {needs}"
    assert main(["calibrate", str(small_file(tmp_path)), "--dask", "local", "--out", str(tmp_path / "cal")]) == 2
    assert capsys.readouterr().err == f"trustsim: error: --dask: {needs}\n"


@pytest.mark.parametrize("address", ["", "   ", 5])
def test_an_empty_dask_address_from_python_is_refused_as_the_command_line_refuses_it(tmp_path, capsys, address):
    """``trustsim calibrate --dask ""`` is refused; ``trustsim.calibrate(file, dask="")`` ran on local processes,
    as if no cluster had been named, and ``dask=5`` failed inside distributed. Both are one ParamError now."""
    import trustsim
    from trustsim.cli import main

    with pytest.raises(trustsim.ParamError) as exc:
        trustsim.calibrate(small_file(tmp_path), dask=address, workers=1)
    assert str(exc.value) == "dask: expected tcp://host:port or local"
    assert main(["calibrate", str(small_file(tmp_path)), "--dask", "", "--out", str(tmp_path / "cal")]) == 2
    assert capsys.readouterr().err == "trustsim: error: --dask: expected tcp://host:port or local\n"
    assert not (tmp_path / "cal").exists()
