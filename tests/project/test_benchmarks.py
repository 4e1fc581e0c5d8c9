"""benchmarks/ab.py, the side-by-side timing of two commits, runs both ways: in fresh processes, and with both
commits' packages renamed within one process (which needs the package to import itself only relatively);
benchmarks/long_run.py runs short as well as long; every benchmark's --help shows what it prints and how it is
run; the figures a benchmark labels with a market's size come from a market of that size; a bad option is refused in
argparse's usage and one line."""

import ast
import importlib.util
import json
import re
import subprocess
import sys

import pytest
from conftest import ROOT

from trustsim.params import Params


def load(script: str):
    """benchmarks/SCRIPT.py as a module (its ``__file__`` its own path and its folder on the import path, as when it
    is run: the scripts share benchmarks/scale.py's helpers)."""
    if str(ROOT / "benchmarks") not in sys.path:
        sys.path.insert(0, str(ROOT / "benchmarks"))
    spec = importlib.util.spec_from_file_location(script, ROOT / "benchmarks" / f"{script}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("same_process", [False, True])
def test_ab_times_two_commits_side_by_side(same_process):
    cmd = [sys.executable, str(ROOT / "benchmarks" / "ab.py"), "HEAD", "HEAD", "0x0x3", "--repeats", "2"]
    out = subprocess.run(cmd + ["--same-process"] * same_process, capture_output=True, text=True, cwd=ROOT)
    print(out.stdout, out.stderr)
    assert out.returncode == 0
    line = out.stdout.strip().splitlines()[-1]
    assert re.fullmatch(r"0x0x3: HEAD build [\d.]+ s run [\d.]+ s \| HEAD build [\d.]+ s run [\d.]+ s \| run [\d.]+×, "
                        r"build and run [\d.]+×, run's CPU time [\d.]+× \(medians of 2(, in one process)?\)", line)
    assert line.endswith("in one process)") == same_process


def test_ab_swaps_which_commit_runs_first_every_repeat(monkeypatch, capsys):
    """In fresh processes each repeat ran the old commit first, so whatever the first of two runs pays (a cold
    cache, a host speeding up or slowing down) fell on the old one every time; the order swaps every repeat, as
    ``--same-process`` already did."""
    ab, order = load("ab"), []
    monkeypatch.setattr(ab, "checkout", lambda commit, into, name="trustsim": into)
    monkeypatch.setattr(ab, "once", lambda tree, market: order.append(tree.rsplit("/", 1)[-1])
                        or {"build": 1.0, "run": 1.0, "cpu": 1.0})
    monkeypatch.setattr(sys, "argv", ["ab.py", "HEAD", "HEAD", "0x0x3", "--repeats", "4"])
    ab.main()
    assert order == ["old", "new", "new", "old"] * 2
    assert capsys.readouterr().out.startswith("0x0x3: HEAD build 1.000 s run 1.000 s")


def test_long_run_reports_a_run_shorter_than_its_default_checkpoints():
    cmd = [sys.executable, str(ROOT / "benchmarks" / "long_run.py"), "--steps", "30"]
    out = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    print(out.stdout, out.stderr)
    assert out.returncode == 0
    steps = [int(line.split()[0]) for line in out.stdout.splitlines() if re.match(r"\s+\d+ ", line)]
    assert steps == [3, 15, 30]
    assert "within the outputs" in out.stdout


@pytest.mark.parametrize("options, named", [(["--steps", "30", "--checkpoints", "15", "40"], "--checkpoints: 40 "),
                                            (["--steps", "30", "--checkpoints", "0", "30"], "--checkpoints: 0 "),
                                            (["--steps", "0"], "--steps: 0 ")])
def test_long_run_refuses_a_checkpoint_outside_its_run(options, named):
    """A checkpoint the run never reaches is refused, not left out of the table without a word."""
    cmd = [sys.executable, str(ROOT / "benchmarks" / "long_run.py"), *options]
    out = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 2 and out.stdout == "" and "Traceback" not in out.stderr, out.stderr
    assert named in out.stderr.splitlines()[-1]


@pytest.mark.parametrize("script", sorted(p.name for p in (ROOT / "benchmarks").glob("*.py")))
def test_a_benchmark_s_help_is_its_docstring(script):
    """--help shows the whole docstring, what the script prints and its example command lines, not its title
    alone (ab.py's --same-process points to the text "above" it)."""
    path = ROOT / "benchmarks" / script
    examples = [line.strip() for line in ast.get_docstring(ast.parse(path.read_text())).splitlines()
                if line.strip().startswith(f"python benchmarks/{script}")]
    assert examples, f"{script}'s docstring shows no command line"
    out = subprocess.run([sys.executable, str(path), "--help"], capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    assert [e for e in examples if e not in out.stdout] == []


def test_scale_s_default_run_is_the_default_market(monkeypatch, capsys):
    """Its last line times "the default run (40 buyers × 20 suppliers)": the market its child process built, not
    40 buyers with the sizes' one supplier per 20."""
    scale, children, real = load("scale"), [], subprocess.run

    def spy(*args, **kwargs):
        out = real(*args, **kwargs)
        children.append(json.loads(out.stdout.strip().splitlines()[-1]))
        return out

    monkeypatch.setattr(subprocess, "run", spy)
    monkeypatch.setattr(sys, "argv", ["scale.py", "--sizes", "40", "--steps", "2", "--repeats", "1"])
    scale.main()
    default = Params().market
    assert (children[-1]["buyers"], children[-1]["suppliers"]) == (default.buyers, default.suppliers)
    assert capsys.readouterr().out.splitlines()[-1].startswith(
        f"default run ({default.buyers} buyers × {default.suppliers} suppliers × 120 steps): ")


def test_scale_compares_the_same_four_phases_with_the_references_own():
    """"The same four phases" compared the engine's phases 2–4 and 8 with the reference's whole run, its market's
    building and its DataCollector included; the reference's four phases are timed without them."""
    out = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "scale.py"), "--child", "naive", "100", "20"],
                         capture_output=True, text=True, cwd=ROOT)
    naive = json.loads(out.stdout.strip().splitlines()[-1])
    print(naive)
    assert 0 < naive["core_seconds"] < naive["seconds"] - naive["build_seconds"]


@pytest.mark.parametrize("options, size", [(["--suppliers", "5"], "40 buyers, 5 suppliers"),
                                           (["--buyers", "200"], "200 buyers, 10 suppliers"),
                                           (["--buyers", "200", "--suppliers", "4"], "200 buyers, 4 suppliers")])
def test_phase_profile_profiles_the_market_its_options_ask_for(options, size):
    """--suppliers alone sets the default market's suppliers (it was ignored without --buyers)."""
    cmd = [sys.executable, str(ROOT / "benchmarks" / "phase_profile.py"), "--steps", "2", *options]
    out = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith(f"building the market ({size}): "), out.stdout


BAD_OPTIONS = [
    ("ab.py", ["HEAD", "HEAD", "0x60", "--repeats", "1"], "'0x60' is not BUYERSxSUPPLIERSxSTEPS"),
    ("ab.py", ["HEAD", "HEAD", "40x0x6", "--repeats", "1"], "'40x0x6' is not BUYERSxSUPPLIERSxSTEPS"),
    ("ab.py", ["no-such-commit", "HEAD", "0x0x6", "--repeats", "1"], "'no-such-commit' is not a commit"),
    ("ab.py", ["HEAD", "HEAD", "0x0x6", "--repeats", "0"], "--repeats: '0' is not a whole number of at least 1"),
    ("scale.py", ["--sizes", "1000", "--steps", "0"], "--steps: '0' is not a whole number of at least 1"),
    ("scale.py", ["--sizes", "0"], "--sizes: '0' is not a whole number of at least 1"),
    ("scale.py", ["--repeats", "0"], "--repeats: '0' is not a whole number of at least 1"),
    ("scale.py", ["--sizes", "20000000", "--steps", "3"], "market.buyers: 20000000 is out of range"),
    ("sweep.py", ["--repeat", "0"], "--repeat: '0' is not a whole number of at least 1"),
    ("sweep.py", ["--runs", "-3"], "--runs: '-3' is not a whole number of at least 1"),
    ("phase_profile.py", ["--steps", "0"], "run.steps: 0 is out of range"),
    ("phase_profile.py", ["--buyers", "-3"], "--buyers: '-3' is not a whole number (0 or more)"),
    ("phase_profile.py", ["--ensemble", "-1", "--steps", "2"], "--ensemble: '-1' is not a whole number (0 or more)"),
    ("naive_reference.py", ["--buyers", "0", "--steps", "2"], "market.buyers: 0 is out of range"),
    ("viz.py", ["--scenario", "no-such-scenario.toml"], "no-such-scenario.toml: no such file"),
]


@pytest.mark.parametrize("script, options, named", BAD_OPTIONS)
def test_a_benchmark_refuses_a_bad_option_in_one_line(script, options, named):
    """A bad option ends in argparse's usage and one error line naming it (exit status 2), before any run: not
    a traceback from a child process, a median of nothing or a division by zero."""
    out = subprocess.run([sys.executable, str(ROOT / "benchmarks" / script), *options], capture_output=True,
                         text=True, cwd=ROOT)
    assert out.returncode == 2 and out.stdout == "" and "Traceback" not in out.stderr, out.stderr
    assert out.stderr.startswith("usage: ") and named in out.stderr.splitlines()[-1], out.stderr
