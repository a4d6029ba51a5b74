"""Package namespaces that load their modules on first use (PEP 562).

A package ``__init__`` lists where each public name lives; the module is imported when
the name is first read. ``import urbangrid.grid`` then costs nothing, and the command
line registers every sub-command without loading geopandas, Numba or SimPy. (The same
idea as scientific-python's ``lazy_loader.attach``, without the dependency.)
"""

from __future__ import annotations

import importlib
from collections.abc import Callable


def attach(package: str, where: dict[str, str]
           ) -> tuple[Callable[[str], object], Callable[[], list[str]], list[str]]:
    """``(__getattr__, __dir__, __all__)`` for ``package`` whose public name ``n`` lives in
    its submodule ``where[n]``."""
    names = sorted(where)

    def __getattr__(name: str) -> object:
        if name in where:
            return getattr(importlib.import_module(f".{where[name]}", package), name)
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    def __dir__() -> list[str]:
        return list(names)

    return __getattr__, __dir__, names
