"""Calibration: a posterior over the parameters (and structural readings) the published figures can inform.

- ``config``: the ``[calibrate]`` table of a scenario file, validated once;
- ``targets``: the measurements a target may name (the pattern suite's);
- ``abc``: ABC-SMC with adaptive tolerances and model choice, a generation simulated as one batch;
- ``simulate``: candidates run as ensembles on the workers, seeds, run-to-run variance;
- ``diagnostics``: coverage on pseudo-observed figures, shrinkage, correlations;
- ``screen``: Sobol indices of the targets over the candidate parameters;
- ``predictive``: posterior predictive checks of the targets and of the patterns;
- ``run``: ``trustsim calibrate`` end to end with its journal; ``report``: tables, calibration.md, figures.
"""
