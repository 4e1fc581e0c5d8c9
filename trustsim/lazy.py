"""Names a package gives from its modules, each module loaded when one of its names is first used (PEP 562):
importing the package stays light, so a command can check its input before loading Mesa, NumPy or the engine."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable


def lazy_names(package: str, modules: dict[str, str]) -> tuple[Callable, Callable]:
    """A module ``__getattr__`` and ``__dir__`` for ``package`` that give each name of ``modules`` (name: its
    module, relative to the package) from its module on first use, and keep it in the package thereafter."""

    def __getattr__(name: str):
        if name in modules:
            value = getattr(importlib.import_module(modules[name], package), name)
            setattr(sys.modules[package], name, value)
            return value
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    def __dir__() -> list[str]:
        return sorted({*vars(sys.modules[package]), *modules})

    return __getattr__, __dir__
