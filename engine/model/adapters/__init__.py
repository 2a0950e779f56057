"""Bridges from the columnar model to the libraries people train with (numpy, torch, Arrow,
Hugging Face datasets). Each module needs only the model and its third-party library, which is
imported when the bridge is used; a missing one is an error naming the extra that installs it.
"""

from __future__ import annotations

import importlib
from types import ModuleType


class MissingExtraError(ImportError):
    """An optional library is not installed; the message names the extra that installs it."""


def require(module: str, extra: str) -> ModuleType:
    """Imports `module`, or raises MissingExtraError saying `pip install "mnist-engine[extra]"`."""
    try:
        return importlib.import_module(module)
    except ImportError as error:
        raise MissingExtraError(
            f"this needs {module.split('.')[0]}, which is not installed: "
            f'pip install "mnist-engine[{extra}]" ({error})'
        ) from None
