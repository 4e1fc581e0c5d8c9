"""Colours shared by the report's figures and the browser app, defined once.

Postures take the Okabe–Ito colours that colour-blind readers tell apart (blue and vermilion); the parts
of the cost of ownership take Tableau's ten-colour palette, in the order of ``metrics.COST_PARTS``.
"""

POSTURE_COLOURS = {"partner": "#0072B2", "aggressive": "#D55E00", "all": "#7a7a7a"}

COST_COLOURS = {"price": "#4e79a7", "transaction": "#f28e2b", "inspection": "#e15759", "failure": "#76b7b2",
                "service_fee": "#59a14f", "downtime": "#edc948", "mismatch": "#b07aa1", "switching": "#9c755f"}
