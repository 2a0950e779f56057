"""The interop layer: bridges from the columnar model to the libraries people train with (torch,
Arrow, Hugging Face datasets). Above io (PNG bytes), below codecs and formats (parquet uses the
Arrow bridge). Each third-party library is imported when its bridge is used; a missing one is a
MissingExtraError naming the extra that installs it.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from engine.errors import MissingExtraError


def require(module: str, extra: str) -> ModuleType:
    """Imports `module`, or raises MissingExtraError saying `pip install "mnist-engine[extra]"`."""
    try:
        return importlib.import_module(module)
    except ImportError as error:
        raise MissingExtraError(
            f"this needs {module.split('.')[0]}, which is not installed: "
            f'pip install "mnist-engine[{extra}]" ({error})'
        ) from None
