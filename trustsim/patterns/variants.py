"""The scenario variants the patterns compare: the baseline and its changes of one mechanism each."""

from __future__ import annotations

from ..params import Params

SIGMAS = (0.0, 0.3, 0.6, 0.9)  # environmental uncertainty σ of the P6 and R2 variants
INTEGRITIES = (0.9, 0.7, 0.5, 0.3, 0.1)  # R1: mean supplier integrity
FIT_SPREADS = (0.0, 0.1, 0.3)  # R2: spread of fit
SCARCE_IDEAS = 0.25  # R2: idea rates at this share of the baseline's
SHORT_HORIZON = 2.0  # R3: a short-termist buyer's horizon, in steps
TRUST_LEAN = 2.0  # R3 reported again with this lean toward partner terms (buyers.trust_weight; MODEL 9.3's value)
CHANNELS = {  # the channel decomposition: each channel of the partner advantage switched off
    "ideas": {"innovation.idea_rate": 0.0, "innovation.process_idea_rate": 0.0},
    "transaction time": {"time.trust_scaled_hours": False},
    "inspection and failures": {"quality.inspection_cost": 0.0, "quality.failure_cost": 0.0},
    "service": {"service.service_need": 0.0},
    "mismatch": {"innovation.mismatch_cost": 0.0, "time.h_renegotiate": 0.0},
    "padding": {"suppliers.padding_max": 0.0},
    "price": {"prices.min_markup": "fair"},
}


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
    for theta in INTEGRITIES:
        v[f"integrity={theta}"] = base.replace(**{"suppliers.integrity_mean": theta})
    scarce = {"innovation.idea_rate": base.innovation.idea_rate * SCARCE_IDEAS,
              "innovation.process_idea_rate": base.innovation.process_idea_rate * SCARCE_IDEAS}
    for s in SIGMAS:
        for f in FIT_SPREADS:
            v[f"scarce,sigma={s},fit={f}"] = base.replace(**scarce, **{"market.uncertainty": s, "market.fit_spread": f})
    learning = {"buyers.conduct": "learning"}
    v["learning"] = base.replace(**learning)
    v["learning, short-termist"] = base.replace(**learning, **{"buyers.horizon": SHORT_HORIZON})
    v["learning, null model"] = null_model(base).replace(**learning)
    v["learning, no peers"] = base.replace(**learning, **{"buyers.peer_learning": 0.0})
    v["learning, trust lean"] = base.replace(**learning, **{"buyers.trust_weight": TRUST_LEAN})
    v["learning, suppliers adapt"] = base.replace(**learning, **{"adaptation.supplier_imitation": True})
    v["no word of mouth"] = base.replace(**{"buyers.word_of_mouth": 0.0, "buyers.tco_weight": 0.0})
    for name, off in CHANNELS.items():
        off = {k: (base.prices.fair_markup if val == "fair" else val) for k, val in off.items()}
        v[f"off:{name}"] = base.replace(**off)
    return v


def null_model(base: Params) -> Params:
    """P9: innovation off, no uncertainty, transaction time independent of trust."""
    return base.replace(**{
        "innovation.idea_rate": 0.0, "innovation.process_idea_rate": 0.0, "market.uncertainty": 0.0,
        "time.trust_scaled_hours": False,
    })

