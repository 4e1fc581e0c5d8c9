"""What the app's key figures panel offers to download: the run so far, and the settings that made it."""

from __future__ import annotations

from ..scenario import scenario_text


def timeseries_csv(model) -> bytes:
    """The run so far as the results contract's ``timeseries.csv`` (one row per step and group)."""
    return model.recorder.frame().to_csv(index=False).encode()


def settings_toml(model, scenario_name: str) -> bytes:
    """The scenario file of the market's parameters as it runs, the sliders' and the seed's changes included:
    ``trustsim run`` on it makes the same series (a download of the series alone said nothing of them)."""
    return scenario_text(model.params, f"{scenario_name} as set in trustsim's app").encode()
