"""trustsim: an agent-based simulation of trust between industrial buyers and their suppliers.

From Python: ``trustsim.simulate(scenario, seed=…, steps=…, **overrides)`` runs once,
``trustsim.replicate(scenario, seeds=N)`` over seeds, ``trustsim.compare(a, b, seeds=N)`` two scenarios on
common seeds (``trustsim/api.py``). Importing trustsim loads nothing heavy until one of them is used.
"""

__version__ = "0.1.0"

_LAZY = {"TrustMarket": ".model", "Params": ".params", "ParamError": ".errors", "load_scenario": ".scenario",
         "simulate": ".api", "replicate": ".api", "compare": ".api", "sweep": ".api", "Run": ".api",
         "calibrate": ".calibration.run"}


def __getattr__(name):  # imported on first use, so `trustsim --help` does not load Mesa
    if name in _LAZY:
        # on first use: `import trustsim` loads nothing heavy
        import importlib

        value = getattr(importlib.import_module(_LAZY[name], __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["TrustMarket", "Params", "ParamError", "load_scenario", "simulate", "replicate", "compare", "sweep", "Run",
           "calibrate", "__version__"]
