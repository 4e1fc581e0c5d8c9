"""trustsim: an agent-based simulation of trust between industrial buyers and their suppliers.

From Python: ``trustsim.simulate(scenario, seed=…, steps=…, **overrides)`` runs once,
``trustsim.replicate(scenario, seeds=N)`` over seeds, ``trustsim.compare(a, b, seeds=N)`` two scenarios on
common seeds, ``trustsim.sweep(scenario, factors, replications=N)`` a batch experiment (``trustsim/api.py``);
``trustsim.rerun(folder)`` a run or replications again from its results folder's manifest;
``trustsim.calibrate(file)`` a calibration file's posterior. Importing trustsim loads nothing heavy until one of
them is used.
"""

from .lazy import lazy_names

__version__ = "0.1.0"

_LAZY = {"TrustMarket": ".model", "Params": ".params", "ParamError": ".errors", "load_scenario": ".scenario",
         "simulate": ".api", "replicate": ".api", "compare": ".api", "sweep": ".api", "rerun": ".api", "Run": ".api",
         "calibrate": ".calibration.run"}


# each name loaded from its module on first use, so `trustsim --help` does not load Mesa
__getattr__, __dir__ = lazy_names(__name__, _LAZY)

__all__ = ["TrustMarket", "Params", "ParamError", "load_scenario", "simulate", "replicate", "compare", "sweep", "rerun",
           "Run", "calibrate", "__version__"]
