"""What the README promises across machines: a fresh baseline run equals the committed results/example/
within ``trustsim rerun``'s tolerance in every real number (1e-9 relative, 1e-12 absolute near 0:
``trustsim.reproduce.RELATIVE_TOLERANCE``, ``ABSOLUTE_FLOOR``) and exactly in everything else: whole
numbers, text, columns, lengths. (On one machine and library build the tables are byte-identical; elsewhere
floating-point summation order and NumPy's SIMD code for ``exp`` and ``log`` may change the last bits.)"""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pandas as pd
import pytest
from conftest import ROOT

from trustsim.model import TrustMarket
from trustsim.reproduce import RELATIVE_TOLERANCE as RTOL
from trustsim.reproduce import differences, relative_gap
from trustsim.scenario import load_scenario

EXAMPLE = ROOT / "results" / "example"


@pytest.fixture(scope="module")
def fresh():
    """The baseline as the example's manifest says it was made: its scenario file, seed and steps."""
    info = json.loads((EXAMPLE / "manifest.json").read_text())
    assert info["scenario"]["overrides"] == {}
    scenario = load_scenario(ROOT / info["scenario"]["path"], seed=info["seed"], steps=info["steps"])
    assert scenario.params.nested() == info["params"], "the baseline's parameters changed since the example"
    model = TrustMarket(scenario.params, rng=scenario.params.run.seed)
    model.run()
    return model


def assert_tables_close(committed: pd.DataFrame, new: pd.DataFrame):
    assert list(committed.columns) == list(new.columns) and committed.shape == new.shape
    numbers = committed.select_dtypes("number").columns
    assert list(new.select_dtypes("number").columns) == list(numbers)
    others = [c for c in committed.columns if c not in numbers]
    pd.testing.assert_frame_equal(committed[others], new[others])
    for c in numbers:
        if pd.api.types.is_integer_dtype(committed[c]):
            assert pd.api.types.is_integer_dtype(new[c]) and (committed[c] == new[c]).all(), c
        gap = relative_gap(committed[c].to_numpy(), new[c].to_numpy())
        assert gap <= RTOL, f"{c}: relative difference {gap:.2e} exceeds {RTOL:g}"


def test_timeseries_matches_the_example(fresh):
    assert_tables_close(pd.read_csv(EXAMPLE / "timeseries.csv"), fresh.recorder.frame())


def test_buyers_table_matches_the_example(fresh):
    assert_tables_close(pd.read_csv(EXAMPLE / "buyers.csv"), fresh.buyer_sums.frame(fresh))


def test_summary_matches_the_example(fresh):
    committed = json.loads((EXAMPLE / "summary.json").read_text())
    new = json.loads(json.dumps(fresh.recorder.summary()))  # as written: JSON types
    assert differences(committed, new) == []


def test_the_tolerance_would_catch_a_real_change():
    """The check is not vacuous: a change in the sixth digit, a value where 0 was, or a missing value fails
    it; another processor's last bits, and a last-bit 1e-17 where 0 was, pass."""
    a = np.array([0.9187, 1e-3, 3.2e3, 0.0])
    assert relative_gap(a, a * (1 + 1e-13)) <= RTOL
    assert relative_gap(a, a * (1 + 1e-6)) > RTOL
    assert relative_gap(np.array([0.0]), np.array([1e-17])) <= RTOL
    assert relative_gap(np.array([0.0]), np.array([1e-9])) > RTOL
    assert relative_gap(np.array([np.nan]), np.array([np.nan])) == 0.0
    assert relative_gap(np.array([np.nan, 1.0]), np.array([0.5, 1.0])) > RTOL
    assert differences({"a": [1, "x", 0.5]}, {"a": [1, "x", 0.5 * (1 + 1e-13)]}) == []
    assert differences({"a": [1, "x", 0.5]}, {"a": [1.0, "x", 0.5]}) and differences({"a": [1]}, {"a": [2]})
    assert differences({"a": 1}, {"b": 1}) and differences({"a": [1]}, {"a": [1, 2]})
    assert differences({"a": 1, "b": 2}, {"b": 2, "a": 1}) == []  # JSON's objects have no order


def test_the_examples_manifest_records_the_scenario_file_as_it_is():
    """The manifest's SHA-256 of baseline.toml is the file's now: `trustsim rerun results/example` and a reader
    comparing files see the example made from the file in the repository (an edit, if only to a comment, remakes
    the example: trustsim run scenarios/baseline.toml --out results/example --force)."""
    info = json.loads((EXAMPLE / "manifest.json").read_text())["scenario"]
    now = hashlib.sha256((ROOT / info["path"]).read_bytes()).hexdigest()
    assert info["sha256"] == now, ("scenarios/baseline.toml changed since the example was made: "
                                   "trustsim run scenarios/baseline.toml --out results/example --force")
