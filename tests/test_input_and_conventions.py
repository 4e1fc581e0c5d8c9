"""Bad values on the command line are one line, exit 2, nothing written, and repeat what was typed only
escaped and cut short (ports, seeds, keys, folders, markets too large for the machine); and the
conventions others rely on: ``rng=None`` draws a fresh seed as Mesa does, an empty group reports NaN.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from trustsim import TrustMarket, capacity
from trustsim.cli import main
from trustsim.columns import COUNT_COLUMNS
from trustsim.metrics import COLUMNS, COUNTED
from trustsim.params import Params

ROOT = Path(__file__).resolve().parents[1]
BASELINE = ROOT / "scenarios" / "baseline.toml"
SMALL = ["--set", "market.buyers=8", "--set", "market.suppliers=4", "--steps", "6", "--quiet"]


def cli(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def one_line(code, err, *needles, longest=400):
    assert code == 2, err
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    assert len(err) < longest, err
    assert "\x1b" not in err and "\r" not in err, err
    for n in needles:
        assert n in err, (n, err)


# --- 7: bad ports -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("port", ["70000", "65536", "0", "-1", "http", "9" * 5000])
def test_viz_with_a_bad_port_is_one_line(capsys, port):
    code, out, err = cli(capsys, "viz", "--port", port)
    one_line(code, err, "--port")
    assert out == ""


# --- 8: what a user typed is echoed escaped and cut ---------------------------------------------------------

def test_a_5000_digit_seed_is_cut(tmp_path, capsys):
    for digits in (5000, 4000, 400):
        code, out, err = cli(capsys, "run", BASELINE, *SMALL, "--seed", "9" * digits, "--out", tmp_path / "r")
        one_line(code, err, "seed", *(["(5000 digits)"] if digits == 5000 else ["out of range"]))
        assert "9" * 100 not in err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("argv", [
    ["--set", "market.buy\ners\x1b[31m=3"],
    ["--set", "market.buyers=3\x1b[2J"],
    ["--seed", "1\x1b]0;title\x07"],
    ["--bogus\x1b[31m", "x\ny"],
])
def test_control_characters_typed_on_the_command_line_are_escaped(tmp_path, capsys, argv):
    code, out, err = cli(capsys, "run", BASELINE, *SMALL, *argv, "--out", tmp_path / "r")
    one_line(code, err)
    assert "\\x1b" in err or "\\n" in err
    assert list(tmp_path.iterdir()) == []


def test_a_folder_name_with_control_characters_is_echoed_escaped(tmp_path, capsys):
    out = tmp_path / "a\nb\x1b[31m"
    code, stdout, err = cli(capsys, "run", BASELINE, *SMALL, "--out", out)
    assert code == 0, err
    assert "a\\nb\\x1b[31m" in stdout and "\x1b" not in stdout
    assert (out / "manifest.json").is_file()  # the folder itself has the name asked for


# --- 9: an empty --out, a market larger than the machine ---------------------------------------------------

@pytest.mark.parametrize("command", [
    ["run", str(BASELINE), *SMALL],
    ["sweep", str(ROOT / "scenarios" / "sweep_uncertainty.toml"), "--quiet"],
    ["merge", "a", "b"],
    ["patterns", "--seeds", "2"],
    ["calibrate", str(ROOT / "scenarios" / "calibration.toml")],
])
def test_an_empty_out_is_an_error(tmp_path, capsys, monkeypatch, command):
    monkeypatch.chdir(tmp_path)
    code, out, err = cli(capsys, *command, "--out", "")
    one_line(code, err, "--out", "empty")
    assert list(tmp_path.iterdir()) == []


def test_a_market_larger_than_the_memory_available_is_refused(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(capacity, "memory_available", lambda: 4 * 2**30)
    code, out, err = cli(capsys, "run", BASELINE, "--set", "market.buyers=10000000", "--out", tmp_path / "r")
    one_line(code, err, "market.buyers", "10000000 buyers", "needs about", "GB of memory", "4.0 GB available")
    assert list(tmp_path.iterdir()) == []
    need = capacity.memory_needed(Params().replace(**{"market.buyers": 10_000_000}))
    assert f"{need / 2**30:.1f} GB" in err and need > 4 * 2**30
    # a market that fits is run as before
    assert cli(capsys, "run", BASELINE, *SMALL, "--out", tmp_path / "r")[0] == 0


def test_the_memory_estimate_grows_with_every_size():
    base = Params()
    need = capacity.memory_needed(base)
    for key, value in (("market.buyers", 4000), ("market.suppliers", 4000), ("market.slots_per_buyer", 10),
                       ("run.steps", 100_000)):
        assert capacity.memory_needed(base.replace(**{key: value})) > need, key
    have = capacity.memory_available()
    assert have is None or have > 0


PEAK = """
import resource, sys
from trustsim.cli import main
code = main(sys.argv[1:])
print(code, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * (1 if sys.platform == "darwin" else 1024))
"""


@pytest.mark.skipif(sys.platform == "win32", reason="resource module")
def test_the_memory_estimate_covers_a_real_run(tmp_path):
    """The estimate is on the safe side of what a 100 000-buyer run takes beyond a one-buyer run."""
    peaks = {}
    for buyers, suppliers in ((1, 1), (100_000, 5_000)):
        argv = ["run", str(BASELINE), "--set", f"market.buyers={buyers}", "--set", f"market.suppliers={suppliers}",
                "--steps", "4", "--quiet", "--out", str(tmp_path / f"r{buyers}")]
        proc = subprocess.run([sys.executable, "-c", PEAK, *argv], capture_output=True, text=True, timeout=300)
        code, peak = proc.stdout.split()[-2:]
        assert code == "0", proc.stderr
        peaks[buyers] = int(peak)
    params = Params().replace(**{"market.buyers": 100_000, "market.suppliers": 5_000, "run.steps": 4})
    used = peaks[100_000] - peaks[1]
    need = capacity.memory_needed(params)
    assert used <= need - capacity.FIXED, (used, need)
    # (no bound from above: the libraries' own peak in a fresh process varies by more than the arrays weigh)


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
        assert cli(capsys, "run", BASELINE, *SMALL, "--out", tmp_path / name)[0] == 0
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
    assert cli(capsys, "run", BASELINE, *SMALL, "--set", "buyers.partner_share=0.0", "--out", out)[0] == 0
    ts = pd.read_csv(out / "timeseries.csv")
    partner = ts[ts["group"] == "partner"]
    figures = [c for c in ts.columns if c not in ("step", "group", *COUNT_COLUMNS)]
    assert partner[figures].isna().all().all() and (partner[list(COUNT_COLUMNS)] == 0).all().all()
    assert ts.loc[ts["group"] != "partner", figures].notna().all().all()
    summary = json.loads((out / "summary.json").read_text())
    long_run = summary["long_run"]["partner"]
    assert long_run["buyers"] == 0 and math.isnan(long_run["trust_buyer"]) and math.isnan(long_run["market_share"])
    assert all(math.isfinite(v) for v in summary["long_run"]["aggressive"].values())


def test_a_group_emptied_part_way_is_averaged_over_the_steps_it_had_buyers():
    m = TrustMarket(buyers=10, suppliers=4, steps=8, rng=2).run()
    rows = m.recorder.data[:8, 0]  # the one market's rows (a view)
    rows[-2:, 0] = np.where(COUNTED, 0.0, np.nan)  # the partners' last two steps as if the group had emptied
    trust = COLUMNS.index("trust_buyer")
    long_run = m.recorder.summary()["long_run"]["partner"]
    assert long_run["trust_buyer"] == pytest.approx(rows[4:6, 0, trust].mean())
    assert long_run["buyers"] == pytest.approx(rows[4:, 0, 0].mean())
