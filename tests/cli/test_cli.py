"""The command line: results folders, reproducibility, and every kind of bad input (exit 2, one line,
nothing written)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import BASELINE, ROOT, SCENARIOS, SMALL, run_cli

from trustsim.metrics import TIMESERIES_HEADER


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


# --- results ------------------------------------------------------------------------------------

def test_run_writes_the_results_contract(tmp_path, capsys):
    out = tmp_path / "res"
    code, stdout, err = run_cli(capsys, "run", BASELINE, *SMALL, "--out", out)
    assert code == 0, err
    for name in ("timeseries.csv", "summary.json", "manifest.json", "network.graphml", "buyers.csv"):
        assert (out / name).is_file(), name
    for fig in ("tco_breakdown", "trust", "market_share", "nonproductive_vs_trust", "costs"):
        assert (out / "figures" / f"{fig}.png").stat().st_size > 5000
    header = (out / "timeseries.csv").read_text().splitlines()[0].split(",")
    assert tuple(header) == TIMESERIES_HEADER
    rows = (out / "timeseries.csv").read_text().splitlines()[1:]
    assert len(rows) == 30 * 3
    summary = json.loads((out / "summary.json").read_text())
    assert set(summary) == {"long_run", "business_horizon", "short_run", "long_run_steps", "steady_state"}
    assert summary["long_run_steps"] == [16, 30]                     # the second half of 30 steps
    assert set(summary["long_run"]) == {"partner", "aggressive", "all"}
    manifest = json.loads((out / "manifest.json").read_text())
    for key in ("trustsim", "mesa", "python", "numpy", "params", "seed", "steps", "scenario", "started_utc",
                "wall_seconds"):
        assert key in manifest
    assert manifest["params"]["market"]["buyers"] == 12 and manifest["steps"] == 30
    assert manifest["scenario"]["sha256"]
    assert Path(manifest["scenario"]["path"]).resolve() == BASELINE.resolve()  # relative to the working folder
    assert [Path(p).resolve() for p in manifest["scenario"]["extends_chain"]] == [BASELINE.resolve()]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")], "temporary folders left behind"


def test_run_counts_its_steps_in_words(tmp_path, capsys):
    code, stdout, err = run_cli(capsys, "run", BASELINE, *SMALL[:4], "--steps", 1, "--quiet", "--out", tmp_path / "a")
    assert code == 0, err
    assert "baseline: 1 step in " in stdout, stdout
    code, stdout, err = run_cli(capsys, "run", BASELINE, *SMALL[:4], "--steps", 1, "--seeds", 2, "--workers", 1,
                                "--quiet", "--out", tmp_path / "b")
    assert code == 0, err
    assert "baseline: 2 replications of 1 step in " in stdout, stdout


def test_same_seed_gives_identical_files_and_other_seeds_differ(tmp_path, capsys):
    outs = [tmp_path / n for n in ("a", "b", "c")]
    for out, seed in zip(outs, (5, 5, 6), strict=True):
        assert run_cli(capsys, "run", BASELINE, *SMALL, "--seed", seed, "--out", out)[0] == 0
    for name in ("timeseries.csv", "summary.json", "buyers.csv"):
        assert (outs[0] / name).read_bytes() == (outs[1] / name).read_bytes(), name
    assert (outs[0] / "timeseries.csv").read_bytes() != (outs[2] / "timeseries.csv").read_bytes()


def test_rerun_replaces_a_trustsim_result_but_not_other_folders(tmp_path, capsys):
    out = tmp_path / "res"
    assert run_cli(capsys, "run", BASELINE, *SMALL, "--out", out)[0] == 0
    assert run_cli(capsys, "run", BASELINE, *SMALL, "--seed", 9, "--out", out)[0] == 0
    assert json.loads((out / "manifest.json").read_text())["seed"] == 9
    other = tmp_path / "mine"
    other.mkdir()
    write(other / "notes.txt", "precious")
    code, _, err = run_cli(capsys, "run", BASELINE, *SMALL, "--out", other)
    assert code == 2 and "not a trustsim result" in err and "--force" in err
    assert sorted(p.name for p in other.iterdir()) == ["notes.txt"]


def test_check_shows_the_chain_and_the_changes(capsys):
    code, out, _ = run_cli(capsys, "check", ROOT / "scenarios" / "high_uncertainty.toml")
    assert code == 0
    assert "baseline.toml" in out and "market.uncertainty = 0.9" in out


@pytest.mark.parametrize("path", sorted((ROOT / "scenarios").glob("*.toml")), ids=lambda p: p.name)
def test_every_scenario_file_is_valid(path, capsys):
    code, _, err = run_cli(capsys, "check", path)
    assert code == 0, err


def test_params_prints_every_parameter(capsys):
    from trustsim.params import ALL_KEYS

    code, out, _ = run_cli(capsys, "params")
    assert code == 0 and all(k in out for k in ALL_KEYS)
    code, md, _ = run_cli(capsys, "params", "--markdown")
    assert md.startswith("| parameter |") and md.count("\n| `") == len(ALL_KEYS)


def test_report_redraws_figures(tmp_path, capsys):
    out = tmp_path / "res"
    run_cli(capsys, "run", BASELINE, *SMALL, "--out", out)
    (out / "figures" / "trust.png").unlink()
    assert run_cli(capsys, "report", out)[0] == 0
    assert (out / "figures" / "trust.png").is_file()


def test_a_large_markets_buyer_figure_places_its_legend_without_searching_its_points(tmp_path):
    """Matplotlib's search for the best place of a legend among 400 000 points took seconds and warned the user
    ("Creating legend with loc="best" can be slow"), from a file of trustsim's: a large market's legend is fixed."""
    import warnings

    import numpy as np
    import pandas as pd

    from trustsim.report import nonproductive_vs_trust

    n = 400_000
    rng = np.random.default_rng(1)
    buyers = pd.DataFrame({"posture": np.where(rng.random(n) < 0.5, "partner", "aggressive"), "trust": rng.random(n),
                           "trusted_by_suppliers": rng.random(n), "nonproductive_share": rng.random(n)})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        nonproductive_vs_trust(buyers, tmp_path / "time_vs_trust.png")
    assert (tmp_path / "time_vs_trust.png").stat().st_size > 0


def test_the_buyer_figure_names_dyer_and_chus_figures_where_no_point_lies_over_them(tmp_path, monkeypatch):
    """The two published figures were labelled on their lines, inside the axes, where the example run's aggressive
    buyers' points (near 0.47) lay over "Dyer & Chu: least trusted 0.47"; the legend names them, placed off the
    points."""
    import pandas as pd
    from conftest import data_under_legends
    from matplotlib.figure import Figure

    from trustsim.report import nonproductive_vs_trust

    buyers = pd.read_csv(ROOT / "results" / "example" / "buyers.csv")
    drawn = []
    monkeypatch.setattr(Figure, "savefig", lambda fig, *a, **k: drawn.append(fig))
    nonproductive_vs_trust(buyers, tmp_path / "f.png")
    [ax] = drawn[0].axes
    assert not ax.texts, [t.get_text() for t in ax.texts]  # no label among the points
    named = [t.get_text() for t in ax.get_legend().get_texts()]
    assert any("0.47" in n and "Dyer & Chu" in n for n in named) and any("0.24" in n for n in named), named
    assert not [c for c in data_under_legends(drawn[0]) if c[1] in ("partner", "aggressive")]


def test_replications_say_over_how_many_runs_a_postures_figures_are_when_some_runs_lost_the_posture(tmp_path, capsys):
    """Under imitation a posture can die out: evolution.toml on 3 seeds, 400 steps, leaves aggressive buyers in the
    long run of 2 runs. The line printed "aggressive market share 0.051 [-0.392, 0.494]" as if over all three; it says
    over how many (summary.json's ``n``)."""
    code, out, err = run_cli(capsys, "run", ROOT / "scenarios" / "evolution.toml", "--steps", "400", "--seeds", "3",
                             "--workers", "1", "--out", tmp_path / "evo", "--quiet")
    assert code == 0, err
    n = json.loads((tmp_path / "evo" / "summary.json").read_text())["long_run"]["aggressive"]["market_share"]["n"]
    assert n == 2
    [line] = [x for x in out.splitlines() if x.startswith("  aggressive ")]
    assert line.endswith("  (over 2 of 3 runs)"), line
    [line] = [x for x in out.splitlines() if x.startswith("  partner ")]
    assert "(over" not in line, line


def test_the_buyer_figure_ranks_buyers_as_dyer_and_chus_fifths_do_by_their_suppliers_trust_in_them(tmp_path,
                                                                                                   monkeypatch):
    """Its lines are Dyer & Chu's least and most trusted fifths of buyers, which P3 ranks by the suppliers' trust in
    the buyer (``trusted_by_suppliers``); its points stood at the buyer's trust in its suppliers (``trust``), so the
    fifth a reader compared with 0.47 was another set of buyers. The points stand at the suppliers' trust."""
    import numpy as np
    import pandas as pd
    from matplotlib.figure import Figure

    from trustsim.report import nonproductive_vs_trust

    buyers = pd.read_csv(ROOT / "results" / "example" / "buyers.csv")
    assert not np.allclose(buyers["trust"], buyers["trusted_by_suppliers"])
    drawn = []
    monkeypatch.setattr(Figure, "savefig", lambda fig, *a, **k: drawn.append(fig))
    nonproductive_vs_trust(buyers, tmp_path / "f.png")
    [ax] = drawn[0].axes
    assert ax.get_xlabel() == "its suppliers' trust in the buyer (long-run mean)"
    for points, posture in zip(ax.collections, ("partner", "aggressive"), strict=True):
        b = buyers[buyers["posture"] == posture]
        assert np.allclose(points.get_offsets()[:, 0], b["trusted_by_suppliers"]), posture
        assert np.allclose(points.get_offsets()[:, 1], b["nonproductive_share"]), posture


# --- bad input: exit 2, one line naming the file and the key, nothing written ---------------------

BAD_FILES = {
    "unknown_key": ('[trust]\ngian = 0.1\n', ["trust.gian", 'did you mean "gain"']),
    "unknown_table": ('[trusst]\ngain = 0.1\n', ["trusst", 'did you mean "trust"']),
    "wrong_type": ('[market]\nbuyers = "forty"\n', ["market.buyers", "integer"]),
    "float_for_int": ('[market]\nbuyers = 40.5\n', ["market.buyers", "integer"]),
    "out_of_range": ('[trust]\ngain = 1.5\n', ["trust.gain", "out of range"]),
    "negative_count": ('[market]\nsuppliers = -3\n', ["market.suppliers", "out of range"]),
    "nan": ('[market]\nuncertainty = nan\n', ["market.uncertainty", "finite"]),
    "inf": ('[market]\ndemand = inf\n', ["market.demand", "finite"]),
    "bad_policy": ('[suppliers]\nattention_policy = "sometimes"\n', ["suppliers.attention_policy", "passive"]),
    "syntax": ('[market]\nbuyers = 40\nsuppliers = = 3\n', ["TOML syntax error", "line 3", ": suppliers = = 3"]),
    "duplicate_key": ('[market]\nbuyers = 40\nbuyers = 20\n', ["given twice", "line 3", ": buyers = 20"]),
    "duplicate_table": ('[market]\nbuyers = 40\n[market]\n', ["given twice", "line 3", ": [market]"]),
    "table_as_value": ('market = 3\n', ["market", "table"]),
    "cross_field": ('[prices]\nmin_markup = 0.2\nfair_markup = 0.1\n', ["min_markup", "fair_markup"]),
}


def assert_one_line_error(code, err, *needles):
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err
    for n in needles:
        assert n in lines[0], (n, lines[0])


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_bad_file_is_one_line_exit_2_and_writes_nothing(case, tmp_path, capsys):
    text, needles = BAD_FILES[case]
    f = write(tmp_path / f"{case}.toml", text)
    out = tmp_path / "out"
    code, _, err = run_cli(capsys, "run", f, "--out", out)
    assert_one_line_error(code, err, str(f), *needles)
    assert not out.exists()
    code, _, err = run_cli(capsys, "check", f)
    assert_one_line_error(code, err, str(f), *needles)


def test_missing_file_directory_and_non_utf8(tmp_path, capsys):
    code, _, err = run_cli(capsys, "run", tmp_path / "nope.toml", "--out", tmp_path / "o")
    assert_one_line_error(code, err, "nope.toml", "no such file")
    code, _, err = run_cli(capsys, "run", tmp_path, "--out", tmp_path / "o")
    assert_one_line_error(code, err, "directory")
    f = tmp_path / "latin1.toml"
    f.write_bytes(b"[market]\n# caf\xe9\nbuyers = 4\n")
    code, _, err = run_cli(capsys, "check", f)
    assert_one_line_error(code, err, "latin1.toml", "UTF-8")
    assert not (tmp_path / "o").exists()


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their mode")
def test_unreadable_file(tmp_path, capsys):
    f = write(tmp_path / "secret.toml", "[market]\nbuyers = 4\n")
    f.chmod(0)
    code, _, err = run_cli(capsys, "check", f)
    assert_one_line_error(code, err, "secret.toml", "cannot read")


def test_circular_extends(tmp_path, capsys):
    write(tmp_path / "a.toml", 'extends = "b.toml"\n')
    write(tmp_path / "b.toml", 'extends = "a.toml"\n')
    code, _, err = run_cli(capsys, "run", tmp_path / "a.toml", "--out", tmp_path / "o")
    assert_one_line_error(code, err, "extends", "circular")
    assert not (tmp_path / "o").exists()


def test_error_in_an_extended_file_names_that_file(tmp_path, capsys):
    write(tmp_path / "base.toml", "[trust]\nloss = 7\n")
    write(tmp_path / "child.toml", 'extends = "base.toml"\n')
    code, _, err = run_cli(capsys, "check", tmp_path / "child.toml")
    assert_one_line_error(code, err, "base.toml", "trust.loss")


@pytest.mark.parametrize("args,needles", [
    (["--set", "trust.gain"], ["--set", "group.name=value"]),
    (["--set", "trust.gian=0.1"], ["--set", 'did you mean "gain"']),
    (["--set", "trust.gain=lots"], ["trust.gain", "number"]),
    (["--set", "market.buyers=0"], ["market.buyers", "out of range"]),
    (["--seed", "abc"], ["--seed", "expected a whole number"]),
    (["--steps", "0"], ["--steps"]),
    (["--frobnicate"], ["unrecognized arguments"]),
])
def test_bad_command_line(args, needles, tmp_path, capsys):
    code, _, err = run_cli(capsys, "run", BASELINE, *args, "--out", tmp_path / "o")
    assert_one_line_error(code, err, *needles)
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("argv,command", [(["columns", "--markdwn"], "columns"), (["params", "extra"], "params"),
                                          (["regimes", "--set", "market.buyers=20"], "regimes"),
                                          (["--frobnicate"], None)])
def test_an_argument_a_command_does_not_take_points_to_that_commands_help(argv, command, capsys):
    """The line pointed to ``trustsim --help``, which does not list a command's options, and was not the
    command's: ``trustsim: error: unrecognized arguments: --markdwn (see 'trustsim --help')``."""
    code, _, err = run_cli(capsys, *argv)
    prog = f"trustsim {command}" if command else "trustsim"
    assert_one_line_error(code, err, f"{prog}: error: unrecognized arguments: {' '.join(argv[1:] or argv)}",
                          f"(see '{prog} --help')")


def test_real_entry_point_behaves_the_same(tmp_path):
    f = write(tmp_path / "bad.toml", "[trust]\ngian = 0.1\n")
    proc = subprocess.run([sys.executable, "-m", "trustsim", "run", str(f), "--out", str(tmp_path / "o")],
                          capture_output=True, text=True, cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        f"trustsim: error: {f}: trust.gian: unknown parameter (did you mean \"gain\"?)"]
    assert not (tmp_path / "o").exists()


# --- failures while writing: nothing half-written, no temporary folder left -----------------------

def _fail_in_figures(monkeypatch, exc):
    import trustsim.report

    def boom(folder):
        (folder / "figures").mkdir()  # something is already on disk when the failure comes
        raise exc

    monkeypatch.setattr(trustsim.report, "figures", boom)


@pytest.mark.parametrize("exc,code,needle", [
    (KeyboardInterrupt(), 130, "interrupted"),
    (OSError(28, "No space left on device"), 2, "No space left on device"),
    (OSError(30, "Read-only file system"), 2, "Read-only file system"),
])
def test_failure_while_writing_leaves_nothing(exc, code, needle, tmp_path, capsys, monkeypatch):
    _fail_in_figures(monkeypatch, exc)
    out = tmp_path / "res"
    got, _, err = run_cli(capsys, "run", BASELINE, *SMALL, "--out", out)
    assert got == code and len(err.strip().splitlines()) == 1 and needle in err, err
    assert list(tmp_path.iterdir()) == []


def test_failure_while_replacing_keeps_the_old_result(tmp_path, capsys, monkeypatch):
    out = tmp_path / "res"
    assert run_cli(capsys, "run", BASELINE, *SMALL, "--seed", 3, "--out", out)[0] == 0
    before = (out / "timeseries.csv").read_bytes()
    _fail_in_figures(monkeypatch, KeyboardInterrupt())
    assert run_cli(capsys, "run", BASELINE, *SMALL, "--seed", 4, "--out", out)[0] == 130
    assert (out / "timeseries.csv").read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["res"]


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes whatever the mode")
def test_read_only_target(tmp_path, capsys):
    parent = tmp_path / "ro"
    parent.mkdir()
    parent.chmod(0o555)
    try:
        code, _, err = run_cli(capsys, "run", BASELINE, *SMALL, "--out", parent / "res")
    finally:
        parent.chmod(0o755)
    assert_one_line_error(code, err, "cannot write")
    assert list(parent.iterdir()) == []


def test_results_writer_is_reusable(tmp_path):
    from trustsim.errors import ParamError
    from trustsim.results import write_atomically

    out = write_atomically(tmp_path / "sweep", lambda d: (d / "runs.csv").write_text("a\n1\n"))
    assert (out / "runs.csv").read_text() == "a\n1\n"
    # without a manifest it is not a trustsim result: a second write is refused unless forced
    with pytest.raises(ParamError, match="--force"):
        write_atomically(out, lambda d: (d / "runs.csv").write_text("a\n2\n"))
    write_atomically(out, lambda d: (d / "runs.csv").write_text("a\n2\n"), force=True)
    assert (out / "runs.csv").read_text() == "a\n2\n"
    assert [p.name for p in tmp_path.iterdir()] == ["sweep"]


def test_help_does_not_load_the_model_and_missing_commands_say_so(tmp_path):
    code = ("import sys; from trustsim.cli import main\n"
            "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
            "print('mesa' in sys.modules)\n"
            "sys.modules['trustsim.experiments.design'] = None\n"
            "print(main(['sweep', 'x.toml']))\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path)
    assert proc.stdout.splitlines()[-2:] == ["False", "1"], proc.stdout + proc.stderr
    assert proc.stderr.strip().splitlines() == [
        "trustsim: error: 'sweep' is not available in this installation (trustsim.experiments.design is missing); "
        "reinstall trustsim"]


@pytest.mark.parametrize("table, key, needle", [
    ("suppliers", "opportunism = 0.5", "suppliers.integrity_mean"),
    ("downstream", "retail_markup = 0.2", "logit-Nash"),
])
def test_a_retired_parameter_says_what_replaced_it(tmp_path, capsys, table, key, needle):
    f = write(tmp_path / "old.toml", f"[{table}]\n{key}\n")
    code, out, err = run_cli(capsys, "check", str(f))
    assert code == 2 and len(err.strip().splitlines()) == 1, err
    assert needle in err and "no longer exists" in err
    code, out, err = run_cli(capsys, "run", str(f), "--out", str(tmp_path / "o"))
    assert code == 2 and needle in err and not (tmp_path / "o").exists()
    code, out, err = run_cli(capsys, *["run", str(tmp_path / "old.toml"), "--set", f"{table}.{key.split()[0]}=1",
                              "--out", str(tmp_path / "o")])
    assert code == 2 and "no longer exists" in err


def test_an_internal_error_is_one_line_whatever_its_exceptions_message(tmp_path, capsys, monkeypatch):
    """An exception whose message ran over lines (Matplotlib's parser's held four) was printed as it was: the
    internal error's line is one line, its message's newlines written as \\n."""
    from trustsim.commands import columns

    def broken(args):
        raise ValueError("first line\n  second ^\nthird")

    monkeypatch.setattr(columns, "handle", broken)
    code, _, err = run_cli(capsys, "columns")
    assert code == 1 and len(err.splitlines()) == 1, err
    assert err.startswith("trustsim: internal error: ValueError: first line\\n  second ^\\nthird — please report"), err


# --- runs that fail: counted, reported, and an empty result is an error (issue 23) ----------------------

TINY = ["--set", "market.buyers=8", "--set", "market.suppliers=4", "--steps", "6", "--quiet", "--workers", "1"]


def test_run_seeds_with_every_run_failed_says_so_instead_of_crashing(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("TRUSTSIM_FAIL_RUNS", "0,1")
    code, out, err = run_cli(capsys, "run", BASELINE, *TINY, "--seeds", "2", "--out", tmp_path / "R")
    assert code == 1 and "Traceback" not in err and "internal error" not in err, err
    assert err.strip() == (f"trustsim: error: every run failed: 2 of 2 runs failed (replicates 0, 1); "
                           f"see the error column of {tmp_path / 'R'}/replications.csv")
    table = (tmp_path / "R" / "replications.csv").read_text()
    assert table.count("deliberate failure") == 2
    summary = json.loads((tmp_path / "R" / "summary.json").read_text())
    assert summary["steady_share"] is None and summary["mser5_warm_up_steps"] is None  # no run to judge


def test_run_seeds_with_one_run_left_prints_its_means_without_intervals(tmp_path, capsys, monkeypatch):
    """Two seeds, one failed: the summary has the other's figures and no interval (null); the command printed
    them as an internal error (formatting None) after writing the folder."""
    monkeypatch.setenv("TRUSTSIM_FAIL_RUNS", "1")
    code, out, err = run_cli(capsys, "run", BASELINE, *TINY, "--seeds", "2", "--out", tmp_path / "R")
    assert code == 1 and err == "", err
    summary = json.loads((tmp_path / "R" / "summary.json").read_text())["long_run"]["partner"]["market_share"]
    assert summary["n"] == 1 and summary["low"] is None
    lines = out.splitlines()
    assert lines[2].startswith(f"  partner    market share {summary['mean']:.3f}  cost of ownership "), lines
    assert "[" not in lines[2] and lines[4] == "  long run steady (MSER-5) in 0 of 1 run"  # the failed one uncounted
    assert lines[5] == "  (one run succeeded: means without intervals)"
    assert lines[6].startswith("1 of 2 runs failed (replicates 1)")


def test_run_and_replications_say_their_printed_figures_are_long_run_means_and_over_which_steps(tmp_path, capsys):
    """``trustsim run`` printed "partner market share 0.663" with no window: the last step's share is 0.656, the
    first ten years' 0.490, and the line, a mean over steps 601–1200, read as where the market ended. Both commands
    name the window above the figures, the replications the interval too."""
    code, out, err = run_cli(capsys, "run", BASELINE, "--steps", "30", "--out", tmp_path / "one")
    assert code == 0, err
    first, last = json.loads((tmp_path / "one" / "summary.json").read_text())["long_run_steps"]
    assert (first, last) == (16, 30)
    lines = out.splitlines()
    assert lines[1].startswith("  long-run means, steps 16–30 (summary.json: also the first 40"), lines
    assert lines[2].startswith("  partner    market share"), lines
    code, out, err = run_cli(capsys, "run", BASELINE, "--steps", "31", "--seeds", "2", "--workers", "1",
                             "--out", tmp_path / "reps", "--quiet")
    assert code == 0, err
    lines = out.splitlines()
    assert lines[1] == "  long-run means, each run's steps 16–31, [95% interval] over the replications:", lines
    assert lines[2].startswith("  partner    market share") and "[" in lines[2], lines


def test_compare_does_not_count_failed_runs_as_paired_seeds(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("TRUSTSIM_FAIL_RUNS", "1")
    code, out, err = run_cli(capsys, "compare", BASELINE, BASELINE, *TINY, "--seeds", "3", "--out", tmp_path / "C")
    assert code == 1, err
    assert "paired on 2 common seeds" in out.splitlines()[0], out
    assert out.strip().splitlines()[-1] == f"1 of 3 runs failed (B's replicates 1); see the error column of " \
                                          f"{tmp_path / 'C'}/runs_b.csv"


def test_compare_with_every_run_failed_exits_non_zero_with_one_line(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("TRUSTSIM_FAIL_RUNS", "0,1")
    code, out, err = run_cli(capsys, "compare", BASELINE, BASELINE, *TINY, "--seeds", "2", "--out", tmp_path / "C")
    assert code == 1 and out == "" and len(err.splitlines()) == 1, (out, err)
    assert "nothing to compare: 2 of 2 runs of A and 2 of 2 of B failed" in err and "runs_a.csv" in err


# --- options named as typed (issue 23) --------------------------------------------------------------------

@pytest.mark.parametrize("args, needle", [
    (["run", BASELINE, "--seeds", "1000000000"], "error: argument --seeds: 1000000000 is more than the 1000000"),
    (["compare", BASELINE, BASELINE, "--seeds", "1000000000"],
     "error: argument --seeds: 1000000000 is more than the 1000000"),
    (["run", BASELINE, "--out", "a" * 300], "cannot be written (File name too long)"),
])
def test_an_out_of_range_option_is_named_as_typed(args, needle, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, out, err = run_cli(capsys, *args)
    assert_one_line_error(code, err, needle)
    assert "sweep." not in err and "--set" not in err and list(tmp_path.iterdir()) == []


def commands_taking_a_seed() -> list[str]:
    """The commands whose options, as their own ``--help`` lists them, include ``--seed``."""
    from trustsim.cli import build_parser

    return sorted(name for name, parser in build_parser().commands.items()
                  if any("--seed" in action.option_strings for action in parser._actions))


@pytest.mark.parametrize("typed, given", [("-1", -1), (str(2**63), 2**63), ("abc", "abc"), ("1.5", "1.5")])
def test_every_commands_seed_is_refused_in_the_words_of_the_python_apis(typed, given, tmp_path, capsys,
                                                                          monkeypatch):
    """``trustsim run --seed 2⁶³`` said "… is out of range (allowed 0 to 9223372036854775807)", run and compare
    ``--seed -1`` "-1 is negative", calibrate ``--seed abc`` "invalid int value", where calibrate ``--seed -1`` and
    every Python function's ``seed=`` say "expected a whole number from 0 to 2⁶³−1, got …": each command's --seed
    now says that, in one line, exit status 2, nothing written."""
    import trustsim

    monkeypatch.chdir(tmp_path)
    with pytest.raises(trustsim.ParamError) as exc:
        trustsim.simulate(BASELINE, seed=given)
    told = f"--{exc.value}"
    assert told.startswith("--seed: expected a whole number from 0 to 2⁶³−1, got "), told
    files = {"run": [BASELINE], "compare": [BASELINE, BASELINE], "calibrate": [SCENARIOS / "calibration.toml"]}
    assert commands_taking_a_seed() == sorted(files)
    for command, scenarios in files.items():
        code, out, err = run_cli(capsys, command, *scenarios, "--seed", typed, "--out", tmp_path / "o")
        assert_one_line_error(code, err, f"trustsim {command}: error: argument {told} "
                                         f"(see 'trustsim {command} --help')")
        assert out == "" and list(tmp_path.iterdir()) == []
