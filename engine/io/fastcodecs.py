"""Picks the deflate library: ISA-L or zlib-ng when the `[fast]` extra is installed, else zlib.

Imported lazily, on the first compressed byte, so `import engine` never pays for them. Setting
MNIST_ENGINE_FAST=0 forces the standard library (for benchmarks and for bit-for-bit comparisons of
written files between machines with and without the extra).
"""

from __future__ import annotations

import importlib
import os
import zlib
from functools import cache
from types import ModuleType

# Measured on the 1M-image MNIST .gz (benchmarks/bench_scale.py): ISA-L and zlib-ng inflate ~2.9x
# faster than zlib; rapidgzip and libdeflate were no faster on 2 cores. zlib-ng deflates within
# 0.1 % of zlib's size per level (ISA-L's 4 levels are ~7 % larger), so it writes.
_INFLATERS = ("isal.isal_zlib", "zlib_ng.zlib_ng")
_DEFLATERS = ("zlib_ng.zlib_ng",)


def fast_enabled() -> bool:
    """False when MNIST_ENGINE_FAST is set to 0/false/no/off."""
    value = os.environ.get("MNIST_ENGINE_FAST", "1").strip().lower()
    return value not in ("0", "false", "no", "off")


def inflater() -> ModuleType:
    """A zlib-compatible module (`decompressobj`, `crc32`, `error`) for reading."""
    return _first(_INFLATERS) if fast_enabled() else zlib


def deflater() -> ModuleType:
    """A zlib-compatible module (`compressobj`, `crc32`, `crc32_combine`?) for writing."""
    return _first(_DEFLATERS) if fast_enabled() else zlib


def backend_name(module: ModuleType) -> str:
    """'isal', 'zlib-ng' or 'zlib': for benchmarks and reports."""
    return {"isal.isal_zlib": "isal", "zlib_ng.zlib_ng": "zlib-ng"}.get(module.__name__, "zlib")


@cache
def _first(names: tuple[str, ...]) -> ModuleType:
    for name in names:
        try:
            return importlib.import_module(name)
        except ImportError:
            continue
    return zlib
