"""The researcher's workflow at the command line: replications with intervals (run --seeds), rerun from a
manifest, compare, the sweep's per-point table and check, report on every kind of folder, and the bad
input of each (one line, exit 2, nothing written)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import BASELINE, ROOT, data_under_legends, pattern_figure, run_cli

import trustsim
from trustsim.cli import main
from trustsim.experiments import run_seed
from trustsim.params import Params
from trustsim.stats import mean_ci

HIGH = ROOT / "scenarios" / "high_uncertainty.toml"
SMALL = ["--set", "market.buyers=12", "--set", "market.suppliers=6", "--steps", "20"]


def refused(code, err, *needles):
    assert code == 2, err
    assert len(err.splitlines()) == 1 and err.startswith("trustsim") and " error: " in err, err
    for needle in needles:
        assert needle in err, (needle, err)


def listing(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


@pytest.fixture(scope="module")
def replications(tmp_path_factory):
    """`trustsim run baseline --seeds 3` on two workers, made once for the tests that read it."""
    out = tmp_path_factory.mktemp("reps") / "reps"
    code = main([str(a) for a in ["run", BASELINE, *SMALL, "--seed", 7, "--seeds", 3, "--workers", 2, "--out", out,
                                  "--quiet"]])
    assert code == 0
    return out


# --- run --seeds ------------------------------------------------------------------------------------

def test_replications_folder_holds_each_run_the_table_the_summary_and_bands(replications):
    out = replications
    assert {"manifest.json", "replications.csv", "summary.json", "bands.csv"} <= set(listing(out))
    runs = pd.read_csv(out / "replications.csv")
    assert list(runs["replicate"]) == [0, 1, 2] and (runs["status"] == "ok").all()
    assert list(runs["seed"]) == [run_seed(7, 0, r) for r in range(3)]  # as a sweep derives them
    summary = json.loads((out / "summary.json").read_text())
    assert summary["seeds"] == list(runs["seed"]) and summary["root_seed"] == 7
    for group in ("partner", "aggressive", "all"):
        for column in ("market_share", "tco_per_unit", "trust_buyer"):
            s = summary["long_run"][group][column]
            values = runs[f"{group}.{column}"].to_numpy()
            m, lo, hi = mean_ci(values)
            assert s["mean"] == pytest.approx(m) and s["sd"] == pytest.approx(values.std(ddof=1))
            assert (s["low"], s["high"]) == pytest.approx((lo, hi)) and s["n"] == 3
    assert summary["advantages"]["advantage.market_share"]["n"] == 3
    bands = pd.read_csv(out / "bands.csv")
    assert len(bands) == 20 * 3 and (bands["n"] == 3).all()
    assert (bands["trust_buyer.low"] <= bands["trust_buyer"] + 1e-12).all()
    for name in ("tco_per_unit", "trust", "market_share", "advantages"):
        assert (out / "figures" / f"{name}.png").stat().st_size > 5000
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["kind"] == "replications" and manifest["seeds"] == summary["seeds"]


def test_no_legend_of_the_replications_figures_covers_a_line_a_band_edge_or_an_interval(tmp_path, monkeypatch):
    """The baseline over 3 seeds and 60 steps: the trust figure's four lines filled its axes, so its legend lay on
    the aggressive buyers' line, and each advantage panel's legend lay on the interval's top. The figures' legends
    sit beside the axes and below the panels. Each time series says what its shading is (it said "95% band": of
    the runs, or of their mean?)."""
    from matplotlib.figure import Figure

    covered, titles, savefig = {}, {}, Figure.savefig

    def checked(fig, path, **kwargs):
        savefig(fig, path, **kwargs)
        fig.set_dpi(kwargs.get("dpi", fig.dpi))  # as saved: where "best" puts a legend depends on the resolution
        covered[Path(path).name] = data_under_legends(fig)
        titles[Path(path).name] = [ax.get_title() for ax in fig.axes]

    monkeypatch.setattr(Figure, "savefig", checked)
    out = tmp_path / "reps"
    assert main([str(a) for a in ["run", BASELINE, "--steps", 60, "--seeds", 3, "--workers", 1, "--out", out,
                                  "--quiet"]]) == 0
    assert {"trust.png", "advantages.png", "market_share.png"} <= set(covered)
    assert {name: c for name, c in covered.items() if c} == {}
    assert all("shaded its 95% interval" in titles[name][0] for name in titles if name != "advantages.png"), titles


def test_a_replicate_is_the_run_of_its_seed(replications, tmp_path, capsys):
    seed = int(pd.read_csv(replications / "replications.csv")["seed"][2])
    assert run_cli(capsys, "run", BASELINE, *SMALL, "--seed", seed, "--out", tmp_path / "one", "--quiet")[0] == 0
    assert (tmp_path / "one" / "timeseries.csv").read_bytes() == \
        (replications / "timeseries" / "replicate-002.csv").read_bytes()


def test_each_replicate_says_whether_its_long_run_is_steady_as_its_own_run_does(tmp_path, capsys):
    """100 steps of a small market from root seed 7: MSER-5 finds the long run of replicate 2 steady, and of 0 and
    1 not (their warm-ups, 55 and 65 steps, reach past step 50 into the second half). replications.csv gives each
    replicate's verdict and warm-up as the run of its seed gives them in its summary.json; summary.json the share
    of steady runs and the warm-ups' range; the console line the count; the Python API the same."""
    argv = [BASELINE, "--set", "market.buyers=12", "--set", "market.suppliers=6", "--steps", 100]
    code, out, _ = run_cli(capsys, "run", *argv, "--seed", 7, "--seeds", 3, "--workers", 1, "--out", tmp_path / "R",
                           "--quiet")
    assert code == 0 and "long run steady (MSER-5) in 1 of 3 runs" in out, out
    runs = pd.read_csv(tmp_path / "R" / "replications.csv")
    assert list(runs.columns[-2:]) == ["steady", "mser5_warm_up_steps"]
    states = []
    for r, seed in enumerate(runs["seed"]):
        assert run_cli(capsys, "run", *argv, "--seed", seed, "--out", tmp_path / f"one-{r}", "--quiet")[0] == 0
        states.append(json.loads((tmp_path / f"one-{r}" / "summary.json").read_text())["steady_state"])
    assert [s["steady"] for s in states] == [bool(x) for x in runs["steady"]] == [False, False, True]
    assert [s["mser5_warm_up_steps"] for s in states] == list(runs["mser5_warm_up_steps"])
    summary = json.loads((tmp_path / "R" / "summary.json").read_text())
    warm_ups = [s["mser5_warm_up_steps"] for s in states]
    assert summary["steady_share"] == pytest.approx(1 / 3)
    assert summary["mser5_warm_up_steps"] == {"min": min(warm_ups), "max": max(warm_ups)}
    rep = trustsim.replicate(BASELINE, seeds=3, seed=7, steps=100, buyers=12, suppliers=6, workers=1)
    assert list(rep.runs["steady"]) == [s["steady"] for s in states]
    assert list(rep.runs["mser5_warm_up_steps"]) == warm_ups
    assert {k: rep.summary[k] for k in ("steady_share", "mser5_warm_up_steps")} == \
        {k: summary[k] for k in ("steady_share", "mser5_warm_up_steps")}


@pytest.mark.parametrize("args,needles", [
    (["--seeds", "1"], ["--seeds", "at least 2"]),
    (["--workers", "2"], ["--workers", "--seeds"]),
    (["--seeds", "0"], ["--seeds", "0 is too few: the intervals need at least 2 seeds"]),  # as for 1
])
def test_bad_replications_are_refused(args, needles, tmp_path, capsys):
    refused(*run_cli(capsys, "run", BASELINE, *SMALL, *args, "--out", tmp_path / "o")[::2], *needles)
    assert listing(tmp_path) == []


@pytest.mark.parametrize("argv", [["run", BASELINE, "--seeds", "1000001"], ["patterns", "--seeds", "99999999999"],
                                  ["structures", "--suite-seeds", "2000000"],
                                  ["compare", BASELINE, HIGH, "--seeds", "5000000"]])
def test_more_seeds_than_a_command_can_lay_out_are_refused_before_anything_runs(argv, tmp_path, capsys):
    refused(*run_cli(capsys, *argv, "--out", tmp_path / "o")[::2], "seeds", "more than the 1000000")
    assert listing(tmp_path) == []


@pytest.mark.parametrize("command", ["structures", "regimes"])
def test_structures_and_regimes_name_the_option_of_a_run_length_out_of_range(command, tmp_path, capsys):
    """As ``run --steps`` does; the line named ``run.steps``, a key the command line of these two does not take."""
    refused(*run_cli(capsys, command, "--steps", "2000000", "--out", tmp_path / "o")[::2],
            "error: --steps: 2000000 is out of range")
    assert listing(tmp_path) == []


def test_run_on_a_sweep_file_or_a_manifest_names_the_right_command(replications, tmp_path, capsys):
    refused(*run_cli(capsys, "run", ROOT / "scenarios" / "sweep_uncertainty.toml", "--out", tmp_path / "o")[::2],
            "is a sweep file", "trustsim sweep")
    refused(*run_cli(capsys, "run", replications / "manifest.json", "--out", tmp_path / "o")[::2], "trustsim rerun")
    refused(*run_cli(capsys, "run", replications, "--out", tmp_path / "o")[::2], "trustsim rerun")
    assert listing(tmp_path) == []


def test_check_on_a_manifest_or_a_results_folder_names_rerun_as_run_does(replications, capsys):
    for given in (replications / "manifest.json", replications):
        refused(*run_cli(capsys, "check", given)[::2], "not a scenario", "trustsim rerun")


@pytest.mark.parametrize("kind,command", [("sweep", "trustsim sweep FILE"), ("patterns", "trustsim patterns"),
                                          ("calibration", "trustsim calibrate FILE"),
                                          ("structures", "trustsim structures"), ("regimes", "trustsim regimes"),
                                          ("compare", "trustsim compare A B")])
def test_run_check_and_patterns_on_another_commands_result_name_the_command_that_makes_it(kind, command, tmp_path,
                                                                                          capsys):
    """A sweep's, the pattern suite's or a calibration's folder given where a scenario belongs was answered "to make
    that result again: trustsim rerun …", which rerun then refused: the line names the command that makes that kind,
    as rerun's own refusal does."""
    folder = tmp_path / kind
    folder.mkdir()
    (folder / "manifest.json").write_text(json.dumps({"trustsim": "0.1.0", "kind": kind}))
    before = listing(tmp_path)
    for argv in (["run", folder, "--out", tmp_path / "o"], ["check", folder / "manifest.json"],
                 ["patterns", folder, "--out", tmp_path / "o"]):
        code, _, err = run_cli(capsys, *argv)
        refused(code, err, "not a scenario", command)
        assert "rerun" not in err
    assert listing(tmp_path) == before


@pytest.mark.parametrize("state,command", [("calibration.json", "trustsim calibrate FILE"),
                                           ("sweep.json", "trustsim sweep FILE")])
def test_a_calibrations_or_sweeps_state_file_where_a_scenario_or_manifest_belongs_names_its_command(
        state, command, tmp_path, capsys):
    """A calibration's state file (calibration.json, which records no kind) given to check or run was answered "to
    make that result again: trustsim rerun …", and rerun then said its parameters were missing: each names the
    command that makes a calibration, as for its folder (a sweep's sweep.json already did)."""
    fields = {"calibration.json": {"trustsim": "calibration state", "calibrate": {}, "seed": 1, "budget": 40},
              "sweep.json": {"trustsim": "sweep state", "sweep": {}, "runs": 6}}[state]
    (tmp_path / state).write_text(json.dumps(fields))
    before = listing(tmp_path)
    for argv in (["check", tmp_path / state], ["run", tmp_path / state, "--out", tmp_path / "o"],
                 ["rerun", tmp_path / state]):
        code, _, err = run_cli(capsys, *argv)
        refused(code, err, command)
        assert "rerun" not in err
    assert listing(tmp_path) == before


def test_run_on_a_calibration_file_checks_its_table_then_runs_the_scenario_it_starts_from(tmp_path, capsys):
    """A [calibrate] table is not run, but a mistake in it is one line and exit 2, as `check` and `calibrate` say."""
    text = (ROOT / "scenarios" / "calibration.toml").read_text()
    assert "\nbudget = " in text and 'extends = "baseline.toml"' in text
    bad = tmp_path / "cal.toml"
    bad.write_text(text.replace("\nbudget = ", "\nbudjet = ", 1).replace(
        'extends = "baseline.toml"', f'extends = "{BASELINE.as_posix()}"'))
    refused(*run_cli(capsys, "run", bad, *SMALL, "--out", tmp_path / "o")[::2], "calibrate.budjet", "did you mean")
    assert listing(tmp_path) == ["cal.toml"]
    code, out, err = run_cli(capsys, "run", ROOT / "scenarios" / "calibration.toml", *SMALL, "--out", tmp_path / "o",
                             "--quiet")
    assert code == 0, err
    assert (tmp_path / "o" / "manifest.json").exists()


# --- rerun ------------------------------------------------------------------------------------------

def test_rerun_of_a_fresh_run_is_byte_identical(tmp_path, capsys):
    assert run_cli(capsys, "run", BASELINE, *SMALL, "--seed", 11, "--out", tmp_path / "orig", "--quiet")[0] == 0
    code, out, err = run_cli(capsys, "rerun", tmp_path / "orig" / "manifest.json")
    assert code == 0, err
    again = tmp_path / "orig-rerun"
    for name in ("timeseries.csv", "summary.json", "buyers.csv"):
        assert (again / name).read_bytes() == (tmp_path / "orig" / name).read_bytes(), name
        assert f"{name}: byte-identical" in out
    assert json.loads((again / "manifest.json").read_text())["params"] == \
        json.loads((tmp_path / "orig" / "manifest.json").read_text())["params"]
    # one run uses one core: --workers is refused, as `run --workers` without --seeds is, not ignored
    refused(*run_cli(capsys, "rerun", tmp_path / "orig", "--out", tmp_path / "w", "--workers", 2)[::2],
            "--workers", "applies to replications only")
    assert not (tmp_path / "w").exists()


def test_rerun_records_the_scenario_and_overrides_the_original_was_made_from(tmp_path, capsys):
    """The result made again is the original's result: its manifest names the same scenario file, chain and
    overrides (--set and --seed), so it can be traced, and made again in turn, as the original can."""
    (tmp_path / "base.toml").write_text("[trust]\ngain = 0.2\n")
    (tmp_path / "top.toml").write_text('extends = "base.toml"\n[market]\nuncertainty = 0.4\n')
    assert run_cli(capsys, "run", tmp_path / "top.toml", *SMALL, "--set", "trust.loss=0.3", "--seed", 4,
                   "--out", tmp_path / "orig", "--quiet")[0] == 0
    code, out, err = run_cli(capsys, "rerun", tmp_path / "orig", "--out", tmp_path / "again")
    assert code == 0, out + err
    orig, again = (json.loads((tmp_path / f / "manifest.json").read_text())["scenario"] for f in ("orig", "again"))
    assert orig["overrides"] == {"market.buyers": 12, "market.suppliers": 6, "trust.loss": 0.3, "run.seed": 4,
                                 "run.steps": 20}
    assert again == orig


def test_rerun_of_replications_and_a_note_on_other_versions(replications, tmp_path, capsys):
    shutil.copytree(replications, tmp_path / "reps")
    info = json.loads((tmp_path / "reps" / "manifest.json").read_text())
    info["numpy"] = "0.0.1"
    (tmp_path / "reps" / "manifest.json").write_text(json.dumps(info))
    code, out, err = run_cli(capsys, "rerun", tmp_path / "reps", "--out", tmp_path / "again", "--workers", 1, "--quiet")
    assert code == 0, err
    assert "numpy 0.0.1 recorded" in err and "installed" in err
    for name in ("replications.csv", "summary.json", "bands.csv"):
        assert (tmp_path / "again" / name).read_bytes() == (replications / name).read_bytes(), name


def test_rerun_notices_a_result_that_differs(tmp_path, capsys):
    assert run_cli(capsys, "run", BASELINE, *SMALL, "--out", tmp_path / "orig", "--quiet")[0] == 0
    info = json.loads((tmp_path / "orig" / "manifest.json").read_text())
    info["params"]["run"]["seed"] = 12  # the tables beside it were made with another seed
    (tmp_path / "orig" / "manifest.json").write_text(json.dumps(info))
    code, out, err = run_cli(capsys, "rerun", tmp_path / "orig", "--out", tmp_path / "again")
    assert code == 1 and "DIFFERS" in out
    assert "not reproduced: the code and versions are those the manifest records" in err
    info["numpy"] = "0.0.1"  # the cause it names follows the versions: here they differ
    (tmp_path / "orig" / "manifest.json").write_text(json.dumps(info))
    code, out, err = run_cli(capsys, "rerun", tmp_path / "orig", "--out", tmp_path / "again", "--force")
    assert code == 1 and "not reproduced: trustsim's code or its libraries changed" in err, err
    (tmp_path / "orig" / "summary.json").write_text("5")  # an original table that is no table: it differs
    code, out, err = run_cli(capsys, "rerun", tmp_path / "orig", "--out", tmp_path / "again", "--force")
    assert code == 1 and "summary.json: DIFFERS" in out, out + err


def test_rerun_refuses_a_manifest_missing_a_parameter_group_or_key(tmp_path, capsys):
    """A manifest records every parameter: with [market] or one key deleted, the value the result was made with is
    unknown, so rerun refuses (one line naming the manifest and what is missing, nothing written) rather than put
    today's default in its place and call the original's tables different; compare reads the manifest alike."""
    assert run_cli(capsys, "run", BASELINE, *SMALL, "--out", tmp_path / "orig", "--quiet")[0] == 0
    info = json.loads((tmp_path / "orig" / "manifest.json").read_text())
    for case, edit, needle in (("group", lambda p: p.pop("market"), "manifest.json: params.market: missing"),
                               ("key", lambda p: p["trust"].pop("gain"), "manifest.json: params.trust.gain: missing")):
        shutil.copytree(tmp_path / "orig", tmp_path / case)
        edited = json.loads(json.dumps(info))
        edit(edited["params"])
        (tmp_path / case / "manifest.json").write_text(json.dumps(edited))
        before = listing(tmp_path)
        refused(*run_cli(capsys, "rerun", tmp_path / case, "--out", tmp_path / "again")[::2], needle)
        refused(*run_cli(capsys, "compare", tmp_path / "orig", tmp_path / case, "--out", tmp_path / "c")[::2], needle)
        assert listing(tmp_path) == before
    # other code's manifest may predate a parameter: rerun goes on with today's default, noting the other code
    older = json.loads(json.dumps(info))
    older["trustsim_code"] = "0" * 16
    older["params"]["trust"].pop("gain")
    shutil.copytree(tmp_path / "orig", tmp_path / "older")
    (tmp_path / "older" / "manifest.json").write_text(json.dumps(older))
    code, out, err = run_cli(capsys, "rerun", tmp_path / "older", "--out", tmp_path / "again")
    assert code == 0 and "other code than made the result" in err and "identical" in out, out + err


def test_rerun_with_no_original_beside_the_manifest_has_verified_nothing(tmp_path, capsys, replications):
    """Only the manifest left: the result is made again, but nothing was compared, so it is not a pass (exit 1,
    one line naming what is missing)."""
    assert run_cli(capsys, "run", BASELINE, *SMALL, "--out", tmp_path / "orig", "--quiet")[0] == 0
    for name in ("timeseries.csv", "summary.json", "buyers.csv"):
        (tmp_path / "orig" / name).unlink()
    code, out, err = run_cli(capsys, "rerun", tmp_path / "orig", "--out", tmp_path / "again")
    assert code == 1, out + err
    assert len(err.splitlines()) == 1 and err.startswith("not verified: none of the original's tables"), err
    assert "timeseries.csv, summary.json, buyers.csv" in err and "orig/manifest.json" in err.replace("\\", "/")
    assert out.count("no original beside the manifest to compare with") == 3
    assert (tmp_path / "again" / "summary.json").is_file()  # made again all the same
    shutil.copytree(replications, tmp_path / "reps")  # replications alike
    for name in ("replications.csv", "summary.json", "bands.csv"):
        (tmp_path / "reps" / name).unlink()
    code, out, err = run_cli(capsys, "rerun", tmp_path / "reps", "--out", tmp_path / "r2", "--workers", 1, "--quiet")
    assert code == 1 and "not verified" in err and "replications.csv, summary.json, bands.csv" in err, out + err


def test_rerun_with_one_original_missing_has_not_verified_it(tmp_path, capsys):
    """The run's buyers.csv deleted: the other tables are compared and said to match, but the rerun is not a pass
    (exit 1, one line naming the table it could not compare); with it back, every table matches (exit 0)."""
    assert run_cli(capsys, "run", BASELINE, *SMALL, "--out", tmp_path / "orig", "--quiet")[0] == 0
    shutil.move(tmp_path / "orig" / "buyers.csv", tmp_path / "buyers.csv")
    code, out, err = run_cli(capsys, "rerun", tmp_path / "orig", "--out", tmp_path / "again")
    assert code == 1, out + err
    assert len(err.splitlines()) == 1 and err.startswith("not verified: buyers.csv: no original beside"), err
    assert "timeseries.csv" not in err and "summary.json" not in err, err
    assert "timeseries.csv: byte-identical" in out and "summary.json: byte-identical" in out, out
    assert "buyers.csv: no original beside the manifest to compare with" in out, out
    shutil.move(tmp_path / "buyers.csv", tmp_path / "orig" / "buyers.csv")
    code, out, err = run_cli(capsys, "rerun", tmp_path / "orig", "--out", tmp_path / "again", "--force")
    assert code == 0 and out.count("byte-identical") == 3 and err == "", out + err


def test_a_manifest_records_the_codes_digest_and_rerun_names_other_code(tmp_path, capsys):
    """The version number names a release; the digest of the source tells any two states of the code apart, so
    a result made again by changed code says so."""
    from trustsim.reproduce import code_digest

    assert run_cli(capsys, "run", BASELINE, *SMALL, "--out", tmp_path / "orig", "--quiet")[0] == 0
    info = json.loads((tmp_path / "orig" / "manifest.json").read_text())
    assert info["trustsim_code"] == code_digest() and len(code_digest()) == 16
    int(code_digest(), 16)
    info["trustsim_code"] = "0" * 16
    (tmp_path / "orig" / "manifest.json").write_text(json.dumps(info))
    code, out, err = run_cli(capsys, "rerun", tmp_path / "orig", "--out", tmp_path / "again")
    assert code == 0 and f"trustsim_code {'0' * 16} recorded, {code_digest()} installed" in err
    assert "other code than made the result" in err
    # an --out it refuses is one line, as any bad input: the note came first, and with it two
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("mine")
    refused(*run_cli(capsys, "rerun", tmp_path / "orig", "--out", tmp_path / "mine")[::2], "mine: holds files")
    assert listing(tmp_path / "mine") == ["notes.txt"]


def test_rerun_holds_whole_numbers_exactly(replications, tmp_path, capsys):
    """A replicate's seed edited by one is another run: as a float it would equal the original to the last bit."""
    shutil.copytree(replications, tmp_path / "reps")
    runs = pd.read_csv(tmp_path / "reps" / "replications.csv")
    runs.loc[0, "seed"] += 1
    runs.to_csv(tmp_path / "reps" / "replications.csv", index=False)
    code, out, err = run_cli(capsys, "rerun", tmp_path / "reps", "--out", tmp_path / "again", "--workers", 1, "--quiet")
    assert code == 1 and "replications.csv: DIFFERS" in out, out + err


BAD_MANIFESTS = {
    "not_json": ("{ nope", "not a JSON manifest"),
    "not_trustsim": (json.dumps({"hello": 1}), "not a trustsim manifest"),
    "sweep": (json.dumps({"trustsim": "0.1.0", "kind": "sweep"}), "trustsim sweep"),
    "calibration": (json.dumps({"trustsim": "0.1.0", "kind": "calibration"}),
                    "kind: is a calibration's manifest; a calibration is made again from its calibration file"),
    "structures": (json.dumps({"trustsim": "0.1.0", "kind": "structures"}), "trustsim structures"),
    "regimes": (json.dumps({"trustsim": "0.1.0", "kind": "regimes"}), "trustsim regimes"),
    "no_params": (json.dumps({"trustsim": "0.1.0", "kind": "run"}), "params"),
    "unknown_param": (json.dumps({"trustsim": "0.1.0", "kind": "run", "params": {"trust": {"gian": 0.1}}}),
                      'did you mean "gain"'),
    "out_of_range": (json.dumps({"trustsim": "0.1.0", "params": {"market": {"uncertainty": 3.0}}}),
                     "market.uncertainty"),
    "bad_root_seed": (json.dumps({"trustsim": "0.1.0", "kind": "replications", "params": {}, "root_seed": "x",
                                  "replications": 3}), "root_seed"),
    "too_few_replications": (json.dumps({"trustsim": "0.1.0", "kind": "replications", "params": {},
                                         "root_seed": 1, "replications": 0}), "manifest.json: replications"),
    "root_seed_too_large": (json.dumps({"trustsim": "0.1.0", "kind": "replications", "params": {},
                                        "root_seed": 10**40, "replications": 3}), "manifest.json: root_seed"),
    "kind_not_a_word": (json.dumps({"trustsim": "0.1.0", "kind": ["run"], "params": {}}), "kind: expected a kind"),
}


@pytest.mark.parametrize("case", sorted(BAD_MANIFESTS))
def test_rerun_refuses_a_manifest_it_cannot_use(case, tmp_path, capsys):
    text, needle = BAD_MANIFESTS[case]
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "manifest.json").write_text(text)
    before = listing(tmp_path)
    refused(*run_cli(capsys, "rerun", tmp_path / "m" / "manifest.json", "--out", tmp_path / "o")[::2], needle)
    assert listing(tmp_path) == before


def test_rerun_prints_a_recorded_name_without_its_control_characters(tmp_path, capsys):
    assert run_cli(capsys, "run", BASELINE, *SMALL, "--out", tmp_path / "orig", "--quiet")[0] == 0
    info = json.loads((tmp_path / "orig" / "manifest.json").read_text())
    info["scenario"]["name"] = "base\x1b[31mline\nnext"
    (tmp_path / "orig" / "manifest.json").write_text(json.dumps(info))
    code, out, err = run_cli(capsys, "rerun", tmp_path / "orig", "--out", tmp_path / "again")
    assert code == 0, err
    assert "base\\x1b[31mline\\nnext: run made again" in out and "\x1b" not in out, out


def test_rerun_of_a_missing_manifest(tmp_path, capsys):
    refused(*run_cli(capsys, "rerun", tmp_path / "none.json")[::2], "no such file")
    assert listing(tmp_path) == []


def test_rerun_of_the_committed_example_matches_it(tmp_path, capsys):
    """Another machine made results/example/: equal within floating-point summation order, if not byte for byte."""
    code, out, err = run_cli(capsys, "rerun", ROOT / "results" / "example" / "manifest.json", "--out", tmp_path / "ex")
    assert code == 0, out + err
    for name in ("timeseries.csv", "summary.json", "buyers.csv"):
        assert f"{name}: byte-identical" in out or f"{name}: equal to the original within" in out


# --- compare ----------------------------------------------------------------------------------------

def test_compare_two_scenarios_pairs_them_on_common_seeds(tmp_path, capsys):
    out = tmp_path / "cmp"
    code, stdout, err = run_cli(capsys, "compare", BASELINE, HIGH, "--seeds", 3, *SMALL[:4], "--steps", 20,
                            "--workers", 1, "--out", out, "--quiet")
    assert code == 0, err
    assert {"compare.csv", "compare.json", "runs_a.csv", "runs_b.csv", "manifest.json", "figures/compare.png"} \
        <= set(listing(out))
    a, b = pd.read_csv(out / "runs_a.csv"), pd.read_csv(out / "runs_b.csv")
    assert list(a["seed"]) == list(b["seed"]) == [run_seed(0, 0, r) for r in range(3)]
    table = pd.read_csv(out / "compare.csv").set_index("figure")
    row = table.loc["partner.tco_per_unit"]
    d = b["partner.tco_per_unit"] - a["partner.tco_per_unit"]
    assert row["difference"] == pytest.approx(d.mean()) and bool(row["paired"])
    assert (row["low"], row["high"]) == pytest.approx(mean_ci(d)[1:])
    assert "paired on 3 common seeds" in stdout and "B − A" in stdout
    assert max(len(line) for line in stdout.splitlines()[1:]) <= 100
    assert json.loads((out / "manifest.json").read_text())["kind"] == "compare"


def test_a_comparisons_manifest_records_the_root_seed_it_ran_from(tmp_path, capsys):
    """With ``--seed 5`` the manifest said ``seed`` 0 and both sides' ``run.seed`` 0, the file's, though every run's
    seed derived from 5 (as ``compare.json``'s ``sources`` said)."""
    out = tmp_path / "c"
    code, _, err = run_cli(capsys, "compare", BASELINE, HIGH, "--seeds", 2, "--seed", 5, *SMALL, "--workers", 1,
                           "--out", out, "--quiet")
    assert code == 0, err
    info = json.loads((out / "manifest.json").read_text())
    assert info["compare"]["sources"]["root_seed"] == 5
    assert info["seed"] == info["params"]["run"]["seed"] == info["params_b"]["run"]["seed"] == 5
    assert info["scenario"]["overrides"]["run.seed"] == 5
    a = pd.read_csv(out / "runs_a.csv")
    assert list(a["seed"]) == [run_seed(5, 0, r) for r in range(2)]


def test_compare_a_scenario_with_itself_finds_no_difference(tmp_path, capsys):
    code, _, err = run_cli(capsys, "compare", BASELINE, BASELINE, "--seeds", 2, *SMALL, "--workers", 1,
                       "--out", tmp_path / "same", "--quiet")
    assert code == 0, err
    table = pd.read_csv(tmp_path / "same" / "compare.csv")
    assert np.nanmax(np.abs(table["difference"])) == 0


def test_compare_two_results_folders(replications, tmp_path, capsys):
    assert run_cli(capsys, "run", BASELINE, *SMALL, "--out", tmp_path / "one", "--quiet")[0] == 0
    code, out, err = run_cli(capsys, "compare", tmp_path / "one", replications, "--out", tmp_path / "c")
    assert code == 0, err
    assert "Welch" in out
    table = pd.read_csv(tmp_path / "c" / "compare.csv").set_index("figure")
    reps = pd.read_csv(replications / "replications.csv")
    one = json.loads((tmp_path / "one" / "summary.json").read_text())["long_run"]["all"]["tco_per_unit"]
    assert table.loc["all.tco_per_unit", "difference"] == pytest.approx(reps["all.tco_per_unit"].mean() - one)
    assert "parameters: the same (only the seeds differ)" in out
    shutil.copytree(replications, tmp_path / "copy")  # the same runs in another folder
    code, out, _ = run_cli(capsys, "compare", replications, tmp_path / "copy", "--out", tmp_path / "c2")
    assert code == 0 and "paired on 3 common seeds" in out
    assert out.splitlines()[1] == "parameters: the same"  # the seeds too: nothing differs


def test_two_results_folders_on_the_same_seeds_in_another_order_are_paired_seed_by_seed(replications, tmp_path):
    """The same runs listed in reverse order: the same seeds, so paired, and each seed with itself: every
    difference 0, and its interval [0, 0] (paired row by row, or taken as unpaired, the interval would not be)."""
    from trustsim.comparison import compare_folders

    shutil.copytree(replications, tmp_path / "reversed")
    runs = pd.read_csv(replications / "replications.csv")
    runs.iloc[::-1].to_csv(tmp_path / "reversed" / "replications.csv", index=False)
    comparison = compare_folders(replications, tmp_path / "reversed")
    assert comparison.paired and comparison.compared == 3
    table = comparison.table()
    assert (table["n"] == 3).all()
    assert np.nanmax(np.abs(table[["difference", "low", "high"]].to_numpy(float))) == 0


def test_compare_names_a_and_b_in_full_above_a_table_whose_columns_are_a_and_b(tmp_path, capsys):
    """Columns cut to 10 characters called two folders "uncertaint" and "uncertaint": the table's columns are A
    and B, and the line above it names each in full; two folders of one name are the scenario's, marked A and B."""
    names = ("uncertainty_low_first_attempt", "uncertainty_low_second_attempt")
    for seed, name in enumerate(names):
        assert run_cli(capsys, "run", BASELINE, *SMALL, "--seed", seed, "--out", tmp_path / name, "--quiet")[0] == 0
    code, out, err = run_cli(capsys, "compare", *(tmp_path / n for n in names), "--out", tmp_path / "c")
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].startswith(f"B {names[1]} − A {names[0]} (1 and 1 runs, Welch intervals) → "), lines[0]
    assert lines[2].split() == ["figure", "A", "B", "B", "−", "A", "[95%", "interval]"], lines[2]
    assert max(len(line) for line in lines[1:]) <= 100
    for side in ("x", "y"):
        shutil.copytree(tmp_path / names[0], tmp_path / side / "same")
    code, out, err = run_cli(capsys, "compare", tmp_path / "x" / "same", tmp_path / "y" / "same", "--out",
                             tmp_path / "c2")
    assert code == 0 and out.startswith("B baseline − A baseline ("), out + err


def test_two_results_folders_on_the_same_seeds_stay_paired_when_a_run_of_one_failed(replications, tmp_path, capsys,
                                                                                      monkeypatch):
    """The same three seeds, replicate 1 failed in B: paired on the two seeds both ran (as two scenarios are),
    not Welch's interval over 3 and 2 runs as if the seeds were unrelated."""
    monkeypatch.setenv("TRUSTSIM_FAIL_RUNS", "1")
    assert run_cli(capsys, "run", BASELINE, *SMALL, "--seed", 7, "--seeds", 3, "--workers", 1, "--out",
                   tmp_path / "failed", "--quiet")[0] == 1
    monkeypatch.delenv("TRUSTSIM_FAIL_RUNS")
    code, out, err = run_cli(capsys, "compare", replications, tmp_path / "failed", "--out", tmp_path / "c")
    assert code == 1 and "paired on 2 common seeds" in out.splitlines()[0], out + err
    a, b = pd.read_csv(replications / "replications.csv"), pd.read_csv(tmp_path / "failed" / "replications.csv")
    d = (b["all.tco_per_unit"] - a["all.tco_per_unit"]).to_numpy()[[0, 2]]
    row = pd.read_csv(tmp_path / "c" / "compare.csv").set_index("figure").loc["all.tco_per_unit"]
    assert bool(row["paired"]) and row["n"] == 2
    assert (row["difference"], row["low"], row["high"]) == pytest.approx(mean_ci(d))


def test_compare_of_two_results_folders_names_the_parameters_in_which_they_differ(tmp_path, capsys):
    """Two folders can differ in more than the question asked (here the run length as well as the uncertainty):
    the comparison says so on screen and in compare.json."""
    assert run_cli(capsys, "run", BASELINE, *SMALL, "--out", tmp_path / "short", "--quiet")[0] == 0
    assert run_cli(capsys, "run", BASELINE, *SMALL, "--steps", 30, "--set", "market.uncertainty=0.6",
                   "--out", tmp_path / "long", "--quiet")[0] == 0
    code, out, err = run_cli(capsys, "compare", tmp_path / "short", tmp_path / "long", "--out", tmp_path / "c")
    print(out)
    assert code == 0, err
    assert "run.steps 20 → 30" in out and "market.uncertainty" in out
    assert out.startswith("B long − A short")  # one scenario's two results: named by their folders
    assert max(len(line) for line in out.splitlines()[1:]) <= 100
    info = json.loads((tmp_path / "c" / "compare.json").read_text())
    assert set(info["parameters_that_differ"]) == {"run.steps", "market.uncertainty"}
    assert info["parameters_that_differ"]["run.steps"] == [20, 30]


def test_bad_comparisons_are_refused(replications, tmp_path, capsys):
    out = tmp_path / "o"
    refused(*run_cli(capsys, "compare", BASELINE, replications, "--out", out)[::2], "two scenario files or two results")
    refused(*run_cli(capsys, "compare", replications, replications, "--seeds", 3, "--out", out)[::2], "--seeds")
    refused(*run_cli(capsys, "compare", BASELINE, ROOT / "scenarios" / "sweep_uncertainty.toml", "--out", out)[::2],
            "sweep")
    refused(*run_cli(capsys, "compare", BASELINE, HIGH, "--seeds", 1, "--out", out)[::2], "at least 2")
    refused(*run_cli(capsys, "compare", BASELINE, tmp_path / "missing.toml", "--out", out)[::2], "no such file")
    assert listing(tmp_path) == []
    for name in ("s1", "s2"):  # two sweeps' folders: compare says what it takes, not how to make a sweep again
        (tmp_path / name).mkdir()
        (tmp_path / name / "manifest.json").write_text('{"trustsim": "1", "kind": "sweep"}')
    refused(*run_cli(capsys, "compare", tmp_path / "s1", tmp_path / "s2", "--out", out)[::2],
            "is a sweep's manifest; compare takes two runs or two replications")
    assert not out.exists()


def test_a_folder_compared_with_itself_is_refused(replications, tmp_path, capsys):
    """However the second path is spelled (a trailing slash, ``./``, a symbolic link): every difference would be 0,
    a comparison of nothing, written and exit 0 as if two results had been compared."""
    (tmp_path / "link").symlink_to(replications)
    for b in (f"{replications}/", tmp_path / "link"):
        code, _, err = run_cli(capsys, "compare", replications, b, "--out", tmp_path / "c")
        refused(code, err, "is the same folder as", "compared with itself")
        with pytest.raises(trustsim.ParamError, match="is the same folder as"):
            trustsim.compare(replications, b)
    assert not (tmp_path / "c").exists()


# --- sweeps, check, report --------------------------------------------------------------------------

SWEEP = f"""extends = "{BASELINE.as_posix()}"
[run]
steps = 12
[market]
buyers = 10
suppliers = 5
[sweep]
replications = 3
seed = 5
[sweep.factors]
"market.uncertainty" = [0.0, 0.6]
"""


def test_sweep_writes_a_per_point_table_and_report_redraws_it(tmp_path, capsys):
    path = tmp_path / "sw.toml"
    path.write_text(SWEEP)
    code, out, _ = run_cli(capsys, "check", path)
    assert code == 0 and "2 design points × 3 replications = 6 runs" in out
    assert not (tmp_path / "results").exists()
    assert run_cli(capsys, "sweep", path, "--out", tmp_path / "sw", "--workers", 1, "--quiet")[0] == 0
    runs = pd.read_csv(tmp_path / "sw" / "runs.csv")
    points = pd.read_csv(tmp_path / "sw" / "points.csv")
    assert list(points["market.uncertainty"]) == [0.0, 0.6] and list(points["n"]) == [3, 3]
    for p in (0, 1):
        values = runs.loc[runs["point"] == p, "advantage.market_share"]
        m, lo, hi = mean_ci(values)
        row = points.loc[p]
        assert (row["advantage.market_share"], row["advantage.market_share.low"],
                row["advantage.market_share.high"]) == pytest.approx((m, lo, hi))
    (tmp_path / "sw" / "figures" / "heatmap__x.png").unlink(missing_ok=True)
    shutil.rmtree(tmp_path / "sw" / "figures")
    code, out, err = run_cli(capsys, "report", tmp_path / "sw")
    assert code == 0, err
    assert len(out.splitlines()) == len(list((tmp_path / "sw" / "figures").glob("*.png"))) >= 2


@pytest.mark.parametrize("table", ["emptied", "another sweep's", "a run's seed changed"])
def test_report_refuses_a_sweeps_runs_table_other_than_its_runs(tmp_path, capsys, table):
    """report draws a sweep's figures from runs.parquet: emptied, or replaced by another sweep's (of the same factor,
    other points), it drew "not measured" or other runs' figures over the sweep's own, exit 0. It must hold the
    runs sweep.json describes, at their points and on their seeds; refused in one line, figures left as they were."""
    path = tmp_path / "sw.toml"
    path.write_text(SWEEP)
    assert run_cli(capsys, "sweep", path, "--out", tmp_path / "sw", "--workers", 1, "--quiet")[0] == 0
    runs = pd.read_parquet(tmp_path / "sw" / "runs.parquet")
    if table == "emptied":
        runs = runs.iloc[0:0]
    elif table == "another sweep's":
        path.write_text(SWEEP.replace("[0.0, 0.6]", "[0.2, 0.4]"))
        assert run_cli(capsys, "sweep", path, "--out", tmp_path / "other", "--workers", 1, "--quiet")[0] == 0
        runs = pd.read_parquet(tmp_path / "other" / "runs.parquet")
    else:
        runs.loc[1, "seed"] += 1
    runs.to_parquet(tmp_path / "sw" / "runs.parquet", index=False)
    figures = {f.name: f.read_bytes() for f in (tmp_path / "sw" / "figures").iterdir()}
    refused(*run_cli(capsys, "report", tmp_path / "sw")[::2], f"{tmp_path / 'sw' / 'runs.parquet'}: does not hold "
                                                              f"this sweep's 6 runs")
    assert {f.name: f.read_bytes() for f in (tmp_path / "sw" / "figures").iterdir()} == figures


def test_a_sweep_of_replications_alone(tmp_path, capsys):
    path = tmp_path / "reps.toml"
    path.write_text(SWEEP.split("[sweep.factors]")[0])
    code, out, _ = run_cli(capsys, "check", path)
    assert code == 0 and "1 design point × 3 replications = 3 runs" in out
    assert run_cli(capsys, "sweep", path, "--out", tmp_path / "r", "--workers", 1, "--quiet")[0] == 0
    assert len(pd.read_csv(tmp_path / "r" / "runs.csv")) == 3
    path.write_text(SWEEP.split("[sweep.factors]")[0].replace("replications = 3", "replications = 1"))
    refused(*run_cli(capsys, "check", path)[::2], "sweep.factors", "replications of at least 2")


def test_check_counts_a_sweep_in_words(tmp_path, capsys):
    path = tmp_path / "one.toml"
    path.write_text(SWEEP.replace("replications = 3", "replications = 1").replace("[0.0, 0.6]", "[0.3]")
                    .replace("steps = 12", "steps = 1"))
    code, out, err = run_cli(capsys, "check", path)
    assert code == 0, err
    assert "1 design point × 1 replication = 1 run of 1 step" in out, out


def test_check_refuses_a_broken_sweep_table_before_printing(tmp_path, capsys):
    path = tmp_path / "bad.toml"
    path.write_text(SWEEP.replace("[0.0, 0.6]", "[0.0, 1.6]"))
    code, out, err = run_cli(capsys, "check", path)
    refused(code, err, "sweep.factors.market.uncertainty", "out of range")
    assert out == ""


def test_report_on_replications_and_on_a_folder_it_cannot_read(replications, tmp_path, capsys):
    shutil.copytree(replications, tmp_path / "reps")
    shutil.rmtree(tmp_path / "reps" / "figures")
    code, out, err = run_cli(capsys, "report", tmp_path / "reps")
    assert code == 0, err
    assert (tmp_path / "reps" / "figures" / "trust.png").is_file() and len(out.splitlines()) == 8
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "notes.txt").write_text("mine")
    refused(*run_cli(capsys, "report", tmp_path / "other")[::2], "not a results folder")
    refused(*run_cli(capsys, "report", tmp_path / "missing")[::2], "no such folder")


# --- small things -----------------------------------------------------------------------------------

def test_a_parameter_outside_its_table_is_named_with_its_group(tmp_path, capsys):
    path = tmp_path / "bare.toml"
    path.write_text('extends = "' + BASELINE.as_posix() + '"\nuncertainty = 0.9\n')
    refused(*run_cli(capsys, "check", path)[::2], 'did you mean "market.uncertainty"')
    path.write_text("uncertainy = 0.9\n")
    refused(*run_cli(capsys, "check", path)[::2], 'did you mean "market.uncertainty"')


@pytest.mark.parametrize("command,needles", [
    ("check", ["scenario, sweep or calibration TOML file", "--set"]),
    ("report", ["results folder", "sweep", "patterns"]),
    ("rerun", ["manifest.json", "--out"]),
    ("compare", ["scenario TOML file", "--seeds"]),
])
def test_help_describes_the_arguments(command, needles, capsys):
    with pytest.raises(SystemExit):
        main([command, "--help"])
    text = " ".join(capsys.readouterr().out.split())
    for needle in needles:
        assert needle in text, needle


def test_the_committed_example_is_not_overwritten_without_force(capsys):
    example = ROOT / "results" / "example"
    before = {p: p.stat().st_mtime_ns for p in example.rglob("*")}
    refused(*run_cli(capsys, "run", BASELINE, *SMALL, "--out", example)[::2], "committed example", "--force")
    assert {p: p.stat().st_mtime_ns for p in example.rglob("*")} == before


# --- patterns ---------------------------------------------------------------------------------------

def test_patterns_with_few_seeds_warn_before_running(monkeypatch, tmp_path, capsys):
    from trustsim import patterns

    def stop(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(patterns, "run_all", stop)
    code, _, err = run_cli(capsys, "patterns", "--seeds", 3, "--out", tmp_path / "p")
    assert code == 130 and "warning: with 3 seeds" in err.splitlines()[0] and "--seeds 30" in err
    code, _, err = run_cli(capsys, "patterns", "--seeds", 30, "--out", tmp_path / "p")
    assert code == 130 and "warning" not in err
    assert listing(tmp_path) == []


def test_patterns_start_from_a_scenario_and_its_sets_and_record_them(monkeypatch, tmp_path, capsys):
    """``trustsim patterns SCENARIO --set …``: the suite's variants start from the scenario's parameters (the
    specification's values of decision 41, say), and the manifest names the scenario and records its values.
    The runs are stopped at once: what they are given is the check."""
    from trustsim import patterns

    given = []

    def stop(base, **kwargs):
        given.append(base)
        raise KeyboardInterrupt

    monkeypatch.setattr(patterns, "run_all", stop)
    spec = ROOT / "scenarios" / "specification_values.toml"
    code, _, _ = run_cli(capsys, "patterns", spec, "--set", "time.h_admin=9", "--out", tmp_path / "p")
    assert code == 130 and given[0].trust.playoff_penalty == 0.1 and given[0].time.h_monitor == 15.0
    assert given[0].time.h_admin == 9.0 and given[0].innovation.quality_spillover == 0.15
    code, _, _ = run_cli(capsys, "patterns", "--out", tmp_path / "p")
    assert code == 130 and given[1].trust.playoff_penalty == Params().trust.playoff_penalty
    code, _, err = run_cli(capsys, "patterns", spec, "--set", "trust.playoff_penaly=0.2", "--out", tmp_path / "p")
    assert code == 2 and err.count("\n") == 1 and 'did you mean "playoff_penalty"' in err, err
    assert listing(tmp_path) == []


def test_patterns_refuse_a_run_seed_they_would_ignore(monkeypatch, tmp_path, capsys):
    """The suite runs every variant on seeds 1 … n (--seeds): ``--set run.seed=…`` would change nothing but the
    manifest's record, so it is refused before any run, in one line, and nothing is written."""
    from trustsim import patterns

    def stop(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(patterns, "run_all", stop)
    refused(*run_cli(capsys, "patterns", "--set", "run.seed=5", "--out", tmp_path / "p")[::2], "run.seed", "--seeds")
    assert listing(tmp_path) == []


def test_patterns_refuse_a_sweep_file_a_result_and_a_broken_calibration_table(monkeypatch, tmp_path, capsys):
    """As ``run`` and ``compare`` do: a sweep file's suite ran from its base scenario, its [sweep] table dropped
    without a word; a results folder or manifest was a TOML syntax error; a calibration file's broken
    [calibrate] table passed unread. Each is one line, exit 2, before any run, nothing written."""
    from trustsim import patterns

    def stop(*args, **kwargs):
        raise AssertionError("the suite ran")

    monkeypatch.setattr(patterns, "run_all", stop)
    assert run_cli(capsys, "run", BASELINE, *SMALL, "--out", tmp_path / "r", "--quiet")[0] == 0
    calibration = tmp_path / "cal.toml"  # the shipped calibration with a budget below 0
    shipped = (ROOT / "scenarios" / "calibration.toml").read_text()
    calibration.write_text(shipped.replace('extends = "baseline.toml"', f'extends = "{BASELINE.as_posix()}"')
                           .replace("budget = 8000 ", "budget = -3 "))
    before = listing(tmp_path)
    sweep = ROOT / "scenarios" / "sweep_uncertainty.toml"
    for given, needles in ((sweep, ("sweep: is a sweep file", "trustsim sweep")),
                           (tmp_path / "r", ("is a results folder", "trustsim rerun")),
                           (tmp_path / "r" / "manifest.json", ("is a results manifest", "trustsim rerun")),
                           (calibration, ("calibrate.budget",))):
        refused(*run_cli(capsys, "patterns", given, "--seeds", 2, "--out", tmp_path / "p")[::2], *needles)
    assert listing(tmp_path) == before


def synthetic_results():
    """One result of each shape the checks make (series, per-σ, per-integrity, a grid, channels), long texts."""
    from trustsim.patterns import Result
    from trustsim.patterns.variants import CHANNELS, FIT_SPREADS, INTEGRITIES, SIGMAS

    rng = np.random.default_rng(0)
    x = lambda: rng.normal(size=4)  # noqa: E731
    long = "; ".join(f"channel {i} +0.123 [-0.456, +0.789]" for i in range(8))
    return [
        Result("P1", "S18", long, "difference > 0 (CI excludes 0)", True, {"partner": x(), "aggressive": x()},
               {"partner": 0.9}),
        Result("P6", "S19", long, "increasing in σ", False,
               {"advantage": [0.1] * 4, "by_sigma": [x() for _ in SIGMAS]}),
        Result("R1", "S14", long, "slope > 0", False,
               {"advantage": [0.1] * 5, "by_integrity": [x() for _ in INTEGRITIES]}),
        Result("R2", "S14, S19", long, "falls with σ", True,
               {"grid": {(s, f): x() for s in SIGMAS for f in FIT_SPREADS}}),
        Result("D", "S10, S18, S19", long, "a decomposition (no verdict)", None,
               {"contribution": {c: x() for c in CHANNELS}}),
    ]


def test_pattern_table_fits_100_columns_and_every_figure_has_labelled_axes(tmp_path, monkeypatch, capsys):
    import matplotlib.figure

    from trustsim.patterns import markdown_table, table
    from trustsim.patterns.figures import jsonable

    results = synthetic_results()
    text = table(results)
    assert max(map(len, text.splitlines())) <= 100
    assert all(r.measured.split(";")[-1].strip().split()[-1] in text for r in results)  # nothing cut off
    labels = []
    original = matplotlib.figure.Figure.savefig

    def spy(fig, *args, **kwargs):
        labels.extend((ax.get_xlabel(), ax.get_ylabel()) for ax in fig.axes)
        return original(fig, *args, **kwargs)

    monkeypatch.setattr(matplotlib.figure.Figure, "savefig", spy)
    folder = tmp_path / "pat"
    (folder / "figures").mkdir(parents=True)
    (folder / "patterns.json").write_text(json.dumps(
        [{"pattern": r.pattern, "claims": r.claim, "measured": r.measured, "target": r.target, "passed": r.passed,
          "values": jsonable(r.values), "targets": jsonable(r.targets)} for r in results]))
    (folder / "patterns.md").write_text(markdown_table(results))
    (folder / "manifest.json").write_text(json.dumps({"trustsim": "0.1.0", "kind": "patterns"}))
    code, out, err = run_cli(capsys, "report", folder)
    assert code == 0, err
    assert len(out.splitlines()) == len(results) == len(labels)
    assert all(x.strip() and y.strip() for x, y in labels), labels


def test_a_pattern_figure_draws_each_postures_quantity_in_its_colour_and_the_others_neutral(tmp_path, monkeypatch):
    """Every figure draws partners blue and aggressive buyers vermilion; the pattern figures drew every compared
    quantity blue, so P1's, P5's and P10's aggressive buyers took the partners' colour, and a difference between
    the postures read as the partners' too. The targets are black, apart from the vermilion."""
    from matplotlib.colors import to_hex
    from matplotlib.figure import Figure

    from trustsim.patterns import Result
    from trustsim.patterns.figures import plot
    from trustsim.style import POSTURE_COLOURS

    x = np.random.default_rng(0).normal(size=4)
    drawn = []
    original = Figure.savefig

    def spy(fig, *args, **kwargs):
        [ax] = fig.axes
        drawn.append(([to_hex(c.lines[0].get_color()) for c in ax.containers],  # the means, category by category
                      [to_hex(c.get_color()[0]) for c in ax.collections if c.get_label() == "target"]))
        return original(fig, *args, **kwargs)

    monkeypatch.setattr(Figure, "savefig", spy)
    plot(Result("P10", "S18", "", "", True, {"partner lots": x, "aggressive lots": x, "partner − aggressive": x},
                {"partner lots": 0.5}), tmp_path / "p10.png")
    [(means, targets)] = drawn
    partner, aggressive = (POSTURE_COLOURS[p].lower() for p in ("partner", "aggressive"))
    assert means[:2] == [partner, aggressive], means
    assert means[2] not in (partner, aggressive), means
    assert targets and all(t not in (partner, aggressive, "#d62728") for t in targets), targets


def test_p2s_figure_draws_the_share_and_the_profit_each_on_its_own_scale(tmp_path, monkeypatch):
    """P2 compares a share advantage near 0.55 (units of 1/n) with a profit advantage near 39 (thousands): on one
    axis the share's seeds and interval lay flat on the 0 line, a spread of 0.1 on an axis of 45. Each quantity
    has a panel of its own, its unit on the axis."""
    from trustsim.patterns import Result

    rng = np.random.default_rng(1)
    share, profit = 0.55 + 0.05 * rng.normal(size=5), 39 + 3 * rng.normal(size=5)
    names = ("market share per buyer partner − aggressive", "cum. profit per buyer (÷1000)")
    p2 = Result("P2", "S18, S19", "", "", True, dict(zip(names, (share, profit), strict=True)),
                dict.fromkeys(names, 0.0))
    fig = pattern_figure(p2, tmp_path, monkeypatch)
    for values in (share, profit):
        [ax] = [ax for ax in fig.axes for c in ax.collections
                if c.get_offsets().shape[0] == len(values) and np.allclose(c.get_offsets()[:, 1], values)]
        low, high = ax.get_ylim()
        assert high - low < 3 * np.abs(values).max(), (ax.get_ylabel(), ax.get_ylim())  # its 0 target and its seeds
    assert "units of the equal share 1/n" in fig.axes[0].get_ylabel() and "money" in fig.axes[1].get_ylabel()
    # which window each is: the share's long-run mean, the profit summed to the last step (the whole run's)
    assert fig.axes[0].get_ylabel().startswith("long-run market share"), fig.axes[0].get_ylabel()
    assert "cumulative profit per buyer at the last step" in fig.axes[1].get_ylabel(), fig.axes[1].get_ylabel()


def test_p5s_and_p10s_figures_say_their_ratio_where_the_axis_does_not_draw_it(tmp_path, monkeypatch):
    """P5's axis read "supplier ideas per buyer and step; ratio partner / aggressive" and P10's "…; ratio", but the
    ratio, one figure of the means, was drawn nowhere: the axis promised it, and the figure did not say the value its
    verdict turns on. The axis names what is drawn; the title gives the ratio."""
    from trustsim.patterns import Result

    x = np.random.default_rng(2).normal(1.0, 0.1, size=4)
    for pattern in ("P5", "P10"):
        result = Result(pattern, "S18", "", "", True, {"partner": x * 8.1, "aggressive": x, "ratio": 8.1})
        fig = pattern_figure(result, tmp_path, monkeypatch)
        [ax] = fig.axes
        assert "ratio" not in ax.get_ylabel(), ax.get_ylabel()
        assert "ratio partner / aggressive 8.10" in ax.get_title(), ax.get_title()


def test_pattern_figures_over_a_parameter_say_what_their_dots_bars_and_bands_are(tmp_path, monkeypatch):
    """The compared-quantity figures said "dots: seeds; bars: mean and 95% interval", but P6 (the README's figure),
    R1, R2 and R3 drew dots, bars or shaded bands and said nothing of what they were."""
    for result in synthetic_results():
        if result.pattern in ("P6", "R1", "R2"):
            [ax] = pattern_figure(result, tmp_path, monkeypatch).axes
            assert "mean and 95% interval" in ax.get_xlabel(), (result.pattern, ax.get_xlabel())
    from trustsim.patterns import Result

    runs = np.random.default_rng(3).uniform(size=(4, 30))
    r3 = Result("R3", "S18", "", "", False, {"series": {"learning": runs}})
    [ax] = pattern_figure(r3, tmp_path, monkeypatch).axes
    assert "95% interval shaded" in ax.get_xlabel(), ax.get_xlabel()


def test_a_comparisons_figure_draws_the_partner_advantages_in_their_own_units(tmp_path, monkeypatch):
    """A partner advantage is a difference between postures, near 0 in a market where they do alike: in % of A's
    mean, high_uncertainty against baseline drew it at +1000 % and every other figure's interval shrank into its
    dot. The advantages have panels of their own, B − A in their units; the other figures stay in % of A's."""
    from matplotlib.figure import Figure

    from trustsim.comparison import COMPARED_FIGURES, draw

    rows = [{"figure": f, "a": 1.0, "b": 1.05, "difference": 0.05, "low": 0.01, "high": 0.09}
            for f in COMPARED_FIGURES]  # every figure 5 % [1 %, 9 %] above A's
    for row in rows:
        if row["figure"].startswith("advantage."):  # A's advantage 0.003, B's 0.033: +1000 %
            row.update(a=0.003, b=0.033, difference=0.03, low=0.01, high=0.05)
    drawn = []
    monkeypatch.setattr(Figure, "savefig", lambda fig, *a, **k: drawn.append(fig))
    draw(pd.DataFrame(rows), ("baseline", "high_uncertainty"), True, tmp_path / "compare.png")
    percent = [ax for ax in drawn[0].axes if "in % of baseline's mean" in ax.get_xlabel()]
    assert len(percent) == 1 and percent[0].get_xlim()[1] < 20  # the intervals at 1-9 % fill the axis
    assert not any("advantage" in t.get_text() for t in percent[0].get_yticklabels())
    own = {ax.get_title(): ax.get_xlabel() for ax in drawn[0].axes if ax not in percent}
    assert own == {"market share\n(partner − aggressive)": "B − A (share per buyer, units of 1/n)",
                   "cumulative profit\n(partner − aggressive)": "B − A (profit per buyer)",
                   "cost of ownership\n(aggressive − partner)": "B − A (money/unit)"}
    assert all(ax.get_xlim()[0] < 0.03 < ax.get_xlim()[1] for ax in drawn[0].axes if ax not in percent)


def test_a_comparisons_table_says_what_its_figures_are_and_which_way_each_advantage_is_taken():
    """The printed table named no window and no sign: "partner advantage: cost of ownership +0.0838" read as partners'
    cost rising under high uncertainty (it is aggressive − partner: partners gaining), and "ideas received per
    buyer 721.6", the long-run mean of the ideas received since step 1, as ideas per buyer and step or in the long
    run. A note under the table says both; the cumulative ideas say so in their name, as the profit does."""
    from trustsim.comparison import Comparison
    from trustsim.experiments.design import METRIC_COLUMNS

    a, b = (pd.DataFrame({"seed": [1, 2, 3], "status": "ok", **{c: [1.0, 2.0, x] for c in METRIC_COLUMNS}})
            for x in (4.0, 5.0))
    text = Comparison(None, None, a, b, True, {}, "", 0.0).text()
    print(text)
    assert "partner: cumulative ideas per buyer" in text and "ideas received per buyer" not in text
    note = " ".join(text.split("-" * 99)[-1].split())
    assert "its mean over a run's second half (the long run)" in note and "count from step 1" in note, note
    assert "market share and profit are partner − aggressive per buyer" in note, note
    assert "cost of ownership aggressive − partner (positive: partners pay less)" in note, note
    assert max(len(line) for line in text.splitlines()) <= 100


def test_a_scenario_named_with_dollars_is_drawn_letter_for_letter(tmp_path, monkeypatch, capsys):
    """A scenario file named ``fee_$5_vs_$10.toml``: replications and a comparison stopped with Matplotlib's
    mathematics parser's four-line error (exit 1) on the text between the two dollars of the name in a title. The
    titles hold the name as written; every figure is drawn."""
    from matplotlib.figure import Figure

    titles, savefig = [], Figure.savefig

    def kept(fig, path, **kwargs):
        savefig(fig, path, **kwargs)  # draws the text: a name read as mathematics fails here
        titles.extend(t.get_text() for t in fig.texts + [ax.title for ax in fig.axes])

    monkeypatch.setattr(Figure, "savefig", kept)
    named = tmp_path / "fee_$5_vs_$10.toml"
    named.write_text(BASELINE.read_text())
    for argv in (["run", named, "--seeds", 2, "--out", tmp_path / "reps"],
                 ["compare", BASELINE, named, "--seeds", 2, "--out", tmp_path / "cmp"]):
        code, _, err = run_cli(capsys, *argv, *SMALL, "--workers", 1, "--quiet")
        assert code == 0, err
    drawn = [t.replace("\\$", "$") for t in titles if "fee_" in t]
    print(drawn)
    assert any(t.startswith("fee_$5_vs_$10: mean over 2 replicates") for t in drawn)
    assert any(t.startswith("fee_$5_vs_$10 against baseline") for t in drawn)


def test_replications_without_partner_buyers_say_their_advantages_were_not_measured(tmp_path, monkeypatch):
    """With buyers.partner_share = 0 no run measures a partner advantage: the advantage figure's three panels were
    empty 0-1 axes, which read as a measured blank. Each says it was not measured and has no value scale."""
    from matplotlib.figure import Figure

    drawn, savefig = {}, Figure.savefig

    def kept(fig, path, **kwargs):
        drawn[Path(path).name] = fig
        savefig(fig, path, **kwargs)

    monkeypatch.setattr(Figure, "savefig", kept)
    out = tmp_path / "reps"
    assert main([str(a) for a in ["run", BASELINE, *SMALL, "--set", "buyers.partner_share=0", "--seeds", 2,
                                  "--workers", 1, "--out", out, "--quiet"]]) == 0
    panels = drawn["advantages.png"].axes
    assert len(panels) == 3
    for ax in panels:
        assert [t.get_text().split(":")[0] for t in ax.texts] == ["not measured"], ax.get_title()
        assert list(ax.get_yticks()) == []


def test_a_runs_and_a_replications_figures_say_who_trusts_whom_and_units_alike(tmp_path, monkeypatch):
    """A replications folder labelled its trust lines "partner (trust buyer)", which read as trust in the buyer,
    and a run's "partner buyer → supplier"; a run's market share axis said "(fraction)", the replications' none,
    and its cost axis "money per unit" where the column registry says money/unit. Both say who trusts whom in
    the same words and give the registry's units."""
    from matplotlib.figure import Figure

    from trustsim.labels import column_label

    drawn, savefig = {}, Figure.savefig

    def kept(fig, path, **kwargs):
        drawn[Path(path).name] = fig
        savefig(fig, path, **kwargs)

    monkeypatch.setattr(Figure, "savefig", kept)
    figures = {}
    for kind, extra in (("run", []), ("replications", ["--seeds", 2, "--workers", 1])):
        drawn.clear()
        assert main([str(a) for a in ["run", BASELINE, *SMALL, *extra, "--out", tmp_path / kind, "--quiet"]]) == 0
        figures[kind] = dict(drawn)
    run, reps = figures["run"], figures["replications"]

    def legend(fig):
        return sorted(t.get_text() for ax in fig.axes if ax.get_legend() for t in ax.get_legend().get_texts())

    whom = sorted(["partner buyers' trust in their suppliers", "aggressive buyers' trust in their suppliers",
                   "suppliers' trust in partner buyers", "suppliers' trust in aggressive buyers"])
    assert legend(run["trust.png"]) == legend(reps["trust.png"]) == whom
    assert run["trust.png"].axes[0].get_ylabel() == reps["trust.png"].axes[0].get_ylabel() == "trust (0–1)"
    share = column_label("market_share")
    assert run["market_share.png"].axes[0].get_ylabel() == reps["market_share.png"].axes[0].get_ylabel() == share
    for label in (run["costs.png"].axes[0].get_ylabel(), run["tco_breakdown.png"].axes[0].get_ylabel(),
                  reps["tco_per_unit.png"].axes[0].get_ylabel()):
        assert label.endswith("(money/unit)"), label
    # the advantages' panels gave no unit for the profit and the cost of ownership
    share, profit, cost = (ax.get_ylabel().replace("\n", " ") for ax in reps["advantages.png"].axes[:3])
    assert "in units of the equal share 1/n" in share and "per buyer, in money" in profit, (share, profit)
    assert "per unit, in money/unit (positive: partners pay less)" in cost, cost
