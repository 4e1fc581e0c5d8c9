"""What the README promises across machines: a fresh baseline run equals the committed results/example/
within 1e-12 relative in every number and exactly in everything else (on one machine and library build
the tables are byte-identical; elsewhere floating-point summation order may change the last bits)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from trustsim.model import TrustMarket
from trustsim.params import load_scenario

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "results" / "example"
RTOL = 1e-12


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


def relative_gap(a: np.ndarray, b: np.ndarray) -> float:
    """The largest |a - b| / max(|a|, |b|); equal values (zeros included) count 0."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    assert np.array_equal(np.isnan(a), np.isnan(b))
    a, b = np.nan_to_num(a), np.nan_to_num(b)
    scale = np.maximum(np.abs(a), np.abs(b))
    gap = np.divide(np.abs(a - b), scale, out=np.zeros_like(a), where=scale > 0)
    return float(gap.max(initial=0.0))


def assert_tables_close(committed: pd.DataFrame, new: pd.DataFrame):
    assert list(committed.columns) == list(new.columns) and committed.shape == new.shape
    numbers = committed.select_dtypes("number").columns
    assert list(new.select_dtypes("number").columns) == list(numbers)
    others = [c for c in committed.columns if c not in numbers]
    pd.testing.assert_frame_equal(committed[others], new[others])
    for c in numbers:
        gap = relative_gap(committed[c].to_numpy(), new[c].to_numpy())
        assert gap <= RTOL, f"{c}: relative difference {gap:.2e} exceeds {RTOL:g}"


def test_timeseries_matches_the_example(fresh):
    assert_tables_close(pd.read_csv(EXAMPLE / "timeseries.csv"), fresh.recorder.frame())


def test_buyers_table_matches_the_example(fresh):
    assert_tables_close(pd.read_csv(EXAMPLE / "buyers.csv"), fresh.buyer_sums.frame(fresh))


def test_summary_matches_the_example(fresh):
    committed = json.loads((EXAMPLE / "summary.json").read_text())
    new = json.loads(json.dumps(fresh.recorder.summary()))  # as written: JSON types

    def walk(a, b, where):
        if isinstance(a, dict):
            assert isinstance(b, dict) and sorted(a) == sorted(b), where
            for k in a:
                walk(a[k], b[k], f"{where}.{k}")
        elif isinstance(a, (int, float)) and not isinstance(a, bool) and a is not None:
            assert isinstance(b, (int, float)), where
            assert relative_gap(np.array([a]), np.array([b])) <= RTOL, (where, a, b)
        else:
            assert a == b, where

    walk(committed, new, "summary")


def test_the_tolerance_would_catch_a_real_change():
    """The check is not vacuous: a change in the sixth digit, or a missing value, fails it."""
    a = np.array([0.9187, 1e-3, 0.0])
    assert relative_gap(a, a * (1 + 2e-15)) <= RTOL
    assert relative_gap(a, a * (1 + 1e-6)) > RTOL
    assert relative_gap(np.array([0.0]), np.array([1e-300])) > RTOL
