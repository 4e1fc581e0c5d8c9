"""Golden outputs: the tables of a few runs are byte-identical to the recorded ones.

Restructuring the code must not change a figure. ``tests/golden.json`` holds the SHA-256 of
``timeseries.csv``, ``summary.json`` and ``buyers.csv`` for the baseline and three other scenarios
over several seeds, as ``trustsim run`` writes them. A change to the model that is meant to change
the figures rewrites the record (``TRUSTSIM_UPDATE_GOLDEN=1 pytest tests/test_golden.py``) in the
same commit, so the change of figures is visible in review.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest

from trustsim.model import TrustMarket
from trustsim.params import load_scenario

ROOT = Path(__file__).resolve().parents[1]
RECORD = Path(__file__).with_name("golden.json")
CASES = [("baseline", 1), ("baseline", 2), ("baseline", 3), ("passive_attention", 4),
         ("service_unbundled", 5), ("evolution", 6)]
STEPS = 60


def tables(scenario: str, seed: int) -> dict[str, str]:
    """SHA-256 of the three tables of one run, made as ``trustsim run`` makes them."""
    sc = load_scenario(ROOT / "scenarios" / f"{scenario}.toml")
    params = sc.params.replace(**{"run.steps": STEPS})
    model = TrustMarket(params, rng=seed).run()
    text = {
        "timeseries.csv": model.recorder.frame().to_csv(index=False),
        "summary.json": json.dumps(model.recorder.summary(), indent=2, sort_keys=True) + "\n",
        "buyers.csv": model.buyer_sums.frame(model).to_csv(index=False),
    }
    return {name: hashlib.sha256(t.encode()).hexdigest() for name, t in text.items()}


def _key(scenario, seed):
    return f"{scenario}/seed={seed}/steps={STEPS}"


def test_tables_match_the_golden_record():
    got = {_key(s, seed): tables(s, seed) for s, seed in CASES}
    if os.environ.get("TRUSTSIM_UPDATE_GOLDEN") == "1":
        RECORD.write_text(json.dumps(got, indent=2, sort_keys=True) + "\n")
        pytest.skip("golden record rewritten")
    want = json.loads(RECORD.read_text())
    changed = [f"{k}: {name}" for k in want for name in want[k] if got.get(k, {}).get(name) != want[k][name]]
    assert set(got) == set(want), "the cases changed: rewrite the record"
    assert not changed, "tables differ from the golden record:\n" + "\n".join(changed)
