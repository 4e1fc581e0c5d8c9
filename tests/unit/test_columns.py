"""The results columns are declared once (trustsim/columns.py) and everything that shows them follows.

The last test adds one ``Column(...)`` line to a copy of the package and checks that the recorder,
``timeseries.csv``, ``summary.json``, Mesa's DataCollector, ``trustsim columns``, the app's key figures and
the docs generator all pick it up with no other edit.
"""

import json
import math
import os
import shutil
import subprocess
import sys
import textwrap

import mesa
import numpy as np
import pandas as pd
import pytest
from conftest import ROOT

from trustsim import cli, columns
from trustsim.metrics import TIMESERIES_HEADER, step_measurements
from trustsim.model import TrustMarket


def test_columns_command_prints_every_column_with_unit_aggregation_and_meaning(capsys):
    assert cli.main(["columns"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == len(columns.COLUMNS)
    for line, c in zip(lines, columns.COLUMNS, strict=True):
        name, rest = line.split(maxsplit=1)
        assert name == c.name and c.unit in rest and columns.HOW_TEXT[c.how] in rest and rest.endswith(c.meaning)
    assert cli.main(["columns", "--markdown"]) == 0
    assert capsys.readouterr().out == columns.markdown_table()


def test_the_recorder_and_the_datacollector_follow_the_registry():
    m = TrustMarket(rng=3, buyers=8, suppliers=4, steps=6).run()
    assert ("step", "group", *columns.COLUMN_NAMES) == TIMESERIES_HEADER
    frame = m.recorder.frame()
    assert list(frame.columns) == list(TIMESERIES_HEADER)
    assert all(frame[c].dtype.kind == "i" for c in columns.COUNT_COLUMNS)
    reported = set(m.datacollector.get_model_vars_dataframe().columns)
    for name in columns.KEY_FIGURES:
        assert {name, f"{name}_partner", f"{name}_aggressive"} <= reported


def test_the_datacollector_records_what_its_reporters_report_step_by_step():
    # the collector keeps a step's figures as one gather of the recorder's row: the numbers Mesa's own collect
    # gets by calling each reporter, in each reporter's column, an empty group's NaN included; also when collected
    # before the first step (as Mesa's examples do at the start), and again within a step
    m = TrustMarket(rng=4, buyers=12, suppliers=5, steps=9, partner_share=0.0)
    plain = mesa.DataCollector(model_reporters=m.datacollector.model_reporters)
    assert m.datacollector.model_vars == plain.model_vars == {name: [] for name in plain.model_reporters}
    at = [columns.COLUMN_NAMES.index(c) for c in ("trust_buyer", "complaints")]
    before = m.recorder.latest_of([2, 2], at)  # nothing measured yet: as ``latest``, NaN and a count of 0
    assert math.isnan(before[0]) and before[1] == 0 and math.isnan(m.recorder.latest("all", "trust_buyer"))
    for collector in (m.datacollector, plain):
        collector.collect(m)
    while m.running:
        m.step()
        plain.collect(m)
        if m.steps == 4:
            for collector in (m.datacollector, plain):
                collector.collect(m)
    ours, theirs = m.datacollector.get_model_vars_dataframe(), plain.get_model_vars_dataframe()
    assert list(ours.columns) == list(theirs.columns) and len(ours) == 11
    assert ours.iloc[0].isna().sum() == len(ours.columns) - sum(c.startswith("complaints") for c in ours.columns)
    # read again and again between collects (mesa.batch_run reads them once per step), the lists are made once
    assert m.datacollector.model_vars is m.datacollector.model_vars
    assert ours["trust_buyer_partner"].isna().all() and ours["trust_buyer_aggressive"][1:].notna().all()
    assert ours.equals(theirs), (ours - theirs).abs().max()


def test_the_groups_follow_the_buyers_postures_as_they_change():
    # the measurements keep the groups' memberships from step to step while postures stay; a change of posture
    # (imitation, learning) must show at once, in the group sizes and in the figures summed over each group
    m = TrustMarket(rng=2, buyers=10, suppliers=5, steps=5)
    m.step()
    buyers, profit = columns.COLUMN_NAMES.index("buyers"), columns.COLUMN_NAMES.index("profit_cum")
    for partners in (3, 7, 0, 3):
        m.market.is_partner[:] = np.arange(10) < partners
        rows = step_measurements(m)[0]
        assert rows[:, buyers].tolist() == [partners, 10 - partners, 10]
        if partners:
            assert rows[0, profit] == pytest.approx(m.market.profit_cum[:partners].mean())


def test_a_figures_label_says_whether_a_groups_figure_is_per_buyer_or_its_total():
    """Figures by posture draw per-buyer columns (profit, ideas) beside group totals (market share, complaints)
    under labels that said neither: "supplier ideas received since the start" at 240 for partners read as the
    group's ideas, and in a sweep over the share of partner buyers a per-buyer line and a total move differently.
    Each label says "per buyer" or "group total" as the column's aggregation is; means over relationships neither."""
    from trustsim.labels import column_label

    for c in columns.COLUMNS:
        label = " ".join(column_label(f"partner.{c.name}", 200).split())
        assert ("per buyer" in label) == (c.how == "per_buyer"), (c.name, label)
        assert ("group total" in label) == (c.how == "total"), (c.name, label)
    assert column_label("profit_cum", 200) == "profit since the start, per buyer (money)"
    assert column_label("ideas_received_cum", 200) == "supplier ideas received since the start, per buyer"


def test_short_names_and_formats():
    assert columns.BY_NAME["inspection_rate"].title == "share of lots inspected"  # the claim's citation dropped
    assert columns.BY_NAME["buyers"].format(40.0) == "40"
    assert columns.BY_NAME["profit_cum"].format(3088.4) == "3,088"
    assert columns.BY_NAME["profit_cum"].unit_text == "money per buyer"
    assert all(c.title and "\n" not in c.title for c in columns.COLUMNS)


NEW_COLUMN = ('Column("trust_gap", "trust", "buyers\' trust in suppliers less suppliers\' trust in buyers", "mean", '
              'lambda m: m.market.trust_b - m.market.trust_s, key_figure=True, label="trust gap"),')

CHECK = textwrap.dedent("""
    import sys
    from pathlib import Path

    import trustsim
    from trustsim.model import TrustMarket
    from trustsim.viz.components import key_figures

    assert Path(trustsim.__file__).resolve().is_relative_to(Path.cwd().resolve()), trustsim.__file__
    m = TrustMarket(rng=2, buyers=10, suppliers=5, steps=8).run()
    reported = m.datacollector.get_model_vars_dataframe()
    assert {"trust_gap", "trust_gap_partner", "trust_gap_aggressive"} <= set(reported.columns)
    rows = {row[0]: row[1:] for row in key_figures(m)["rows"]}
    assert "trust gap" in rows, rows
    print("ok")
""")


def test_a_new_column_is_one_declaration(tmp_path):
    copy = tmp_path / "tree"
    skip = shutil.ignore_patterns("__pycache__", "*.png")
    for folder in ("trustsim", "scripts", "docs", "scenarios"):
        shutil.copytree(ROOT / folder, copy / folder, ignore=skip)
    shutil.copy(ROOT / "README.md", copy / "README.md")
    (copy / "results" / "example").mkdir(parents=True)                 # the README's example table reads it
    shutil.copy(ROOT / "results" / "example" / "summary.json", copy / "results" / "example" / "summary.json")
    source = copy / "trustsim" / "columns.py"
    text = source.read_text()
    end = "\n)\n\nCOLUMN_NAMES"  # the end of the COLUMNS tuple: the new column goes last
    assert text.count(end) == 1
    source.write_text(text.replace(end, f"\n    {NEW_COLUMN}{end}"))

    env = {**os.environ, "PYTHONPATH": str(copy)}

    def run(*args):
        return subprocess.run([sys.executable, *map(str, args)], cwd=copy, env=env, capture_output=True, text=True,
                              timeout=240)

    listed = run("-m", "trustsim", "columns")
    assert listed.returncode == 0, listed.stderr
    gap = [line for line in listed.stdout.splitlines() if line.startswith("trust_gap ")]
    assert len(gap) == 1 and "mean over relationships" in gap[0] and gap[0].endswith("suppliers' trust in buyers")

    out = tmp_path / "out"
    done = run("-m", "trustsim", "run", "scenarios/baseline.toml", "--set", "market.buyers=12", "--set",
               "market.suppliers=6", "--steps", "20", "--out", out)
    assert done.returncode == 0, done.stderr
    ts = pd.read_csv(out / "timeseries.csv")
    assert ts.columns[-1] == "trust_gap"
    busy = ts[ts["buyers"] > 0]
    assert (busy["trust_gap"] - (busy["trust_buyer"] - busy["trust_supplier"])).abs().max() < 1e-9
    assert busy["trust_gap"].abs().max() > 0
    summary = json.loads((out / "summary.json").read_text())
    assert all("trust_gap" in summary[span]["all"] for span in ("long_run", "short_run"))

    stale = run("scripts/update_docs.py", "--params", "--check")
    assert stale.returncode != 0 and "docs/results.md" in stale.stderr
    assert run("scripts/update_docs.py", "--params").returncode == 0
    assert "| `trust_gap` | trust | mean over relationships |" in (copy / "docs" / "results.md").read_text()
    assert run("scripts/update_docs.py", "--params", "--check").returncode == 0

    app = run("-c", CHECK)
    assert app.returncode == 0 and app.stdout.strip() == "ok", app.stderr[-2000:]


def _values_and_groups(n: int, seed: int):
    import numpy as np

    rng = np.random.default_rng(seed)
    values = [rng.random(n) * 1e3 for _ in range(11)] + [rng.random(n) < 0.3, rng.poisson(0.2, n)]
    partner = (rng.random(n) < 0.5).astype(float)
    return values, np.stack([partner, 1.0 - partner, np.ones(n)], axis=1)


def test_group_totals_are_the_same_numbers_on_one_blas_thread_and_on_many():
    """Measurements run BLAS on one thread for speed; the totals must not depend on it (exact equality)."""
    import numpy as np
    from threadpoolctl import threadpool_limits

    from trustsim import metrics

    n = 8_000
    values, groups = _values_and_groups(n, 5)
    assert n < metrics._PER_VALUE_FROM and np.stack(values).size >= metrics._THREADED_SIZE  # limits the threads
    one = metrics._group_totals(values, groups, 1)
    with threadpool_limits(2, user_api="blas"):
        many = np.matmul(np.stack(values).astype(float)[None], groups[None]).transpose(0, 2, 1)
    print("largest difference:", np.abs(one - many).max())
    assert np.array_equal(one, many)
    assert np.allclose(one[0, 2, :11], [v.sum() for v in values[:11]])


def test_a_small_markets_group_totals_are_the_same_numbers_alone_and_among_others():
    """Small markets' values are copied into one table for the ensemble, each market's block a matrix with rows
    apart in memory: a market's totals must be the numbers of its one-table product alone (exact equality)."""
    import numpy as np

    from trustsim import metrics

    markets = [_values_and_groups(n, seed) for n, seed in ((80, 8), (80, 9), (80, 10))]
    together = metrics._group_totals([np.concatenate(v) for v in zip(*(m[0] for m in markets), strict=True)],
                                     np.concatenate([m[1] for m in markets]), len(markets))
    for i, (values, groups) in enumerate(markets):
        alone = metrics._group_totals(values, groups, 1)
        assert np.array_equal(alone[0], np.matmul(np.stack(values).astype(float), groups).T)
        assert np.array_equal(together[i], alone[0])


def test_a_large_markets_group_totals_are_the_tables_product_and_the_same_among_others():
    """A large market's values are multiplied one by one (no table larger than the caches): the totals of
    the one-table product within rounding, and a market's the same numbers alone as among others."""
    import numpy as np

    from trustsim import metrics

    n = metrics._PER_VALUE_FROM + 3_000
    first, groups_1 = _values_and_groups(n, 6)
    second, groups_2 = _values_and_groups(n, 7)
    alone = metrics._group_totals(first, groups_1, 1)
    table = np.matmul(np.stack(first).astype(float)[None], groups_1[None]).transpose(0, 2, 1)
    print("largest relative difference from the one-table product:", np.abs(alone / table - 1).max())
    assert alone.shape == (1, 3, len(first)) and np.allclose(alone, table, rtol=1e-12, atol=0)
    assert np.array_equal(alone[0, :2].sum(axis=0)[11:], alone[0, 2, 11:])  # counts: whole numbers, exact
    together = metrics._group_totals([np.concatenate(pair) for pair in zip(first, second, strict=True)],
                                     np.concatenate([groups_1, groups_2]), 2)
    assert np.array_equal(together[0], alone[0])
    assert np.array_equal(together[1], metrics._group_totals(second, groups_2, 1)[0])


def test_a_large_markets_events_are_counted_to_the_products_numbers():
    """Given the groups as booleans, a large market's events (booleans) are counted, not multiplied as floats:
    exactly the product's numbers (whole numbers below 2⁵³ sum exactly in any order), alone and among others."""
    import numpy as np

    from trustsim import metrics

    n = metrics._PER_VALUE_FROM + 3_000
    markets = []
    for seed in (11, 12):
        values, groups = _values_and_groups(n, seed)
        values.append(np.random.default_rng(seed).random(n) < 0.001)  # rare events
        markets.append((values, groups, np.ascontiguousarray(groups.T.astype(bool))))
    events = [j for j, v in enumerate(markets[0][0]) if v.dtype == bool]
    assert len(events) == 2
    for values, groups, masks in markets:
        counted = metrics._group_totals(values, groups, 1, masks)
        print("events' totals (partner, aggressive, all):", counted[0][:, events].T.tolist())
        assert np.array_equal(counted, metrics._group_totals(values, groups, 1))
        assert np.array_equal(counted[0][:, events[0]], [np.count_nonzero(values[events[0]] & m) for m in masks])
    together = metrics._group_totals([np.concatenate(v) for v in zip(*(m[0] for m in markets), strict=True)],
                                     np.concatenate([m[1] for m in markets]), 2,
                                     np.concatenate([m[2] for m in markets], axis=1))
    for i, (values, groups, _) in enumerate(markets):
        assert np.array_equal(together[i], metrics._group_totals(values, groups, 1)[0])
