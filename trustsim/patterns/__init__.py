"""The patterns P1–P10 of docs/ODD.md section 1, measured over many seeds.

Each pattern names the runs it needs (scenario variants of the baseline, ``variants.py``) and a check
(``checks.py``) that turns those runs' measurements (``measure.py``) into a figure, an interval and a
verdict against its tolerance (docs/ODD.md, "Pattern tests"); ``figures.py`` draws one figure per
pattern. No rule of the model names a pattern: these are only measurements of what emerges.
``trustsim patterns`` (``trustsim/commands/patterns.py``) runs the suite.
"""

from ..stats import mean_ci
from . import regularities  # noqa: F401  (registers R1–R4 and the decomposition)
from . import variants as variants_module
from .checks import (
    DECOMPOSITIONS,
    PATTERNS,
    Result,
    col,
    decompose,
    evaluate,
    horizons_table,
    horizons_text,
    markdown_table,
    p1,
    p2,
    p3,
    p4,
    p5,
    p6,
    p7,
    p8,
    p9,
    p10,
    pattern,
    table,
)
from .figures import plot
from .measure import P10_STEPS, defect_drop_by_posture, measure, quintile_figures, run_all
from .variants import SIGMAS, null_model, variants

__all__ = ["DECOMPOSITIONS", "P10_STEPS", "PATTERNS", "decompose", "horizons_table", "horizons_text",
           "Result", "SIGMAS", "col", "defect_drop_by_posture", "evaluate", "markdown_table",
           "mean_ci", "measure", "null_model", "p1", "p2", "p3", "p4", "p5", "p6", "p7", "p8", "p9", "p10", "pattern",
           "plot", "quintile_figures", "run_all", "table", "variants", "variants_module"]
