"""The Python API as researchers use it: the worked notebook docs/notebook.ipynb executes from top to
bottom (figures drawn, the app rendered inline), and the EMA Workbench drives the model through it as
docs/experiments.md shows."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import ROOT

NOTEBOOK = ROOT / "docs" / "notebook.ipynb"


def test_the_notebook_executes_and_draws_its_figures_and_the_app():
    nbformat = pytest.importorskip("nbformat", reason="the test extras install nbformat")
    nbclient = pytest.importorskip("nbclient", reason="the test extras install nbclient")
    nb = nbformat.read(NOTEBOOK, as_version=4)
    assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code"), "commit the notebook without outputs"
    nbclient.NotebookClient(nb, timeout=600, kernel_name="python3",
                            resources={"metadata": {"path": str(NOTEBOOK.parent)}}).execute()
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    kinds = [k for o in outputs for k in o.get("data", {})]
    assert kinds.count("image/png") >= 2, "the run's and the sweep's figures"
    assert kinds.count("text/html") >= 3, "the tables"
    last = nb.cells[-1].outputs
    assert any("application/vnd.jupyter.widget-view+json" in o.get("data", {}) for o in last), "the app inline"
    printed = "".join(o.get("text", "") for o in outputs if o.output_type == "stream")
    assert "B − A" in printed and "cost of ownership per unit" in printed


def ema_example() -> dict:
    """docs/experiments.md's EMA Workbench example as written, run: its names (market, experiments, outcomes)."""
    text = (ROOT / "docs" / "experiments.md").read_text()
    code = text.split("## The EMA Workbench", 1)[1].split("```python\n", 1)[1].split("```", 1)[0]
    names = {"__name__": "ema_example"}
    exec(compile(code, "docs/experiments.md", "exec"), names)
    return names


def test_the_ema_workbench_drives_the_model():
    """The example of docs/experiments.md runs as written: 20 experiments, each its own market, each the model
    run with its values and nothing else."""
    pytest.importorskip("ema_workbench", reason='pip install "trustsim[ema]"')
    example = ema_example()
    experiments, outcomes, market = example["experiments"], example["outcomes"], example["market"]
    assert len(experiments) == 20 and len(outcomes["advantage"]) == len(outcomes["tco"]) == 20
    assert np.isfinite(outcomes["advantage"]).all() and np.isfinite(outcomes["tco"]).all()
    u, s = experiments["uncertainty"].to_numpy(), experiments["partner_share"].to_numpy()
    assert 0 <= u.min() < u.max() <= 0.9 and 0.2 <= s.min() < s.max() <= 0.8
    assert len(set(np.round(outcomes["tco"], 12))) == 20, "each experiment is its own market"
    again = market(float(u[7]), float(s[7]))  # an experiment is the model run with its values, nothing else
    assert again["advantage"] == outcomes["advantage"][7] and again["tco"] == outcomes["tco"][7]
