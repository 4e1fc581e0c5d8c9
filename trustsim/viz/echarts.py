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


def for_json(numbers: np.ndarray) -> list:
    """Numbers for the browser, to 6 decimals: JSON has no NaN or ∞ (a posture without buyers measures NaN, and
    the browser refused the whole chart's data), so those become null, which ECharts leaves out."""
    return np.where(np.isfinite(numbers), numbers.round(6), None).tolist()
