"""trustsim: an agent-based simulation of trust between industrial buyers and their suppliers."""

__version__ = "0.1.0"

from .model import TrustMarket  # noqa: E402
from .params import Params, ParamError, load_scenario  # noqa: E402

__all__ = ["TrustMarket", "Params", "ParamError", "load_scenario", "__version__"]
