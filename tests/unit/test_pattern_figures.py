"""The pattern figures (``trustsim/patterns/figures.py``) against what their checks accept: a target with a
tolerance is drawn with its band, and a quantity is drawn on an axis in its own units."""

import json

import numpy as np
import pytest
from conftest import pattern_figure
from matplotlib.collections import PolyCollection
from matplotlib.figure import Figure

from trustsim.patterns.checks import P3_LEVELS, P3_TOLERANCE, P4_RATIO, P10_LEVEL_TOLERANCE, P10_LEVELS, p3, p4, p10
from trustsim.patterns.figures import jsonable, redraw


def seeds(n=6, **figures):
    """``n`` baseline seeds, each figure spread a little about the value given."""
    rng = np.random.default_rng(0)
    return {"baseline": [{k: v + 0.01 * v * rng.normal() for k, v in figures.items()} for _ in range(n)]}


def bands(ax) -> list[tuple[float, float]]:
    """The (bottom, top) of each shaded band an axes draws."""
    return sorted((float(p[:, 1].min()), float(p[:, 1].max()))
                  for c in ax.collections if isinstance(c, PolyCollection) for p in (c.get_paths()[0].vertices,))


@pytest.mark.parametrize(("check", "runs", "levels", "tolerance"), [
    (p3, seeds(nonprod_low=0.5, nonprod_high=0.2), P3_LEVELS, P3_TOLERANCE),
    (p10, seeds(defect_drop_partner=0.38, defect_drop_aggressive=0.15), P10_LEVELS, P10_LEVEL_TOLERANCE),
])
def test_a_target_with_a_tolerance_is_drawn_with_the_band_its_check_accepts(check, runs, levels, tolerance, tmp_path,
                                                                           monkeypatch):
    """P3's targets are 0.47 ± 0.07 and 0.24 ± 0.07, P10's levels 50% and 26% ± 10%, but each figure drew the
    target as a bare line: whether the mean lay within the tolerance could not be seen. Each target has its band,
    from the tolerance the check uses, labelled once in the legend."""
    result = check(runs)
    assert result.tolerances == dict.fromkeys(levels, tolerance)
    [ax] = pattern_figure(result, tmp_path, monkeypatch).axes
    expected = sorted((level - tolerance, level + tolerance) for level in levels.values())
    assert len(bands(ax)) == len(expected) and np.allclose(bands(ax), expected), (bands(ax), expected)
    labels = ax.get_legend_handles_labels()[1]
    assert labels.count(f"target ± {tolerance:g}") == 1, labels
    assert [t.get_text() for t in ax.get_legend().get_texts()] == labels


def test_p4s_productivity_ratio_has_an_axis_of_its_own_in_its_own_units(tmp_path, monkeypatch):
    """P4 drew an inspection rate (a share near 0.02) and the productivity ratio ÷ 10 on one axis labelled
    "productivity ratio ÷ 10": the ratio was not read in its units, and its ≥ 3× target was drawn at 0.3. The ratio
    has a panel of its own, its seeds and its target unscaled."""
    result = p4(seeds(inspection_top_tenth=0.02, units_per_hour_ratio=4.4))
    fig = pattern_figure(result, tmp_path, monkeypatch)
    assert len(fig.axes) == 2
    rate, ratio = fig.axes
    assert "ratio" in ratio.get_ylabel() and "÷ 10" not in ratio.get_ylabel(), ratio.get_ylabel()
    assert "ratio" not in rate.get_ylabel(), rate.get_ylabel()
    dots = [c.get_offsets()[:, 1] for c in ratio.collections if c.get_offsets().shape[0] == 6]
    assert len(dots) == 1 and np.allclose(dots[0], result.values["units/hour ratio"]) and dots[0].min() > 4
    targets = [s[:, 1].mean() for c in ratio.collections if c.get_label() == "target" for s in c.get_segments()]
    assert targets == [P4_RATIO]
    low, high = ratio.get_ylim()
    assert low <= P4_RATIO and high >= dots[0].max() and high < 10, ratio.get_ylim()
    assert rate.get_ylim()[1] < 1  # the inspection rate, a share, on its own scale


def test_a_suite_folder_redraws_with_its_tolerances_and_an_older_p4_in_its_units(tmp_path, monkeypatch):
    """patterns.json keeps each check's tolerances, so ``trustsim report`` redraws the bands; a folder written when
    P4's ratio was kept ÷ 10 is redrawn with the ratio in its own units."""
    folder = tmp_path / "suite"
    (folder / "figures").mkdir(parents=True)
    results = [p3(seeds(nonprod_low=0.5, nonprod_high=0.2)),
               p4(seeds(inspection_top_tenth=0.02, units_per_hour_ratio=4.4))]
    rows = [{"pattern": r.pattern, "claims": r.claim, "measured": r.measured, "target": r.target, "passed": r.passed,
             "values": jsonable(r.values), "targets": jsonable(r.targets), "tolerances": jsonable(r.tolerances)}
            for r in results]
    rows[1]["values"] = {"inspection rate, top tenth": rows[1]["values"]["inspection rate, top tenth"],
                         "units/hour ratio ÷ 10": [x / 10 for x in rows[1]["values"]["units/hour ratio"]]}
    rows[1]["targets"] = {"inspection rate, top tenth": 0.05, "units/hour ratio ÷ 10": 0.3}
    del rows[1]["tolerances"]
    (folder / "patterns.json").write_text(json.dumps(rows))
    (folder / "manifest.json").write_text(json.dumps({"trustsim": "0.1.0", "kind": "patterns"}))
    figures, original = {}, Figure.savefig

    def spy(fig, path, *args, **kwargs):
        figures[str(path).rsplit("/", 1)[-1]] = fig
        return original(fig, path, *args, **kwargs)

    monkeypatch.setattr(Figure, "savefig", spy)
    redraw(folder)
    [ax] = figures["P3.png"].axes
    expected = sorted((x - P3_TOLERANCE, x + P3_TOLERANCE) for x in P3_LEVELS.values())
    assert len(bands(ax)) == len(expected) and np.allclose(bands(ax), expected), bands(ax)
    ratio = figures["P4.png"].axes[1]
    dots = [c.get_offsets()[:, 1] for c in ratio.collections if c.get_offsets().shape[0] == 6]
    assert np.allclose(dots[0], results[1].values["units/hour ratio"])
    assert [s[:, 1].mean() for c in ratio.collections if c.get_label() == "target" for s in c.get_segments()] \
        == [P4_RATIO]
