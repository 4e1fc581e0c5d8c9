"""The parts of the app's ECharts options that every chart shares: axes and numbers the browser can read."""

from __future__ import annotations

import itertools

import numpy as np


def axis(name: str, **extra) -> dict:
    """A value axis named ``name`` below or beside its chart (``extra``: ECharts' own settings)."""
    return {"type": "value", "name": name, "nameLocation": "middle", "nameGap": 50, "nameTextStyle": {"fontSize": 11},
            **extra}


def step_axis_end(steps: int, run_steps: int) -> int:
    """Where the step axis ends after ``steps`` of a run of ``run_steps``: the first of 40 (ten years), 100, 200,
    500, 1 000, 2 000 … that holds the steps so far, at most the run's end. An axis as long as the run from its
    start drew a market's first steps in its first pixels: the charts looked empty."""
    ends = itertools.chain((40,), (m * 10**k for k in itertools.count(2) for m in (1, 2, 5)))
    return max(min(next(e for e in ends if e >= steps), run_steps), 1)


def legend_room(grid_bottom: int) -> list[dict]:
    """ECharts ``media`` for a chart whose long legend (the cost chart's eight parts) lies at its bottom, under an
    axis whose name ends ``grid_bottom`` px above it less 32: below 440 px wide the legend takes smaller type and
    the grid makes room for one row more than it takes at that width (rows of 20 px). It paged under 440 px,
    showing three names of eight on 1 024- and 1 280-px screens; in rows without the room it lay over the axis's
    name (ECharts does not make room for a legend by itself)."""
    rows = ((440, 3), (300, 4), (240, 5), (180, 6))  # the chart's width, the legend's rows then (at most one fewer)
    return [{"query": {"maxWidth": width},
             "option": {"legend": {"itemWidth": 10, "itemGap": 6, "textStyle": {"fontSize": 11}},
                        "grid": {"bottom": grid_bottom + 20 * (n - 2)}}} for width, n in rows]


def for_json(numbers: np.ndarray) -> list:
    """Numbers for the browser, to 6 decimals: JSON has no NaN or ∞ (a posture without buyers measures NaN, and
    the browser refused the whole chart's data), so those become null, which ECharts leaves out."""
    return np.where(np.isfinite(numbers), numbers.round(6), None).tolist()


def _with_text(values: np.ndarray, number_format: str) -> list[tuple]:
    """Each value for the browser (``for_json``) and as ``number_format`` writes it (``Column.number_format``, the
    key figures table's), or None where it has none."""
    text = number_format.format
    return [(v, None if v is None else text(v)) for v in for_json(values)]


def line_points(steps: np.ndarray, values: np.ndarray, number_format: str) -> list[list]:
    """A line's points ``[step, value, value's text]`` (``LINE_TEXT``): drawn through the numbers, the tooltip
    shows the text, the figure as the key figures table writes it (0.8492, not 0.849194)."""
    return [[step, v, text] for step, (v, text) in zip(steps.tolist(), _with_text(values, number_format), strict=True)]


def bar_points(values: np.ndarray, categories: tuple[str, ...], number_format: str) -> list[list]:
    """A bar series' points ``[value, category, value's text]`` (``BAR_TEXT``), as ``line_points``."""
    return [[v, c, text] for c, (v, text) in zip(categories, _with_text(values, number_format), strict=True)]


_TEXT = {"name": "text", "type": "ordinal"}
LINE_TEXT = {"encode": {"x": 0, "y": 1, "tooltip": 2}, "dimensions": ["step", "value", _TEXT]}
BAR_TEXT = {"encode": {"x": 0, "y": 1, "tooltip": 2}, "dimensions": ["value", {"name": "category", "type": "ordinal"},
                                                                     _TEXT]}
"""A series' settings for the points of ``line_points`` and ``bar_points``: its tooltip shows their text."""
STEP_POINTER = {"axisPointer": {"label": {"precision": 0, "formatter": "step {value}"}}}
"""A step axis's pointer, whose value heads the tooltip: "step 15", not "15.00"."""
