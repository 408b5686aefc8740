"""Modules imported on first use.

pyarrow and dlt's source packages cost a few tenths of a second to import, and a
no-change ingest (``precheck``) reads no row through them: the modules that need them
for their readers and filters name them through ``LazyModule``, which imports the
module the first time one of its attributes is read. The names read the same either
way (``pa.Table``, ``pc.max``).
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any


class LazyModule:
    """Stands for the module ``name`` until an attribute is read, then imports it."""

    def __init__(self, name: str) -> None:
        self._name = name
        self._module: ModuleType | None = None

    def __getattr__(self, attribute: str) -> Any:
        if self._module is None:
            self._module = importlib.import_module(self._name)
        return getattr(self._module, attribute)
