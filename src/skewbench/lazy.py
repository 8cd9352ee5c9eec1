"""A module imported on first attribute access, for heavy optional imports (torch).

``torch = lazy_module("torch")`` at the top of a module keeps its functions written as usual
while importing the module costs nothing until a function touches ``torch.…``. This keeps
``skewbench validate`` and a warm re-run free of torch, and a pool worker imports torch only
when one of its cells needs it.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any


class LazyModule(ModuleType):
    """Stands for module ``name``; the first attribute lookup imports it."""

    def __init__(self, name: str):
        super().__init__(name)
        self.__dict__["_lazy_target"] = None

    def _load(self) -> ModuleType:
        target = self.__dict__["_lazy_target"]
        if target is None:
            target = importlib.import_module(self.__name__)
            self.__dict__["_lazy_target"] = target
        return target

    def __getattr__(self, attr: str) -> Any:
        return getattr(self._load(), attr)

    def __dir__(self) -> list[str]:
        return dir(self._load())


def lazy_module(name: str) -> Any:
    """A stand-in for ``import name`` that imports on first use."""
    return LazyModule(name)
