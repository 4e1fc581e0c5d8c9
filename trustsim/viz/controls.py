"""The app's controls, defined once: the parameters a visitor changes, each with its control's label, the
slider's step and the short name under which the key figures panel shows the market's setting."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Control:
    """A parameter the app lets people change: its schema key, label, name in the key figures and slider step."""
    key: str            # the schema's "group.name"; the model takes the bare name as an override
    label: str          # the control's label on the page
    short: str          # the setting's name in the key figures panel ("This market: buyers 40 · …")
    step: float | None  # the slider's step; None: a choice among the schema's values


CONTROLS = (
    Control("market.buyers", "Buyers", "buyers", 1),
    Control("market.suppliers", "Suppliers", "suppliers", 1),
    Control("buyers.partner_share", "Partner share", "partner share", 0.05),
    Control("market.uncertainty", "Uncertainty σ", "uncertainty", 0.05),
    Control("suppliers.attention_policy", "Attention policy", "attention", None),
    Control("buyers.conduct", "Buyers' conduct (fixed or learning)", "conduct", None),
    Control("suppliers.integrity_mean", "Suppliers' mean integrity (hidden)", "integrity", 0.05),
    Control("market.fit_spread", "Fit spread", "fit spread", 0.05),
    Control("buyers.word_of_mouth", "Word of mouth", "word of mouth", 0.05),
    Control("trust.gain", "Trust gain per good step", "gain", 0.01),
    Control("trust.loss", "Trust loss per defect", "loss", 0.01),
    Control("trust.erosion", "Trust erosion when unattended", "erosion", 0.005),
)
