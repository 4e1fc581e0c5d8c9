"""The scenario variants the patterns compare: the baseline and its changes of one mechanism each."""

from __future__ import annotations

from ..params import Params

SIGMAS = (0.0, 0.3, 0.6, 0.9)  # environmental uncertainty σ of the P6 variants


def variants(base: Params) -> dict[str, Params]:
    """Named parameter sets: the baseline and the variants some patterns compare against it."""
    v = {"baseline": base}
    for s in SIGMAS:
        v[f"sigma={s}"] = base.replace(**{"market.uncertainty": s})
    v["passive"] = base.replace(**{"suppliers.attention_policy": "passive"})
    v["silence"] = base.replace(**{"suppliers.attention_policy": "silence"})
    v["unbundled"] = base.replace(**{"service.partner_in_price": False})
    v["bundled"] = base.replace(**{"service.partner_in_price": True})
    v["null"] = null_model(base)
    return v


def null_model(base: Params) -> Params:
    """P9: innovation off, no uncertainty, transaction time independent of trust."""
    return base.replace(**{
        "innovation.idea_rate": 0.0, "innovation.process_idea_rate": 0.0, "market.uncertainty": 0.0,
        "time.trust_scaled_hours": False,
    })

