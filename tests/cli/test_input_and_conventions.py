"""Bad values on the command line are one line, exit 2, nothing written, and repeat what was typed only
escaped and cut short (ports, seeds, keys, folders, markets too large for the machine); and the
conventions others rely on: ``rng=None`` draws a fresh seed as Mesa does, an empty group reports NaN.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import BASELINE, ROOT, TINY, run_cli
from conftest import one_line as shared_one_line

import trustsim
from trustsim import TrustMarket, capacity
from trustsim.cli import build_parser
from trustsim.columns import COUNT_COLUMNS
from trustsim.metrics import COLUMN_NAMES, COUNTED
from trustsim.params import Params
from trustsim.viz import serve


def one_line(code, err, *needles, longest=400):
    """The shared check (conftest.one_line), and the line short and free of terminal control characters."""
    shared_one_line(code, err, *needles)
    assert len(err) < longest, err
    assert "\x1b" not in err and "\r" not in err, err


# --- 7: bad ports -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("port", ["70000", "65536", "0", "-1", "http", "9" * 5000])
def test_viz_with_a_bad_port_is_one_line(capsys, port):
    code, out, err = run_cli(capsys, "viz", "--port", port)
    one_line(code, err, "--port")
    assert out == ""


# --- 8: what a user typed is echoed escaped and cut ---------------------------------------------------------

def test_a_5000_digit_seed_is_cut(tmp_path, capsys):
    for digits in (5000, 4000, 400):
        code, out, err = run_cli(capsys, "run", BASELINE, *TINY, "--seed", "9" * digits, "--out", tmp_path / "r")
        one_line(code, err, "--seed: expected a whole number from 0 to 2⁶³−1, got ", "...")
        assert "9" * 100 not in err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("argv", [
    ["--set", "market.buy\ners\x1b[31m=3"],
    ["--set", "market.buyers=3\x1b[2J"],
    ["--seed", "1\x1b]0;title\x07"],
    ["--bogus\x1b[31m", "x\ny"],
])
def test_control_characters_typed_on_the_command_line_are_escaped(tmp_path, capsys, argv):
    code, out, err = run_cli(capsys, "run", BASELINE, *TINY, *argv, "--out", tmp_path / "r")
    one_line(code, err)
    assert "\\x1b" in err or "\\n" in err
    assert list(tmp_path.iterdir()) == []


def test_a_folder_name_with_control_characters_is_echoed_escaped(tmp_path, capsys):
    out = tmp_path / "a\nb\x1b[31m"
    code, stdout, err = run_cli(capsys, "run", BASELINE, *TINY, "--out", out)
    assert code == 0, err
    assert "a\\nb\\x1b[31m" in stdout and "\x1b" not in stdout
    assert (out / "manifest.json").is_file()  # the folder itself has the name asked for


@pytest.mark.parametrize("command", [["run"], ["run", "--seeds", "2"], ["sweep"], ["calibrate"], ["check"]],
                         ids=" ".join)
def test_a_scenario_file_whose_name_is_not_utf8_is_refused_before_anything_is_written(tmp_path, capsys, command):
    """A file named with a byte that is not UTF-8 (``sw\\xff.toml``, Latin-1's ÿ): a run, a sweep and a calibration
    ended in an internal error writing the path or the name into a manifest — a sweep and a calibration after
    writing their tables, which the next try then called an unfinished result; replications in Matplotlib's.
    It is refused in one line, nothing written; so is an ``extends`` to such a file (through a link)."""
    source = {"sweep": ROOT / "scenarios" / "sweep_uncertainty.toml",
              "calibrate": ROOT / "scenarios" / "calibration.toml"}.get(command[0], BASELINE)
    folder = tmp_path / "in"
    folder.mkdir()
    named = Path(os.fsdecode(bytes(folder) + b"/sw\xff.toml"))
    shutil.copy(source, named)
    shutil.copy(BASELINE, folder)  # what the sweep and the calibration files extend
    (folder / "link.toml").symlink_to(named)  # a TOML file is UTF-8: it can name such a file only through a link
    (folder / "extends.toml").write_text('extends = "link.toml"\n')
    for given in (named, folder / "extends.toml"):
        options = {"run": TINY, "check": []}.get(command[0], ["--quiet"])
        out = [] if command[0] == "check" else ["--out", tmp_path / "out"]
        out += ["--workers", "1"] if command[0] in ("sweep", "calibrate") or "--seeds" in command else []
        code, _, err = run_cli(capsys, command[0], given, *command[1:], *options, *out)
        one_line(code, err)
        assert ": the file's path is not UTF-8 text" in err and "rename the file" in err, err
        assert "sw\\udcff.toml: the" in err or "link.toml: the" in err, err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in"]


def test_a_file_whose_name_does_not_end_in_toml_is_not_read_as_a_scenario(tmp_path, capsys):
    """``extends = "/proc/self/environ"`` (a colleague's file, checked in CI) quoted the environment's first
    variables in the TOML syntax error, secrets and all; ``/etc/passwd`` its first line. A scenario file, given or
    extended, is one whose name ends in .toml, a link's target included: anything else is refused unread."""
    (tmp_path / "notes.txt").write_text("KEY=secret-value\n")
    (tmp_path / "link.toml").symlink_to(tmp_path / "notes.txt")
    (tmp_path / "main.toml").write_text('extends = "notes.txt"\n')
    (tmp_path / "via_link.toml").write_text('extends = "link.toml"\n')
    (tmp_path / "environ.toml").write_text('extends = "/proc/self/environ"\n')
    cases = {"main.toml": 'main.toml: extends: "notes.txt" is not a scenario file (a name ending in .toml)',
             "via_link.toml": 'via_link.toml: extends: "link.toml" is not a scenario file (a name ending in .toml, '
                              f'resolved to {tmp_path / "notes.txt"})',
             "environ.toml": 'environ.toml: extends: "/proc/self/environ" is not a scenario file',
             "notes.txt": "notes.txt: is not a scenario file (a name ending in .toml)",
             "link.toml": "link.toml: is not a scenario file (a name ending in .toml, resolved to"}
    for name, message in cases.items():
        for command in (["check"], ["run", *TINY, "--out", tmp_path / "out"]):
            code, _, err = run_cli(capsys, command[0], tmp_path / name, *command[1:])
            one_line(code, err)
            assert message in err and "secret" not in err and "PATH=" not in err, err
    assert not (tmp_path / "out").exists()
    shutil.copy(BASELINE, tmp_path / "upper.TOML")
    assert run_cli(capsys, "check", tmp_path / "upper.TOML")[0] == 0


def test_the_api_refuses_a_path_holding_nul_and_a_force_that_is_not_true_or_false(tmp_path):
    """From Python a NUL in a scenario's or a results folder's path raised ValueError ("embedded null character"),
    and ``save(out, force="no")`` was taken as force; each is a ParamError, nothing written."""
    with pytest.raises(trustsim.ParamError, match=r"a path cannot hold a NUL character"):
        trustsim.simulate(str(tmp_path / "a\0b.toml"))
    run = trustsim.simulate(BASELINE, steps=3, buyers=6, suppliers=3)
    with pytest.raises(trustsim.ParamError, match=r"a path cannot hold a NUL character"):
        run.save(str(tmp_path / "a\0b"))
    run.save(tmp_path / "r")
    before = (tmp_path / "r" / "manifest.json").read_bytes()
    with pytest.raises(trustsim.ParamError, match=r"force: expected True or False, got 'no'"):
        run.save(tmp_path / "r", force="no")
    assert (tmp_path / "r" / "manifest.json").read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r"]


@pytest.mark.parametrize("command", [
    ["run", str(BASELINE), *TINY, "--seeds", "2"],
    ["sweep", str(ROOT / "scenarios" / "sweep_uncertainty.toml"), "--quiet"],
    ["compare", str(BASELINE), str(BASELINE), "--seeds", "2", "--quiet"],
    ["patterns", "--seeds", "2"],
    ["structures", "--seeds", "2"],
    ["regimes", "--seeds", "2"],
    ["calibrate", str(ROOT / "scenarios" / "calibration.toml"), "--quiet"],
    ["rerun", str(ROOT / "results" / "example"), "--quiet"],
], ids=lambda c: c[0])
def test_more_workers_than_a_command_starts_are_refused(tmp_path, capsys, monkeypatch, command):
    """--workers beyond a C int made the pool's queue raise OverflowError: an internal error, exit 1."""
    from trustsim.capacity import MAX_WORKERS

    monkeypatch.chdir(tmp_path)
    for workers in ("99999999999999", str(2**31), str(MAX_WORKERS + 1)):
        code, out, err = run_cli(capsys, *command, "--workers", workers, "--out", tmp_path / "o")
        one_line(code, err, "--workers", workers, f"more than the {MAX_WORKERS} worker processes")
    assert list(tmp_path.iterdir()) == []


def test_the_api_refuses_more_workers_than_a_command_starts():
    import trustsim
    from trustsim.capacity import MAX_WORKERS

    with pytest.raises(trustsim.ParamError, match=f"workers: {2**40} is more than the {MAX_WORKERS} worker"):
        trustsim.replicate(seeds=2, workers=2**40, buyers=4, suppliers=2, steps=2)


# --- 9: an empty --out, a market larger than the machine ---------------------------------------------------

@pytest.mark.parametrize("command", [
    ["run", str(BASELINE), *TINY],
    ["sweep", str(ROOT / "scenarios" / "sweep_uncertainty.toml"), "--quiet"],
    ["merge", "a", "b"],
    ["patterns", "--seeds", "2"],
    ["calibrate", str(ROOT / "scenarios" / "calibration.toml")],
])
def test_an_empty_out_is_an_error(tmp_path, capsys, monkeypatch, command):
    monkeypatch.chdir(tmp_path)
    code, out, err = run_cli(capsys, *command, "--out", "")
    one_line(code, err, "--out", "empty")
    assert list(tmp_path.iterdir()) == []


X = object()  # where a case puts the empty or blank path
FOLDER = "a folder for the results"
SWEEP, CALIBRATION = ROOT / "scenarios" / "sweep_uncertainty.toml", ROOT / "scenarios" / "calibration.toml"
BLANK_PATHS = {  # (command, argument as its usage names it): the arguments, what its refusal asks to name
    ("run", "scenario"): (["run", X], "a scenario TOML file"),
    ("run", "--out"): (["run", BASELINE, "--out", X], FOLDER),
    ("rerun", "manifest"): (["rerun", X], "a results folder or its manifest.json"),
    ("rerun", "--out"): (["rerun", ROOT / "results" / "example", "--out", X], FOLDER),
    ("compare", "a"): (["compare", X, BASELINE], "a scenario TOML file or a results folder"),
    ("compare", "b"): (["compare", BASELINE, X], "a scenario TOML file or a results folder"),
    ("compare", "--out"): (["compare", BASELINE, BASELINE, "--out", X], FOLDER),
    ("check", "scenario"): (["check", X], "a scenario, sweep or calibration TOML file"),
    ("report", "folder"): (["report", X], "a results folder"),
    ("viz", "scenario"): (["viz", X], "a scenario TOML file"),
    ("sweep", "file"): (["sweep", X], "a sweep TOML file"),
    ("sweep", "--out"): (["sweep", SWEEP, "--out", X], FOLDER),
    ("merge", "DIR"): (["merge", "shard1", X, "--out", "merged"], "a sweep shard's folder"),
    ("merge", "--out"): (["merge", "shard1", "shard2", "--out", X], FOLDER),
    ("patterns", "scenario"): (["patterns", X], "a scenario TOML file"),
    ("patterns", "--out"): (["patterns", "--out", X], FOLDER),
    ("structures", "--out"): (["structures", "--out", X], FOLDER),
    ("regimes", "--out"): (["regimes", "--out", X], FOLDER),
    ("calibrate", "file"): (["calibrate", X], "a calibration TOML file"),
    ("calibrate", "--out"): (["calibrate", CALIBRATION, "--out", X], FOLDER),
}


@pytest.mark.parametrize("blank", ["", "   "])
@pytest.mark.parametrize("where", BLANK_PATHS, ids="-".join)
def test_an_empty_or_blank_path_is_refused_naming_its_argument(tmp_path, capsys, monkeypatch, where, blank):
    """A path given as "" or "   " on the command line is refused as the Python API refuses it (``refuse_blank``),
    naming the argument: ``rerun " "`` said "   : no such file", ``report " "`` "   : no such folder", ``report ""``
    and ``merge ""`` took "" for the current folder, ``compare "" B`` called it a folder beside a scenario, and
    ``sweep ""`` and ``calibrate ""`` named their file "scenario". A positional has the form of the command's
    "FILE: no such file", ``--out`` argparse's, as before."""
    monkeypatch.setattr(serve, "server_command", lambda host, port: pytest.fail("the server was started"))
    monkeypatch.chdir(tmp_path)  # where a default folder (results/…) would be written
    (command, name), (argv, wanted) = where, BLANK_PATHS[where]
    code, out, err = run_cli(capsys, *(blank if a is X else a for a in argv))
    one_line(code, err, name)
    fault = f"{name}: is empty or blank; name {wanted}"
    assert err == (f"trustsim {command}: error: argument {fault} (see 'trustsim {command} --help')\n"
                   if name == "--out" else f"trustsim: error: {fault}\n")
    assert out == "" and list(tmp_path.iterdir()) == []


def test_every_path_argument_of_every_command_is_among_the_blank_paths_refused():
    """Every command's positional arguments (each a file or folder) and its ``--out`` are in ``BLANK_PATHS``, so a
    command added with a path of its own is held to the refusal above."""
    paths = {(command, action.metavar or action.dest if not action.option_strings else "--out")
             for command, parser in build_parser().commands.items() for action in parser._actions
             if not action.option_strings or "--out" in action.option_strings}
    assert paths == set(BLANK_PATHS)


def test_a_market_larger_than_the_memory_available_is_refused(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(capacity, "memory_available", lambda: 4 * 2**30)
    code, out, err = run_cli(capsys, "run", BASELINE, "--set", "market.buyers=10000000", "--out", tmp_path / "r")
    one_line(code, err, "market.buyers", "10000000 buyers", "needs about", "GB of memory", "4.0 GB available")
    assert list(tmp_path.iterdir()) == []
    need = capacity.memory_needed(Params().replace(**{"market.buyers": 10_000_000}))
    assert f"{need / 2**30:.1f} GB" in err and need > 4 * 2**30
    # a market that fits is run as before
    assert run_cli(capsys, "run", BASELINE, *TINY, "--out", tmp_path / "r")[0] == 0


def test_check_refuses_the_market_run_refuses_for_memory(tmp_path, capsys, monkeypatch):
    """check does not call valid what run then refuses: the same line, exit 2; a sweep whose largest design point
    does not fit here is valid with a note (a remote Dask cluster's workers are other machines); a market that
    fits is valid without one."""
    monkeypatch.setattr(capacity, "memory_available", lambda: 4 * 2**30)
    huge = ["--set", "market.buyers=10000000"]
    _, _, refused = run_cli(capsys, "run", BASELINE, *huge, "--out", tmp_path / "r")
    code, out, err = run_cli(capsys, "check", BASELINE, *huge)
    one_line(code, err, "market.buyers", "10000000 buyers", "needs about 18.3 GB of memory", "4.0 GB available")
    assert err == refused and out == ""
    sweep = tmp_path / "sw.toml"
    sweep.write_text(f'extends = "{BASELINE.as_posix()}"\n[market]\nbuyers = 6\n[sweep]\ndesign = "grid"\n'
                     'replications = 1\n[sweep.factors]\n"market.buyers" = [6, 10000000]\n')
    code, out, err = run_cli(capsys, "check", sweep)
    assert code == 0 and err == "" and ": valid" in out
    note = [line for line in out.splitlines() if line.startswith("note:")]
    assert len(note) == 1 and "10000000 buyers" in note[0] and "4.0 GB available" in note[0] and "--dask" in note[0]
    assert run_cli(capsys, "sweep", sweep, "--out", tmp_path / "s")[0] == 2  # what the note says sweep does here
    assert list(tmp_path.iterdir()) == [sweep]
    code, out, _ = run_cli(capsys, "check", BASELINE, "--set", "market.buyers=1000")
    assert code == 0 and "valid" in out and "note:" not in out


HUGE = {"market.buyers": 10_000_000}


def test_every_command_that_builds_a_market_checks_the_memory_estimate(tmp_path, capsys, monkeypatch):
    """rerun, compare, sweep and patterns refuse a market larger than the memory available, as run does,
    at once (nothing allocated, nothing written); sweep also for the largest market of its design."""
    import time

    assert run_cli(capsys, "run", BASELINE, *TINY, "--out", tmp_path / "X")[0] == 0
    info = json.loads((tmp_path / "X" / "manifest.json").read_text())
    info["params"]["market"]["buyers"] = HUGE["market.buyers"]
    (tmp_path / "X" / "manifest.json").write_text(json.dumps(info))
    huge = tmp_path / "huge.toml"
    huge.write_text(f'extends = "{BASELINE.as_posix()}"\n[market]\nbuyers = 10000000\n')
    sweep = tmp_path / "sw.toml"
    sweep.write_text(f'extends = "{BASELINE.as_posix()}"\n[run]\nsteps = 4\n[market]\nbuyers = 6\nsuppliers = 3\n'
                     '[sweep]\ndesign = "grid"\nreplications = 1\n[sweep.factors]\n"market.buyers" = [6, 10000000]\n')
    monkeypatch.setattr(capacity, "memory_available", lambda: 4 * 2**30)
    before = sorted(p.name for p in tmp_path.iterdir())
    for command in (["rerun", tmp_path / "X", "--out", tmp_path / "r"],
                    ["compare", BASELINE, huge, "--seeds", "2", "--out", tmp_path / "c"],
                    ["run", huge, "--seeds", "2", "--out", tmp_path / "s"],
                    ["sweep", sweep, "--out", tmp_path / "w"]):
        t0 = time.monotonic()
        code, out, err = run_cli(capsys, *command)
        one_line(code, err, "10000000 buyers", "needs about 18.3 GB of memory", "4.0 GB available")
        assert time.monotonic() - t0 < 10, command
    assert sorted(p.name for p in tmp_path.iterdir()) == before
    monkeypatch.setattr(capacity, "memory_available", lambda: 1)
    code, out, err = run_cli(capsys, "patterns", "--out", tmp_path / "p")
    one_line(code, err, "needs about")


def test_sweep_batch_respects_the_memory_available(tmp_path, capsys, monkeypatch):
    from trustsim.ensemble import batch_size

    sweep = tmp_path / "sw.toml"
    sweep.write_text(f'extends = "{BASELINE.as_posix()}"\n[run]\nsteps = 4\n[market]\nbuyers = 100000\n'
                     '[sweep]\ndesign = "grid"\nreplications = 4000\n')
    monkeypatch.setattr(capacity, "memory_available", lambda: 4 * 2**30)
    code, out, err = run_cli(capsys, "sweep", sweep, "--batch", "1000", "--workers", "2", "--out", tmp_path / "w")
    big = Params().replace(**{"market.buyers": 100_000, "run.steps": 4})
    one = capacity.market_in_ensemble(big) + capacity.record_in_ensemble(big)  # its arrays and its record
    fits = 4 * 2**30 // (2 * one)
    one_line(code, err, "--batch: 1000 markets", "4.0 GB available", f"choose --batch {fits} or less")
    assert not (tmp_path / "w").exists() and fits < 1000
    assert batch_size(big, 4000, 2) * one * 2 <= 4 * 2**30
    monkeypatch.setattr(capacity, "memory_available", lambda: 64 << 20)  # 16 MiB a worker, half of it for a batch
    one = capacity.market_in_ensemble(Params()) + capacity.record_in_ensemble(Params())
    size = batch_size(Params(), 4000, 4)
    assert size * one <= (8 << 20) < (size + 1) * one


def test_the_api_refuses_a_market_larger_than_the_memory_available(monkeypatch):
    import trustsim

    monkeypatch.setattr(capacity, "memory_available", lambda: 4 * 2**30)
    for call in (lambda: trustsim.simulate(**HUGE), lambda: trustsim.replicate(seeds=2, **HUGE),
                 lambda: trustsim.compare(BASELINE, BASELINE, seeds=2, **HUGE),
                 lambda: trustsim.sweep(None, {"market.uncertainty": [0.1, 0.2]}, **HUGE)):
        with pytest.raises(trustsim.ParamError, match=r"needs about 18\.3 GB of memory; this machine has 4\.0 GB"):
            call()


def test_the_memory_estimate_grows_with_every_size():
    base = Params()
    need = capacity.memory_needed(base)
    for key, value in (("market.buyers", 4000), ("market.suppliers", 4000), ("market.slots_per_buyer", 10),
                       ("run.steps", 100_000)):
        assert capacity.memory_needed(base.replace(**{key: value})) > need, key
    have = capacity.memory_available()
    assert have is None or have > 0


PEAK = """
import sys, tracemalloc
from trustsim.cli import main
small, big = sys.argv[1:3]
run = ["run", sys.argv[3], "--steps", "4", "--quiet", "--set"]
assert main([*run, "market.buyers=1", "--set", "market.suppliers=1", "--out", small + "-warm"]) == 0  # loads all
tracemalloc.start()
assert main([*run, "market.buyers=1", "--set", "market.suppliers=1", "--out", small]) == 0
one = tracemalloc.get_traced_memory()[1]
tracemalloc.clear_traces()
assert main([*run, "market.buyers=100000", "--set", "market.suppliers=5000", "--out", big]) == 0
print(one, tracemalloc.get_traced_memory()[1])
"""


def test_the_memory_estimate_covers_a_real_run(tmp_path):
    """The estimate is on the safe side of what a 100 000-buyer run allocates beyond a one-buyer run, and
    not wildly above it.

    Measured with tracemalloc in a fresh process, after a first run has loaded every library: it counts
    the blocks Python and NumPy allocate (the model's arrays and agents, the tables, the figures), the same
    on every machine and under any load. (A process's peak resident memory, the estimate's original
    yardstick, varies with the machine's load and its allocator by more than the margin.)"""
    proc = subprocess.run([sys.executable, "-c", PEAK, str(tmp_path / "one"), str(tmp_path / "big"), str(BASELINE)],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    one, big = map(int, proc.stdout.split()[-2:])
    params = Params().replace(**{"market.buyers": 100_000, "market.suppliers": 5_000, "run.steps": 4})
    need = capacity.memory_needed(params)
    used = big - one
    print(f"\n100 000 buyers allocate {used / 2**20:.0f} MB beyond one buyer's {one / 2**20:.0f} MB; "
          f"estimate {need / 2**20:.0f} MB, {(need - capacity.FIXED) / 2**20:.0f} MB beyond the fixed part")
    assert used <= need - capacity.FIXED, (used, need)
    assert need - capacity.FIXED <= 3 * used, (used, need)


# --- 10: rng=None draws a fresh seed, as in Mesa ---------------------------------------------------------------

def test_no_rng_draws_a_fresh_seed_that_repeats_the_run():
    a, b = TrustMarket(buyers=12, suppliers=4, steps=6), TrustMarket(buyers=12, suppliers=4, steps=6)
    assert a.params.run.seed != b.params.run.seed
    a.run(), b.run()
    assert not np.array_equal(a.recorder.rows, b.recorder.rows, equal_nan=True)
    again = TrustMarket(a.params, rng=a.params.run.seed).run()  # the recorded seed repeats the run
    assert np.array_equal(again.recorder.rows, a.recorder.rows, equal_nan=True)
    assert TrustMarket(rng=5).params.run.seed == 5


def test_batch_run_replicates_differ():
    import mesa

    fresh = mesa.batch_run(TrustMarket, parameters={"buyers": 12, "suppliers": 4, "steps": 6}, rng=[None] * 2,
                           number_processes=1, data_collection_period=-1, max_steps=6, display_progress=False)
    assert len(fresh) == 2
    assert fresh[0]["trust_buyer"] != fresh[1]["trust_buyer"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # `iterations`, as users still write it
        rows = mesa.batch_run(TrustMarket, parameters={"buyers": 12, "suppliers": 4, "steps": 6}, iterations=2,
                              number_processes=1, data_collection_period=-1, max_steps=6, display_progress=False)
    assert len(rows) == 2
    assert rows[0]["trust_buyer"] != rows[1]["trust_buyer"]
    seeded = mesa.batch_run(TrustMarket, parameters={"buyers": 12, "suppliers": 4, "steps": 6}, rng=[3, 3],
                            number_processes=1, data_collection_period=-1, max_steps=6, display_progress=False)
    assert seeded[0]["trust_buyer"] == seeded[1]["trust_buyer"]


def test_the_cli_keeps_the_scenarios_seed(tmp_path, capsys):
    for name in ("a", "b"):
        assert run_cli(capsys, "run", BASELINE, *TINY, "--out", tmp_path / name)[0] == 0
    assert (tmp_path / "a" / "timeseries.csv").read_bytes() == (tmp_path / "b" / "timeseries.csv").read_bytes()
    assert json.loads((tmp_path / "a" / "manifest.json").read_text())["seed"] == Params().run.seed


# --- 11: a group with no buyers reports NaN -------------------------------------------------------------------

def test_an_empty_group_reports_nan_in_the_datacollector_tables_and_summary(tmp_path, capsys):
    m = TrustMarket(buyers=10, suppliers=4, steps=6, partner_share=0.0, rng=1).run()
    frame = m.datacollector.get_model_vars_dataframe()
    assert frame["trust_buyer_partner"].isna().all() and frame["trust_buyer_aggressive"].notna().all()
    assert all(type(v) is float for v in frame["trust_buyer_partner"])  # NaN, not None
    assert math.isnan(m.latest("trust_buyer", "partner")) and m.latest("buyers", "partner") == 0
    assert m.latest("complaints", "partner") == 0  # a count of nothing is 0
    assert math.isnan(TrustMarket(rng=1).recorder.latest("all", "trust_buyer"))  # nothing measured yet

    out = tmp_path / "r"
    assert run_cli(capsys, "run", BASELINE, *TINY, "--set", "buyers.partner_share=0.0", "--out", out)[0] == 0
    ts = pd.read_csv(out / "timeseries.csv")
    partner = ts[ts["group"] == "partner"]
    figures = [c for c in ts.columns if c not in ("step", "group", *COUNT_COLUMNS)]
    assert partner[figures].isna().all().all() and (partner[list(COUNT_COLUMNS)] == 0).all().all()
    assert ts.loc[ts["group"] != "partner", figures].notna().all().all()
    text = (out / "summary.json").read_text()
    summary = json.loads(text, parse_constant=_not_json)  # JSON has no NaN: a figure not measured is null
    long_run = summary["long_run"]["partner"]
    assert long_run["buyers"] == 0 and long_run["trust_buyer"] is None and long_run["market_share"] is None
    assert all(math.isfinite(v) for v in summary["long_run"]["aggressive"].values())
    assert math.isnan(m.recorder.summary()["long_run"]["partner"]["trust_buyer"])  # in memory: NaN
    # what reads it back takes null as NaN, and a file written before (with NaN) as the same figures
    from trustsim.reproduce import compare_file
    old = tmp_path / "old.json"
    old.write_text(text.replace("null", "NaN"))
    assert compare_file(out / "summary.json", old) == ("close", 0.0)
    from trustsim.comparison import load_folder
    row = load_folder(out)[1].iloc[0]
    assert pd.isna(row["partner.trust_buyer"]) and pd.isna(row["advantage.market_share"])
    assert row["aggressive.trust_buyer"] == summary["long_run"]["aggressive"]["trust_buyer"]
    both = tmp_path / "both"
    assert run_cli(capsys, "run", BASELINE, *TINY, "--out", both)[0] == 0
    summary = json.loads((both / "summary.json").read_text())
    summary["long_run"]["partner"]["tco_per_unit"] = None  # a posture with buyers but without the figure
    (both / "summary.json").write_text(json.dumps(summary))
    row = load_folder(both)[1].iloc[0]
    assert pd.isna(row["advantage.tco_per_unit"]) and pd.notna(row["advantage.market_share"])


def _not_json(constant: str):
    raise ValueError(f"{constant} is not JSON")


def test_a_group_emptied_part_way_is_averaged_over_the_steps_it_had_buyers():
    m = TrustMarket(buyers=10, suppliers=4, steps=8, rng=2).run()
    rows = m.recorder.data[:8, 0]  # the one market's rows (a view)
    rows[-2:, 0] = np.where(COUNTED, 0.0, np.nan)  # the partners' last two steps as if the group had emptied
    trust = COLUMN_NAMES.index("trust_buyer")
    long_run = m.recorder.summary()["long_run"]["partner"]
    assert long_run["trust_buyer"] == pytest.approx(rows[4:6, 0, trust].mean())
    assert long_run["buyers"] == pytest.approx(rows[4:, 0, 0].mean())


# --- a mistake in a scenario file is told before the model is loaded ----------------------------------------

@pytest.mark.parametrize("argv", [["run", "{bad}"], ["patterns", "{bad}"], ["compare", "{good}", "{bad}"]])
def test_a_mistake_in_a_scenario_is_told_before_the_model_and_its_writers_are_imported(tmp_path, argv):
    """Editing a scenario file, a user meets its mistakes one at a time: each is told without first loading the
    model, Mesa and the results' writers (about 1.5 s of imports, six times the check itself)."""
    bad = tmp_path / "bad.toml"
    bad.write_text("[market]\nbuyerz = 40\n")
    args = [a.format(bad=bad, good=BASELINE) for a in argv]
    probe = ("import sys\nfrom trustsim.cli import main\ncode = main(sys.argv[1:])\n"
             "print(code, sorted(m for m in ('mesa', 'trustsim.model', 'trustsim.results', 'matplotlib') "
             "if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", probe, *args], capture_output=True, text=True, cwd=tmp_path,
                          timeout=120)
    one_line(2, done.stderr.strip(), "buyerz", "buyers")
    assert done.stdout.split(None, 1) == ["2", "[]\n"], done.stdout
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.toml"]


@pytest.mark.parametrize(("command", "text", "needles"), [
    ("sweep", '[sweep]\nreplicationz = 2\n[sweep.factors]\n"market.uncertainty" = [0.0, 0.3]\n',
     ["sweep.replicationz", '"replications"']),
    ("sweep", '[sweep]\nreplications = 2\nmetrics = ["tco_per_unit"]\n'
              '[sweep.factors]\n"market.uncertainy" = [0.0, 0.3]\n',
     ["sweep.factors.market.uncertainy", '"uncertainty"']),
    ("calibrate", '[calibrate]\nbudgett = 100\n[calibrate.parameters]\n"trust.gain" = { lo = 0.02, hi = 0.2 }\n',
     ["calibrate.budgett", '"budget"']),
])
def test_a_mistake_in_a_sweep_or_calibration_file_is_told_before_the_engine_and_its_writers_are_imported(
        tmp_path, command, text, needles):
    """A mistake in a sweep's or a calibration's table is told without first loading the executors, the engine's
    arrays (numpy, the measurements), pandas, SALib, Dask and the writers (over a second of imports); a sweep's
    factors are checked before the metrics it names, which need the measurements."""
    bad = tmp_path / "bad.toml"
    bad.write_text(text)
    heavy = ("mesa", "trustsim.model", "trustsim.metrics", "trustsim.results", "trustsim.calibration.run",
             "trustsim.experiments.execute", "matplotlib", "numpy", "pandas", "SALib", "dask")
    probe = ("import sys\nfrom trustsim.cli import main\ncode = main(sys.argv[1:])\n"
             f"print(code, sorted(m for m in {heavy!r} if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", probe, command, str(bad)], capture_output=True, text=True,
                          cwd=tmp_path, timeout=120)
    one_line(2, done.stderr.strip(), *needles)
    assert done.stdout.split(None, 1) == ["2", "[]\n"], done.stdout
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.toml"]
