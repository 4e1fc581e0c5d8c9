"""trustsim: an agent-based simulation of trust between industrial buyers and their suppliers."""

__version__ = "0.1.0"

_LAZY = {"TrustMarket": ".model", "Params": ".params", "ParamError": ".params", "load_scenario": ".params"}


def __getattr__(name):  # imported on first use, so `trustsim --help` does not load Mesa
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(_LAZY[name], __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["TrustMarket", "Params", "ParamError", "load_scenario", "__version__"]
