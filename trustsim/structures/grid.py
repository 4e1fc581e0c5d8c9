"""The points the structures and the regime map compare: named settings over a base parameter set."""

from __future__ import annotations

import itertools
from typing import get_args

from ..params import GROUPS, Params
from ..patterns import SIGMAS

READINGS = ("market.refit", "buyers.plan_sharing", "trust.padding_loss")
"""The contested readings that are settings (MODEL.md 9.9, 1–3). The fourth, ``buyers.trust_weight``, is a
real number that acts only when ``buyers.conduct`` is "learning"; under the default fixed conduct it
changes nothing, so it is not an axis of the grid (the pattern suite's learning variants carry it)."""

SHORT = {"market.refit": "refit", "buyers.plan_sharing": "plans", "trust.padding_loss": "padding"}

REGIME_INTEGRITIES = (0.2, 0.4, 0.6, 0.8)   # suppliers.integrity_mean
REGIME_IDEA_SHARES = (0.25, 1.0, 2.0)       # innovation idea rates, as shares of the base's
REGIME_FIT_SPREADS = (0.0, 0.1, 0.3, 0.6)   # market.fit_spread, the second map (at the base's integrity and ideas)


def reading_choices(key: str) -> tuple[str, ...]:
    """The values a categorical reading may take, from the parameter schema."""
    group, name = key.split(".")
    return get_args(GROUPS[group].model_fields[name].annotation)


def structure_label(settings: dict) -> str:
    """A structure in a few words: ``refit=current_spec, plans=partner_terms, padding=proportional``."""
    return ", ".join(f"{SHORT[k]}={settings[k]}" for k in READINGS)


def structure_points(base: Params) -> list[dict]:
    """Every combination of the readings (the base's own first), each at every σ of the headline figures:
    ``[{"structure": label, key: value …, "market.uncertainty": σ}]``."""
    flat = base.flat()
    orders = [sorted(reading_choices(k), key=lambda v, k=k: v != flat[k]) for k in READINGS]
    points = []
    for combo in itertools.product(*orders):
        settings = dict(zip(READINGS, combo, strict=True))
        for s in SIGMAS:
            points.append({"structure": structure_label(settings), **settings, "market.uncertainty": s})
    return points


def regime_points(base: Params) -> list[dict]:
    """The regime map at the base's readings: σ × integrity × idea rate ("integrity" map), and σ × fit spread
    ("fit_spread" map, at the base's integrity and idea rates)."""
    inn = base.innovation
    points = []
    for s, theta, share in itertools.product(SIGMAS, REGIME_INTEGRITIES, REGIME_IDEA_SHARES):
        points.append({"map": "integrity", "market.uncertainty": s, "suppliers.integrity_mean": theta,
                       "idea_share": share, "innovation.idea_rate": inn.idea_rate * share,
                       "innovation.process_idea_rate": inn.process_idea_rate * share,
                       "market.fit_spread": base.market.fit_spread})
    for s, f in itertools.product(SIGMAS, REGIME_FIT_SPREADS):
        points.append({"map": "fit_spread", "market.uncertainty": s,
                       "suppliers.integrity_mean": base.suppliers.integrity_mean, "idea_share": 1.0,
                       "innovation.idea_rate": inn.idea_rate, "innovation.process_idea_rate": inn.process_idea_rate,
                       "market.fit_spread": f})
    return points


def params_of(base: Params, point: dict) -> Params:
    """The parameters of a point: its settings (the keys with a dot) over the base."""
    return base.replace(**{k: v for k, v in point.items() if "." in k})
