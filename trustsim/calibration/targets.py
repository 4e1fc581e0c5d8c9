"""The measurements a calibration target may name: each one of the pattern suite's figures
(``patterns/measure.py``), with what it measures, in which buyers, over which steps, by which statistic.

A target compares the model's figure, averaged over a particle's replicate runs, with a published value.
To add a measurement: make ``measure_many`` return the figure, then name it here.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Measurement:
    """A figure a target is compared with: its ``measure_many`` key, what it measures and its pattern."""
    figure: str        # the key of ``measure_many``'s figures
    what: str          # what it measures, in which buyers, over which steps, by which statistic
    pattern: str       # the pattern whose measurement it is


MEASUREMENTS: dict[str, Measurement] = {
    "nonprod_least_trusted": Measurement(
        "nonprod_low", "non-productive share of face-to-face hours, mean over the fifth of buyers their suppliers "
        "trust least (mean trust over the second half of the run), second half of the run (S15, S16)", "P3"),
    "nonprod_most_trusted": Measurement(
        "nonprod_high", "non-productive share of face-to-face hours, mean over the fifth of buyers their suppliers "
        "trust most, second half of the run (S15, S16)", "P3"),
    "defect_drop_partner": Measurement(
        "defect_drop_partner", "fall of the defect rate of lots delivered to partner buyers over the first 24 "
        "steps, relative to the supplier's initial base rate; mean over suppliers serving both postures (S18)",
        "P10"),
    "defect_drop_aggressive": Measurement(
        "defect_drop_aggressive", "the same fall for lots the same suppliers deliver to aggressive buyers (S18)",
        "P10"),
    "units_per_hour_ratio": Measurement(
        "units_per_hour_ratio", "units per purchasing hour, mean of the most trusted fifth of buyers over that of "
        "the least trusted fifth, second half of the run (S15, S17)", "P4"),
}


def target_values(figures: dict[str, float], measures: list[str]) -> list[float]:
    """A run's value of each named measurement (NaN where the run has none: no supplier serves both postures)."""
    return [float(figures.get(MEASUREMENTS[m].figure, float("nan"))) for m in measures]
