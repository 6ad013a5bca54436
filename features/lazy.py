"""Lazy package exports: a package's names are imported from their module on first use, so importing
one light submodule (a constant, a table name) does not load the package's heavy dependencies
(torch, OpenCV, tokenizers) with it."""

from __future__ import annotations

import importlib
import sys


def lazy_exports(package: str, exports: dict[str, tuple[str, ...]]):
    """A module `__getattr__` for `package`: `exports` maps a submodule (relative name) to the names it
    gives. A name is imported on first access and then kept on the package."""
    where = {name: module for module, names in exports.items() for name in names}

    def __getattr__(name: str):
        if name not in where:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(f"{package}.{where[name]}"), name)
        setattr(sys.modules[package], name, value)
        return value

    return __getattr__
