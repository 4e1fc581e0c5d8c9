"""Whether partnership pays, asked under every reading of the model's contested choices and over the
conditions of the market (MODEL.md 9.9; docs/ODD.md, decisions 36–38).

``grid.py`` names the structures (every combination of the categorical readings) and the regime grid;
``engine.py`` runs their markets in ensembles on the sweep's workers and reduces each run to its headline
figures by horizon; ``tables.py`` turns those into intervals, pattern verdicts and the table of conclusions
that hold under all readings, some or none; ``figures.py`` draws them. ``trustsim structures`` and
``trustsim regimes`` (``trustsim/commands/``) are the commands.
"""

from .engine import HORIZONS, headline_figures, run_points
from .grid import READINGS, reading_choices, regime_points, structure_label, structure_points
from .tables import classify, conclusions, conclusions_table, interval_table

__all__ = ["HORIZONS", "READINGS", "classify", "conclusions", "conclusions_table", "headline_figures",
           "interval_table", "reading_choices", "regime_points", "run_points", "structure_label",
           "structure_points"]
